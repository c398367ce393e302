// The user's own account: password and two-factor login.

import { useState, type FormEvent } from "react";
import { api } from "../../api/client";
import { startSession } from "../../api/session";
import type { TotpSetup } from "../../api/types";
import { useMe } from "../../app/me";
import { Badge } from "../../components/Badge";
import { Card } from "../../components/Card";
import { CopyButton, SecretValue, ShownOnce } from "../../components/Copy";
import { Loading } from "../../components/ErrorPanel";
import { Field, FormError, Notice, PageHeader } from "../../components/Form";
import { QrCode } from "../../components/QrCode";
import { useAction } from "../../hooks/useAction";
import { ROLE_LABELS, isRole } from "../../lib/access";
import { MIN_PASSWORD_LENGTH, newPasswordProblem } from "../../lib/password";

export function AccountPage() {
  const me = useMe();
  return (
    <div className="max-w-3xl space-y-3">
      <PageHeader title="My account" description={`Logged in as ${me.username}${isRole(me.role) ? ` · ${ROLE_LABELS[me.role]}` : ""}`} />
      <Card title="Password">
        <PasswordForm />
      </Card>
      <Card title="Two-factor login" actions={me.totpEnabled === null ? null : me.totpEnabled ? <Badge tone="success">on</Badge> : <Badge>off</Badge>}>
        <TwoFactor />
      </Card>
    </div>
  );
}

function PasswordForm() {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [repeat, setRepeat] = useState("");
  const [checked, setChecked] = useState(false);
  const [done, setDone] = useState(false);
  const { busy, error, run } = useAction();
  const problem = checked ? newPasswordProblem(next, repeat) : null;

  async function submit(e: FormEvent) {
    e.preventDefault();
    setChecked(true);
    setDone(false);
    if (newPasswordProblem(next, repeat)) return;
    const result = await run(() => api.changePassword({ current_password: current, new_password: next }));
    if (!result.ok) return;
    // Every older token stopped working: carry on with the new one.
    startSession(result.value);
    setCurrent("");
    setNext("");
    setRepeat("");
    setChecked(false);
    setDone(true);
  }

  return (
    <form className="grid gap-3 sm:max-w-sm" onSubmit={submit} noValidate data-testid="password-form">
      <Field label="Current password">
        <input className="input" type="password" autoComplete="current-password" value={current} onChange={(e) => setCurrent(e.target.value)} />
      </Field>
      <Field label="New password" hint={`At least ${MIN_PASSWORD_LENGTH} characters.`}>
        <input className="input" type="password" autoComplete="new-password" value={next} onChange={(e) => setNext(e.target.value)} />
      </Field>
      <Field label="Repeat the new password" error={problem}>
        <input className="input" type="password" autoComplete="new-password" value={repeat} onChange={(e) => setRepeat(e.target.value)} />
      </Field>
      <FormError error={error} />
      {done && <Notice>Password changed. Your other sessions have ended; this one goes on.</Notice>}
      <div>
        <button type="submit" className="btn btn-primary" disabled={busy || current === ""}>
          {busy ? "Changing…" : "Change password"}
        </button>
      </div>
    </form>
  );
}

type TotpStep = { kind: "idle" } | { kind: "setup"; setup: TotpSetup } | { kind: "codes"; codes: string[] };

function TwoFactor() {
  const me = useMe();
  const [step, setStep] = useState<TotpStep>({ kind: "idle" });
  const [code, setCode] = useState("");
  const [password, setPassword] = useState("");
  const [disabled, setDisabled] = useState(false);
  const { busy, error, run, reset } = useAction();

  if (step.kind === "codes") {
    return (
      <div className="space-y-3" data-testid="recovery-codes">
        <Notice>Two-factor login is on. From now on, logging in asks for a code from your app.</Notice>
        <p className="text-sm">
          Keep these recovery codes somewhere safe. Each one logs you in once if you lose your phone.
        </p>
        <ul className="grid grid-cols-2 gap-1 rounded-md bg-slate-100 p-3 font-mono text-sm sm:grid-cols-3 dark:bg-slate-800">
          {step.codes.map((c) => (
            <li key={c}>{c}</li>
          ))}
        </ul>
        <ShownOnce />
        <div className="flex flex-wrap gap-2">
          <CopyButton text={step.codes.join("\n")} label="Copy all codes" />
          <button type="button" className="btn btn-primary" onClick={() => setStep({ kind: "idle" })}>
            I have saved them
          </button>
        </div>
      </div>
    );
  }

  if (step.kind === "setup") {
    const { secret, uri } = step.setup;
    return (
      <form
        className="space-y-3"
        data-testid="totp-setup"
        onSubmit={async (e) => {
          e.preventDefault();
          const result = await run(() => api.totpEnable(code.replace(/\s+/g, "")));
          if (!result.ok) return;
          setCode("");
          setStep({ kind: "codes", codes: result.value.recovery_codes });
          me.reload();
        }}
      >
        <ol className="list-decimal space-y-1 pl-5 text-sm">
          <li>Scan the QR code with an authenticator app (or type the secret into it).</li>
          <li>Enter the six-digit code the app shows to confirm.</li>
        </ol>
        <div className="flex flex-col gap-4 sm:flex-row sm:items-start">
          <QrCode value={uri} label="QR code of the two-factor secret, for an authenticator app" />
          <div className="min-w-0 flex-1 space-y-3">
            <SecretValue label="Secret" value={secret} testId="totp-secret" />
            <SecretValue label="Setup URI (otpauth)" value={uri} testId="totp-uri" />
          </div>
        </div>
        <Field label="Code from the app">
          <input className="input max-w-[10rem] font-mono tracking-widest" inputMode="numeric" autoComplete="one-time-code" autoFocus value={code} onChange={(e) => setCode(e.target.value)} />
        </Field>
        <FormError error={error} />
        <div className="flex flex-wrap gap-2">
          <button type="submit" className="btn btn-primary" disabled={busy || code.trim() === ""}>
            {busy ? "Checking…" : "Turn on two-factor login"}
          </button>
          <button
            type="button"
            className="btn"
            onClick={() => {
              reset();
              setStep({ kind: "idle" });
            }}
          >
            Cancel
          </button>
        </div>
      </form>
    );
  }

  if (me.totpEnabled === null) return <Loading />;

  if (me.totpEnabled) {
    return (
      <form
        className="grid gap-3 sm:max-w-sm"
        onSubmit={async (e) => {
          e.preventDefault();
          const result = await run(() => api.totpDisable(password));
          if (!result.ok) return;
          setPassword("");
          setDisabled(true);
          me.reload();
        }}
      >
        <p className="text-sm">Logging in asks for a code from your authenticator app. To turn this off, confirm with your password.</p>
        <Field label="Password">
          <input className="input" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} />
        </Field>
        <FormError error={error} />
        <div>
          <button type="submit" className="btn btn-danger" disabled={busy || password === ""}>
            {busy ? "Turning off…" : "Turn off two-factor login"}
          </button>
        </div>
      </form>
    );
  }

  return (
    <div className="space-y-3">
      {disabled && <Notice>Two-factor login is off.</Notice>}
      <p className="text-sm">Add a second step to logging in: a six-digit code from an authenticator app on your phone.</p>
      <FormError error={error} />
      <button
        type="button"
        className="btn btn-primary"
        disabled={busy}
        onClick={async () => {
          setDisabled(false);
          const result = await run(() => api.totpSetup());
          if (result.ok) setStep({ kind: "setup", setup: result.value });
        }}
      >
        {busy ? "Preparing…" : "Set up two-factor login"}
      </button>
    </div>
  );
}
