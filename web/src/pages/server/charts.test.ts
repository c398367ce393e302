import { describe, expect, it } from "vitest";
import type { QueryResult } from "../../api/types";
import { buildCharts, buildPerCoreChart } from "./charts";

const result = {
  tier: "raw",
  step_s: 10,
  timestamps: [10_000, 20_000],
  series: [
    { name: "cpu.usage_percent", labels: {}, values: [5, 6] },
    { name: "cpu.iowait_percent", labels: {}, values: [1, null] },
    { name: "mem.total_bytes", labels: {}, values: [8, 8] },
    { name: "mem.used_bytes", labels: {}, values: [2, 3] },
    { name: "net.rx_bytes_per_sec", labels: { iface: "eth1" }, values: [1, 1] },
    { name: "net.rx_bytes_per_sec", labels: { iface: "eth0" }, values: [2, 2] },
    { name: "net.tx_bytes_per_sec", labels: { iface: "eth0" }, values: [3, 3] },
    { name: "cpu.core.usage_percent", labels: { core: "10" }, values: [1, 1] },
    { name: "cpu.core.usage_percent", labels: { core: "2" }, values: [2, 2] },
  ],
} as QueryResult;

describe("buildCharts", () => {
  const charts = Object.fromEntries(buildCharts(result).map((c) => [c.id, c]));
  it("draws the series the host has, with uPlot data in seconds", () => {
    expect(charts.cpu!.series.map((s) => s.label)).toEqual(["total", "iowait"]);
    expect(charts.cpu!.data).toEqual([[10, 20], [5, 6], [1, null]]);
    expect(charts.cpu!.yRange).toEqual([0, 100]);
  });
  it("dashes the memory total", () => {
    expect(charts.memory!.series.map((s) => [s.label, s.dashed ?? false])).toEqual([
      ["used", false],
      ["total", true],
    ]);
  });
  it("pairs interfaces' in and out", () => {
    expect(charts.network!.series.map((s) => s.label)).toEqual(["eth0 in", "eth0 out", "eth1 in"]);
  });
  it("leaves charts without series empty", () => {
    expect(charts.disk!.series).toEqual([]);
    expect(charts.disk!.data).toEqual([[10, 20]]);
  });
  it("orders cores numerically", () => {
    expect(buildPerCoreChart(result).series.map((s) => s.label)).toEqual(["core 2", "core 10"]);
  });
});
