// Loads the overview's per-host figures (one /metrics query per host) for
// the rows on screen first, a few at a time, and keeps them fresh.
//
// The server has no fleet-wide summary endpoint yet, so a fleet of thousands
// is summarised lazily: rows scrolled into view are fetched, small fleets are
// filled in the background so sorting by CPU covers every host.

import { api } from "../../api/client";
import type { Server } from "../../api/types";
import { SUMMARY_METRICS, SUMMARY_STEP_S, summarize, summaryWindow, type HostSummary } from "../../lib/summary";

interface Entry {
  summary: HostSummary;
  fetchedAt: number;
}

export class SummaryLoader {
  private readonly entries = new Map<number, Entry>();
  private readonly stale = new Set<number>();
  private readonly inFlight = new Set<number>();
  private queue: number[] = [];
  private servers = new Map<number, Server>();
  private readonly listeners = new Set<() => void>();
  private notifyScheduled = false;
  private readonly controller = new AbortController();
  /** A snapshot that changes identity on each update (for React). */
  private view: ReadonlyMap<number, HostSummary> = new Map();

  constructor(
    private readonly concurrency = 4,
    private readonly maxAgeMs = 30_000,
    /** A stale row (new report) is refetched at most this often: hosts may report every second. */
    private readonly minAgeMs = 5_000,
  ) {}

  setServers(servers: readonly Server[]): void {
    this.servers = new Map(servers.map((s) => [s.id, s]));
  }

  summaries(): ReadonlyMap<number, HostSummary> {
    return this.view;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A new report arrived: refetch the host's row when it is next wanted. */
  markStale(id: number): void {
    this.stale.add(id);
  }

  /**
   * Asks for these hosts' summaries: missing, stale or old ones are queued,
   * in front of the queue when `urgent` (rows on screen).
   */
  want(ids: readonly number[], urgent: boolean, nowMs = Date.now()): void {
    const needed = ids.filter((id) => {
      if (this.inFlight.has(id) || !this.servers.has(id)) return false;
      const entry = this.entries.get(id);
      if (!entry) return true;
      const age = nowMs - entry.fetchedAt;
      return age > this.maxAgeMs || (this.stale.has(id) && age >= this.minAgeMs);
    });
    if (needed.length === 0) return;
    const neededSet = new Set(needed);
    const rest = this.queue.filter((id) => !neededSet.has(id));
    this.queue = urgent ? [...needed, ...rest] : [...rest, ...needed];
    this.pump();
  }

  dispose(): void {
    this.controller.abort();
    this.listeners.clear();
    this.queue = [];
  }

  private pump(): void {
    while (this.inFlight.size < this.concurrency && this.queue.length > 0) {
      const id = this.queue.shift()!;
      const server = this.servers.get(id);
      if (!server || this.inFlight.has(id)) continue;
      this.inFlight.add(id);
      this.stale.delete(id);
      const { fromMs, toMs } = summaryWindow(server, Date.now());
      api
        .metrics(id, { names: SUMMARY_METRICS.join(","), from: fromMs, to: toMs, step: SUMMARY_STEP_S }, this.controller.signal)
        .then(
          (result) => {
            this.entries.set(id, { summary: summarize(result), fetchedAt: Date.now() });
            this.scheduleNotify();
          },
          () => {
            // A failed row keeps its old figures (or dashes) and is retried
            // when next wanted; the page shows list-level errors itself.
            this.entries.delete(id);
          },
        )
        .finally(() => {
          this.inFlight.delete(id);
          if (!this.controller.signal.aborted) this.pump();
        });
    }
  }

  /** Batches the updates of many rows into one re-render per frame. */
  private scheduleNotify(): void {
    if (this.notifyScheduled) return;
    this.notifyScheduled = true;
    const flush = () => {
      this.notifyScheduled = false;
      this.view = new Map([...this.entries].map(([id, e]) => [id, e.summary]));
      for (const listener of this.listeners) listener();
    };
    if (typeof requestAnimationFrame === "function") requestAnimationFrame(flush);
    else setTimeout(flush, 16);
  }
}
