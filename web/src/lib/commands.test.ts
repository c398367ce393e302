import { describe, expect, it } from "vitest";
import type { Command } from "../api/types";
import { applyEvent, applyRecord, describeOutcome, formatDurationMs, isFinal, startLive, statusLabel, statusTone } from "./commands";

function command(over: Partial<Command> = {}): Command {
  return {
    id: 7,
    tenant_id: 1,
    host_id: 1,
    action: "echo",
    args: { msg: "hi" },
    status: "pending",
    created_by: "admin",
    created_at: 1000,
    expires_at: 601_000,
    truncated: false,
    ...over,
  };
}

describe("status formatting", () => {
  it("says final statuses apart from the ones still moving", () => {
    expect(["pending", "delivered", "running"].map((s) => isFinal(s as Command["status"]))).toEqual([false, false, false]);
    expect(["succeeded", "failed", "timed_out", "rejected", "expired", "cancelled"].every((s) => isFinal(s as Command["status"]))).toBe(true);
  });

  it("labels and colours each status", () => {
    expect(statusLabel("timed_out")).toBe("timed out");
    expect(statusTone("succeeded")).toBe("success");
    expect(statusTone("running")).toBe("progress");
    expect(statusTone("rejected")).toBe("danger");
    expect(statusTone("cancelled")).toBe("warning");
  });

  it("formats durations", () => {
    expect(formatDurationMs(350)).toBe("350 ms");
    expect(formatDurationMs(1234)).toBe("1.2 s");
    expect(formatDurationMs(42_000)).toBe("42 s");
    expect(formatDurationMs(125_000)).toBe("2m 5s");
    expect(formatDurationMs(null)).toBe("—");
  });

  it("describes how it ended", () => {
    expect(describeOutcome(command({ status: "succeeded", exit_code: 0 }))).toBe("exit 0");
    expect(describeOutcome(command({ status: "rejected", error: "not allowed" }))).toBe("not allowed");
    expect(describeOutcome(command({ status: "expired" }))).toBe("expired");
    expect(describeOutcome(command({ status: "running" }))).toBe("—");
  });
});

describe("live output", () => {
  const event = (status: Command["status"], output: string, command_id = 7) => ({ command_id, status, output });

  it("appends the chunks of its own command and follows its status", () => {
    let live = startLive(command());
    live = applyEvent(live, event("delivered", ""));
    live = applyEvent(live, event("running", "hello "));
    live = applyEvent(live, event("running", "from the ui\n"));
    live = applyEvent(live, event("running", "ignored", 8));
    live = applyEvent(live, event("succeeded", ""));
    expect(live.output).toBe("hello from the ui\n");
    expect(live.command.status).toBe("succeeded");
  });

  it("never moves the status backwards", () => {
    let live = applyEvent(startLive(command()), event("succeeded", "done\n"));
    live = applyEvent(live, event("running", ""));
    expect(live.command.status).toBe("succeeded");
  });

  it("takes the server's full record over streamed chunks, and ignores chunks after it", () => {
    let live = applyEvent(startLive(command()), event("running", "par"));
    live = applyRecord(live, command({ status: "succeeded", output: "partial and the rest\n", exit_code: 0, duration_ms: 12 }));
    expect(live).toMatchObject({ output: "partial and the rest\n", complete: true });
    expect(live.command.exit_code).toBe(0);
    live = applyEvent(live, event("succeeded", "late chunk"));
    expect(live.output).toBe("partial and the rest\n");
  });

  it("ignores an older record than what was streamed", () => {
    const live = applyEvent(startLive(command()), event("running", "x"));
    expect(applyRecord(live, command({ status: "pending", output: "" }))).toBe(live);
  });
});
