// A time-series chart on uPlot. The chart is created once per structure
// (series, theme, height) and fed new data with setData, so live updates do
// not rebuild the canvas. Dragging across the plot selects a window and
// reports it through `onZoom`; the page then asks the server for that window
// at a finer step.

import { useCallback, useEffect, useRef } from "react";
import uPlot, { type AlignedData, type Options } from "uplot";
import { useElementWidth } from "../hooks/useElementWidth";
import type { Theme } from "../app/theme";
import { formatDateTime } from "../lib/format";

export interface ChartSeries {
  label: string;
  color: string;
  /** Dashed, for reference lines such as a total. */
  dashed?: boolean;
  /**
   * Mark values that have no neighbour with a dot (a line needs two
   * points): series with gaps, such as a check's latency between failures.
   */
  dotIsolated?: boolean;
  /** Hold each value until the next one: states such as up/down. */
  stepped?: boolean;
}

interface TimeChartProps {
  /** Names the chart for tests and screen readers. */
  id: string;
  title: string;
  data: AlignedData;
  series: readonly ChartSeries[];
  /** Formats axis ticks and legend values (bytes, percent, …). */
  format: (value: number) => string;
  theme: Theme;
  height?: number;
  /** Byte values: ticks at powers of two. */
  binary?: boolean;
  /** Fixed y range, e.g. [0, 100] for percentages. */
  yRange?: [number, number];
  /** The x window in unix ms; the data may cover less of it. */
  xRange?: { fromMs: number; toMs: number };
  onZoom?: (fromMs: number, toMs: number) => void;
  /** Charts with the same key share their cursor. */
  syncKey?: string;
}

/** Distinct colours that read on white and on near-black. */
export const PALETTE = ["#0ea5e9", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#ec4899", "#14b8a6", "#84cc16", "#f97316", "#6366f1", "#06b6d4", "#a855f7"] as const;

export function paletteColor(index: number): string {
  return PALETTE[index % PALETTE.length]!;
}

function cssVar(name: string, fallback: string): string {
  const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return value || fallback;
}

/** Tick steps for byte axes: powers of two, so ticks read 256 MiB, 512 MiB, 1 GiB. */
const BYTE_INCREMENTS = Array.from({ length: 60 }, (_, i) => 2 ** i);

/** The indices of a series' values with a gap on both sides (drawn as dots). */
function isolatedIndices(u: uPlot, seriesIdx: number): number[] {
  const ys = u.data[seriesIdx] ?? [];
  const out: number[] = [];
  for (let i = 0; i < ys.length; i += 1) {
    if (ys[i] === null || ys[i] === undefined) continue;
    const before = i > 0 ? ys[i - 1] : null;
    const after = i < ys.length - 1 ? ys[i + 1] : null;
    if ((before === null || before === undefined) && (after === null || after === undefined)) out.push(i);
  }
  return out;
}

const steppedPath = uPlot.paths.stepped?.({ align: 1 });

/** The index of the newest point that has any value, or null. */
function newestIndex(u: uPlot): number | null {
  for (let i = u.data[0].length - 1; i >= 0; i -= 1) {
    for (let s = 1; s < u.data.length; s += 1) {
      const v = u.data[s]?.[i];
      if (v !== null && v !== undefined) return i;
    }
  }
  return null;
}

function showNewest(u: uPlot) {
  const idx = newestIndex(u);
  if (idx !== null) u.setLegend({ idx });
}

/**
 * Time tick labels in 24-hour local time, as precise as the visible span
 * needs: seconds for a few minutes, dates once the span covers days.
 */
function timeAxisValues(u: uPlot, splits: number[]): string[] {
  const min = u.scales.x?.min ?? 0;
  const max = u.scales.x?.max ?? 0;
  const span = max - min;
  const two = (n: number) => String(n).padStart(2, "0");
  return splits.map((s) => {
    const d = new Date(s * 1000);
    const hm = `${two(d.getHours())}:${two(d.getMinutes())}`;
    if (span <= 600) return `${hm}:${two(d.getSeconds())}`;
    if (span <= 2 * 86400) return hm;
    const md = `${two(d.getMonth() + 1)}-${two(d.getDate())}`;
    if (span <= 14 * 86400) return d.getHours() === 0 && d.getMinutes() === 0 ? md : `${md} ${hm}`;
    if (span <= 400 * 86400) return md;
    return `${d.getFullYear()}-${two(d.getMonth() + 1)}`;
  });
}

/** Exposes how much the chart holds (for tests and debugging): point count and last x (s). */
function describeData(element: HTMLElement, data: AlignedData) {
  const xs = data[0];
  element.dataset.points = String(xs.length);
  element.dataset.last = String(xs.length > 0 ? xs[xs.length - 1] : 0);
}

export function TimeChart({ id, title, data, series, format, theme, height = 200, binary = false, yRange, xRange, onZoom, syncKey }: TimeChartProps) {
  const container = useRef<HTMLDivElement | null>(null);
  const plot = useRef<uPlot | null>(null);
  const [measure, width] = useElementWidth<HTMLDivElement>();
  const setContainer = useCallback(
    (element: HTMLDivElement | null) => {
      container.current = element;
      measure(element);
    },
    [measure],
  );
  // Callbacks and data change often; the chart reads the latest through refs
  // instead of being rebuilt.
  const latest = useRef({ data, format, onZoom, xRange });
  latest.current = { data, format, onZoom, xRange };

  const structure = JSON.stringify([series, theme, height, yRange, syncKey, binary]);

  useEffect(() => {
    const element = container.current;
    if (!element) return;
    const axis = cssVar("--chart-axis", "#64748b");
    const grid = cssVar("--chart-grid", "rgba(100,116,139,0.2)");
    const yValues = (_u: uPlot, splits: number[]) => splits.map((v) => latest.current.format(v));
    // Room for the widest tick label, so "143 MiB/s" is not clipped.
    const ySize = (_u: uPlot, values: string[] | null) => (values && values.length > 0 ? Math.max(...values.map((v) => v.length)) * 7 + 22 : 40);
    const options: Options = {
      width: Math.max(element.clientWidth, 100),
      height,
      cursor: {
        drag: { x: true, y: false, setScale: false },
        sync: syncKey ? { key: syncKey } : undefined,
      },
      scales: {
        x: {
          time: true,
          range: (_u, min, max) => {
            const window = latest.current.xRange;
            return window ? [window.fromMs / 1000, window.toMs / 1000] : [min, max];
          },
        },
        y: yRange ? { range: () => yRange } : { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] },
      },
      axes: [
        { stroke: axis, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, values: timeAxisValues, space: 60 },
        { stroke: axis, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, values: yValues, size: ySize, incrs: binary ? BYTE_INCREMENTS : undefined },
      ],
      series: [
        { value: (_u: uPlot, v: number | null) => (v === null || v === undefined ? "—" : formatDateTime(v * 1000)) },
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 1.5,
          dash: s.dashed ? [6, 4] : undefined,
          points: s.dotIsolated ? { show: false, size: 6, fill: s.color, filter: isolatedIndices } : { show: false },
          paths: s.stepped ? steppedPath : undefined,
          value: (_u: uPlot, v: number | null) => (v === null || v === undefined ? "—" : latest.current.format(v)),
        })),
      ],
      legend: { live: true },
      hooks: {
        // Away from the cursor, the legend shows the newest values rather than dashes.
        setCursor: [
          (u) => {
            if (u.cursor.idx === null || u.cursor.idx === undefined) showNewest(u);
          },
        ],
        setSelect: [
          (u) => {
            const { left, width: selected } = u.select;
            if (selected < 2) return;
            const fromS = u.posToVal(left, "x");
            const toS = u.posToVal(left + selected, "x");
            u.setSelect({ left: 0, width: 0, top: 0, height: 0 }, false);
            latest.current.onZoom?.(Math.round(fromS * 1000), Math.round(toS * 1000));
          },
        ],
      },
    };
    const chart = new uPlot(options, latest.current.data, element);
    plot.current = chart;
    showNewest(chart);
    describeData(element, latest.current.data);
    return () => {
      chart.destroy();
      plot.current = null;
    };
    // `structure` stands for every option the chart is built from.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [structure]);

  useEffect(() => {
    const chart = plot.current;
    if (!chart) return;
    chart.setData(data);
    if (chart.cursor.idx === null || chart.cursor.idx === undefined) showNewest(chart);
    if (container.current) describeData(container.current, data);
  }, [data, xRange?.fromMs, xRange?.toMs]);

  useEffect(() => {
    if (plot.current && width > 0) plot.current.setSize({ width, height });
  }, [width, height]);

  return <div ref={setContainer} data-chart={id} role="img" aria-label={title} className="w-full min-w-0" />;
}
