import type { Server } from "../../api/types";
import { StatusBadge } from "../../components/StatusBadge";
import { formatDateTime, formatDuration } from "../../lib/format";
import { describeState, hostState, uptimeSeconds } from "../../lib/status";

/** Facts about the host: what runs there and when it was last heard from. */
export function HostInfo({ server, cores, nowMs }: { server: Server; cores: number | null; nowMs: number }) {
  const labels = Object.entries(server.labels ?? {});
  const facts: [string, string][] = [
    ["Status", describeState(server, nowMs)],
    ["OS", server.os || "—"],
    ["Kernel", server.kernel || "—"],
    ["Architecture", server.arch || "—"],
    ["CPU cores", cores === null ? "—" : String(cores)],
    ["Agent", server.agent_version || "—"],
    ["Report interval", server.interval_s ? `${server.interval_s} s` : "—"],
    ["Boot time", server.boot_time ? formatDateTime(server.boot_time * 1000) : "—"],
    ["Uptime", formatDuration(uptimeSeconds(server, nowMs))],
    ["Last seen", formatDateTime(server.last_seen, { nowMs })],
    ["Added", formatDateTime(server.created_at)],
  ];
  return (
    <dl className="grid grid-cols-[auto_1fr] gap-x-4 gap-y-1 text-sm" data-testid="host-info">
      {facts.map(([term, value]) => (
        <div key={term} className="contents">
          <dt className="text-slate-500 dark:text-slate-400">{term}</dt>
          <dd className="min-w-0 break-words">{term === "Status" ? <span className="flex flex-wrap items-center gap-2"><StatusBadge state={hostState(server)} /><span className="text-xs text-slate-500 dark:text-slate-400">{value}</span></span> : value}</dd>
        </div>
      ))}
      <dt className="text-slate-500 dark:text-slate-400">Labels</dt>
      <dd className="flex flex-wrap gap-1">
        {labels.length === 0
          ? "—"
          : labels.map(([k, v]) => (
              <span key={k} className="rounded bg-slate-100 px-1.5 text-xs dark:bg-slate-800">
                {k}={v}
              </span>
            ))}
      </dd>
    </dl>
  );
}
