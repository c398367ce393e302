// Public status pages: a read-only page at /status/<slug>, without login,
// showing chosen checks (state and 90 days of uptime) and hosts (online or
// offline). The server renders it; here they are listed, made and deleted.

import { useState } from "react";
import { api } from "../../api/client";
import type { CheckView, Server, StatusPage } from "../../api/types";
import { Card } from "../../components/Card";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { DataTable } from "../../components/DataTable";
import { Dialog } from "../../components/Dialog";
import { ErrorPanel, Loading } from "../../components/ErrorPanel";
import { Field, FormError, Notice } from "../../components/Form";
import { useAction } from "../../hooks/useAction";
import { useNow } from "../../hooks/useNow";
import { useResource } from "../../hooks/useResource";
import { pageTitleProblem, slugProblem, statusPagePath } from "../../lib/checks";
import { formatDateTime } from "../../lib/format";

type Open = { kind: "create" } | { kind: "delete"; page: StatusPage } | null;

export function StatusPagesCard({ checks, servers, admin }: { checks: readonly CheckView[]; servers: readonly Server[]; admin: boolean }) {
  const pages = useResource("status-pages", (signal) => api.statusPages(signal));
  const now = useNow(30_000);
  const [open, setOpen] = useState<Open>(null);
  const [notice, setNotice] = useState<{ text: string; path: string } | null>(null);
  const close = () => setOpen(null);
  const checkNames = new Map(checks.map((c) => [c.id, c.name]));
  const hostnames = new Map(servers.map((s) => [s.id, s.hostname]));

  return (
    <Card
      title="Status pages"
      actions={
        admin && (
          <button type="button" className="btn" onClick={() => setOpen({ kind: "create" })} data-testid="add-status-page">
            Create status page
          </button>
        )
      }
    >
      <p className="mb-2 text-sm text-slate-500 dark:text-slate-400">Public, read-only pages anyone with the address can open, without logging in.</p>
      {notice && (
        <div className="mb-2">
          <Notice testId="status-page-notice">
            {notice.text}{" "}
            <a className="link" href={notice.path} target="_blank" rel="noopener">
              Open it
            </a>
          </Notice>
        </div>
      )}
      {pages.error != null && !pages.data ? (
        <ErrorPanel title="Status pages could not be loaded" error={pages.error} onRetry={pages.reload} />
      ) : !pages.data ? (
        <Loading label="Loading status pages…" />
      ) : (
        <DataTable
          caption="Status pages"
          rows={pages.data}
          rowKey={(p) => p.id}
          stack
          wrap
          rowAttrs={(p) => ({ "data-testid": "status-page-row", "data-slug": p.slug })}
          empty={admin ? "No status pages. Create one to share the state of chosen checks and hosts." : "No status pages."}
          columns={[
            { header: "Title", cell: (p) => <span className="font-medium">{p.title}</span> },
            {
              header: "Address",
              cell: (p) => (
                <a className="link font-mono text-xs break-all" href={statusPagePath(p.slug)} target="_blank" rel="noopener" data-testid="status-page-link">
                  {statusPagePath(p.slug)}
                </a>
              ),
            },
            {
              header: "Shows",
              cell: (p) => {
                const names = [...p.check_ids.map((id) => checkNames.get(id) ?? `check ${id}`), ...p.host_ids.map((id) => hostnames.get(id) ?? `host ${id}`)];
                return names.length === 0 ? <span className="text-slate-500 dark:text-slate-400">nothing</span> : names.join(", ");
              },
            },
            { header: "Created", cell: (p) => <span className="whitespace-nowrap">{formatDateTime(p.created_at, { nowMs: now })}</span> },
            ...(admin
              ? [
                  {
                    header: "Actions",
                    cell: (p: StatusPage) => (
                      <button type="button" className="btn btn-sm" onClick={() => setOpen({ kind: "delete", page: p })} aria-label={`Delete status page ${p.title}`}>
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
        <CreateStatusPageDialog
          checks={checks}
          servers={servers}
          onClose={close}
          onCreated={(page) => {
            setNotice({ text: `Status page ${page.title} is published at ${statusPagePath(page.slug)}.`, path: statusPagePath(page.slug) });
            pages.reload();
            close();
          }}
        />
      )}
      {open?.kind === "delete" && (
        <ConfirmDialog
          title={`Delete status page ${open.page.title}?`}
          confirmLabel="Delete page"
          danger
          onClose={close}
          onConfirm={async () => {
            await api.deleteStatusPage(open.page.id);
            setNotice(null);
            pages.reload();
          }}
        >
          {statusPagePath(open.page.slug)} stops answering at once. The checks and hosts it showed stay.
        </ConfirmDialog>
      )}
    </Card>
  );
}

function CreateStatusPageDialog({
  checks,
  servers,
  onClose,
  onCreated,
}: {
  checks: readonly CheckView[];
  servers: readonly Server[];
  onClose: () => void;
  onCreated: (page: StatusPage) => void;
}) {
  const [title, setTitle] = useState("");
  const [slug, setSlug] = useState("");
  const [checkIds, setCheckIds] = useState<ReadonlySet<number>>(new Set());
  const [hostIds, setHostIds] = useState<ReadonlySet<number>>(new Set());
  const [checked, setChecked] = useState(false);
  const { busy, error, run } = useAction();
  const titleError = checked ? pageTitleProblem(title) : null;
  const slugError = checked ? slugProblem(slug) : null;

  return (
    <Dialog title="Create a status page" onClose={onClose} testId="status-page-dialog" wide>
      <form
        className="space-y-3"
        noValidate
        onSubmit={async (e) => {
          e.preventDefault();
          setChecked(true);
          if (pageTitleProblem(title) || slugProblem(slug)) return;
          const result = await run(() =>
            api.createStatusPage({ title: title.trim(), slug: slug === "" ? null : slug, check_ids: [...checkIds], host_ids: [...hostIds] }),
          );
          if (result.ok) onCreated(result.value);
        }}
      >
        <Field label="Title" hint="Shown at the top of the page, e.g. Example Shop status." error={titleError}>
          <input className="input" autoComplete="off" value={title} onChange={(e) => setTitle(e.target.value)} />
        </Field>
        <Field label="Address (optional)" hint="/status/<address>: 3 to 64 of a-z, 0-9 and -. Empty: a random address nobody can guess." error={slugError}>
          <input className="input font-mono" autoComplete="off" spellCheck={false} value={slug} onChange={(e) => setSlug(e.target.value.trim().toLowerCase())} placeholder="shop" />
        </Field>
        <div className="grid gap-3 sm:grid-cols-2">
          <Choices legend="Checks" empty="No checks yet." items={checks.map((c) => ({ id: c.id, label: c.name }))} selected={checkIds} onChange={setCheckIds} />
          <Choices legend="Hosts" empty="No hosts yet." items={servers.map((s) => ({ id: s.id, label: s.hostname }))} selected={hostIds} onChange={setHostIds} />
        </div>
        <FormError error={error} />
        <div className="flex flex-wrap justify-end gap-2">
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? "Creating…" : "Create page"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/** A scrolling list of checkboxes. */
function Choices({
  legend,
  empty,
  items,
  selected,
  onChange,
}: {
  legend: string;
  empty: string;
  items: { id: number; label: string }[];
  selected: ReadonlySet<number>;
  onChange: (next: ReadonlySet<number>) => void;
}) {
  return (
    <fieldset className="text-sm">
      <legend className="mb-1 font-medium">
        {legend} <span className="font-normal text-slate-500 dark:text-slate-400">({selected.size} chosen)</span>
      </legend>
      {items.length === 0 ? (
        <p className="text-slate-500 dark:text-slate-400">{empty}</p>
      ) : (
        <div className="max-h-48 space-y-0.5 overflow-y-auto rounded-md border border-slate-200 p-2 dark:border-slate-800">
          {items.map((item) => (
            <label key={item.id} className="flex items-center gap-2">
              <input
                type="checkbox"
                className="accent-sky-600"
                checked={selected.has(item.id)}
                onChange={(e) => {
                  const next = new Set(selected);
                  if (e.target.checked) next.add(item.id);
                  else next.delete(item.id);
                  onChange(next);
                }}
              />
              <span className="truncate">{item.label}</span>
            </label>
          ))}
        </div>
      )}
    </fieldset>
  );
}
