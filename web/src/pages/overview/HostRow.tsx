// One host on the fleet overview: a link to its detail page, laid out as a
// table row on wide screens and as a two-line card on phones.

import { memo } from "react";
import { handleLinkClick } from "../../app/router";
import type { Server } from "../../api/types";
import { Sparkline } from "../../components/Sparkline";
import { StatusBadge } from "../../components/StatusBadge";
import { formatAgo, formatBytes, formatDateTime, formatDuration, formatPercent, formatRate } from "../../lib/format";
import { hostState, uptimeSeconds } from "../../lib/status";
import type { HostSummary } from "../../lib/summary";

export const ROW_HEIGHT_WIDE = 52;
export const ROW_HEIGHT_COMPACT = 84;

/** Columns of the wide layout, shared with the header row. */
export const WIDE_GRID = "grid grid-cols-[minmax(9rem,2fr)_minmax(7rem,1fr)_4rem_6.5rem_minmax(5rem,1fr)_minmax(7rem,1fr)_minmax(7rem,1fr)_4.5rem] items-center gap-3";

function Meter({ percent }: { percent: number | null }) {
  const value = percent === null ? 0 : Math.min(100, Math.max(0, percent));
  const color = value >= 90 ? "bg-rose-500" : value >= 75 ? "bg-amber-500" : "bg-sky-500";
  return (
    <div aria-hidden="true" className="mt-1 h-1 w-full overflow-hidden rounded bg-slate-200 dark:bg-slate-800">
      <div className={`h-full ${color}`} style={{ width: `${value}%` }} />
    </div>
  );
}

function Labels({ labels }: { labels: Record<string, string> }) {
  const entries = Object.entries(labels);
  if (entries.length === 0) return null;
  return (
    <span className="flex min-w-0 gap-1 overflow-hidden">
      {entries.slice(0, 3).map(([k, v]) => (
        <span key={k} className="truncate rounded bg-slate-100 px-1 text-[11px] text-slate-600 dark:bg-slate-800 dark:text-slate-300">
          {k}={v}
        </span>
      ))}
    </span>
  );
}

function seenText(server: Server, nowMs: number): string {
  const state = hostState(server);
  if (state === "never") return "never reported";
  if (state === "offline") return `since ${formatDateTime(server.last_seen, { nowMs })}`;
  return `seen ${formatAgo(server.last_seen, nowMs)}`;
}

interface HostRowProps {
  server: Server;
  summary: HostSummary | undefined;
  nowMs: number;
  compact: boolean;
}

/** Memoised: while scrolling, only rows that come into view render. */
export const HostRow = memo(function HostRow({ server, summary, nowMs, compact }: HostRowProps) {
  const href = `/servers/${server.id}`;
  const state = hostState(server);
  const memory = summary?.memPercent ?? null;
  const memoryDetail = summary?.memUsedBytes != null && summary.memTotalBytes != null ? `${formatBytes(summary.memUsedBytes)} / ${formatBytes(summary.memTotalBytes)}` : "";
  const disk = summary?.fullestMount ?? null;
  const rowClass =
    "h-full border-b border-slate-200 px-3 hover:bg-slate-100 focus-visible:bg-sky-50 focus-visible:outline-2 focus-visible:-outline-offset-2 focus-visible:outline-sky-500 dark:border-slate-800 dark:hover:bg-slate-800/60 dark:focus-visible:bg-sky-950/40";
  const dim = state !== "online" ? "opacity-70" : "";

  if (compact) {
    return (
      <a href={href} onClick={(e) => handleLinkClick(e, href)} className={`flex flex-col justify-center gap-1 ${rowClass}`} data-testid="host-row" data-host={server.hostname}>
        <span className="flex items-center justify-between gap-2">
          <span className="truncate font-medium">{server.hostname}</span>
          <StatusBadge state={state} />
        </span>
        <span className={`grid grid-cols-3 gap-2 text-xs tabular-nums text-slate-600 dark:text-slate-300 ${dim}`}>
          <span>CPU {formatPercent(summary?.cpuPercent)}</span>
          <span>Mem {formatPercent(memory)}</span>
          <span className="truncate">Disk {disk ? formatPercent(disk.percent) : "—"}</span>
        </span>
        <span className="flex justify-between gap-2 text-xs text-slate-500 dark:text-slate-400">
          <span className="tabular-nums">
            ↓{formatRate(summary?.rxBytesPerSec)} ↑{formatRate(summary?.txBytesPerSec)}
          </span>
          <span className="truncate">{seenText(server, nowMs)}</span>
        </span>
      </a>
    );
  }

  return (
    <a href={href} onClick={(e) => handleLinkClick(e, href)} className={`${WIDE_GRID} text-sm ${rowClass}`} data-testid="host-row" data-host={server.hostname}>
      <span className="flex min-w-0 flex-col">
        <span className="truncate font-medium">{server.hostname}</span>
        <Labels labels={server.labels ?? {}} />
      </span>
      <span className="flex min-w-0 flex-col">
        <StatusBadge state={state} />
        <span className="truncate text-xs text-slate-500 dark:text-slate-400">{seenText(server, nowMs)}</span>
      </span>
      <span className={`tabular-nums ${dim}`}>
        {formatPercent(summary?.cpuPercent)}
        <Meter percent={summary?.cpuPercent ?? null} />
      </span>
      <span className={dim}>
        <Sparkline values={summary?.cpuSpark ?? []} label={`CPU of ${server.hostname}, last 30 minutes`} />
      </span>
      <span className={`min-w-0 tabular-nums ${dim}`} title={memoryDetail}>
        {formatPercent(memory)}
        <Meter percent={memory} />
      </span>
      <span className={`min-w-0 tabular-nums ${dim}`} title={disk ? `${disk.mount} ${formatPercent(disk.percent)}` : ""}>
        <span className="flex justify-between gap-1">
          <span className="truncate text-slate-500 dark:text-slate-400">{disk?.mount ?? ""}</span>
          <span>{disk ? formatPercent(disk.percent) : "—"}</span>
        </span>
        <Meter percent={disk?.percent ?? null} />
      </span>
      <span className={`flex flex-col text-xs tabular-nums ${dim}`}>
        <span>↓ {formatRate(summary?.rxBytesPerSec)}</span>
        <span>↑ {formatRate(summary?.txBytesPerSec)}</span>
      </span>
      <span className={`tabular-nums ${dim}`}>{formatDuration(uptimeSeconds(server, nowMs))}</span>
    </a>
  );
});
