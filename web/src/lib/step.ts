// Time ranges and the step a chart asks the server for.
//
// A chart never needs more than one point per pixel, so the step is the
// range divided by the chart's width, rounded up to a round number. Long
// ranges then get steps of 5 minutes or more, which the server answers from
// its rollups instead of reading raw samples.

/** Round steps in seconds; the server's own list, so rollups line up. */
export const NICE_STEPS_S = [
  1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800,
] as const;

/**
 * The step for a chart: the smallest nice step that gives at most one point
 * per pixel, and never finer than the host reports (`minStepS`), since finer
 * buckets would only be empty.
 */
export function chooseStep(rangeSeconds: number, pixelWidth: number, minStepS = 1): number {
  const width = Math.max(1, Math.floor(pixelWidth));
  const wanted = Math.max(Math.ceil(rangeSeconds / width), Math.ceil(minStepS), 1);
  return NICE_STEPS_S.find((s) => s >= wanted) ?? wanted;
}

export type RangeKey = "live" | "1h" | "6h" | "24h" | "7d" | "30d" | "1y";

export interface RangeOption {
  key: RangeKey;
  label: string;
  seconds: number;
}

/** The picker's choices; "live" is the last 15 minutes, kept up to date. */
export const RANGE_OPTIONS: readonly RangeOption[] = [
  { key: "live", label: "Live 15 min", seconds: 15 * 60 },
  { key: "1h", label: "1 h", seconds: 3600 },
  { key: "6h", label: "6 h", seconds: 6 * 3600 },
  { key: "24h", label: "24 h", seconds: 86400 },
  { key: "7d", label: "7 d", seconds: 7 * 86400 },
  { key: "30d", label: "30 d", seconds: 30 * 86400 },
  { key: "1y", label: "1 y", seconds: 365 * 86400 },
];

/** What the user chose: a preset relative to now, or an absolute window (a zoom). */
export type TimeRange = { kind: "relative"; key: RangeKey } | { kind: "absolute"; fromMs: number; toMs: number };

export function rangeOption(key: RangeKey): RangeOption {
  return RANGE_OPTIONS.find((r) => r.key === key) ?? RANGE_OPTIONS[0]!;
}

/**
 * The concrete window to query. A relative range ends now, or — for a host
 * that went offline — at its last report, so an offline host still shows its
 * last data instead of an empty chart.
 */
export function resolveRange(range: TimeRange, nowMs: number, endAtMs?: number | null): { fromMs: number; toMs: number } {
  if (range.kind === "absolute") return { fromMs: range.fromMs, toMs: range.toMs };
  const toMs = endAtMs !== undefined && endAtMs !== null && endAtMs < nowMs ? endAtMs : nowMs;
  return { fromMs: toMs - rangeOption(range.key).seconds * 1000, toMs };
}

export function isLive(range: TimeRange): boolean {
  return range.kind === "relative" && range.key === "live";
}

/**
 * Encodes a range for the URL (?range=7d or ?from=…&to=…) so views can be
 * shared; the page's default range (`fallback`, live unless said) needs no
 * parameter.
 */
export function rangeToSearch(range: TimeRange, fallback: RangeKey = "live"): string {
  if (range.kind === "relative") return range.key === fallback ? "" : `?range=${range.key}`;
  return `?from=${Math.round(range.fromMs)}&to=${Math.round(range.toMs)}`;
}

export function rangeFromSearch(search: string, fallback: RangeKey = "live"): TimeRange {
  const params = new URLSearchParams(search);
  const from = Number(params.get("from"));
  const to = Number(params.get("to"));
  if (params.has("from") && params.has("to") && Number.isFinite(from) && Number.isFinite(to) && to > from) {
    return { kind: "absolute", fromMs: from, toMs: to };
  }
  const key = params.get("range");
  const option = RANGE_OPTIONS.find((r) => r.key === key);
  return { kind: "relative", key: option?.key ?? fallback };
}
