// One health check in detail: its state and uptime, latency and up/down over
// a chosen range (24 hours unless the URL says otherwise), and its recent
// runs with their errors. A range that ends now follows new runs.

import { useCallback, useEffect, useMemo, useState } from "react";
import { api } from "../../api/client";
import { useMe } from "../../app/me";
import { handleLinkClick, navigate } from "../../app/router";
import { useTheme } from "../../app/theme";
import { Badge } from "../../components/Badge";
import { Card } from "../../components/Card";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { DataTable } from "../../components/DataTable";
import { ErrorPanel, Loading } from "../../components/ErrorPanel";
import { RangePicker } from "../../components/RangePicker";
import { StatusBadge } from "../../components/StatusBadge";
import { TimeChart } from "../../components/TimeChart";
import { useAction } from "../../hooks/useAction";
import { useElementWidth } from "../../hooks/useElementWidth";
import { useLiveEvents } from "../../hooks/useLiveEvents";
import { useNow } from "../../hooks/useNow";
import { useResource } from "../../hooks/useResource";
import { isTenantAdmin } from "../../lib/access";
import { chartColumns, checkState, checkTarget, recentRuns, runsOn, specOf, typeLabel, uptimeOf } from "../../lib/checks";
import { formatAgo, formatDateTime, formatDuration, formatLatency, formatNumber, formatUptime } from "../../lib/format";
import { rangeFromSearch, rangeToSearch, resolveRange, type RangeKey, type TimeRange } from "../../lib/step";
import { CheckDialog } from "./CheckDialog";
import { useHostnames } from "./useHostnames";

/** A check's runs are raw rows (no rollups), so a year is not offered. */
const RANGE_KEYS: readonly RangeKey[] = ["live", "1h", "6h", "24h", "7d", "30d"];
const DEFAULT_RANGE: RangeKey = "24h";
const RUNS_SHOWN = 100;

const UP_SERIES = [{ label: "up", color: "#10b981", stepped: true, dotIsolated: true }] as const;
const LATENCY_SERIES = [{ label: "latency", color: "#0ea5e9", dotIsolated: true }] as const;

function formatUpDown(v: number): string {
  return v >= 1 ? "up" : v <= 0 ? "down" : "";
}

export function CheckPage({ id, search }: { id: number; search: string }) {
  const { role } = useMe();
  const admin = isTenantAdmin(role);
  const theme = useTheme();
  const now = useNow(5000);
  const range = useMemo(() => rangeFromSearch(search, DEFAULT_RANGE), [search]);
  const setRange = useCallback((next: TimeRange) => navigate(`/checks/${id}${rangeToSearch(next, DEFAULT_RANGE)}`), [id]);
  const follows = range.kind === "relative";
  const check = useResource(`check-${id}`, (signal) => api.check(id, signal));
  const results = useResource(`check-results-${id}-${JSON.stringify(range)}`, async (signal) => {
    const window = resolveRange(range, Date.now());
    return { window, series: await api.checkResults(id, { from: Math.round(window.fromMs), to: Math.round(window.toMs) }, signal) };
  });
  const { servers, hostnames } = useHostnames();
  const [failuresOnly, setFailuresOnly] = useState(false);
  const [open, setOpen] = useState<"edit" | "delete" | null>(null);
  const pause = useAction();
  const [chartsRef, chartsWidth] = useElementWidth<HTMLDivElement>();

  // A state change comes as an event; runs in between are picked up by a
  // refresh at the check's pace (10 s to a minute).
  const { reload: reloadCheck } = check;
  const { reload: reloadResults } = results;
  useLiveEvents((event) => {
    if (event.type !== "check" || event.data.check_id !== id) return;
    reloadCheck();
    if (follows) reloadResults();
  });
  const intervalS = check.data?.interval_s ?? 60;
  useEffect(() => {
    const timer = setInterval(
      () => {
        reloadCheck();
        if (follows) reloadResults();
      },
      Math.min(60, Math.max(10, intervalS)) * 1000,
    );
    return () => clearInterval(timer);
  }, [intervalS, follows, reloadCheck, reloadResults]);

  const c = check.data;
  const series = results.data?.series;
  const window = results.data?.window;
  const columns = useMemo(
    () => (series && window ? chartColumns(series, { ...window, maxPoints: Math.max(60, Math.floor(chartsWidth)), intervalS }) : null),
    [series, window, chartsWidth, intervalS],
  );
  const runs = useMemo(() => (series ? recentRuns(series, RUNS_SHOWN, failuresOnly) : []), [series, failuresOnly]);
  const onZoom = useCallback((fromMs: number, toMs: number) => setRange({ kind: "absolute", fromMs, toMs }), [setRange]);

  if (check.error != null && !c) {
    return (
      <div className="space-y-3">
        <BackLink />
        <ErrorPanel title="This check could not be loaded" error={check.error} onRetry={check.reload} />
      </div>
    );
  }
  if (!c) return <Loading label="Loading check…" />;

  const spec = specOf(c);
  const state = checkState(c);
  const https = spec?.type === "http" && spec.url.toLowerCase().startsWith("https:");
  const chartProps = { theme, xRange: window, onZoom, syncKey: `check-${id}` };

  return (
    <div className="space-y-3">
      <BackLink />
      <div className="flex flex-wrap items-start justify-between gap-3">
        <div className="min-w-0">
          <h1 className="flex flex-wrap items-center gap-x-3 gap-y-1 text-xl font-semibold tracking-tight">
            <span className="truncate" data-testid="check-name">
              {c.name}
            </span>
            <StatusBadge state={state} testId="check-status" />
          </h1>
          <p className="text-sm break-all text-slate-500 dark:text-slate-400">
            {typeLabel(spec)} · <span className="font-mono">{checkTarget(spec)}</span> · every {formatDuration(c.interval_s)} · runs on {runsOn(c, hostnames)}
          </p>
        </div>
        <div className="flex flex-col items-end gap-2">
          {admin && (
            <div className="flex flex-wrap gap-1" role="group" aria-label="Check actions">
              <button type="button" className="btn" onClick={() => setOpen("edit")} data-testid="edit-check">
                Edit…
              </button>
              <button
                type="button"
                className="btn"
                disabled={pause.busy}
                onClick={async () => {
                  const result = await pause.run(() =>
                    api.updateCheck(c.id, { name: c.name, spec: c.spec, interval_s: c.interval_s, timeout_s: c.timeout_s, retries: c.retries, run_on_host: c.run_on_host ?? null, enabled: !c.enabled }),
                  );
                  if (result.ok) check.mutate(() => result.value);
                }}
              >
                {c.enabled ? "Pause" : "Resume"}
              </button>
              <button type="button" className="btn" onClick={() => setOpen("delete")}>
                Delete…
              </button>
            </div>
          )}
          <RangePicker range={range} onChange={setRange} keys={RANGE_KEYS} />
        </div>
      </div>
      {pause.error != null && <ErrorPanel title="The check could not be changed" error={pause.error} />}

      {state === "down" && c.last_error && (
        <p role="status" data-testid="down-banner" className="rounded-md border border-rose-300 bg-rose-50 px-3 py-2 text-sm break-words text-rose-900 dark:border-rose-900 dark:bg-rose-950/50 dark:text-rose-200">
          Down since {formatDateTime(c.last_change, { nowMs: now })}: {c.last_error}
        </p>
      )}
      {range.kind === "absolute" && (
        <p className="flex flex-wrap items-center gap-2 text-sm">
          Zoomed to {formatDateTime(range.fromMs, { nowMs: now })} – {formatDateTime(range.toMs, { nowMs: now })}
          <button type="button" className="btn px-2 py-0.5 text-xs" onClick={() => setRange({ kind: "relative", key: DEFAULT_RANGE })}>
            Back to 24 h
          </button>
        </p>
      )}

      <Card>
        <dl className="grid grid-cols-2 gap-x-6 gap-y-3 text-sm sm:grid-cols-3 lg:grid-cols-6" data-testid="check-figures">
          <Figure label="Uptime 24 h" value={formatUptime(c.uptime.h24)} />
          <Figure label="Uptime 7 d" value={formatUptime(c.uptime.d7)} />
          <Figure label="Uptime 30 d" value={formatUptime(c.uptime.d30)} />
          <Figure label="In this range" value={series ? formatUptime(uptimeOf(series)) : "…"} note={series ? `${series.timestamps.length} runs` : undefined} />
          <Figure label="Latency" value={state === "down" ? "—" : formatLatency(c.last_latency_ms)} note={c.last_checked ? `checked ${formatAgo(c.last_checked, now)}` : "not run yet"} />
          {https ? (
            <Figure
              label="Certificate"
              value={
                c.cert_days_left === null || c.cert_days_left === undefined ? (
                  "—"
                ) : (
                  <Badge tone={c.cert_days_left < certWarnDays(spec) ? "warning" : "neutral"}>{formatNumber(c.cert_days_left, 0)} days left</Badge>
                )
              }
              testId="cert-days"
            />
          ) : (
            <Figure label="Retries" value={String(c.retries)} note={`timeout ${c.timeout_s} s`} />
          )}
        </dl>
      </Card>

      {results.error != null && <ErrorPanel title="The history could not be loaded" error={results.error} onRetry={results.reload} />}
      <div ref={chartsRef} className="grid gap-3 xl:grid-cols-2">
        <Card title="Latency">
          {!columns ? (
            <Loading label="Loading history…" />
          ) : columns[0].length === 0 ? (
            <NoRuns />
          ) : (
            <TimeChart id="check-latency" title={`Latency of ${c.name}`} data={[columns[0], columns[1]]} series={LATENCY_SERIES} format={formatLatency} {...chartProps} />
          )}
        </Card>
        <Card title="Up / down">
          {!columns ? (
            <Loading label="Loading history…" />
          ) : columns[0].length === 0 ? (
            <NoRuns />
          ) : (
            <TimeChart id="check-up" title={`Up or down, ${c.name}`} data={[columns[0], columns[2]]} series={UP_SERIES} format={formatUpDown} yRange={[0, 1]} height={120} {...chartProps} />
          )}
        </Card>
      </div>

      <Card
        title="Recent runs"
        actions={
          <label className="flex items-center gap-1.5 text-xs">
            <input type="checkbox" className="accent-sky-600" checked={failuresOnly} onChange={(e) => setFailuresOnly(e.target.checked)} data-testid="failures-only" />
            failures only
          </label>
        }
      >
        {!series ? (
          <Loading label="Loading runs…" />
        ) : (
          <DataTable
            caption={`Recent runs of ${c.name}`}
            rows={runs}
            rowKey={(r) => r.ts}
            wrap
            stack
            rowAttrs={(r) => ({ "data-testid": "run-row", "data-up": String(r.up) })}
            empty={failuresOnly ? "No failed runs in this range." : "No runs in this range."}
            columns={[
              { header: "Time", cell: (r) => <span className="whitespace-nowrap">{formatDateTime(r.ts, { nowMs: now })}</span> },
              { header: "Result", cell: (r) => <StatusBadge state={r.up ? "up" : "down"} /> },
              { header: "Latency", numeric: true, cell: (r) => formatLatency(r.latencyMs) },
              ...(https ? [{ header: "Certificate", numeric: true, cell: (r: (typeof runs)[number]) => (r.certDaysLeft === null ? "—" : `${formatNumber(r.certDaysLeft, 0)} d`) }] : []),
              { header: "Error", cell: (r) => (r.error ? <span className="break-words text-rose-700 dark:text-rose-400">{r.error}</span> : "") },
            ]}
          />
        )}
        {series && runs.length === RUNS_SHOWN && <p className="mt-2 text-xs text-slate-500 dark:text-slate-400">The newest {RUNS_SHOWN} are shown; choose a shorter range or zoom into the chart for older ones.</p>}
      </Card>

      {open === "edit" && (
        <CheckDialog
          check={c}
          servers={servers}
          onClose={() => setOpen(null)}
          onSaved={(saved) => {
            check.mutate(() => saved);
            setOpen(null);
          }}
        />
      )}
      {open === "delete" && (
        <ConfirmDialog
          title={`Delete check ${c.name}?`}
          confirmLabel="Delete check"
          danger
          onClose={() => setOpen(null)}
          onConfirm={async () => {
            await api.deleteCheck(c.id);
            navigate("/checks");
          }}
        >
          Its history and uptime go with it, and status pages stop showing it.
        </ConfirmDialog>
      )}
    </div>
  );
}

/** The spec's certificate warning threshold in days (the server's default 14; never: no warning). */
function certWarnDays(spec: ReturnType<typeof specOf>): number {
  if (spec?.type !== "http") return 0;
  if (spec.cert_warn_days === undefined) return 14;
  return spec.cert_warn_days ?? 0;
}

function Figure({ label, value, note, testId }: { label: string; value: React.ReactNode; note?: string; testId?: string }) {
  return (
    <div className="min-w-0">
      <dt className="text-xs text-slate-500 dark:text-slate-400">{label}</dt>
      <dd className="text-base font-semibold tabular-nums" data-testid={testId}>
        {value}
      </dd>
      {note && <dd className="text-xs text-slate-500 dark:text-slate-400">{note}</dd>}
    </div>
  );
}

function NoRuns() {
  return <p className="py-8 text-center text-sm text-slate-500 dark:text-slate-400">No runs in this range.</p>;
}

function BackLink() {
  return (
    <a href="/checks" onClick={(e) => handleLinkClick(e, "/checks")} className="link text-sm">
      ← Health checks
    </a>
  );
}
