import { RANGE_OPTIONS, type RangeKey, type TimeRange } from "../lib/step";

/** The time range buttons; a zoomed (absolute) range shows a way back. `keys` limits the choices (all by default). */
export function RangePicker({ range, onChange, keys }: { range: TimeRange; onChange: (range: TimeRange) => void; keys?: readonly RangeKey[] }) {
  const options = keys ? RANGE_OPTIONS.filter((o) => keys.includes(o.key)) : RANGE_OPTIONS;
  return (
    <div role="group" aria-label="Time range" className="flex flex-wrap items-center gap-1" data-testid="range-picker">
      {options.map((option) => {
        const selected = range.kind === "relative" && range.key === option.key;
        return (
          <button
            key={option.key}
            type="button"
            aria-pressed={selected}
            data-range={option.key}
            onClick={() => onChange({ kind: "relative", key: option.key })}
            className="btn px-2 py-1 text-xs aria-pressed:border-sky-500 aria-pressed:bg-sky-600 aria-pressed:text-white dark:aria-pressed:bg-sky-600"
          >
            {option.key === "live" && <span aria-hidden="true" className={`h-1.5 w-1.5 rounded-full ${selected ? "animate-pulse bg-white" : "bg-emerald-500"}`} />}
            {option.label}
          </button>
        );
      })}
    </div>
  );
}
