//! Collectors: one module per area of the host, each reading `/proc` and
//! `/sys` directly (never a subprocess).
//!
//! Every collector implements [`Collector`]. [`CollectorSet`] runs them in
//! turn; a collector that fails is logged, counted
//! (`agent.collector_errors_total{collector=...}`) and skipped for that round,
//! so one broken source never costs the whole report (Vector's pattern).
//!
//! Rates are computed from counter deltas over the monotonic time between two
//! collections. The first collection has no previous value and emits no rate;
//! a counter that went backwards (reboot, wrap, driver reset) emits no rate
//! for that interval rather than a negative value or a huge spike.

pub mod cpu;
pub mod diskio;
pub mod filesystem;
pub mod memory;
pub mod network;
pub mod processes;
pub mod system;

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::Instant;

use lxmon_proto::{Sample, TopProcesses};

/// Where the collectors read from, and when "now" is.
///
/// The roots are configurable so parsers run on fixture trees in tests and so
/// a containerised agent can read the host's `/proc` mounted elsewhere.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub proc_root: PathBuf,
    pub sys_root: PathBuf,
    /// Where `os-release` and `machine-id` live (normally `/etc`).
    pub etc_root: PathBuf,
    /// Monotonic time of this collection; rates divide by differences of it.
    pub now: Instant,
    /// Wall-clock time of this collection, Unix milliseconds.
    pub wall_ms: i64,
}

impl Ctx {
    /// A context reading the real host, stamped with the current time.
    pub fn host() -> Ctx {
        Ctx::with_roots("/proc", "/sys", "/etc")
    }

    pub fn with_roots(
        proc_root: impl Into<PathBuf>,
        sys_root: impl Into<PathBuf>,
        etc_root: impl Into<PathBuf>,
    ) -> Ctx {
        Ctx {
            proc_root: proc_root.into(),
            sys_root: sys_root.into(),
            etc_root: etc_root.into(),
            now: Instant::now(),
            wall_ms: wall_clock_ms(),
        }
    }

    /// Restamps the context with the current time, keeping the roots.
    pub fn refresh_time(&mut self) {
        self.now = Instant::now();
        self.wall_ms = wall_clock_ms();
    }
}

/// Current Unix time in milliseconds.
pub fn wall_clock_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Why a collector produced nothing this round.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("cannot parse {what}: {detail}")]
    Parse { what: &'static str, detail: String },
}

impl CollectError {
    fn parse(what: &'static str, detail: impl Into<String>) -> CollectError {
        CollectError::Parse {
            what,
            detail: detail.into(),
        }
    }
}

/// What one round of collection produced.
#[derive(Debug, Default)]
pub struct Output {
    pub samples: Vec<Sample>,
    /// Top processes, set by the processes collector.
    pub processes: Option<TopProcesses>,
}

/// One source of samples.
pub trait Collector: Send {
    /// Short stable name, used as the `collector` label of
    /// `agent.collector_errors_total`.
    fn name(&self) -> &'static str;

    /// Appends this round's samples to `out`. On error the set discards
    /// whatever this collector appended, so a report never carries half of a
    /// collector's view.
    fn collect(&mut self, ctx: &Ctx, out: &mut Output) -> Result<(), CollectError>;
}

/// All collectors of the agent, with their failure counters.
pub struct CollectorSet {
    collectors: Vec<(Box<dyn Collector>, u64)>,
}

impl CollectorSet {
    /// The collectors that produce every series in `docs/metrics.md`.
    pub fn standard() -> CollectorSet {
        CollectorSet::from_collectors(vec![
            Box::new(cpu::CpuCollector::new()),
            Box::new(memory::MemoryCollector::new()),
            Box::new(filesystem::FilesystemCollector::new()),
            Box::new(diskio::DiskIoCollector::new()),
            Box::new(network::NetworkCollector::new()),
            Box::new(processes::ProcessCollector::new()),
            Box::new(system::SystemCollector::new()),
        ])
    }

    pub fn from_collectors(collectors: Vec<Box<dyn Collector>>) -> CollectorSet {
        CollectorSet {
            collectors: collectors.into_iter().map(|c| (c, 0)).collect(),
        }
    }

    /// Runs every collector. Never fails: a failing collector is logged,
    /// counted and its partial output dropped.
    pub fn collect(&mut self, ctx: &Ctx, out: &mut Output) {
        for (collector, errors) in &mut self.collectors {
            let before = out.samples.len();
            if let Err(e) = collector.collect(ctx, out) {
                out.samples.truncate(before);
                *errors += 1;
                tracing::warn!(collector = collector.name(), error = %e, "collector failed; its samples are left out of this report");
            }
        }
        for (collector, errors) in &self.collectors {
            out.samples.push(
                Sample::new("agent.collector_errors_total", *errors as f64)
                    .with_label("collector", collector.name()),
            );
        }
    }

    /// Failures of the named collector since start.
    pub fn errors(&self, name: &str) -> Option<u64> {
        self.collectors
            .iter()
            .find(|(c, _)| c.name() == name)
            .map(|(_, e)| *e)
    }
}

/// Reads a whole file into a reused buffer (cleared first). `/proc` files
/// report a size of 0, so this reads to EOF rather than trusting metadata.
pub(crate) fn read_into(path: &Path, buf: &mut String) -> Result<(), CollectError> {
    buf.clear();
    File::open(path)
        .and_then(|mut f| f.read_to_string(buf))
        .map(|_| ())
        .map_err(|source| CollectError::Read {
            path: path.to_path_buf(),
            source,
        })
}

/// Rounds a percentage to 2 decimals: finer precision is noise, and short
/// decimals compress far better.
pub(crate) fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// `part / whole` as a percentage in 0..=100, rounded to 2 decimals.
pub(crate) fn percent(part: f64, whole: f64) -> f64 {
    if whole <= 0.0 {
        return 0.0;
    }
    round2((part / whole * 100.0).clamp(0.0, 100.0))
}

/// Per-second rate of a monotonically increasing counter, rounded to a whole
/// number. `None` when the counter went backwards (reset or wrap) or no time
/// passed, so the caller emits no sample rather than a spike.
pub(crate) fn counter_rate(prev: u64, cur: u64, elapsed_s: f64) -> Option<f64> {
    if elapsed_s <= 0.0 {
        return None;
    }
    cur.checked_sub(prev)
        .map(|delta| (delta as f64 / elapsed_s).round())
}

/// Seconds between two collections, `None` on the first one.
pub(crate) fn elapsed_since(prev: Option<Instant>, now: Instant) -> Option<f64> {
    let prev = prev?;
    let secs = now.checked_duration_since(prev)?.as_secs_f64();
    (secs > 0.0).then_some(secs)
}

/// Parses the next whitespace-separated field as an unsigned counter.
pub(crate) fn next_u64<'a>(fields: &mut impl Iterator<Item = &'a str>) -> Option<u64> {
    fields.next()?.parse().ok()
}

#[cfg(test)]
pub(crate) mod test_support {
    use std::path::PathBuf;
    use std::time::{Duration, Instant};

    use super::Ctx;

    pub fn fixtures() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
    }

    /// A context on the fixture snapshot `t0` or `t1` of host `host1`, at a
    /// given number of seconds after `base`.
    pub fn snapshot_ctx(snapshot: &str, base: Instant, after_s: u64) -> Ctx {
        let root = fixtures().join("host1");
        Ctx {
            proc_root: root.join(snapshot).join("proc"),
            sys_root: root.join("sys"),
            etc_root: root.join("etc"),
            now: base + Duration::from_secs(after_s),
            wall_ms: 1_700_000_000_000 + after_s as i64 * 1000,
        }
    }

    pub fn value(
        out: &[lxmon_proto::Sample],
        name: &str,
        label: Option<(&str, &str)>,
    ) -> Option<f64> {
        out.iter()
            .find(|s| {
                s.name == name
                    && match label {
                        None => s.labels.is_empty(),
                        Some((k, v)) => s.labels.get(k).map(String::as_str) == Some(v),
                    }
            })
            .map(|s| s.value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_rate_refuses_backwards_counters() {
        assert_eq!(counter_rate(100, 1100, 10.0), Some(100.0));
        assert_eq!(counter_rate(100, 100, 10.0), Some(0.0));
        // A reset (reboot, driver reload) or a 32-bit wrap: no rate at all.
        assert_eq!(counter_rate(5_000_000, 12, 10.0), None);
        assert_eq!(counter_rate(u64::MAX - 5, 3, 10.0), None);
        assert_eq!(counter_rate(1, 2, 0.0), None);
        // Whole numbers only.
        assert_eq!(counter_rate(0, 10, 3.0), Some(3.0));
    }

    #[test]
    fn percent_is_clamped_and_rounded() {
        assert_eq!(percent(1.0, 3.0), 33.33);
        assert_eq!(percent(5.0, 0.0), 0.0);
        assert_eq!(percent(7.0, 5.0), 100.0);
    }

    struct Failing;
    impl Collector for Failing {
        fn name(&self) -> &'static str {
            "failing"
        }
        fn collect(&mut self, _ctx: &Ctx, out: &mut Output) -> Result<(), CollectError> {
            out.samples.push(Sample::new("half.written", 1.0));
            Err(CollectError::parse("test", "always fails"))
        }
    }

    struct Constant;
    impl Collector for Constant {
        fn name(&self) -> &'static str {
            "constant"
        }
        fn collect(&mut self, _ctx: &Ctx, out: &mut Output) -> Result<(), CollectError> {
            out.samples.push(Sample::new("constant.value_count", 1.0));
            Ok(())
        }
    }

    #[test]
    fn failing_collector_is_counted_and_does_not_abort_the_round() {
        let mut set = CollectorSet::from_collectors(vec![Box::new(Failing), Box::new(Constant)]);
        let ctx = Ctx::host();
        for round in 1..=2 {
            let mut out = Output::default();
            set.collect(&ctx, &mut out);
            assert!(out.samples.iter().all(|s| s.name != "half.written"));
            assert!(out.samples.iter().any(|s| s.name == "constant.value_count"));
            let errors = test_support::value(
                &out.samples,
                "agent.collector_errors_total",
                Some(("collector", "failing")),
            );
            assert_eq!(errors, Some(round as f64));
            let ok = test_support::value(
                &out.samples,
                "agent.collector_errors_total",
                Some(("collector", "constant")),
            );
            assert_eq!(ok, Some(0.0));
        }
        assert_eq!(set.errors("failing"), Some(2));
    }
}
