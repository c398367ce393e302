// A tiny router over the History API: the server answers every non-API path
// with index.html, so /servers/3 can be loaded, reloaded and bookmarked.

import { useSyncExternalStore } from "react";

export type Route =
  | { page: "overview" }
  | { page: "server"; id: number }
  | { page: "checks" }
  | { page: "check"; id: number }
  | { page: "alarms" }
  | { page: "alarm"; id: number }
  | { page: "alert-rules" | "alert-channels" | "alert-silences" }
  | { page: "users" | "tenants" | "keys" | "audit" | "account" | "invite" }
  | { page: "coming-soon"; name: string }
  | { page: "not-found"; path: string };

const listeners = new Set<() => void>();

function notify() {
  for (const listener of listeners) listener();
}

if (typeof window !== "undefined") window.addEventListener("popstate", notify);

function subscribe(listener: () => void) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function snapshot(): string {
  return window.location.pathname + window.location.search;
}

export function parseRoute(pathname: string): Route {
  if (pathname === "/" || pathname === "" || pathname === "/login") return { page: "overview" };
  const server = /^\/servers\/(\d+)\/?$/.exec(pathname);
  if (server) return { page: "server", id: Number(server[1]) };
  if (/^\/checks\/?$/.test(pathname)) return { page: "checks" };
  const check = /^\/checks\/(\d+)\/?$/.exec(pathname);
  if (check) return { page: "check", id: Number(check[1]) };
  if (/^\/(alarms|alerts)\/?$/.test(pathname)) return { page: "alarms" };
  const alarm = /^\/alarms\/(\d+)\/?$/.exec(pathname);
  if (alarm) return { page: "alarm", id: Number(alarm[1]) };
  const alerting = /^\/alerts\/(rules|channels|silences)\/?$/.exec(pathname);
  if (alerting) return { page: `alert-${alerting[1] as "rules" | "channels" | "silences"}` };
  const admin = /^\/(users|tenants|keys|audit|account|invite)\/?$/.exec(pathname);
  if (admin) return { page: admin[1] as "users" | "tenants" | "keys" | "audit" | "account" | "invite" };
  const soon = /^\/(commands)\/?$/.exec(pathname);
  if (soon) return { page: "coming-soon", name: soon[1]! };
  return { page: "not-found", path: pathname };
}

/** The current path and search string; re-renders on navigation. */
export function useLocation(): { pathname: string; search: string } {
  const current = useSyncExternalStore(subscribe, snapshot, () => "/");
  const q = current.indexOf("?");
  return q === -1 ? { pathname: current, search: "" } : { pathname: current.slice(0, q), search: current.slice(q) };
}

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (to === snapshot()) return;
  if (options.replace) window.history.replaceState(null, "", to);
  else window.history.pushState(null, "", to);
  notify();
}

/** Plain clicks on in-app links navigate without a reload; modified clicks open a tab as usual. */
export function handleLinkClick(event: React.MouseEvent<HTMLAnchorElement>, to: string): void {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  navigate(to);
}
