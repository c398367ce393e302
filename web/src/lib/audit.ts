// The audit page's filters turned into /api/audit query parameters.

export type AuditRange = "1h" | "24h" | "7d" | "30d" | "all" | "custom";

export const AUDIT_RANGES: { key: AuditRange; label: string }[] = [
  { key: "1h", label: "Last hour" },
  { key: "24h", label: "Last 24 hours" },
  { key: "7d", label: "Last 7 days" },
  { key: "30d", label: "Last 30 days" },
  { key: "all", label: "All time" },
  { key: "custom", label: "Custom range" },
];

const RANGE_MS: Record<Exclude<AuditRange, "all" | "custom">, number> = {
  "1h": 3_600_000,
  "24h": 86_400_000,
  "7d": 7 * 86_400_000,
  "30d": 30 * 86_400_000,
};

export interface AuditFilters {
  actor: string;
  action: string;
  range: AuditRange;
  /** `datetime-local` values (local time), for the custom range. */
  from: string;
  to: string;
}

export const EMPTY_FILTERS: AuditFilters = { actor: "", action: "", range: "all", from: "", to: "" };

/** A `datetime-local` value ("2024-05-01T14:03") as Unix ms, or undefined when empty or invalid. */
export function localInputToMs(value: string): number | undefined {
  if (!value) return undefined;
  const ms = new Date(value).getTime();
  return Number.isFinite(ms) ? ms : undefined;
}

export interface AuditQueryParams {
  actor?: string;
  action?: string;
  since?: number;
  until?: number;
  before?: number;
  limit?: number;
}

export function auditQuery(filters: AuditFilters, nowMs: number, page: { before?: number; limit?: number } = {}): AuditQueryParams {
  const query: AuditQueryParams = {};
  if (filters.actor.trim()) query.actor = filters.actor.trim();
  if (filters.action.trim()) query.action = filters.action.trim();
  if (filters.range === "custom") {
    query.since = localInputToMs(filters.from);
    query.until = localInputToMs(filters.to);
  } else if (filters.range !== "all") {
    query.since = nowMs - RANGE_MS[filters.range];
  }
  if (page.before !== undefined) query.before = page.before;
  if (page.limit !== undefined) query.limit = page.limit;
  for (const key of Object.keys(query) as (keyof AuditQueryParams)[]) if (query[key] === undefined) delete query[key];
  return query;
}

/** "ok (201)" → "ok": the word, for colouring the outcome. */
export function outcomeKind(outcome: string): "ok" | "denied" | "failed" | "other" {
  const word = outcome.split(/[\s(]/, 1)[0];
  return word === "ok" || word === "denied" || word === "failed" ? word : "other";
}
