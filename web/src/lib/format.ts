// Human-readable numbers for tables, tooltips and axes. Every formatter
// accepts null/undefined/NaN (a gap in a series) and shows an em dash.

export const DASH = "—";

type Maybe = number | null | undefined;

function missing(n: Maybe): n is null | undefined {
  return n === null || n === undefined || !Number.isFinite(n);
}

const BYTE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"] as const;

/** Bytes in binary units, three significant digits: "1.50 GiB", "512 B". */
export function formatBytes(bytes: Maybe): string {
  if (missing(bytes)) return DASH;
  const sign = bytes < 0 ? "-" : "";
  let value = Math.abs(bytes);
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  if (unit === 0) return `${sign}${Math.round(value)} B`;
  return `${sign}${toSignificant(value)} ${BYTE_UNITS[unit]}`;
}

/** A byte rate: "1.20 MiB/s". */
export function formatRate(bytesPerSecond: Maybe): string {
  if (missing(bytesPerSecond)) return DASH;
  return `${formatBytes(bytesPerSecond)}/s`;
}

/** A percentage: one decimal below 10, none above ("7.5%", "42%"). */
export function formatPercent(percent: Maybe): string {
  if (missing(percent)) return DASH;
  const digits = Math.abs(percent) < 10 && !Number.isInteger(percent) ? 1 : 0;
  return `${percent.toFixed(digits)}%`;
}

/** A plain number with up to `digits` decimals and no trailing zeros. */
export function formatNumber(n: Maybe, digits = 2): string {
  if (missing(n)) return DASH;
  return Number(n.toFixed(digits)).toString();
}

/** Large counts with SI suffixes: 950, 1.2k, 3.4M (packets/s, ops/s). */
export function formatCount(n: Maybe): string {
  if (missing(n)) return DASH;
  const abs = Math.abs(n);
  if (abs < 1000) return formatNumber(n, abs < 10 ? 1 : 0);
  if (abs < 1e6) return `${toSignificant(n / 1e3)}k`;
  if (abs < 1e9) return `${toSignificant(n / 1e6)}M`;
  return `${toSignificant(n / 1e9)}G`;
}

/** A response time: "0.42 ms", "12.3 ms", "245 ms", "1.25 s". */
export function formatLatency(ms: Maybe): string {
  if (missing(ms)) return DASH;
  if (ms >= 1000) return `${toSignificant(ms / 1000)} s`;
  return `${toSignificant(ms)} ms`;
}

/**
 * An availability in percent with two decimals, never rounded up to a
 * perfect 100% it did not reach: 99.999 → "99.99%", 100 → "100%".
 */
export function formatUptime(percent: Maybe): string {
  if (missing(percent)) return DASH;
  if (percent >= 100) return "100%";
  // The epsilon keeps 99.95 (stored as 99.94999…) at 99.95.
  return `${(Math.floor(percent * 100 + 1e-6) / 100).toFixed(2)}%`;
}

function toSignificant(value: number): string {
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : 2;
  return value.toFixed(digits);
}

/**
 * A duration as its two largest units: "3d 4h", "5h 12m", "12m 3s", "45s".
 * Durations under a second are "0s"; negative ones are a clock skew and show
 * as a dash rather than a confusing value.
 */
export function formatDuration(seconds: Maybe): string {
  if (missing(seconds) || seconds < 0) return DASH;
  const total = Math.floor(seconds);
  const units: [label: string, size: number][] = [
    ["y", 365 * 86400],
    ["d", 86400],
    ["h", 3600],
    ["m", 60],
    ["s", 1],
  ];
  const first = units.findIndex(([, size]) => total >= size);
  if (first === -1) return "0s";
  const [bigLabel, bigSize] = units[first]!;
  const big = Math.floor(total / bigSize);
  const next = units[first + 1];
  if (!next) return `${big}${bigLabel}`;
  const small = Math.floor((total - big * bigSize) / next[1]);
  return small > 0 ? `${big}${bigLabel} ${small}${next[0]}` : `${big}${bigLabel}`;
}

/** How long ago `thenMs` was, relative to `nowMs`: "just now", "5 min ago". */
export function formatAgo(thenMs: Maybe, nowMs: number): string {
  if (missing(thenMs)) return "never";
  const seconds = Math.round((nowMs - thenMs) / 1000);
  if (seconds < 5) return "just now";
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86400)} d ago`;
}

/**
 * A point in time as local date and time, "2024-05-01 14:03:07"; the date is
 * left out when it is today, so recent times stay short. `timeZone` is for
 * tests (the browser's zone otherwise).
 */
export function formatDateTime(ms: Maybe, options: { nowMs?: number; timeZone?: string } = {}): string {
  if (missing(ms)) return DASH;
  const parts = dateParts(ms, options.timeZone);
  const time = `${parts.hour}:${parts.minute}:${parts.second}`;
  if (options.nowMs !== undefined) {
    const today = dateParts(options.nowMs, options.timeZone);
    if (today.year === parts.year && today.month === parts.month && today.day === parts.day) return time;
  }
  return `${parts.year}-${parts.month}-${parts.day} ${time}`;
}

function dateParts(ms: number, timeZone: string | undefined): Record<"year" | "month" | "day" | "hour" | "minute" | "second", string> {
  const format = new Intl.DateTimeFormat("en-GB", {
    timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  });
  const out = { year: "", month: "", day: "", hour: "", minute: "", second: "" };
  for (const part of format.formatToParts(new Date(ms))) {
    if (part.type in out) out[part.type as keyof typeof out] = part.value;
  }
  return out;
}
