// Series for the detail page's charts: one query per range and step, then —
// in live mode — small appends as reports arrive, never a full reload.

import { useCallback, useEffect, useRef, useState } from "react";
import { api } from "../../api/client";
import type { QueryResult } from "../../api/types";
import { useLiveEvents, useStreamConnected } from "../../hooks/useLiveEvents";
import { appendResult } from "../../lib/series";
import { chooseStep, isLive, resolveRange, type TimeRange } from "../../lib/step";

export interface SeriesState {
  result: QueryResult | null;
  error: unknown;
  loading: boolean;
  /** The window the charts show, in unix ms. */
  window: { fromMs: number; toMs: number } | null;
  /** The step asked of the server, in seconds. */
  step: number | null;
  reload: () => void;
}

interface Options {
  hostId: number;
  names: readonly string[];
  range: TimeRange;
  /** Plot width in px; nothing is fetched before the charts are laid out. */
  plotWidth: number;
  /** The host's report interval: no step finer than this. */
  minStepS: number;
  /** Where relative ranges end for an offline host (its last report), else null. */
  endAtMs: number | null;
  enabled?: boolean;
}

/** How often a non-live relative range is refreshed: often enough to stay current, rarely enough to be cheap. */
function refreshEveryMs(stepS: number): number {
  return Math.max(30_000, stepS * 1000);
}

export function useSeries({ hostId, names, range, plotWidth, minStepS, endAtMs, enabled = true }: Options): SeriesState {
  const [state, setState] = useState<Omit<SeriesState, "reload">>({ result: null, error: undefined, loading: true, window: null, step: null });
  const [generation, setGeneration] = useState(0);
  const streamConnected = useStreamConnected();
  const live = isLive(range) && endAtMs === null;

  // Round the width so that a resize by a few pixels does not refetch.
  const width = plotWidth > 0 ? Math.max(100, Math.round(plotWidth / 50) * 50) : 0;
  const span = resolveRange(range, 0, null);
  const step = chooseStep((span.toMs - span.fromMs) / 1000, width || 1, minStepS);
  const namesKey = names.join(",");
  const rangeKey = JSON.stringify(range);
  const current = useRef<{ result: QueryResult | null; step: number; fromMs: number }>({ result: null, step, fromMs: 0 });
  const appending = useRef<{ running: boolean; again: boolean }>({ running: false, again: false });
  const abort = useRef<AbortController | null>(null);

  // The full query, whenever what is asked changes.
  useEffect(() => {
    if (!enabled || width === 0 || names.length === 0) return;
    const controller = new AbortController();
    abort.current = controller;
    const window = resolveRange(JSON.parse(rangeKey) as TimeRange, Date.now(), endAtMs);
    setState((s) => ({ ...s, loading: true, error: undefined, step }));
    api.metrics(hostId, { names: namesKey, from: window.fromMs, to: window.toMs, step }, controller.signal).then(
      (result) => {
        if (controller.signal.aborted) return;
        current.current = { result, step, fromMs: window.fromMs };
        setState({ result, error: undefined, loading: false, window, step });
      },
      (error: unknown) => {
        if (controller.signal.aborted) return;
        setState((s) => ({ ...s, error, loading: false }));
      },
    );
    return () => controller.abort();
  }, [enabled, hostId, namesKey, rangeKey, step, width, endAtMs, generation, names.length]);

  // Live: fetch what is newer than the last bucket we have and append it.
  const appendNewer = useCallback(async () => {
    const base = current.current;
    if (!base.result || appending.current.running) {
      appending.current.again = appending.current.running;
      return;
    }
    appending.current.running = true;
    try {
      const lastTs = base.result.timestamps[base.result.timestamps.length - 1];
      const now = Date.now();
      const fromMs = lastTs ?? base.fromMs;
      const signal = abort.current?.signal;
      const newer = await api.metrics(hostId, { names: namesKey, from: fromMs, to: Math.max(now, fromMs + 1000), step: base.step }, signal);
      if (signal?.aborted || current.current !== base) return;
      const windowMs = (resolveRange(range, now).toMs - resolveRange(range, now).fromMs);
      const merged = appendResult(base.result, newer, now - windowMs);
      current.current = { ...base, result: merged };
      setState((s) => ({ ...s, result: merged, window: { fromMs: now - windowMs, toMs: now }, error: undefined }));
    } catch (error) {
      if (!(error instanceof DOMException && error.name === "AbortError")) setState((s) => ({ ...s, error }));
    } finally {
      appending.current.running = false;
      if (appending.current.again) {
        appending.current.again = false;
        void appendNewer();
      }
    }
  }, [hostId, namesKey, range]);

  useLiveEvents((event) => {
    if (live && enabled && event.type === "report" && event.data.host_id === hostId) void appendNewer();
  });

  // Without the stream, live mode polls at the report interval; other
  // relative ranges refresh now and then.
  useEffect(() => {
    if (!enabled) return;
    if (live) {
      if (streamConnected) return;
      const timer = setInterval(() => void appendNewer(), Math.max(1000, minStepS * 1000));
      return () => clearInterval(timer);
    }
    if (range.kind === "relative" && endAtMs === null) {
      const timer = setInterval(() => setGeneration((g) => g + 1), refreshEveryMs(step));
      return () => clearInterval(timer);
    }
  }, [enabled, live, streamConnected, appendNewer, minStepS, range.kind, endAtMs, step]);

  const reload = useCallback(() => setGeneration((g) => g + 1), []);
  return { ...state, reload };
}
