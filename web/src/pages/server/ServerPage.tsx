// One host in detail: charts over a chosen range (live by default), tables
// of its filesystems, interfaces and top processes, and what it runs.

import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { api } from "../../api/client";
import { handleLinkClick, navigate } from "../../app/router";
import { useTheme } from "../../app/theme";
import { Card } from "../../components/Card";
import { ErrorPanel, Loading } from "../../components/ErrorPanel";
import { RangePicker } from "../../components/RangePicker";
import { StatusBadge } from "../../components/StatusBadge";
import { TimeChart } from "../../components/TimeChart";
import { useElementWidth } from "../../hooks/useElementWidth";
import { useLiveEvents, useStreamConnected } from "../../hooks/useLiveEvents";
import { useNow } from "../../hooks/useNow";
import { useResource } from "../../hooks/useResource";
import { formatDateTime, formatDuration } from "../../lib/format";
import { hostState, offlineSince } from "../../lib/status";
import { isLive, rangeFromSearch, rangeToSearch, type TimeRange } from "../../lib/step";
import { buildCharts, buildPerCoreChart, CHART_METRICS, PER_CORE_METRICS, type ChartSpec } from "./charts";
import { CommandsCard } from "./Commands";
import { HostInfo } from "./HostInfo";
import { InterfacesTable, MountsTable, ProcessesTable } from "./Tables";
import { latestScalar } from "./tables";
import { useSeries } from "./useSeries";

/** Charts sit in columns at least this wide (px), matching the grid's CSS. */
const CHART_MIN_WIDTH = 448;
const GRID_GAP = 12;
/** Card padding and the y axis take this much of a column. */
const CHART_CHROME = 32 + 70;

function plotWidthFor(gridWidth: number): number {
  if (gridWidth === 0) return 0;
  const columns = Math.max(1, Math.floor((gridWidth + GRID_GAP) / (CHART_MIN_WIDTH + GRID_GAP)));
  return Math.max(100, (gridWidth - GRID_GAP * (columns - 1)) / columns - CHART_CHROME);
}

export function ServerPage({ id, search }: { id: number; search: string }) {
  const range = useMemo(() => rangeFromSearch(search), [search]);
  const setRange = useCallback((next: TimeRange) => navigate(`/servers/${id}${rangeToSearch(next)}`), [id]);
  const server = useResource(`server-${id}`, (signal) => api.server(id, signal));
  const latest = useResource(`latest-${id}`, (signal) => api.latest(id, signal));
  const streamConnected = useStreamConnected();
  const now = useNow(1000);
  const theme = useTheme();
  const [perCore, setPerCore] = useState(false);
  const [gridRef, gridWidth] = useElementWidth<HTMLDivElement>();
  const plotWidth = plotWidthFor(gridWidth);

  const host = server.data;
  const endAtMs = host ? offlineSince(host) : null;
  const minStepS = host?.interval_s ?? 1;
  const seriesOptions = { hostId: id, range, plotWidth, minStepS, endAtMs, enabled: host !== undefined };
  const main = useSeries({ ...seriesOptions, names: CHART_METRICS });
  const cores = useSeries({ ...seriesOptions, names: PER_CORE_METRICS, enabled: host !== undefined && perCore });

  // Live events keep the header and tables current.
  const lastLatestFetch = useRef(0);
  const { mutate: mutateServer } = server;
  const { reload: reloadLatest } = latest;
  useLiveEvents((event) => {
    if ((event.type !== "report" && event.type !== "host") || event.data.host_id !== id) return;
    if (event.type === "host") {
      mutateServer((s) => s && { ...s, status: event.data.status, last_seen: event.data.last_seen });
      return;
    }
    mutateServer((s) => s && { ...s, status: "online", last_seen: Math.max(s.last_seen ?? 0, event.data.ts) });
    if (Date.now() - lastLatestFetch.current > 3000) {
      lastLatestFetch.current = Date.now();
      reloadLatest();
    }
  });
  useEffect(() => {
    if (streamConnected) return;
    const timer = setInterval(() => {
      server.reload();
      reloadLatest();
    }, Math.max(5000, minStepS * 1000));
    return () => clearInterval(timer);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [streamConnected, minStepS, reloadLatest, server.reload]);

  const charts: ChartSpec[] = useMemo(() => (main.result ? buildCharts(main.result) : []), [main.result]);
  const perCoreChart = useMemo(() => (perCore && cores.result ? buildPerCoreChart(cores.result) : null), [perCore, cores.result]);
  const onZoom = useCallback((fromMs: number, toMs: number) => setRange({ kind: "absolute", fromMs, toMs }), [setRange]);

  if (server.error && !host) {
    return (
      <div className="space-y-3">
        <BackLink />
        <ErrorPanel title="This server could not be loaded" error={server.error} onRetry={server.reload} />
      </div>
    );
  }
  if (!host) return <Loading label="Loading server…" />;

  const state = hostState(host);
  const coresCount = latest.data ? latestScalar(latest.data.values, "cpu.cores_count") : null;
  const chartProps = { theme, xRange: main.window ?? undefined, onZoom, syncKey: `host-${id}` };

  return (
    <div className="space-y-3">
      <BackLink />
      <div className="flex flex-wrap items-start justify-between gap-3">
        <div className="min-w-0">
          <h1 className="flex flex-wrap items-center gap-x-3 gap-y-1 text-xl font-semibold tracking-tight">
            <span className="truncate" data-testid="server-hostname">
              {host.hostname}
            </span>
            <StatusBadge state={state} />
          </h1>
          <p className="text-sm text-slate-500 dark:text-slate-400">
            {[host.os, host.kernel, host.arch].filter(Boolean).join(" · ")}
            {state === "online" && host.boot_time ? ` · up ${formatDuration(now / 1000 - host.boot_time)}` : ""}
          </p>
        </div>
        <div className="flex flex-col items-end gap-1">
          <RangePicker range={range} onChange={setRange} />
          <QueryNote live={isLive(range) && endAtMs === null} streaming={streamConnected} step={main.step} tier={main.result?.tier} />
        </div>
      </div>

      {state === "offline" && (
        <p role="status" data-testid="offline-banner" className="rounded-md border border-rose-300 bg-rose-50 px-3 py-2 text-sm text-rose-900 dark:border-rose-900 dark:bg-rose-950/50 dark:text-rose-200">
          Offline since {formatDateTime(host.last_seen, { nowMs: now })}. Charts end at its last report.
        </p>
      )}
      {range.kind === "absolute" && (
        <p className="flex flex-wrap items-center gap-2 text-sm">
          Zoomed to {formatDateTime(range.fromMs, { nowMs: now })} – {formatDateTime(range.toMs, { nowMs: now })}
          <button type="button" className="btn px-2 py-0.5 text-xs" onClick={() => setRange({ kind: "relative", key: "live" })}>
            Back to live
          </button>
        </p>
      )}
      {main.error != null && <ErrorPanel title="Charts could not be loaded" error={main.error} onRetry={main.reload} />}

      <div ref={gridRef} className="grid grid-cols-[repeat(auto-fit,minmax(min(28rem,100%),1fr))] gap-3">
        {charts.length === 0 && main.loading && <Loading label="Loading charts…" />}
        {charts.map((chart) => (
          <Card
            key={chart.id}
            title={chart.title}
            actions={
              chart.id === "cpu" ? (
                <label className="flex items-center gap-1.5 text-xs">
                  <input type="checkbox" checked={perCore} onChange={(e) => setPerCore(e.target.checked)} className="accent-sky-600" data-testid="per-core-toggle" />
                  per core
                </label>
              ) : undefined
            }
          >
            <ChartBody chart={chart} {...chartProps} />
          </Card>
        ))}
        {perCore && (
          <Card title="CPU per core">
            {perCoreChart ? <ChartBody chart={perCoreChart} {...chartProps} xRange={cores.window ?? undefined} /> : cores.error ? <ErrorPanel error={cores.error} onRetry={cores.reload} /> : <Loading />}
          </Card>
        )}
      </div>

      <div className="grid gap-3 lg:grid-cols-2">
        <Card title="Filesystems">{latest.data ? <MountsTable latest={latest.data} /> : <LatestFallback error={latest.error} retry={latest.reload} />}</Card>
        <Card title="Network interfaces">{latest.data ? <InterfacesTable latest={latest.data} /> : <LatestFallback error={latest.error} retry={latest.reload} />}</Card>
        <Card title="Top processes">{latest.data ? <ProcessesTable latest={latest.data} /> : <LatestFallback error={latest.error} retry={latest.reload} />}</Card>
        <Card title="Host">
          <HostInfo server={host} cores={coresCount} nowMs={now} />
        </Card>
        <CommandsCard host={host} />
      </div>
    </div>
  );
}

function ChartBody({ chart, ...props }: { chart: ChartSpec } & Omit<React.ComponentProps<typeof TimeChart>, "id" | "title" | "data" | "series" | "format" | "yRange" | "binary">) {
  if (chart.series.length === 0) return <p className="py-8 text-center text-sm text-slate-500 dark:text-slate-400">No {chart.title.toLowerCase()} data reported.</p>;
  return <TimeChart id={chart.id} title={chart.title} data={chart.data} series={chart.series} format={chart.format} binary={chart.binary} yRange={chart.yRange} {...props} />;
}

function LatestFallback({ error, retry }: { error: unknown; retry: () => void }) {
  return error ? <ErrorPanel title="Latest values could not be loaded" error={error} onRetry={retry} /> : <Loading />;
}

function BackLink() {
  return (
    <a href="/" onClick={(e) => handleLinkClick(e, "/")} className="link text-sm">
      ← Fleet overview
    </a>
  );
}

function stepText(step: number): string {
  return step < 60 ? `${step} s` : formatDuration(step);
}

/** Says how the charts are fed: live by stream or polling, and at which step and tier. */
function QueryNote({ live, streaming, step, tier }: { live: boolean; streaming: boolean; step: number | null; tier: string | undefined }) {
  return (
    <p className="text-xs text-slate-500 dark:text-slate-400" data-testid="query-note">
      {live && (streaming ? "live · " : "live (polling) · ")}
      {step !== null && `step ${stepText(step)}`}
      {tier && ` · ${tier === "raw" ? "raw samples" : `${tier} rollups`}`}
    </p>
  );
}
