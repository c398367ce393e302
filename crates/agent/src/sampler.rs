//! Turns one round of collection into a [`Report`]: samples, host identity,
//! and host info when it is new or changed.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use lxmon_proto::{
    HostIdentity, HostInfo, Labels, MAX_SERIES_PER_REPORT, PROTOCOL_VERSION, Report, Sample,
};

use crate::collectors::{CollectorSet, Ctx, Output, system};

/// How often host info (OS, kernel, hostname…) is re-read. It changes on
/// upgrades and renames, not from one report to the next.
const INFO_REFRESH: Duration = Duration::from_secs(600);

/// Host info rides along again at least this often even when unchanged, so
/// a server that lost it (restored backup, new replica) gets it back.
const INFO_RESEND: Duration = Duration::from_secs(3600);

/// Where collectors read from.
#[derive(Debug, Clone)]
pub struct Roots {
    pub proc_root: PathBuf,
    pub sys_root: PathBuf,
    pub etc_root: PathBuf,
}

impl Default for Roots {
    fn default() -> Self {
        Roots {
            proc_root: "/proc".into(),
            sys_root: "/sys".into(),
            etc_root: "/etc".into(),
        }
    }
}

/// Produces reports. `seq` is left at 0: the delivery side numbers reports
/// as it takes them, because it owns the persisted sequence.
pub struct Sampler {
    collectors: CollectorSet,
    ctx: Ctx,
    hostname_override: Option<String>,
    identity: HostIdentity,
    info: HostInfo,
    info_read_at: Instant,
    info_sent: Option<(HostInfo, Instant)>,
    output: Output,
    capacity_hint: usize,
}

impl Sampler {
    pub fn new(roots: &Roots, hostname_override: Option<String>) -> Sampler {
        let ctx = Ctx::with_roots(&roots.proc_root, &roots.sys_root, &roots.etc_root);
        let identity = identity(&ctx, hostname_override.as_deref());
        let info = system::read_host_info(&ctx);
        Sampler {
            collectors: CollectorSet::standard(),
            info_read_at: ctx.now,
            ctx,
            hostname_override,
            identity,
            info,
            info_sent: None,
            output: Output::default(),
            capacity_hint: 64,
        }
    }

    /// Who this agent reports as.
    pub fn identity(&self) -> &HostIdentity {
        &self.identity
    }

    /// The latest host info read.
    pub fn host_info(&self) -> &HostInfo {
        &self.info
    }

    /// Collects everything now and builds a report for `interval_s`.
    pub fn sample(&mut self, interval_s: u32) -> Report {
        self.ctx.refresh_time();
        let now = self.ctx.now;
        if now.duration_since(self.info_read_at) >= INFO_REFRESH {
            self.info = system::read_host_info(&self.ctx);
            self.identity = identity(&self.ctx, self.hostname_override.as_deref());
            self.info_read_at = now;
        }

        self.output.samples = Vec::with_capacity(self.capacity_hint);
        self.output.processes = None;
        self.collectors.collect(&self.ctx, &mut self.output);
        let mut metrics = std::mem::take(&mut self.output.samples);
        drop_duplicate_series(&mut metrics);
        self.capacity_hint = metrics.len().max(16);
        if metrics.len() > MAX_SERIES_PER_REPORT {
            // Only a host with thousands of interfaces or mounts gets here;
            // the server would refuse the whole report, so keep what fits.
            tracing::warn!(
                series = metrics.len(),
                limit = MAX_SERIES_PER_REPORT,
                "too many series for one report; the rest are dropped"
            );
            metrics.truncate(MAX_SERIES_PER_REPORT);
        }

        let info = match &self.info_sent {
            Some((sent, at)) if *sent == self.info && now.duration_since(*at) < INFO_RESEND => None,
            _ => {
                self.info_sent = Some((self.info.clone(), now));
                Some(self.info.clone())
            }
        };

        Report {
            v: PROTOCOL_VERSION,
            host: self.identity.clone(),
            ts: self.ctx.wall_ms,
            interval_s,
            seq: 0,
            metrics,
            info,
            processes: self.output.processes.take(),
        }
    }
}

/// The server refuses a whole report in which one series appears twice.
/// Collectors are written not to produce that; this is the last line of
/// defence against an odd host, keeping the first of each series.
fn drop_duplicate_series(metrics: &mut Vec<Sample>) {
    let mut seen: HashSet<(&str, &Labels)> = HashSet::with_capacity(metrics.len());
    let duplicates: Vec<usize> = metrics
        .iter()
        .enumerate()
        .filter(|(_, s)| !seen.insert((s.name.as_str(), &s.labels)))
        .map(|(i, _)| i)
        .collect();
    drop(seen);
    for i in duplicates.into_iter().rev() {
        let s = metrics.remove(i);
        tracing::warn!(metric = %s.name, labels = ?s.labels, "duplicate series left out of the report");
    }
}

fn identity(ctx: &Ctx, hostname_override: Option<&str>) -> HostIdentity {
    HostIdentity {
        hostname: hostname_override
            .map(str::to_owned)
            .or_else(|| system::read_hostname(ctx))
            .unwrap_or_else(|| "localhost".to_owned()),
        machine_id: system::read_machine_id(ctx),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_reports_validate_and_carry_info_once() {
        let mut sampler = Sampler::new(&Roots::default(), None);
        let first = sampler.sample(10);
        std::thread::sleep(Duration::from_millis(50));
        let second = sampler.sample(10);
        let now = crate::collectors::wall_clock_ms();
        for r in [&first, &second] {
            lxmon_proto::validate_report(r, now).unwrap();
            assert_eq!(r.v, PROTOCOL_VERSION);
            assert_eq!(r.interval_s, 10);
        }
        assert!(first.info.is_some());
        assert!(second.info.is_none(), "unchanged info is not resent");
        assert!(first.metrics.iter().all(|s| s.name != "cpu.usage_percent"));
        assert!(second.metrics.iter().any(|s| s.name == "cpu.usage_percent"));
        assert!(second.processes.is_some());
    }

    #[test]
    fn duplicate_series_are_dropped_keeping_the_first() {
        let mut metrics = vec![
            Sample::new("fs.used_bytes", 1.0).with_label("mount", "/"),
            Sample::new("fs.used_bytes", 2.0).with_label("mount", "/boot"),
            Sample::new("fs.used_bytes", 3.0).with_label("mount", "/"),
            Sample::new("load.1m", 0.5),
            Sample::new("load.1m", 0.7),
        ];
        drop_duplicate_series(&mut metrics);
        let values: Vec<f64> = metrics.iter().map(|s| s.value).collect();
        assert_eq!(values, vec![1.0, 2.0, 0.5]);
    }

    #[test]
    fn hostname_override_wins() {
        let sampler = Sampler::new(&Roots::default(), Some("override-1".into()));
        assert_eq!(sampler.identity().hostname, "override-1");
    }
}
