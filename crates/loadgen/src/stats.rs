//! Counting what happened: per-task recorders merged into one summary.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::client::Outcome;
use crate::wire::Encoded;

/// What one task saw. Tasks record without sharing; the runner merges.
#[derive(Debug, Default, Clone)]
pub struct Recorder {
    pub requests: u64,
    pub reports_sent: u64,
    pub reports_ok: u64,
    pub samples_sent: u64,
    pub samples_ok: u64,
    pub wire_bytes: u64,
    pub json_bytes: u64,
    /// Responses by status code, and transport failures by kind.
    pub by_status: BTreeMap<String, u64>,
    pub latencies_us: Vec<u32>,
    /// Reports the server said it already had (should stay 0).
    pub duplicates: u64,
    /// Delta reports the server answered 409 `unknown_base` to, each then
    /// sent whole (the first after a server restart; otherwise 0).
    pub resent_whole: u64,
}

impl Recorder {
    pub fn record(&mut self, sent: &Encoded, outcome: &Outcome, latency: std::time::Duration) {
        self.requests += 1;
        self.reports_sent += sent.reports;
        self.samples_sent += sent.samples;
        self.wire_bytes += sent.body.len() as u64;
        self.json_bytes += sent.json_bytes;
        self.latencies_us
            .push(latency.as_micros().min(u32::MAX as u128) as u32);
        let key = match outcome {
            Outcome::Status(status, body) => {
                if status.is_success() {
                    let dupes = duplicates_in(body, sent.reports);
                    self.duplicates += dupes;
                    self.reports_ok += sent.reports - dupes.min(sent.reports);
                    if dupes == 0 {
                        self.samples_ok += sent.samples;
                    } else {
                        self.samples_ok += sent.samples * (sent.reports - dupes.min(sent.reports))
                            / sent.reports.max(1);
                    }
                }
                status.as_u16().to_string()
            }
            Outcome::Failed(kind) => kind.to_string(),
        };
        *self.by_status.entry(key).or_default() += 1;
    }

    /// A delta report refused for its unknown base: its bytes were on the
    /// wire, the report itself is recorded when it is sent again whole.
    pub fn record_retry(&mut self, sent: &Encoded, _outcome: &Outcome) {
        self.requests += 1;
        self.wire_bytes += sent.body.len() as u64;
        self.resent_whole += 1;
    }

    pub fn merge(&mut self, other: Recorder) {
        self.requests += other.requests;
        self.reports_sent += other.reports_sent;
        self.reports_ok += other.reports_ok;
        self.samples_sent += other.samples_sent;
        self.samples_ok += other.samples_ok;
        self.wire_bytes += other.wire_bytes;
        self.json_bytes += other.json_bytes;
        self.duplicates += other.duplicates;
        self.resent_whole += other.resent_whole;
        for (k, v) in other.by_status {
            *self.by_status.entry(k).or_default() += v;
        }
        self.latencies_us.extend(other.latencies_us);
    }
}

/// Duplicates the server reported in a 2xx body (`MetricsAck.duplicate` or
/// `BatchAck.duplicates`).
fn duplicates_in(body: &[u8], reports: u64) -> u64 {
    #[derive(serde::Deserialize)]
    struct Ack {
        #[serde(default)]
        duplicate: Option<bool>,
        #[serde(default)]
        duplicates: Option<u64>,
    }
    match serde_json::from_slice::<Ack>(body) {
        Ok(Ack {
            duplicates: Some(n),
            ..
        }) => n,
        Ok(Ack {
            duplicate: Some(true),
            ..
        }) => reports,
        _ => 0,
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Latency {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
    pub mean: f64,
}

impl Latency {
    /// Nearest-rank percentiles of microsecond samples, in milliseconds.
    pub fn from_us(samples: &mut [u32]) -> Latency {
        if samples.is_empty() {
            return Latency {
                p50: 0.0,
                p90: 0.0,
                p99: 0.0,
                max: 0.0,
                mean: 0.0,
            };
        }
        samples.sort_unstable();
        let at = |q: f64| {
            let rank = ((q * samples.len() as f64).ceil() as usize).clamp(1, samples.len());
            ms(samples[rank - 1])
        };
        let sum: u64 = samples.iter().map(|&v| v as u64).sum();
        Latency {
            p50: at(0.50),
            p90: at(0.90),
            p99: at(0.99),
            max: ms(*samples.last().unwrap_or(&0)),
            mean: round3(sum as f64 / samples.len() as f64 / 1000.0),
        }
    }
}

fn ms(us: u32) -> f64 {
    round3(us as f64 / 1000.0)
}

pub fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// CPU and memory of a process over the timed phase, from `/proc`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ProcessUsage {
    pub pid: u32,
    pub cpu_s: f64,
    /// CPU seconds per million samples stored (or sent, for the loadgen).
    pub cpu_s_per_million_samples: f64,
    /// Average cores busy over the phase.
    pub cores_busy: f64,
    pub rss_mb_end: f64,
    pub rss_mb_max: f64,
}

/// The JSON printed at the end of a run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Summary {
    pub mode: String,
    pub agents: usize,
    pub concurrency: usize,
    pub interval_s: u32,
    /// Requests sent in the timed phase (reports, or batches in batch mode).
    pub requests: u64,
    pub reports_sent: u64,
    pub reports_ok: u64,
    pub reports_duplicate: u64,
    /// Live delta reports answered 409 `unknown_base` and sent again whole.
    pub reports_resent_whole: u64,
    /// Requests that did not succeed.
    pub errors: u64,
    /// Every request's outcome: HTTP status, or `connect`/`io`/`timeout`.
    pub status: BTreeMap<String, u64>,
    /// Samples in the reports that succeeded.
    pub samples: u64,
    pub samples_per_report: f64,
    pub duration_s: f64,
    pub samples_per_s: f64,
    pub reports_per_s: f64,
    /// Client-side request latency (send to full response), milliseconds.
    pub latency_ms: Latency,
    /// Compressed body bytes (HTTP headers not counted).
    pub wire_bytes_per_report: f64,
    pub wire_bytes_per_sample: f64,
    pub json_bytes_per_report: f64,
    pub registrations_ok: u64,
    pub registration_errors: u64,
    /// Seconds spent generating and compressing bodies before the timed
    /// phase (max and batch modes).
    pub prepare_s: f64,
    pub loadgen: ProcessUsage,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<ProcessUsage>,
}

impl Summary {
    pub fn errors_of(rec: &Recorder) -> u64 {
        rec.by_status
            .iter()
            .filter(|(k, _)| !k.starts_with('2'))
            .map(|(_, v)| v)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_nearest_rank() {
        let mut v: Vec<u32> = (1..=100).map(|i| i * 1000).collect();
        let l = Latency::from_us(&mut v);
        assert_eq!((l.p50, l.p90, l.p99, l.max), (50.0, 90.0, 99.0, 100.0));
        assert_eq!(l.mean, 50.5);
        assert_eq!(Latency::from_us(&mut []).p99, 0.0);
    }

    #[test]
    fn duplicates_are_read_from_acks() {
        assert_eq!(
            duplicates_in(
                br#"{"received":true,"duplicate":true,"next_report_in":10}"#,
                1
            ),
            1
        );
        assert_eq!(
            duplicates_in(
                br#"{"received":true,"duplicate":false,"next_report_in":10}"#,
                1
            ),
            0
        );
        assert_eq!(
            duplicates_in(br#"{"stored":5,"duplicates":2,"next_report_in":10}"#, 7),
            2
        );
    }
}
