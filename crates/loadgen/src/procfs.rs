//! CPU time and resident memory of a process, read from `/proc` the same
//! way the bench scripts read them.

use std::time::{Duration, Instant};

/// User + system CPU seconds of `pid` (`/proc/PID/stat` fields 14 and 15).
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_cpu_ticks(&stat).map(|ticks| ticks as f64 / clock_ticks())
}

/// `utime + stime` in clock ticks from the text of `/proc/PID/stat`.
pub fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    // The command name is in parentheses and may hold spaces: skip past it.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_ascii_whitespace();
    // After the name: state (3), then fields 4..; utime is 14, stime 15.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 { t as f64 } else { 100.0 }
}

/// Resident set size of `pid` in MiB (`VmRSS` of `/proc/PID/status`).
pub fn rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_vm_rss_kb(&status).map(|kb| kb as f64 / 1024.0)
}

pub fn parse_vm_rss_kb(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_ascii_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// Watches a process over a phase: CPU at the start, peak RSS while it runs.
pub struct Watch {
    pub pid: u32,
    cpu_start: f64,
    started: Instant,
    pub rss_max_mb: f64,
}

impl Watch {
    pub fn start(pid: u32) -> Option<Watch> {
        Some(Watch {
            pid,
            cpu_start: cpu_seconds(pid)?,
            started: Instant::now(),
            rss_max_mb: rss_mb(pid).unwrap_or(0.0),
        })
    }

    /// Samples RSS (call periodically).
    pub fn sample(&mut self) {
        if let Some(rss) = rss_mb(self.pid) {
            self.rss_max_mb = self.rss_max_mb.max(rss);
        }
    }

    /// CPU seconds used since start, elapsed time, RSS now.
    pub fn finish(&mut self) -> (f64, Duration, f64) {
        self.sample();
        let cpu = cpu_seconds(self.pid)
            .map(|c| c - self.cpu_start)
            .unwrap_or(0.0);
        (cpu, self.started.elapsed(), rss_mb(self.pid).unwrap_or(0.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_spaces_in_name() {
        let stat = "4242 (my (odd) prog) S 1 4242 4242 0 -1 4194560 1000 0 0 0 150 25 0 0 20 0 1 0 100 1000000 200 18446744073709551615";
        assert_eq!(parse_cpu_ticks(stat), Some(175));
        assert_eq!(parse_vm_rss_kb("Name:\tx\nVmRSS:\t  5120 kB\n"), Some(5120));
    }

    #[test]
    fn reads_own_process() {
        let me = std::process::id();
        assert!(cpu_seconds(me).unwrap() >= 0.0);
        assert!(rss_mb(me).unwrap() > 0.0);
    }
}
