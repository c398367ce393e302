//! The metric names lxmon-agent reports (docs/metrics.md is their reference).
//! The server accepts alert rules on these before any agent has reported
//! them; an agent test keeps the list and the collectors in step.

/// Every metric name lxmon-agent's collectors produce.
pub const AGENT_METRICS: &[&str] = &[
    "cpu.usage_percent",
    "cpu.user_percent",
    "cpu.system_percent",
    "cpu.iowait_percent",
    "cpu.steal_percent",
    "cpu.core.usage_percent",
    "cpu.cores_count",
    "load.1m",
    "load.5m",
    "load.15m",
    "mem.total_bytes",
    "mem.used_bytes",
    "mem.free_bytes",
    "mem.available_bytes",
    "mem.cached_bytes",
    "mem.buffers_bytes",
    "mem.used_percent",
    "swap.total_bytes",
    "swap.used_bytes",
    "fs.total_bytes",
    "fs.used_bytes",
    "fs.free_bytes",
    "fs.used_percent",
    "fs.inodes_total",
    "fs.inodes_used",
    "fs.inodes_free",
    "disk.read_bytes_per_sec",
    "disk.write_bytes_per_sec",
    "disk.reads_per_sec",
    "disk.writes_per_sec",
    "disk.busy_percent",
    "net.rx_bytes_per_sec",
    "net.tx_bytes_per_sec",
    "net.rx_packets_per_sec",
    "net.tx_packets_per_sec",
    "net.rx_errors_total",
    "net.tx_errors_total",
    "net.rx_drops_total",
    "net.tx_drops_total",
    "system.uptime_seconds",
    "system.processes_count",
    "agent.collector_errors_total",
];

/// Whether lxmon-agent reports `name`.
pub fn is_agent_metric(name: &str) -> bool {
    AGENT_METRICS.contains(&name)
}
