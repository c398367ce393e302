// The logged-in session, kept in localStorage so a reload stays logged in,
// and observable so the app re-renders when it starts or ends.

import type { LoginResponse } from "./types";

const STORAGE_KEY = "lxmon.session";

export interface Session {
  token: string;
  /** Unix seconds. */
  expiresAt: number;
  username: string;
  role: string;
  /** The user's own tenant. */
  tenantId: number;
}

type Listener = () => void;

let current: Session | null = readStored();
/** Why the last session ended, shown once on the login page. */
let endedBecause: string | null = null;
const listeners = new Set<Listener>();

function readStored(): Session | null {
  try {
    const raw = globalThis.localStorage?.getItem(STORAGE_KEY);
    if (!raw) return null;
    const parsed = JSON.parse(raw) as Partial<Session>;
    if (typeof parsed.token !== "string" || parsed.token === "") return null;
    return {
      token: parsed.token,
      expiresAt: typeof parsed.expiresAt === "number" ? parsed.expiresAt : 0,
      username: typeof parsed.username === "string" ? parsed.username : "",
      role: typeof parsed.role === "string" ? parsed.role : "",
      tenantId: typeof parsed.tenantId === "number" ? parsed.tenantId : 0,
    };
  } catch {
    // Unreadable storage (private mode, corrupt JSON): start logged out.
    return null;
  }
}

function emit() {
  for (const listener of listeners) listener();
}

export function getSession(): Session | null {
  return current;
}

export function getEndReason(): string | null {
  return endedBecause;
}

export function subscribeSession(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function startSession(login: LoginResponse): void {
  current = { token: login.token, expiresAt: login.expires_at, username: login.username, role: String(login.role), tenantId: login.tenant_id };
  endedBecause = null;
  localStorage.setItem(STORAGE_KEY, JSON.stringify(current));
  emit();
}

/** Ends the session; `reason` is shown on the login page (null for a plain logout). */
export function endSession(reason: string | null): void {
  const hadSession = current !== null;
  current = null;
  endedBecause = reason;
  localStorage.removeItem(STORAGE_KEY);
  if (hadSession || reason) emit();
}

/** Clears the message once the login page has shown it. */
export function clearEndReason(): void {
  endedBecause = null;
}
