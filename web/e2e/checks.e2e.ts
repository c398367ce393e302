// Health checks against the real server and a local HTTP target this test
// runs: "Test now" before saving, the list going up and then down with the
// target (the server's scheduler and the live `check` event), the detail
// page's history, validation in the browser and the server's 422 on its
// field, a public status page, and a reporter's read-only view.

import { createServer, type Server as HttpServer } from "node:http";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RESULTS_DIR, apiCall, freePort, login, screenshot, setTheme, startStack, uiLogin, type Stack } from "./harness";

let stack: Stack;
let page: Page;
let target: { url: string; fail: (status: number) => void; close: () => Promise<void> };

/** An HTTP server that answers 200 "all good" until told to answer `status`. */
async function startTarget(): Promise<typeof target> {
  let status = 200;
  const server: HttpServer = createServer((_req, res) => {
    res.writeHead(status, { "content-type": "text/plain" });
    res.end(status === 200 ? "lxmon e2e: all good" : "broken");
  });
  const port = await freePort();
  await new Promise<void>((done) => server.listen(port, "127.0.0.1", done));
  return {
    url: `http://127.0.0.1:${port}/health`,
    fail: (s) => (status = s),
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

const row = (name: string) => page.locator(`[data-testid="check-row"][data-name="${name}"]`);
const dialog = () => page.getByTestId("check-dialog");

beforeAll(async () => {
  [stack, target] = await Promise.all([startStack(), startTarget()]);
  page = stack.page;
  await page.goto(stack.baseUrl + "/");
  await uiLogin(page, "admin", stack.server.password);
});

afterEach(async ({ task }) => {
  if (task.result?.state === "fail" && page) await screenshot(page, `failed-${task.name.replace(/\W+/g, "-")}`).catch(() => undefined);
});

afterAll(async () => {
  await stack?.stop();
  await target?.close();
});

describe("health checks", () => {
  it("has a page in the navigation, empty at first", async () => {
    await page.locator('nav[aria-label="Main"] a[data-nav="checks"]').first().click();
    await page.getByRole("heading", { name: "Health checks" }).waitFor();
    await page.getByText("No checks yet.").waitFor();
    expect(await page.getByText("No status pages.").count()).toBe(1);
    // A check made elsewhere (here: the API) appears by itself once its
    // first run changes its state.
    const token = await login(stack.server.url, stack.server.password);
    const port = new URL(target.url).port;
    await apiCall(stack.server.url, token, "POST", "/api/checks", { name: "api-port", spec: { type: "tcp", host: "127.0.0.1", port: Number(port) }, interval_s: 10 });
    await expect.poll(() => row("api-port").getAttribute("data-state"), { timeout: 20_000 }).toBe("up");
  });

  it("refuses port 70000 in the browser, sending nothing", async () => {
    const posts: string[] = [];
    const onRequest = (r: { method: () => string; url: () => string }) => {
      if (r.method() === "POST" && r.url().includes("/api/checks")) posts.push(r.url());
    };
    page.on("request", onRequest);
    await page.getByTestId("add-check").click();
    await dialog().waitFor();
    await page.getByTestId("check-type").selectOption("tcp");
    await dialog().getByLabel("Name", { exact: true }).fill("database");
    await dialog().getByLabel("Host", { exact: true }).fill("127.0.0.1");
    await dialog().getByLabel("Port", { exact: true }).fill("70000");
    await page.getByTestId("check-test").click();
    await page.getByTestId("check-save").click();
    expect(await dialog().getByTestId("field-error").allTextContents()).toEqual(["Port must be between 1 and 65535."]);
    expect(await dialog().getByLabel("Port", { exact: true }).getAttribute("aria-invalid")).toBe("true");
    page.off("request", onRequest);
    expect(posts).toEqual([]);
  });

  it("shows the server's 422 at the field it names", async () => {
    // The server's own answer to port 70000, replayed for a request the
    // browser would send (it refuses 70000 itself, as above).
    const token = await login(stack.server.url, stack.server.password);
    const answer = await fetch(`${stack.server.url}/api/checks/test`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "database", spec: { type: "tcp", host: "127.0.0.1", port: 70000 } }),
    });
    expect(answer.status).toBe(422);
    const body = await answer.text();
    await page.route("**/api/checks/test", (route) => route.fulfill({ status: 422, contentType: "application/json", body }));
    await dialog().getByLabel("Port", { exact: true }).fill("5432");
    expect(await dialog().getByTestId("field-error").count()).toBe(0);
    await page.getByTestId("check-test").click();
    await expect.poll(() => dialog().getByTestId("field-error").allTextContents()).toEqual(["Must be between 1 and 65535, got 70000"]);
    await page.unroute("**/api/checks/test");
    await dialog().getByRole("button", { name: "Cancel" }).click();
    await dialog().waitFor({ state: "detached" });
  });

  it("tests an HTTP check before saving it", async () => {
    await page.getByTestId("add-check").click();
    await dialog().waitFor();
    await dialog().getByLabel("Name", { exact: true }).fill("web");
    await dialog().getByLabel("URL").fill(target.url);
    await dialog().getByLabel("Every (seconds)").fill("10");
    await dialog().getByLabel("Retries").fill("0");
    await page.getByTestId("check-test").click();
    const outcome = page.getByTestId("test-outcome");
    await outcome.waitFor({ timeout: 15_000 });
    expect(await outcome.getAttribute("data-up")).toBe("true");
    expect(await outcome.locator("[data-state]").textContent()).toBe("up");
    expect(await page.getByTestId("test-latency").textContent()).toMatch(/^[\d.]+ ms$/);
    await dialog().screenshot({ path: join(RESULTS_DIR, "check-dialog-light.png") });
  });

  it("saves it; the list shows it up with a latency", async () => {
    await page.getByTestId("check-save").click();
    await dialog().waitFor({ state: "detached" });
    await row("web").waitFor();
    // The first run is due within 10 s; its state change comes as a live event.
    await expect.poll(() => row("web").getAttribute("data-state"), { timeout: 20_000 }).toBe("up");
    await expect.poll(() => row("web").getByTestId("check-latency").textContent(), { timeout: 10_000 }).toMatch(/^[\d.]+ ms$/);
    expect(await row("web").getByTestId("uptime-24h").textContent()).toBe("100%");
    expect(await row("web").textContent()).toContain(target.url);
    expect(await row("web").getByTestId("check-runs-on").textContent()).toBe("from server");
  });

  it("goes down when the target answers 500", async () => {
    target.fail(500);
    await expect.poll(() => row("web").getAttribute("data-state"), { timeout: 25_000 }).toBe("down");
    await expect.poll(() => row("web").getByTestId("check-error").textContent(), { timeout: 10_000 }).toContain("500");
    // The event is followed by a fresh list: one run up, one down.
    await expect.poll(() => row("web").getByTestId("uptime-24h").textContent(), { timeout: 10_000 }).toBe("50.00%");
    expect(await page.locator('[data-count="down"]').textContent()).toBe("1");
    // Filters: by words and by state.
    await page.getByTestId("check-filter").fill("nothing like it");
    await page.getByText("No check matches the filter.").waitFor();
    await page.getByTestId("check-filter").fill("web 127.0.0.1");
    await row("web").waitFor();
    expect(await row("api-port").count()).toBe(0);
    await page.getByTestId("check-filter").fill("");
    await page.getByTestId("check-counts").getByRole("button", { name: /^Up/ }).click();
    await row("api-port").waitFor();
    expect(await row("web").count()).toBe(0);
    await page.getByTestId("check-counts").getByRole("button", { name: /^All/ }).click();
    await row("web").waitFor();
    // The TCP check kept running meanwhile: its sparkline has a line.
    await expect.poll(() => row("api-port").locator("svg path").getAttribute("d"), { timeout: 35_000 }).toMatch(/L/);
    await setTheme(page, "light");
    await screenshot(page, "checks-light");
    await setTheme(page, "dark");
    await screenshot(page, "checks-dark");
    await setTheme(page, "light");
  });

  it("shows the history on the detail page", async () => {
    await row("web").getByRole("link", { name: "web" }).click();
    await page.getByTestId("check-name").waitFor();
    expect(await page.getByTestId("check-status").getAttribute("data-state")).toBe("down");
    expect(await page.getByTestId("down-banner").textContent()).toContain("500");
    const latency = page.locator('[data-chart="check-latency"]');
    await latency.waitFor();
    expect(Number(await latency.getAttribute("data-points"))).toBeGreaterThanOrEqual(2);
    await page.locator('[data-chart="check-up"] canvas').waitFor();
    const runs = page.getByTestId("run-row");
    expect(await runs.count()).toBeGreaterThanOrEqual(2);
    expect(await runs.first().getAttribute("data-up")).toBe("false");
    expect(await runs.first().textContent()).toContain("500");
    expect(await runs.last().getAttribute("data-up")).toBe("true");
    await page.getByTestId("failures-only").check();
    await expect.poll(() => page.locator('[data-testid="run-row"][data-up="true"]').count()).toBe(0);
    await page.getByTestId("failures-only").uncheck();
    await page.locator('[data-range="1h"]').click();
    await expect.poll(() => new URL(page.url()).search).toBe("?range=1h");
    await latency.waitFor();
    await screenshot(page, "check-detail-light");
  });

  it("publishes a status page anyone can open", async () => {
    await page.getByRole("link", { name: "← Health checks" }).click();
    await page.getByTestId("add-status-page").click();
    const form = page.getByTestId("status-page-dialog");
    await form.getByLabel("Title").fill("E2E status");
    await form.getByLabel("Address (optional)").fill("Bad slug");
    await form.getByRole("button", { name: "Create page" }).click();
    expect(await form.getByTestId("field-error").textContent()).toBe("3 to 64 characters: a-z, 0-9 and -.");
    await form.getByLabel("Address (optional)").fill("e2e-status");
    await form.getByLabel("web", { exact: true }).check();
    await form.getByLabel(stack.hostname, { exact: true }).check();
    await form.getByRole("button", { name: "Create page" }).click();
    await form.waitFor({ state: "detached" });
    const pageRow = page.locator('[data-testid="status-page-row"][data-slug="e2e-status"]');
    await pageRow.waitFor();
    expect(await pageRow.textContent()).toContain(`web, ${stack.hostname}`);
    expect(await pageRow.textContent()).not.toContain("api-port");
    const link = pageRow.getByTestId("status-page-link");
    expect(await link.getAttribute("href")).toBe("/status/e2e-status");
    const [popup] = await Promise.all([page.context().waitForEvent("page"), link.click()]);
    await popup.waitForLoadState();
    expect(await popup.locator("h1").textContent()).toBe("E2E status");
    const text = await popup.locator("body").innerText();
    expect(text).toMatch(/web\s*down/);
    expect(text).toContain(stack.hostname);
    await popup.close();
  });

  it("shows a reporter the checks without edit controls", async () => {
    const token = await login(stack.server.url, stack.server.password);
    await apiCall(stack.server.url, token, "POST", "/api/users", { username: "watcher", password: "watcher-password-1", role: "tenant_reporter" });
    await page.getByTestId("logout").click();
    await uiLogin(page, "watcher", "watcher-password-1");
    await page.locator('nav[aria-label="Main"] a[data-nav="checks"]').first().click();
    await row("web").waitFor();
    await page.locator('[data-testid="status-page-row"][data-slug="e2e-status"]').waitFor();
    expect(await page.getByTestId("add-check").count()).toBe(0);
    expect(await page.getByTestId("add-status-page").count()).toBe(0);
    expect(await page.getByRole("button", { name: /^(Edit|Delete)/ }).count()).toBe(0);
    await row("web").getByRole("link", { name: "web" }).click();
    await page.locator('[data-chart="check-latency"]').waitFor();
    expect(await page.getByTestId("edit-check").count()).toBe(0);
    expect(await page.getByRole("button", { name: /^(Pause|Delete)/ }).count()).toBe(0);
  });
});
