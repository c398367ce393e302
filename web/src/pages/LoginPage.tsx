// Username and password in, session out — with a second step for a TOTP
// code (or a recovery code) when the account has two-factor login on: the
// server answers the first step with 401 `totp_required`, and the same
// credentials go again with the code.

import { useEffect, useRef, useState, type FormEvent } from "react";
import { ApiError, api, errorMessage } from "../api/client";
import { clearEndReason, getEndReason, startSession } from "../api/session";
import { setTheme, useTheme } from "../app/theme";

type LoginStep = { kind: "credentials" } | { kind: "second-factor"; username: string; password: string };

/** What to tell the user about a failed login. */
function loginError(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.code === "totp_invalid") return "That code is not right. Try the current one from your app.";
    if (error.status === 401) return "Wrong username or password.";
    if (error.status === 429) return `Too many attempts. ${error.message}`;
  }
  return errorMessage(error);
}

export function LoginPage() {
  const [step, setStep] = useState<LoginStep>({ kind: "credentials" });
  // The reason the last session ended ("expired"), shown once.
  const [notice] = useState(() => getEndReason());
  useEffect(() => clearEndReason(), []);
  return (
    <AuthFrame>
      {notice && (
        <p role="status" data-testid="login-notice" className="mb-4 rounded-md border border-amber-300 bg-amber-50 p-3 text-sm text-amber-900 dark:border-amber-800 dark:bg-amber-950/50 dark:text-amber-200">
          {notice}
        </p>
      )}
      {step.kind === "credentials" ? (
        <CredentialsForm onSecondFactor={(username, password) => setStep({ kind: "second-factor", username, password })} />
      ) : (
        <SecondFactorForm username={step.username} password={step.password} onBack={() => setStep({ kind: "credentials" })} />
      )}
    </AuthFrame>
  );
}

/** The centred column of the pages before login: brand, theme toggle, one form. */
export function AuthFrame({ children }: { children: React.ReactNode }) {
  const theme = useTheme();
  return (
    <div className="flex min-h-dvh flex-col items-center justify-center p-4">
      <div className="w-full max-w-sm">
        <div className="mb-6 flex items-center justify-between">
          <h1 className="flex items-center gap-2 text-2xl font-semibold tracking-tight">
            <svg aria-hidden="true" viewBox="0 0 16 16" className="h-7 w-7">
              <path d="M1 10h3l2-6 3 9 2-5h4" fill="none" stroke="#0ea5e9" strokeWidth="2" strokeLinejoin="round" />
            </svg>
            lxmon
          </h1>
          <button type="button" className="btn" onClick={() => setTheme(theme === "dark" ? "light" : "dark")} aria-label={`Switch to ${theme === "dark" ? "light" : "dark"} theme`}>
            <span aria-hidden="true">{theme === "dark" ? "☀" : "☾"}</span>
          </button>
        </div>
        {children}
      </div>
    </div>
  );
}

export const FORM_CLASS = "space-y-4 rounded-lg border border-slate-200 bg-white p-6 shadow-sm dark:border-slate-800 dark:bg-slate-900";

export function FormError({ message }: { message: string | null }) {
  if (!message) return null;
  return (
    <p role="alert" className="text-sm text-rose-700 dark:text-rose-400">
      {message}
    </p>
  );
}

function CredentialsForm({ onSecondFactor }: { onSecondFactor: (username: string, password: string) => void }) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const usernameInput = useRef<HTMLInputElement>(null);

  useEffect(() => usernameInput.current?.focus(), []);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      startSession(await api.login({ username, password }));
    } catch (e) {
      setBusy(false);
      if (e instanceof ApiError && e.code === "totp_required") onSecondFactor(username, password);
      else setError(loginError(e));
    }
  }

  return (
    <form onSubmit={submit} className={FORM_CLASS} aria-labelledby="login-title">
      <h2 id="login-title" className="text-lg font-semibold">
        Log in
      </h2>
      <label className="block text-sm">
        <span className="mb-1 block font-medium">Username</span>
        <input ref={usernameInput} name="username" autoComplete="username" required className="input" value={username} onChange={(e) => setUsername(e.target.value)} />
      </label>
      <label className="block text-sm">
        <span className="mb-1 block font-medium">Password</span>
        <input name="password" type="password" autoComplete="current-password" required className="input" value={password} onChange={(e) => setPassword(e.target.value)} />
      </label>
      <FormError message={error} />
      <button type="submit" className="btn btn-primary w-full" disabled={busy}>
        {busy ? "Logging in…" : "Log in"}
      </button>
    </form>
  );
}

function SecondFactorForm({ username, password, onBack }: { username: string; password: string; onBack: () => void }) {
  const [useRecovery, setUseRecovery] = useState(false);
  const [code, setCode] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const codeInput = useRef<HTMLInputElement>(null);

  useEffect(() => codeInput.current?.focus(), [useRecovery]);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const trimmed = code.trim();
      startSession(await api.login(useRecovery ? { username, password, recovery_code: trimmed } : { username, password, totp_code: trimmed }));
    } catch (e) {
      setBusy(false);
      setError(loginError(e));
    }
  }

  return (
    <form onSubmit={submit} className={FORM_CLASS} aria-labelledby="second-factor-title">
      <h2 id="second-factor-title" className="text-lg font-semibold">
        Two-factor login
      </h2>
      <label className="block text-sm">
        <span className="mb-1 block font-medium">{useRecovery ? "Recovery code" : "Code from your authenticator app"}</span>
        <input
          ref={codeInput}
          key={useRecovery ? "recovery" : "totp"}
          name={useRecovery ? "recovery_code" : "totp_code"}
          autoComplete="one-time-code"
          inputMode={useRecovery ? "text" : "numeric"}
          pattern={useRecovery ? undefined : "[0-9 ]{6,8}"}
          required
          className="input font-mono tracking-widest"
          value={code}
          onChange={(e) => setCode(e.target.value)}
        />
      </label>
      <FormError message={error} />
      <button type="submit" className="btn btn-primary w-full" disabled={busy}>
        {busy ? "Checking…" : "Verify"}
      </button>
      <div className="flex justify-between text-sm">
        <button type="button" className="link" onClick={onBack}>
          ← Back
        </button>
        <button
          type="button"
          className="link"
          onClick={() => {
            setUseRecovery((r) => !r);
            setCode("");
            setError(null);
          }}
        >
          {useRecovery ? "Use an app code" : "Use a recovery code"}
        </button>
      </div>
    </form>
  );
}
