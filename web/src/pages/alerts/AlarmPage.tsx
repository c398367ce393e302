// One alarm: what it says (summary, value, labels, annotations), when it
// started, fired and resolved, who acknowledged or owns it, and every
// notification sent about it; admins acknowledge, assign and silence here.

import { useState, type ReactNode } from "react";
import { api } from "../../api/client";
import type { Alert, AlertDetail } from "../../api/types";
import { useMe } from "../../app/me";
import { handleLinkClick } from "../../app/router";
import { Badge } from "../../components/Badge";
import { Card } from "../../components/Card";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { DataTable } from "../../components/DataTable";
import { ErrorPanel, Loading } from "../../components/ErrorPanel";
import { Notice } from "../../components/Form";
import { useResource } from "../../hooks/useResource";
import { isTenantAdmin } from "../../lib/access";
import { matchersForAlert } from "../../lib/alerts";
import { DASH, formatDateTime, formatDuration, formatNumber } from "../../lib/format";
import { AckDialog, AssignDialog, SilenceDialog } from "./AlarmActions";
import { AlarmStateBadge, SeverityBadge } from "./AlarmBadges";
import { useAlertRefresh } from "../../hooks/useAlertRefresh";

type Open = "ack" | "unack" | "assign" | "silence" | null;

export function AlarmPage({ id }: { id: number }) {
  const { role } = useMe();
  const admin = isTenantAdmin(role);
  const alarm = useResource(`alarm:${id}`, (signal) => api.alert(id, signal));
  const { reload, mutate } = alarm;
  useAlertRefresh(reload, id);
  const [open, setOpen] = useState<Open>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const close = () => setOpen(null);
  const patch = (a: Alert) => mutate((d) => (d ? { ...d, ...a } : d));

  const back = (
    <a href="/alarms" className="link text-sm" onClick={(e) => handleLinkClick(e, "/alarms")}>
      ← Alarms
    </a>
  );
  if (alarm.error != null && !alarm.data) {
    return (
      <div className="space-y-3">
        {back}
        <ErrorPanel title="This alarm could not be loaded" error={alarm.error} onRetry={reload} />
      </div>
    );
  }
  const a: AlertDetail | undefined = alarm.data;
  if (!a) return <Loading label="Loading the alarm…" />;
  const now = Date.now();
  const endOrNow = a.resolved_at ?? now;

  return (
    <div className="space-y-3">
      {back}
      <div className="flex flex-wrap items-end justify-between gap-3">
        <div className="min-w-0 space-y-1">
          <h1 className="text-xl font-semibold tracking-tight" data-testid="alarm-name">
            {a.name}
          </h1>
          <p className="flex flex-wrap items-center gap-2 text-sm">
            <AlarmStateBadge state={a.state} />
            <SeverityBadge severity={a.severity} />
            {a.source === "webhook" ? <Badge tone="info">external</Badge> : <Badge>rule #{a.source_id}</Badge>}
            {a.suppressed && <Badge>muted: {a.suppressed}</Badge>}
          </p>
        </div>
        {admin && a.state !== "resolved" && (
          <div className="flex flex-wrap gap-2">
            {a.ack ? (
              <button type="button" className="btn" onClick={() => setOpen("unack")} data-testid="alarm-unack">
                Un-acknowledge…
              </button>
            ) : (
              <button type="button" className="btn" onClick={() => setOpen("ack")} data-testid="alarm-ack-button">
                Acknowledge…
              </button>
            )}
            <button type="button" className="btn" onClick={() => setOpen("assign")} data-testid="alarm-assign">
              Assign…
            </button>
            <button type="button" className="btn" onClick={() => setOpen("silence")} data-testid="alarm-silence-button">
              Silence…
            </button>
          </div>
        )}
      </div>
      {notice && <Notice testId="alarm-notice">{notice}</Notice>}

      <div className="grid gap-3 lg:grid-cols-2">
        <Card title="What it says">
          <dl className="space-y-1.5 text-sm">
            <Row label="Summary">
              <span data-testid="alarm-summary">{a.summary || DASH}</span>
            </Row>
            <Row label="Value">{a.value === null || a.value === undefined ? DASH : formatNumber(a.value, 4)}</Row>
            <Row label="Host">
              {a.host_id ? (
                <a className="link" href={`/servers/${a.host_id}`} onClick={(e) => handleLinkClick(e, `/servers/${a.host_id}`)}>
                  {a.labels.host ?? `#${a.host_id}`}
                </a>
              ) : (
                (a.labels.host ?? DASH)
              )}
            </Row>
            <Row label="Acknowledged">
              <span data-testid="alarm-ack">{a.ack ? `by ${a.ack.by} at ${formatDateTime(a.ack.at, { nowMs: now })}${a.ack.comment ? ` — “${a.ack.comment}”` : ""}` : "no"}</span>
            </Row>
            <Row label="Assignee">
              <span data-testid="alarm-assignee">{a.assignee ?? "nobody"}</span>
            </Row>
            <Row label="Fingerprint">
              <span className="font-mono text-xs">{a.fingerprint}</span>
            </Row>
          </dl>
        </Card>
        <Card title="Timeline">
          <dl className="space-y-1.5 text-sm" data-testid="alarm-timeline">
            <Row label="Started">{formatDateTime(a.started_at, { nowMs: now })}</Row>
            <Row label="Fired">{a.fired_at ? formatDateTime(a.fired_at, { nowMs: now }) : "not yet"}</Row>
            <Row label="Resolved">{a.resolved_at ? formatDateTime(a.resolved_at, { nowMs: now }) : "not yet"}</Row>
            <Row label="Lasted">{formatDuration((endOrNow - a.started_at) / 1000)}</Row>
            <Row label="Notified">{a.notify_count === 0 ? "never" : `${a.notify_count}×, last ${formatDateTime(a.last_notified_at, { nowMs: now })}`}</Row>
          </dl>
        </Card>
        <Card title="Labels">
          <KeyValues values={a.labels} testId="alarm-labels" />
        </Card>
        <Card title="Annotations">
          <KeyValues values={a.annotations} testId="alarm-annotations" />
        </Card>
      </div>

      <Card title="Notifications">
        <DataTable
          caption="Notifications about this alarm"
          rows={a.notifications}
          rowKey={(n) => n.id}
          wrap
          rowAttrs={(n) => ({ "data-testid": "notification-row", "data-outcome": n.outcome, "data-kind": n.kind })}
          empty="None sent yet."
          columns={[
            { header: "When", cell: (n) => formatDateTime(n.created_at, { nowMs: now }) },
            { header: "Channel", cell: (n) => n.channel_name },
            { header: "Kind", cell: (n) => n.kind },
            { header: "Outcome", cell: (n) => <Badge tone={n.outcome === "sent" ? "success" : "danger"}>{n.outcome}</Badge> },
            { header: "Attempts", numeric: true, cell: (n) => n.attempts },
            { header: "Error", cell: (n) => (n.error ? <span className="break-words text-rose-700 dark:text-rose-400">{n.error}</span> : DASH) },
          ]}
        />
      </Card>

      {open === "ack" && (
        <AckDialog
          alert={a}
          onClose={close}
          onDone={(x) => {
            patch(x);
            setNotice("Acknowledged.");
            close();
          }}
        />
      )}
      {open === "unack" && (
        <ConfirmDialog
          title="Take back the acknowledgement?"
          confirmLabel="Un-acknowledge"
          onClose={close}
          onConfirm={async () => {
            patch(await api.ackAlert(a.id, { ack: false }));
            setNotice("No longer acknowledged.");
          }}
        >
          Repeat notifications resume while it fires.
        </ConfirmDialog>
      )}
      {open === "assign" && (
        <AssignDialog
          alert={a}
          onClose={close}
          onDone={(x) => {
            patch(x);
            setNotice(x.assignee ? `Assigned to ${x.assignee}.` : "Unassigned.");
            close();
          }}
        />
      )}
      {open === "silence" && (
        <SilenceDialog
          initial={matchersForAlert(a)}
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

function Row({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="grid grid-cols-[7rem_1fr] gap-2">
      <dt className="text-slate-500 dark:text-slate-400">{label}</dt>
      <dd className="min-w-0 break-words">{children}</dd>
    </div>
  );
}

function KeyValues({ values, testId }: { values: Record<string, string>; testId: string }) {
  const entries = Object.entries(values);
  if (entries.length === 0) return <p className="text-sm text-slate-500 dark:text-slate-400">None.</p>;
  return (
    <dl className="space-y-1 text-sm" data-testid={testId}>
      {entries.map(([k, v]) => (
        <Row key={k} label={k}>
          <span className="font-mono text-xs">{v}</span>
        </Row>
      ))}
    </dl>
  );
}
