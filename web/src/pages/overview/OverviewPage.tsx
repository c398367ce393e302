// The fleet overview: every host with its state and current figures, counts
// by state, filtering and sorting, and (later) recent alarms.

import { useCallback, useEffect, useMemo, useRef, useState, useSyncExternalStore } from "react";
import { api } from "../../api/client";
import type { Server } from "../../api/types";
import { Card } from "../../components/Card";
import { ErrorPanel, Loading } from "../../components/ErrorPanel";
import { FilterButtons } from "../../components/FilterButtons";
import { VirtualList } from "../../components/VirtualList";
import { useElementWidth } from "../../hooks/useElementWidth";
import { useLiveEvents, useStreamConnected } from "../../hooks/useLiveEvents";
import { useNow } from "../../hooks/useNow";
import { useResource } from "../../hooks/useResource";
import { SORT_LABELS, selectHosts, type SortKey, type StatusFilter } from "../../lib/fleet";
import { countByState } from "../../lib/status";
import type { HostSummary } from "../../lib/summary";
import { HostRow, ROW_HEIGHT_COMPACT, ROW_HEIGHT_WIDE, WIDE_GRID } from "./HostRow";
import { SummaryLoader } from "./summaryLoader";

/** Fleets up to this size get every row's figures loaded, so sorting by a figure sees all hosts. */
const BACKGROUND_FILL_LIMIT = 500;

const SUMMARY_SORTS: ReadonlySet<SortKey> = new Set(["cpu", "memory", "disk", "rx", "tx"]);
const NO_SUMMARIES: ReadonlyMap<number, HostSummary> = new Map();

const STATUS_FILTERS: { key: StatusFilter; label: string }[] = [
  { key: "all", label: "All" },
  { key: "online", label: "Online" },
  { key: "offline", label: "Offline" },
  { key: "never", label: "No data" },
];

function useSummaryLoader(servers: readonly Server[] | undefined) {
  const loader = useMemo(() => new SummaryLoader(), []);
  useEffect(() => () => loader.dispose(), [loader]);
  const summaries = useSyncExternalStore(
    useCallback((listener) => loader.subscribe(listener), [loader]),
    () => loader.summaries(),
  );
  useEffect(() => {
    if (!servers) return;
    loader.setServers(servers);
    if (servers.length <= BACKGROUND_FILL_LIMIT) loader.want(servers.map((s) => s.id), false);
  }, [loader, servers]);
  return { loader, summaries };
}

export function OverviewPage() {
  const servers = useResource("servers", (signal) => api.servers(signal));
  const { loader, summaries } = useSummaryLoader(servers.data);
  const streamConnected = useStreamConnected();
  const now = useNow(5000);
  const [filter, setFilter] = useState("");
  const [status, setStatus] = useState<StatusFilter>("all");
  const [sort, setSort] = useState<SortKey>("name");
  const [descending, setDescending] = useState(false);
  const [listBox, width] = useElementWidth<HTMLDivElement>();
  const compact = width > 0 && width < 880;
  const visibleIds = useRef<number[]>([]);

  // Live: a host's state changes in place; a report marks its figures stale;
  // an unknown host means the list itself is out of date. A big fleet sends
  // hundreds of events a second, so they are applied in one batch a second.
  const { mutate, reload } = servers;
  const pending = useRef(new Map<number, Pick<Server, "status" | "last_seen">>());
  const flushTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => () => clearTimeout(flushTimer.current), []);
  const knownIds = useMemo(() => new Set(servers.data?.map((s) => s.id)), [servers.data]);
  useLiveEvents((event) => {
    if (event.type !== "report" && event.type !== "host") return;
    const id = event.data.host_id;
    const before = pending.current.get(id);
    if (event.type === "host") {
      pending.current.set(id, { status: event.data.status, last_seen: event.data.last_seen ?? before?.last_seen ?? null });
    } else {
      loader.markStale(id);
      pending.current.set(id, { status: "online", last_seen: Math.max(before?.last_seen ?? 0, event.data.ts) });
    }
    if (flushTimer.current !== undefined) return;
    flushTimer.current = setTimeout(() => {
      flushTimer.current = undefined;
      const patches = pending.current;
      pending.current = new Map();
      if ([...patches.keys()].some((hostId) => !knownIds.has(hostId))) reload();
      mutate((list) =>
        list?.map((s) => {
          const patch = patches.get(s.id);
          if (!patch) return s;
          // A report event carries the report's time; never move last_seen back.
          const lastSeen = patch.last_seen === null ? s.last_seen : Math.max(s.last_seen ?? 0, patch.last_seen ?? 0);
          return { ...s, status: patch.status, last_seen: lastSeen };
        }),
      );
    }, 1000);
  });

  // The list is refetched now and then for states the stream did not tell
  // (often while the stream is down), and visible rows are kept fresh.
  useEffect(() => {
    const timer = setInterval(reload, streamConnected ? 60_000 : 10_000);
    return () => clearInterval(timer);
  }, [reload, streamConnected]);
  useEffect(() => {
    const timer = setInterval(() => loader.want(visibleIds.current, true), 5000);
    return () => clearInterval(timer);
  }, [loader]);

  // Rows' figures arrive many times a second on a big fleet; only a sort by
  // a figure needs them, so other sorts do not re-sort on each arrival.
  const sortSummaries = SUMMARY_SORTS.has(sort) ? summaries : NO_SUMMARIES;
  const hosts = useMemo(
    () => (servers.data ? selectHosts(servers.data, { filter, status, sort, descending, summaries: sortSummaries, nowMs: now }) : []),
    // `now` only matters for uptime sorting; re-sorting every tick would make rows jump.
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [servers.data, filter, status, sort, descending, sortSummaries, sort === "uptime" ? now : 0],
  );
  const counts = useMemo(() => countByState(servers.data ?? []), [servers.data]);

  // Rows flung past while scrolling are not worth a request: ask once the
  // list has been still for a moment.
  const wantTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => () => clearTimeout(wantTimer.current), []);
  const onRangeChange = useCallback(
    (start: number, end: number) => {
      visibleIds.current = hosts.slice(start, end).map((h) => h.id);
      clearTimeout(wantTimer.current);
      wantTimer.current = setTimeout(() => loader.want(visibleIds.current, true), 100);
    },
    [hosts, loader],
  );

  const chooseSort = (key: SortKey) => {
    if (key === sort) setDescending((d) => !d);
    else {
      setSort(key);
      // Figures read best largest first; names alphabetically.
      setDescending(key !== "name" && key !== "status");
    }
  };

  if (servers.error && !servers.data) return <ErrorPanel title="The host list could not be loaded" error={servers.error} onRetry={servers.reload} />;

  return (
    <div className="flex min-h-0 flex-1 flex-col gap-3">
      <div className="flex flex-wrap items-end justify-between gap-3">
        <h1 className="text-xl font-semibold tracking-tight">Fleet overview</h1>
        <FilterButtons
          label="Filter by state"
          testId="status-counts"
          options={STATUS_FILTERS.map((f) => ({ ...f, count: counts[f.key] }))}
          value={status}
          onChange={setStatus}
        />
      </div>

      <div className="grid items-start gap-3 2xl:grid-cols-[1fr_18rem]">
        <Card className="flex flex-col">
          <div className="mb-2 flex flex-wrap items-center gap-2">
            <label className="min-w-[12rem] flex-1">
              <span className="sr-only">Filter hosts</span>
              <input type="search" className="input" placeholder="Filter by name or label (env=prod)…" value={filter} onChange={(e) => setFilter(e.target.value)} data-testid="host-filter" />
            </label>
            {compact && (
              <div className="flex items-center gap-1">
                <label className="text-sm">
                  <span className="sr-only">Sort by</span>
                  <select className="input w-auto" value={sort} onChange={(e) => chooseSort(e.target.value as SortKey)}>
                    {Object.entries(SORT_LABELS).map(([key, label]) => (
                      <option key={key} value={key}>
                        {label}
                      </option>
                    ))}
                  </select>
                </label>
                <button type="button" className="btn" onClick={() => setDescending((d) => !d)} aria-label={descending ? "Sorted descending" : "Sorted ascending"}>
                  {descending ? "↓" : "↑"}
                </button>
              </div>
            )}
            <span className="text-xs text-slate-500 dark:text-slate-400" aria-live="polite">
              {hosts.length} of {counts.all} hosts
            </span>
          </div>
          {!compact && <HeaderRow sort={sort} descending={descending} onSort={chooseSort} />}
          <div ref={listBox} className="flex flex-col">
            {servers.loading && !servers.data ? (
              <Loading label="Loading hosts…" />
            ) : hosts.length === 0 ? (
              <p className="p-4 text-sm text-slate-500 dark:text-slate-400">
                {counts.all === 0 ? "No host has reported yet. Create an agent key with `lxmon-server agent-key create` and start an agent." : "No host matches the filter."}
              </p>
            ) : (
              <VirtualList
                ariaLabel="Hosts"
                // As tall as its rows, at most the window's height less the page's header.
                style={{ height: `min(${hosts.length * (compact ? ROW_HEIGHT_COMPACT : ROW_HEIGHT_WIDE)}px, max(16rem, calc(100dvh - 15rem)))` }}
                items={hosts}
                rowHeight={compact ? ROW_HEIGHT_COMPACT : ROW_HEIGHT_WIDE}
                getKey={(h) => h.id}
                onRangeChange={onRangeChange}
                renderRow={(h) => <HostRow server={h} summary={summaries.get(h.id)} nowMs={now} compact={compact} />}
              />
            )}
          </div>
        </Card>
        <Card title="Recent alarms" className="h-fit">
          <p className="text-sm text-slate-500 dark:text-slate-400" data-testid="alarms-placeholder">
            Alarms arrive with alert rules in a later release. Hosts that stopped reporting are listed under <em>Offline</em>.
          </p>
        </Card>
      </div>
    </div>
  );
}

const HEADER_COLUMNS: { key: SortKey; label: string }[] = [
  { key: "name", label: "Host" },
  { key: "status", label: "Status" },
  { key: "cpu", label: "CPU" },
  { key: "cpu", label: "" },
  { key: "memory", label: "Memory" },
  { key: "disk", label: "Fullest disk" },
  { key: "rx", label: "Network" },
  { key: "uptime", label: "Uptime" },
];

function HeaderRow({ sort, descending, onSort }: { sort: SortKey; descending: boolean; onSort: (key: SortKey) => void }) {
  return (
    <div className={`${WIDE_GRID} border-b border-slate-200 px-3 pb-1.5 text-xs font-semibold text-slate-500 dark:border-slate-800 dark:text-slate-400`}>
      {HEADER_COLUMNS.map((column, i) =>
        column.label === "" ? (
          <span key={i} aria-hidden="true" />
        ) : (
          <button
            key={i}
            type="button"
            onClick={() => onSort(column.key)}
            aria-pressed={sort === column.key}
            title={`Sort by ${column.label.toLowerCase()}`}
            className="flex items-center gap-1 text-left hover:text-slate-900 focus-visible:outline-2 focus-visible:outline-sky-500 dark:hover:text-slate-100"
          >
            {column.label}
            {sort === column.key && <span aria-hidden="true">{descending ? "▼" : "▲"}</span>}
            {sort === column.key && <span className="sr-only">{descending ? "(sorted descending)" : "(sorted ascending)"}</span>}
          </button>
        ),
      )}
    </div>
  );
}
