// Filtering and sorting the fleet overview.

import type { Server } from "../api/types";
import { hostState, uptimeSeconds, type HostState } from "./status";
import type { HostSummary } from "./summary";

/**
 * Whether a host matches the filter text. Every word must match: `key=value`
 * (or `key:value`) matches a label exactly, anything else is a
 * case-insensitive substring of the hostname or of any label key or value.
 */
export function matchesFilter(server: Pick<Server, "hostname" | "labels">, filter: string): boolean {
  const words = filter.trim().toLowerCase().split(/\s+/).filter(Boolean);
  const labels = Object.entries(server.labels ?? {}).map(([k, v]) => [k.toLowerCase(), String(v).toLowerCase()] as const);
  const hostname = server.hostname.toLowerCase();
  return words.every((word) => {
    const pair = /^([^=:]+)[=:](.*)$/.exec(word);
    if (pair) {
      const [, key, value] = pair;
      return labels.some(([k, v]) => k === key && (value === "" || v === value));
    }
    return hostname.includes(word) || labels.some(([k, v]) => k.includes(word) || v.includes(word));
  });
}

export type SortKey = "name" | "status" | "cpu" | "memory" | "disk" | "rx" | "tx" | "uptime" | "last_seen";
export type StatusFilter = HostState | "all";

export const SORT_LABELS: Record<SortKey, string> = {
  name: "Name",
  status: "Status",
  cpu: "CPU",
  memory: "Memory",
  disk: "Fullest disk",
  rx: "Network in",
  tx: "Network out",
  uptime: "Uptime",
  last_seen: "Last seen",
};

const STATE_ORDER: Record<HostState, number> = { offline: 0, never: 1, online: 2 };

/** The value a host sorts by; null sorts last whatever the direction. */
function sortValue(server: Server, summary: HostSummary | undefined, key: SortKey, nowMs: number): number | string | null {
  switch (key) {
    case "name":
      return server.hostname.toLowerCase();
    case "status":
      return STATE_ORDER[hostState(server)];
    case "cpu":
      return summary?.cpuPercent ?? null;
    case "memory":
      return summary?.memPercent ?? null;
    case "disk":
      return summary?.fullestMount?.percent ?? null;
    case "rx":
      return summary?.rxBytesPerSec ?? null;
    case "tx":
      return summary?.txBytesPerSec ?? null;
    case "uptime":
      return uptimeSeconds(server, nowMs);
    case "last_seen":
      return server.last_seen ?? null;
  }
}

/** Filters by text and state, then sorts; ties fall back to the hostname so the order is stable. */
export function selectHosts(
  servers: readonly Server[],
  options: { filter: string; status: StatusFilter; sort: SortKey; descending: boolean; summaries: ReadonlyMap<number, HostSummary>; nowMs: number },
): Server[] {
  const { filter, status, sort, descending, summaries, nowMs } = options;
  const chosen = servers.filter((s) => (status === "all" || hostState(s) === status) && matchesFilter(s, filter));
  const keyed = chosen.map((s) => ({ server: s, value: sortValue(s, summaries.get(s.id), sort, nowMs), name: s.hostname.toLowerCase() }));
  keyed.sort((a, b) => {
    if (a.value === null && b.value !== null) return 1;
    if (b.value === null && a.value !== null) return -1;
    let order = 0;
    if (a.value !== null && b.value !== null) {
      order = typeof a.value === "string" && typeof b.value === "string" ? a.value.localeCompare(b.value, undefined, { numeric: true }) : Number(a.value) - Number(b.value);
      if (descending) order = -order;
    }
    return order !== 0 ? order : a.name.localeCompare(b.name, undefined, { numeric: true });
  });
  return keyed.map((k) => k.server);
}
