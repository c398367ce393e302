//! Semantic checks on a parsed report. The server runs them before storing
//! anything; the agent's own tests run them on what it produces.

use crate::limits::*;
use crate::messages::{Labels, Report};

/// Why a report was refused. Each variant names the offending field so the
/// agent's operator can find it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ValidationError {
    #[error("protocol version {0} is newer than this server understands ({max})", max = crate::PROTOCOL_VERSION)]
    UnsupportedVersion(u32),
    #[error(
        "hostname is empty, longer than {MAX_HOSTNAME_LEN} bytes or contains whitespace/control characters"
    )]
    BadHostname,
    #[error("interval_s {0} is outside {MIN_INTERVAL_S}..={MAX_INTERVAL_S}")]
    BadInterval(u32),
    #[error("timestamp {ts} is more than {skew_s} s in the future", skew_s = MAX_FUTURE_SKEW_MS / 1000)]
    FutureTimestamp { ts: i64 },
    #[error("timestamp {0} is not a positive Unix millisecond time")]
    BadTimestamp(i64),
    #[error("report has {0} samples; at most {MAX_SERIES_PER_REPORT} are allowed")]
    TooManySeries(usize),
    #[error(
        "metric name {0:?} is empty, longer than {MAX_METRIC_NAME_LEN} bytes or has characters outside [A-Za-z0-9_.:-]"
    )]
    BadMetricName(String),
    #[error("metric {metric:?} has {count} labels; at most {MAX_LABELS_PER_SAMPLE} are allowed")]
    TooManyLabels { metric: String, count: usize },
    #[error(
        "metric {metric:?}: label key {key:?} is empty, longer than {MAX_LABEL_KEY_LEN} bytes or has characters outside [A-Za-z0-9_]"
    )]
    BadLabelKey { metric: String, key: String },
    #[error(
        "metric {metric:?}: label {key:?} value is longer than {MAX_LABEL_VALUE_LEN} bytes or has control characters"
    )]
    BadLabelValue { metric: String, key: String },
    #[error("metric {metric:?}: value is NaN or infinite")]
    NonFinite { metric: String },
    #[error("metric {metric:?}: value {value} is negative, but this metric cannot be")]
    Negative { metric: String, value: f64 },
    #[error("field {field} is longer than {MAX_TEXT_LEN} bytes")]
    TextTooLong { field: &'static str },
    #[error("top process list has {0} entries; at most {MAX_TOP_PROCESSES} are allowed")]
    TooManyProcesses(usize),
    #[error("metric {metric:?} appears twice with the same labels")]
    DuplicateSeries { metric: String },
}

/// Metrics whose unit cannot be negative, recognised by name suffix:
/// counters (`_total`), sizes (`_bytes`), rates (`_per_sec`), shares
/// (`_percent`), durations (`_seconds`) and counts (`_count`).
pub fn must_be_non_negative(name: &str) -> bool {
    const SUFFIXES: [&str; 6] = [
        "_total", "_bytes", "_per_sec", "_percent", "_seconds", "_count",
    ];
    SUFFIXES.iter().any(|s| name.ends_with(s))
}

fn valid_metric_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_METRIC_NAME_LEN
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'))
}

fn valid_label_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= MAX_LABEL_KEY_LEN
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A hostname as lxmon accepts it anywhere: non-empty, at most
/// [`MAX_HOSTNAME_LEN`] bytes, no whitespace or control characters.
pub fn valid_hostname(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= MAX_HOSTNAME_LEN
        && !host.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Checks a label set (used for samples and for host labels at registration).
pub fn validate_labels(metric: &str, labels: &Labels) -> Result<(), ValidationError> {
    if labels.len() > MAX_LABELS_PER_SAMPLE {
        return Err(ValidationError::TooManyLabels {
            metric: metric.to_owned(),
            count: labels.len(),
        });
    }
    for (key, value) in labels {
        if !valid_label_key(key) {
            return Err(ValidationError::BadLabelKey {
                metric: metric.to_owned(),
                key: truncate(key),
            });
        }
        if value.len() > MAX_LABEL_VALUE_LEN || value.chars().any(char::is_control) {
            return Err(ValidationError::BadLabelValue {
                metric: metric.to_owned(),
                key: key.clone(),
            });
        }
    }
    Ok(())
}

/// Checks everything about a report that does not need the store: bounds,
/// names, finite values, and a timestamp not beyond `now_ms` plus the allowed
/// skew.
pub fn validate_report(report: &Report, now_ms: i64) -> Result<(), ValidationError> {
    if report.v > crate::PROTOCOL_VERSION {
        return Err(ValidationError::UnsupportedVersion(report.v));
    }
    if !valid_hostname(&report.host.hostname) {
        return Err(ValidationError::BadHostname);
    }
    if !(MIN_INTERVAL_S..=MAX_INTERVAL_S).contains(&report.interval_s) {
        return Err(ValidationError::BadInterval(report.interval_s));
    }
    if report.ts <= 0 {
        return Err(ValidationError::BadTimestamp(report.ts));
    }
    if report.ts > now_ms + MAX_FUTURE_SKEW_MS {
        return Err(ValidationError::FutureTimestamp { ts: report.ts });
    }
    if report.metrics.len() > MAX_SERIES_PER_REPORT {
        return Err(ValidationError::TooManySeries(report.metrics.len()));
    }
    let mut seen = std::collections::HashSet::with_capacity(report.metrics.len());
    for sample in &report.metrics {
        if !seen.insert((&sample.name, &sample.labels)) {
            return Err(ValidationError::DuplicateSeries {
                metric: sample.name.clone(),
            });
        }
        if !valid_metric_name(&sample.name) {
            return Err(ValidationError::BadMetricName(truncate(&sample.name)));
        }
        validate_labels(&sample.name, &sample.labels)?;
        if !sample.value.is_finite() {
            return Err(ValidationError::NonFinite {
                metric: sample.name.clone(),
            });
        }
        if sample.value < 0.0 && must_be_non_negative(&sample.name) {
            return Err(ValidationError::Negative {
                metric: sample.name.clone(),
                value: sample.value,
            });
        }
    }
    if let Some(info) = &report.info {
        for (field, text) in [
            ("info.os", &info.os),
            ("info.kernel", &info.kernel),
            ("info.arch", &info.arch),
            ("info.agent_version", &info.agent_version),
        ] {
            if text.len() > MAX_TEXT_LEN {
                return Err(ValidationError::TextTooLong { field });
            }
        }
    }
    if let Some(top) = &report.processes {
        for list in [&top.by_cpu, &top.by_memory] {
            if list.len() > MAX_TOP_PROCESSES {
                return Err(ValidationError::TooManyProcesses(list.len()));
            }
            if list.iter().any(|p| p.name.len() > MAX_TEXT_LEN) {
                return Err(ValidationError::TextTooLong {
                    field: "processes.name",
                });
            }
        }
    }
    Ok(())
}

/// Keeps error messages bounded when echoing a bad name back.
fn truncate(s: &str) -> String {
    s.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::{HostIdentity, Sample};

    fn report(metrics: Vec<Sample>) -> Report {
        Report {
            v: 1,
            host: HostIdentity {
                hostname: "web-1".into(),
                machine_id: None,
            },
            ts: 1_700_000_000_000,
            interval_s: 10,
            seq: 1,
            metrics,
            info: None,
            processes: None,
        }
    }

    const NOW: i64 = 1_700_000_000_000;

    #[test]
    fn accepts_a_plain_report() {
        let r = report(vec![
            Sample::new("cpu.usage_percent", 12.5),
            Sample::new("fs.used_bytes", 1e9).with_label("mount", "/"),
            Sample::new("temp.celsius", -4.0),
        ]);
        assert_eq!(validate_report(&r, NOW), Ok(()));
    }

    #[test]
    fn refuses_each_kind_of_bad_input() {
        type Expectation = fn(&ValidationError) -> bool;
        let cases: Vec<(Report, Expectation)> = vec![
            (report(vec![Sample::new("x", f64::NAN)]), |e| {
                matches!(e, ValidationError::NonFinite { .. })
            }),
            (report(vec![Sample::new("x", f64::INFINITY)]), |e| {
                matches!(e, ValidationError::NonFinite { .. })
            }),
            (
                report(vec![Sample::new("net.rx_errors_total", -1.0)]),
                |e| matches!(e, ValidationError::Negative { .. }),
            ),
            (report(vec![Sample::new("bad name", 1.0)]), |e| {
                matches!(e, ValidationError::BadMetricName(_))
            }),
            (
                report(vec![
                    Sample::new("x", 1.0).with_label("mount", "/".repeat(300)),
                ]),
                |e| matches!(e, ValidationError::BadLabelValue { .. }),
            ),
            (
                report(vec![Sample::new("x", 1.0).with_label("bad-key", "v")]),
                |e| matches!(e, ValidationError::BadLabelKey { .. }),
            ),
            (
                report(vec![Sample::new("x", 1.0); MAX_SERIES_PER_REPORT + 1]),
                |e| matches!(e, ValidationError::TooManySeries(_)),
            ),
            (
                report(vec![Sample::new("x", 1.0), Sample::new("x", 2.0)]),
                |e| matches!(e, ValidationError::DuplicateSeries { .. }),
            ),
        ];
        for (r, is_expected) in cases {
            let err = validate_report(&r, NOW).unwrap_err();
            assert!(is_expected(&err), "unexpected {err:?}");
        }
    }

    #[test]
    fn refuses_future_timestamps_beyond_skew() {
        let mut r = report(vec![]);
        r.ts = NOW + MAX_FUTURE_SKEW_MS;
        assert_eq!(validate_report(&r, NOW), Ok(()));
        r.ts = NOW + MAX_FUTURE_SKEW_MS + 1;
        assert!(matches!(
            validate_report(&r, NOW),
            Err(ValidationError::FutureTimestamp { .. })
        ));
    }

    #[test]
    fn refuses_bad_interval_and_hostname() {
        let mut r = report(vec![]);
        r.interval_s = 0;
        assert!(matches!(
            validate_report(&r, NOW),
            Err(ValidationError::BadInterval(0))
        ));
        r.interval_s = 10;
        r.host.hostname = "two words".into();
        assert_eq!(validate_report(&r, NOW), Err(ValidationError::BadHostname));
    }
}
