import { RANGE_OPTIONS, type TimeRange } from "../lib/step";

/** The time range buttons; a zoomed (absolute) range shows a way back. */
export function RangePicker({ range, onChange }: { range: TimeRange; onChange: (range: TimeRange) => void }) {
  return (
    <div role="group" aria-label="Time range" className="flex flex-wrap items-center gap-1" data-testid="range-picker">
      {RANGE_OPTIONS.map((option) => {
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
