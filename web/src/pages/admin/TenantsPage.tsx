// Tenants (platform admins): each has its own users, hosts, keys and audit
// log. Create, rename, suspend or resume, delete — and act inside one.

import { useState } from "react";
import { api } from "../../api/client";
import { getActingTenant, notifyTenantsChanged, setActingTenant } from "../../api/tenant";
import type { Tenant } from "../../api/types";
import { useMe } from "../../app/me";
import { Badge } from "../../components/Badge";
import { Card } from "../../components/Card";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { DataTable } from "../../components/DataTable";
import { Dialog } from "../../components/Dialog";
import { ErrorPanel, Loading } from "../../components/ErrorPanel";
import { Field, FormError, Notice, PageHeader } from "../../components/Form";
import { useAction } from "../../hooks/useAction";
import { useResource } from "../../hooks/useResource";
import { formatDateTime } from "../../lib/format";
import { NAME_HINT, nameProblem } from "./names";

type Open = { kind: "create" } | { kind: "rename"; tenant: Tenant } | { kind: "suspend"; tenant: Tenant } | { kind: "delete"; tenant: Tenant } | null;

export function TenantsPage() {
  const me = useMe();
  const tenants = useResource("tenants", (signal) => api.tenants(signal));
  const [open, setOpen] = useState<Open>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const resume = useAction();
  const acting = getActingTenant() ?? me.homeTenantId;
  const close = () => setOpen(null);
  const done = (message: string) => {
    setOpen(null);
    setNotice(message);
    tenants.reload();
    notifyTenantsChanged();
  };

  return (
    <div className="space-y-3">
      <PageHeader
        title="Tenants"
        description="Separate organisations on this server: each has its own users, hosts, agent keys and audit log."
        actions={
          <button type="button" className="btn btn-primary" onClick={() => setOpen({ kind: "create" })} data-testid="add-tenant">
            Add tenant
          </button>
        }
      />
      {notice && <Notice testId="tenants-notice">{notice}</Notice>}
      <FormError error={resume.error} />
      <Card>
        {tenants.error != null && !tenants.data ? (
          <ErrorPanel title="Tenants could not be loaded" error={tenants.error} onRetry={tenants.reload} />
        ) : !tenants.data ? (
          <Loading label="Loading tenants…" />
        ) : (
          <DataTable
            caption="Tenants"
            rows={tenants.data}
            rowKey={(t) => t.id}
            stack
            rowAttrs={(t) => ({ "data-testid": "tenant-row", "data-name": t.name })}
            columns={[
              {
                header: "Name",
                cell: (t) => (
                  <span className="flex items-center gap-2 font-medium">
                    {t.name}
                    {t.id === me.homeTenantId && <span className="text-xs font-normal text-slate-500 dark:text-slate-400">(yours)</span>}
                    {t.id === acting && <Badge tone="progress">acting here</Badge>}
                  </span>
                ),
              },
              { header: "ID", numeric: true, cell: (t) => t.id },
              { header: "Status", cell: (t) => (t.suspended ? <Badge tone="danger">suspended</Badge> : <Badge tone="success">active</Badge>) },
              { header: "Created", cell: (t) => formatDateTime(t.created_at) },
              {
                header: "Actions",
                cell: (t) => {
                  const home = t.id === me.homeTenantId ? "Not your own tenant" : undefined;
                  return (
                    <div className="flex flex-wrap gap-1" role="group" aria-label={`Actions for ${t.name}`}>
                      <button type="button" className="btn btn-sm" disabled={t.id === acting} onClick={() => setActingTenant(t.id)}>
                        Act here
                      </button>
                      <button type="button" className="btn btn-sm" onClick={() => setOpen({ kind: "rename", tenant: t })}>
                        Rename…
                      </button>
                      {t.suspended ? (
                        <button
                          type="button"
                          className="btn btn-sm"
                          disabled={resume.busy}
                          onClick={async () => {
                            const r = await resume.run(() => api.patchTenant(t.id, { suspended: false }));
                            if (r.ok) done(`${t.name} is active again.`);
                          }}
                        >
                          Resume
                        </button>
                      ) : (
                        <button type="button" className="btn btn-sm" disabled={home !== undefined} title={home} onClick={() => setOpen({ kind: "suspend", tenant: t })}>
                          Suspend…
                        </button>
                      )}
                      <button type="button" className="btn btn-sm" disabled={home !== undefined} title={home} onClick={() => setOpen({ kind: "delete", tenant: t })}>
                        Delete…
                      </button>
                    </div>
                  );
                },
              },
            ]}
          />
        )}
      </Card>

      {(open?.kind === "create" || open?.kind === "rename") && (
        <TenantNameDialog tenant={open.kind === "rename" ? open.tenant : null} onClose={close} onSaved={(t, created) => done(created ? `Tenant ${t.name} was created.` : `Renamed to ${t.name}.`)} />
      )}
      {open?.kind === "suspend" && (
        <ConfirmDialog
          title={`Suspend ${open.tenant.name}?`}
          confirmLabel="Suspend"
          danger
          onClose={close}
          onConfirm={async () => {
            await api.patchTenant(open.tenant.id, { suspended: true });
            done(`${open.tenant.name} is suspended.`);
          }}
        >
          Its users cannot log in and its agents are refused until you resume it. No data is deleted.
        </ConfirmDialog>
      )}
      {open?.kind === "delete" && (
        <DeleteTenantDialog
          tenant={open.tenant}
          onClose={close}
          onDeleted={() => {
            if (getActingTenant() === open.tenant.id) setActingTenant(null);
            done(`${open.tenant.name} and all its data were deleted.`);
          }}
        />
      )}
    </div>
  );
}

function TenantNameDialog({ tenant, onClose, onSaved }: { tenant: Tenant | null; onClose: () => void; onSaved: (t: Tenant, created: boolean) => void }) {
  const [name, setName] = useState(tenant?.name ?? "");
  const [checked, setChecked] = useState(false);
  const { busy, error, run } = useAction();
  const problem = checked ? nameProblem(name) : null;
  return (
    <Dialog title={tenant ? `Rename ${tenant.name}` : "Add a tenant"} onClose={onClose} testId="tenant-name-dialog">
      <form
        className="space-y-3"
        noValidate
        onSubmit={async (e) => {
          e.preventDefault();
          setChecked(true);
          if (nameProblem(name)) return;
          const result = await run(() => (tenant ? api.patchTenant(tenant.id, { name }) : api.createTenant({ name })));
          if (result.ok) onSaved(result.value, tenant === null);
        }}
      >
        <Field label="Name" hint={NAME_HINT} error={problem}>
          <input className="input" autoComplete="off" value={name} onChange={(e) => setName(e.target.value.trim())} />
        </Field>
        <FormError error={error} />
        <div className="flex flex-wrap justify-end gap-2">
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={busy || (tenant !== null && name === tenant.name)}>
            {busy ? "Saving…" : tenant ? "Rename" : "Create tenant"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function DeleteTenantDialog({ tenant, onClose, onDeleted }: { tenant: Tenant; onClose: () => void; onDeleted: () => void }) {
  const [typed, setTyped] = useState("");
  const { busy, error, run } = useAction();
  return (
    <Dialog title={`Delete ${tenant.name}?`} onClose={onClose} testId="delete-tenant-dialog">
      <form
        className="space-y-3"
        onSubmit={async (e) => {
          e.preventDefault();
          const result = await run(() => api.deleteTenant(tenant.id, typed));
          if (result.ok) onDeleted();
        }}
      >
        <p className="text-sm">
          This deletes the tenant with <strong>all</strong> its users, hosts, metrics, agent keys and audit log. It cannot be undone.
        </p>
        <Field label={<>Type <span className="font-mono">{tenant.name}</span> to confirm</>}>
          <input className="input" autoComplete="off" value={typed} onChange={(e) => setTyped(e.target.value)} />
        </Field>
        <FormError error={error} />
        <div className="flex flex-wrap justify-end gap-2">
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn btn-danger" disabled={busy || typed !== tenant.name}>
            {busy ? "Deleting…" : "Delete tenant and its data"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
