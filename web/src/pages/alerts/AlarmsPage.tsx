// Alarms: the tenant's alerts (from rules and incoming webhooks), filtered by
// state, severity, source and words, kept current by the event stream's
// `alert` events; acknowledge, un-acknowledge and silence from a row.

import { useMemo, useState } from "react";
import { api } from "../../api/client";
import type { Alert } from "../../api/types";
import { useMe } from "../../app/me";
import { handleLinkClick } from "../../app/router";
import { Badge } from "../../components/Badge";
import { Card } from "../../components/Card";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { DataTable } from "../../components/DataTable";
import { ErrorPanel, Loading } from "../../components/ErrorPanel";
import { FilterButtons } from "../../components/FilterButtons";
import { Notice, PageHeader } from "../../components/Form";
import { useAlertRefresh } from "../../hooks/useAlertRefresh";
import { useNow } from "../../hooks/useNow";
import { useResource } from "../../hooks/useResource";
import { isTenantAdmin } from "../../lib/access";
import { ALARM_FILTERS, SEVERITIES, alertSince, matchersForAlert, selectAlerts, stateQuery, type AlarmFilter } from "../../lib/alerts";
import { formatAgo } from "../../lib/format";
import { AckDialog, SilenceDialog } from "./AlarmActions";
import { AlarmStateBadge, SeverityBadge } from "./AlarmBadges";
import { AlertTabs } from "./AlertTabs";

type Open = { kind: "ack" | "unack" | "silence"; alert: Alert } | null;

export function AlarmsPage() {
  const { role } = useMe();
  const admin = isTenantAdmin(role);
  const [state, setState] = useState<AlarmFilter>("active");
  const [severity, setSeverity] = useState("");
  const [source, setSource] = useState("");
  const [text, setText] = useState("");
  const [open, setOpen] = useState<Open>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const now = useNow(5000);
  const alerts = useResource(`alarms:${state}:${severity}:${source}`, (signal) =>
    api.alerts({ state: stateQuery(state), severity: severity || undefined, source: source || undefined, limit: 500 }, signal),
  );
  const { reload, mutate } = alerts;
  useAlertRefresh(reload);
  const rows = useMemo(() => selectAlerts(alerts.data ?? [], text), [alerts.data, text]);
  const close = () => setOpen(null);
  const replace = (a: Alert) => mutate((list) => list?.map((x) => (x.id === a.id ? a : x)));

  return (
    <div className="space-y-3">
      <PageHeader title="Alarms" description="Alerts raised by your rules and by other systems' webhooks, newest first." />
      <AlertTabs current="alarms" />
      {notice && <Notice testId="alarms-notice">{notice}</Notice>}
      <Card>
        <div className="mb-2 flex flex-wrap items-center gap-2">
          <label className="min-w-[12rem] flex-1">
            <span className="sr-only">Filter alarms</span>
            <input type="search" className="input" placeholder="Filter by name, summary, host or label…" value={text} onChange={(e) => setText(e.target.value)} data-testid="alarm-filter" />
          </label>
          <FilterButtons label="Filter by state" options={ALARM_FILTERS} value={state} onChange={setState} testId="alarm-states" />
          <label className="text-sm">
            <span className="sr-only">Severity</span>
            <select className="input w-auto py-1" value={severity} onChange={(e) => setSeverity(e.target.value)} data-testid="alarm-severity">
              <option value="">Any severity</option>
              {SEVERITIES.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </label>
          <label className="text-sm">
            <span className="sr-only">Source</span>
            <select className="input w-auto py-1" value={source} onChange={(e) => setSource(e.target.value)} data-testid="alarm-source">
              <option value="">Any source</option>
              <option value="rule">Internal (rules)</option>
              <option value="webhook">External (webhooks)</option>
            </select>
          </label>
        </div>
        {alerts.error != null && !alerts.data ? (
          <ErrorPanel title="The alarms could not be loaded" error={alerts.error} onRetry={reload} />
        ) : !alerts.data ? (
          <Loading label="Loading alarms…" />
        ) : (
          <DataTable
            caption="Alarms"
            rows={rows}
            rowKey={(a) => a.id}
            stack
            wrap
            rowAttrs={(a) => ({ "data-testid": "alarm-row", "data-name": a.name, "data-state": a.state, "data-acked": String(!!a.ack) })}
            empty={alerts.data.length === 0 ? (state === "active" ? "Nothing is firing. All quiet." : "No alarms.") : "No alarm matches the filter."}
            columns={[
              { header: "State", cell: (a) => <AlarmStateBadge state={a.state} /> },
              { header: "Severity", cell: (a) => <SeverityBadge severity={a.severity} /> },
              {
                header: "Name",
                cell: (a) => (
                  <a className="link font-medium" href={`/alarms/${a.id}`} onClick={(e) => handleLinkClick(e, `/alarms/${a.id}`)}>
                    {a.name}
                  </a>
                ),
              },
              { header: "Host", cell: (a) => a.labels.host ?? <span className="text-slate-400">—</span> },
              { header: "Summary", cell: (a) => <span className="block max-w-[24rem] break-words">{a.summary}</span> },
              {
                header: "Since",
                cell: (a) => (
                  <span title={new Date(alertSince(a)).toLocaleString()} className="whitespace-nowrap">
                    {formatAgo(alertSince(a), now)}
                  </span>
                ),
              },
              {
                header: "Notes",
                cell: (a) => (
                  <span className="flex flex-col items-start gap-1">
                    {a.suppressed && (
                      <span data-testid="alarm-suppressed" title="Not notified">
                        <Badge tone="neutral">muted: {a.suppressed}</Badge>
                      </span>
                    )}
                    {a.ack && (
                      <span className="text-xs" data-testid="alarm-ack">
                        acked by {a.ack.by}
                        {a.ack.comment ? `: ${a.ack.comment}` : ""}
                      </span>
                    )}
                    {a.assignee && <span className="text-xs">assigned to {a.assignee}</span>}
                    {a.source === "webhook" && <Badge tone="info">external</Badge>}
                  </span>
                ),
              },
              ...(admin
                ? [
                    {
                      header: "Actions",
                      cell: (a: Alert) =>
                        a.state === "resolved" ? null : (
                          <div className="flex flex-wrap gap-1" role="group" aria-label={`Actions for alarm ${a.name}`}>
                            {a.ack ? (
                              <button type="button" className="btn btn-sm" onClick={() => setOpen({ kind: "unack", alert: a })}>
                                Un-ack…
                              </button>
                            ) : (
                              <button type="button" className="btn btn-sm" onClick={() => setOpen({ kind: "ack", alert: a })} data-testid="alarm-ack-button">
                                Ack…
                              </button>
                            )}
                            <button type="button" className="btn btn-sm" onClick={() => setOpen({ kind: "silence", alert: a })} data-testid="alarm-silence-button">
                              Silence…
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
      {open?.kind === "ack" && (
        <AckDialog
          alert={open.alert}
          onClose={close}
          onDone={(a) => {
            replace(a);
            setNotice(`${a.name} is acknowledged.`);
            close();
          }}
        />
      )}
      {open?.kind === "unack" && (
        <ConfirmDialog
          title={`Take back the acknowledgement of ${open.alert.name}?`}
          confirmLabel="Un-acknowledge"
          onClose={close}
          onConfirm={async () => {
            replace(await api.ackAlert(open.alert.id, { ack: false }));
            setNotice(`${open.alert.name} is no longer acknowledged.`);
          }}
        >
          Repeat notifications resume while it fires.
        </ConfirmDialog>
      )}
      {open?.kind === "silence" && (
        <SilenceDialog
          initial={matchersForAlert(open.alert)}
          onClose={close}
          onCreated={(s) => {
            setNotice(`Silenced until ${new Date(s.ends_at).toLocaleString()}: matching alarms are not notified.`);
            close();
            reload();
          }}
        />
      )}
    </div>
  );
}
