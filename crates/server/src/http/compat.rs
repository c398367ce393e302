//! `POST /api/metrics`: the Flask seed monitor's report body, unchanged, so
//! its existing Python agents report without modification.
//!
//! Authenticated by agent key like every agent request, or, when the client's
//! address is in `compat.allow_unauthenticated_from`, accepted without one
//! into the default tenant. The seed sends no sequence number and a naive
//! local timestamp, so reports are stamped with the server's receive time.
//! The seed's network and disk I/O figures are cumulative counters; they are
//! stored as `*_total` series (docs/metrics.md).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Instant;

use axum::Json;
use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use lxmon_proto::{HostIdentity, MAX_REPORT_BYTES, Report, Sample, validate_report};
use lxmon_store::NewReport;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::agent::store_reports;
use super::error::{ApiError, ApiResult};
use super::extract::{AgentAuth, parse_json, read_body};
use crate::state::AppState;

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct FlaskReport {
    pub hostname: String,
    #[serde(default)]
    pub timestamp: Option<String>,
    #[serde(default)]
    pub cpu: FlaskCpu,
    #[serde(default)]
    pub memory: FlaskMemory,
    #[serde(default)]
    pub disk: FlaskDisk,
    #[serde(default)]
    pub io: FlaskIo,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct FlaskCpu {
    pub cpu_percent_total: Option<f64>,
    #[serde(default)]
    pub cpu_percent_per_core: Vec<f64>,
    pub cpu_count_logical: Option<f64>,
    #[serde(default)]
    pub load_average: Vec<f64>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct FlaskMemory {
    pub memory_total: Option<f64>,
    pub memory_used: Option<f64>,
    pub memory_percent: Option<f64>,
    pub memory_available: Option<f64>,
    pub memory_free: Option<f64>,
    pub swap_total: Option<f64>,
    pub swap_used: Option<f64>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct FlaskDisk {
    #[serde(default)]
    pub partitions: Vec<FlaskPartition>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct FlaskPartition {
    pub mountpoint: String,
    pub total: Option<f64>,
    pub used: Option<f64>,
    pub free: Option<f64>,
    pub percent: Option<f64>,
}

/// psutil counters: either one flat object or one object per NIC/disk.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct FlaskIo {
    #[schema(value_type = Object)]
    pub network: Option<serde_json::Value>,
    #[schema(value_type = Object)]
    pub disk_io: Option<serde_json::Value>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FlaskAck {
    pub status: String,
    pub hostname: String,
}

/// `(psutil field, lxmon name)` for network and disk counters.
const NET_FIELDS: [(&str, &str); 8] = [
    ("bytes_recv", "net.rx_bytes_total"),
    ("bytes_sent", "net.tx_bytes_total"),
    ("packets_recv", "net.rx_packets_total"),
    ("packets_sent", "net.tx_packets_total"),
    ("errin", "net.rx_errors_total"),
    ("errout", "net.tx_errors_total"),
    ("dropin", "net.rx_drops_total"),
    ("dropout", "net.tx_drops_total"),
];
const DISK_FIELDS: [(&str, &str); 4] = [
    ("read_bytes", "disk.read_bytes_total"),
    ("write_bytes", "disk.write_bytes_total"),
    ("read_count", "disk.reads_total"),
    ("write_count", "disk.writes_total"),
];

fn counters(
    value: &Option<serde_json::Value>,
    label: &str,
    fields: &[(&str, &str)],
    out: &mut Vec<Sample>,
) {
    let Some(serde_json::Value::Object(map)) = value else {
        return;
    };
    // Flat: {"bytes_sent": 1, ...}; per device: {"eth0": {"bytes_sent": 1}}.
    let per_device: BTreeMap<&str, &serde_json::Map<String, serde_json::Value>> =
        if map.values().any(|v| v.is_object()) {
            map.iter()
                .filter_map(|(k, v)| v.as_object().map(|o| (k.as_str(), o)))
                .collect()
        } else {
            BTreeMap::from([("all", map)])
        };
    for (device, counters) in per_device {
        for (field, name) in fields {
            if let Some(v) = counters.get(*field).and_then(|v| v.as_f64()) {
                out.push(Sample::new(*name, v).with_label(label, device));
            }
        }
    }
}

/// Translates the seed's body into lxmon samples (docs/metrics.md names).
pub fn translate(r: &FlaskReport) -> Vec<Sample> {
    let mut out = Vec::new();
    let mut put = |name: &str, v: Option<f64>| {
        if let Some(v) = v {
            out.push(Sample::new(name, v));
        }
    };
    put("cpu.usage_percent", r.cpu.cpu_percent_total);
    put("cpu.cores_count", r.cpu.cpu_count_logical);
    for (i, name) in ["load.1m", "load.5m", "load.15m"].iter().enumerate() {
        put(name, r.cpu.load_average.get(i).copied());
    }
    put("mem.total_bytes", r.memory.memory_total);
    put("mem.used_bytes", r.memory.memory_used);
    put("mem.used_percent", r.memory.memory_percent);
    put("mem.available_bytes", r.memory.memory_available);
    put("mem.free_bytes", r.memory.memory_free);
    put("swap.total_bytes", r.memory.swap_total);
    put("swap.used_bytes", r.memory.swap_used);
    for (core, v) in r.cpu.cpu_percent_per_core.iter().enumerate() {
        out.push(Sample::new("cpu.core.usage_percent", *v).with_label("core", core.to_string()));
    }
    for p in &r.disk.partitions {
        for (name, v) in [
            ("fs.total_bytes", p.total),
            ("fs.used_bytes", p.used),
            ("fs.free_bytes", p.free),
            ("fs.used_percent", p.percent),
        ] {
            if let Some(v) = v {
                out.push(Sample::new(name, v).with_label("mount", p.mountpoint.clone()));
            }
        }
    }
    counters(&r.io.network, "iface", &NET_FIELDS, &mut out);
    counters(&r.io.disk_io, "device", &DISK_FIELDS, &mut out);
    out
}

/// Who may push a seed report: an agent key's tenant, or the default tenant
/// for an allow-listed address without a key.
pub struct CompatCaller {
    tenant: lxmon_store::TenantId,
}

impl FromRequestParts<AppState> for CompatCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if parts
            .headers
            .contains_key(axum::http::header::AUTHORIZATION)
        {
            let agent = AgentAuth::from_request_parts(parts, state).await?;
            return Ok(CompatCaller {
                tenant: agent.tenant,
            });
        }
        let ip = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        match ip {
            Some(ip) if state.config.compat_allow.iter().any(|c| c.contains(ip)) => {
                Ok(CompatCaller {
                    tenant: state.store.default_tenant(),
                })
            }
            _ => {
                state.telemetry.rejected("unauthorized");
                Err(ApiError::unauthorized(
                    "an agent key is required (or allow this address in compat.allow_unauthenticated_from)",
                ))
            }
        }
    }
}

/// Seed-compatible push (the Flask monitor's `monitor_agent.py`).
#[utoipa::path(post, path = "/api/metrics", tag = "agent", request_body = FlaskReport,
    responses((status = 200, body = FlaskAck), (status = 400, body = lxmon_proto::ErrorBody), (status = 401, body = lxmon_proto::ErrorBody),
        (status = 422, body = lxmon_proto::ErrorBody)),
    security(("agent_key" = []), ()))]
pub async fn push(
    State(state): State<AppState>,
    caller: CompatCaller,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<FlaskAck>> {
    let started = Instant::now();
    let flask: FlaskReport = parse_json(&read_body(&headers, body, MAX_REPORT_BYTES).await?)?;
    let now = crate::now_ms();
    // Validate through the same rules as native reports.
    let report = Report {
        v: lxmon_proto::PROTOCOL_VERSION,
        host: HostIdentity {
            hostname: flask.hostname.clone(),
            machine_id: None,
        },
        ts: now,
        interval_s: lxmon_proto::DEFAULT_INTERVAL_S,
        seq: 0,
        metrics: translate(&flask),
        info: None,
        processes: None,
    };
    validate_report(&report, now)?;
    let (tenant, hostname) = (caller.tenant, flask.hostname.clone());
    let host = state
        .blocking(move |s| s.host_by_hostname(tenant, &hostname))
        .await?;
    let new = NewReport {
        seq: None,
        ts: report.ts,
        interval_s: report.interval_s,
        samples: report.metrics,
        info: None,
    };
    store_reports(&state, tenant, host.id, vec![new], None, started).await?;
    Ok(Json(FlaskAck {
        status: "success".into(),
        hostname: flask.hostname,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_body_translates() {
        let body = r#"{
          "hostname": "server-name", "timestamp": "2025-11-06T10:00:00",
          "cpu": {"cpu_percent_total": 45.2, "cpu_percent_per_core": [40, 50], "cpu_count_logical": 2, "load_average": [1.5, 1.2, 1.0]},
          "memory": {"memory_total": 8589934592, "memory_used": 4294967296, "memory_percent": 50.0},
          "disk": {"partitions": [{"device": "/dev/sda1", "mountpoint": "/", "fstype": "ext4", "total": 100, "used": 40, "free": 60, "percent": 40.0}]},
          "io": {"network": {"bytes_sent": 10, "bytes_recv": 20}, "disk_io": {"sda": {"read_bytes": 5, "write_bytes": 6}}}
        }"#;
        let r: FlaskReport = serde_json::from_str(body).unwrap();
        let samples = translate(&r);
        let find = |name: &str| samples.iter().find(|s| s.name == name).map(|s| s.value);
        assert_eq!(find("cpu.usage_percent"), Some(45.2));
        assert_eq!(find("mem.total_bytes"), Some(8589934592.0));
        assert_eq!(find("load.15m"), Some(1.0));
        assert_eq!(find("fs.used_bytes"), Some(40.0));
        assert_eq!(find("net.rx_bytes_total"), Some(20.0));
        let disk = samples
            .iter()
            .find(|s| s.name == "disk.write_bytes_total")
            .unwrap();
        assert_eq!(disk.labels["device"], "sda");
        assert_eq!(
            samples
                .iter()
                .filter(|s| s.name == "cpu.core.usage_percent")
                .count(),
            2
        );
    }
}
