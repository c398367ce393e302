// Health checks in the dashboard: the editor's form and its mapping to the
// API's CheckInput, client-side validation mirroring the server's
// (lxmon-checks spec.rs, http.rs, dns.rs; server http/checks.rs), the
// server's 422 messages put back on their field, and the shaping of a
// check's runs for tables, sparklines and charts.

import type { CheckInput, CheckSeries, CheckView } from "../api/types";

export type CheckType = "http" | "tcp" | "ping" | "dns";

export const CHECK_TYPES: { key: CheckType; label: string }[] = [
  { key: "http", label: "HTTP(S)" },
  { key: "tcp", label: "TCP port" },
  { key: "ping", label: "Ping" },
  { key: "dns", label: "DNS" },
];

export const RECORD_TYPES = ["A", "AAAA", "CNAME", "MX", "TXT", "NS"] as const;
export type RecordType = (typeof RECORD_TYPES)[number];

export const HTTP_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;

// The spec as the server stores it (serde's tagged enum, defaults filled in).
export interface HttpSpec {
  type: "http";
  url: string;
  method?: string;
  headers?: Record<string, string>;
  expected_status?: (string | number)[];
  keyword?: string | null;
  keyword_absent?: boolean;
  max_latency_ms?: number | null;
  follow_redirects?: boolean;
  basic_auth?: { username: string; password: string } | null;
  cert_warn_days?: number | null;
  insecure_skip_verify?: boolean;
}
export interface TcpSpec {
  type: "tcp";
  host: string;
  port: number;
}
export interface PingSpec {
  type: "ping";
  host: string;
  count?: number;
}
export interface DnsSpec {
  type: "dns";
  name: string;
  record_type: string;
  expected?: string | null;
  resolver?: string | null;
}
export type CheckSpec = HttpSpec | TcpSpec | PingSpec | DnsSpec;

/** The spec of a stored check, or null when it is not one the dashboard knows. */
export function specOf(check: Pick<CheckView, "spec">): CheckSpec | null {
  const spec = check.spec as Partial<CheckSpec> | null | undefined;
  if (!spec || typeof spec !== "object") return null;
  switch (spec.type) {
    case "http":
    case "tcp":
    case "ping":
    case "dns":
      return spec as CheckSpec;
    default:
      return null;
  }
}

// --- limits (the server's) ------------------------------------------------

export const INTERVAL_MIN_S = 10;
export const INTERVAL_MAX_S = 86_400;
export const TIMEOUT_MAX_S = 60;
export const RETRIES_MAX = 10;
export const PING_COUNT_MAX = 10;
export const NAME_MAX = 128;

// --- the editor's form ----------------------------------------------------

/** Everything the editor shows, as typed; fields of other types are kept while switching type. */
export interface CheckForm {
  name: string;
  type: CheckType;
  // http
  url: string;
  method: string;
  expectedStatus: string;
  keyword: string;
  keywordAbsent: boolean;
  maxLatencyMs: string;
  followRedirects: boolean;
  certWarnDays: string;
  insecure: boolean;
  /** One "Name: value" per line. */
  headers: string;
  authUser: string;
  authPassword: string;
  // tcp, ping
  host: string;
  port: string;
  count: string;
  // dns
  dnsName: string;
  recordType: RecordType;
  expected: string;
  resolver: string;
  // every type
  intervalS: string;
  timeoutS: string;
  retries: string;
  /** "" for the server, else the id of the host whose agent runs it. */
  runOn: string;
  enabled: boolean;
}

export type FormField = keyof CheckForm;
export type FormErrors = Partial<Record<FormField, string>>;

export function emptyForm(type: CheckType = "http"): CheckForm {
  return {
    name: "",
    type,
    url: "https://",
    method: "GET",
    expectedStatus: "200-399",
    keyword: "",
    keywordAbsent: false,
    maxLatencyMs: "",
    followRedirects: true,
    certWarnDays: "14",
    insecure: false,
    headers: "",
    authUser: "",
    authPassword: "",
    host: "",
    port: "",
    count: "3",
    dnsName: "",
    recordType: "A",
    expected: "",
    resolver: "",
    intervalS: "60",
    timeoutS: "10",
    retries: "1",
    runOn: "",
    enabled: true,
  };
}

const text = (v: unknown): string => (v === null || v === undefined ? "" : String(v));

/** The editor's form for a stored check. */
export function formFromCheck(check: Pick<CheckView, "name" | "spec" | "interval_s" | "timeout_s" | "retries" | "run_on_host" | "enabled">): CheckForm {
  const form: CheckForm = {
    ...emptyForm(),
    name: check.name,
    intervalS: String(check.interval_s),
    timeoutS: String(check.timeout_s),
    retries: String(check.retries),
    runOn: check.run_on_host === null || check.run_on_host === undefined ? "" : String(check.run_on_host),
    enabled: check.enabled,
  };
  const spec = specOf(check);
  if (!spec) return form;
  switch (spec.type) {
    case "http":
      return {
        ...form,
        type: "http",
        url: spec.url,
        method: spec.method ?? "GET",
        expectedStatus: (spec.expected_status ?? ["200-399"]).map(String).join(", "),
        keyword: text(spec.keyword),
        keywordAbsent: spec.keyword_absent ?? false,
        maxLatencyMs: text(spec.max_latency_ms),
        followRedirects: spec.follow_redirects ?? true,
        // Absent: the server's default (14); null: never warn.
        certWarnDays: spec.cert_warn_days === undefined ? "14" : text(spec.cert_warn_days),
        insecure: spec.insecure_skip_verify ?? false,
        headers: Object.entries(spec.headers ?? {})
          .map(([k, v]) => `${k}: ${v}`)
          .join("\n"),
        authUser: spec.basic_auth?.username ?? "",
        authPassword: spec.basic_auth?.password ?? "",
      };
    case "tcp":
      return { ...form, type: "tcp", host: spec.host, port: String(spec.port) };
    case "ping":
      return { ...form, type: "ping", host: spec.host, count: String(spec.count ?? 3) };
    case "dns":
      return {
        ...form,
        type: "dns",
        dnsName: spec.name,
        recordType: (RECORD_TYPES as readonly string[]).includes(spec.record_type.toUpperCase()) ? (spec.record_type.toUpperCase() as RecordType) : "A",
        expected: text(spec.expected),
        resolver: text(spec.resolver),
      };
  }
}

/** "Name: value" lines as a header map; blank lines are skipped. */
export function parseHeaders(lines: string): { headers: Record<string, string>; error: string | null } {
  const headers: Record<string, string> = {};
  for (const [i, raw] of lines.split("\n").entries()) {
    const line = raw.trim();
    if (line === "") continue;
    const colon = line.indexOf(":");
    if (colon <= 0) return { headers, error: `Line ${i + 1}: write "Name: value".` };
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (!/^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/.test(name)) return { headers, error: `Line ${i + 1}: "${name}" is not a valid header name.` };
    if (["content-length", "transfer-encoding", "connection", "te", "upgrade"].includes(name.toLowerCase())) {
      return { headers, error: `${name} is set by the probe and cannot be overridden.` };
    }
    headers[name] = value;
  }
  return { headers, error: null };
}

/** "200-299, 301" as the API's list of statuses and ranges, or what is wrong. */
export function parseStatusList(value: string): { ranges: string[] } | { error: string } {
  const entries = value
    .split(/[\s,]+/)
    .map((e) => e.trim())
    .filter((e) => e !== "");
  if (entries.length === 0) return { error: "List at least one status, e.g. 200-399." };
  for (const entry of entries) {
    const m = /^(\d{3})(?:-(\d{3}))?$/.exec(entry);
    const lo = m ? Number(m[1]) : NaN;
    const hi = m ? Number(m[2] ?? m[1]) : NaN;
    if (!m || lo < 100 || hi > 599) return { error: `"${entry}" is not a status (100–599) or a range like 200-299.` };
    if (lo > hi) return { error: `The range "${entry}" is reversed.` };
  }
  return { ranges: entries };
}

function isIPv4(value: string): boolean {
  const parts = value.split(".");
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255 && (p === "0" || !p.startsWith("0")));
}

function isIPv6(value: string): boolean {
  if (!value.includes(":") || !/^[0-9A-Fa-f:.]+$/.test(value)) return false;
  try {
    return new URL(`http://[${value}]/`).hostname !== "";
  } catch {
    return false;
  }
}

export function isIpAddress(value: string): boolean {
  return isIPv4(value) || isIPv6(value);
}

/** What is wrong with a host name (not an address), as the server says it; null when fine. */
export function hostNameProblem(host: string): string | null {
  if (host === "") return "Required.";
  if (/\s/.test(host)) return "A host name cannot contain spaces.";
  const name = host.endsWith(".") ? host.slice(0, -1) : host;
  if (name.length > 253) return "At most 253 characters.";
  for (const label of name.split(".")) {
    if (label === "") return "A host name cannot have an empty part (two dots in a row).";
    if (label.length > 63) return "Each part between dots is at most 63 characters.";
    const bad = /[^A-Za-z0-9_-]/.exec(label);
    if (bad) return `"${bad[0]}" is not allowed in a host name.`;
    if (label.startsWith("-") || label.endsWith("-")) return "A part of a host name cannot start or end with '-'.";
  }
  return null;
}

/** A host name or an IP address (IPv6 with or without brackets). */
export function hostProblem(host: string): string | null {
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  if (isIpAddress(bare)) return null;
  return hostNameProblem(host);
}

/** What is wrong with a check's URL (http.rs Url::parse), or null. */
export function urlProblem(url: string): string | null {
  if (url === "") return "Required.";
  if (/[\s\p{Cc}]/u.test(url)) return "A URL cannot contain spaces.";
  const sep = url.indexOf("://");
  if (sep < 0) return "Start with http:// or https://.";
  const scheme = url.slice(0, sep).toLowerCase();
  if (scheme !== "http" && scheme !== "https") return "Only http:// and https:// URLs can be checked.";
  const rest = url.slice(sep + 3);
  const end = rest.search(/[/?#]/);
  const authority = end < 0 ? rest : rest.slice(0, end);
  if (authority.includes("@")) return "Put credentials under basic auth, not in the URL.";
  let port: string | undefined;
  if (authority.startsWith("[")) {
    const close = authority.indexOf("]");
    if (close < 0 || !isIPv6(authority.slice(1, close))) return "The address in [ ] is not an IPv6 address.";
    const after = authority.slice(close + 1);
    if (after !== "" && !after.startsWith(":")) return `Unexpected "${after}" after the host.`;
    port = after === "" ? undefined : after.slice(1);
  } else {
    const colon = authority.lastIndexOf(":");
    const host = colon < 0 ? authority : authority.slice(0, colon);
    port = colon < 0 ? undefined : authority.slice(colon + 1);
    if (host === "") return "The URL has no host.";
    const problem = hostNameProblem(host);
    if (problem) return `Host: ${problem}`;
  }
  if (port !== undefined && port !== "" && portProblem(port) !== null) return "The port must be between 1 and 65535.";
  return null;
}

/** A whole number typed in a field, or null. */
function wholeNumber(value: string): number | null {
  const v = value.trim();
  return /^\d+$/.test(v) ? Number(v) : null;
}

export function portProblem(value: string): string | null {
  if (value.trim() === "") return "Required.";
  const n = wholeNumber(value);
  return n === null || n < 1 || n > 65535 ? "Port must be between 1 and 65535." : null;
}

export function resolverProblem(value: string): string | null {
  const v = value.trim();
  if (isIpAddress(v)) return null;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(v);
  if (bracketed) {
    if (!isIPv6(bracketed[1]!)) return "Not an IPv6 address.";
    return bracketed[2] === undefined || portProblem(bracketed[2]) === null ? null : "The port must be between 1 and 65535.";
  }
  const colon = v.lastIndexOf(":");
  if (colon > 0 && isIPv4(v.slice(0, colon))) return portProblem(v.slice(colon + 1)) === null ? null : "The port must be between 1 and 65535.";
  return "An IP address, or ip:port (host names are not accepted).";
}

/** What is wrong with each field, as far as the browser can tell (empty when nothing). */
export function validateCheckForm(form: CheckForm): FormErrors {
  const errors: FormErrors = {};
  const name = form.name.trim();
  if (name === "") errors.name = "Required.";
  else if (name.length > NAME_MAX) errors.name = `At most ${NAME_MAX} characters.`;

  switch (form.type) {
    case "http": {
      const url = urlProblem(form.url.trim());
      if (url) errors.url = url;
      if (!/^[A-Z]+$/.test(form.method)) errors.method = "Upper-case letters, e.g. GET or HEAD.";
      const statuses = parseStatusList(form.expectedStatus);
      if ("error" in statuses) errors.expectedStatus = statuses.error;
      if (form.keywordAbsent && form.keyword === "") errors.keyword = "Give the keyword that must not appear.";
      if (form.maxLatencyMs.trim() !== "") {
        const ms = wholeNumber(form.maxLatencyMs);
        if (ms === null || ms < 1 || ms > 4_294_967_295) errors.maxLatencyMs = "A whole number of milliseconds, at least 1 (or empty).";
      }
      if (form.certWarnDays.trim() !== "") {
        const days = wholeNumber(form.certWarnDays);
        if (days === null || days > 4_294_967_295) errors.certWarnDays = "A whole number of days (or empty for never).";
      }
      const headers = parseHeaders(form.headers);
      if (headers.error) errors.headers = headers.error;
      if (form.authUser.includes(":")) errors.authUser = "The username cannot contain ':'.";
      else if (form.authUser === "" && form.authPassword !== "") errors.authUser = "Give a username with the password.";
      // eslint-disable-next-line no-control-regex
      if (/[\u0000-\u001f\u007f]/.test(form.authUser + form.authPassword)) errors.authPassword = "Contains control characters.";
      break;
    }
    case "tcp": {
      const host = hostProblem(form.host.trim());
      if (host) errors.host = host;
      const port = portProblem(form.port);
      if (port) errors.port = port;
      break;
    }
    case "ping": {
      const host = hostProblem(form.host.trim());
      if (host) errors.host = host;
      const count = wholeNumber(form.count);
      if (count === null || count < 1 || count > PING_COUNT_MAX) errors.count = `Between 1 and ${PING_COUNT_MAX}.`;
      break;
    }
    case "dns": {
      const dnsName = hostNameProblem(form.dnsName.trim());
      if (dnsName) errors.dnsName = dnsName;
      if (form.resolver.trim() !== "") {
        const resolver = resolverProblem(form.resolver);
        if (resolver) errors.resolver = resolver;
      }
      break;
    }
  }

  const interval = wholeNumber(form.intervalS);
  if (interval === null || interval < INTERVAL_MIN_S || interval > INTERVAL_MAX_S) errors.intervalS = "Between 10 seconds and 1 day (86400 s).";
  const timeout = wholeNumber(form.timeoutS);
  if (timeout === null || timeout < 1 || timeout > TIMEOUT_MAX_S) errors.timeoutS = `Between 1 and ${TIMEOUT_MAX_S} seconds.`;
  else if (interval !== null && timeout > interval) errors.timeoutS = "At most the interval.";
  const retries = wholeNumber(form.retries);
  if (retries === null || retries > RETRIES_MAX) errors.retries = `Between 0 and ${RETRIES_MAX}.`;
  return errors;
}

export function hasErrors(errors: FormErrors): boolean {
  return Object.keys(errors).length > 0;
}

/** The spec the form describes (the form must be valid). */
export function formToSpec(form: CheckForm): CheckSpec {
  switch (form.type) {
    case "http": {
      const statuses = parseStatusList(form.expectedStatus);
      const spec: HttpSpec = {
        type: "http",
        url: form.url.trim(),
        method: form.method,
        expected_status: "ranges" in statuses ? statuses.ranges : ["200-399"],
        follow_redirects: form.followRedirects,
        cert_warn_days: form.certWarnDays.trim() === "" ? null : Number(form.certWarnDays),
        insecure_skip_verify: form.insecure,
        keyword_absent: form.keyword !== "" && form.keywordAbsent,
      };
      const headers = parseHeaders(form.headers).headers;
      if (Object.keys(headers).length > 0) spec.headers = headers;
      if (form.keyword !== "") spec.keyword = form.keyword;
      if (form.maxLatencyMs.trim() !== "") spec.max_latency_ms = Number(form.maxLatencyMs);
      if (form.authUser !== "") spec.basic_auth = { username: form.authUser, password: form.authPassword };
      return spec;
    }
    case "tcp":
      return { type: "tcp", host: form.host.trim(), port: Number(form.port) };
    case "ping":
      return { type: "ping", host: form.host.trim(), count: Number(form.count) };
    case "dns": {
      const spec: DnsSpec = { type: "dns", name: form.dnsName.trim(), record_type: form.recordType };
      if (form.expected.trim() !== "") spec.expected = form.expected.trim();
      if (form.resolver.trim() !== "") spec.resolver = form.resolver.trim();
      return spec;
    }
  }
}

/** The API's body for creating, updating or testing the check (the form must be valid). */
export function formToInput(form: CheckForm): CheckInput {
  return {
    name: form.name.trim(),
    spec: formToSpec(form) as unknown as CheckInput["spec"],
    interval_s: Number(form.intervalS),
    timeout_s: Number(form.timeoutS),
    retries: Number(form.retries),
    run_on_host: form.runOn === "" ? null : Number(form.runOn),
    enabled: form.enabled,
  };
}

// Spec field names in the server's messages ("port: must be between …") and
// the form field each belongs to.
const SPEC_FIELDS: Record<string, FormField> = {
  url: "url",
  method: "method",
  headers: "headers",
  expected_status: "expectedStatus",
  keyword: "keyword",
  keyword_absent: "keyword",
  max_latency_ms: "maxLatencyMs",
  basic_auth: "authUser",
  host: "host",
  port: "port",
  count: "count",
  name: "dnsName",
  expected: "expected",
  resolver: "resolver",
};

/**
 * Where a 422's message belongs, and what to say there: lxmon-checks says
 * "<spec field>: <message>", the server "interval_s must …", "timeout_s …",
 * "retries …", "name must …". `field` null: the form as a whole (e.g. a spec
 * that does not parse).
 */
export function serverFieldError(message: string): { field: FormField | null; text: string } {
  const sentence = (t: string) => (t === "" ? message : t[0]!.toUpperCase() + t.slice(1));
  const spec = /^([a-z_]+): (.*)$/s.exec(message);
  if (spec && spec[1] !== "spec") {
    const field = SPEC_FIELDS[spec[1]!];
    if (field) return { field, text: sentence(spec[2]!) };
  }
  const own: [prefix: string, field: FormField][] = [
    ["interval_s ", "intervalS"],
    ["timeout_s ", "timeoutS"],
    ["retries ", "retries"],
    ["name must", "name"],
  ];
  for (const [prefix, field] of own) if (message.startsWith(prefix)) return { field, text: message };
  return { field: null, text: message };
}

// --- the list -------------------------------------------------------------

export type CheckState = "up" | "down" | "pending" | "paused";

/** A check's state in the dashboard's words: a disabled check is paused; one never run is pending. */
export function checkState(check: Pick<CheckView, "status" | "enabled">): CheckState {
  if (!check.enabled) return "paused";
  if (check.status === "up" || check.status === "down") return check.status;
  return "pending";
}

/** What a check looks at, in one line: the URL, host:port, host, or record and name. */
export function checkTarget(spec: CheckSpec | null): string {
  if (!spec) return "—";
  switch (spec.type) {
    case "http":
      return spec.method && spec.method !== "GET" ? `${spec.method} ${spec.url}` : spec.url;
    case "tcp":
      return spec.host.includes(":") && !spec.host.startsWith("[") ? `[${spec.host}]:${spec.port}` : `${spec.host}:${spec.port}`;
    case "ping":
      return spec.host;
    case "dns":
      return `${spec.record_type.toUpperCase()} ${spec.name}${spec.expected ? ` = ${spec.expected}` : ""}`;
  }
}

export function typeLabel(spec: CheckSpec | null): string {
  if (!spec) return "unknown";
  if (spec.type === "http") return spec.url.toLowerCase().startsWith("https:") ? "HTTPS" : "HTTP";
  return CHECK_TYPES.find((t) => t.key === spec.type)?.label ?? spec.type;
}

/** Where a check runs, in words: "server" or its agent's host name. */
export function runsOn(check: Pick<CheckView, "run_on_host">, hostnames: ReadonlyMap<number, string>): string {
  if (check.run_on_host === null || check.run_on_host === undefined) return "server";
  return hostnames.get(check.run_on_host) ?? `host ${check.run_on_host}`;
}

export type CheckFilter = "all" | CheckState;

export function countByCheckState(checks: readonly Pick<CheckView, "status" | "enabled">[]): Record<CheckFilter, number> {
  const counts: Record<CheckFilter, number> = { all: checks.length, up: 0, down: 0, pending: 0, paused: 0 };
  for (const c of checks) counts[checkState(c)] += 1;
  return counts;
}

/**
 * The checks that match a state and a text (words, all of which must appear
 * in the name, type, target, where it runs or the last error), down ones
 * first, then by name.
 */
export function selectChecks<T extends Pick<CheckView, "name" | "status" | "enabled" | "spec" | "run_on_host" | "last_error">>(
  checks: readonly T[],
  options: { text: string; state: CheckFilter; hostnames: ReadonlyMap<number, string> },
): T[] {
  const words = options.text.toLowerCase().split(/\s+/).filter(Boolean);
  const order: Record<CheckState, number> = { down: 0, pending: 1, up: 2, paused: 3 };
  return checks
    .filter((c) => options.state === "all" || checkState(c) === options.state)
    .filter((c) => {
      if (words.length === 0) return true;
      const spec = specOf(c);
      const haystack = [c.name, spec?.type ?? "", typeLabel(spec), checkTarget(spec), runsOn(c, options.hostnames), c.last_error ?? ""].join(" ").toLowerCase();
      return words.every((w) => haystack.includes(w));
    })
    .sort((a, b) => order[checkState(a)] - order[checkState(b)] || a.name.localeCompare(b.name));
}

// --- runs -------------------------------------------------------------------

/** How many recent runs a row's latency sparkline shows. */
export const SPARKLINE_RUNS = 30;

/** The window a sparkline asks for: enough for its runs, at most a day. */
export function sparklineWindowMs(intervalS: number): number {
  return Math.min(SPARKLINE_RUNS * Math.max(intervalS, 1), 86_400) * 1000;
}

/** The latest `count` latencies, down runs as gaps. */
export function latencyValues(series: CheckSeries, count = SPARKLINE_RUNS): (number | null)[] {
  const start = Math.max(0, series.timestamps.length - count);
  const values: (number | null)[] = [];
  for (let i = start; i < series.timestamps.length; i += 1) values.push(series.up[i] ? (series.latency_ms[i] ?? null) : null);
  return values;
}

export interface RunRow {
  ts: number;
  up: boolean;
  latencyMs: number | null;
  certDaysLeft: number | null;
  error: string | null;
}

/** The newest runs first, at most `limit`; only failed ones when `failuresOnly`. */
export function recentRuns(series: CheckSeries, limit: number, failuresOnly = false): RunRow[] {
  const rows: RunRow[] = [];
  for (let i = series.timestamps.length - 1; i >= 0 && rows.length < limit; i -= 1) {
    const up = series.up[i] === 1;
    if (failuresOnly && up) continue;
    rows.push({
      ts: series.timestamps[i]!,
      up,
      latencyMs: series.latency_ms[i] ?? null,
      certDaysLeft: series.cert_days_left[i] ?? null,
      error: series.errors[i] ?? null,
    });
  }
  return rows;
}

/** Up runs over all runs in percent, null without runs. */
export function uptimeOf(series: Pick<CheckSeries, "up">): number | null {
  if (series.up.length === 0) return null;
  const up = series.up.reduce<number>((n, v) => n + (v ? 1 : 0), 0);
  return Math.round((up / series.up.length) * 10_000) / 100;
}

/**
 * A check's runs as chart columns (seconds; latency in ms; up 1 / down 0),
 * bucketed so there are at most `maxPoints`: a bucket's latency is the mean
 * of its up runs, and it is down if any run in it was. Empty buckets are
 * gaps, so a paused check shows as a break in the line.
 */
export function chartColumns(
  series: CheckSeries,
  options: { fromMs: number; toMs: number; maxPoints: number; intervalS: number },
): [xs: number[], latency: (number | null)[], up: (number | null)[]] {
  const span = Math.max(1, options.toMs - options.fromMs);
  const bucketMs = Math.max(2 * options.intervalS * 1000, Math.ceil(span / Math.max(1, options.maxPoints)));
  const xs: number[] = [];
  const latency: (number | null)[] = [];
  const up: (number | null)[] = [];
  if (series.timestamps.length === 0) return [xs, latency, up];
  // One run per interval needs no buckets: each run is a point.
  if (series.timestamps.length <= options.maxPoints) {
    let previous: number | null = null;
    for (let i = 0; i < series.timestamps.length; i += 1) {
      const ts = series.timestamps[i]!;
      // A missed run or more (paused, server down): break the line.
      if (previous !== null && ts - previous > 2.5 * options.intervalS * 1000) {
        xs.push((previous + (ts - previous) / 2) / 1000);
        latency.push(null);
        up.push(null);
      }
      xs.push(ts / 1000);
      latency.push(series.up[i] ? (series.latency_ms[i] ?? null) : null);
      up.push(series.up[i] ? 1 : 0);
      previous = ts;
    }
    return [xs, latency, up];
  }
  let bucket = -1;
  let sum = 0;
  let n = 0;
  let allUp = true;
  const flush = () => {
    if (bucket < 0) return;
    xs.push((options.fromMs + bucket * bucketMs + bucketMs / 2) / 1000);
    latency.push(n > 0 ? sum / n : null);
    up.push(allUp ? 1 : 0);
  };
  for (let i = 0; i < series.timestamps.length; i += 1) {
    const b = Math.floor((series.timestamps[i]! - options.fromMs) / bucketMs);
    if (b !== bucket) {
      flush();
      if (bucket >= 0 && b > bucket + 1) {
        xs.push((options.fromMs + (bucket + 1) * bucketMs + bucketMs / 2) / 1000);
        latency.push(null);
        up.push(null);
      }
      bucket = b;
      sum = 0;
      n = 0;
      allUp = true;
    }
    if (series.up[i]) {
      const l = series.latency_ms[i];
      if (l !== null && l !== undefined) {
        sum += l;
        n += 1;
      }
    } else allUp = false;
  }
  flush();
  return [xs, latency, up];
}

// --- status pages -----------------------------------------------------------

/** The server's rule for a status page's address: 3 to 64 of a-z 0-9 -; empty: a random one. */
export function slugProblem(slug: string): string | null {
  if (slug === "") return null;
  return /^[a-z0-9-]{3,64}$/.test(slug) ? null : "3 to 64 characters: a-z, 0-9 and -.";
}

export function pageTitleProblem(title: string): string | null {
  const t = title.trim();
  if (t === "") return "Required.";
  return t.length > NAME_MAX ? `At most ${NAME_MAX} characters.` : null;
}

/** The public address of a status page. */
export function statusPagePath(slug: string): string {
  return `/status/${encodeURIComponent(slug)}`;
}
