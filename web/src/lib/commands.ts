// Remote commands: how a status reads, and how streamed chunks build up the
// output of the command on screen.

import type { Command, CommandStatus } from "../api/types";
import { DASH } from "./format";

const ORDER: Record<CommandStatus, number> = {
  pending: 0,
  delivered: 1,
  running: 2,
  succeeded: 3,
  failed: 3,
  timed_out: 3,
  rejected: 3,
  expired: 3,
  cancelled: 3,
};

/** Whether nothing will happen to the command any more. */
export function isFinal(status: CommandStatus): boolean {
  return ORDER[status] === 3;
}

export type Tone = "neutral" | "progress" | "success" | "danger" | "warning";

const TEXT: Record<CommandStatus, { label: string; tone: Tone }> = {
  pending: { label: "pending", tone: "neutral" },
  delivered: { label: "delivered", tone: "progress" },
  running: { label: "running", tone: "progress" },
  succeeded: { label: "succeeded", tone: "success" },
  failed: { label: "failed", tone: "danger" },
  timed_out: { label: "timed out", tone: "danger" },
  rejected: { label: "rejected", tone: "danger" },
  expired: { label: "expired", tone: "warning" },
  cancelled: { label: "cancelled", tone: "warning" },
};

export function statusLabel(status: CommandStatus): string {
  return TEXT[status]?.label ?? String(status);
}

export function statusTone(status: CommandStatus): Tone {
  return TEXT[status]?.tone ?? "neutral";
}

/** A command's run time: "350 ms", "1.2 s", "2m 5s". */
export function formatDurationMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return DASH;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}m ${s % 60}s`;
}

/** How it ended, in a few words: "exit 0", "exit 1", "killed after 10 s". */
export function describeOutcome(c: Pick<Command, "status" | "exit_code" | "error">): string {
  if (c.exit_code !== null && c.exit_code !== undefined) return `exit ${c.exit_code}`;
  if (c.error) return c.error;
  return isFinal(c.status) ? statusLabel(c.status) : DASH;
}

/** The command as the live panel knows it: the server's record plus streamed output. */
export interface LiveCommand {
  command: Command;
  /** Output as streamed (or as fetched, once the full record came). */
  output: string;
  /** Whether `output` is the server's full copy rather than streamed chunks. */
  complete: boolean;
}

export function startLive(command: Command): LiveCommand {
  return { command, output: command.output ?? "", complete: false };
}

/**
 * One `command` event applied: its chunk appended, its status taken unless
 * it would go backwards (a late "running" after "succeeded").
 */
export function applyEvent(live: LiveCommand, event: { command_id: number; status: CommandStatus; output: string }): LiveCommand {
  if (event.command_id !== live.command.id) return live;
  const status = ORDER[event.status] >= ORDER[live.command.status] ? event.status : live.command.status;
  const output = live.complete ? live.output : live.output + event.output;
  if (status === live.command.status && output === live.output) return live;
  return { ...live, command: { ...live.command, status }, output };
}

/** The server's record replaces what was streamed (it has every chunk, exit code and duration). */
export function applyRecord(live: LiveCommand, record: Command): LiveCommand {
  if (record.id !== live.command.id) return live;
  if (ORDER[record.status] < ORDER[live.command.status]) return live;
  const output = record.output ?? live.output;
  return { command: record, output, complete: isFinal(record.status) && record.output !== null && record.output !== undefined };
}
