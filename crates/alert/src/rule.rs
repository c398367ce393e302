//! Alert rules as users define them: what condition, on which hosts, for how
//! long, how loud, and what the notification says.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::anomaly::AnomalyMode;
use crate::matcher::Matcher;
use crate::template::Template;

/// Repeat interval when a rule sets none (FlexMON: 15 minutes).
pub const DEFAULT_REPEAT_INTERVAL_S: u32 = 15 * 60;
/// Longest `for` a rule may have.
pub const MAX_FOR_S: u32 = 24 * 3600;
/// Bounds of a rule's repeat interval.
pub const REPEAT_INTERVAL_RANGE_S: std::ops::RangeInclusive<u32> = 10..=7 * 24 * 3600;

/// A rule (the API body and the stored definition).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RuleDefinition {
    pub name: String,
    #[serde(default = "enabled_default")]
    pub enabled: bool,
    pub condition: Condition,
    #[serde(default)]
    pub scope: Scope,
    /// How long the condition must hold before the alert fires (0: at once).
    #[serde(default)]
    pub for_s: u32,
    pub severity: Severity,
    /// Added to every alert of the rule (routing and silences match them).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Templates; `summary` is the notification's line per alert, e.g.
    /// `{{host}} CPU at {{value}}%`.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = BTreeMap<String, String>))]
    pub annotations: BTreeMap<String, Template>,
    /// How often a still-firing, unacknowledged alert is sent again;
    /// [`DEFAULT_REPEAT_INTERVAL_S`] when unset.
    #[serde(default)]
    pub repeat_interval_s: Option<u32>,
}

fn enabled_default() -> bool {
    true
}

/// What makes an alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Condition {
    /// A metric beyond a value; `clear` is the hysteresis threshold the value
    /// must get back past before the alert resolves (default: `value`).
    Threshold {
        metric: String,
        #[serde(default)]
        #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
        labels: Vec<Matcher>,
        op: Op,
        value: f64,
        #[serde(default)]
        clear: Option<f64>,
    },
    /// `scale × numerator / denominator` beyond a value, both series from the
    /// same report and with the same labels (e.g. used / total × 100).
    Ratio {
        numerator: MetricRef,
        denominator: MetricRef,
        #[serde(default = "scale_default")]
        scale: f64,
        op: Op,
        value: f64,
        #[serde(default)]
        clear: Option<f64>,
    },
    /// A metric far from its learned baseline.
    Anomaly {
        metric: String,
        #[serde(default)]
        #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
        labels: Vec<Matcher>,
        #[cfg_attr(feature = "openapi", schema(value_type = Object))]
        mode: AnomalyMode,
    },
    /// The host has not reported for `after_s` (default: the server's
    /// offline threshold). Inhibits the host's other alerts while firing.
    HostOffline {
        #[serde(default)]
        after_s: Option<u32>,
    },
    /// A metric the host used to report has been missing for `intervals`
    /// reporting intervals.
    MetricMissing {
        metric: String,
        #[serde(default)]
        #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
        labels: Vec<Matcher>,
        #[serde(default = "intervals_default")]
        intervals: u32,
    },
    /// A health check is down (one check, or any of the tenant's).
    CheckDown {
        #[serde(default)]
        check_id: Option<i64>,
    },
}

fn scale_default() -> f64 {
    1.0
}

fn intervals_default() -> u32 {
    3
}

/// A metric and a label selector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MetricRef {
    pub metric: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub labels: Vec<Matcher>,
}

/// Comparison of a value with a threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Op {
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
}

impl Op {
    /// Whether `value` is beyond `threshold`.
    pub fn breaches(self, value: f64, threshold: f64) -> bool {
        match self {
            Op::Gt => value > threshold,
            Op::Ge => value >= threshold,
            Op::Lt => value < threshold,
            Op::Le => value <= threshold,
        }
    }

    fn upward(self) -> bool {
        matches!(self, Op::Gt | Op::Ge)
    }
}

/// Which hosts a rule watches.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Scope {
    #[default]
    All,
    /// Hosts whose labels (plus `host`, the hostname) match all matchers.
    Labels {
        #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
        matchers: Vec<Matcher>,
    },
    Host {
        host_id: i64,
    },
}

impl Scope {
    /// Whether a host is in scope; `labels` are the host's labels with its
    /// hostname under `host`.
    pub fn contains(&self, host_id: i64, labels: &BTreeMap<String, String>) -> bool {
        match self {
            Scope::All => true,
            Scope::Labels { matchers } => crate::matcher::matches_all(matchers, labels),
            Scope::Host { host_id: id } => *id == host_id,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// One series of a report (or of a host's latest values): name, labels, value.
pub type SeriesValue<'a> = (&'a str, &'a BTreeMap<String, String>, f64);

impl Condition {
    /// What a threshold or ratio condition says about each series it
    /// selects from one report: the series' labels (the numerator's, for a
    /// ratio) and the observation. Empty for the other condition types,
    /// which are not decided by one report.
    pub fn observe<'a>(
        &self,
        series: &[SeriesValue<'a>],
    ) -> Vec<(&'a BTreeMap<String, String>, crate::eval::Observation)> {
        use crate::eval::Observation;
        match self {
            Condition::Threshold {
                metric,
                labels,
                op,
                value,
                clear,
            } => series
                .iter()
                .filter(|(name, l, _)| name == metric && crate::matcher::matches_all(labels, l))
                .map(|(_, l, v)| (*l, Observation::threshold(*op, *v, *value, *clear)))
                .collect(),
            Condition::Ratio {
                numerator,
                denominator,
                scale,
                op,
                value,
                clear,
            } => {
                let mut out = Vec::new();
                for (_, n_labels, n) in series.iter().filter(|(name, l, _)| {
                    *name == numerator.metric && crate::matcher::matches_all(&numerator.labels, l)
                }) {
                    // Same labels (fs.used_bytes{mount} / fs.total_bytes{mount}),
                    // or a denominator without labels (a host-wide total).
                    let d = series.iter().find(|(name, l, _)| {
                        *name == denominator.metric
                            && crate::matcher::matches_all(&denominator.labels, l)
                            && (*l == *n_labels || l.is_empty())
                    });
                    if let Some((_, _, d)) = d.filter(|d| d.2 != 0.0) {
                        let ratio = scale * n / d;
                        out.push((
                            *n_labels,
                            Observation::threshold(*op, ratio, *value, *clear),
                        ));
                    }
                }
                out
            }
            Condition::Anomaly { .. }
            | Condition::MetricMissing { .. }
            | Condition::HostOffline { .. }
            | Condition::CheckDown { .. } => Vec::new(),
        }
    }

    /// The metric a condition's threshold is about, and the threshold.
    pub fn threshold(&self) -> Option<(&str, f64)> {
        match self {
            Condition::Threshold { metric, value, .. } => Some((metric, *value)),
            Condition::Ratio {
                numerator, value, ..
            } => Some((&numerator.metric, *value)),
            _ => None,
        }
    }
}

/// A rule that cannot be used, and which field says why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct RuleError {
    pub field: String,
    pub message: String,
}

fn invalid(field: &str, message: impl Into<String>) -> RuleError {
    RuleError {
        field: field.into(),
        message: message.into(),
    }
}

impl RuleDefinition {
    /// Checks what serde cannot: bounds, thresholds that make sense, metrics
    /// that exist (`known_metric` answers for this tenant).
    pub fn validate(&self, known_metric: &dyn Fn(&str) -> bool) -> Result<(), RuleError> {
        let name = self.name.trim();
        if name.is_empty() || name.len() > 128 {
            return Err(invalid("name", "must be 1 to 128 characters"));
        }
        if self.for_s > MAX_FOR_S {
            return Err(invalid("for_s", format!("must be at most {MAX_FOR_S} s")));
        }
        if let Some(r) = self.repeat_interval_s
            && !REPEAT_INTERVAL_RANGE_S.contains(&r)
        {
            return Err(invalid(
                "repeat_interval_s",
                "must be between 10 s and 7 days",
            ));
        }
        if self.labels.len() > 32 {
            return Err(invalid("labels", "at most 32 labels"));
        }
        for (k, v) in &self.labels {
            if !valid_label_name(k) {
                return Err(invalid(
                    "labels",
                    format!("label name {k:?} must be letters, digits, '_', '.' or '-'"),
                ));
            }
            if v.len() > 256 {
                return Err(invalid("labels", format!("label {k:?} is longer than 256")));
            }
        }
        if self.annotations.len() > 16 {
            return Err(invalid("annotations", "at most 16 annotations"));
        }
        let metric = |field: &str, name: &str| {
            if name.is_empty() {
                Err(invalid(field, "a metric name is required"))
            } else if !known_metric(name) {
                Err(invalid(
                    field,
                    format!("unknown metric {name:?}: no agent reports it (see docs/metrics.md)"),
                ))
            } else {
                Ok(())
            }
        };
        match &self.condition {
            Condition::Threshold {
                metric: m,
                op,
                value,
                clear,
                ..
            } => {
                metric("condition.metric", m)?;
                check_thresholds(*op, *value, *clear)?;
            }
            Condition::Ratio {
                numerator,
                denominator,
                scale,
                op,
                value,
                clear,
            } => {
                metric("condition.numerator.metric", &numerator.metric)?;
                metric("condition.denominator.metric", &denominator.metric)?;
                if !scale.is_finite() || *scale == 0.0 {
                    return Err(invalid("condition.scale", "must be a non-zero number"));
                }
                check_thresholds(*op, *value, *clear)?;
            }
            Condition::Anomaly {
                metric: m, mode, ..
            } => {
                metric("condition.metric", m)?;
                mode.validate()
                    .map_err(|e| invalid("condition.mode", e.to_string()))?;
            }
            Condition::HostOffline { after_s } => {
                if let Some(a) = after_s
                    && !(10..=7 * 24 * 3600).contains(a)
                {
                    return Err(invalid(
                        "condition.after_s",
                        "must be between 10 s and 7 days",
                    ));
                }
            }
            Condition::MetricMissing {
                metric: m,
                intervals,
                ..
            } => {
                metric("condition.metric", m)?;
                if !(1..=1000).contains(intervals) {
                    return Err(invalid("condition.intervals", "must be 1 to 1000"));
                }
            }
            Condition::CheckDown { .. } => {}
        }
        Ok(())
    }

    pub fn repeat_interval_ms(&self) -> i64 {
        i64::from(self.repeat_interval_s.unwrap_or(DEFAULT_REPEAT_INTERVAL_S)) * 1000
    }

    pub fn for_ms(&self) -> i64 {
        i64::from(self.for_s) * 1000
    }
}

fn check_thresholds(op: Op, value: f64, clear: Option<f64>) -> Result<(), RuleError> {
    if !value.is_finite() {
        return Err(invalid("condition.value", "must be a finite number"));
    }
    if let Some(c) = clear {
        if !c.is_finite() {
            return Err(invalid("condition.clear", "must be a finite number"));
        }
        // Hysteresis: the clear threshold lies on the healthy side.
        if (op.upward() && c > value) || (!op.upward() && c < value) {
            return Err(invalid(
                "condition.clear",
                format!(
                    "must be on the healthy side of the threshold ({} {value})",
                    if op.upward() { "≤" } else { "≥" }
                ),
            ));
        }
    }
    Ok(())
}

/// Label names as lxmon uses them everywhere: `[A-Za-z0-9_.-]{1,64}`.
pub fn valid_label_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// Identifies an alert across its episodes: its source (rule or webhook)
/// and its labels. FNV-1a 64 over a canonical form: stable across releases
/// and processes, which `std`'s hasher is not.
pub fn fingerprint(source: &str, source_id: i64, labels: &BTreeMap<String, String>) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        // A separator no label can contain keeps ("ab","c") ≠ ("a","bc").
        h ^= 0xff;
        h = h.wrapping_mul(0x0100_0000_01b3);
    };
    feed(source.as_bytes());
    feed(&source_id.to_le_bytes());
    for (k, v) in labels {
        feed(k.as_bytes());
        feed(v.as_bytes());
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(json: serde_json::Value) -> RuleDefinition {
        serde_json::from_value(json).expect("rule parses")
    }

    fn known(name: &str) -> bool {
        name == "cpu.usage_percent" || name == "mem.used_bytes" || name == "mem.total_bytes"
    }

    #[test]
    fn a_threshold_rule_parses_with_defaults() {
        let r = rule(serde_json::json!({
            "name": "High CPU",
            "condition": {"type": "threshold", "metric": "cpu.usage_percent", "op": ">", "value": 90, "clear": 80},
            "severity": "critical",
            "annotations": {"summary": "{{host}} CPU at {{value}}%"}
        }));
        assert!(r.enabled);
        assert_eq!(r.scope, Scope::All);
        assert_eq!(r.repeat_interval_ms(), 900_000);
        r.validate(&known).unwrap();
    }

    #[test]
    fn unknown_metrics_fields_and_bad_templates_are_refused() {
        let r = rule(serde_json::json!({
            "name": "x", "severity": "info",
            "condition": {"type": "threshold", "metric": "cpu.nope", "op": ">", "value": 1}
        }));
        let e = r.validate(&known).unwrap_err();
        assert_eq!(e.field, "condition.metric");
        assert!(e.message.contains("unknown metric"), "{e}");

        let bad_field = serde_json::from_value::<RuleDefinition>(serde_json::json!({
            "name": "x", "severity": "info", "colour": "red",
            "condition": {"type": "host_offline"}
        }));
        assert!(bad_field.is_err());

        let bad_template = serde_json::from_value::<RuleDefinition>(serde_json::json!({
            "name": "x", "severity": "info",
            "condition": {"type": "host_offline"},
            "annotations": {"summary": "{{hots}} is down"}
        }));
        assert!(bad_template.is_err());
    }

    #[test]
    fn hysteresis_must_lie_on_the_healthy_side() {
        let r = rule(serde_json::json!({
            "name": "x", "severity": "info",
            "condition": {"type": "threshold", "metric": "cpu.usage_percent", "op": ">", "value": 90, "clear": 95}
        }));
        assert_eq!(r.validate(&known).unwrap_err().field, "condition.clear");
        let r = rule(serde_json::json!({
            "name": "x", "severity": "info",
            "condition": {"type": "threshold", "metric": "cpu.usage_percent", "op": "<", "value": 10, "clear": 20}
        }));
        r.validate(&known).unwrap();
    }

    #[test]
    fn bounds_are_enforced() {
        let mut r = rule(serde_json::json!({
            "name": "x", "severity": "warning",
            "condition": {"type": "ratio",
                "numerator": {"metric": "mem.used_bytes"}, "denominator": {"metric": "mem.total_bytes"},
                "scale": 100, "op": ">", "value": 90}
        }));
        r.validate(&known).unwrap();
        r.for_s = MAX_FOR_S + 1;
        assert_eq!(r.validate(&known).unwrap_err().field, "for_s");
        r.for_s = 0;
        r.repeat_interval_s = Some(5);
        assert_eq!(r.validate(&known).unwrap_err().field, "repeat_interval_s");
        r.repeat_interval_s = None;
        r.name = " ".into();
        assert_eq!(r.validate(&known).unwrap_err().field, "name");
    }

    #[test]
    fn threshold_and_ratio_observe_the_series_they_select() {
        let root: BTreeMap<String, String> = [("mount".to_string(), "/".to_string())].into();
        let data: BTreeMap<String, String> = [("mount".to_string(), "/data".to_string())].into();
        let none = BTreeMap::new();
        let series = [
            ("fs.used_bytes", &root, 95.0),
            ("fs.total_bytes", &root, 100.0),
            ("fs.used_bytes", &data, 10.0),
            ("fs.total_bytes", &data, 100.0),
            ("mem.used_bytes", &none, 3.0),
            ("mem.total_bytes", &none, 4.0),
        ];
        let ratio = rule(serde_json::json!({
            "name": "disk", "severity": "warning",
            "condition": {"type": "ratio", "numerator": {"metric": "fs.used_bytes"},
                          "denominator": {"metric": "fs.total_bytes"}, "scale": 100, "op": ">", "value": 90}
        }))
        .condition;
        let seen = ratio.observe(&series);
        assert_eq!(seen.len(), 2);
        assert_eq!(
            (seen[0].0, seen[0].1.breaching, seen[0].1.value),
            (&root, true, Some(95.0))
        );
        assert_eq!((seen[1].0, seen[1].1.breaching), (&data, false));
        let mem = rule(serde_json::json!({
            "name": "mem", "severity": "warning",
            "condition": {"type": "threshold", "metric": "mem.used_bytes", "op": ">=", "value": 3}
        }))
        .condition;
        let seen = mem.observe(&series);
        assert_eq!(seen.len(), 1);
        assert!(seen[0].1.breaching);
        assert_eq!(mem.threshold(), Some(("mem.used_bytes", 3.0)));
    }

    #[test]
    fn fingerprints_are_stable_and_label_sensitive() {
        let mut a = BTreeMap::new();
        a.insert("host".to_string(), "web-1".to_string());
        let f1 = fingerprint("rule", 7, &a);
        assert_eq!(f1, fingerprint("rule", 7, &a.clone()));
        assert_eq!(f1.len(), 16);
        assert_ne!(f1, fingerprint("rule", 8, &a));
        a.insert("mount".into(), "/".into());
        assert_ne!(f1, fingerprint("rule", 7, &a));
        let mut b = BTreeMap::new();
        b.insert("ab".to_string(), "c".to_string());
        let mut c = BTreeMap::new();
        c.insert("a".to_string(), "bc".to_string());
        assert_ne!(fingerprint("rule", 1, &b), fingerprint("rule", 1, &c));
    }

    #[test]
    fn scope_by_labels_and_host() {
        let mut labels = BTreeMap::new();
        labels.insert("host".to_string(), "db-1".to_string());
        labels.insert("role".to_string(), "db".to_string());
        assert!(Scope::All.contains(1, &labels));
        assert!(Scope::Host { host_id: 1 }.contains(1, &labels));
        assert!(!Scope::Host { host_id: 2 }.contains(1, &labels));
        let s = Scope::Labels {
            matchers: vec![Matcher::parse("role=db").unwrap()],
        };
        assert!(s.contains(1, &labels));
        labels.insert("role".into(), "web".into());
        assert!(!s.contains(1, &labels));
    }
}
