// Agent keys and enrollment tokens: their state in words.

import type { AgentKeyView, EnrollmentTokenView } from "../api/types";
import type { Tone } from "./commands";

export function keyTone(status: AgentKeyView["status"]): Tone {
  switch (status) {
    case "active":
      return "success";
    case "expiring":
      return "warning";
    case "expired":
      return "neutral";
    case "revoked":
      return "danger";
  }
}

/** Whether the key still lets an agent in (so revoking it changes something). */
export function keyWorks(status: AgentKeyView["status"]): boolean {
  return status === "active" || status === "expiring";
}

export type TokenState = "active" | "used up" | "expired" | "revoked";

export function tokenState(t: Pick<EnrollmentTokenView, "revoked_at" | "expires_at" | "uses" | "max_uses">, nowMs: number): TokenState {
  if (t.revoked_at !== null && t.revoked_at !== undefined) return "revoked";
  if (nowMs >= t.expires_at) return "expired";
  if (t.uses >= t.max_uses) return "used up";
  return "active";
}

export const TOKEN_TONES: Record<TokenState, Tone> = { active: "success", "used up": "neutral", expired: "neutral", revoked: "danger" };

export const TOKEN_EXPIRY_CHOICES: { seconds: number; label: string }[] = [
  { seconds: 3600, label: "1 hour" },
  { seconds: 86_400, label: "1 day" },
  { seconds: 7 * 86_400, label: "7 days" },
  { seconds: 30 * 86_400, label: "30 days" },
];

/** The grace period typed in hours as the API's seconds, or an error (0 to 30 days). */
export function graceSeconds(hoursText: string): { seconds: number } | { error: string } {
  const hours = Number(hoursText);
  if (hoursText.trim() === "" || !Number.isFinite(hours) || hours < 0) return { error: "Enter a number of hours (0 for none)." };
  if (hours > 720) return { error: "At most 720 hours (30 days)." };
  return { seconds: Math.round(hours * 3600) };
}

/** Max uses typed as text: a whole number from 1 to 10,000. */
export function maxUses(text: string): { value: number } | { error: string } {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 10_000) return { error: "A whole number from 1 to 10000." };
  return { value: n };
}
