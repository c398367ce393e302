// Who sees what: the dashboard's view of the server's permission table
// (crates/server/src/http/authz.rs ROUTES). The server decides; this only
// hides what a role could not use anyway.

import type { Role } from "../api/types";

export const ROLE_LABELS: Record<Role, string> = {
  platform_admin: "Platform admin",
  tenant_admin: "Tenant admin",
  tenant_reporter: "Reporter",
};

const ROLES = new Set<string>(Object.keys(ROLE_LABELS));

export function isRole(value: string): value is Role {
  return ROLES.has(value);
}

/** Tenant admins and platform admins: users, keys, audit, running commands. */
export function isTenantAdmin(role: string | undefined): boolean {
  return role === "tenant_admin" || role === "platform_admin";
}

export function isPlatformAdmin(role: string | undefined): boolean {
  return role === "platform_admin";
}

/** Roles the caller may give: only platform admins make platform admins. */
export function grantableRoles(callerRole: string | undefined): Role[] {
  return isPlatformAdmin(callerRole) ? ["tenant_reporter", "tenant_admin", "platform_admin"] : ["tenant_reporter", "tenant_admin"];
}

export type NavKey = "overview" | "alerts" | "checks" | "users" | "tenants" | "keys" | "audit";

export interface NavEntry {
  label: string;
  /** Null for pages that arrive in a later release ("soon"). */
  href: string | null;
  key?: NavKey;
}

/** The sidebar for a role: its pages, in a fixed order, and what is still to come. */
export function navEntries(role: string | undefined): NavEntry[] {
  const admin = isTenantAdmin(role);
  const entries: (NavEntry | false)[] = [
    { label: "Fleet overview", href: "/", key: "overview" },
    { label: "Commands", href: null },
    { label: "Alerts", href: "/alarms", key: "alerts" },
    { label: "Checks", href: "/checks", key: "checks" },
    admin && { label: "Users", href: "/users", key: "users" },
    isPlatformAdmin(role) && { label: "Tenants", href: "/tenants", key: "tenants" },
    admin && { label: "Agent keys", href: "/keys", key: "keys" },
    admin && { label: "Audit", href: "/audit", key: "audit" },
  ];
  return entries.filter((e): e is NavEntry => e !== false);
}
