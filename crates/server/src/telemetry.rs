//! The server's own figures, rendered for `GET /metrics` in the Prometheus
//! text exposition format.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

const LATENCY_BUCKETS_S: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// Bounds of the check schedule-lag histogram: fine below a second (the
/// target is p99 < 1 s), coarse up to the shortest interval and beyond.
const CHECK_LAG_BUCKETS_S: [f64; 16] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

/// A Prometheus histogram of durations: one relaxed add per bucket hit,
/// count and sum; cumulated only when rendered.
struct Histogram<const N: usize> {
    bounds: [f64; N],
    buckets: [AtomicU64; N],
    count: AtomicU64,
    sum_us: AtomicU64,
}

impl<const N: usize> Histogram<N> {
    fn new(bounds: [f64; N]) -> Self {
        Histogram {
            bounds,
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            count: AtomicU64::new(0),
            sum_us: AtomicU64::new(0),
        }
    }

    fn observe(&self, elapsed: Duration) {
        let s = elapsed.as_secs_f64();
        if let Some(i) = self.bounds.iter().position(|&bound| s <= bound) {
            self.buckets[i].fetch_add(1, Relaxed);
        }
        self.count.fetch_add(1, Relaxed);
        self.sum_us.fetch_add(elapsed.as_micros() as u64, Relaxed);
    }

    /// The sample lines; `labels` (`key="value",…` or empty) go on each.
    fn render_samples(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cumulative = 0;
        for (bucket, bound) in self.buckets.iter().zip(self.bounds) {
            cumulative += bucket.load(Relaxed);
            let _ = writeln!(
                out,
                "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {cumulative}"
            );
        }
        let count = self.count.load(Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {count}");
        let labels = if labels.is_empty() {
            String::new()
        } else {
            format!("{{{labels}}}")
        };
        let _ = writeln!(
            out,
            "{name}_sum{labels} {}",
            self.sum_us.load(Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "{name}_count{labels} {count}");
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        self.render_samples(out, name, "");
    }
}

pub struct Telemetry {
    pub reports_ingested: AtomicU64,
    pub reports_duplicate: AtomicU64,
    pub samples_ingested: AtomicU64,
    /// Single reports stored (`POST /api/agent/metrics`): their body bytes
    /// as received (compressed), their samples, and how many were deltas
    /// against the host's previous report. Bytes on the wire per sample,
    /// as agents really send them.
    pub report_wire_bytes: AtomicU64,
    pub report_wire_samples: AtomicU64,
    pub reports_delta: AtomicU64,
    pub agent_auth_failures: AtomicU64,
    pub login_failures: AtomicU64,
    pub notifications_sent: AtomicU64,
    pub notifications_failed: AtomicU64,
    /// Report arrival → notification sent, for alerts a report caused.
    alert_latency: Histogram<{ LATENCY_BUCKETS_S.len() }>,
    rejected: Mutex<BTreeMap<&'static str, u64>>,
    ingest_latency: Histogram<{ LATENCY_BUCKETS_S.len() }>,
    /// Server-side check runs (`crate::checks_runner`).
    pub checks: CheckFigures,
}

impl Default for Telemetry {
    fn default() -> Self {
        Telemetry {
            reports_ingested: AtomicU64::new(0),
            reports_duplicate: AtomicU64::new(0),
            samples_ingested: AtomicU64::new(0),
            report_wire_bytes: AtomicU64::new(0),
            report_wire_samples: AtomicU64::new(0),
            reports_delta: AtomicU64::new(0),
            agent_auth_failures: AtomicU64::new(0),
            login_failures: AtomicU64::new(0),
            notifications_sent: AtomicU64::new(0),
            notifications_failed: AtomicU64::new(0),
            alert_latency: Histogram::new(LATENCY_BUCKETS_S),
            rejected: Mutex::default(),
            ingest_latency: Histogram::new(LATENCY_BUCKETS_S),
            checks: CheckFigures::default(),
        }
    }
}

/// How well the server's check scheduler keeps to its schedule.
pub struct CheckFigures {
    /// Runs whose probe finished.
    pub runs: AtomicU64,
    /// Of those, runs whose probe found the target down.
    pub runs_down: AtomicU64,
    /// Runs never started because the check fell a whole interval behind.
    pub runs_skipped: AtomicU64,
    in_flight: AtomicU64,
    /// Schedule lag of runs in the fast lane and in the slow lane.
    lag: [Histogram<{ CHECK_LAG_BUCKETS_S.len() }>; 2],
    lag_max_us: AtomicU64,
}

impl Default for CheckFigures {
    fn default() -> Self {
        CheckFigures {
            runs: AtomicU64::new(0),
            runs_down: AtomicU64::new(0),
            runs_skipped: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
            lag: [
                Histogram::new(CHECK_LAG_BUCKETS_S),
                Histogram::new(CHECK_LAG_BUCKETS_S),
            ],
            lag_max_us: AtomicU64::new(0),
        }
    }
}

/// Counts a run as in flight until dropped.
pub struct InFlight<'a>(&'a AtomicU64);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Relaxed);
    }
}

impl CheckFigures {
    /// A run was handed to its task; it counts as in flight (waiting for a
    /// probe slot, probing, storing its result) until the guard drops.
    pub fn start(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Relaxed);
        InFlight(&self.in_flight)
    }

    /// Records the time from a run's due time to its probe starting, for a
    /// run in the slow lane (its check's last run was slow) or not.
    pub fn observe_lag(&self, lag: Duration, slow_lane: bool) {
        self.lag[usize::from(slow_lane)].observe(lag);
        self.lag_max_us.fetch_max(lag.as_micros() as u64, Relaxed);
    }

    /// Counts a finished probe.
    pub fn finished(&self, up: bool) {
        self.runs.fetch_add(1, Relaxed);
        if !up {
            self.runs_down.fetch_add(1, Relaxed);
        }
    }

    fn render(&self, out: &mut String) {
        let counters = [
            (
                "lxmon_check_runs_total",
                "Server-side check runs whose probe finished (agent-run checks not included).",
                &self.runs,
            ),
            (
                "lxmon_check_runs_down_total",
                "Server-side check runs whose probe found the target down.",
                &self.runs_down,
            ),
            (
                "lxmon_check_runs_skipped_total",
                "Server-side check runs skipped because the check fell a whole interval behind.",
                &self.runs_skipped,
            ),
        ];
        for (name, help, value) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                value.load(Relaxed)
            );
        }
        let name = "lxmon_check_runs_in_flight";
        let _ = writeln!(
            out,
            "# HELP {name} Server-side check runs past their due time and not finished (waiting for a probe slot, probing, or storing the result).\n# TYPE {name} gauge\n{name} {}",
            self.in_flight.load(Relaxed)
        );
        let name = "lxmon_check_schedule_lag_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Time from a server-side check run's due time to its probe starting; lane=\"slow\" for checks whose last run took 1 s or more (hanging or slow targets).\n# TYPE {name} histogram"
        );
        for (lane, histogram) in ["fast", "slow"].iter().zip(&self.lag) {
            histogram.render_samples(out, name, &format!("lane=\"{lane}\""));
        }
        let name = "lxmon_check_schedule_lag_max_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Largest schedule lag since the server started.\n# TYPE {name} gauge\n{name} {}",
            self.lag_max_us.load(Relaxed) as f64 / 1e6
        );
    }
}

impl Telemetry {
    /// Counts a refused agent request by its error code.
    pub fn rejected(&self, code: &'static str) {
        *self
            .rejected
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(code)
            .or_default() += 1;
    }

    /// Records the time from request arrival to durable store.
    pub fn observe_ingest(&self, elapsed: Duration) {
        self.ingest_latency.observe(elapsed);
    }

    pub fn observe_alert_latency(&self, elapsed: Duration) {
        self.alert_latency.observe(elapsed);
    }

    /// Renders every figure; `gauges` adds point-in-time values computed by
    /// the caller (store size, host counts).
    pub fn render(&self, gauges: &[(&str, &str, f64)]) -> String {
        let mut out = String::new();
        let counters = [
            (
                "lxmon_reports_ingested_total",
                "Reports stored.",
                &self.reports_ingested,
            ),
            (
                "lxmon_reports_duplicate_total",
                "Reports acknowledged as already stored.",
                &self.reports_duplicate,
            ),
            (
                "lxmon_samples_ingested_total",
                "Samples stored.",
                &self.samples_ingested,
            ),
            (
                "lxmon_report_wire_bytes_total",
                "Body bytes, as received, of single reports stored (POST /api/agent/metrics).",
                &self.report_wire_bytes,
            ),
            (
                "lxmon_report_wire_samples_total",
                "Samples in the single reports of lxmon_report_wire_bytes_total.",
                &self.report_wire_samples,
            ),
            (
                "lxmon_reports_delta_total",
                "Single reports stored that were compressed against the host's previous report.",
                &self.reports_delta,
            ),
            (
                "lxmon_agent_auth_failures_total",
                "Agent requests with a missing, wrong or revoked key.",
                &self.agent_auth_failures,
            ),
            (
                "lxmon_login_failures_total",
                "Failed dashboard logins.",
                &self.login_failures,
            ),
            (
                "lxmon_notifications_sent_total",
                "Alert notifications delivered to a channel.",
                &self.notifications_sent,
            ),
            (
                "lxmon_notifications_failed_total",
                "Alert notifications that failed after their retries.",
                &self.notifications_failed,
            ),
        ];
        for (name, help, value) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                value.load(Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP lxmon_reports_rejected_total Agent requests refused, by error code.\n# TYPE lxmon_reports_rejected_total counter"
        );
        for (code, n) in self
            .rejected
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let _ = writeln!(out, "lxmon_reports_rejected_total{{code=\"{code}\"}} {n}");
        }
        self.ingest_latency.render(
            &mut out,
            "lxmon_ingest_duration_seconds",
            "Time from request to durable storage.",
        );
        self.alert_latency.render(
            &mut out,
            "lxmon_alert_notification_latency_seconds",
            "From the report that breached a rule to its notification sent.",
        );
        self.checks.render(&mut out);
        for (name, help, value) in gauges {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
            );
        }
        out
    }
}
