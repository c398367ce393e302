// Alerting in the dashboard's words: label matchers typed as text, rules as
// a flat form and back, one-line summaries of conditions and scopes, the
// server's 422 messages put on their field, silence durations, and the
// alarm list's filters. Pure functions, unit-tested (alerts.test.ts).

import type { Alert, ChannelInput, ChannelView, Routing, RuleDefinition, RuleView } from "../api/types";
import { formatDuration } from "./format";

// --- matchers ---------------------------------------------------------------

export type MatchOp = "=" | "!=" | "=~" | "!~";
export interface Matcher {
  name: string;
  op: MatchOp;
  value: string;
}

const MATCHER_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/**
 * Parses `name="value", other!~"re.*"` (quotes optional for plain values;
 * `\"` and `\\` escape inside quotes). An empty text is no matchers.
 */
export function parseMatchers(text: string): { matchers: Matcher[]; error: string | null } {
  const matchers: Matcher[] = [];
  let rest = text.trim();
  while (rest !== "") {
    const head = /^([^=!~,\s]+)\s*(=~|!~|!=|=)\s*/.exec(rest);
    if (!head) return { matchers, error: `Write each matcher as name="value" (or !=, =~, !~), separated by commas; "${rest.split(",")[0]!.trim()}" is not one.` };
    const name = head[1]!;
    if (!MATCHER_NAME.test(name)) return { matchers, error: `"${name}" is not a label name: letters, digits, _, . and -.` };
    rest = rest.slice(head[0].length);
    let value: string;
    if (rest.startsWith('"')) {
      let i = 1;
      value = "";
      for (; i < rest.length && rest[i] !== '"'; i++) {
        if (rest[i] === "\\" && i + 1 < rest.length) i++;
        value += rest[i];
      }
      if (i >= rest.length) return { matchers, error: `The value of ${name} has no closing quote.` };
      rest = rest.slice(i + 1).trim();
    } else {
      const comma = rest.indexOf(",");
      value = (comma === -1 ? rest : rest.slice(0, comma)).trim();
      rest = comma === -1 ? "" : rest.slice(comma);
    }
    const op = head[2] as MatchOp;
    if (op === "=~" || op === "!~") {
      try {
        new RegExp(value);
      } catch {
        return { matchers, error: `The pattern of ${name} is not a valid regular expression.` };
      }
    }
    matchers.push({ name, op, value });
    if (rest.startsWith(",")) rest = rest.slice(1).trim();
    else if (rest !== "") return { matchers, error: `Separate matchers with commas (after ${name}).` };
  }
  return { matchers, error: null };
}

/** Matchers as text again: `alertname="High CPU", host="web-1"`. */
export function formatMatchers(matchers: readonly Matcher[] | undefined): string {
  return (matchers ?? []).map((m) => `${m.name}${m.op}"${m.value.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`).join(", ");
}

/** The API types matchers loosely (`Record<string, never>[]`): read them as matchers. */
export function asMatchers(value: unknown): Matcher[] {
  if (!Array.isArray(value)) return [];
  return value.filter((m): m is Matcher => typeof m === "object" && m !== null && typeof m.name === "string" && typeof m.op === "string" && typeof m.value === "string");
}

/** Matchers for the API's loosely typed fields. */
export function toWire(matchers: readonly Matcher[]): Record<string, never>[] {
  return matchers as unknown as Record<string, never>[];
}

// --- conditions and rules --------------------------------------------------

/** What agents report (docs/metrics.md), offered as the metric field's suggestions. */
export const METRIC_NAMES: readonly string[] = [
  "cpu.usage_percent",
  "cpu.user_percent",
  "cpu.system_percent",
  "cpu.iowait_percent",
  "cpu.steal_percent",
  "cpu.core.usage_percent",
  "cpu.cores_count",
  "load.1m",
  "load.5m",
  "load.15m",
  "mem.used_percent",
  "mem.total_bytes",
  "mem.used_bytes",
  "mem.free_bytes",
  "mem.available_bytes",
  "mem.cached_bytes",
  "mem.buffers_bytes",
  "swap.total_bytes",
  "swap.used_bytes",
  "fs.used_percent",
  "fs.total_bytes",
  "fs.used_bytes",
  "fs.free_bytes",
  "fs.inodes_total",
  "fs.inodes_used",
  "fs.inodes_free",
  "disk.busy_percent",
  "disk.read_bytes_per_sec",
  "disk.write_bytes_per_sec",
  "disk.reads_per_sec",
  "disk.writes_per_sec",
  "net.rx_bytes_per_sec",
  "net.tx_bytes_per_sec",
  "net.rx_packets_per_sec",
  "net.tx_packets_per_sec",
  "net.rx_errors_total",
  "net.tx_errors_total",
  "net.rx_drops_total",
  "net.tx_drops_total",
  "system.uptime_seconds",
  "system.processes_count",
  "agent.collector_errors_total",
];

export type Severity = "critical" | "warning" | "info";
export const SEVERITIES: readonly Severity[] = ["critical", "warning", "info"];
export type Op = ">" | ">=" | "<" | "<=";
export const OPS: readonly Op[] = [">", ">=", "<", "<="];

export type ConditionType = "threshold" | "ratio" | "anomaly" | "host_offline" | "metric_missing" | "check_down";
export const CONDITION_TYPES: { key: ConditionType; label: string }[] = [
  { key: "threshold", label: "Metric threshold" },
  { key: "ratio", label: "Ratio of two metrics" },
  { key: "anomaly", label: "Anomaly" },
  { key: "host_offline", label: "Host offline" },
  { key: "metric_missing", label: "Metric missing" },
  { key: "check_down", label: "Health check down" },
];

interface MetricRef {
  metric: string;
  labels?: Matcher[];
}
export type Condition =
  | { type: "threshold"; metric: string; labels?: Matcher[]; op: Op; value: number; clear?: number | null }
  | { type: "ratio"; numerator: MetricRef; denominator: MetricRef; scale?: number; op: Op; value: number; clear?: number | null }
  | { type: "anomaly"; metric: string; labels?: Matcher[]; mode: { mode: "simple"; factor: number } | { mode: "robust"; threshold?: number; season_ms?: number; tolerance_ms?: number } }
  | { type: "host_offline"; after_s?: number | null }
  | { type: "metric_missing"; metric: string; labels?: Matcher[]; intervals?: number }
  | { type: "check_down"; check_id?: number | null };

export type Scope = { type: "all" } | { type: "labels"; matchers: Matcher[] } | { type: "host"; host_id: number };

/** The API's condition, read with matchers typed. */
export function conditionOf(rule: Pick<RuleDefinition, "condition">): Condition {
  return rule.condition as unknown as Condition;
}

export function scopeOf(rule: Pick<RuleDefinition, "scope">): Scope {
  const scope = rule.scope as unknown as Scope | undefined;
  return scope ?? { type: "all" };
}

function selector(metric: string, labels: readonly Matcher[] | undefined): string {
  return labels && labels.length > 0 ? `${metric}{${formatMatchers(labels)}}` : metric;
}

/** One line for a condition: `cpu.usage_percent > 90`, `host offline for 2m`. */
export function conditionSummary(condition: Condition, checkNames?: ReadonlyMap<number, string>): string {
  switch (condition.type) {
    case "threshold":
      return `${selector(condition.metric, condition.labels)} ${condition.op} ${condition.value}`;
    case "ratio": {
      const scale = condition.scale ?? 1;
      const ratio = `${selector(condition.numerator.metric, condition.numerator.labels)} / ${selector(condition.denominator.metric, condition.denominator.labels)}`;
      return `${scale !== 1 ? `${scale} × ` : ""}${ratio} ${condition.op} ${condition.value}`;
    }
    case "anomaly":
      return condition.mode.mode === "simple"
        ? `${selector(condition.metric, condition.labels)} above ${condition.mode.factor}× its median`
        : `${selector(condition.metric, condition.labels)} unusual for the time of day`;
    case "host_offline":
      return condition.after_s ? `host offline for ${formatDuration(condition.after_s)}` : "host offline";
    case "metric_missing":
      return `${selector(condition.metric, condition.labels)} missing for ${condition.intervals ?? 3} intervals`;
    case "check_down":
      if (condition.check_id === null || condition.check_id === undefined) return "any health check down";
      return `check ${checkNames?.get(condition.check_id) ?? `#${condition.check_id}`} down`;
  }
}

/** A rule in one line: its condition, and how long it must hold. */
export function ruleSummary(rule: Pick<RuleDefinition, "condition" | "for_s">, checkNames?: ReadonlyMap<number, string>): string {
  const base = conditionSummary(conditionOf(rule), checkNames);
  return rule.for_s ? `${base} for ${formatDuration(rule.for_s)}` : base;
}

export function scopeSummary(scope: Scope, hostnames?: ReadonlyMap<number, string>): string {
  switch (scope.type) {
    case "all":
      return "all hosts";
    case "host":
      return `host ${hostnames?.get(scope.host_id) ?? `#${scope.host_id}`}`;
    case "labels":
      return formatMatchers(scope.matchers);
  }
}

/** The rule editor's fields, all as typed (numbers are strings until sent). */
export interface RuleForm {
  name: string;
  enabled: boolean;
  severity: Severity;
  type: ConditionType;
  metric: string;
  labels: string;
  op: Op;
  value: string;
  clear: string;
  numMetric: string;
  numLabels: string;
  denMetric: string;
  denLabels: string;
  scale: string;
  anomalyMode: "simple" | "robust";
  factor: string;
  robustThreshold: string;
  afterS: string;
  intervals: string;
  checkId: string;
  scopeType: Scope["type"];
  scopeMatchers: string;
  scopeHost: string;
  forS: string;
  repeatS: string;
  ruleLabels: string;
  summary: string;
  description: string;
}
export type RuleField = keyof RuleForm;
export type RuleErrors = Partial<Record<RuleField, string>>;

export const REPEAT_MIN_S = 10;
export const REPEAT_MAX_S = 604_800;
export const REPEAT_DEFAULT_S = 900;

export function emptyRuleForm(): RuleForm {
  return {
    name: "",
    enabled: true,
    severity: "warning",
    type: "threshold",
    metric: "cpu.usage_percent",
    labels: "",
    op: ">",
    value: "90",
    clear: "",
    numMetric: "mem.used_bytes",
    numLabels: "",
    denMetric: "mem.total_bytes",
    denLabels: "",
    scale: "100",
    anomalyMode: "simple",
    factor: "3",
    robustThreshold: "4",
    afterS: "",
    intervals: "3",
    checkId: "",
    scopeType: "all",
    scopeMatchers: "",
    scopeHost: "",
    forS: "300",
    repeatS: String(REPEAT_DEFAULT_S),
    ruleLabels: "",
    summary: "{{host}}: {{metric}} is {{value}} (threshold {{threshold}})",
    description: "",
  };
}

const num = (n: number | null | undefined) => (n === null || n === undefined ? "" : String(n));

export function ruleFormFromView(rule: RuleDefinition | RuleView): RuleForm {
  const form = emptyRuleForm();
  const c = conditionOf(rule);
  const scope = scopeOf(rule);
  const next: RuleForm = {
    ...form,
    name: rule.name,
    enabled: rule.enabled ?? true,
    severity: rule.severity,
    type: c.type,
    scopeType: scope.type,
    scopeMatchers: scope.type === "labels" ? formatMatchers(scope.matchers) : "",
    scopeHost: scope.type === "host" ? String(scope.host_id) : "",
    forS: String(rule.for_s ?? 0),
    repeatS: num(rule.repeat_interval_s ?? REPEAT_DEFAULT_S),
    ruleLabels: Object.entries(rule.labels ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join("\n"),
    summary: rule.annotations?.summary ?? "",
    description: rule.annotations?.description ?? "",
  };
  switch (c.type) {
    case "threshold":
      return { ...next, metric: c.metric, labels: formatMatchers(c.labels), op: c.op, value: num(c.value), clear: num(c.clear) };
    case "ratio":
      return {
        ...next,
        numMetric: c.numerator.metric,
        numLabels: formatMatchers(c.numerator.labels),
        denMetric: c.denominator.metric,
        denLabels: formatMatchers(c.denominator.labels),
        scale: num(c.scale ?? 1),
        op: c.op,
        value: num(c.value),
        clear: num(c.clear),
      };
    case "anomaly":
      return {
        ...next,
        metric: c.metric,
        labels: formatMatchers(c.labels),
        anomalyMode: c.mode.mode,
        factor: c.mode.mode === "simple" ? num(c.mode.factor) : form.factor,
        robustThreshold: c.mode.mode === "robust" ? num(c.mode.threshold ?? 4) : form.robustThreshold,
      };
    case "host_offline":
      return { ...next, afterS: num(c.after_s) };
    case "metric_missing":
      return { ...next, metric: c.metric, labels: formatMatchers(c.labels), intervals: num(c.intervals ?? 3) };
    case "check_down":
      return { ...next, checkId: num(c.check_id) };
  }
}

const isNumber = (s: string) => s.trim() !== "" && Number.isFinite(Number(s));
const isInteger = (s: string) => /^\d+$/.test(s.trim());

/** `key=value` lines (rule labels). */
export function parseKeyValues(text: string): { values: Record<string, string>; error: string | null } {
  const values: Record<string, string> = {};
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === "") continue;
    const eq = line.indexOf("=");
    const key = eq === -1 ? "" : line.slice(0, eq).trim();
    if (!MATCHER_NAME.test(key)) return { values, error: `Line ${i + 1}: write it as name=value (letters, digits, _, . or - in the name).` };
    values[key] = line.slice(eq + 1).trim();
  }
  return { values, error: null };
}

/** Problems the browser can see before asking the server (which checks everything again). */
export function validateRuleForm(form: RuleForm): RuleErrors {
  const errors: RuleErrors = {};
  if (form.name.trim() === "" || form.name.trim().length > 128) errors.name = "Give the rule a name (at most 128 characters).";
  const needsMetric = form.type === "threshold" || form.type === "anomaly" || form.type === "metric_missing";
  if (needsMetric && form.metric.trim() === "") errors.metric = "Choose a metric.";
  for (const field of ["labels", "numLabels", "denLabels"] as const) {
    const error = parseMatchers(form[field]).error;
    if (error) errors[field] = error;
  }
  if (form.type === "threshold" || form.type === "ratio") {
    if (!isNumber(form.value)) errors.value = "A number.";
    if (form.clear.trim() !== "" && !isNumber(form.clear)) errors.clear = "A number, or empty.";
  }
  if (form.type === "ratio") {
    if (form.numMetric.trim() === "") errors.numMetric = "Choose a metric.";
    if (form.denMetric.trim() === "") errors.denMetric = "Choose a metric.";
    if (!isNumber(form.scale) || Number(form.scale) === 0) errors.scale = "A non-zero number (100 for percent).";
  }
  if (form.type === "anomaly") {
    if (form.anomalyMode === "simple" && (!isNumber(form.factor) || Number(form.factor) <= 1)) errors.factor = "A number above 1, e.g. 3.";
    if (form.anomalyMode === "robust" && (!isNumber(form.robustThreshold) || Number(form.robustThreshold) <= 0)) errors.robustThreshold = "A positive number, e.g. 4.";
  }
  if (form.type === "host_offline" && form.afterS.trim() !== "" && !isInteger(form.afterS)) errors.afterS = "Whole seconds, or empty for the server's default.";
  if (form.type === "metric_missing" && (!isInteger(form.intervals) || Number(form.intervals) < 1 || Number(form.intervals) > 1000)) errors.intervals = "1 to 1000.";
  if (form.scopeType === "labels") {
    const { matchers, error } = parseMatchers(form.scopeMatchers);
    if (error) errors.scopeMatchers = error;
    else if (matchers.length === 0) errors.scopeMatchers = 'At least one matcher, e.g. env="prod".';
  }
  if (form.scopeType === "host" && form.scopeHost === "") errors.scopeHost = "Choose a host.";
  if (!isInteger(form.forS)) errors.forS = "Whole seconds (0: at once).";
  if (!isInteger(form.repeatS) || Number(form.repeatS) < REPEAT_MIN_S || Number(form.repeatS) > REPEAT_MAX_S) errors.repeatS = `${REPEAT_MIN_S} s to 7 days (${REPEAT_MAX_S}).`;
  const labels = parseKeyValues(form.ruleLabels);
  if (labels.error) errors.ruleLabels = labels.error;
  return errors;
}

export function hasRuleErrors(errors: RuleErrors): boolean {
  return Object.keys(errors).length > 0;
}

const matchersOf = (text: string) => parseMatchers(text).matchers;
const withLabels = (text: string) => {
  const labels = matchersOf(text);
  return labels.length > 0 ? { labels } : {};
};

/** The form's condition as the API takes it (the form must be valid for it). */
export function formToCondition(form: RuleForm): Condition {
  const clear = form.clear.trim() === "" ? {} : { clear: Number(form.clear) };
  switch (form.type) {
    case "threshold":
      return { type: "threshold", metric: form.metric.trim(), ...withLabels(form.labels), op: form.op, value: Number(form.value), ...clear };
    case "ratio":
      return {
        type: "ratio",
        numerator: { metric: form.numMetric.trim(), ...withLabels(form.numLabels) },
        denominator: { metric: form.denMetric.trim(), ...withLabels(form.denLabels) },
        scale: Number(form.scale),
        op: form.op,
        value: Number(form.value),
        ...clear,
      };
    case "anomaly":
      return {
        type: "anomaly",
        metric: form.metric.trim(),
        ...withLabels(form.labels),
        mode: form.anomalyMode === "simple" ? { mode: "simple", factor: Number(form.factor) } : { mode: "robust", threshold: Number(form.robustThreshold) },
      };
    case "host_offline":
      return form.afterS.trim() === "" ? { type: "host_offline" } : { type: "host_offline", after_s: Number(form.afterS) };
    case "metric_missing":
      return { type: "metric_missing", metric: form.metric.trim(), ...withLabels(form.labels), intervals: Number(form.intervals) };
    case "check_down":
      return form.checkId === "" ? { type: "check_down" } : { type: "check_down", check_id: Number(form.checkId) };
  }
}

export function formToScope(form: RuleForm): Scope {
  if (form.scopeType === "labels") return { type: "labels", matchers: matchersOf(form.scopeMatchers) };
  if (form.scopeType === "host" && form.scopeHost !== "") return { type: "host", host_id: Number(form.scopeHost) };
  return { type: "all" };
}

/** The rule as the API takes it. */
export function formToRule(form: RuleForm): RuleDefinition {
  const annotations: Record<string, string> = {};
  if (form.summary.trim() !== "") annotations.summary = form.summary.trim();
  if (form.description.trim() !== "") annotations.description = form.description.trim();
  return {
    name: form.name.trim(),
    enabled: form.enabled,
    severity: form.severity,
    for_s: Number(form.forS),
    repeat_interval_s: Number(form.repeatS),
    labels: parseKeyValues(form.ruleLabels).values,
    annotations,
    scope: formToScope(form) as unknown as RuleDefinition["scope"],
    condition: formToCondition(form) as unknown as RuleDefinition["condition"],
  };
}

/** Whether the preview can be asked for: the condition's own fields are usable. */
export function previewable(form: RuleForm): boolean {
  if (form.type === "host_offline" || form.type === "check_down") return false;
  const errors = validateRuleForm(form);
  const own: RuleField[] = ["metric", "labels", "numMetric", "numLabels", "denMetric", "denLabels", "value", "scale", "factor", "robustThreshold", "intervals", "scopeMatchers", "scopeHost"];
  return !own.some((f) => errors[f]);
}

const RULE_FIELDS: [prefix: string, field: RuleField][] = [
  ["condition.numerator.labels", "numLabels"],
  ["condition.numerator", "numMetric"],
  ["condition.denominator.labels", "denLabels"],
  ["condition.denominator", "denMetric"],
  ["condition.metric", "metric"],
  ["condition.labels", "labels"],
  ["condition.value", "value"],
  ["condition.clear", "clear"],
  ["condition.scale", "scale"],
  ["condition.mode", "factor"],
  ["condition.after_s", "afterS"],
  ["condition.intervals", "intervals"],
  ["condition.check_id", "checkId"],
  ["scope.matchers", "scopeMatchers"],
  ["scope.host_id", "scopeHost"],
  ["repeat_interval_s", "repeatS"],
  ["for_s", "forS"],
  ["annotations", "summary"],
  ["labels", "ruleLabels"],
  ["name", "name"],
];

/**
 * The server's 422 (`condition.metric: unknown metric "x" …`) on the field
 * it names, as a sentence; `field` is null for what no field holds.
 */
export function ruleFieldError(message: string): { field: RuleField | null; text: string } {
  const m = /^([A-Za-z_.[\]0-9]+): (.*)$/s.exec(message);
  if (!m) return { field: null, text: message };
  const path = m[1]!;
  const text = m[2]!;
  for (const [prefix, field] of RULE_FIELDS) {
    if (path === prefix || path.startsWith(prefix + ".") || path.startsWith(prefix + "[")) {
      return { field, text: text[0]!.toUpperCase() + text.slice(1) };
    }
  }
  return { field: null, text: message };
}

// --- alarms ----------------------------------------------------------------

export type AlertState = "pending" | "firing" | "resolved";
export type AlarmFilter = "active" | "firing" | "pending" | "resolved" | "all";
export const ALARM_FILTERS: { key: AlarmFilter; label: string }[] = [
  { key: "active", label: "Firing + pending" },
  { key: "firing", label: "Firing" },
  { key: "pending", label: "Pending" },
  { key: "resolved", label: "Resolved" },
  { key: "all", label: "All" },
];

/** The `state` query of a filter (undefined: every state). */
export function stateQuery(filter: AlarmFilter): string | undefined {
  if (filter === "active") return "firing,pending";
  if (filter === "all") return undefined;
  return filter;
}

export function severityTone(severity: string): "danger" | "warning" | "info" | "neutral" {
  return severity === "critical" ? "danger" : severity === "warning" ? "warning" : severity === "info" ? "info" : "neutral";
}

/** Alarms whose name, summary, host or labels hold every word of `text`. */
export function selectAlerts<T extends Pick<Alert, "name" | "summary" | "labels" | "assignee">>(alerts: readonly T[], text: string): T[] {
  const words = text.toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return [...alerts];
  return alerts.filter((a) => {
    const hay = [a.name, a.summary, a.assignee ?? "", ...Object.entries(a.labels).map(([k, v]) => `${k}=${v}`)].join(" ").toLowerCase();
    return words.every((w) => hay.includes(w));
  });
}

/** When an alarm's current state began: resolved, fired or first seen. */
export function alertSince(alert: Pick<Alert, "state" | "started_at" | "fired_at" | "resolved_at">): number {
  if (alert.state === "resolved" && alert.resolved_at) return alert.resolved_at;
  if (alert.state === "firing" && alert.fired_at) return alert.fired_at;
  return alert.started_at;
}

/** What a "silence this alarm" starts with: its name, and its host when it has one. */
export function matchersForAlert(alert: Pick<Alert, "name" | "labels">): Matcher[] {
  const out: Matcher[] = [{ name: "alertname", op: "=", value: alert.labels.alertname ?? alert.name }];
  if (alert.labels.host) out.push({ name: "host", op: "=", value: alert.labels.host });
  return out;
}

// --- silences ----------------------------------------------------------------

export type SilenceDuration = "1h" | "4h" | "1d" | "custom";
export const SILENCE_DURATIONS: { key: SilenceDuration; label: string; ms: number }[] = [
  { key: "1h", label: "1 hour", ms: 3_600_000 },
  { key: "4h", label: "4 hours", ms: 4 * 3_600_000 },
  { key: "1d", label: "1 day", ms: 86_400_000 },
  { key: "custom", label: "Until…", ms: 0 },
];

/** `YYYY-MM-DDTHH:mm` as <input type="datetime-local"> wants it, in local time. */
export function toLocalInput(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** When a silence chosen now ends, or a problem with the chosen end. */
export function silenceEnd(nowMs: number, duration: SilenceDuration, customLocal: string): { endsAt: number } | { error: string } {
  if (duration !== "custom") return { endsAt: nowMs + SILENCE_DURATIONS.find((d) => d.key === duration)!.ms };
  const ms = customLocal === "" ? NaN : new Date(customLocal).getTime();
  if (!Number.isFinite(ms)) return { error: "Choose the date and time it ends." };
  if (ms <= nowMs) return { error: "The end must be in the future." };
  return { endsAt: ms };
}

/** Whether a silence is over, running, or yet to start. */
export function silenceStatus(s: { active: boolean; starts_at?: number | null; ends_at: number }, nowMs: number): "active" | "pending" | "expired" {
  if (s.active) return "active";
  if (s.ends_at <= nowMs) return "expired";
  return "pending";
}

// --- channels ----------------------------------------------------------------

export type ChannelKind = "email" | "slack" | "teams" | "telegram" | "whatsapp" | "webhook";
export const CHANNEL_KINDS: { key: ChannelKind; label: string }[] = [
  { key: "email", label: "Email" },
  { key: "slack", label: "Slack" },
  { key: "teams", label: "Microsoft Teams" },
  { key: "telegram", label: "Telegram" },
  { key: "whatsapp", label: "WhatsApp" },
  { key: "webhook", label: "Webhook" },
];

/** The secret field of each kind: empty on edit keeps what is stored. */
export const SECRET_FIELD: Record<ChannelKind, ChannelField> = {
  email: "password",
  slack: "webhookUrl",
  teams: "webhookUrl",
  telegram: "botToken",
  whatsapp: "accessToken",
  webhook: "secret",
};
const WIRE_SECRET: Record<ChannelKind, string> = { email: "password", slack: "webhook_url", teams: "webhook_url", telegram: "bot_token", whatsapp: "access_token", webhook: "secret" };

export interface ChannelForm {
  name: string;
  kind: ChannelKind;
  sendResolved: boolean;
  host: string;
  port: string;
  security: "none" | "starttls" | "tls";
  username: string;
  password: string;
  from: string;
  to: string;
  webhookUrl: string;
  botToken: string;
  chatId: string;
  apiBase: string;
  accessToken: string;
  phoneNumberId: string;
  url: string;
  secret: string;
  headers: string;
}
export type ChannelField = keyof ChannelForm;

export function emptyChannelForm(kind: ChannelKind = "webhook"): ChannelForm {
  return {
    name: "",
    kind,
    sendResolved: true,
    host: "",
    port: "587",
    security: "starttls",
    username: "",
    password: "",
    from: "",
    to: "",
    webhookUrl: "",
    botToken: "",
    chatId: "",
    apiBase: "",
    accessToken: "",
    phoneNumberId: "",
    url: "",
    secret: "",
    headers: "",
  };
}

type Config = Record<string, unknown>;
const str = (v: unknown) => (typeof v === "string" ? v : typeof v === "number" ? String(v) : "");
const list = (v: unknown) => (Array.isArray(v) ? v.map(str).join(", ") : "");

/** The secrets a stored channel holds (`config.secrets_set`). */
export function secretsSet(channel: Pick<ChannelView, "config">): string[] {
  const set = (channel.config as Config).secrets_set;
  return Array.isArray(set) ? set.map(str) : [];
}

/** Whether the kind's secret is stored (the edit form then may leave it empty). */
export function hasStoredSecret(channel: Pick<ChannelView, "config" | "kind">): boolean {
  const kind = channel.kind as ChannelKind;
  return secretsSet(channel).includes(WIRE_SECRET[kind] ?? "");
}

export function channelFormFromView(channel: ChannelView): ChannelForm {
  const c = channel.config as Config;
  const kind = (str(c.kind) || channel.kind) as ChannelKind;
  const headers = typeof c.headers === "object" && c.headers !== null ? Object.entries(c.headers as Record<string, unknown>).filter(([, v]) => str(v) !== "") : [];
  return {
    ...emptyChannelForm(kind),
    name: channel.name,
    sendResolved: channel.send_resolved,
    host: str(c.host),
    port: str(c.port) || "587",
    security: (str(c.security) || "starttls") as ChannelForm["security"],
    username: str(c.username),
    from: str(c.from),
    to: list(c.to),
    chatId: str(c.chat_id),
    apiBase: str(c.api_base),
    phoneNumberId: str(c.phone_number_id),
    url: str(c.url),
    headers: headers.map(([k, v]) => `${k}: ${str(v)}`).join("\n"),
  };
}

const splitList = (text: string) =>
  text
    .split(/[,\n]/)
    .map((s) => s.trim())
    .filter(Boolean);

/** The channel as the API takes it; empty secrets are left out (kept on edit). */
export function formToChannelInput(form: ChannelForm): ChannelInput {
  const opt = (key: string, value: string) => (value.trim() === "" ? {} : { [key]: value.trim() });
  let config: Config;
  switch (form.kind) {
    case "email":
      config = { kind: "email", host: form.host.trim(), port: Number(form.port), security: form.security, ...opt("username", form.username), ...opt("password", form.password), from: form.from.trim(), to: splitList(form.to) };
      break;
    case "slack":
    case "teams":
      config = { kind: form.kind, ...opt("webhook_url", form.webhookUrl) };
      break;
    case "telegram":
      config = { kind: "telegram", ...opt("bot_token", form.botToken), chat_id: form.chatId.trim(), ...opt("api_base", form.apiBase) };
      break;
    case "whatsapp":
      config = { kind: "whatsapp", ...opt("access_token", form.accessToken), phone_number_id: form.phoneNumberId.trim(), to: splitList(form.to), ...opt("api_base", form.apiBase) };
      break;
    case "webhook": {
      const headers: Record<string, string> = {};
      for (const line of form.headers.split(/\r?\n/)) {
        const colon = line.indexOf(":");
        if (colon > 0) headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
      }
      config = { kind: "webhook", url: form.url.trim(), ...opt("secret", form.secret), ...(Object.keys(headers).length > 0 ? { headers } : {}) };
      break;
    }
  }
  return { name: form.name.trim(), config: config as Record<string, never>, send_resolved: form.sendResolved };
}

/** Where a channel delivers, in one line (no secrets: they are not sent to the browser). */
export function channelTarget(channel: Pick<ChannelView, "config" | "kind">): string {
  const c = channel.config as Config;
  switch (channel.kind) {
    case "email":
      return `${list(c.to)} via ${str(c.host)}:${str(c.port)}`;
    case "telegram":
      return `chat ${str(c.chat_id)}`;
    case "whatsapp":
      return list(c.to);
    case "webhook":
      return str(c.url);
    default:
      return "incoming webhook";
  }
}

const CHANNEL_FIELDS: [prefix: string, field: ChannelField][] = [
  ["name", "name"],
  ["host", "host"],
  ["port", "port"],
  ["username", "username"],
  ["password", "password"],
  ["from", "from"],
  ["to", "to"],
  ["webhook_url", "webhookUrl"],
  ["bot_token", "botToken"],
  ["chat_id", "chatId"],
  ["api_base", "apiBase"],
  ["access_token", "accessToken"],
  ["phone_number_id", "phoneNumberId"],
  ["url", "url"],
  ["secret", "secret"],
  ["headers", "headers"],
];

/** A channel 422 (`url: must be an http:// or https:// URL`) on its field. */
export function channelFieldError(message: string): { field: ChannelField | null; text: string } {
  if (message.startsWith("name must")) return { field: "name", text: message[0]!.toUpperCase() + message.slice(1) };
  const m = /^([A-Za-z_.[\]0-9]+): (.*)$/s.exec(message);
  if (m) {
    const path = m[1]!;
    for (const [prefix, field] of CHANNEL_FIELDS) {
      if (path === prefix || path.startsWith(prefix + "[") || path.startsWith(prefix + ".")) return { field, text: m[2]![0]!.toUpperCase() + m[2]!.slice(1) };
    }
  }
  return { field: null, text: message };
}

// --- routing -------------------------------------------------------------------

export interface RouteForm {
  severities: Severity[];
  matchers: string;
  channels: number[];
  continue: boolean;
}

export function routeFormsOf(routing: Pick<Routing, "routes">): RouteForm[] {
  return (routing.routes ?? []).map((r) => ({
    severities: [...(r.severities ?? [])],
    matchers: formatMatchers(asMatchers(r.matchers)),
    channels: [...r.channels],
    continue: r.continue ?? false,
  }));
}

/** The routing as the API takes it, or the first problem ("Route 2: …"). */
export function formToRouting(defaults: readonly number[], routes: readonly RouteForm[]): { routing: Routing } | { error: string } {
  const out: NonNullable<Routing["routes"]> = [];
  for (const [i, r] of routes.entries()) {
    const { matchers, error } = parseMatchers(r.matchers);
    if (error) return { error: `Route ${i + 1}: ${error}` };
    if (r.channels.length === 0) return { error: `Route ${i + 1}: choose at least one channel.` };
    out.push({ severities: [...r.severities], matchers: toWire(matchers), channels: [...r.channels], continue: r.continue });
  }
  return { routing: { default_channels: [...defaults], routes: out } };
}

/** `list` with the item at `index` moved by `delta` places (kept in bounds). */
export function moveItem<T>(list: readonly T[], index: number, delta: number): T[] {
  const to = Math.max(0, Math.min(list.length - 1, index + delta));
  const out = [...list];
  const [item] = out.splice(index, 1);
  out.splice(to, 0, item!);
  return out;
}

/** Adds or removes `value` from a list (checkbox groups). */
export function toggled<T>(list: readonly T[], value: T, on: boolean): T[] {
  return on ? (list.includes(value) ? [...list] : [...list, value]) : list.filter((v) => v !== value);
}
