// Quiet times: silences (one-off, by label matchers), recurring maintenance
// windows, and the incoming webhooks through which other systems raise
// alarms (admins only: they hold secrets).

import { useMemo, useState } from "react";
import { api } from "../../api/client";
import type { MaintenanceView, SilenceView, WebhookView } from "../../api/types";
import { useMe } from "../../app/me";
import { Badge } from "../../components/Badge";
import { Card } from "../../components/Card";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { SecretValue, ShownOnce } from "../../components/Copy";
import { DataTable } from "../../components/DataTable";
import { Dialog } from "../../components/Dialog";
import { ErrorPanel, Loading } from "../../components/ErrorPanel";
import { FilterButtons } from "../../components/FilterButtons";
import { Field, FormError, Notice, PageHeader } from "../../components/Form";
import { useAction } from "../../hooks/useAction";
import { useNow } from "../../hooks/useNow";
import { useResource } from "../../hooks/useResource";
import { isTenantAdmin } from "../../lib/access";
import { asMatchers, formatMatchers, parseMatchers, silenceStatus, toWire } from "../../lib/alerts";
import { formatDateTime } from "../../lib/format";
import { SilenceDialog } from "./AlarmActions";
import { AlertTabs } from "./AlertTabs";

type SilenceFilter = "current" | "expired" | "all";

export function SilencesPage() {
  const { role } = useMe();
  const admin = isTenantAdmin(role);
  const [notice, setNotice] = useState<string | null>(null);
  return (
    <div className="space-y-3">
      <PageHeader title="Silences & maintenance" description="Times when matching alarms are not notified; and how other systems send alarms here." />
      <AlertTabs current="silences" />
      {notice && <Notice testId="silences-notice">{notice}</Notice>}
      <SilencesCard admin={admin} onNotice={setNotice} />
      <MaintenanceCard admin={admin} onNotice={setNotice} />
      {admin && <WebhooksCard onNotice={setNotice} />}
    </div>
  );
}

function SilencesCard({ admin, onNotice }: { admin: boolean; onNotice: (text: string) => void }) {
  const silences = useResource("silences", (signal) => api.silences(signal));
  const now = useNow(15_000);
  const [filter, setFilter] = useState<SilenceFilter>("current");
  const [open, setOpen] = useState<{ kind: "create" } | { kind: "end"; silence: SilenceView } | null>(null);
  const all = useMemo(() => [...(silences.data ?? [])].sort((a, b) => b.ends_at - a.ends_at), [silences.data]);
  const counts = { current: 0, expired: 0, all: all.length };
  for (const s of all) counts[silenceStatus(s, now) === "expired" ? "expired" : "current"]++;
  const rows = all.filter((s) => filter === "all" || (silenceStatus(s, now) === "expired") === (filter === "expired"));
  const close = () => setOpen(null);
  return (
    <Card
      title="Silences"
      actions={
        admin && (
          <button type="button" className="btn btn-sm btn-primary" onClick={() => setOpen({ kind: "create" })} data-testid="add-silence">
            New silence
          </button>
        )
      }
    >
      <div className="mb-2">
        <FilterButtons
          label="Show silences"
          value={filter}
          onChange={setFilter}
          testId="silence-filter"
          options={[
            { key: "current", label: "Active & upcoming", count: counts.current },
            { key: "expired", label: "Expired", count: counts.expired },
            { key: "all", label: "All", count: counts.all },
          ]}
        />
      </div>
      {silences.error != null && !silences.data ? (
        <ErrorPanel title="The silences could not be loaded" error={silences.error} onRetry={silences.reload} />
      ) : !silences.data ? (
        <Loading label="Loading silences…" />
      ) : (
        <DataTable
          caption="Silences"
          rows={rows}
          rowKey={(s) => s.id}
          stack
          wrap
          rowAttrs={(s) => ({ "data-testid": "silence-row", "data-status": silenceStatus(s, now), "data-matchers": formatMatchers(asMatchers(s.matchers)) })}
          empty={filter === "expired" ? "No expired silences." : "No silences."}
          columns={[
            {
              header: "Status",
              cell: (s) => {
                const st = silenceStatus(s, now);
                return <Badge tone={st === "active" ? "progress" : "neutral"}>{st}</Badge>;
              },
            },
            { header: "Matchers", cell: (s) => <span className="font-mono text-xs">{formatMatchers(asMatchers(s.matchers))}</span> },
            { header: "From", cell: (s) => formatDateTime(s.starts_at ?? s.created_at, { nowMs: now }) },
            { header: "Until", cell: (s) => formatDateTime(s.ends_at, { nowMs: now }) },
            { header: "Comment", cell: (s) => s.comment || "—" },
            { header: "By", cell: (s) => s.created_by ?? "—" },
            ...(admin
              ? [
                  {
                    header: "Actions",
                    cell: (s: SilenceView) =>
                      silenceStatus(s, now) === "expired" ? null : (
                        <button type="button" className="btn btn-sm" onClick={() => setOpen({ kind: "end", silence: s })}>
                          End…
                        </button>
                      ),
                  },
                ]
              : []),
          ]}
        />
      )}
      {open?.kind === "create" && (
        <SilenceDialog
          onClose={close}
          onCreated={(s) => {
            onNotice(`Silenced until ${new Date(s.ends_at).toLocaleString()}: matching alarms are not notified.`);
            silences.reload();
            close();
          }}
        />
      )}
      {open?.kind === "end" && (
        <ConfirmDialog
          title="End this silence now?"
          confirmLabel="End silence"
          onClose={close}
          onConfirm={async () => {
            await api.endSilence(open.silence.id);
            onNotice(`Silence ${open.silence.id} has ended.`);
            silences.reload();
          }}
        >
          Matching alarms that still fire are notified again.
        </ConfirmDialog>
      )}
    </Card>
  );
}

function MaintenanceCard({ admin, onNotice }: { admin: boolean; onNotice: (text: string) => void }) {
  const windows = useResource("maintenance-windows", (signal) => api.maintenanceWindows(signal));
  const [open, setOpen] = useState<{ kind: "create" } | { kind: "delete"; window: MaintenanceView } | null>(null);
  const close = () => setOpen(null);
  const w = (m: MaintenanceView) => m as MaintenanceView & { cron?: string; duration_minutes?: number; utc_offset_minutes?: number };
  return (
    <Card
      title="Maintenance windows"
      actions={
        admin && (
          <button type="button" className="btn btn-sm" onClick={() => setOpen({ kind: "create" })} data-testid="add-maintenance">
            Add window
          </button>
        )
      }
    >
      {windows.error != null && !windows.data ? (
        <ErrorPanel title="The maintenance windows could not be loaded" error={windows.error} onRetry={windows.reload} />
      ) : !windows.data ? (
        <Loading />
      ) : (
        <DataTable
          caption="Maintenance windows"
          rows={windows.data}
          rowKey={(m) => m.id}
          stack
          rowAttrs={(m) => ({ "data-testid": "maintenance-row", "data-name": m.name })}
          empty="No maintenance windows. A window mutes matching alarms on a schedule, e.g. every Sunday at 02:00 for 2 hours."
          columns={[
            { header: "Name", cell: (m) => <span className="font-medium">{m.name}</span> },
            { header: "Schedule", cell: (m) => <span className="font-mono text-xs">{w(m).cron}</span> },
            { header: "Lasts", cell: (m) => `${w(m).duration_minutes ?? "?"} min` },
            { header: "UTC offset", cell: (m) => `${(w(m).utc_offset_minutes ?? 0) >= 0 ? "+" : ""}${w(m).utc_offset_minutes ?? 0} min` },
            { header: "Matchers", cell: (m) => <span className="font-mono text-xs">{formatMatchers(asMatchers(m.matchers)) || "every alarm"}</span> },
            { header: "Now", cell: (m) => (m.active ? <Badge tone="progress">in maintenance</Badge> : m.next_start ? `next ${formatDateTime(m.next_start)}` : "—") },
            ...(admin
              ? [
                  {
                    header: "Actions",
                    cell: (m: MaintenanceView) => (
                      <button type="button" className="btn btn-sm" onClick={() => setOpen({ kind: "delete", window: m })}>
                        Delete…
                      </button>
                    ),
                  },
                ]
              : []),
          ]}
        />
      )}
      {open?.kind === "create" && (
        <MaintenanceDialog
          onClose={close}
          onCreated={(m) => {
            onNotice(`Maintenance window ${m.name} is added.`);
            windows.reload();
            close();
          }}
        />
      )}
      {open?.kind === "delete" && (
        <ConfirmDialog
          title={`Delete maintenance window ${open.window.name}?`}
          confirmLabel="Delete window"
          danger
          onClose={close}
          onConfirm={async () => {
            await api.deleteMaintenance(open.window.id);
            onNotice(`Maintenance window ${open.window.name} is deleted.`);
            windows.reload();
          }}
        >
          Its alarms are notified as usual from now on.
        </ConfirmDialog>
      )}
    </Card>
  );
}

function MaintenanceDialog({ onClose, onCreated }: { onClose: () => void; onCreated: (m: MaintenanceView) => void }) {
  const [name, setName] = useState("");
  const [matchers, setMatchers] = useState("");
  const [cron, setCron] = useState("0 2 * * sun");
  const [duration, setDuration] = useState("120");
  const [offset, setOffset] = useState(() => String(-new Date().getTimezoneOffset()));
  const { busy, error, run, setError } = useAction();
  return (
    <Dialog title="Add a maintenance window" onClose={onClose} testId="maintenance-dialog">
      <form
        className="space-y-3"
        noValidate
        onSubmit={async (e) => {
          e.preventDefault();
          const parsed = parseMatchers(matchers);
          if (parsed.error) return setError(parsed.error);
          const body = { name: name.trim(), matchers: toWire(parsed.matchers), cron: cron.trim(), duration_minutes: Number(duration), utc_offset_minutes: Number(offset) };
          const result = await run(() => api.createMaintenance(body as unknown as Parameters<typeof api.createMaintenance>[0]));
          if (result.ok) onCreated(result.value);
        }}
      >
        <Field label="Name">
          <input className="input" value={name} onChange={(e) => setName(e.target.value)} />
        </Field>
        <Field label="Starts (cron)" hint="minute hour day-of-month month day-of-week, e.g. 0 2 * * sun.">
          <input className="input font-mono" value={cron} onChange={(e) => setCron(e.target.value)} />
        </Field>
        <div className="grid gap-3 sm:grid-cols-2">
          <Field label="Lasts (minutes)">
            <input className="input" inputMode="numeric" value={duration} onChange={(e) => setDuration(e.target.value)} />
          </Field>
          <Field label="UTC offset (minutes)" hint="Yours is filled in; 60 for UTC+1.">
            <input className="input" inputMode="numeric" value={offset} onChange={(e) => setOffset(e.target.value)} />
          </Field>
        </div>
        <Field label="Matchers (optional)" hint='Empty: every alarm. e.g. env="staging"'>
          <input className="input font-mono text-xs" spellCheck={false} value={matchers} onChange={(e) => setMatchers(e.target.value)} />
        </Field>
        <FormError error={error} />
        <div className="flex justify-end gap-2">
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? "Saving…" : "Add window"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function WebhooksCard({ onNotice }: { onNotice: (text: string) => void }) {
  const hooks = useResource("incoming-webhooks", (signal) => api.incomingWebhooks(signal));
  const [open, setOpen] = useState<{ kind: "create" } | { kind: "delete"; hook: WebhookView } | null>(null);
  const close = () => setOpen(null);
  const url = (h: WebhookView) => `${window.location.origin}${h.url_path}`;
  return (
    <Card
      title="Incoming webhooks"
      actions={
        <button type="button" className="btn btn-sm" onClick={() => setOpen({ kind: "create" })} data-testid="add-webhook">
          Add webhook
        </button>
      }
    >
      <p className="mb-2 text-sm text-slate-500 dark:text-slate-400">Other systems (Alertmanager, scripts) raise alarms here with a signed POST.</p>
      {hooks.error != null && !hooks.data ? (
        <ErrorPanel title="The incoming webhooks could not be loaded" error={hooks.error} onRetry={hooks.reload} />
      ) : !hooks.data ? (
        <Loading />
      ) : (
        <DataTable
          caption="Incoming webhooks"
          rows={hooks.data}
          rowKey={(h) => h.id}
          stack
          rowAttrs={(h) => ({ "data-testid": "webhook-row", "data-name": h.name })}
          empty="No incoming webhooks."
          columns={[
            { header: "Name", cell: (h) => <span className="font-medium">{h.name}</span> },
            { header: "URL", cell: (h) => <span className="font-mono text-xs">{url(h)}</span> },
            { header: "From", cell: (h) => (h.allowed_cidrs.length ? h.allowed_cidrs.join(", ") : "anywhere") },
            { header: "Created", cell: (h) => formatDateTime(h.created_at) },
            {
              header: "Actions",
              cell: (h: WebhookView) => (
                <button type="button" className="btn btn-sm" onClick={() => setOpen({ kind: "delete", hook: h })}>
                  Delete…
                </button>
              ),
            },
          ]}
        />
      )}
      {open?.kind === "create" && <WebhookDialog onClose={close} onCreated={() => hooks.reload()} url={url} />}
      {open?.kind === "delete" && (
        <ConfirmDialog
          title={`Delete incoming webhook ${open.hook.name}?`}
          confirmLabel="Delete webhook"
          danger
          onClose={close}
          onConfirm={async () => {
            await api.deleteIncomingWebhook(open.hook.id);
            onNotice(`Incoming webhook ${open.hook.name} is deleted.`);
            hooks.reload();
          }}
        >
          Posts to its URL are refused from now on.
        </ConfirmDialog>
      )}
    </Card>
  );
}

function WebhookDialog({ onClose, onCreated, url }: { onClose: () => void; onCreated: () => void; url: (h: WebhookView) => string }) {
  const [name, setName] = useState("");
  const [cidrs, setCidrs] = useState("");
  const [created, setCreated] = useState<WebhookView | null>(null);
  const { busy, error, run } = useAction();
  return (
    <Dialog title={created ? `Webhook ${created.name}` : "Add an incoming webhook"} onClose={onClose} testId="webhook-dialog" wide>
      {created ? (
        <div className="space-y-3">
          <ShownOnce />
          <SecretValue label="URL" value={url(created)} testId="webhook-url" />
          <SecretValue label="Signing secret" value={created.secret ?? ""} testId="webhook-secret" note="Sign each body: X-Lxmon-Signature: sha256=<hex HMAC-SHA256(secret, body)>." />
          <div className="flex justify-end">
            <button type="button" className="btn btn-primary" onClick={onClose}>
              Done
            </button>
          </div>
        </div>
      ) : (
        <form
          className="space-y-3"
          onSubmit={async (e) => {
            e.preventDefault();
            const allowed = cidrs
              .split(/[,\s]+/)
              .map((c) => c.trim())
              .filter(Boolean);
            const result = await run(() => api.createIncomingWebhook({ name: name.trim(), allowed_cidrs: allowed }));
            if (result.ok) {
              setCreated(result.value);
              onCreated();
            }
          }}
        >
          <Field label="Name" hint="Who posts, e.g. Alertmanager.">
            <input className="input" value={name} onChange={(e) => setName(e.target.value)} />
          </Field>
          <Field label="Allowed networks (optional)" hint="CIDRs separated by commas; empty: any.">
            <input className="input font-mono text-xs" value={cidrs} onChange={(e) => setCidrs(e.target.value)} />
          </Field>
          <FormError error={error} />
          <div className="flex justify-end gap-2">
            <button type="button" className="btn" onClick={onClose}>
              Cancel
            </button>
            <button type="submit" className="btn btn-primary" disabled={busy}>
              {busy ? "Creating…" : "Create webhook"}
            </button>
          </div>
        </form>
      )}
    </Dialog>
  );
}
