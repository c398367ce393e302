// Whether a host is up, and how to say so.

import type { Server } from "../api/types";
import { formatAgo, formatDateTime } from "./format";

export type HostState = "online" | "offline" | "never";

/**
 * The host's state: the server's verdict, except that a host that never
 * reported is "never" (it has no last data to show).
 */
export function hostState(server: Pick<Server, "status" | "last_seen">): HostState {
  if (server.last_seen === null || server.last_seen === undefined) return "never";
  return server.status === "online" ? "online" : "offline";
}

/** When an offline host was last heard from, or null when it is online or never reported. */
export function offlineSince(server: Pick<Server, "status" | "last_seen">): number | null {
  return hostState(server) === "offline" ? (server.last_seen ?? null) : null;
}

/** One line for a host's state: "online · seen 3 s ago", "offline since 14:03:07 (2 h ago)". */
export function describeState(server: Pick<Server, "status" | "last_seen">, nowMs: number): string {
  switch (hostState(server)) {
    case "online":
      return `online · seen ${formatAgo(server.last_seen, nowMs)}`;
    case "offline":
      return `offline since ${formatDateTime(server.last_seen, { nowMs })} (${formatAgo(server.last_seen, nowMs)})`;
    case "never":
      return "never reported";
  }
}

export type StatusCounts = Record<HostState | "all", number>;

export function countByState(servers: readonly Pick<Server, "status" | "last_seen">[]): StatusCounts {
  const counts: StatusCounts = { all: servers.length, online: 0, offline: 0, never: 0 };
  for (const s of servers) counts[hostState(s)] += 1;
  return counts;
}

/**
 * Uptime in seconds: from boot to now while the host is online, from boot to
 * its last report when it is offline (what it had when it went away).
 */
export function uptimeSeconds(server: Pick<Server, "status" | "last_seen" | "boot_time">, nowMs: number): number | null {
  if (server.boot_time === null || server.boot_time === undefined) return null;
  const state = hostState(server);
  if (state === "never") return null;
  const endMs = state === "online" ? nowMs : (server.last_seen ?? nowMs);
  return Math.max(0, endMs / 1000 - server.boot_time);
}
