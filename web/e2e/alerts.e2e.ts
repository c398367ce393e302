// Alerting against the real server and agent: a webhook channel to a
// receiver this test runs, made the default route, with "Send test"; a
// threshold rule whose live preview shows the agent's host breaching; the
// alarm going pending → firing on /alarms by the live event; the receiver
// notified; ack with a comment; silence from the alarm, seen on the
// silences page; and the server's 422 for an unknown metric on its field.

import { createServer, type Server as HttpServer } from "node:http";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RESULTS_DIR, apiCall, freePort, login, screenshot, setTheme, startStack, uiLogin, type Stack } from "./harness";

let stack: Stack;
let page: Page;
let receiver: { url: string; bodies: Record<string, unknown>[]; close: () => Promise<void> };

/** An HTTP server that keeps every JSON body POSTed to it. */
async function startReceiver(): Promise<typeof receiver> {
  const bodies: Record<string, unknown>[] = [];
  const server: HttpServer = createServer((req, res) => {
    let data = "";
    req.on("data", (d: Buffer) => (data += d.toString()));
    req.on("end", () => {
      try {
        bodies.push(JSON.parse(data) as Record<string, unknown>);
      } catch {
        bodies.push({ unparsed: data });
      }
      res.writeHead(200, { "content-type": "text/plain" });
      res.end("ok");
    });
  });
  const port = await freePort();
  await new Promise<void>((done) => server.listen(port, "127.0.0.1", done));
  return {
    url: `http://127.0.0.1:${port}/hook`,
    bodies,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

const RULE = "E2E cores";
const alarmRow = () => page.locator(`[data-testid="alarm-row"][data-name="${RULE}"]`);
const ruleDialog = () => page.getByTestId("rule-dialog");

beforeAll(async () => {
  [stack, receiver] = await Promise.all([
    // Threshold rules are evaluated on each report (every second here); notifications are not grouped.
    startStack({ serverEnv: { LXMON_ALERT_EVALUATION_INTERVAL_S: "1", LXMON_ALERT_GROUP_INTERVAL_S: "0" } }),
    startReceiver(),
  ]);
  page = stack.page;
  await page.goto(stack.baseUrl + "/");
  await uiLogin(page, "admin", stack.server.password);
});

afterEach(async ({ task }) => {
  if (task.result?.state === "fail" && page) await screenshot(page, `failed-${task.name.replace(/\W+/g, "-")}`).catch(() => undefined);
});

afterAll(async () => {
  await stack?.stop();
  await receiver?.close();
});

describe("alerting", () => {
  it("adds a webhook channel, routes to it by default, and sends a test", async () => {
    await page.locator('nav[aria-label="Main"] a[data-nav="alerts"]').first().click();
    await page.getByRole("heading", { name: "Alarms" }).waitFor();
    await page.getByText("Nothing is firing. All quiet.").waitFor();
    await page.locator('[data-tab="channels"]').click();
    await page.getByTestId("add-channel").click();
    const dialog = page.getByTestId("channel-dialog");
    await dialog.getByLabel("Name", { exact: true }).fill("receiver");
    await page.getByTestId("channel-kind").selectOption("webhook");
    await page.getByTestId("channel-url").fill("ftp://nope");
    await page.getByTestId("channel-save").click();
    // The server's 422 lands on the URL field.
    await expect.poll(() => dialog.getByTestId("field-error").allTextContents()).toEqual(["Must be an http:// or https:// URL"]);
    await page.getByTestId("channel-url").fill(receiver.url);
    await page.getByTestId("channel-save").click();
    await dialog.waitFor({ state: "detached" });
    const row = page.locator('[data-testid="channel-row"][data-name="receiver"]');
    await row.waitFor();
    expect(await row.textContent()).toContain(receiver.url);

    await page.getByTestId("default-channels").getByLabel("receiver").check();
    await page.getByTestId("routing-save").click();
    await page.getByTestId("routing-saved").waitFor();

    await row.getByTestId("channel-test").click();
    const result = row.getByTestId("channel-test-result");
    await result.waitFor({ timeout: 15_000 });
    expect(await result.getAttribute("data-sent")).toBe("true");
    expect(await result.textContent()).toContain("sent");
    await expect.poll(() => receiver.bodies.length).toBe(1);
  });

  it("previews a threshold rule live: the agent's host breaches", async () => {
    await page.locator('[data-tab="rules"]').click();
    await page.getByTestId("add-rule").click();
    await ruleDialog().waitFor();
    await ruleDialog().getByLabel("Name", { exact: true }).fill(RULE);
    await page.getByTestId("rule-severity").selectOption("critical");
    await page.getByTestId("rule-metric").fill("cpu.cores_count");
    await page.getByTestId("rule-op").selectOption(">");
    // A value no machine has: the preview shows the host, not breaching.
    await page.getByTestId("rule-value").fill("100000");
    const hostRow = page.locator(`[data-testid="preview-row"][data-host="${stack.hostname}"]`);
    await expect.poll(() => hostRow.getAttribute("data-breaching"), { timeout: 10_000 }).toBe("false");
    // Edited to > 0, it is asked again and breaches.
    await page.getByTestId("rule-value").fill("0");
    await expect.poll(() => hostRow.getAttribute("data-breaching"), { timeout: 10_000 }).toBe("true");
    expect(await page.getByTestId("preview-count").textContent()).toBe("1 series, 1 breaching now");
    await page.getByTestId("rule-for").fill("4");
    await ruleDialog().getByLabel("Summary").fill("{{host}} has {{value}} cores");
    await ruleDialog().screenshot({ path: join(RESULTS_DIR, "alert-rule-dialog-light.png") });
    await page.getByTestId("rule-save").click();
    await ruleDialog().waitFor({ state: "detached" });
    const rule = page.locator(`[data-testid="rule-row"][data-name="${RULE}"]`);
    await rule.waitFor();
    expect(await rule.getByTestId("rule-summary").textContent()).toBe("cpu.cores_count > 0 for 4s");
  });

  it("shows the alarm firing on /alarms by the live event, and notifies the receiver", async () => {
    await page.locator('[data-tab="alarms"]').click();
    await alarmRow().waitFor({ timeout: 15_000 });
    // Pending for 4 s, then firing: the page is not reloaded, the event brings it.
    await expect.poll(() => alarmRow().getAttribute("data-state"), { timeout: 15_000 }).toBe("firing");
    expect(await alarmRow().textContent()).toContain(`${stack.hostname} has`);
    await expect.poll(() => page.getByTestId("firing-count").first().textContent(), { timeout: 10_000 }).toMatch(/^1/);
    await expect.poll(() => receiver.bodies.some((b) => b.status === "firing"), { timeout: 15_000 }).toBe(true);
    const firing = receiver.bodies.find((b) => b.status === "firing") as { severity: string; alerts: { labels: Record<string, string> }[] };
    expect(firing.severity).toBe("critical");
    expect(firing.alerts[0]!.labels.host).toBe(stack.hostname);
  });

  it("acknowledges it with a comment", async () => {
    await alarmRow().getByTestId("alarm-ack-button").click();
    const dialog = page.getByTestId("ack-dialog");
    await dialog.getByLabel("Comment (optional)").fill("looking into it");
    await page.getByTestId("ack-confirm").click();
    await dialog.waitFor({ state: "detached" });
    await expect.poll(() => alarmRow().getAttribute("data-acked")).toBe("true");
    expect(await alarmRow().getByTestId("alarm-ack").textContent()).toBe("acked by admin: looking into it");
    // The detail page: acknowledgement, timeline and the notification sent.
    await alarmRow().getByRole("link", { name: RULE }).click();
    await page.getByTestId("alarm-name").waitFor();
    expect(await page.getByTestId("alarm-ack").textContent()).toContain("looking into it");
    expect(await page.getByTestId("alarm-labels").textContent()).toContain(stack.hostname);
    await expect.poll(() => page.locator('[data-testid="notification-row"][data-kind="firing"][data-outcome="sent"]').count(), { timeout: 10_000 }).toBeGreaterThan(0);
    await screenshot(page, "alarm-detail-light");
    await page.getByRole("link", { name: "← Alarms" }).click();
    await alarmRow().waitFor();
  });

  it("silences it from the alarm; the silence shows on the silences page", async () => {
    await alarmRow().getByTestId("alarm-silence-button").click();
    const dialog = page.getByTestId("silence-dialog");
    expect(await page.getByTestId("silence-matchers").inputValue()).toBe(`alertname="${RULE}", host="${stack.hostname}"`);
    await page.getByTestId("silence-duration").getByRole("button", { name: "4 hours" }).click();
    await page.getByTestId("silence-comment").fill("e2e maintenance");
    await page.getByTestId("silence-save").click();
    await dialog.waitFor({ state: "detached" });
    await page.getByTestId("alarms-notice").waitFor();
    await setTheme(page, "light");
    await screenshot(page, "alarms-light");
    await setTheme(page, "dark");
    await screenshot(page, "alarms-dark");
    await setTheme(page, "light");
    await page.locator('[data-tab="silences"]').click();
    const silence = page.locator('[data-testid="silence-row"]');
    await silence.first().waitFor();
    expect(await silence.count()).toBe(1);
    expect(await silence.getAttribute("data-status")).toBe("active");
    expect(await silence.getAttribute("data-matchers")).toBe(`alertname="${RULE}", host="${stack.hostname}"`);
    expect(await silence.textContent()).toContain("e2e maintenance");
  });

  it("shows the server's 422 for an unknown metric at the field", async () => {
    await page.locator('[data-tab="rules"]').click();
    await page.getByTestId("add-rule").click();
    await ruleDialog().getByLabel("Name", { exact: true }).fill("bad rule");
    await page.getByTestId("rule-metric").fill("cpu.nope");
    await page.getByTestId("rule-save").click();
    await expect.poll(() => ruleDialog().getByTestId("field-error").allTextContents()).toEqual(['Unknown metric "cpu.nope": no agent reports it (see docs/metrics.md)']);
    expect(await page.getByTestId("rule-metric").getAttribute("aria-invalid")).toBe("true");
    await ruleDialog().getByRole("button", { name: "Cancel" }).click();
    await ruleDialog().waitFor({ state: "detached" });
  });

  it("shows a reporter the alarms, rules and channels without controls", async () => {
    const token = await login(stack.server.url, stack.server.password);
    await apiCall(stack.server.url, token, "POST", "/api/users", { username: "watcher", password: "watcher-password-1", role: "tenant_reporter" });
    await page.getByTestId("logout").click();
    await uiLogin(page, "watcher", "watcher-password-1");
    await page.locator('nav[aria-label="Main"] a[data-nav="alerts"]').first().click();
    await alarmRow().waitFor();
    expect(await alarmRow().getByRole("button").count()).toBe(0);
    await page.locator('[data-tab="rules"]').click();
    await page.locator(`[data-testid="rule-row"][data-name="${RULE}"]`).waitFor();
    expect(await page.getByTestId("add-rule").count()).toBe(0);
    await page.locator('[data-tab="channels"]').click();
    await page.locator('[data-testid="channel-row"][data-name="receiver"]').waitFor();
    expect(await page.getByTestId("add-channel").count()).toBe(0);
    expect(await page.getByTestId("channel-test").count()).toBe(0);
    expect(await page.getByTestId("routing-save").count()).toBe(0);
    await page.locator('[data-tab="silences"]').click();
    await page.locator('[data-testid="silence-row"]').first().waitFor();
    expect(await page.getByTestId("add-silence").count()).toBe(0);
    expect(await page.getByTestId("add-webhook").count()).toBe(0);
  });
});
