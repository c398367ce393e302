// Users of the tenant: who can log in, with which role; invitations,
// password resets, disabling and deleting.

import { useState, type FormEvent } from "react";
import { api } from "../../api/client";
import type { Role, UserView } from "../../api/types";
import { useMe } from "../../app/me";
import { Badge } from "../../components/Badge";
import { Card } from "../../components/Card";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { SecretValue, ShownOnce } from "../../components/Copy";
import { DataTable } from "../../components/DataTable";
import { Dialog } from "../../components/Dialog";
import { ErrorPanel, Loading } from "../../components/ErrorPanel";
import { Field, FormError, Notice, PageHeader } from "../../components/Form";
import { useAction } from "../../hooks/useAction";
import { useResource } from "../../hooks/useResource";
import { grantableRoles, isPlatformAdmin, ROLE_LABELS } from "../../lib/access";
import { formatDateTime } from "../../lib/format";
import { inviteLink } from "../../lib/invite";
import { newPasswordProblem } from "../../lib/password";
import { NAME_HINT, nameProblem } from "./names";

type Open =
  | { kind: "create" }
  | { kind: "invite"; username: string; link: string }
  | { kind: "role"; user: UserView }
  | { kind: "reset"; user: UserView }
  | { kind: "disable"; user: UserView }
  | { kind: "delete"; user: UserView }
  | null;

export function UsersPage() {
  const me = useMe();
  const users = useResource(`users-${me.tenantId}`, (signal) => api.users(signal));
  const [open, setOpen] = useState<Open>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const toggle = useAction();
  const close = () => setOpen(null);
  const done = (message: string) => {
    setOpen(null);
    setNotice(message);
    users.reload();
  };

  // A tenant admin cannot change platform admins, and nobody changes their own role or account here.
  const locked = (u: UserView) => (u.role === "platform_admin" && !isPlatformAdmin(me.role) ? "Only platform admins change platform admins" : null);
  const isSelf = (u: UserView) => me.userId === u.id || (me.userId === null && u.username === me.username);

  return (
    <div className="space-y-3">
      <PageHeader
        title="Users"
        description="Who can log in to this tenant, and what they may do."
        actions={
          <button type="button" className="btn btn-primary" onClick={() => setOpen({ kind: "create" })} data-testid="add-user">
            Add user
          </button>
        }
      />
      {notice && <Notice testId="users-notice">{notice}</Notice>}
      <FormError error={toggle.error} />
      <Card>
        {users.error != null && !users.data ? (
          <ErrorPanel title="Users could not be loaded" error={users.error} onRetry={users.reload} />
        ) : !users.data ? (
          <Loading label="Loading users…" />
        ) : (
          <DataTable
            caption="Users"
            rows={users.data}
            rowKey={(u) => u.id}
            stack
            rowAttrs={(u) => ({ "data-testid": "user-row", "data-username": u.username })}
            empty="No users yet."
            columns={[
              {
                header: "Username",
                cell: (u) => (
                  <span className="font-medium">
                    {u.username}
                    {isSelf(u) && <span className="ml-1 text-xs font-normal text-slate-500 dark:text-slate-400">(you)</span>}
                  </span>
                ),
              },
              { header: "Role", cell: (u) => <Badge tone={u.role === "tenant_reporter" ? "neutral" : "info"}>{ROLE_LABELS[u.role] ?? u.role}</Badge> },
              {
                header: "Status",
                cell: (u) =>
                  u.disabled ? (
                    <Badge tone="danger">disabled</Badge>
                  ) : u.invite_pending ? (
                    <Badge tone="warning">invite pending</Badge>
                  ) : (
                    <Badge tone="success">active</Badge>
                  ),
              },
              { header: "Two-factor", cell: (u) => (u.totp_enabled ? <Badge tone="success">on</Badge> : <span className="text-slate-500 dark:text-slate-400">off</span>) },
              { header: "Created", cell: (u) => formatDateTime(u.created_at) },
              {
                header: "Actions",
                cell: (u) => {
                  const why = locked(u) ?? (isSelf(u) ? "Change your own account under My account" : null);
                  return (
                    <div className="flex flex-wrap gap-1" role="group" aria-label={`Actions for ${u.username}`}>
                      <button type="button" className="btn btn-sm" disabled={why !== null} title={why ?? undefined} onClick={() => setOpen({ kind: "role", user: u })}>
                        Role…
                      </button>
                      {u.disabled ? (
                        <button
                          type="button"
                          className="btn btn-sm"
                          disabled={why !== null || toggle.busy}
                          title={why ?? undefined}
                          onClick={async () => {
                            const r = await toggle.run(() => api.patchUser(u.id, { disabled: false }));
                            if (r.ok) done(`${u.username} can log in again.`);
                          }}
                        >
                          Enable
                        </button>
                      ) : (
                        <button type="button" className="btn btn-sm" disabled={why !== null} title={why ?? undefined} onClick={() => setOpen({ kind: "disable", user: u })}>
                          Disable…
                        </button>
                      )}
                      <button type="button" className="btn btn-sm" disabled={locked(u) !== null} title={locked(u) ?? undefined} onClick={() => setOpen({ kind: "reset", user: u })}>
                        Reset password…
                      </button>
                      <button type="button" className="btn btn-sm" disabled={why !== null} title={why ?? undefined} onClick={() => setOpen({ kind: "delete", user: u })}>
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

      {open?.kind === "create" && (
        <CreateUserDialog
          callerRole={me.role}
          onClose={close}
          onCreated={(username, link) => {
            users.reload();
            if (link) setOpen({ kind: "invite", username, link });
            else done(`${username} was created and can log in with the password you set.`);
          }}
        />
      )}
      {open?.kind === "invite" && (
        <Dialog title={`Invitation for ${open.username}`} onClose={() => done(`${open.username} was invited.`)} testId="invite-dialog">
          <p className="text-sm">Send this link to {open.username}. It is valid for 7 days; opening it lets them choose a password and log in.</p>
          <SecretValue label="Invitation link" value={open.link} testId="invite-link" />
          <ShownOnce />
          <div className="flex justify-end">
            <button type="button" className="btn btn-primary" onClick={() => done(`${open.username} was invited.`)}>
              Done
            </button>
          </div>
        </Dialog>
      )}
      {open?.kind === "role" && <RoleDialog user={open.user} callerRole={me.role} onClose={close} onSaved={(u) => done(`${u.username} is now ${ROLE_LABELS[u.role]}.`)} />}
      {open?.kind === "reset" && <ResetPasswordDialog user={open.user} onClose={close} onSaved={(u) => done(`${u.username}'s password was reset; their sessions have ended.`)} />}
      {open?.kind === "disable" && (
        <ConfirmDialog title={`Disable ${open.user.username}?`} confirmLabel="Disable" danger onClose={close} onConfirm={async () => done(`${(await api.patchUser(open.user.id, { disabled: true })).username} is disabled.`)}>
          They are logged out at once and cannot log in until enabled again. Nothing of theirs is deleted.
        </ConfirmDialog>
      )}
      {open?.kind === "delete" && (
        <ConfirmDialog
          title={`Delete ${open.user.username}?`}
          confirmLabel="Delete user"
          danger
          testId="delete-user-dialog"
          onClose={close}
          onConfirm={async () => {
            await api.deleteUser(open.user.id);
            done(`${open.user.username} was deleted.`);
          }}
        >
          The account is removed for good; the audit log keeps what they did. To keep the account but stop logins, disable it instead.
        </ConfirmDialog>
      )}
    </div>
  );
}

function RoleSelect({ value, onChange, callerRole, ...field }: { value: Role; onChange: (role: Role) => void; callerRole: string; id?: string; "aria-describedby"?: string }) {
  return (
    <select {...field} className="input" value={value} onChange={(e) => onChange(e.target.value as Role)} name="role">
      {grantableRoles(callerRole).map((r) => (
        <option key={r} value={r}>
          {ROLE_LABELS[r]}
        </option>
      ))}
    </select>
  );
}

const ROLE_HINT = "Reporters see the fleet. Tenant admins also manage users, agent keys and run commands.";

function CreateUserDialog({ callerRole, onClose, onCreated }: { callerRole: string; onClose: () => void; onCreated: (username: string, inviteLink: string | null) => void }) {
  const [username, setUsername] = useState("");
  const [role, setRole] = useState<Role>("tenant_reporter");
  const [mode, setMode] = useState<"invite" | "password">("invite");
  const [password, setPassword] = useState("");
  const [repeat, setRepeat] = useState("");
  const [checked, setChecked] = useState(false);
  const { busy, error, run } = useAction();
  const nameError = checked ? nameProblem(username) : null;
  const passwordError = checked && mode === "password" ? newPasswordProblem(password, repeat) : null;

  async function submit(e: FormEvent) {
    e.preventDefault();
    setChecked(true);
    if (nameProblem(username) || (mode === "password" && newPasswordProblem(password, repeat))) return;
    const result = await run(() => api.createUser({ username, role, password: mode === "password" ? password : null }));
    if (result.ok) onCreated(result.value.user.username, inviteLink(window.location.origin, result.value));
  }

  return (
    <Dialog title="Add a user" onClose={onClose} testId="create-user-dialog">
      <form className="space-y-3" onSubmit={submit} noValidate>
        <Field label="Username" hint={NAME_HINT} error={nameError}>
          <input className="input" name="username" autoComplete="off" value={username} onChange={(e) => setUsername(e.target.value.trim())} />
        </Field>
        <Field label="Role" hint={ROLE_HINT}>
          <RoleSelect value={role} onChange={setRole} callerRole={callerRole} />
        </Field>
        <fieldset className="space-y-1 text-sm">
          <legend className="mb-1 font-medium">How they get in</legend>
          <label className="flex items-center gap-2">
            <input type="radio" name="mode" value="invite" checked={mode === "invite"} onChange={() => setMode("invite")} className="accent-sky-600" />
            Send an invitation link (they choose their password)
          </label>
          <label className="flex items-center gap-2">
            <input type="radio" name="mode" value="password" checked={mode === "password"} onChange={() => setMode("password")} className="accent-sky-600" />
            Set an initial password
          </label>
        </fieldset>
        {mode === "password" && (
          <>
            <Field label="Initial password" hint="At least 10 characters. Tell it to them by a safe channel.">
              <input className="input" type="password" name="new-password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} />
            </Field>
            <Field label="Repeat the password" error={passwordError}>
              <input className="input" type="password" name="repeat-password" autoComplete="new-password" value={repeat} onChange={(e) => setRepeat(e.target.value)} />
            </Field>
          </>
        )}
        <FormError error={error} />
        <div className="flex flex-wrap justify-end gap-2">
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? "Creating…" : mode === "invite" ? "Create and get link" : "Create user"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function RoleDialog({ user, callerRole, onClose, onSaved }: { user: UserView; callerRole: string; onClose: () => void; onSaved: (u: UserView) => void }) {
  const [role, setRole] = useState<Role>(user.role);
  const { busy, error, run } = useAction();
  return (
    <Dialog title={`Role of ${user.username}`} onClose={onClose}>
      <form
        className="space-y-3"
        onSubmit={async (e) => {
          e.preventDefault();
          const result = await run(() => api.patchUser(user.id, { role }));
          if (result.ok) onSaved(result.value);
        }}
      >
        <Field label="Role" hint={ROLE_HINT}>
          <RoleSelect value={role} onChange={setRole} callerRole={callerRole} />
        </Field>
        <FormError error={error} />
        <div className="flex flex-wrap justify-end gap-2">
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={busy || role === user.role}>
            {busy ? "Saving…" : "Save role"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function ResetPasswordDialog({ user, onClose, onSaved }: { user: UserView; onClose: () => void; onSaved: (u: UserView) => void }) {
  const [password, setPassword] = useState("");
  const [repeat, setRepeat] = useState("");
  const [checked, setChecked] = useState(false);
  const { busy, error, run } = useAction();
  const problem = checked ? newPasswordProblem(password, repeat) : null;
  return (
    <Dialog title={`Reset the password of ${user.username}`} onClose={onClose}>
      <form
        className="space-y-3"
        noValidate
        onSubmit={async (e) => {
          e.preventDefault();
          setChecked(true);
          if (newPasswordProblem(password, repeat)) return;
          const result = await run(() => api.patchUser(user.id, { password }));
          if (result.ok) onSaved(result.value);
        }}
      >
        <p className="text-sm">Their sessions end at once; they log in with the new password.</p>
        <Field label="New password" hint="At least 10 characters.">
          <input className="input" type="password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} />
        </Field>
        <Field label="Repeat the new password" error={problem}>
          <input className="input" type="password" autoComplete="new-password" value={repeat} onChange={(e) => setRepeat(e.target.value)} />
        </Field>
        <FormError error={error} />
        <div className="flex flex-wrap justify-end gap-2">
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? "Saving…" : "Reset password"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
