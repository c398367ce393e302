// Health checks: every check with its state, latency and uptime, kept
// current by the event stream's `check` events (a state change) and a
// periodic refresh (latency and uptime move on every run); the editor for
// admins; and the tenant's public status pages.

import { useEffect, useMemo, useRef, useState } from "react";
import { api } from "../../api/client";
import type { CheckView } from "../../api/types";
import { useMe } from "../../app/me";
import { handleLinkClick } from "../../app/router";
import { Card } from "../../components/Card";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { DataTable } from "../../components/DataTable";
import { ErrorPanel, Loading } from "../../components/ErrorPanel";
import { FilterButtons } from "../../components/FilterButtons";
import { Notice, PageHeader } from "../../components/Form";
import { Sparkline, sparklineMax } from "../../components/Sparkline";
import { StatusBadge } from "../../components/StatusBadge";
import { useLiveEvents, useStreamConnected } from "../../hooks/useLiveEvents";
import { useNow } from "../../hooks/useNow";
import { useResource } from "../../hooks/useResource";
import { isTenantAdmin } from "../../lib/access";
import { checkState, checkTarget, countByCheckState, runsOn, selectChecks, specOf, typeLabel, type CheckFilter } from "../../lib/checks";
import { formatAgo, formatLatency, formatUptime } from "../../lib/format";
import { CheckDialog } from "./CheckDialog";
import { StatusPagesCard } from "./StatusPages";
import { useHostnames } from "./useHostnames";
import { useLatencySparklines } from "./useLatencySparklines";

const STATE_FILTERS: { key: CheckFilter; label: string }[] = [
  { key: "all", label: "All" },
  { key: "up", label: "Up" },
  { key: "down", label: "Down" },
  { key: "pending", label: "Pending" },
  { key: "paused", label: "Paused" },
];

type Open = { kind: "create" } | { kind: "edit"; check: CheckView } | { kind: "delete"; check: CheckView } | null;

export function ChecksPage() {
  const { role } = useMe();
  const admin = isTenantAdmin(role);
  const checks = useResource("checks", (signal) => api.checks(signal));
  const { servers, hostnames } = useHostnames();
  const sparklines = useLatencySparklines(checks.data);
  const streamConnected = useStreamConnected();
  const now = useNow(5000);
  const [text, setText] = useState("");
  const [state, setState] = useState<CheckFilter>("all");
  const [open, setOpen] = useState<Open>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const close = () => setOpen(null);

  // A state change arrives as an event: the row changes at once, and the
  // list is asked again shortly after for the run's latency and uptime.
  const { mutate, reload } = checks;
  const reloadTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => () => clearTimeout(reloadTimer.current), []);
  useLiveEvents((event) => {
    if (event.type !== "check") return;
    const { check_id, status, error } = event.data;
    mutate((list) => list?.map((c) => (c.id === check_id ? { ...c, status, last_error: error ?? null } : c)));
    clearTimeout(reloadTimer.current);
    reloadTimer.current = setTimeout(reload, 500);
  });
  // Runs without a state change send no event: refresh now and then, more
  // often while the stream is down.
  useEffect(() => {
    const timer = setInterval(reload, streamConnected ? 30_000 : 10_000);
    return () => clearInterval(timer);
  }, [reload, streamConnected]);

  const rows = useMemo(() => (checks.data ? selectChecks(checks.data, { text, state, hostnames }) : []), [checks.data, text, state, hostnames]);
  const counts = useMemo(() => countByCheckState(checks.data ?? []), [checks.data]);

  return (
    <div className="space-y-3">
      <PageHeader
        title="Health checks"
        description="Web sites, ports, hosts and DNS records watched from the server or from an agent, with their uptime."
        actions={
          admin && (
            <button type="button" className="btn btn-primary" onClick={() => setOpen({ kind: "create" })} data-testid="add-check">
              Add check
            </button>
          )
        }
      />
      {notice && <Notice testId="checks-notice">{notice}</Notice>}

      <Card>
        <div className="mb-2 flex flex-wrap items-center gap-2">
          <label className="min-w-[12rem] flex-1">
            <span className="sr-only">Filter checks</span>
            <input type="search" className="input" placeholder="Filter by name, target, host or error…" value={text} onChange={(e) => setText(e.target.value)} data-testid="check-filter" />
          </label>
          <FilterButtons
            label="Filter by state"
            testId="check-counts"
            options={STATE_FILTERS.map((f) => ({ ...f, count: counts[f.key] }))}
            value={state}
            onChange={setState}
          />
        </div>
        {checks.error != null && !checks.data ? (
          <ErrorPanel title="The checks could not be loaded" error={checks.error} onRetry={checks.reload} />
        ) : !checks.data ? (
          <Loading label="Loading checks…" />
        ) : (
          <DataTable
            caption="Health checks"
            rows={rows}
            rowKey={(c) => c.id}
            stack
            rowAttrs={(c) => ({ "data-testid": "check-row", "data-name": c.name, "data-state": checkState(c) })}
            empty={checks.data.length === 0 ? (admin ? "No checks yet. Add one to watch a web site, a port, a host or a DNS record." : "No checks yet.") : "No check matches the filter."}
            columns={[
              {
                header: "Name",
                cell: (c) => (
                  <a className="link font-medium" href={`/checks/${c.id}`} onClick={(e) => handleLinkClick(e, `/checks/${c.id}`)}>
                    {c.name}
                  </a>
                ),
              },
              {
                header: "Type",
                cell: (c) => (
                  <span className="flex flex-col items-start">
                    {typeLabel(specOf(c))}
                    <span className="text-xs text-slate-500 dark:text-slate-400" title="Where it runs" data-testid="check-runs-on">
                      from {runsOn(c, hostnames)}
                    </span>
                  </span>
                ),
              },
              {
                header: "Target",
                cell: (c) => {
                  const target = checkTarget(specOf(c));
                  return (
                    <span className="block max-w-[14rem] truncate font-mono text-xs" title={target}>
                      {target}
                    </span>
                  );
                },
              },
              {
                header: "Status",
                cell: (c) => (
                  <span className="flex flex-col items-start gap-0.5">
                    <StatusBadge state={checkState(c)} testId="check-status" />
                    <span className="text-xs text-slate-500 dark:text-slate-400">{c.last_checked ? formatAgo(c.last_checked, now) : "not run yet"}</span>
                  </span>
                ),
              },
              {
                header: "Latency",
                cell: (c) => {
                  const line = sparklines.get(c.id) ?? [];
                  return (
                    <span className="flex items-center gap-2">
                      <span className="w-16 text-right tabular-nums" data-testid="check-latency">
                        {c.status === "down" ? "—" : formatLatency(c.last_latency_ms)}
                      </span>
                      <Sparkline values={line} max={sparklineMax(line)} width={80} height={20} label={`Latency of ${c.name}, last ${line.length} runs`} />
                    </span>
                  );
                },
              },
              { header: "24 h", numeric: true, cell: (c) => <span data-testid="uptime-24h">{formatUptime(c.uptime.h24)}</span> },
              { header: "7 d", numeric: true, cell: (c) => formatUptime(c.uptime.d7) },
              { header: "30 d", numeric: true, cell: (c) => formatUptime(c.uptime.d30) },
              {
                header: "Last error",
                cell: (c) =>
                  c.last_error ? (
                    <span className="block max-w-[14rem] truncate text-rose-700 dark:text-rose-400" title={c.last_error} data-testid="check-error">
                      {c.last_error}
                    </span>
                  ) : (
                    <span className="text-slate-400 dark:text-slate-500">—</span>
                  ),
              },
              ...(admin
                ? [
                    {
                      header: "Actions",
                      cell: (c: CheckView) => (
                        <div className="flex flex-wrap gap-1" role="group" aria-label={`Actions for check ${c.name}`}>
                          <button type="button" className="btn btn-sm" onClick={() => setOpen({ kind: "edit", check: c })}>
                            Edit…
                          </button>
                          <button type="button" className="btn btn-sm" onClick={() => setOpen({ kind: "delete", check: c })}>
                            Delete…
                          </button>
                        </div>
                      ),
                    },
                  ]
                : []),
            ]}
          />
        )}
      </Card>

      <StatusPagesCard checks={checks.data ?? []} servers={servers} admin={admin} />

      {(open?.kind === "create" || open?.kind === "edit") && (
        <CheckDialog
          check={open.kind === "edit" ? open.check : undefined}
          servers={servers}
          onClose={close}
          onSaved={(saved) => {
            setNotice(open.kind === "edit" ? `Check ${saved.name} is saved.` : `Check ${saved.name} is added; its first run is due within ${Math.min(saved.interval_s, 10)} s.`);
            mutate((list) => (list ? [...list.filter((c) => c.id !== saved.id), saved] : [saved]));
            reload();
            close();
          }}
        />
      )}
      {open?.kind === "delete" && (
        <ConfirmDialog
          title={`Delete check ${open.check.name}?`}
          confirmLabel="Delete check"
          danger
          onClose={close}
          onConfirm={async () => {
            await api.deleteCheck(open.check.id);
            setNotice(`Check ${open.check.name} is deleted.`);
            reload();
          }}
        >
          Its history and uptime go with it, and status pages stop showing it.
        </ConfirmDialog>
      )}
    </div>
  );
}
