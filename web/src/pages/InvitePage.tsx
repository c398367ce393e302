// Accepting an invitation: the link's fragment holds the token; the invited
// user chooses a password (twice) and is logged in. Needs no session.

import { useEffect, useRef, useState, type FormEvent } from "react";
import { ApiError, api, errorMessage } from "../api/client";
import { startSession } from "../api/session";
import { navigate } from "../app/router";
import { inviteTokenFromHash } from "../lib/invite";
import { MIN_PASSWORD_LENGTH, newPasswordProblem } from "../lib/password";
import { AuthFrame, FORM_CLASS, FormError } from "./LoginPage";

function inviteError(error: unknown): string {
  if (error instanceof ApiError && error.status === 401) return "This invitation is invalid, already used or has expired. Ask your admin for a new one.";
  return errorMessage(error);
}

export function InvitePage() {
  const [token] = useState(() => inviteTokenFromHash(window.location.hash));
  const [password, setPassword] = useState("");
  const [repeat, setRepeat] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const first = useRef<HTMLInputElement>(null);
  useEffect(() => first.current?.focus(), []);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (!token) return;
    const problem = newPasswordProblem(password, repeat);
    if (problem) {
      setError(problem);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const session = await api.acceptInvite({ token, password });
      startSession(session);
      // The token is spent: drop it from the address bar and history.
      navigate("/", { replace: true });
    } catch (e) {
      setBusy(false);
      setError(inviteError(e));
    }
  }

  return (
    <AuthFrame>
      {!token ? (
        <div className={FORM_CLASS} role="alert">
          <h2 className="text-lg font-semibold">Invitation link incomplete</h2>
          <p className="text-sm">This page needs the whole link from your invitation, including the part after “#”. Copy it again from the message you received, or ask your admin for a new one.</p>
          <a href="/" className="link text-sm">
            Go to the login page
          </a>
        </div>
      ) : (
        <form onSubmit={submit} className={FORM_CLASS} aria-labelledby="invite-title" noValidate>
          <h2 id="invite-title" className="text-lg font-semibold">
            Welcome to lxmon
          </h2>
          <p className="text-sm text-slate-600 dark:text-slate-300">You were invited. Choose a password to finish setting up your account; you are logged in right after.</p>
          <label className="block text-sm">
            <span className="mb-1 block font-medium">New password</span>
            <input ref={first} name="new-password" type="password" autoComplete="new-password" required minLength={MIN_PASSWORD_LENGTH} className="input" value={password} onChange={(e) => setPassword(e.target.value)} />
            <span className="mt-1 block text-xs text-slate-500 dark:text-slate-400">At least {MIN_PASSWORD_LENGTH} characters.</span>
          </label>
          <label className="block text-sm">
            <span className="mb-1 block font-medium">Repeat the password</span>
            <input name="repeat-password" type="password" autoComplete="new-password" required className="input" value={repeat} onChange={(e) => setRepeat(e.target.value)} />
          </label>
          <FormError message={error} />
          <button type="submit" className="btn btn-primary w-full" disabled={busy}>
            {busy ? "Setting up…" : "Set password and log in"}
          </button>
        </form>
      )}
    </AuthFrame>
  );
}
