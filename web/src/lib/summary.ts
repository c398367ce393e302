// A host's row on the fleet overview, from one /metrics query of its last
// half hour: current values are each series' last point, the CPU sparkline
// is the whole CPU column.

import type { QueryResult, Server } from "../api/types";
import { labelOf, lastValue, seriesNamed } from "./series";

/** The metrics one overview query asks for. */
export const SUMMARY_METRICS = [
  "cpu.usage_percent",
  "mem.used_percent",
  "mem.used_bytes",
  "mem.total_bytes",
  "fs.used_percent",
  "net.rx_bytes_per_sec",
  "net.tx_bytes_per_sec",
] as const;

/** Half an hour at 30 s: 60 sparkline points, a cheap raw-tier query. */
export const SUMMARY_WINDOW_MS = 30 * 60 * 1000;
export const SUMMARY_STEP_S = 30;

export interface HostSummary {
  cpuPercent: number | null;
  memPercent: number | null;
  memUsedBytes: number | null;
  memTotalBytes: number | null;
  fullestMount: { mount: string; percent: number } | null;
  rxBytesPerSec: number | null;
  txBytesPerSec: number | null;
  /** CPU % over the window, nulls for gaps. */
  cpuSpark: (number | null)[];
}

/**
 * The window to query for a host's summary: the last half hour, or for an
 * offline host the half hour before it went away, so its row keeps its last
 * values.
 */
export function summaryWindow(server: Pick<Server, "status" | "last_seen">, nowMs: number): { fromMs: number; toMs: number } {
  const lastSeen = server.last_seen ?? null;
  const toMs = server.status === "offline" && lastSeen !== null && lastSeen < nowMs ? lastSeen + 60_000 : nowMs;
  return { fromMs: toMs - SUMMARY_WINDOW_MS, toMs };
}

function sumOfLast(result: QueryResult, name: string): number | null {
  const values = seriesNamed(result, name)
    .map((s) => lastValue(s.values))
    .filter((v): v is number => v !== null);
  return values.length === 0 ? null : values.reduce((a, b) => a + b, 0);
}

export function summarize(result: QueryResult): HostSummary {
  const single = (name: string) => lastValue(seriesNamed(result, name)[0]?.values);
  let fullestMount: HostSummary["fullestMount"] = null;
  for (const s of seriesNamed(result, "fs.used_percent")) {
    const percent = lastValue(s.values);
    if (percent !== null && (fullestMount === null || percent > fullestMount.percent)) {
      fullestMount = { mount: labelOf(s, "mount"), percent };
    }
  }
  return {
    cpuPercent: single("cpu.usage_percent"),
    memPercent: single("mem.used_percent"),
    memUsedBytes: single("mem.used_bytes"),
    memTotalBytes: single("mem.total_bytes"),
    fullestMount,
    rxBytesPerSec: sumOfLast(result, "net.rx_bytes_per_sec"),
    txBytesPerSec: sumOfLast(result, "net.tx_bytes_per_sec"),
    cpuSpark: seriesNamed(result, "cpu.usage_percent")[0]?.values ?? [],
  };
}
