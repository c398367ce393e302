import { describe, expect, it } from "vitest";
import type { LatestValue } from "../../api/types";
import { interfaceRows, latestScalar, mountRows } from "./tables";

const values: LatestValue[] = [
  { name: "fs.used_percent", labels: { mount: "/var" }, value: 40 },
  { name: "fs.total_bytes", labels: { mount: "/" }, value: 100 },
  { name: "fs.used_bytes", labels: { mount: "/" }, value: 25 },
  { name: "fs.inodes_total", labels: { mount: "/" }, value: 200 },
  { name: "fs.inodes_used", labels: { mount: "/" }, value: 50 },
  { name: "net.rx_bytes_per_sec", labels: { iface: "eth0" }, value: 10 },
  { name: "net.rx_errors_total", labels: { iface: "eth0" }, value: 1 },
  { name: "net.tx_errors_total", labels: { iface: "eth0" }, value: 2 },
  { name: "cpu.cores_count", labels: {}, value: 8 },
] as LatestValue[];

describe("tables", () => {
  it("groups filesystem values by mount", () => {
    expect(mountRows(values)).toEqual([
      { mount: "/", totalBytes: 100, usedBytes: 25, freeBytes: null, usedPercent: null, inodesPercent: 25 },
      { mount: "/var", totalBytes: null, usedBytes: null, freeBytes: null, usedPercent: 40, inodesPercent: null },
    ]);
  });
  it("sums an interface's error counters", () => {
    expect(interfaceRows(values)).toEqual([
      { iface: "eth0", rxBytesPerSec: 10, txBytesPerSec: null, rxPacketsPerSec: null, txPacketsPerSec: null, errors: 3, drops: null },
    ]);
  });
  it("reads scalars", () => {
    expect(latestScalar(values, "cpu.cores_count")).toBe(8);
    expect(latestScalar(values, "missing")).toBeNull();
  });
});
