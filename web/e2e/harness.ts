// What the browser tests stand on: the real lxmon-server and lxmon-agent
// binaries, a static server for web/dist, and Debian's headless Chromium
// driven by playwright-core.

import { spawn, type ChildProcess } from "node:child_process";
import { createHmac } from "node:crypto";
import { createReadStream, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, request as httpRequest, type Server as HttpServer } from "node:http";
import { createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, extname, join, normalize, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { chromium, type BrowserContext, type Page } from "playwright-core";

export const WEB_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..");
// Where `cargo build --bins` put the binaries (scripts/test.sh builds them first).
const TARGET_DIR = process.env.CARGO_TARGET_DIR ? resolve(WEB_DIR, "..", process.env.CARGO_TARGET_DIR) : resolve(WEB_DIR, "../target");
export const SERVER_BIN = process.env.LXMON_SERVER_BIN ?? join(TARGET_DIR, "debug/lxmon-server");
export const AGENT_BIN = process.env.LXMON_AGENT_BIN ?? join(TARGET_DIR, "debug/lxmon-agent");
export const CHROMIUM = process.env.LXMON_CHROMIUM ?? "/usr/bin/chromium";
export const RESULTS_DIR = join(WEB_DIR, "test-results");

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const probe = createNetServer();
    probe.once("error", fail);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      const port = typeof address === "object" && address ? address.port : 0;
      probe.close(() => done(port));
    });
  });
}

function run(bin: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(bin, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", fail);
    child.on("exit", (code) => (code === 0 ? done(out) : fail(new Error(`${bin} ${args.join(" ")} exited ${code}: ${err}`))));
  });
}

export interface LxmonServer {
  url: string;
  port: number;
  dataDir: string;
  password: string;
  process: ChildProcess;
  log: () => string;
}

/** Creates an agent key (before the server starts) and starts lxmon-server on a free port. */
export async function startServer(env: NodeJS.ProcessEnv = {}): Promise<{ server: LxmonServer; agentKey: string }> {
  for (const bin of [SERVER_BIN, AGENT_BIN]) {
    if (!existsSync(bin)) throw new Error(`${bin} is missing: build it first (cargo build --bins), or set LXMON_SERVER_BIN / LXMON_AGENT_BIN`);
  }
  const dataDir = tempDir("lxmon-e2e-data-");
  const keyOutput = await run(SERVER_BIN, ["agent-key", "create", "--name", "e2e", "--data-dir", dataDir]);
  const agentKey = keyOutput.trim().split("\n").pop()!.trim();
  const port = await freePort();
  const password = "e2e-password-" + Math.random().toString(36).slice(2);
  const child = spawn(SERVER_BIN, ["--listen", `127.0.0.1:${port}`, "--data-dir", dataDir], {
    env: { ...process.env, LXMON_ADMIN_PASSWORD: password, LXMON_LOG: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-20_000)));
  const firstLine = await new Promise<string>((done, fail) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => fail(new Error(`lxmon-server did not start: ${stderr}`)), 30_000);
    lines.once("line", (line) => {
      clearTimeout(timer);
      done(line);
    });
    child.once("exit", (code) => fail(new Error(`lxmon-server exited ${code}: ${stderr}`)));
  });
  if (!/listening on/.test(firstLine)) throw new Error(`unexpected first line from lxmon-server: ${firstLine}`);
  // Keep draining stdout so the server never blocks on a full pipe.
  child.stdout!.resume();
  return { server: { url: `http://127.0.0.1:${port}`, port, dataDir, password, process: child, log: () => stderr }, agentKey };
}

/** Starts lxmon-agent; `configFile` is its TOML config (e.g. with `[[actions]]`). */
export function startAgent(serverUrl: string, key: string, intervalS: number, options: { configFile?: string } = {}): { process: ChildProcess; spoolDir: string; log: () => string } {
  const spoolDir = tempDir("lxmon-e2e-spool-");
  const args = ["--server", serverUrl, "--key", key, "--interval", String(intervalS), "--spool-dir", spoolDir];
  if (options.configFile) args.push("--config", options.configFile);
  const child = spawn(AGENT_BIN, args, {
    env: { ...process.env, LXMON_LOG: "warn" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-20_000)));
  return { process: child, spoolDir, log: () => stderr };
}

export async function stopProcess(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}

export function removeDir(dir: string | undefined): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".json": "application/json",
  ".woff2": "font/woff2",
};

/** Paths the server answers itself rather than the dashboard: the API and the public status pages. */
function isServerPath(pathname: string): boolean {
  return pathname === "/api" || pathname.startsWith("/api/") || pathname.startsWith("/status/");
}

/**
 * Serves web/dist with the SPA fallback (unknown paths get index.html) and
 * proxies /api/* — including the event stream — and the public /status/*
 * pages to lxmon-server. Stands in for the server's embedded UI.
 */
export async function startStaticServer(distDir: string, apiUrl: string): Promise<{ url: string; close: () => Promise<void> }> {
  const api = new URL(apiUrl);
  const server: HttpServer = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (isServerPath(url.pathname)) {
      const upstream = httpRequest(
        { hostname: api.hostname, port: api.port, path: req.url, method: req.method, headers: { ...req.headers, host: api.host } },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on("error", (e) => {
        if (!res.headersSent) res.writeHead(502, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { code: "proxy", message: e.message } }));
      });
      req.pipe(upstream);
      res.on("close", () => upstream.destroy());
      return;
    }
    const path = normalize(join(distDir, decodeURIComponent(url.pathname)));
    const file = path.startsWith(distDir) && existsSync(path) && statSync(path).isFile() ? path : join(distDir, "index.html");
    res.writeHead(200, { "content-type": CONTENT_TYPES[extname(file)] ?? "application/octet-stream" });
    createReadStream(file).pipe(res);
  });
  const port = await freePort();
  await new Promise<void>((done) => server.listen(port, "127.0.0.1", done));
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

/** Debian's Chromium, headless, in a fresh profile directory. */
export async function launchBrowser(): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run web/scripts/install-browser.sh`);
  const profile = tempDir("lxmon-e2e-chromium-");
  // playwright-core refuses --user-data-dir in `args`; a persistent context
  // with a new directory is the same fresh profile.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
    viewport: { width: 1440, height: 900 },
  });
  return {
    context,
    close: async () => {
      await context.close();
      removeDir(profile);
    },
  };
}

export async function login(serverUrl: string, password: string, username = "admin"): Promise<string> {
  const response = await fetch(`${serverUrl}/api/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password }),
  });
  if (!response.ok) throw new Error(`login failed: ${response.status}`);
  return ((await response.json()) as { token: string }).token;
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs = 30_000, everyMs = 200): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (e) {
      lastError = e;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}${lastError ? `: ${String(lastError)}` : ""}`);
}

/** The current RFC 6238 code (SHA-1, 30 s, 6 digits) for a base32 secret, as an authenticator app shows it. */
export function totpCode(base32Secret: string, unixS = Math.floor(Date.now() / 1000)): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of base32Secret.replace(/=+$/, "").toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  const key = Buffer.from((bits.match(/.{8}/g) ?? []).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(unixS / 30)));
  const hash = createHmac("sha1", key).update(counter).digest();
  const offset = hash[19]! & 0x0f;
  const value = hash.readUInt32BE(offset) & 0x7fffffff;
  return String(value % 1_000_000).padStart(6, "0");
}

/** One API call with a session token; throws with the server's answer unless it is 2xx. */
export async function apiCall<T = unknown>(serverUrl: string, token: string, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${serverUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

/** The server, an agent, the UI (web/dist behind a proxy, or the server's embedded copy) and a browser. */
export interface Stack {
  server: LxmonServer;
  agent: ReturnType<typeof startAgent>;
  baseUrl: string;
  browser: Awaited<ReturnType<typeof launchBrowser>>;
  page: Page;
  hostId: number;
  hostname: string;
  stop: () => Promise<void>;
}

export async function startStack(options: { agentConfig?: string; serverEnv?: NodeJS.ProcessEnv; intervalS?: number } = {}): Promise<Stack> {
  const embedded = process.env.LXMON_E2E_EMBEDDED === "1";
  const dist = join(WEB_DIR, "dist");
  if (!embedded && !existsSync(join(dist, "index.html"))) throw new Error("web/dist is missing: run `npm run build` first");
  const { server, agentKey } = await startServer(options.serverEnv);
  const configFile = options.agentConfig ? join(tempDir("lxmon-e2e-agentconf-"), "agent.toml") : undefined;
  if (configFile) writeFileSync(configFile, options.agentConfig!);
  const agent = startAgent(server.url, agentKey, options.intervalS ?? 1, { configFile });
  const staticServer = embedded ? undefined : await startStaticServer(dist, server.url);
  const baseUrl = staticServer?.url ?? server.url;
  const token = await login(server.url, server.password);
  const host = await waitFor(
    "the agent's host to report",
    async () => (await apiCall<{ id: number; hostname: string; last_seen: number | null }[]>(server.url, token, "GET", "/api/servers")).find((h) => h.last_seen !== null),
    30_000,
  ).catch((e: unknown) => {
    throw new Error(`${String(e)}\nagent log: ${agent.log()}`);
  });
  const browser = await launchBrowser();
  const page = browser.context.pages()[0] ?? (await browser.context.newPage());
  return {
    server,
    agent,
    baseUrl,
    browser,
    page,
    hostId: host.id,
    hostname: host.hostname,
    stop: async () => {
      await browser.close();
      await staticServer?.close();
      await stopProcess(agent.process);
      await stopProcess(server.process);
      removeDir(agent.spoolDir);
      removeDir(server.dataDir);
      if (configFile) removeDir(dirname(configFile));
    },
  };
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(RESULTS_DIR, { recursive: true });
  await page.screenshot({ path: join(RESULTS_DIR, `${name}.png`), fullPage: true });
}

export async function setTheme(page: Page, theme: "light" | "dark"): Promise<void> {
  const isDark = await page.evaluate(() => document.documentElement.classList.contains("dark"));
  if (isDark !== (theme === "dark")) await page.getByTestId("theme-toggle").click();
  await page.waitForFunction((dark) => document.documentElement.classList.contains("dark") === dark, theme === "dark");
}

/** Logs in through the form (the browser must be on the login page). */
export async function uiLogin(page: Page, username: string, password: string): Promise<void> {
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  try {
    await page.getByRole("heading", { name: "Fleet overview" }).waitFor({ timeout: 15_000 });
  } catch (e) {
    throw new Error(`login as ${username} failed; the page says: ${(await page.locator("body").innerText()).slice(0, 500)}`, { cause: e });
  }
}
