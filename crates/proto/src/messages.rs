//! Request and response bodies of the agent API.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

/// Labels of a sample, sorted by key so a series has one canonical identity.
pub type Labels = BTreeMap<String, String>;

/// One measurement: a metric name, its labels and a value.
///
/// On the wire: `{"n":"fs.used_bytes","l":{"mount":"/"},"v":1234}`; `l` is
/// omitted when empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Sample {
    #[serde(rename = "n")]
    pub name: String,
    #[serde(rename = "l", default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: Labels,
    /// JSON cannot carry NaN or infinities, but agents written in other
    /// languages send them as `null` or strings; those parse here and are then
    /// refused by validation with a clear message instead of a parse error.
    #[serde(rename = "v", deserialize_with = "lenient_f64")]
    pub value: f64,
}

impl Sample {
    pub fn new(name: impl Into<String>, value: f64) -> Self {
        Sample {
            name: name.into(),
            labels: Labels::new(),
            value,
        }
    }

    pub fn with_label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }
}

fn lenient_f64<'de, D: Deserializer<'de>>(de: D) -> Result<f64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw<'a> {
        Num(f64),
        Text(&'a str),
        Null(()),
    }
    match Raw::deserialize(de)? {
        Raw::Num(v) => Ok(v),
        Raw::Null(()) => Ok(f64::NAN),
        Raw::Text(s) => match s.to_ascii_lowercase().as_str() {
            "nan" => Ok(f64::NAN),
            "inf" | "+inf" | "infinity" | "+infinity" => Ok(f64::INFINITY),
            "-inf" | "-infinity" => Ok(f64::NEG_INFINITY),
            _ => Err(serde::de::Error::custom("value must be a number")),
        },
    }
}

/// Who is reporting. The server trusts the agent key, not this, for identity;
/// the hostname is informative and updates the host's display name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HostIdentity {
    pub hostname: String,
    /// `/etc/machine-id`, when the host has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine_id: Option<String>,
}

/// Slow-changing facts about the host, sent with the first report after start
/// and whenever they change.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HostInfo {
    #[serde(default)]
    pub os: String,
    #[serde(default)]
    pub kernel: String,
    #[serde(default)]
    pub arch: String,
    #[serde(default)]
    pub agent_version: String,
    /// Unix seconds of the last boot.
    #[serde(default)]
    pub boot_time: i64,
}

/// One process in a top list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProcessInfo {
    pub pid: u32,
    pub name: String,
    /// CPU use over the last interval, percent of one core.
    pub cpu_percent: f64,
    pub rss_bytes: u64,
}

/// Top processes by CPU and by memory, as of the report's timestamp.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TopProcesses {
    #[serde(default)]
    pub by_cpu: Vec<ProcessInfo>,
    #[serde(default)]
    pub by_memory: Vec<ProcessInfo>,
}

/// One report: everything an agent measured at one instant.
///
/// `POST /api/agent/metrics` takes one; `POST /api/agent/metrics/batch` takes
/// many as NDJSON, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Report {
    /// Protocol version, [`crate::PROTOCOL_VERSION`] when produced by this build.
    pub v: u32,
    pub host: HostIdentity,
    /// Unix milliseconds at which the samples were taken.
    pub ts: i64,
    /// The collection interval this report belongs to, in seconds.
    pub interval_s: u32,
    /// Per-agent sequence number, strictly increasing. The server stores each
    /// (agent, seq) once, so a resent report is acknowledged, not stored twice.
    pub seq: u64,
    pub metrics: Vec<Sample>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<HostInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processes: Option<TopProcesses>,
}

/// `POST /api/agent/register` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegisterRequest {
    pub hostname: String,
    #[serde(default)]
    pub os: String,
    #[serde(default)]
    pub arch: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub kernel: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine_id: Option<String>,
    #[serde(default)]
    pub labels: Labels,
    /// The actions this agent's local allowlist permits (names and
    /// parameter rules only, never the argv), so the dashboard can offer them.
    #[serde(default)]
    pub actions: Vec<ActionSpec>,
}

/// An action an agent allows, as announced at registration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActionSpec {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub params: Vec<ParamSpec>,
    /// Seconds before the agent kills it.
    pub timeout_s: u32,
}

/// One parameter of an action: its value must fully match `pattern`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ParamSpec {
    pub name: String,
    /// A regular expression the whole value must match.
    pub pattern: String,
    #[serde(default)]
    pub description: String,
}

/// A command for an agent: run the allowlisted `action` with `args`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentCommand {
    pub id: i64,
    pub action: String,
    #[serde(default)]
    pub args: BTreeMap<String, String>,
}

/// `GET /api/agent/commands?wait=SECS` response: new commands to run, and
/// ids of running commands the server cancelled (kill them).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CommandPoll {
    #[serde(default)]
    pub commands: Vec<AgentCommand>,
    #[serde(default)]
    pub cancel: Vec<i64>,
}

/// Where a command stands. `pending → delivered → running →` one of the
/// final states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CommandStatus {
    Pending,
    Delivered,
    Running,
    Succeeded,
    Failed,
    TimedOut,
    /// The agent refused it (not in its allowlist, or arguments not matching).
    Rejected,
    /// Not picked up within its time to live.
    Expired,
    Cancelled,
}

impl CommandStatus {
    pub fn is_final(self) -> bool {
        !matches!(
            self,
            CommandStatus::Pending | CommandStatus::Delivered | CommandStatus::Running
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CommandStatus::Pending => "pending",
            CommandStatus::Delivered => "delivered",
            CommandStatus::Running => "running",
            CommandStatus::Succeeded => "succeeded",
            CommandStatus::Failed => "failed",
            CommandStatus::TimedOut => "timed_out",
            CommandStatus::Rejected => "rejected",
            CommandStatus::Expired => "expired",
            CommandStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<CommandStatus> {
        [
            CommandStatus::Pending,
            CommandStatus::Delivered,
            CommandStatus::Running,
            CommandStatus::Succeeded,
            CommandStatus::Failed,
            CommandStatus::TimedOut,
            CommandStatus::Rejected,
            CommandStatus::Expired,
            CommandStatus::Cancelled,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }
}

/// `POST /api/agent/command-result`: one chunk of output and/or a status
/// change. Chunks are numbered from 0 so a resent chunk is stored once; the
/// final update (`succeeded`, `failed`, `timed_out`, `rejected`) carries the
/// exit code, duration and whether output was cut at the action's cap.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CommandUpdate {
    pub id: i64,
    pub seq: u32,
    pub status: CommandStatus,
    /// Output since the previous chunk (stdout and stderr interleaved).
    #[serde(default)]
    pub output: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    #[serde(default)]
    pub truncated: bool,
    /// Why the agent rejected or could not start it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `POST /api/agent/command-result` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CommandUpdateAck {
    /// False when the chunk was a resend already stored.
    pub stored: bool,
    /// True when the server cancelled the command: stop it.
    pub cancelled: bool,
}

/// Settings the server hands its agents (`GET /api/agent/config`, and inside
/// the register response).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentConfig {
    /// Seconds between reports when the server sets it for this host; `None`
    /// keeps the agent's own configured interval.
    #[serde(default)]
    pub report_interval_s: Option<u32>,
    /// Seconds between heartbeats.
    pub heartbeat_interval_s: u32,
    /// Health checks this agent runs for the server (targets only it can
    /// reach); results go to `POST /api/agent/check-results`.
    #[serde(default)]
    pub checks: Vec<AgentCheck>,
}

/// A health check an agent runs locally.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentCheck {
    pub id: i64,
    /// The probe definition (lxmon-checks' `CheckSpec` as JSON).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub spec: serde_json::Value,
    pub interval_s: u32,
    pub timeout_s: u32,
}

/// One run of an agent-side check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentCheckResult {
    pub check_id: i64,
    /// Unix ms of the run.
    pub ts: i64,
    pub up: bool,
    #[serde(default)]
    pub latency_ms: Option<f64>,
    #[serde(default)]
    pub cert_days_left: Option<f64>,
    #[serde(default)]
    pub error: Option<String>,
}

/// `POST /api/agent/check-results` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentCheckResults {
    pub results: Vec<AgentCheckResult>,
}

/// `POST /api/agent/register` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegisterResponse {
    /// The host this agent reports as (the server's id, not the hostname).
    pub server_id: i64,
    pub registered: bool,
    /// Highest sequence number the server has stored for this agent. An agent
    /// that lost its local state continues above it so nothing is dropped as
    /// a duplicate.
    pub last_seq: Option<u64>,
    pub config: AgentConfig,
    /// The server takes reports compressed against the previous one
    /// (`x-lxmon-zstd-dict: report:<seq>`, [`crate::compress::compress_against`]).
    /// Absent from older servers, which an agent then never sends them.
    #[serde(default)]
    pub delta_reports: bool,
}

/// `POST /api/agent/metrics` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MetricsAck {
    pub received: bool,
    /// True when this (agent, seq) was already stored; nothing was written.
    pub duplicate: bool,
    /// Seconds until the server wants the next report: the host's configured
    /// interval, or the report's own `interval_s` when none is set.
    pub next_report_in: u32,
}

/// `POST /api/agent/metrics/batch` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BatchAck {
    pub stored: usize,
    pub duplicates: usize,
    pub next_report_in: u32,
}

/// `POST /api/agent/heartbeat` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Heartbeat {
    pub ts: i64,
    /// Reports waiting in the agent's spool, so the dashboard can show a
    /// backlog while the agent catches up.
    #[serde(default)]
    pub spooled: u64,
}

/// `POST /api/agent/heartbeat` response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HeartbeatAck {
    pub status: String,
}

/// Every 4xx/5xx from the server has this body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `payload_too_large`.
    pub code: String,
    pub message: String,
    /// For NDJSON batches: the 1-based line that was refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_wire_form_is_compact() {
        let s = Sample::new("fs.used_bytes", 12.0).with_label("mount", "/");
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            r#"{"n":"fs.used_bytes","l":{"mount":"/"},"v":12.0}"#
        );
        let s = Sample::new("load.1m", 0.5);
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            r#"{"n":"load.1m","v":0.5}"#
        );
    }

    #[test]
    fn non_finite_values_parse_so_validation_can_name_them() {
        for raw in [r#"null"#, r#""NaN""#, r#""Infinity""#, r#""-inf""#] {
            let s: Sample = serde_json::from_str(&format!(r#"{{"n":"x","v":{raw}}}"#)).unwrap();
            assert!(!s.value.is_finite(), "{raw}");
        }
        assert!(serde_json::from_str::<Sample>(r#"{"n":"x","v":"12"}"#).is_err());
        assert!(serde_json::from_str::<Sample>(r#"{"n":"x","v":true}"#).is_err());
    }
}
