// What the browser tests stand on: the real lxmon-server and lxmon-agent
// binaries, a static server for web/dist, and Debian's headless Chromium
// driven by playwright-core.

import { spawn, type ChildProcess } from "node:child_process";
import { createHmac } from "node:crypto";
import { createReadStream, existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { createServer, request as httpRequest, type Server as HttpServer } from "node:http";
import { createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, extname, join, normalize, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { chromium, type BrowserContext } from "playwright-core";

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

export function startAgent(serverUrl: string, key: string, intervalS: number): { process: ChildProcess; spoolDir: string } {
  const spoolDir = tempDir("lxmon-e2e-spool-");
  const child = spawn(AGENT_BIN, ["--server", serverUrl, "--key", key, "--interval", String(intervalS), "--spool-dir", spoolDir], {
    env: { ...process.env, LXMON_LOG: "warn" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  child.stderr!.resume();
  return { process: child, spoolDir };
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

/**
 * Serves web/dist with the SPA fallback (unknown paths get index.html) and
 * proxies /api/* — including the event stream — to lxmon-server. Stands in
 * for the server's embedded UI until it has one.
 */
export async function startStaticServer(distDir: string, apiUrl: string): Promise<{ url: string; close: () => Promise<void> }> {
  const api = new URL(apiUrl);
  const server: HttpServer = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (url.pathname === "/api" || url.pathname.startsWith("/api/")) {
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

export async function login(serverUrl: string, password: string): Promise<string> {
  const response = await fetch(`${serverUrl}/api/auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "admin", password }),
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
