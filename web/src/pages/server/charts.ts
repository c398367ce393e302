// Which charts the detail page draws, and from which series. Pure functions
// of a query result, so they are tested without a browser.

import type { AlignedData } from "uplot";
import type { MetricSeries, QueryResult } from "../../api/types";
import type { ChartSeries } from "../../components/TimeChart";
import { paletteColor } from "../../components/TimeChart";
import { formatBytes, formatNumber, formatPercent, formatRate } from "../../lib/format";
import { labelOf, seriesNamed, toUPlotData } from "../../lib/series";

/** Every metric the main charts read, fetched in one query so they share timestamps. */
export const CHART_METRICS = [
  "cpu.usage_percent",
  "cpu.user_percent",
  "cpu.system_percent",
  "cpu.iowait_percent",
  "cpu.steal_percent",
  "load.1m",
  "load.5m",
  "load.15m",
  "mem.used_bytes",
  "mem.cached_bytes",
  "mem.buffers_bytes",
  "mem.total_bytes",
  "swap.used_bytes",
  "fs.used_percent",
  "disk.read_bytes_per_sec",
  "disk.write_bytes_per_sec",
  "net.rx_bytes_per_sec",
  "net.tx_bytes_per_sec",
] as const;

/** Per-core CPU is fetched only when asked for: a big host has many cores. */
export const PER_CORE_METRICS = ["cpu.core.usage_percent"] as const;

export interface ChartSpec {
  id: string;
  title: string;
  series: ChartSeries[];
  data: AlignedData;
  format: (value: number) => string;
  /** Bytes or bytes/s: ticks at powers of two. */
  binary: boolean;
  yRange?: [number, number];
}

interface Line {
  series: MetricSeries;
  label: string;
  dashed?: boolean;
}

const percent = (v: number) => formatPercent(v);
const bytes = (v: number) => formatBytes(v);
const rate = (v: number) => formatRate(v);
const plain = (v: number) => formatNumber(v);

function spec(id: string, title: string, result: QueryResult, lines: Line[], format: (v: number) => string, yRange?: [number, number]): ChartSpec {
  return {
    id,
    title,
    series: lines.map((line, i) => ({ label: line.label, color: paletteColor(i), dashed: line.dashed })),
    data: toUPlotData(result, lines.map((l) => l.series)),
    format,
    binary: format === bytes || format === rate,
    yRange,
  };
}

function named(result: QueryResult, name: string, label: string): Line[] {
  return seriesNamed(result, name).map((series) => ({ series, label }));
}

function perLabel(result: QueryResult, name: string, labelKey: string, suffix: string): Line[] {
  return seriesNamed(result, name).map((series) => ({ series, label: `${labelOf(series, labelKey) || "?"}${suffix}` }));
}

/** Interleaves per-device pairs so a device's read and write sit together in the legend. */
function pairs(a: Line[], b: Line[]): Line[] {
  const out: Line[] = [];
  for (let i = 0; i < Math.max(a.length, b.length); i += 1) {
    if (a[i]) out.push(a[i]!);
    if (b[i]) out.push(b[i]!);
  }
  return out;
}


export function buildCharts(result: QueryResult): ChartSpec[] {
  return [
    spec(
      "cpu",
      "CPU",
      result,
      [
        ...named(result, "cpu.usage_percent", "total"),
        ...named(result, "cpu.user_percent", "user"),
        ...named(result, "cpu.system_percent", "system"),
        ...named(result, "cpu.iowait_percent", "iowait"),
        ...named(result, "cpu.steal_percent", "steal"),
      ],
      percent,
      [0, 100],
    ),
    spec("load", "Load average", result, [...named(result, "load.1m", "1 min"), ...named(result, "load.5m", "5 min"), ...named(result, "load.15m", "15 min")], plain),
    spec(
      "memory",
      "Memory and swap",
      result,
      [
        ...named(result, "mem.used_bytes", "used"),
        ...named(result, "mem.cached_bytes", "cached"),
        ...named(result, "mem.buffers_bytes", "buffers"),
        ...named(result, "swap.used_bytes", "swap used"),
        ...named(result, "mem.total_bytes", "total").map((l) => ({ ...l, dashed: true })),
      ],
      bytes,
    ),
    spec("filesystems", "Filesystem usage", result, perLabel(result, "fs.used_percent", "mount", ""), percent, [0, 100]),
    spec("disk", "Disk I/O", result, pairs(perLabel(result, "disk.read_bytes_per_sec", "device", " read"), perLabel(result, "disk.write_bytes_per_sec", "device", " write")), rate),
    spec("network", "Network", result, pairs(perLabel(result, "net.rx_bytes_per_sec", "iface", " in"), perLabel(result, "net.tx_bytes_per_sec", "iface", " out")), rate),
  ];
}

export function buildPerCoreChart(result: QueryResult): ChartSpec {
  const cores = seriesNamed(result, "cpu.core.usage_percent").map((series) => ({ series, label: `core ${labelOf(series, "core")}` }));
  return spec("cpu-cores", "CPU per core", result, cores, percent, [0, 100]);
}
