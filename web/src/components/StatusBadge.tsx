import type { CheckState } from "../lib/checks";
import type { HostState } from "../lib/status";

/** Every state a badge can say: a host's and a health check's. */
export type BadgeState = HostState | CheckState;

const STYLES: Record<BadgeState, { dot: string; text: string; label: string }> = {
  online: { dot: "bg-emerald-500", text: "text-emerald-700 dark:text-emerald-400", label: "online" },
  offline: { dot: "bg-rose-500", text: "text-rose-700 dark:text-rose-400", label: "offline" },
  never: { dot: "bg-slate-400", text: "text-slate-500 dark:text-slate-400", label: "no data" },
  up: { dot: "bg-emerald-500", text: "text-emerald-700 dark:text-emerald-400", label: "up" },
  down: { dot: "bg-rose-500", text: "text-rose-700 dark:text-rose-400", label: "down" },
  pending: { dot: "bg-slate-400", text: "text-slate-500 dark:text-slate-400", label: "pending" },
  paused: { dot: "bg-amber-400", text: "text-amber-700 dark:text-amber-400", label: "paused" },
};

/** A coloured dot and word; the word keeps the state readable without colour. */
export function StatusBadge({ state, testId }: { state: BadgeState; testId?: string }) {
  const style = STYLES[state];
  return (
    <span className={`inline-flex items-center gap-1.5 text-xs font-medium ${style.text}`} data-testid={testId} data-state={state}>
      <span aria-hidden="true" className={`h-2 w-2 shrink-0 rounded-full ${style.dot}`} />
      {style.label}
    </span>
  );
}
