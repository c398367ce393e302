import { useCallback, useEffect, useRef, useState } from "react";

export type ActionResult<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** A form's submission: whether it is under way and what went wrong, if anything. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const mounted = useRef(true);
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);
  const run = useCallback(async <T,>(work: () => Promise<T>): Promise<ActionResult<T>> => {
    setBusy(true);
    setError(null);
    try {
      const value = await work();
      return { ok: true, value };
    } catch (e) {
      if (mounted.current) setError(e);
      return { ok: false, error: e };
    } finally {
      if (mounted.current) setBusy(false);
    }
  }, []);
  const reset = useCallback(() => setError(null), []);
  return { busy, error, run, reset, setError };
}
