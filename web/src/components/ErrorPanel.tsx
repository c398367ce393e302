import { errorMessage } from "../api/client";

/** A failed request, said in words, with a way to try again. */
export function ErrorPanel({ error, title = "Something went wrong", onRetry }: { error: unknown; title?: string; onRetry?: () => void }) {
  return (
    <div role="alert" className="rounded-lg border border-rose-300 bg-rose-50 p-4 text-sm text-rose-900 dark:border-rose-900 dark:bg-rose-950/50 dark:text-rose-200">
      <p className="font-semibold">{title}</p>
      <p className="mt-1 break-words">{errorMessage(error)}</p>
      {onRetry && (
        <button type="button" onClick={onRetry} className="btn mt-3">
          Try again
        </button>
      )}
    </div>
  );
}

export function Loading({ label = "Loading…" }: { label?: string }) {
  return (
    <p role="status" className="p-4 text-sm text-slate-500 dark:text-slate-400">
      {label}
    </p>
  );
}
