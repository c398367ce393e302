// The audit log of the tenant: who did what, from where, and how it went.
// Filters by actor, action prefix and time; pages back with `next_before`.

import { useState, type FormEvent } from "react";
import { api } from "../../api/client";
import type { AuditEntry } from "../../api/types";
import { Badge, type BadgeTone } from "../../components/Badge";
import { Card } from "../../components/Card";
import { DataTable } from "../../components/DataTable";
import { ErrorPanel, Loading } from "../../components/ErrorPanel";
import { Field, FormError, PageHeader } from "../../components/Form";
import { useAction } from "../../hooks/useAction";
import { useResource } from "../../hooks/useResource";
import { AUDIT_RANGES, auditQuery, EMPTY_FILTERS, outcomeKind, type AuditFilters, type AuditRange } from "../../lib/audit";
import { formatDateTime } from "../../lib/format";

const PAGE_SIZE = 50;
const ACTION_PREFIXES = ["auth.login", "auth.logout", "user.", "tenant.", "agent_key.", "enrollment_token.", "command.", "agent."];

const OUTCOME_TONES: Record<ReturnType<typeof outcomeKind>, BadgeTone> = { ok: "success", denied: "warning", failed: "danger", other: "neutral" };

export function AuditPage() {
  const [draft, setDraft] = useState<AuditFilters>(EMPTY_FILTERS);
  // The applied filters, with the time they were applied (relative ranges count back from it).
  const [applied, setApplied] = useState({ filters: EMPTY_FILTERS, at: Date.now() });
  const key = JSON.stringify(applied);
  const first = useResource(`audit-${key}`, (signal) => api.audit(auditQuery(applied.filters, applied.at, { limit: PAGE_SIZE }), signal));
  const [older, setOlder] = useState<{ key: string; entries: AuditEntry[]; nextBefore: number | null }>({ key: "", entries: [], nextBefore: null });
  const more = useAction();

  const olderHere = older.key === key ? older : { entries: [], nextBefore: null };
  const entries = first.data ? [...first.data.entries, ...olderHere.entries] : [];
  const nextBefore = olderHere.entries.length > 0 ? olderHere.nextBefore : (first.data?.next_before ?? null);

  function apply(event: FormEvent) {
    event.preventDefault();
    setApplied({ filters: draft, at: Date.now() });
  }

  async function loadOlder() {
    if (nextBefore === null) return;
    const result = await more.run(() => api.audit(auditQuery(applied.filters, applied.at, { before: nextBefore, limit: PAGE_SIZE })));
    if (result.ok) setOlder({ key, entries: [...olderHere.entries, ...result.value.entries], nextBefore: result.value.next_before ?? null });
  }

  const set = <K extends keyof AuditFilters>(k: K, v: AuditFilters[K]) => setDraft((d) => ({ ...d, [k]: v }));

  return (
    <div className="space-y-3">
      <PageHeader title="Audit log" description="Every change and login in this tenant, newest first." />
      <Card>
        <form className="flex flex-wrap items-end gap-3" onSubmit={apply} aria-label="Filter the audit log">
          <Field label="Actor" className="w-40">
            <input className="input" name="actor" value={draft.actor} onChange={(e) => set("actor", e.target.value)} placeholder="e.g. admin" />
          </Field>
          <Field label="Action starts with" className="w-48">
            <input className="input" name="action" list="audit-actions" value={draft.action} onChange={(e) => set("action", e.target.value)} placeholder="e.g. user." />
          </Field>
          <datalist id="audit-actions">
            {ACTION_PREFIXES.map((p) => (
              <option key={p} value={p} />
            ))}
          </datalist>
          <Field label="Time" className="w-44">
            <select className="input" name="range" value={draft.range} onChange={(e) => set("range", e.target.value as AuditRange)}>
              {AUDIT_RANGES.map((r) => (
                <option key={r.key} value={r.key}>
                  {r.label}
                </option>
              ))}
            </select>
          </Field>
          {draft.range === "custom" && (
            <>
              <Field label="From" className="w-52">
                <input className="input" type="datetime-local" name="from" value={draft.from} onChange={(e) => set("from", e.target.value)} />
              </Field>
              <Field label="To" className="w-52">
                <input className="input" type="datetime-local" name="to" value={draft.to} onChange={(e) => set("to", e.target.value)} />
              </Field>
            </>
          )}
          <div className="flex gap-2">
            <button type="submit" className="btn btn-primary">
              Apply
            </button>
            <button
              type="button"
              className="btn"
              onClick={() => {
                setDraft(EMPTY_FILTERS);
                setApplied({ filters: EMPTY_FILTERS, at: Date.now() });
              }}
            >
              Reset
            </button>
          </div>
        </form>
      </Card>
      <Card>
        {first.error != null && !first.data ? (
          <ErrorPanel title="The audit log could not be loaded" error={first.error} onRetry={first.reload} />
        ) : !first.data ? (
          <Loading label="Loading the audit log…" />
        ) : (
          <div className="space-y-3">
            <DataTable
              caption="Audit log entries"
              rows={entries}
              rowKey={(e) => e.id}
              stack
              rowAttrs={(e) => ({ "data-testid": "audit-row", "data-action": e.action })}
              empty="No entries match these filters."
              wrap
              columns={[
                { header: "Time", cell: (e) => <span className="whitespace-nowrap tabular-nums">{formatDateTime(e.ts)}</span> },
                { header: "Actor", cell: (e) => <span className="font-medium">{e.actor}</span> },
                { header: "Action", cell: (e) => <span className="font-mono text-xs whitespace-nowrap">{e.action}</span> },
                { header: "Target", cell: (e) => <span className="break-words">{e.target}</span> },
                { header: "Client IP", cell: (e) => <span className="font-mono text-xs">{e.client_ip}</span> },
                { header: "Outcome", cell: (e) => <Badge tone={OUTCOME_TONES[outcomeKind(e.outcome)]}>{e.outcome}</Badge> },
                { header: "Detail", cell: (e) => <span className="block max-w-xs font-mono text-xs break-all text-slate-600 dark:text-slate-300">{e.detail || "—"}</span> },
              ]}
            />
            <FormError error={more.error} />
            <div className="flex flex-wrap items-center gap-3 text-sm text-slate-500 dark:text-slate-400">
              <span>
                {entries.length} {entries.length === 1 ? "entry" : "entries"}
                {nextBefore === null ? " — the end of the log" : ""}
              </span>
              {nextBefore !== null && (
                <button type="button" className="btn" onClick={loadOlder} disabled={more.busy} data-testid="audit-older">
                  {more.busy ? "Loading…" : "Load older entries"}
                </button>
              )}
            </div>
          </div>
        )}
      </Card>
    </div>
  );
}
