import { describe, expect, it } from "vitest";
import type { Server } from "../api/types";
import { matchesFilter, selectHosts } from "./fleet";
import type { HostSummary } from "./summary";

function server(id: number, hostname: string, extra: Partial<Server> = {}): Server {
  return {
    id,
    hostname,
    status: "online",
    last_seen: 1000,
    os: "",
    arch: "",
    kernel: "",
    agent_version: "",
    labels: {},
    interval_s: 10,
    boot_time: 0,
    created_at: 0,
    ...extra,
  } as Server;
}

function summary(cpuPercent: number | null): HostSummary {
  return { cpuPercent, memPercent: null, memUsedBytes: null, memTotalBytes: null, fullestMount: null, rxBytesPerSec: null, txBytesPerSec: null, cpuSpark: [] };
}

describe("matchesFilter", () => {
  const web = server(1, "web-01.example", { labels: { env: "prod", role: "web" } });
  it("matches hostname substrings and labels", () => {
    expect(matchesFilter(web, "")).toBe(true);
    expect(matchesFilter(web, "WEB-0")).toBe(true);
    expect(matchesFilter(web, "prod")).toBe(true);
    expect(matchesFilter(web, "env=prod")).toBe(true);
    expect(matchesFilter(web, "env:prod")).toBe(true);
    expect(matchesFilter(web, "env=staging")).toBe(false);
    expect(matchesFilter(web, "env=")).toBe(true);
    expect(matchesFilter(web, "web prod")).toBe(true);
    expect(matchesFilter(web, "web db")).toBe(false);
  });
});

describe("selectHosts", () => {
  const hosts = [
    server(1, "b", { status: "offline", last_seen: 500 }),
    server(2, "a10"),
    server(3, "a9"),
    server(4, "c", { last_seen: null, status: "offline" }),
  ];
  const base = { filter: "", status: "all" as const, descending: false, summaries: new Map<number, HostSummary>(), nowMs: 2000 };
  it("sorts names naturally", () => {
    expect(selectHosts(hosts, { ...base, sort: "name" }).map((s) => s.hostname)).toEqual(["a9", "a10", "b", "c"]);
    expect(selectHosts(hosts, { ...base, sort: "name", descending: true }).map((s) => s.hostname)).toEqual(["c", "b", "a10", "a9"]);
  });
  it("puts hosts without a value last in either direction", () => {
    const summaries = new Map([
      [1, summary(50)],
      [2, summary(10)],
      [3, summary(null)],
    ]);
    expect(selectHosts(hosts, { ...base, summaries, sort: "cpu", descending: true }).map((s) => s.id)).toEqual([1, 2, 3, 4]);
    expect(selectHosts(hosts, { ...base, summaries, sort: "cpu" }).map((s) => s.id)).toEqual([2, 1, 3, 4]);
  });
  it("filters by state", () => {
    expect(selectHosts(hosts, { ...base, sort: "name", status: "offline" }).map((s) => s.id)).toEqual([1]);
    expect(selectHosts(hosts, { ...base, sort: "name", status: "never" }).map((s) => s.id)).toEqual([4]);
  });
  it("puts problems first when sorting by status", () => {
    expect(selectHosts(hosts, { ...base, sort: "status" }).map((s) => s.id)).toEqual([1, 4, 3, 2]);
  });
});
