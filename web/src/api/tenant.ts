// The tenant a platform admin acts in: every API call then carries the
// `x-lxmon-tenant` header. Null means the user's own tenant. Kept per browser
// tab (sessionStorage), so a reload stays in the tenant and another tab can
// act elsewhere; logging out forgets it.

import { getSession, subscribeSession } from "./session";

const STORAGE_KEY = "lxmon.tenant";
type Listener = () => void;

const listeners = new Set<Listener>();
let acting: number | null = readStored();

function readStored(): number | null {
  try {
    const raw = globalThis.sessionStorage?.getItem(STORAGE_KEY);
    const id = raw ? Number(raw) : NaN;
    return Number.isSafeInteger(id) && id > 0 ? id : null;
  } catch {
    return null;
  }
}

function store(id: number | null) {
  try {
    if (id === null) sessionStorage.removeItem(STORAGE_KEY);
    else sessionStorage.setItem(STORAGE_KEY, String(id));
  } catch {
    // Storage refused: the choice lasts for this page only.
  }
}

/** The tenant to name in `x-lxmon-tenant`, or null for the user's own. */
export function getActingTenant(): number | null {
  return acting;
}

/** Acts in tenant `id` from now on (null, or the user's own tenant: back home). */
export function setActingTenant(id: number | null): void {
  const home = getSession()?.tenantId;
  const next = id === null || id === home ? null : id;
  if (next === acting) return;
  acting = next;
  store(next);
  for (const listener of listeners) listener();
}

export function subscribeActingTenant(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

// A new login (or a logout) starts in the user's own tenant.
let lastUser = getSession()?.username ?? null;
subscribeSession(() => {
  const user = getSession()?.username ?? null;
  if (user !== lastUser) {
    lastUser = user;
    setActingTenant(null);
  }
});

// The list of tenants changed (created, renamed, deleted): the switcher reloads.
const listChanged = new Set<Listener>();

export function notifyTenantsChanged(): void {
  for (const listener of listChanged) listener();
}

export function subscribeTenantsChanged(listener: Listener): () => void {
  listChanged.add(listener);
  return () => listChanged.delete(listener);
}
