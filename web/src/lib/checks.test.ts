import { describe, expect, it } from "vitest";
import type { CheckSeries, CheckView } from "../api/types";
import {
  chartColumns,
  checkState,
  checkTarget,
  countByCheckState,
  emptyForm,
  formFromCheck,
  formToInput,
  hostProblem,
  latencyValues,
  parseHeaders,
  parseStatusList,
  recentRuns,
  resolverProblem,
  runsOn,
  selectChecks,
  serverFieldError,
  slugProblem,
  sparklineWindowMs,
  uptimeOf,
  urlProblem,
  validateCheckForm,
  type CheckForm,
} from "./checks";

function form(patch: Partial<CheckForm>): CheckForm {
  return { ...emptyForm(), name: "web", url: "https://example.com/", ...patch };
}

function view(patch: Partial<CheckView>): CheckView {
  return {
    id: 1,
    tenant_id: 1,
    name: "web",
    spec: { type: "http", url: "https://example.com/" },
    interval_s: 60,
    timeout_s: 10,
    retries: 1,
    run_on_host: null,
    enabled: true,
    status: "up",
    failures: 0,
    last_checked: 1000,
    last_change: 500,
    last_error: null,
    last_latency_ms: 12,
    cert_days_left: null,
    created_at: 0,
    uptime: { h24: 100, d7: 99.5, d30: null },
    ...patch,
  } as CheckView;
}

describe("form → request", () => {
  it("maps an HTTP check with every option", () => {
    const input = formToInput(
      form({
        name: "  shop  ",
        method: "HEAD",
        expectedStatus: "200-299, 301",
        keyword: "Welcome",
        keywordAbsent: true,
        maxLatencyMs: "800",
        followRedirects: false,
        certWarnDays: "",
        insecure: true,
        headers: "Accept: text/html\n\nX-Token:  abc ",
        authUser: "bob",
        authPassword: "pw",
        intervalS: "10",
        timeoutS: "5",
        retries: "0",
        runOn: "3",
      }),
    );
    expect(input).toEqual({
      name: "shop",
      spec: {
        type: "http",
        url: "https://example.com/",
        method: "HEAD",
        expected_status: ["200-299", "301"],
        follow_redirects: false,
        cert_warn_days: null,
        insecure_skip_verify: true,
        keyword_absent: true,
        keyword: "Welcome",
        max_latency_ms: 800,
        headers: { Accept: "text/html", "X-Token": "abc" },
        basic_auth: { username: "bob", password: "pw" },
      },
      interval_s: 10,
      timeout_s: 5,
      retries: 0,
      run_on_host: 3,
      enabled: true,
    });
  });

  it("leaves out HTTP options that are not set", () => {
    const spec = formToInput(form({})).spec as Record<string, unknown>;
    expect(spec).toEqual({
      type: "http",
      url: "https://example.com/",
      method: "GET",
      expected_status: ["200-399"],
      follow_redirects: true,
      cert_warn_days: 14,
      insecure_skip_verify: false,
      keyword_absent: false,
    });
    expect(formToInput(form({})).run_on_host).toBeNull();
  });

  it("maps TCP, ping and DNS checks", () => {
    expect(formToInput(form({ type: "tcp", host: " db.local ", port: "5432" })).spec).toEqual({ type: "tcp", host: "db.local", port: 5432 });
    expect(formToInput(form({ type: "ping", host: "10.0.0.1", count: "5" })).spec).toEqual({ type: "ping", host: "10.0.0.1", count: 5 });
    expect(formToInput(form({ type: "dns", dnsName: "example.com", recordType: "MX", expected: "", resolver: "1.1.1.1:53" })).spec).toEqual({
      type: "dns",
      name: "example.com",
      record_type: "MX",
      resolver: "1.1.1.1:53",
    });
  });

  it("reads a stored check back into the same request", () => {
    const stored = view({
      spec: {
        type: "http",
        url: "https://example.com/x",
        method: "POST",
        headers: { Accept: "json" },
        expected_status: ["200", "300-302"],
        keyword: "ok",
        keyword_absent: false,
        max_latency_ms: 500,
        follow_redirects: true,
        basic_auth: { username: "u", password: "p" },
        cert_warn_days: null,
        insecure_skip_verify: false,
      } as unknown as CheckView["spec"],
      run_on_host: 7,
      interval_s: 30,
      enabled: false,
    });
    const f = formFromCheck(stored);
    expect(f.expectedStatus).toBe("200, 300-302");
    expect(f.certWarnDays).toBe("");
    expect(f.runOn).toBe("7");
    const input = formToInput(f);
    expect(input.spec).toEqual({ ...(stored.spec as object), keyword_absent: false });
    expect(input).toMatchObject({ interval_s: 30, run_on_host: 7, enabled: false });
    expect(formFromCheck(view({ spec: { type: "dns", name: "a.b", record_type: "aaaa" } as unknown as CheckView["spec"] })).recordType).toBe("AAAA");
    expect(formFromCheck(view({ spec: { type: "tcp", host: "h", port: 22 } as unknown as CheckView["spec"] }))).toMatchObject({ type: "tcp", host: "h", port: "22" });
  });
});

describe("validation", () => {
  it("accepts a good check", () => {
    expect(validateCheckForm(form({}))).toEqual({});
    expect(validateCheckForm(form({ type: "tcp", host: "::1", port: "22" }))).toEqual({});
    expect(validateCheckForm(form({ type: "ping", host: "[fe80::1]" }))).toEqual({});
    expect(validateCheckForm(form({ type: "dns", dnsName: "_dmarc.example.com." }))).toEqual({});
  });

  it("checks ports, intervals, timeouts and retries as the server does", () => {
    expect(validateCheckForm(form({ type: "tcp", host: "db", port: "70000" })).port).toBe("Port must be between 1 and 65535.");
    expect(validateCheckForm(form({ type: "tcp", host: "db", port: "0" })).port).toBeDefined();
    expect(validateCheckForm(form({ type: "tcp", host: "db", port: "" })).port).toBe("Required.");
    expect(validateCheckForm(form({ intervalS: "9" })).intervalS).toBeDefined();
    expect(validateCheckForm(form({ intervalS: "86401" })).intervalS).toBeDefined();
    expect(validateCheckForm(form({ intervalS: "86400", timeoutS: "60" }))).toEqual({});
    expect(validateCheckForm(form({ intervalS: "10", timeoutS: "11" })).timeoutS).toBe("At most the interval.");
    expect(validateCheckForm(form({ timeoutS: "0" })).timeoutS).toBeDefined();
    expect(validateCheckForm(form({ retries: "11" })).retries).toBeDefined();
    expect(validateCheckForm(form({ type: "ping", host: "h", count: "11" })).count).toBeDefined();
  });

  it("checks names and host names", () => {
    expect(validateCheckForm(form({ name: "   " })).name).toBe("Required.");
    expect(validateCheckForm(form({ name: "x".repeat(129) })).name).toBeDefined();
    expect(validateCheckForm(form({ type: "tcp", host: "my host", port: "1" })).host).toBe("A host name cannot contain spaces.");
    expect(hostProblem("a..b")).toMatch(/empty part/);
    expect(hostProblem("-a.b")).toMatch(/start or end/);
    expect(hostProblem("a/b")).toMatch(/"\/" is not allowed/);
    expect(hostProblem("192.168.1.1")).toBeNull();
    expect(hostProblem("2001:db8::1")).toBeNull();
    expect(validateCheckForm(form({ type: "dns", dnsName: "" })).dnsName).toBe("Required.");
  });

  it("checks URLs: http(s) only, a host, a port in range, no credentials", () => {
    expect(urlProblem("https://example.com")).toBeNull();
    expect(urlProblem("http://127.0.0.1:8080/a?b#c")).toBeNull();
    expect(urlProblem("http://[::1]:81?q")).toBeNull();
    expect(urlProblem("example.com")).toBe("Start with http:// or https://.");
    expect(urlProblem("ftp://example.com/")).toBe("Only http:// and https:// URLs can be checked.");
    expect(urlProblem("https://user:pw@example.com/")).toMatch(/basic auth/);
    expect(urlProblem("https://exa mple.com/")).toMatch(/spaces/);
    expect(urlProblem("http://:80/")).toBe("The URL has no host.");
    expect(urlProblem("http://example.com:70000/")).toMatch(/port/);
    expect(urlProblem("http://[zz]/")).toMatch(/IPv6/);
    expect(urlProblem("")).toBe("Required.");
  });

  it("checks HTTP options", () => {
    expect(validateCheckForm(form({ method: "get" })).method).toBeDefined();
    expect(validateCheckForm(form({ expectedStatus: "" })).expectedStatus).toBeDefined();
    expect(validateCheckForm(form({ keywordAbsent: true })).keyword).toBeDefined();
    expect(validateCheckForm(form({ maxLatencyMs: "0" })).maxLatencyMs).toBeDefined();
    expect(validateCheckForm(form({ certWarnDays: "x" })).certWarnDays).toBeDefined();
    expect(validateCheckForm(form({ headers: "Connection: close" })).headers).toMatch(/set by the probe/);
    expect(validateCheckForm(form({ authUser: "a:b" })).authUser).toBeDefined();
    expect(validateCheckForm(form({ authPassword: "secret" })).authUser).toBeDefined();
  });

  it("parses status lists and headers", () => {
    expect(parseStatusList("200 , 301-302")).toEqual({ ranges: ["200", "301-302"] });
    expect(parseStatusList("299-200")).toEqual({ error: 'The range "299-200" is reversed.' });
    expect(parseStatusList("600")).toHaveProperty("error");
    expect(parseStatusList("20x")).toHaveProperty("error");
    expect(parseHeaders("Bad Name: x").error).toMatch(/not a valid header name/);
    expect(parseHeaders("novalue").error).toMatch(/Name: value/);
    expect(parseHeaders("A: b: c")).toEqual({ headers: { A: "b: c" }, error: null });
  });

  it("checks resolvers: an address, ip:port or [v6]:port", () => {
    expect(resolverProblem("1.1.1.1")).toBeNull();
    expect(resolverProblem("1.1.1.1:5353")).toBeNull();
    expect(resolverProblem("[2606:4700::1111]:53")).toBeNull();
    expect(resolverProblem("2606:4700::1111")).toBeNull();
    expect(resolverProblem("1.1.1.1:0")).toMatch(/port/);
    expect(resolverProblem("dns.google")).toMatch(/host names are not accepted/);
  });
});

describe("server errors", () => {
  it("puts a 422 on the field it names", () => {
    expect(serverFieldError("port: must be between 1 and 65535, got 70000")).toEqual({ field: "port", text: "Must be between 1 and 65535, got 70000" });
    expect(serverFieldError("name: \"a b\" contains spaces").field).toBe("dnsName");
    expect(serverFieldError("expected_status: 700 is not a range").field).toBe("expectedStatus");
    expect(serverFieldError("interval_s must be between 10 s and 1 day").field).toBe("intervalS");
    expect(serverFieldError("timeout_s must be 1 to 60 and at most the interval").field).toBe("timeoutS");
    expect(serverFieldError("retries must be 0 to 10").field).toBe("retries");
    expect(serverFieldError("name must be 1 to 128 characters").field).toBe("name");
  });

  it("leaves the rest to the form", () => {
    expect(serverFieldError("spec: unknown variant `smtp`")).toEqual({ field: null, text: "spec: unknown variant `smtp`" });
    expect(serverFieldError("something else").field).toBeNull();
  });
});

describe("the list", () => {
  const hostnames = new Map([[3, "web-1"]]);
  const checks = [
    view({ id: 1, name: "b-site", status: "up" }),
    view({ id: 2, name: "a-db", status: "down", spec: { type: "tcp", host: "db", port: 5432 } as unknown as CheckView["spec"], last_error: "connection refused", run_on_host: 3 }),
    view({ id: 3, name: "c-new", status: "unknown" }),
    view({ id: 4, name: "d-off", status: "up", enabled: false }),
  ];

  it("names states and targets", () => {
    expect(checks.map(checkState)).toEqual(["up", "down", "pending", "paused"]);
    expect(checkTarget({ type: "tcp", host: "::1", port: 22 })).toBe("[::1]:22");
    expect(checkTarget({ type: "http", url: "https://x/", method: "HEAD" })).toBe("HEAD https://x/");
    expect(checkTarget({ type: "dns", name: "x.com", record_type: "mx", expected: "10 mx.x.com" })).toBe("MX x.com = 10 mx.x.com");
    expect(checkTarget(null)).toBe("—");
    expect(runsOn(checks[1]!, hostnames)).toBe("web-1");
    expect(runsOn(checks[0]!, hostnames)).toBe("server");
    expect(countByCheckState(checks)).toEqual({ all: 4, up: 1, down: 1, pending: 1, paused: 1 });
  });

  it("filters by state and words, down first", () => {
    expect(selectChecks(checks, { text: "", state: "all", hostnames }).map((c) => c.name)).toEqual(["a-db", "c-new", "b-site", "d-off"]);
    expect(selectChecks(checks, { text: "", state: "up", hostnames }).map((c) => c.name)).toEqual(["b-site"]);
    expect(selectChecks(checks, { text: "web-1 refused", state: "all", hostnames }).map((c) => c.name)).toEqual(["a-db"]);
    expect(selectChecks(checks, { text: "TCP 5432", state: "all", hostnames }).map((c) => c.name)).toEqual(["a-db"]);
    expect(selectChecks(checks, { text: "nothing", state: "all", hostnames })).toEqual([]);
  });
});

describe("runs", () => {
  const series: CheckSeries = {
    timestamps: [0, 60_000, 120_000, 180_000],
    up: [1, 1, 0, 1],
    latency_ms: [10, 20, null, 40],
    cert_days_left: [30, 30, null, 29],
    errors: [null, null, "HTTP 500", null],
  };

  it("gives sparkline values with down runs as gaps", () => {
    expect(latencyValues(series)).toEqual([10, 20, null, 40]);
    expect(latencyValues(series, 2)).toEqual([null, 40]);
    expect(sparklineWindowMs(60)).toBe(30 * 60_000);
    expect(sparklineWindowMs(86_400)).toBe(86_400_000);
  });

  it("lists the newest runs first, failures only when asked", () => {
    expect(recentRuns(series, 2).map((r) => r.ts)).toEqual([180_000, 120_000]);
    expect(recentRuns(series, 10, true)).toEqual([{ ts: 120_000, up: false, latencyMs: null, certDaysLeft: null, error: "HTTP 500" }]);
    expect(uptimeOf(series)).toBe(75);
    expect(uptimeOf({ up: [] })).toBeNull();
  });

  it("charts each run when they fit, with gaps for missed runs", () => {
    const [xs, latency, up] = chartColumns(series, { fromMs: 0, toMs: 180_000, maxPoints: 100, intervalS: 60 });
    expect(xs).toEqual([0, 60, 120, 180]);
    expect(latency).toEqual([10, 20, null, 40]);
    expect(up).toEqual([1, 1, 0, 1]);
    const gap: CheckSeries = { timestamps: [0, 600_000], up: [1, 1], latency_ms: [1, 2], cert_days_left: [null, null], errors: [null, null] };
    expect(chartColumns(gap, { fromMs: 0, toMs: 600_000, maxPoints: 100, intervalS: 60 })).toEqual([
      [0, 300, 600],
      [1, null, 2],
      [1, null, 1],
    ]);
  });

  it("buckets many runs: mean latency of up runs, down if any run was", () => {
    const n = 1000;
    const many: CheckSeries = {
      timestamps: Array.from({ length: n }, (_, i) => i * 10_000),
      up: Array.from({ length: n }, (_, i) => (i === 5 ? 0 : 1)),
      latency_ms: Array.from({ length: n }, (_, i) => (i % 2 === 0 ? 10 : 30)),
      cert_days_left: Array.from({ length: n }, () => null),
      errors: Array.from({ length: n }, () => null),
    };
    const [xs, latency, up] = chartColumns(many, { fromMs: 0, toMs: n * 10_000, maxPoints: 100, intervalS: 10 });
    expect(xs.length).toBe(100);
    expect(up[0]).toBe(0);
    expect(up[1]).toBe(1);
    expect(latency[1]).toBe(20);
    // The first bucket's mean leaves out the down run.
    expect(latency[0]).toBeCloseTo((5 * 10 + 4 * 30) / 9);
  });
});

describe("status pages", () => {
  it("checks the address", () => {
    expect(slugProblem("")).toBeNull();
    expect(slugProblem("shop-1")).toBeNull();
    expect(slugProblem("ab")).toBeDefined();
    expect(slugProblem("Shop")).not.toBeNull();
    expect(slugProblem("a_b_c")).not.toBeNull();
  });
});
