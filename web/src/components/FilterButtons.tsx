// A row of toggle buttons that filter a list by state, each with its count
// ("All 12", "Down 1"): the fleet's hosts, the health checks.

export interface FilterOption<K extends string> {
  key: K;
  label: string;
  count?: number;
}

export function FilterButtons<K extends string>({
  label,
  options,
  value,
  onChange,
  testId,
}: {
  /** Names the group for screen readers, e.g. "Filter by state". */
  label: string;
  options: readonly FilterOption<K>[];
  value: K;
  onChange: (key: K) => void;
  testId?: string;
}) {
  return (
    <div role="group" aria-label={label} className="flex flex-wrap gap-1.5" data-testid={testId}>
      {options.map((f) => (
        <button
          key={f.key}
          type="button"
          aria-pressed={value === f.key}
          onClick={() => onChange(f.key)}
          className="btn aria-pressed:border-sky-500 aria-pressed:bg-sky-50 aria-pressed:text-sky-900 dark:aria-pressed:bg-sky-950 dark:aria-pressed:text-sky-100"
        >
          {f.label}
          {f.count !== undefined && (
            <span className="tabular-nums text-slate-500 dark:text-slate-400" data-count={f.key}>
              {f.count}
            </span>
          )}
        </button>
      ))}
    </div>
  );
}
