//! Alerts posted to lxmon by other systems, read into one shape.
//!
//! [`parse`] accepts two body formats and tells them apart by themselves:
//!
//! 1. **Alertmanager webhooks** (version 4; Grafana's Alertmanager-compatible
//!    webhook also parses): a top-level object with `alerts` and any of
//!    `version`, `groupKey` or `receiver`. The name is the `alertname`
//!    label, the summary the `summary` (else `description`) annotation, the
//!    severity the `severity` label; Go's zero time `0001-01-01T00:00:00Z`
//!    (Alertmanager's "not set") becomes `None`.
//! 2. **Generic**: one object, a list of objects, or `{"alerts": [...]}`, with
//!    `name` (required), `status` (`firing`/`resolved`, default firing),
//!    `severity`, `summary` or `message`, `labels`, `annotations`,
//!    `fingerprint`, `starts_at`/`ends_at` (RFC 3339 or unix milliseconds)
//!    and `source_url`. Other fields are ignored, so senders may add their own.
//!
//! Everything is bounded (alert count, label count and sizes) because the
//! endpoint takes input from outside, and errors name the alert and field
//! (`alerts[3].labels.severity: ...`) so the sender can fix its payload.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::schedule::{days_from_civil, days_in_month};
use crate::template::is_label_key;

/// Most alerts accepted in one body.
pub const MAX_ALERTS: usize = 1000;
/// Most labels, and most annotations, per alert.
pub const MAX_ENTRIES: usize = 64;
/// Longest label or annotation name, in bytes.
pub const MAX_KEY_LEN: usize = 128;
/// Longest label or annotation value, summary or URL, in bytes.
pub const MAX_VALUE_LEN: usize = 4096;
/// Longest alert name (and fingerprint), in bytes.
pub const MAX_NAME_LEN: usize = 256;

/// Whether the sender says the alert is still going on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ExternalStatus {
    Firing,
    Resolved,
}

/// One alert from another system, normalized.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExternalAlert {
    pub status: ExternalStatus,
    pub name: String,
    /// `critical`, `warning` or `info` (see [`normalize_severity`]).
    pub severity: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// What a notification's first line says; the name when the sender gave
    /// no summary.
    pub summary: String,
    /// The sender's identity for the alert, when it has one (Alertmanager
    /// always does).
    pub fingerprint: Option<String>,
    pub starts_at_ms: Option<i64>,
    /// Alertmanager sets this on firing alerts too (when it would consider
    /// the alert resolved without further news).
    pub ends_at_ms: Option<i64>,
    /// Where the alert came from: Alertmanager's generatorURL, else its
    /// externalURL; the generic `source_url`.
    pub source_url: Option<String>,
}

/// Why a body was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IncomingError {
    #[error("invalid JSON: {0}")]
    Json(String),
    #[error("{count} alerts in one body, at most {MAX_ALERTS} are accepted")]
    TooMany { count: usize },
    /// `path` is JSON-path-like: `alerts[3].labels.severity`, `name`, `body`.
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

fn invalid(path: impl Into<String>, message: impl Into<String>) -> IncomingError {
    IncomingError::Invalid {
        path: path.into(),
        message: message.into(),
    }
}

/// Reads a posted body in either format.
pub fn parse(body: &[u8]) -> Result<Vec<ExternalAlert>, IncomingError> {
    let root: Value =
        serde_json::from_slice(body).map_err(|e| IncomingError::Json(e.to_string()))?;
    match &root {
        Value::Array(items) => parse_generic_list(items, ""),
        Value::Object(map) => match map.get("alerts") {
            None => Ok(vec![parse_generic(map, "")?]),
            Some(Value::Array(items)) => {
                if ["version", "groupKey", "receiver"]
                    .iter()
                    .any(|k| map.contains_key(*k))
                {
                    parse_alertmanager(map, items)
                } else {
                    parse_generic_list(items, "alerts")
                }
            }
            Some(_) => Err(invalid("alerts", "must be an array")),
        },
        _ => Err(invalid("body", "must be a JSON object or array")),
    }
}

/// Maps a sender's severity onto lxmon's three, case-insensitively:
/// critical for critical/crit/error/err/page/fatal/emergency/emerg/alert/
/// high/disaster; info for info/information/informational/notice/none/low/
/// debug; warning for everything else.
pub fn normalize_severity(raw: &str) -> &'static str {
    match raw.trim().to_ascii_lowercase().as_str() {
        "critical" | "crit" | "error" | "err" | "page" | "fatal" | "emergency" | "emerg"
        | "alert" | "high" | "disaster" => "critical",
        "info" | "information" | "informational" | "notice" | "none" | "low" | "debug" => "info",
        _ => "warning",
    }
}

fn check_count(count: usize) -> Result<(), IncomingError> {
    if count > MAX_ALERTS {
        return Err(IncomingError::TooMany { count });
    }
    Ok(())
}

fn join(prefix: &str, field: &str) -> String {
    if prefix.is_empty() {
        field.to_owned()
    } else {
        format!("{prefix}.{field}")
    }
}

fn parse_alertmanager(
    root: &Map<String, Value>,
    items: &[Value],
) -> Result<Vec<ExternalAlert>, IncomingError> {
    check_count(items.len())?;
    let group_status = optional_str(root, "", "status", MAX_NAME_LEN)?;
    let external_url = optional_str(root, "", "externalURL", MAX_VALUE_LEN)?;
    let mut alerts = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let path = format!("alerts[{i}]");
        let obj = item
            .as_object()
            .ok_or_else(|| invalid(&path, "must be an object"))?;
        let labels = string_map(obj, &path, "labels", true)?;
        let annotations = string_map(obj, &path, "annotations", false)?;
        let name = labels
            .get("alertname")
            .ok_or_else(|| {
                invalid(
                    join(&path, "labels.alertname"),
                    "missing; Alertmanager alerts are named by this label",
                )
            })?
            .clone();
        check_name(&name, &join(&path, "labels.alertname"))?;
        let status = match optional_str(obj, &path, "status", MAX_NAME_LEN)? {
            Some(s) => parse_status(&s, &join(&path, "status"))?,
            None => match &group_status {
                Some(s) => parse_status(s, "status")?,
                None => ExternalStatus::Firing,
            },
        };
        let severity = labels
            .get("severity")
            .map_or("warning", |s| normalize_severity(s))
            .to_owned();
        let summary = annotations
            .get("summary")
            .or_else(|| annotations.get("description"))
            .filter(|s| !s.trim().is_empty())
            .unwrap_or(&name)
            .clone();
        let starts_at_ms = optional_rfc3339(obj, &path, "startsAt")?;
        let ends_at_ms = optional_rfc3339(obj, &path, "endsAt")?;
        let fingerprint = optional_str(obj, &path, "fingerprint", MAX_NAME_LEN)?;
        let source_url = optional_str(obj, &path, "generatorURL", MAX_VALUE_LEN)?
            .filter(|u| !u.is_empty())
            .or_else(|| external_url.clone().filter(|u| !u.is_empty()));
        alerts.push(ExternalAlert {
            status,
            name,
            severity,
            labels,
            annotations,
            summary,
            fingerprint,
            starts_at_ms,
            ends_at_ms,
            source_url,
        });
    }
    Ok(alerts)
}

fn parse_generic_list(items: &[Value], prefix: &str) -> Result<Vec<ExternalAlert>, IncomingError> {
    check_count(items.len())?;
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let path = format!("{prefix}[{i}]");
            let obj = item
                .as_object()
                .ok_or_else(|| invalid(&path, "must be an object"))?;
            parse_generic(obj, &path)
        })
        .collect()
}

fn parse_generic(obj: &Map<String, Value>, path: &str) -> Result<ExternalAlert, IncomingError> {
    let name = optional_str(obj, path, "name", MAX_NAME_LEN)?
        .ok_or_else(|| invalid(join(path, "name"), "missing; every alert needs a name"))?;
    check_name(&name, &join(path, "name"))?;
    let status = match optional_str(obj, path, "status", MAX_NAME_LEN)? {
        Some(s) => parse_status(&s, &join(path, "status"))?,
        None => ExternalStatus::Firing,
    };
    let labels = string_map(obj, path, "labels", true)?;
    let annotations = string_map(obj, path, "annotations", false)?;
    let severity = match optional_str(obj, path, "severity", MAX_NAME_LEN)? {
        Some(s) => normalize_severity(&s),
        None => labels
            .get("severity")
            .map_or("warning", |s| normalize_severity(s)),
    }
    .to_owned();
    let summary = match optional_str(obj, path, "summary", MAX_VALUE_LEN)? {
        Some(s) => Some(s),
        None => optional_str(obj, path, "message", MAX_VALUE_LEN)?,
    }
    .or_else(|| annotations.get("summary").cloned())
    .or_else(|| annotations.get("description").cloned())
    .filter(|s| !s.trim().is_empty())
    .unwrap_or_else(|| name.clone());
    Ok(ExternalAlert {
        status,
        name,
        severity,
        labels,
        annotations,
        summary,
        fingerprint: optional_str(obj, path, "fingerprint", MAX_NAME_LEN)?,
        starts_at_ms: optional_time(obj, path, "starts_at")?,
        ends_at_ms: optional_time(obj, path, "ends_at")?,
        source_url: optional_str(obj, path, "source_url", MAX_VALUE_LEN)?.filter(|u| !u.is_empty()),
    })
}

fn check_name(name: &str, path: &str) -> Result<(), IncomingError> {
    if name.trim().is_empty() {
        return Err(invalid(path, "must not be empty"));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(invalid(
            path,
            format!(
                "is {} bytes long, at most {MAX_NAME_LEN} are allowed",
                name.len()
            ),
        ));
    }
    Ok(())
}

fn parse_status(s: &str, path: &str) -> Result<ExternalStatus, IncomingError> {
    match s.trim().to_ascii_lowercase().as_str() {
        "firing" => Ok(ExternalStatus::Firing),
        "resolved" => Ok(ExternalStatus::Resolved),
        _ => Err(invalid(
            path,
            format!("`{s}` is not a status; use \"firing\" or \"resolved\""),
        )),
    }
}

/// A string field; absent and `null` are `None`.
fn optional_str(
    obj: &Map<String, Value>,
    path: &str,
    field: &str,
    max_len: usize,
) -> Result<Option<String>, IncomingError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.len() > max_len => Err(invalid(
            join(path, field),
            format!("is {} bytes long, at most {max_len} are allowed", s.len()),
        )),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(invalid(join(path, field), "must be a string")),
    }
}

/// An object of strings. Label values may also be numbers or booleans
/// (senders write `"port": 8080`); they are kept as their JSON text.
fn string_map(
    obj: &Map<String, Value>,
    path: &str,
    field: &str,
    is_labels: bool,
) -> Result<BTreeMap<String, String>, IncomingError> {
    let field_path = join(path, field);
    let map = match obj.get(field) {
        None | Some(Value::Null) => return Ok(BTreeMap::new()),
        Some(Value::Object(map)) => map,
        Some(_) => return Err(invalid(field_path, "must be an object of strings")),
    };
    if map.len() > MAX_ENTRIES {
        return Err(invalid(
            field_path,
            format!(
                "has {} entries, at most {MAX_ENTRIES} are allowed",
                map.len()
            ),
        ));
    }
    let mut out = BTreeMap::new();
    for (key, value) in map {
        let key_path = format!("{field_path}.{key}");
        if key.is_empty() {
            return Err(invalid(field_path, "has an empty name"));
        }
        if key.len() > MAX_KEY_LEN {
            // The key itself may be huge; do not echo it.
            return Err(invalid(
                field_path,
                format!(
                    "a name is {} bytes long, at most {MAX_KEY_LEN} are allowed",
                    key.len()
                ),
            ));
        }
        if is_labels && !is_label_key(key) {
            return Err(invalid(
                key_path,
                "label names may only contain letters, digits, `_`, `.` and `-`",
            ));
        }
        let value = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => return Err(invalid(key_path, "must be a string")),
        };
        if value.len() > MAX_VALUE_LEN {
            return Err(invalid(
                key_path,
                format!(
                    "is {} bytes long, at most {MAX_VALUE_LEN} are allowed",
                    value.len()
                ),
            ));
        }
        out.insert(key.clone(), value);
    }
    Ok(out)
}

fn optional_rfc3339(
    obj: &Map<String, Value>,
    path: &str,
    field: &str,
) -> Result<Option<i64>, IncomingError> {
    match optional_str(obj, path, field, 64)? {
        None => Ok(None),
        Some(s) => parse_rfc3339(&s).map_err(|m| invalid(join(path, field), m)),
    }
}

/// Earliest unix-ms timestamp accepted as a number: 1973-03-03. Smaller
/// numbers are almost certainly seconds.
const MIN_UNIX_MS: i64 = 100_000_000_000;
/// Latest: 9999-12-31T23:59:59.999Z.
const MAX_UNIX_MS: i64 = 253_402_300_799_999;

/// RFC 3339 text or unix milliseconds.
fn optional_time(
    obj: &Map<String, Value>,
    path: &str,
    field: &str,
) -> Result<Option<i64>, IncomingError> {
    match obj.get(field) {
        Some(Value::Number(n)) => {
            let ms = n
                .as_i64()
                .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64));
            match ms {
                Some(ms) if (MIN_UNIX_MS..=MAX_UNIX_MS).contains(&ms) => Ok(Some(ms)),
                Some(ms) if (0..MIN_UNIX_MS).contains(&ms) => Err(invalid(
                    join(path, field),
                    format!("{ms} looks like unix seconds; send unix milliseconds"),
                )),
                _ => Err(invalid(
                    join(path, field),
                    "must be whole unix milliseconds between 1973 and 9999",
                )),
            }
        }
        Some(Value::String(_)) => optional_rfc3339(obj, path, field),
        None | Some(Value::Null) => Ok(None),
        Some(_) => Err(invalid(
            join(path, field),
            "must be RFC 3339 text or unix milliseconds",
        )),
    }
}

/// Go's zero `time.Time`, which Alertmanager sends for "not set".
const GO_ZERO_TIME_MS: i64 = -62_135_596_800_000;

/// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` (`t`, `z` and a space
/// for `T` are accepted too) into unix ms, truncating below a millisecond.
/// Go's zero time is `None`.
fn parse_rfc3339(s: &str) -> Result<Option<i64>, String> {
    let bad = || format!("`{s}` is not an RFC 3339 time like 2024-01-31T12:00:00Z");
    let b = s.as_bytes();
    if b.len() < 20 {
        return Err(bad());
    }
    let digits = |range: std::ops::Range<usize>| -> Result<u32, String> {
        let part = &b[range];
        if part.iter().all(u8::is_ascii_digit) {
            Ok(part
                .iter()
                .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0')))
        } else {
            Err(bad())
        }
    };
    let year = digits(0..4)?;
    let month = digits(5..7)?;
    let day = digits(8..10)?;
    let hour = digits(11..13)?;
    let minute = digits(14..16)?;
    let second = digits(17..19)?;
    if b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return Err(bad());
    }
    let mut rest = &b[19..];
    let mut millis = 0u32;
    if let Some(fraction) = rest.strip_prefix(b".") {
        let n = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
        if n == 0 {
            return Err(bad());
        }
        for i in 0..3 {
            millis = millis * 10
                + fraction
                    .get(i)
                    .filter(|_| i < n)
                    .map_or(0, |d| u32::from(d - b'0'));
        }
        rest = &fraction[n..];
    }
    let offset_minutes: i64 = match rest {
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let two = |a: u8, b: u8| -> Result<i64, String> {
                if a.is_ascii_digit() && b.is_ascii_digit() {
                    Ok(i64::from((a - b'0') * 10 + (b - b'0')))
                } else {
                    Err(bad())
                }
            };
            let (h, m) = (two(*h1, *h2)?, two(*m1, *m2)?);
            if h > 23 || m > 59 {
                return Err(bad());
            }
            let minutes = h * 60 + m;
            if *sign == b'-' { -minutes } else { minutes }
        }
        _ => return Err(bad()),
    };
    let year = i64::from(year);
    // Second 60 is a leap second; it counts as the next minute's 00.
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return Err(format!("`{s}` is not a valid date and time"));
    }
    let seconds = days_from_civil(year, month, day) * 86_400
        + i64::from(hour * 3600 + minute * 60 + second)
        - offset_minutes * 60;
    let ms = seconds * 1000 + i64::from(millis);
    Ok((ms != GO_ZERO_TIME_MS).then_some(ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2024-01-01T00:00:00Z.
    const T2024: i64 = 1_704_067_200_000;

    fn parse_str(body: &str) -> Result<Vec<ExternalAlert>, IncomingError> {
        parse(body.as_bytes())
    }

    fn path_of(body: &str) -> String {
        match parse_str(body).unwrap_err() {
            IncomingError::Invalid { path, .. } => path,
            other => panic!("expected an invalid field, got {other:?}"),
        }
    }

    /// An Alertmanager 0.27 webhook as it is sent: two alerts in one group.
    const ALERTMANAGER_FIRING: &str = r#"{
      "receiver": "lxmon",
      "status": "firing",
      "alerts": [
        {
          "status": "firing",
          "labels": {
            "alertname": "NodeHighCPU",
            "instance": "web-1:9100",
            "job": "node",
            "severity": "page"
          },
          "annotations": {
            "description": "CPU has been above 90% for 10 minutes.",
            "summary": "High CPU on web-1:9100",
            "runbook_url": "https://runbooks.example.com/cpu"
          },
          "startsAt": "2024-01-01T00:00:00.123456789Z",
          "endsAt": "0001-01-01T00:00:00Z",
          "generatorURL": "http://prometheus.example.com:9090/graph?g0.expr=cpu%3E0.9&g0.tab=1",
          "fingerprint": "5a4b8f2a3e8c7d10"
        },
        {
          "status": "firing",
          "labels": {
            "alertname": "NodeHighCPU",
            "instance": "web-2:9100",
            "job": "node"
          },
          "annotations": {
            "description": "CPU has been above 90% for 10 minutes."
          },
          "startsAt": "2024-01-01T02:30:00+02:00",
          "endsAt": "0001-01-01T00:00:00Z",
          "generatorURL": "",
          "fingerprint": "9c1d2e3f4a5b6c7d"
        }
      ],
      "groupLabels": {"alertname": "NodeHighCPU"},
      "commonLabels": {"alertname": "NodeHighCPU", "job": "node"},
      "commonAnnotations": {"description": "CPU has been above 90% for 10 minutes."},
      "externalURL": "http://alertmanager.example.com:9093",
      "version": "4",
      "groupKey": "{}/{severity=~\"page|critical\"}:{alertname=\"NodeHighCPU\"}",
      "truncatedAlerts": 0
    }"#;

    const ALERTMANAGER_RESOLVED: &str = r#"{
      "receiver": "lxmon",
      "status": "resolved",
      "alerts": [
        {
          "status": "resolved",
          "labels": {"alertname": "DiskFull", "instance": "db-1", "severity": "Warning"},
          "annotations": {"summary": "Disk / above 95%"},
          "startsAt": "2024-01-01T00:00:00Z",
          "endsAt": "2024-01-01T01:15:30.5Z",
          "generatorURL": "http://prometheus.example.com:9090/graph",
          "fingerprint": "0011223344556677"
        }
      ],
      "groupLabels": {},
      "commonLabels": {"alertname": "DiskFull"},
      "commonAnnotations": {},
      "externalURL": "http://alertmanager.example.com:9093",
      "version": "4",
      "groupKey": "{}:{alertname=\"DiskFull\"}",
      "truncatedAlerts": 0
    }"#;

    #[test]
    fn alertmanager_firing() {
        let alerts = parse_str(ALERTMANAGER_FIRING).unwrap();
        assert_eq!(alerts.len(), 2);
        let a = &alerts[0];
        assert_eq!(a.status, ExternalStatus::Firing);
        assert_eq!(a.name, "NodeHighCPU");
        assert_eq!(a.severity, "critical", "page maps to critical");
        assert_eq!(a.summary, "High CPU on web-1:9100");
        assert_eq!(a.labels["instance"], "web-1:9100");
        assert_eq!(a.labels["alertname"], "NodeHighCPU");
        assert_eq!(
            a.annotations["runbook_url"],
            "https://runbooks.example.com/cpu"
        );
        assert_eq!(a.fingerprint.as_deref(), Some("5a4b8f2a3e8c7d10"));
        assert_eq!(a.starts_at_ms, Some(T2024 + 123));
        assert_eq!(a.ends_at_ms, None, "Go's zero time is no time");
        assert_eq!(
            a.source_url.as_deref(),
            Some("http://prometheus.example.com:9090/graph?g0.expr=cpu%3E0.9&g0.tab=1")
        );

        let b = &alerts[1];
        assert_eq!(b.severity, "warning", "no severity label");
        assert_eq!(b.summary, "CPU has been above 90% for 10 minutes.");
        assert_eq!(
            b.starts_at_ms,
            Some(T2024 + 30 * 60_000),
            "02:30+02:00 is 00:30Z"
        );
        assert_eq!(
            b.source_url.as_deref(),
            Some("http://alertmanager.example.com:9093"),
            "empty generatorURL falls back to externalURL"
        );
    }

    #[test]
    fn alertmanager_resolved() {
        let alerts = parse_str(ALERTMANAGER_RESOLVED).unwrap();
        assert_eq!(alerts.len(), 1);
        let a = &alerts[0];
        assert_eq!(a.status, ExternalStatus::Resolved);
        assert_eq!(a.name, "DiskFull");
        assert_eq!(a.severity, "warning");
        assert_eq!(a.summary, "Disk / above 95%");
        assert_eq!(a.starts_at_ms, Some(T2024));
        assert_eq!(a.ends_at_ms, Some(T2024 + 75 * 60_000 + 30_500));
    }

    #[test]
    fn alertmanager_status_falls_back_to_the_group() {
        let body = r#"{"version": "4", "status": "resolved",
            "alerts": [{"labels": {"alertname": "A"}}]}"#;
        assert_eq!(parse_str(body).unwrap()[0].status, ExternalStatus::Resolved);
        let body = r#"{"receiver": "x", "alerts": [{"labels": {"alertname": "A"}}]}"#;
        let a = &parse_str(body).unwrap()[0];
        assert_eq!(a.status, ExternalStatus::Firing);
        assert_eq!(a.summary, "A", "the name when there is no summary");
        assert_eq!(a.source_url, None);
    }

    #[test]
    fn alertmanager_errors_point_at_the_alert() {
        let no_name = r#"{"version": "4", "alerts": [
            {"labels": {"alertname": "A"}},
            {"labels": {"job": "node"}}]}"#;
        assert_eq!(path_of(no_name), "alerts[1].labels.alertname");
        let bad_time = r#"{"version": "4", "alerts": [
            {"labels": {"alertname": "A"}, "startsAt": "yesterday"}]}"#;
        assert_eq!(path_of(bad_time), "alerts[0].startsAt");
        let bad_status = r#"{"version": "4", "alerts": [
            {"labels": {"alertname": "A"}, "status": "pending"}]}"#;
        let err = parse_str(bad_status).unwrap_err();
        assert_eq!(
            err.to_string(),
            "alerts[0].status: `pending` is not a status; use \"firing\" or \"resolved\""
        );
        let not_object = r#"{"version": "4", "alerts": [1]}"#;
        assert_eq!(path_of(not_object), "alerts[0]");
        let nested =
            r#"{"version": "4", "alerts": [{"labels": {"alertname": "A", "x": {"y": 1}}}]}"#;
        assert_eq!(path_of(nested), "alerts[0].labels.x");
    }

    #[test]
    fn severity_mapping() {
        for (raw, expected) in [
            ("critical", "critical"),
            ("CRITICAL", "critical"),
            ("error", "critical"),
            ("Page", "critical"),
            ("fatal", "critical"),
            ("warning", "warning"),
            ("warn", "warning"),
            ("major", "warning"),
            ("", "warning"),
            ("info", "info"),
            ("None", "info"),
            ("low", "info"),
            (" notice ", "info"),
        ] {
            assert_eq!(normalize_severity(raw), expected, "{raw:?}");
        }
    }

    #[test]
    fn generic_single_object() {
        let body = r#"{
            "name": "Backup failed",
            "severity": "error",
            "message": "nightly backup of db-1 exited with 2",
            "labels": {"host": "db-1", "attempt": 3, "retry": true},
            "annotations": {"log": "/var/log/backup.log"},
            "fingerprint": "backup-db-1",
            "starts_at": 1704067200123,
            "source_url": "https://ci.example.com/job/42",
            "extra": {"ignored": true}
        }"#;
        let alerts = parse_str(body).unwrap();
        assert_eq!(alerts.len(), 1);
        let a = &alerts[0];
        assert_eq!(a.status, ExternalStatus::Firing);
        assert_eq!(a.name, "Backup failed");
        assert_eq!(a.severity, "critical");
        assert_eq!(a.summary, "nightly backup of db-1 exited with 2");
        assert_eq!(a.labels["attempt"], "3");
        assert_eq!(a.labels["retry"], "true");
        assert_eq!(a.annotations["log"], "/var/log/backup.log");
        assert_eq!(a.fingerprint.as_deref(), Some("backup-db-1"));
        assert_eq!(a.starts_at_ms, Some(T2024 + 123));
        assert_eq!(a.ends_at_ms, None);
        assert_eq!(
            a.source_url.as_deref(),
            Some("https://ci.example.com/job/42")
        );
    }

    #[test]
    fn generic_minimal_and_defaults() {
        let a = &parse_str(r#"{"name": "ping"}"#).unwrap()[0];
        assert_eq!(a.status, ExternalStatus::Firing);
        assert_eq!(a.severity, "warning");
        assert_eq!(a.summary, "ping");
        assert!(a.labels.is_empty() && a.annotations.is_empty());
        assert_eq!((a.fingerprint.as_ref(), a.starts_at_ms), (None, None));

        // Severity from the labels; summary preferred over message.
        let body =
            r#"{"name": "x", "labels": {"severity": "info"}, "summary": "s", "message": "m"}"#;
        let a = &parse_str(body).unwrap()[0];
        assert_eq!((a.severity.as_str(), a.summary.as_str()), ("info", "s"));
    }

    #[test]
    fn generic_lists() {
        let wrapped = r#"{"alerts": [
            {"name": "a", "status": "resolved", "starts_at": "2024-01-01T00:00:00Z", "ends_at": "2024-01-01T00:05:00Z"},
            {"name": "b", "status": "FIRING"}]}"#;
        let alerts = parse_str(wrapped).unwrap();
        assert_eq!(alerts.len(), 2);
        assert_eq!(alerts[0].status, ExternalStatus::Resolved);
        assert_eq!(alerts[0].starts_at_ms, Some(T2024));
        assert_eq!(alerts[0].ends_at_ms, Some(T2024 + 300_000));
        assert_eq!(alerts[1].status, ExternalStatus::Firing);

        let bare = r#"[{"name": "a"}, {"name": "b"}, {"name": "c"}]"#;
        let names: Vec<_> = parse_str(bare)
            .unwrap()
            .into_iter()
            .map(|a| a.name)
            .collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert!(parse_str("[]").unwrap().is_empty());
        assert!(parse_str(r#"{"alerts": []}"#).unwrap().is_empty());
    }

    #[test]
    fn generic_errors_point_at_the_field() {
        assert_eq!(path_of(r#"{"severity": "critical"}"#), "name");
        assert_eq!(path_of(r#"{"name": "  "}"#), "name");
        assert_eq!(path_of(r#"{"name": 5}"#), "name");
        assert_eq!(
            path_of(r#"{"alerts": [{"name": "a"}, {"nme": "b"}]}"#),
            "alerts[1].name"
        );
        assert_eq!(
            path_of(r#"[{"name": "a"}, {"name": "b", "status": "ok"}]"#),
            "[1].status"
        );
        assert_eq!(path_of(r#"{"name": "a", "labels": ["x"]}"#), "labels");
        assert_eq!(
            path_of(r#"{"name": "a", "labels": {"bad key": "v"}}"#),
            "labels.bad key"
        );
        assert_eq!(
            path_of(r#"{"name": "a", "labels": {"k": null}}"#),
            "labels.k"
        );
        assert_eq!(
            path_of(r#"{"name": "a", "starts_at": 1704067200}"#),
            "starts_at"
        );
        assert_eq!(path_of(r#"{"name": "a", "starts_at": -5}"#), "starts_at");
        assert_eq!(
            path_of(r#"{"name": "a", "starts_at": 1704067200000.5}"#),
            "starts_at"
        );
        assert_eq!(path_of(r#"{"name": "a", "ends_at": true}"#), "ends_at");
        assert_eq!(path_of(r#"{"alerts": {"name": "a"}}"#), "alerts");
        assert_eq!(path_of(r#""just text""#), "body");
        assert_eq!(path_of("[1]"), "[0]");
        let seconds = parse_str(r#"{"name": "a", "starts_at": 1704067200}"#).unwrap_err();
        assert!(
            seconds.to_string().contains("looks like unix seconds"),
            "{seconds}"
        );
    }

    #[test]
    fn whole_float_milliseconds_are_accepted() {
        let a = &parse_str(r#"{"name": "a", "starts_at": 1704067200000.0}"#).unwrap()[0];
        assert_eq!(a.starts_at_ms, Some(T2024));
    }

    #[test]
    fn invalid_json() {
        let err = parse_str(r#"{"name": "a""#).unwrap_err();
        assert!(matches!(err, IncomingError::Json(_)), "{err:?}");
        assert!(
            err.to_string()
                .starts_with("invalid JSON: EOF while parsing"),
            "{err}"
        );
        assert!(matches!(parse(b"\xff"), Err(IncomingError::Json(_))));
        assert!(matches!(parse(b""), Err(IncomingError::Json(_))));
    }

    #[test]
    fn bounds() {
        let many = format!("[{}]", vec![r#"{"name":"a"}"#; MAX_ALERTS + 1].join(","));
        assert_eq!(
            parse_str(&many).unwrap_err(),
            IncomingError::TooMany {
                count: MAX_ALERTS + 1
            }
        );
        let max = format!("[{}]", vec![r#"{"name":"a"}"#; MAX_ALERTS].join(","));
        assert_eq!(parse_str(&max).unwrap().len(), MAX_ALERTS);
        let am_many = format!(
            r#"{{"version":"4","alerts":[{}]}}"#,
            vec![r#"{"labels":{"alertname":"a"}}"#; MAX_ALERTS + 1].join(",")
        );
        assert!(matches!(
            parse_str(&am_many),
            Err(IncomingError::TooMany { .. })
        ));

        let labels = |n: usize| {
            (0..n)
                .map(|i| format!(r#""k{i}":"v""#))
                .collect::<Vec<_>>()
                .join(",")
        };
        let ok = format!(r#"{{"name":"a","labels":{{{}}}}}"#, labels(MAX_ENTRIES));
        assert!(parse_str(&ok).is_ok());
        let too_many = format!(
            r#"{{"name":"a","annotations":{{{}}}}}"#,
            labels(MAX_ENTRIES + 1)
        );
        assert_eq!(path_of(&too_many), "annotations");

        let long_key = format!(
            r#"{{"name":"a","labels":{{"{}":"v"}}}}"#,
            "k".repeat(MAX_KEY_LEN + 1)
        );
        let err = parse_str(&long_key).unwrap_err().to_string();
        assert!(err.starts_with("labels: a name is 129 bytes long"), "{err}");
        let long_value = format!(
            r#"{{"name":"a","labels":{{"k":"{}"}}}}"#,
            "v".repeat(MAX_VALUE_LEN + 1)
        );
        assert_eq!(path_of(&long_value), "labels.k");
        let long_name = format!(r#"{{"name":"{}"}}"#, "n".repeat(MAX_NAME_LEN + 1));
        assert_eq!(path_of(&long_name), "name");
        let ok_name = format!(r#"{{"name":"{}"}}"#, "n".repeat(MAX_NAME_LEN));
        assert!(parse_str(&ok_name).is_ok());
        let long_summary = format!(
            r#"{{"name":"a","summary":"{}"}}"#,
            "s".repeat(MAX_VALUE_LEN + 1)
        );
        assert_eq!(path_of(&long_summary), "summary");
        let am_long = format!(
            r#"{{"version":"4","alerts":[{{"labels":{{"alertname":"a"}},"annotations":{{"d":"{}"}}}}]}}"#,
            "x".repeat(MAX_VALUE_LEN + 1)
        );
        assert_eq!(path_of(&am_long), "alerts[0].annotations.d");
        // Annotation names are free text, label names are not.
        let spaced = r#"{"name":"a","annotations":{"Runbook URL":"x"}}"#;
        assert!(parse_str(spaced).is_ok());
    }

    #[test]
    fn rfc3339_forms() {
        let ok = |s: &str| parse_rfc3339(s).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ok("2024-01-01T00:00:00Z"), Some(T2024));
        assert_eq!(ok("2024-01-01t00:00:00z"), Some(T2024));
        assert_eq!(ok("2024-01-01 00:00:00Z"), Some(T2024));
        assert_eq!(ok("2024-01-01T00:00:00.5Z"), Some(T2024 + 500));
        assert_eq!(ok("2024-01-01T00:00:00.12Z"), Some(T2024 + 120));
        assert_eq!(ok("2024-01-01T00:00:00.999999999Z"), Some(T2024 + 999));
        assert_eq!(ok("2024-01-01T01:00:00+01:00"), Some(T2024));
        assert_eq!(ok("2023-12-31T18:30:00-05:30"), Some(T2024));
        assert_eq!(ok("2024-01-01T05:45:00.250+05:45"), Some(T2024 + 250));
        assert_eq!(ok("2024-02-29T00:00:00Z"), Some(T2024 + 59 * 86_400_000));
        assert_eq!(ok("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(ok("1969-12-31T23:59:59.999Z"), Some(-1));
        assert_eq!(ok("2016-12-31T23:59:60Z"), ok("2017-01-01T00:00:00Z"));
        assert_eq!(ok("0001-01-01T00:00:00Z"), None);
        assert!(ok("0001-01-01T00:00:01Z").is_some());
        for bad in [
            "",
            "2024-01-01",
            "2024-01-01T00:00:00",
            "2024-01-01T00:00Z",
            "2024-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-01-32T00:00:00Z",
            "2024-01-01T24:00:00Z",
            "2024-01-01T00:60:00Z",
            "2024-01-01T00:00:61Z",
            "2024-01-01T00:00:00.Z",
            "2024-01-01T00:00:00+0100",
            "2024-01-01T00:00:00+24:00",
            "2024-01-01T00:00:00Z ",
            "2024/01/01T00:00:00Z",
            "+024-01-01T00:00:00Z",
            "2024-01-01T00:00:00UTC",
            "２０２4-01-01T00:00:00Z",
        ] {
            assert!(parse_rfc3339(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn external_alert_serializes_plainly() {
        let a = &parse_str(r#"{"name": "a", "status": "resolved"}"#).unwrap()[0];
        let json = serde_json::to_value(a).unwrap();
        assert_eq!(json["status"], "resolved");
        assert_eq!(json["severity"], "warning");
        let back: ExternalAlert = serde_json::from_value(json).unwrap();
        assert_eq!(&back, a);
    }
}
