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

#[derive(Default)]
pub struct Telemetry {
    pub reports_ingested: AtomicU64,
    pub reports_duplicate: AtomicU64,
    pub samples_ingested: AtomicU64,
    pub agent_auth_failures: AtomicU64,
    pub login_failures: AtomicU64,
    pub notifications_sent: AtomicU64,
    pub notifications_failed: AtomicU64,
    /// Report arrival → notification sent, for alerts a report caused.
    alert_latency: Histogram,
    rejected: Mutex<BTreeMap<&'static str, u64>>,
    ingest_latency: Histogram,
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
        for (name, help, value) in gauges {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
            );
        }
        out
    }
}

/// A Prometheus histogram over [`LATENCY_BUCKETS_S`], lock-free.
#[derive(Default)]
struct Histogram {
    buckets: [AtomicU64; LATENCY_BUCKETS_S.len()],
    count: AtomicU64,
    sum_us: AtomicU64,
}

impl Histogram {
    fn observe(&self, elapsed: Duration) {
        let s = elapsed.as_secs_f64();
        for (bucket, bound) in self.buckets.iter().zip(LATENCY_BUCKETS_S) {
            if s <= bound {
                bucket.fetch_add(1, Relaxed);
            }
        }
        self.count.fetch_add(1, Relaxed);
        self.sum_us.fetch_add(elapsed.as_micros() as u64, Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        for (bucket, bound) in self.buckets.iter().zip(LATENCY_BUCKETS_S) {
            let _ = writeln!(
                out,
                "{name}_bucket{{le=\"{bound}\"}} {}",
                bucket.load(Relaxed)
            );
        }
        let count = self.count.load(Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(out, "{name}_sum {}", self.sum_us.load(Relaxed) as f64 / 1e6);
        let _ = writeln!(out, "{name}_count {count}");
    }
}
