// Shaping the server's column-oriented series for charts and tables.
//
// The server answers /metrics as one shared `timestamps` array (unix ms) and
// one `values` array per series, which is uPlot's data shape except that
// uPlot wants seconds on the x axis.

import type { AlignedData } from "uplot";
import type { MetricSeries, QueryResult } from "../api/types";

export type Labels = Record<string, string>;

/** A stable identity for a series: its name and sorted labels. */
export function seriesKey(series: { name: string; labels?: Labels | null }): string {
  const labels = series.labels ?? {};
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return series.name;
  return `${series.name}{${keys.map((k) => `${k}=${labels[k]}`).join(",")}}`;
}

/** The series of `result` with this name, ordered by their labels. */
export function seriesNamed(result: QueryResult | null | undefined, name: string): MetricSeries[] {
  if (!result) return [];
  return result.series
    .filter((s) => s.name === name)
    .sort((a, b) => seriesKey(a).localeCompare(seriesKey(b), undefined, { numeric: true }));
}

/** The value of one label, or "" when absent. */
export function labelOf(series: { labels?: Labels | null }, label: string): string {
  return series.labels?.[label] ?? "";
}

/**
 * uPlot's data for the given series of a result: x in seconds, then one
 * column per series (nulls are gaps). Series are matched by key, so a chart
 * can name series the result lacks; those come out as all-null columns.
 */
export function toUPlotData(result: QueryResult, columns: readonly MetricSeries[]): AlignedData {
  const xs = result.timestamps.map((ms) => ms / 1000);
  const byKey = new Map(result.series.map((s) => [seriesKey(s), s] as const));
  const ys = columns.map((c) => byKey.get(seriesKey(c))?.values ?? new Array<null>(xs.length).fill(null));
  return [xs, ...ys] as AlignedData;
}

/** The last non-null value of a column, or null. */
export function lastValue(values: readonly (number | null)[] | undefined): number | null {
  if (!values) return null;
  for (let i = values.length - 1; i >= 0; i -= 1) {
    const v = values[i];
    if (v !== null && v !== undefined) return v;
  }
  return null;
}

/** The timestamp (ms) of the last bucket that holds any value, or null. */
export function lastFilledTimestamp(result: QueryResult): number | null {
  for (let i = result.timestamps.length - 1; i >= 0; i -= 1) {
    if (result.series.some((s) => s.values[i] !== null && s.values[i] !== undefined)) return result.timestamps[i] ?? null;
  }
  return null;
}

/**
 * Appends a newer answer to an older one (live mode): the older points
 * before the newer answer's first timestamp are kept, everything from there
 * on comes from the newer answer (its first bucket may complete a bucket the
 * older answer had only partly), and points older than `keepFromMs` are
 * dropped so a live window does not grow without end. Series that appear only
 * in one answer are padded with nulls.
 */
export function appendResult(older: QueryResult, newer: QueryResult, keepFromMs = -Infinity): QueryResult {
  const firstNew = newer.timestamps[0];
  if (firstNew === undefined) return trimResult(older, keepFromMs);
  let cut = older.timestamps.findIndex((t) => t >= firstNew);
  if (cut === -1) cut = older.timestamps.length;
  let start = older.timestamps.findIndex((t) => t >= keepFromMs);
  if (start === -1 || start > cut) start = cut;

  const timestamps = [...older.timestamps.slice(start, cut), ...newer.timestamps];
  const oldLength = cut - start;
  const newLength = newer.timestamps.length;
  const olderByKey = new Map(older.series.map((s) => [seriesKey(s), s] as const));
  const newerByKey = new Map(newer.series.map((s) => [seriesKey(s), s] as const));
  const keys = [...new Set([...olderByKey.keys(), ...newerByKey.keys()])];
  const series = keys.map((key) => {
    const o = olderByKey.get(key);
    const n = newerByKey.get(key);
    const base = (o ?? n)!;
    const head = o ? o.values.slice(start, cut) : new Array<null>(oldLength).fill(null);
    const tail = n ? n.values : new Array<null>(newLength).fill(null);
    return { name: base.name, labels: base.labels, values: [...head, ...tail] };
  });
  return { ...newer, timestamps, series };
}

/** Drops the points before `keepFromMs`. */
export function trimResult(result: QueryResult, keepFromMs: number): QueryResult {
  const start = result.timestamps.findIndex((t) => t >= keepFromMs);
  if (start <= 0) return start === -1 && result.timestamps.length > 0 ? { ...result, timestamps: [], series: result.series.map((s) => ({ ...s, values: [] })) } : result;
  return {
    ...result,
    timestamps: result.timestamps.slice(start),
    series: result.series.map((s) => ({ ...s, values: s.values.slice(start) })),
  };
}

/** The current value of every series of `name`, keyed by one label. */
export function latestByLabel(result: QueryResult | null | undefined, name: string, label: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of seriesNamed(result, name)) {
    const v = lastValue(s.values);
    if (v !== null) out.set(labelOf(s, label), v);
  }
  return out;
}
