// Username and password in, session out. The form is one step of a flow so
// that a second factor can slot in later: when the server starts answering
// "TOTP required" the page moves to a code step instead of starting the
// session (see `LoginStep`).

import { useEffect, useRef, useState, type FormEvent } from "react";
import { ApiError, api, errorMessage } from "../api/client";
import { clearEndReason, getEndReason, startSession } from "../api/session";
import { setTheme, useTheme } from "../app/theme";

type LoginStep = { kind: "credentials" };

export function LoginPage() {
  const [step] = useState<LoginStep>({ kind: "credentials" });
  // The reason the last session ended ("expired"), shown once.
  const [notice] = useState(() => getEndReason());
  useEffect(() => clearEndReason(), []);
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
        {notice && (
          <p role="status" data-testid="login-notice" className="mb-4 rounded-md border border-amber-300 bg-amber-50 p-3 text-sm text-amber-900 dark:border-amber-800 dark:bg-amber-950/50 dark:text-amber-200">
            {notice}
          </p>
        )}
        {step.kind === "credentials" && <CredentialsForm />}
      </div>
    </div>
  );
}

function CredentialsForm() {
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
      setError(e instanceof ApiError && e.status === 401 ? "Wrong username or password." : errorMessage(e));
      setBusy(false);
    }
  }

  return (
    <form onSubmit={submit} className="space-y-4 rounded-lg border border-slate-200 bg-white p-6 shadow-sm dark:border-slate-800 dark:bg-slate-900" aria-labelledby="login-title">
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
      {error && (
        <p role="alert" className="text-sm text-rose-700 dark:text-rose-400">
          {error}
        </p>
      )}
      <button type="submit" className="btn btn-primary w-full" disabled={busy}>
        {busy ? "Logging in…" : "Log in"}
      </button>
    </form>
  );
}
