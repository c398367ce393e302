// Agent keys and enrollment tokens: how hosts get into the tenant. A key is
// one agent's credential; an enrollment token lets new servers get a key of
// their own through the install script.

import { useMemo, useState } from "react";
import { api } from "../../api/client";
import type { AgentKeyView, CreatedKey, CreatedToken, EnrollmentTokenView } from "../../api/types";
import { handleLinkClick } from "../../app/router";
import { Badge } from "../../components/Badge";
import { Card } from "../../components/Card";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { SecretValue, ShownOnce } from "../../components/Copy";
import { DataTable } from "../../components/DataTable";
import { Dialog } from "../../components/Dialog";
import { ErrorPanel, Loading } from "../../components/ErrorPanel";
import { Field, FormError, Notice, PageHeader } from "../../components/Form";
import { useAction } from "../../hooks/useAction";
import { useNow } from "../../hooks/useNow";
import { useResource } from "../../hooks/useResource";
import { formatAgo, formatDateTime } from "../../lib/format";
import { graceSeconds, keyTone, keyWorks, maxUses, TOKEN_EXPIRY_CHOICES, TOKEN_TONES, tokenState } from "../../lib/keys";
import { formatLabels, parseLabels } from "../../lib/labels";
import { NAME_HINT, nameProblem } from "./names";

type Open =
  | { kind: "create-key" }
  | { kind: "rotate"; key: AgentKeyView }
  | { kind: "revoke-key"; key: AgentKeyView }
  | { kind: "new-key"; title: string; created: CreatedKey }
  | { kind: "create-token" }
  | { kind: "new-token"; created: CreatedToken }
  | { kind: "revoke-token"; token: EnrollmentTokenView }
  | null;

export function KeysPage() {
  const keys = useResource("agent-keys", (signal) => api.agentKeys(signal));
  const tokens = useResource("enrollment-tokens", (signal) => api.enrollmentTokens(signal));
  const servers = useResource("servers", (signal) => api.servers(signal));
  const hostnames = useMemo(() => new Map(servers.data?.map((s) => [s.id, s.hostname])), [servers.data]);
  const now = useNow(30_000);
  const [open, setOpen] = useState<Open>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const close = () => setOpen(null);
  const reloadAll = () => {
    keys.reload();
    tokens.reload();
  };

  return (
    <div className="space-y-3">
      <PageHeader title="Agent keys & enrollment" description="Credentials of the agents that report to this tenant, and tokens that let new servers enroll themselves." />
      {notice && <Notice testId="keys-notice">{notice}</Notice>}

      <Card
        title="Agent keys"
        actions={
          <button type="button" className="btn btn-primary" onClick={() => setOpen({ kind: "create-key" })} data-testid="add-key">
            Create key
          </button>
        }
      >
        {keys.error != null && !keys.data ? (
          <ErrorPanel title="Agent keys could not be loaded" error={keys.error} onRetry={keys.reload} />
        ) : !keys.data ? (
          <Loading label="Loading keys…" />
        ) : (
          <DataTable
            caption="Agent keys"
            rows={keys.data}
            rowKey={(k) => k.key_id}
            stack
            rowAttrs={(k) => ({ "data-testid": "key-row", "data-name": k.name })}
            empty="No agent keys yet. Create one, or an enrollment token below."
            columns={[
              { header: "Name", cell: (k) => <span className="font-medium">{k.name}</span> },
              { header: "Key ID", cell: (k) => <span className="font-mono text-xs">{k.key_id}</span> },
              {
                header: "Host",
                cell: (k) =>
                  k.host_id === null || k.host_id === undefined ? (
                    <span className="text-slate-500 dark:text-slate-400">not registered yet</span>
                  ) : (
                    <a className="link" href={`/servers/${k.host_id}`} onClick={(e) => handleLinkClick(e, `/servers/${k.host_id}`)}>
                      {hostnames.get(k.host_id) ?? `host ${k.host_id}`}
                    </a>
                  ),
              },
              {
                header: "Status",
                cell: (k) => (
                  <span className="flex flex-col items-start gap-0.5">
                    <Badge tone={keyTone(k.status)}>{k.status}</Badge>
                    {k.status === "expiring" && k.expires_at && <span className="text-xs text-slate-500 dark:text-slate-400">until {formatDateTime(k.expires_at, { nowMs: now })}</span>}
                  </span>
                ),
              },
              { header: "Created", cell: (k) => formatDateTime(k.created_at, { nowMs: now }) },
              { header: "Last used", cell: (k) => formatAgo(k.last_used_at, now) },
              {
                header: "Actions",
                cell: (k) =>
                  keyWorks(k.status) ? (
                    <div className="flex flex-wrap gap-1" role="group" aria-label={`Actions for key ${k.name}`}>
                      {k.status === "active" && (
                        <button type="button" className="btn btn-sm" onClick={() => setOpen({ kind: "rotate", key: k })}>
                          Rotate…
                        </button>
                      )}
                      <button type="button" className="btn btn-sm" onClick={() => setOpen({ kind: "revoke-key", key: k })}>
                        Revoke…
                      </button>
                    </div>
                  ) : null,
              },
            ]}
          />
        )}
      </Card>

      <Card
        title="Enrollment tokens"
        actions={
          <button type="button" className="btn btn-primary" onClick={() => setOpen({ kind: "create-token" })} data-testid="add-token">
            Create token
          </button>
        }
      >
        {tokens.error != null && !tokens.data ? (
          <ErrorPanel title="Enrollment tokens could not be loaded" error={tokens.error} onRetry={tokens.reload} />
        ) : !tokens.data ? (
          <Loading label="Loading tokens…" />
        ) : (
          <DataTable
            caption="Enrollment tokens"
            rows={tokens.data}
            rowKey={(t) => t.id}
            stack
            rowAttrs={(t) => ({ "data-testid": "token-row", "data-name": t.name })}
            empty="No enrollment tokens. Create one to add servers with the install script."
            columns={[
              { header: "Name", cell: (t) => <span className="font-medium">{t.name}</span> },
              { header: "Labels", cell: (t) => <span className="font-mono text-xs">{formatLabels(t.labels)}</span> },
              { header: "Uses", numeric: true, cell: (t) => `${t.uses} / ${t.max_uses}` },
              {
                header: "Status",
                cell: (t) => {
                  const state = tokenState(t, now);
                  return <Badge tone={TOKEN_TONES[state]}>{state}</Badge>;
                },
              },
              { header: "Expires", cell: (t) => formatDateTime(t.expires_at, { nowMs: now }) },
              { header: "Created", cell: (t) => formatDateTime(t.created_at, { nowMs: now }) },
              {
                header: "Actions",
                cell: (t) =>
                  tokenState(t, now) === "active" ? (
                    <button type="button" className="btn btn-sm" onClick={() => setOpen({ kind: "revoke-token", token: t })} aria-label={`Revoke token ${t.name}`}>
                      Revoke…
                    </button>
                  ) : null,
              },
            ]}
          />
        )}
      </Card>

      {open?.kind === "create-key" && (
        <NameDialog
          title="Create an agent key"
          submitLabel="Create key"
          hint="Usually the host it is for, e.g. web-1."
          onClose={close}
          onSubmit={async (name) => {
            const created = await api.createKey({ name });
            keys.reload();
            setOpen({ kind: "new-key", title: `Key for ${created.info.name}`, created });
          }}
        />
      )}
      {open?.kind === "rotate" && (
        <RotateDialog
          agentKey={open.key}
          onClose={close}
          onRotated={(created) => {
            keys.reload();
            setOpen({ kind: "new-key", title: `New key for ${created.info.name}`, created });
          }}
        />
      )}
      {open?.kind === "new-key" && (
        <Dialog title={open.title} onClose={close} testId="new-key-dialog">
          <SecretValue label="Agent key" value={open.created.key} testId="new-key" note={`Key id ${open.created.info.key_id}. Put it in the agent's key file (/etc/lxmon/agent.key) or pass it with --key-file.`} />
          <ShownOnce />
          <div className="flex justify-end">
            <button type="button" className="btn btn-primary" onClick={close}>
              Done
            </button>
          </div>
        </Dialog>
      )}
      {open?.kind === "revoke-key" && (
        <ConfirmDialog
          title={`Revoke key ${open.key.name}?`}
          confirmLabel="Revoke key"
          danger
          onClose={close}
          onConfirm={async () => {
            await api.revokeKey(open.key.key_id);
            setNotice(`Key ${open.key.name} (${open.key.key_id}) is revoked.`);
            reloadAll();
          }}
        >
          The agent using it is refused from now on. Its host and data stay.
        </ConfirmDialog>
      )}
      {open?.kind === "create-token" && (
        <CreateTokenDialog
          onClose={close}
          onCreated={(created) => {
            tokens.reload();
            setOpen({ kind: "new-token", created });
          }}
        />
      )}
      {open?.kind === "new-token" && (
        <Dialog title={`Enrollment token ${open.created.info.name}`} onClose={close} testId="new-token-dialog" wide>
          <p className="text-sm">Run this as root on each new server. It installs the agent, which enrolls with the token and gets a key of its own.</p>
          <SecretValue label="Install command" value={open.created.install_command} testId="install-command" />
          <SecretValue label="Token" value={open.created.token} testId="new-token" />
          <ShownOnce />
          <div className="flex justify-end">
            <button type="button" className="btn btn-primary" onClick={close}>
              Done
            </button>
          </div>
        </Dialog>
      )}
      {open?.kind === "revoke-token" && (
        <ConfirmDialog
          title={`Revoke token ${open.token.name}?`}
          confirmLabel="Revoke token"
          danger
          onClose={close}
          onConfirm={async () => {
            await api.revokeToken(open.token.id);
            setNotice(`Token ${open.token.name} is revoked; servers already enrolled keep their keys.`);
            tokens.reload();
          }}
        >
          No new server can enroll with it. Servers it already enrolled keep working.
        </ConfirmDialog>
      )}
    </div>
  );
}

function NameDialog({ title, submitLabel, hint, onClose, onSubmit }: { title: string; submitLabel: string; hint?: string; onClose: () => void; onSubmit: (name: string) => Promise<void> }) {
  const [name, setName] = useState("");
  const [checked, setChecked] = useState(false);
  const { busy, error, run } = useAction();
  const problem = checked ? nameProblem(name) : null;
  return (
    <Dialog title={title} onClose={onClose}>
      <form
        className="space-y-3"
        noValidate
        onSubmit={async (e) => {
          e.preventDefault();
          setChecked(true);
          if (nameProblem(name)) return;
          await run(() => onSubmit(name));
        }}
      >
        <Field label="Name" hint={hint ? `${hint} ${NAME_HINT}.` : NAME_HINT} error={problem}>
          <input className="input" autoComplete="off" value={name} onChange={(e) => setName(e.target.value.trim())} />
        </Field>
        <FormError error={error} />
        <div className="flex flex-wrap justify-end gap-2">
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? "Creating…" : submitLabel}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function RotateDialog({ agentKey, onClose, onRotated }: { agentKey: AgentKeyView; onClose: () => void; onRotated: (created: CreatedKey) => void }) {
  const [hours, setHours] = useState("24");
  const { busy, error, run } = useAction();
  const grace = graceSeconds(hours);
  return (
    <Dialog title={`Rotate key ${agentKey.name}`} onClose={onClose} testId="rotate-dialog">
      <form
        className="space-y-3"
        onSubmit={async (e) => {
          e.preventDefault();
          if ("error" in grace) return;
          const result = await run(() => api.rotateKey(agentKey.key_id, { grace_s: grace.seconds }));
          if (result.ok) onRotated(result.value);
        }}
      >
        <p className="text-sm">A new key is made for the same host. The old one keeps working during the grace period, so you can install the new one without a gap.</p>
        <Field label="Grace period (hours)" hint="0 stops the old key at once; at most 720 (30 days)." error={"error" in grace ? grace.error : null}>
          <input className="input max-w-[10rem]" type="number" min={0} max={720} step="any" inputMode="decimal" value={hours} onChange={(e) => setHours(e.target.value)} />
        </Field>
        <FormError error={error} />
        <div className="flex flex-wrap justify-end gap-2">
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={busy || "error" in grace}>
            {busy ? "Rotating…" : "Rotate key"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function CreateTokenDialog({ onClose, onCreated }: { onClose: () => void; onCreated: (created: CreatedToken) => void }) {
  const [name, setName] = useState("");
  const [uses, setUses] = useState("1");
  const [expiry, setExpiry] = useState(86_400);
  const [labelsText, setLabelsText] = useState("");
  const [checked, setChecked] = useState(false);
  const { busy, error, run } = useAction();
  const labels = parseLabels(labelsText);
  const usesResult = maxUses(uses);
  const nameError = checked ? nameProblem(name) : null;

  return (
    <Dialog title="Create an enrollment token" onClose={onClose} testId="create-token-dialog">
      <form
        className="space-y-3"
        noValidate
        onSubmit={async (e) => {
          e.preventDefault();
          setChecked(true);
          if (nameProblem(name) || "error" in usesResult || labels.errors.length > 0) return;
          const result = await run(() => api.createToken({ name, max_uses: usesResult.value, expires_in_s: expiry, labels: labels.labels }));
          if (result.ok) onCreated(result.value);
        }}
      >
        <Field label="Name" hint={`What it is for, e.g. web-fleet. ${NAME_HINT}.`} error={nameError}>
          <input className="input" autoComplete="off" value={name} onChange={(e) => setName(e.target.value.trim())} />
        </Field>
        <div className="grid gap-3 sm:grid-cols-2">
          <Field label="Max uses" hint="How many servers may enroll with it." error={"error" in usesResult ? usesResult.error : null}>
            <input className="input" type="number" min={1} max={10000} step={1} inputMode="numeric" value={uses} onChange={(e) => setUses(e.target.value)} />
          </Field>
          <Field label="Expires after">
            <select className="input" value={expiry} onChange={(e) => setExpiry(Number(e.target.value))}>
              {TOKEN_EXPIRY_CHOICES.map((c) => (
                <option key={c.seconds} value={c.seconds}>
                  {c.label}
                </option>
              ))}
            </select>
          </Field>
        </div>
        <Field label="Labels" hint="One key=value per line, given to every host it enrolls (e.g. env=prod)." error={labels.errors.length > 0 ? labels.errors.join(" ") : null}>
          <textarea className="input font-mono" rows={3} spellCheck={false} value={labelsText} onChange={(e) => setLabelsText(e.target.value)} placeholder={"env=prod\nrole=web"} />
        </Field>
        <FormError error={error} />
        <div className="flex flex-wrap justify-end gap-2">
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? "Creating…" : "Create token"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
