import { describe, expect, it } from "vitest";
import type { QueryResult } from "../api/types";
import { countByState, describeState, hostState, offlineSince, uptimeSeconds } from "./status";
import { summarize, summaryWindow } from "./summary";

const now = Date.UTC(2024, 4, 1, 12, 0, 0);

describe("host state", () => {
  it("distinguishes online, offline and never reported", () => {
    expect(hostState({ status: "online", last_seen: now })).toBe("online");
    expect(hostState({ status: "offline", last_seen: now - 600_000 })).toBe("offline");
    expect(hostState({ status: "offline", last_seen: null })).toBe("never");
  });
  it("knows since when a host is offline", () => {
    expect(offlineSince({ status: "offline", last_seen: 5 })).toBe(5);
    expect(offlineSince({ status: "online", last_seen: 5 })).toBeNull();
    expect(offlineSince({ status: "offline", last_seen: null })).toBeNull();
  });
  it("describes the state in words", () => {
    expect(describeState({ status: "online", last_seen: now - 10_000 }, now)).toBe("online · seen 10 s ago");
    expect(describeState({ status: "offline", last_seen: now - 2 * 3_600_000 }, now)).toMatch(/^offline since .+ \(2 h ago\)$/);
    expect(describeState({ status: "offline", last_seen: null }, now)).toBe("never reported");
  });
  it("counts by state", () => {
    expect(
      countByState([
        { status: "online", last_seen: now },
        { status: "online", last_seen: now },
        { status: "offline", last_seen: now },
        { status: "offline", last_seen: null },
      ]),
    ).toEqual({ all: 4, online: 2, offline: 1, never: 1 });
  });
  it("stops the uptime clock when a host goes offline", () => {
    const boot = now / 1000 - 3600;
    expect(uptimeSeconds({ status: "online", last_seen: now, boot_time: boot }, now)).toBe(3600);
    expect(uptimeSeconds({ status: "offline", last_seen: now - 600_000, boot_time: boot }, now)).toBe(3000);
    expect(uptimeSeconds({ status: "online", last_seen: now, boot_time: null }, now)).toBeNull();
  });
});

describe("host summary", () => {
  it("queries the half hour before an offline host went away", () => {
    const lastSeen = now - 86_400_000;
    const w = summaryWindow({ status: "offline", last_seen: lastSeen }, now);
    expect(w.toMs).toBe(lastSeen + 60_000);
    expect(w.toMs - w.fromMs).toBe(30 * 60_000);
    expect(summaryWindow({ status: "online", last_seen: now }, now).toMs).toBe(now);
  });
  it("takes current values, the fullest mount and summed network", () => {
    const r = {
      tier: "raw",
      step_s: 30,
      timestamps: [1, 2],
      series: [
        { name: "cpu.usage_percent", labels: {}, values: [10, 20] },
        { name: "mem.used_percent", labels: {}, values: [40, null] },
        { name: "fs.used_percent", labels: { mount: "/" }, values: [50, 55] },
        { name: "fs.used_percent", labels: { mount: "/data" }, values: [90, 91] },
        { name: "net.rx_bytes_per_sec", labels: { iface: "eth0" }, values: [100, 200] },
        { name: "net.rx_bytes_per_sec", labels: { iface: "eth1" }, values: [1, 2] },
      ],
    } as QueryResult;
    const s = summarize(r);
    expect(s.cpuPercent).toBe(20);
    expect(s.memPercent).toBe(40);
    expect(s.fullestMount).toEqual({ mount: "/data", percent: 91 });
    expect(s.rxBytesPerSec).toBe(202);
    expect(s.txBytesPerSec).toBeNull();
    expect(s.cpuSpark).toEqual([10, 20]);
  });
});
