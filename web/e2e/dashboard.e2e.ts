// The dashboard against the real server and agent, in real headless
// Chromium: log in, see the host, open it, watch it update live, zoom out to
// 7 days (and check the step the page asks for), log out; sessions that
// expire; errors and offline hosts; screenshots of every page in both themes.

import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  launchBrowser,
  login,
  removeDir,
  RESULTS_DIR,
  startAgent,
  startServer,
  startStaticServer,
  stopProcess,
  totpCode,
  waitFor,
  WEB_DIR,
  type LxmonServer,
} from "./harness";

const AGENT_INTERVAL_S = 1;
/** Until lxmon-server embeds web/dist, a static server in the test serves it. Set to true to test the embedded UI. */
const USE_EMBEDDED_UI = process.env.LXMON_E2E_EMBEDDED === "1";

let server: LxmonServer;
let agent: ReturnType<typeof startAgent>;
let staticServer: Awaited<ReturnType<typeof startStaticServer>> | undefined;
let browser: Awaited<ReturnType<typeof launchBrowser>>;
let context: BrowserContext;
let page: Page;
let baseUrl: string;
let hostname: string;
let hostId: number;
let agentKey: string;

async function screenshot(name: string) {
  mkdirSync(RESULTS_DIR, { recursive: true });
  await page.screenshot({ path: join(RESULTS_DIR, `${name}.png`), fullPage: true });
}

async function setTheme(theme: "light" | "dark") {
  const isDark = await page.evaluate(() => document.documentElement.classList.contains("dark"));
  if (isDark !== (theme === "dark")) await page.getByTestId("theme-toggle").click();
  await page.waitForFunction((dark) => document.documentElement.classList.contains("dark") === dark, theme === "dark");
}

/** The CPU chart's uPlot data length and last timestamp (seconds). */
async function cpuChart(): Promise<{ points: number; last: number }> {
  return page.evaluate(() => {
    const el = document.querySelector<HTMLElement>('[data-chart="cpu"]');
    return { points: Number(el?.dataset.points ?? 0), last: Number(el?.dataset.last ?? 0) };
  });
}

/** Non-background pixels on the CPU chart's canvas: lines were drawn. */
async function cpuCanvasInk(): Promise<number> {
  return page.evaluate(() => {
    const canvas = document.querySelector<HTMLCanvasElement>('[data-chart="cpu"] canvas');
    const ctx = canvas?.getContext("2d");
    if (!canvas || !ctx) return 0;
    const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
    let ink = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) ink += 1;
    return ink;
  });
}

beforeAll(async () => {
  const dist = join(WEB_DIR, "dist");
  if (!USE_EMBEDDED_UI && !existsSync(join(dist, "index.html"))) throw new Error("web/dist is missing: run `npm run build` first");
  ({ server, agentKey } = await startServer({ LXMON_OFFLINE_AFTER_S: "4" }));
  agent = startAgent(server.url, agentKey, AGENT_INTERVAL_S);
  if (USE_EMBEDDED_UI) baseUrl = server.url;
  else {
    staticServer = await startStaticServer(dist, server.url);
    baseUrl = staticServer.url;
  }
  const token = await login(server.url, server.password);
  const host = await waitFor("the agent's host to report", async () => {
    const response = await fetch(`${server.url}/api/servers`, { headers: { authorization: `Bearer ${token}` } });
    const list = (await response.json()) as { id: number; hostname: string; last_seen: number | null }[];
    return list.find((h) => h.last_seen !== null);
  });
  hostname = host.hostname;
  hostId = host.id;
  browser = await launchBrowser();
  context = browser.context;
  page = context.pages()[0] ?? (await context.newPage());
});

afterAll(async () => {
  await browser?.close();
  await staticServer?.close();
  await stopProcess(agent?.process);
  await stopProcess(server?.process);
  removeDir(agent?.spoolDir);
  removeDir(server?.dataDir);
});

describe("dashboard", () => {
  it("refuses a wrong password and logs in with the right one", async () => {
    await page.goto(baseUrl + "/");
    await page.getByLabel("Username").fill("admin");
    await page.getByLabel("Password").fill("not-the-password");
    await page.getByRole("button", { name: "Log in" }).click();
    await page.getByText("Wrong username or password.").waitFor();
    await screenshot("login-light");

    await page.getByLabel("Password").fill(server.password);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.getByRole("heading", { name: "Fleet overview" }).waitFor();
    expect(await page.evaluate(() => localStorage.getItem("lxmon.session"))).toContain("token");
  });

  it("lists the host on the overview with its figures", async () => {
    const row = page.locator(`[data-testid="host-row"][data-host="${hostname}"]`);
    await row.waitFor();
    await expect.poll(() => row.textContent(), { timeout: 15_000 }).toContain("online");
    // Figures arrive per row; the CPU column shows a percentage once loaded.
    await expect.poll(() => row.textContent(), { timeout: 15_000 }).toMatch(/\d%/);
    expect(await page.getByTestId("status-counts").locator('[data-count="online"]').textContent()).toBe("1");
    await page.getByTestId("host-filter").fill("no-such-host");
    await page.getByText("No host matches the filter.").waitFor();
    await page.getByTestId("host-filter").fill(hostname.slice(0, 3));
    await row.waitFor();
    await page.getByTestId("host-filter").fill("");
    await setTheme("light");
    await screenshot("overview-light");
    await setTheme("dark");
    await screenshot("overview-dark");
    await setTheme("light");
  });

  it("opens the host and draws its CPU chart with data", async () => {
    await page.locator(`[data-testid="host-row"][data-host="${hostname}"]`).click();
    await page.getByTestId("server-hostname").filter({ hasText: hostname }).waitFor();
    expect(new URL(page.url()).pathname).toBe(`/servers/${hostId}`);
    await waitFor("CPU chart data", async () => (await cpuChart()).points > 0);
    await waitFor("CPU chart pixels", async () => (await cpuCanvasInk()) > 500);
    await page.getByTestId("host-info").getByText("Kernel").waitFor();
    await page.getByText("Filesystems").first().waitFor();
  });

  it("appends a new point live within two agent intervals, without a reload", async () => {
    await page.evaluate(() => ((window as unknown as { lxmonMarker: number }).lxmonMarker = 42));
    const before = await cpuChart();
    const started = Date.now();
    // The first new report may land just before we start; the budget is two
    // intervals from a point being reported, plus the round trip of fetching it.
    await waitFor("a live point", async () => (await cpuChart()).last > before.last, 2 * AGENT_INTERVAL_S * 1000 + 1500, 50);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeLessThanOrEqual(2 * AGENT_INTERVAL_S * 1000 + 1500);
    expect(await page.evaluate(() => (window as unknown as { lxmonMarker?: number }).lxmonMarker)).toBe(42);
    await page.waitForTimeout(1500);
    await setTheme("light");
    await screenshot("detail-light");
    await setTheme("dark");
    await screenshot("detail-dark");
    await setTheme("light");
  });

  it("asks for a coarse step when switched to 7 days", async () => {
    const metricsRequests: URL[] = [];
    const onRequest = (request: { url: () => string }) => {
      const url = new URL(request.url());
      if (url.pathname === `/api/servers/${hostId}/metrics`) metricsRequests.push(url);
    };
    page.on("request", onRequest);
    await page.locator('[data-range="7d"]').click();
    await waitFor("a 7-day query", async () => metricsRequests.find((u) => Number(u.searchParams.get("to")) - Number(u.searchParams.get("from")) >= 6.9 * 86_400_000));
    page.off("request", onRequest);
    const weekQuery = metricsRequests.find((u) => Number(u.searchParams.get("to")) - Number(u.searchParams.get("from")) >= 6.9 * 86_400_000)!;
    expect(Number(weekQuery.searchParams.get("step"))).toBeGreaterThanOrEqual(300);
    expect(new URL(page.url()).search).toBe("?range=7d");
    await waitFor("7-day chart", async () => (await cpuChart()).points > 0);
  });

  it("zooms by dragging across a chart, and shows CPU per core", async () => {
    const overlay = page.locator('[data-chart="cpu"] .u-over');
    const box = (await overlay.boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.5, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.7, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
    await waitFor("a zoomed URL", async () => new URL(page.url()).searchParams.has("from"));
    const params = new URL(page.url()).searchParams;
    const spanMs = Number(params.get("to")) - Number(params.get("from"));
    expect(spanMs).toBeGreaterThan(0);
    expect(spanMs).toBeLessThan(7 * 86_400_000 * 0.3);
    await page.getByRole("button", { name: "Back to live" }).waitFor();
    await page.getByRole("button", { name: "Back to live" }).click();
    await waitFor("live again", async () => new URL(page.url()).search === "");

    await page.getByTestId("per-core-toggle").check();
    await waitFor("the per-core chart", async () =>
      page.evaluate(() => Number(document.querySelector<HTMLElement>('[data-chart="cpu-cores"]')?.dataset.points ?? 0) > 0),
    );
    await page.getByTestId("per-core-toggle").uncheck();
  });

  it("stays usable on a phone", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.locator('[data-range="live"]').click();
    await waitFor("CPU chart data", async () => (await cpuChart()).points > 0);
    await screenshot("detail-phone-light");
    await page.goto(baseUrl + "/");
    await page.locator(`[data-testid="host-row"][data-host="${hostname}"]`).waitFor();
    await setTheme("dark");
    await screenshot("overview-phone-dark");
    await setTheme("light");
    await page.setViewportSize({ width: 1440, height: 900 });
  });

  it("shows a readable message for a server error", async () => {
    await page.goto(baseUrl + "/servers/999999");
    const alert = page.getByRole("alert");
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/could not be loaded.*404/s);
  });

  it("logs out", async () => {
    await page.goto(baseUrl + "/");
    await page.getByTestId("logout").click();
    await page.getByRole("heading", { name: "Log in" }).waitFor();
    expect(await page.evaluate(() => localStorage.getItem("lxmon.session"))).toBeNull();
  });

  it("returns to login with a message when the stored token is invalid", async () => {
    await page.evaluate(() => localStorage.setItem("lxmon.session", JSON.stringify({ token: "not.a.jwt", expiresAt: 4102444800, username: "admin", role: "platform_admin" })));
    await page.goto(baseUrl + "/");
    const notice = page.getByTestId("login-notice");
    await notice.waitFor();
    expect(await notice.textContent()).toMatch(/logged out/i);
    expect(await page.evaluate(() => localStorage.getItem("lxmon.session"))).toBeNull();
  });

  it("returns to login with a message when the session expires", async () => {
    const token = await login(server.url, server.password);
    await page.evaluate((t) => localStorage.setItem("lxmon.session", JSON.stringify({ token: t, expiresAt: 4102444800, username: "admin", role: "platform_admin" })), token);
    await page.goto(baseUrl + "/");
    await page.getByRole("heading", { name: "Fleet overview" }).waitFor();
    // The server's answer once a token's time is up (tokens live 60 s at least, too long to wait for).
    await page.route("**/api/**", (route) =>
      route.fulfill({ status: 401, contentType: "application/json", body: JSON.stringify({ error: { code: "session_expired", message: "session expired; log in again" } }) }),
    );
    await page.locator(`[data-testid="host-row"][data-host="${hostname}"]`).click();
    const notice = page.getByTestId("login-notice");
    await notice.waitFor();
    expect(await notice.textContent()).toMatch(/session has expired/i);
    await page.unroute("**/api/**");
  });

  it("shows an offline host's last data and since when it is offline", async () => {
    await page.getByLabel("Username").fill("admin");
    await page.getByLabel("Password").fill(server.password);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.getByTestId("server-hostname").waitFor();
    await stopProcess(agent.process);
    const banner = page.getByTestId("offline-banner");
    await banner.waitFor({ timeout: 30_000 });
    expect(await banner.textContent()).toMatch(/Offline since/);
    await waitFor("last data on the CPU chart", async () => (await cpuChart()).points > 0);
    await screenshot("detail-offline-light");
    await page.goto(baseUrl + "/");
    const row = page.locator(`[data-testid="host-row"][data-host="${hostname}"]`);
    await expect.poll(() => row.textContent(), { timeout: 15_000 }).toMatch(/offline.*since/s);
    await expect.poll(() => row.textContent(), { timeout: 15_000 }).toMatch(/\d%/);
  });

  it("asks for the authenticator code when two-factor login is on", async () => {
    const token = await login(server.url, server.password);
    const post = async (path: string, body: unknown) => {
      const response = await fetch(`${server.url}${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
      return response.json() as Promise<Record<string, unknown>>;
    };
    const { secret } = (await post("/api/auth/totp/setup", {})) as { secret: string };
    await post("/api/auth/totp/enable", { code: totpCode(secret) });

    await page.goto(baseUrl + "/");
    await page.getByTestId("logout").click();
    await page.getByLabel("Username").fill("admin");
    await page.getByLabel("Password").fill(server.password);
    await page.getByRole("button", { name: "Log in" }).click();
    const code = page.getByLabel("Code from your authenticator app");
    await code.waitFor();
    await code.fill("000000" === totpCode(secret) ? "111111" : "000000");
    await page.getByRole("button", { name: "Verify" }).click();
    await page.getByText("That code is not right").waitFor();
    await code.fill(totpCode(secret));
    await page.getByRole("button", { name: "Verify" }).click();
    await page.getByRole("heading", { name: "Fleet overview" }).waitFor();
  });
});
