// Each check row's latency sparkline: its recent runs from
// /api/checks/{id}/results, fetched four at a time and again only when the
// check has run since (its `last_checked` moved).

import { useEffect, useRef, useState } from "react";
import { api } from "../../api/client";
import type { CheckView } from "../../api/types";
import { latencyValues, sparklineWindowMs } from "../../lib/checks";

const CONCURRENCY = 4;

export function useLatencySparklines(checks: readonly CheckView[] | undefined): ReadonlyMap<number, (number | null)[]> {
  const [lines, setLines] = useState<ReadonlyMap<number, (number | null)[]>>(() => new Map());
  /** The `last_checked` each line was fetched for. */
  const fetchedFor = useRef(new Map<number, number | null>());
  const inFlight = useRef(new Set<number>());
  const [signal, setSignal] = useState<AbortSignal | null>(null);

  useEffect(() => {
    const controller = new AbortController();
    setSignal(controller.signal);
    return () => controller.abort();
  }, []);

  useEffect(() => {
    if (!checks || !signal) return;
    const queue = checks.filter((c) => {
      if (inFlight.current.has(c.id)) return false;
      const at = c.last_checked ?? null;
      return !fetchedFor.current.has(c.id) || (at !== null && fetchedFor.current.get(c.id) !== at);
    });
    for (const c of queue) inFlight.current.add(c.id);
    const work = async () => {
      for (let c = queue.shift(); c; c = queue.shift()) {
        const check = c;
        try {
          const to = Date.now();
          const series = await api.checkResults(check.id, { from: to - sparklineWindowMs(check.interval_s), to }, signal);
          fetchedFor.current.set(check.id, check.last_checked ?? null);
          setLines((current) => new Map(current).set(check.id, latencyValues(series)));
        } catch {
          // The row keeps its previous line; the next refresh tries again.
        } finally {
          inFlight.current.delete(check.id);
        }
        if (signal.aborted) return;
      }
    };
    for (let i = 0; i < CONCURRENCY; i += 1) void work();
  }, [checks, signal]);

  return lines;
}
