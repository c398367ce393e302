import { describe, expect, it } from "vitest";
import type { ChannelView, RuleDefinition } from "../api/types";
import {
  alertSince,
  channelFieldError,
  channelFormFromView,
  conditionSummary,
  emptyChannelForm,
  emptyRuleForm,
  formToChannelInput,
  formToRouting,
  formToRule,
  formatMatchers,
  hasStoredSecret,
  matchersForAlert,
  moveItem,
  parseMatchers,
  previewable,
  routeFormsOf,
  ruleFieldError,
  ruleFormFromView,
  ruleSummary,
  scopeSummary,
  selectAlerts,
  silenceEnd,
  silenceStatus,
  stateQuery,
  toLocalInput,
  validateRuleForm,
  type Condition,
} from "./alerts";

describe("matchers", () => {
  it("parses quoted and bare values with every operator", () => {
    expect(parseMatchers(`alertname="High CPU", host!=web-1, env=~"prod|stage" , x!~"a\\"b"`)).toEqual({
      matchers: [
        { name: "alertname", op: "=", value: "High CPU" },
        { name: "host", op: "!=", value: "web-1" },
        { name: "env", op: "=~", value: "prod|stage" },
        { name: "x", op: "!~", value: 'a"b' },
      ],
      error: null,
    });
    expect(parseMatchers("  ")).toEqual({ matchers: [], error: null });
    expect(parseMatchers('a="1,2"').matchers).toEqual([{ name: "a", op: "=", value: "1,2" }]);
  });

  it("says what is wrong", () => {
    expect(parseMatchers("host").error).toMatch(/name="value"/);
    expect(parseMatchers('host="web').error).toBe("The value of host has no closing quote.");
    expect(parseMatchers('host=~"(("').error).toBe("The pattern of host is not a valid regular expression.");
    expect(parseMatchers('a="1" b="2"').error).toBe("Separate matchers with commas (after a).");
    expect(parseMatchers('9a="1"').error).toMatch(/not a label name/);
  });

  it("formats back to what it parses", () => {
    const text = 'alertname="High CPU", path=~"C:\\\\x.*", q!="say \\"hi\\""';
    const { matchers } = parseMatchers(text);
    expect(formatMatchers(matchers)).toBe(text);
    expect(parseMatchers(formatMatchers(matchers)).matchers).toEqual(matchers);
  });
});

describe("condition summaries", () => {
  it("puts each condition type in a line", () => {
    const cases: [Condition, string][] = [
      [{ type: "threshold", metric: "cpu.usage_percent", op: ">", value: 90 }, "cpu.usage_percent > 90"],
      [{ type: "threshold", metric: "fs.used_percent", labels: [{ name: "mount", op: "=", value: "/" }], op: ">=", value: 92.5 }, 'fs.used_percent{mount="/"} >= 92.5'],
      [{ type: "ratio", numerator: { metric: "mem.used_bytes" }, denominator: { metric: "mem.total_bytes" }, scale: 100, op: ">", value: 80 }, "100 × mem.used_bytes / mem.total_bytes > 80"],
      [{ type: "anomaly", metric: "load.1m", mode: { mode: "simple", factor: 3 } }, "load.1m above 3× its median"],
      [{ type: "anomaly", metric: "load.1m", mode: { mode: "robust" } }, "load.1m unusual for the time of day"],
      [{ type: "host_offline", after_s: 120 }, "host offline for 2m"],
      [{ type: "host_offline" }, "host offline"],
      [{ type: "metric_missing", metric: "cpu.usage_percent", intervals: 5 }, "cpu.usage_percent missing for 5 intervals"],
      [{ type: "check_down" }, "any health check down"],
      [{ type: "check_down", check_id: 3 }, "check web down"],
    ];
    for (const [c, text] of cases) expect(conditionSummary(c, new Map([[3, "web"]]))).toBe(text);
  });

  it("adds how long the condition must hold", () => {
    const rule = { condition: { type: "threshold", metric: "cpu.usage_percent", op: ">", value: 90 }, for_s: 300 } as unknown as RuleDefinition;
    expect(ruleSummary(rule)).toBe("cpu.usage_percent > 90 for 5m");
    expect(ruleSummary({ ...rule, for_s: 0 })).toBe("cpu.usage_percent > 90");
  });

  it("names scopes", () => {
    expect(scopeSummary({ type: "all" })).toBe("all hosts");
    expect(scopeSummary({ type: "host", host_id: 2 }, new Map([[2, "db-1"]]))).toBe("host db-1");
    expect(scopeSummary({ type: "labels", matchers: [{ name: "env", op: "=", value: "prod" }] })).toBe('env="prod"');
  });
});

describe("rule form", () => {
  const filled = () => ({ ...emptyRuleForm(), name: " High CPU ", metric: "cpu.cores_count", op: ">" as const, value: "0", forS: "0", ruleLabels: "team=ops\n\n", summary: "{{host}} at {{value}}" });

  it("maps a threshold rule to the request and back", () => {
    const rule = formToRule({ ...filled(), labels: 'core="0"', clear: "" });
    expect(rule).toEqual({
      name: "High CPU",
      enabled: true,
      severity: "warning",
      for_s: 0,
      repeat_interval_s: 900,
      labels: { team: "ops" },
      annotations: { summary: "{{host}} at {{value}}" },
      scope: { type: "all" },
      condition: { type: "threshold", metric: "cpu.cores_count", labels: [{ name: "core", op: "=", value: "0" }], op: ">", value: 0 },
    });
    const back = ruleFormFromView(rule);
    expect(formToRule(back)).toEqual(rule);
  });

  it("maps every condition type round trip", () => {
    const types = [
      { ...filled(), type: "ratio" as const, numMetric: "mem.used_bytes", denMetric: "mem.total_bytes", scale: "100", clear: "70", value: "80" },
      { ...filled(), type: "anomaly" as const, anomalyMode: "robust" as const, robustThreshold: "5" },
      { ...filled(), type: "anomaly" as const, anomalyMode: "simple" as const, factor: "4" },
      { ...filled(), type: "host_offline" as const, afterS: "60" },
      { ...filled(), type: "metric_missing" as const, intervals: "7" },
      { ...filled(), type: "check_down" as const, checkId: "4" },
      { ...filled(), scopeType: "labels" as const, scopeMatchers: 'env="prod"' },
      { ...filled(), scopeType: "host" as const, scopeHost: "9" },
    ];
    for (const form of types) {
      expect(validateRuleForm(form)).toEqual({});
      const rule = formToRule(form);
      expect(formToRule(ruleFormFromView(rule))).toEqual(rule);
    }
    expect(formToRule(types[0]!).condition).toEqual({ type: "ratio", numerator: { metric: "mem.used_bytes" }, denominator: { metric: "mem.total_bytes" }, scale: 100, op: ">", value: 80, clear: 70 });
    expect(formToRule(types[1]!).condition).toEqual({ type: "anomaly", metric: "cpu.cores_count", mode: { mode: "robust", threshold: 5 } });
    expect(formToRule(types[7]!).scope).toEqual({ type: "host", host_id: 9 });
  });

  it("finds problems before sending", () => {
    const errors = validateRuleForm({ ...filled(), name: "", value: "lots", repeatS: "5", forS: "-1", scopeType: "labels", scopeMatchers: "", labels: "bad", ruleLabels: "no equals" });
    expect(Object.keys(errors).sort()).toEqual(["forS", "labels", "name", "repeatS", "ruleLabels", "scopeMatchers", "value"]);
    expect(validateRuleForm(filled())).toEqual({});
  });

  it("asks for a preview only when the condition can be evaluated", () => {
    expect(previewable(filled())).toBe(true);
    expect(previewable({ ...filled(), name: "" })).toBe(true);
    expect(previewable({ ...filled(), metric: "" })).toBe(false);
    expect(previewable({ ...filled(), value: "x" })).toBe(false);
    expect(previewable({ ...filled(), type: "host_offline" })).toBe(false);
  });

  it("puts the server's 422 on its field", () => {
    expect(ruleFieldError('condition.metric: unknown metric "cpu.nope": no agent reports it (see docs/metrics.md)')).toEqual({
      field: "metric",
      text: 'Unknown metric "cpu.nope": no agent reports it (see docs/metrics.md)',
    });
    expect(ruleFieldError("condition.numerator.metric: unknown metric").field).toBe("numMetric");
    expect(ruleFieldError("condition.labels[0].value: bad regex").field).toBe("labels");
    expect(ruleFieldError("repeat_interval_s: must be 10 to 604800").field).toBe("repeatS");
    expect(ruleFieldError("annotations.summary: unknown variable hots").field).toBe("summary");
    expect(ruleFieldError("scope.host_id: no host 4").field).toBe("scopeHost");
    expect(ruleFieldError("something odd")).toEqual({ field: null, text: "something odd" });
  });
});

describe("alarms", () => {
  const alert = { name: "High CPU", summary: "web-1 at 97%", labels: { alertname: "High CPU", host: "web-1", env: "prod" }, assignee: null };

  it("filters by state and words", () => {
    expect(stateQuery("active")).toBe("firing,pending");
    expect(stateQuery("all")).toBeUndefined();
    expect(stateQuery("resolved")).toBe("resolved");
    expect(selectAlerts([alert], "cpu WEB-1")).toHaveLength(1);
    expect(selectAlerts([alert], "env=prod")).toHaveLength(1);
    expect(selectAlerts([alert], "db")).toHaveLength(0);
  });

  it("dates the current state", () => {
    expect(alertSince({ state: "firing", started_at: 1, fired_at: 2, resolved_at: null })).toBe(2);
    expect(alertSince({ state: "resolved", started_at: 1, fired_at: 2, resolved_at: 3 })).toBe(3);
    expect(alertSince({ state: "pending", started_at: 1, fired_at: null, resolved_at: null })).toBe(1);
  });

  it("silences an alarm by its name and host", () => {
    expect(matchersForAlert(alert)).toEqual([
      { name: "alertname", op: "=", value: "High CPU" },
      { name: "host", op: "=", value: "web-1" },
    ]);
    expect(matchersForAlert({ name: "Ext", labels: {} })).toEqual([{ name: "alertname", op: "=", value: "Ext" }]);
  });
});

describe("silence durations", () => {
  const now = Date.UTC(2026, 0, 1, 12, 0, 0);
  it("adds the chosen duration", () => {
    expect(silenceEnd(now, "1h", "")).toEqual({ endsAt: now + 3_600_000 });
    expect(silenceEnd(now, "4h", "")).toEqual({ endsAt: now + 14_400_000 });
    expect(silenceEnd(now, "1d", "")).toEqual({ endsAt: now + 86_400_000 });
  });

  it("takes a custom end in local time, in the future only", () => {
    const later = now + 3 * 86_400_000;
    const local = toLocalInput(later);
    expect(local).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d$/);
    expect(silenceEnd(now, "custom", local)).toEqual({ endsAt: new Date(local).getTime() });
    expect(silenceEnd(now, "custom", toLocalInput(now - 60_000))).toEqual({ error: "The end must be in the future." });
    expect(silenceEnd(now, "custom", "")).toEqual({ error: "Choose the date and time it ends." });
  });

  it("tells active, upcoming and expired apart", () => {
    expect(silenceStatus({ active: true, ends_at: now + 1 }, now)).toBe("active");
    expect(silenceStatus({ active: false, ends_at: now - 1 }, now)).toBe("expired");
    expect(silenceStatus({ active: false, starts_at: now + 10, ends_at: now + 100 }, now)).toBe("pending");
  });
});

describe("channels", () => {
  it("builds each kind's config, leaving empty secrets out", () => {
    const webhook = formToChannelInput({ ...emptyChannelForm("webhook"), name: "hook", url: " http://127.0.0.1:9/x ", headers: "X-Team: ops\nbad line" });
    expect(webhook).toEqual({ name: "hook", config: { kind: "webhook", url: "http://127.0.0.1:9/x", headers: { "X-Team": "ops" } }, send_resolved: true });
    const email = formToChannelInput({ ...emptyChannelForm("email"), name: "mail", host: "smtp", port: "25", security: "none", from: "a@b.c", to: "x@y.z, w@y.z" });
    expect(email.config).toEqual({ kind: "email", host: "smtp", port: 25, security: "none", from: "a@b.c", to: ["x@y.z", "w@y.z"] });
    expect(formToChannelInput({ ...emptyChannelForm("slack"), webhookUrl: "https://hooks.slack.com/x" }).config).toEqual({ kind: "slack", webhook_url: "https://hooks.slack.com/x" });
    expect(formToChannelInput({ ...emptyChannelForm("telegram"), chatId: "42" }).config).toEqual({ kind: "telegram", chat_id: "42" });
  });

  it("reads a stored channel back without its secrets", () => {
    const view = { id: 1, name: "mail", kind: "email", send_resolved: false, created_at: 0, updated_at: 0, config: { kind: "email", host: "smtp", port: 587, security: "tls", username: "u", from: "a@b.c", to: ["x@y.z"], secrets_set: ["password"] } } as unknown as ChannelView;
    const form = channelFormFromView(view);
    expect(form).toMatchObject({ kind: "email", host: "smtp", port: "587", security: "tls", username: "u", password: "", to: "x@y.z", sendResolved: false });
    expect(hasStoredSecret(view)).toBe(true);
    expect(formToChannelInput(form).config).not.toHaveProperty("password");
  });

  it("puts a 422 on its field", () => {
    expect(channelFieldError("url: must be an http:// or https:// URL")).toEqual({ field: "url", text: "Must be an http:// or https:// URL" });
    expect(channelFieldError("to[1]: not an address").field).toBe("to");
    expect(channelFieldError("name must be 1 to 128 characters").field).toBe("name");
    expect(channelFieldError("config: unknown variant").field).toBeNull();
  });
});

describe("routing", () => {
  it("maps routes to the API and reports the first problem", () => {
    const routes = [{ severities: ["critical" as const], matchers: 'team="db"', channels: [2], continue: true }];
    const built = formToRouting([1], routes);
    expect(built).toEqual({ routing: { default_channels: [1], routes: [{ severities: ["critical"], matchers: [{ name: "team", op: "=", value: "db" }], channels: [2], continue: true }] } });
    if ("routing" in built) expect(routeFormsOf(built.routing)).toEqual(routes);
    expect(formToRouting([], [{ ...routes[0]!, channels: [] }])).toEqual({ error: "Route 1: choose at least one channel." });
  });

  it("moves routes within bounds", () => {
    expect(moveItem(["a", "b", "c"], 0, 1)).toEqual(["b", "a", "c"]);
    expect(moveItem(["a", "b", "c"], 2, 1)).toEqual(["a", "b", "c"]);
    expect(moveItem(["a", "b", "c"], 2, -2)).toEqual(["c", "a", "b"]);
  });
});
