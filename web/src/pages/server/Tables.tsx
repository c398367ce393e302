import { useState } from "react";
import type { LatestView, ProcessInfo } from "../../api/types";
import { DataTable } from "../../components/DataTable";
import { formatBytes, formatCount, formatPercent, formatRate } from "../../lib/format";
import { interfaceRows, mountRows } from "./tables";

export function MountsTable({ latest }: { latest: LatestView }) {
  return (
    <DataTable
      caption="Filesystems"
      rows={mountRows(latest.values)}
      rowKey={(r) => r.mount}
      empty="No filesystems reported."
      columns={[
        { header: "Mount", cell: (r) => <span className="font-mono text-xs">{r.mount}</span> },
        { header: "Used", numeric: true, cell: (r) => formatPercent(r.usedPercent) },
        { header: "Used bytes", numeric: true, cell: (r) => formatBytes(r.usedBytes) },
        { header: "Free", numeric: true, cell: (r) => formatBytes(r.freeBytes) },
        { header: "Size", numeric: true, cell: (r) => formatBytes(r.totalBytes) },
        { header: "Inodes", numeric: true, cell: (r) => formatPercent(r.inodesPercent) },
      ]}
    />
  );
}

export function InterfacesTable({ latest }: { latest: LatestView }) {
  return (
    <DataTable
      caption="Network interfaces"
      rows={interfaceRows(latest.values)}
      rowKey={(r) => r.iface}
      empty="No interfaces reported."
      columns={[
        { header: "Interface", cell: (r) => <span className="font-mono text-xs">{r.iface}</span> },
        { header: "In", numeric: true, cell: (r) => formatRate(r.rxBytesPerSec) },
        { header: "Out", numeric: true, cell: (r) => formatRate(r.txBytesPerSec) },
        { header: "Packets in/s", numeric: true, cell: (r) => formatCount(r.rxPacketsPerSec) },
        { header: "Packets out/s", numeric: true, cell: (r) => formatCount(r.txPacketsPerSec) },
        { header: "Errors", numeric: true, cell: (r) => formatCount(r.errors) },
        { header: "Drops", numeric: true, cell: (r) => formatCount(r.drops) },
      ]}
    />
  );
}

type ProcessOrder = "cpu" | "memory";

export function ProcessesTable({ latest }: { latest: LatestView }) {
  const [order, setOrder] = useState<ProcessOrder>("cpu");
  const processes: ProcessInfo[] = (order === "cpu" ? latest.processes?.by_cpu : latest.processes?.by_memory) ?? [];
  return (
    <div>
      <div role="group" aria-label="Order processes by" className="mb-2 flex gap-1">
        {(["cpu", "memory"] as const).map((o) => (
          <button key={o} type="button" aria-pressed={order === o} onClick={() => setOrder(o)} className="btn px-2 py-0.5 text-xs aria-pressed:border-sky-500 aria-pressed:bg-sky-600 aria-pressed:text-white">
            By {o === "cpu" ? "CPU" : "memory"}
          </button>
        ))}
      </div>
      <DataTable
        caption={`Top processes by ${order}`}
        rows={processes}
        rowKey={(p) => p.pid}
        empty={latest.processes ? "No processes reported." : "Process lists arrive with the host's next report."}
        columns={[
          { header: "PID", numeric: true, cell: (p) => p.pid },
          { header: "Name", cell: (p) => <span className="font-mono text-xs">{p.name}</span> },
          { header: "CPU (of one core)", numeric: true, cell: (p) => formatPercent(p.cpu_percent) },
          { header: "Memory", numeric: true, cell: (p) => formatBytes(p.rss_bytes) },
        ]}
      />
    </div>
  );
}
