// Rows of the detail page's tables, from the host's latest values.

import type { LatestValue } from "../../api/types";

export interface MountRow {
  mount: string;
  totalBytes: number | null;
  usedBytes: number | null;
  freeBytes: number | null;
  usedPercent: number | null;
  inodesPercent: number | null;
}

export interface InterfaceRow {
  iface: string;
  rxBytesPerSec: number | null;
  txBytesPerSec: number | null;
  rxPacketsPerSec: number | null;
  txPacketsPerSec: number | null;
  errors: number | null;
  drops: number | null;
}

/** label value → metric name → value, for metrics carrying `label`. */
function byLabel(values: readonly LatestValue[], prefix: string, label: string): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  for (const v of values) {
    if (!v.name.startsWith(prefix)) continue;
    const key = v.labels?.[label];
    if (key === undefined) continue;
    let row = out.get(key);
    if (!row) out.set(key, (row = new Map()));
    row.set(v.name, v.value);
  }
  return out;
}

const byName = (a: string, b: string) => a.localeCompare(b, undefined, { numeric: true });

function sum(...values: (number | undefined)[]): number | null {
  const present = values.filter((v): v is number => v !== undefined);
  return present.length === 0 ? null : present.reduce((a, b) => a + b, 0);
}

export function mountRows(values: readonly LatestValue[]): MountRow[] {
  return [...byLabel(values, "fs.", "mount")]
    .sort(([a], [b]) => byName(a, b))
    .map(([mount, m]) => {
      const inodesTotal = m.get("fs.inodes_total");
      const inodesUsed = m.get("fs.inodes_used");
      return {
        mount,
        totalBytes: m.get("fs.total_bytes") ?? null,
        usedBytes: m.get("fs.used_bytes") ?? null,
        freeBytes: m.get("fs.free_bytes") ?? null,
        usedPercent: m.get("fs.used_percent") ?? null,
        inodesPercent: inodesTotal && inodesUsed !== undefined ? (inodesUsed / inodesTotal) * 100 : null,
      };
    });
}

export function interfaceRows(values: readonly LatestValue[]): InterfaceRow[] {
  return [...byLabel(values, "net.", "iface")]
    .sort(([a], [b]) => byName(a, b))
    .map(([iface, m]) => ({
      iface,
      rxBytesPerSec: m.get("net.rx_bytes_per_sec") ?? null,
      txBytesPerSec: m.get("net.tx_bytes_per_sec") ?? null,
      rxPacketsPerSec: m.get("net.rx_packets_per_sec") ?? null,
      txPacketsPerSec: m.get("net.tx_packets_per_sec") ?? null,
      errors: sum(m.get("net.rx_errors_total"), m.get("net.tx_errors_total")),
      drops: sum(m.get("net.rx_drops_total"), m.get("net.tx_drops_total")),
    }));
}

/** A single unlabelled latest value (e.g. cpu.cores_count), or null. */
export function latestScalar(values: readonly LatestValue[], name: string): number | null {
  return values.find((v) => v.name === name && Object.keys(v.labels ?? {}).length === 0)?.value ?? null;
}
