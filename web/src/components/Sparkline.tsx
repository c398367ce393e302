// A tiny SVG line for a table row: cheap enough to draw hundreds at once
// (uPlot would create a canvas per row). Gaps in the data break the line.

export function sparklinePath(values: readonly (number | null)[], width: number, height: number, max = 100): string {
  if (values.length === 0) return "";
  const dx = values.length > 1 ? width / (values.length - 1) : 0;
  let path = "";
  let drawing = false;
  values.forEach((v, i) => {
    if (v === null || !Number.isFinite(v)) {
      drawing = false;
      return;
    }
    const x = (i * dx).toFixed(1);
    const y = (height - (Math.min(Math.max(v, 0), max) / max) * height).toFixed(1);
    path += `${drawing ? "L" : "M"}${x} ${y}`;
    drawing = true;
  });
  return path;
}

/** The top of a sparkline's scale for values without a fixed one (latencies): their largest, at least 1. */
export function sparklineMax(values: readonly (number | null)[]): number {
  let max = 0;
  for (const v of values) if (v !== null && Number.isFinite(v) && v > max) max = v;
  return max > 0 ? max : 1;
}

/** `max` is the top of the scale: 100 (percent) unless given. */
export function Sparkline({ values, width = 96, height = 24, label, max = 100 }: { values: readonly (number | null)[]; width?: number; height?: number; label: string; max?: number }) {
  const path = sparklinePath(values, width, height, max);
  return (
    <svg role="img" aria-label={label} width={width} height={height} viewBox={`0 0 ${width} ${height}`} className="overflow-visible text-sky-500 dark:text-sky-400">
      <path d={path} fill="none" stroke="currentColor" strokeWidth="1.5" strokeLinejoin="round" vectorEffect="non-scaling-stroke" />
    </svg>
  );
}
