//! Records the store reads and writes.

use std::collections::BTreeMap;

use lxmon_proto::{ActionSpec, CommandStatus, HostInfo, Labels, Sample};
use serde::{Deserialize, Serialize};

pub type TenantId = i64;
pub type UserId = i64;
pub type HostId = i64;
pub type SeriesId = i64;

/// FlexMON's three roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    PlatformAdmin,
    TenantAdmin,
    TenantReporter,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::PlatformAdmin => "platform_admin",
            Role::TenantAdmin => "tenant_admin",
            Role::TenantReporter => "tenant_reporter",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "platform_admin" => Some(Role::PlatformAdmin),
            "tenant_admin" => Some(Role::TenantAdmin),
            "tenant_reporter" => Some(Role::TenantReporter),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Tenant {
    pub id: TenantId,
    pub name: String,
    pub suspended: bool,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: UserId,
    pub tenant_id: TenantId,
    pub username: String,
    /// Empty while an invitation is pending.
    pub password_hash: String,
    pub role: Role,
    pub disabled: bool,
    pub session_epoch: i64,
    pub totp_secret: Option<Vec<u8>>,
    /// SHA-256 hex digests of unused recovery codes.
    pub recovery_codes: Vec<String>,
    pub invite_pending: bool,
    pub created_at: i64,
}

/// A change to a user; `None` leaves a field as it is. Changing the password,
/// role or disabled flag ends the user's sessions.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub role: Option<Role>,
    pub disabled: Option<bool>,
    pub password_hash: Option<String>,
    /// `Some(None)` turns the second factor off.
    pub totp_secret: Option<Option<Vec<u8>>>,
    pub recovery_codes: Option<Vec<String>>,
    /// Ends existing sessions even when nothing else changes.
    pub end_sessions: bool,
}

/// A pending invitation: the user sets their password with the token.
#[derive(Debug, Clone)]
pub struct Invite {
    pub secret_sha256: [u8; 32],
    pub expires_at: i64,
}

#[derive(Debug, Clone)]
pub struct EnrollmentToken {
    pub id: i64,
    pub tenant_id: TenantId,
    pub token_id: String,
    pub name: String,
    pub secret_sha256: [u8; 32],
    pub labels: Labels,
    pub max_uses: u32,
    pub uses: u32,
    pub expires_at: i64,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct NewEnrollmentToken {
    pub token_id: String,
    pub name: String,
    pub secret_sha256: [u8; 32],
    pub labels: Labels,
    pub max_uses: u32,
    pub expires_at: i64,
}

/// One line of the audit log.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub id: i64,
    pub tenant_id: Option<TenantId>,
    /// Unix ms.
    pub ts: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub client_ip: String,
    /// "ok", "denied" or "failed".
    pub outcome: String,
    pub detail: String,
}

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// `None`: every tenant (platform admins only).
    pub tenant: Option<TenantId>,
    pub actor: Option<String>,
    /// Prefix of the action, e.g. "user." for every user change.
    pub action: Option<String>,
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
    /// Paging: entries with a smaller id than this.
    pub before_id: Option<i64>,
    pub limit: u32,
}

/// An agent key as stored: its public id and the SHA-256 of its secret part,
/// never the secret itself.
#[derive(Debug, Clone)]
pub struct AgentKey {
    pub id: i64,
    pub tenant_id: TenantId,
    pub key_id: String,
    pub name: String,
    pub secret_sha256: [u8; 32],
    pub host_id: Option<HostId>,
    pub labels: Labels,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    /// The key's tenant is suspended: it authenticates nothing.
    pub tenant_suspended: bool,
}

impl AgentKey {
    /// Usable now: not revoked and, if rotated, still within its grace period.
    pub fn is_active(&self, now_ms: i64) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| now_ms < e)
    }
}

/// What an agent tells the server about its host when it registers.
#[derive(Debug, Clone, Default)]
pub struct HostRegistration {
    pub hostname: String,
    pub os: String,
    pub arch: String,
    pub kernel: String,
    pub agent_version: String,
    pub machine_id: Option<String>,
    pub labels: Labels,
    pub actions: Vec<ActionSpec>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Host {
    pub id: HostId,
    pub tenant_id: TenantId,
    pub hostname: String,
    pub os: String,
    pub arch: String,
    pub kernel: String,
    pub agent_version: String,
    pub machine_id: Option<String>,
    pub labels: Labels,
    pub created_at: i64,
    /// Unix ms of the last report or heartbeat.
    pub last_seen: Option<i64>,
    /// Highest report sequence number stored.
    pub last_seq: Option<u64>,
    /// Reporting interval of the last report, seconds.
    pub interval_s: Option<u32>,
    pub boot_time: Option<i64>,
    /// Actions the host's agent allows (from its last registration).
    pub actions: Vec<ActionSpec>,
}

/// One report, validated, ready to store.
#[derive(Debug, Clone)]
pub struct NewReport {
    /// `None` for sources without sequence numbers (seed-compatible pushes);
    /// such reports are never deduplicated.
    pub seq: Option<u64>,
    pub ts: i64,
    pub interval_s: u32,
    pub samples: Vec<Sample>,
    pub info: Option<HostInfo>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IngestOutcome {
    pub stored: usize,
    pub duplicates: usize,
}

/// Storage resolution a query was answered from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Tier {
    #[serde(rename = "raw")]
    Raw,
    #[serde(rename = "5m")]
    FiveMin,
    #[serde(rename = "1h")]
    OneHour,
}

impl Tier {
    pub const ALL: [Tier; 3] = [Tier::Raw, Tier::FiveMin, Tier::OneHour];

    /// Bucket width in ms; 0 for raw.
    pub fn resolution_ms(self) -> i64 {
        match self {
            Tier::Raw => 0,
            Tier::FiveMin => 300_000,
            Tier::OneHour => 3_600_000,
        }
    }

    /// Width of one stored chunk of this tier, in ms.
    pub fn chunk_span_ms(self) -> i64 {
        match self {
            Tier::Raw => 3_600_000,
            Tier::FiveMin => 86_400_000,
            Tier::OneHour => 30 * 86_400_000,
        }
    }

    pub(crate) fn code(self) -> i64 {
        match self {
            Tier::Raw => 0,
            Tier::FiveMin => 1,
            Tier::OneHour => 2,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Raw => "raw",
            Tier::FiveMin => "5m",
            Tier::OneHour => "1h",
        }
    }
}

/// How values inside one step are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Aggregation {
    #[default]
    Avg,
    Min,
    Max,
    Last,
}

impl Aggregation {
    pub fn parse(s: &str) -> Option<Aggregation> {
        match s {
            "avg" => Some(Aggregation::Avg),
            "min" => Some(Aggregation::Min),
            "max" => Some(Aggregation::Max),
            "last" => Some(Aggregation::Last),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct SeriesQuery {
    /// Metric names to return (every label set of each); empty means all.
    pub names: Vec<String>,
    pub from_ms: i64,
    pub to_ms: i64,
    /// Seconds per point; `None` picks one giving about
    /// [`crate::tsdb::DEFAULT_POINTS`] points.
    pub step_s: Option<u32>,
    pub aggregation: Aggregation,
    /// Query time, for choosing a tier by retention.
    pub now_ms: i64,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SeriesValues {
    pub name: String,
    pub labels: Labels,
    pub values: Vec<Option<f64>>,
}

/// Column-oriented answer, the shape uPlot draws directly.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct QueryResult {
    pub tier: Tier,
    /// Seconds per point; 0 when raw points are returned as stored.
    pub step_s: u32,
    pub timestamps: Vec<i64>,
    pub series: Vec<SeriesValues>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LatestValue {
    pub name: String,
    pub labels: Labels,
    pub value: f64,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LatestValues {
    pub ts: i64,
    pub values: Vec<LatestValue>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MaintenanceReport {
    pub chunks_sealed: usize,
    pub reports_sealed: usize,
    pub chunks_dropped: usize,
}

/// Storage figures: what is held and how compactly.
#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StoreStats {
    pub head_reports: u64,
    pub head_bytes: u64,
    pub raw_chunks: u64,
    pub raw_chunk_bytes: u64,
    pub raw_chunk_samples: u64,
    pub rollup_chunks: u64,
    pub rollup_chunk_bytes: u64,
    pub series: u64,
    pub hosts: u64,
}

/// A remote command and everything known about its run.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Command {
    pub id: i64,
    pub tenant_id: TenantId,
    pub host_id: HostId,
    pub action: String,
    pub args: BTreeMap<String, String>,
    pub status: CommandStatus,
    pub created_by: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub delivered_at: Option<i64>,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub exit_code: Option<i32>,
    pub duration_ms: Option<u64>,
    pub truncated: bool,
    pub error: Option<String>,
    /// Output so far (omitted in listings).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
}

/// A health check as defined by a user, with its latest state.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Check {
    pub id: i64,
    pub tenant_id: TenantId,
    pub name: String,
    /// The probe definition (see the check types in the API).
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub spec: serde_json::Value,
    pub interval_s: u32,
    pub timeout_s: u32,
    /// Failed runs in a row before the check is `down`.
    pub retries: u32,
    /// The host whose agent runs it; `None`: the server runs it.
    pub run_on_host: Option<HostId>,
    pub enabled: bool,
    /// "unknown", "up" or "down".
    pub status: String,
    pub failures: u32,
    pub last_checked: Option<i64>,
    pub last_change: Option<i64>,
    pub last_error: Option<String>,
    pub last_latency_ms: Option<f64>,
    pub cert_days_left: Option<f64>,
    pub created_at: i64,
}

/// What a user sets on a check.
#[derive(Debug, Clone)]
pub struct CheckDefinition {
    pub name: String,
    pub spec: serde_json::Value,
    pub interval_s: u32,
    pub timeout_s: u32,
    pub retries: u32,
    pub run_on_host: Option<HostId>,
    pub enabled: bool,
}

/// One run of a check.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckRun {
    pub ts: i64,
    pub up: bool,
    pub latency_ms: Option<f64>,
    pub cert_days_left: Option<f64>,
    pub error: Option<String>,
}

/// A check's state change caused by a run.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusChange {
    pub from: String,
    pub to: String,
}

/// Uptime of one check per day (status page bars).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DailyUptime {
    /// Unix day number (ms / 86400000).
    pub day: i64,
    pub up: u32,
    pub total: u32,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatusPage {
    pub id: i64,
    pub tenant_id: TenantId,
    pub slug: String,
    pub title: String,
    pub check_ids: Vec<i64>,
    pub host_ids: Vec<HostId>,
    pub created_at: i64,
}

// --- alerting ----------------------------------------------------------------

/// What an [`AlertObject`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AlertObjectKind {
    Rule,
    Channel,
    /// The tenant's routing tree (one per tenant).
    Routing,
    Silence,
    Maintenance,
    /// An incoming webhook other systems post alerts to.
    Webhook,
}

impl AlertObjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertObjectKind::Rule => "rule",
            AlertObjectKind::Channel => "channel",
            AlertObjectKind::Routing => "routing",
            AlertObjectKind::Silence => "silence",
            AlertObjectKind::Maintenance => "maintenance",
            AlertObjectKind::Webhook => "webhook",
        }
    }
}

/// One piece of a tenant's alerting configuration, kept as its JSON
/// definition: the server parses it into lxmon-alert / lxmon-notify types, so
/// the store does not change when a rule type gains a field.
#[derive(Debug, Clone)]
pub struct AlertObject {
    pub id: i64,
    pub tenant_id: TenantId,
    pub kind: AlertObjectKind,
    pub name: String,
    /// May hold secrets (channels, webhooks): never returned as is.
    pub body: serde_json::Value,
    pub created_by: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// Who acknowledged an alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AlertAck {
    pub by: String,
    pub at: i64,
    pub comment: Option<String>,
}

/// One episode of an alert condition: pending → firing → resolved.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Alert {
    /// 0 until stored.
    pub id: i64,
    pub tenant_id: TenantId,
    /// Identifies the condition across episodes: rule (or webhook) + labels.
    pub fingerprint: String,
    /// "rule" or "webhook".
    pub source: String,
    /// The rule's or the incoming webhook's id.
    pub source_id: i64,
    pub name: String,
    /// "critical", "warning" or "info".
    pub severity: String,
    /// "pending", "firing" or "resolved".
    pub state: String,
    pub host_id: Option<HostId>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub summary: String,
    pub value: Option<f64>,
    /// When the condition was first seen (pending since).
    pub started_at: i64,
    pub fired_at: Option<i64>,
    pub resolved_at: Option<i64>,
    pub updated_at: i64,
    pub last_notified_at: Option<i64>,
    pub notify_count: u32,
    /// Why it is not being notified: "silence 12", "maintenance 3",
    /// "inhibited by host offline"; `None` when it is.
    pub suppressed: Option<String>,
    pub ack: Option<AlertAck>,
    pub assignee: Option<String>,
}

/// Which alerts to list, newest first.
#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    pub tenant: TenantId,
    /// Only these states (all when empty).
    pub states: Vec<String>,
    pub severity: Option<String>,
    pub source: Option<String>,
    pub host_id: Option<HostId>,
    /// Paging: alerts with a smaller id.
    pub before_id: Option<i64>,
    pub limit: u32,
}

/// One notification sent (or attempted) to a channel.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NotificationRecord {
    pub id: i64,
    pub tenant_id: TenantId,
    pub channel_id: Option<i64>,
    pub channel_name: String,
    pub alert_ids: Vec<i64>,
    /// "firing", "repeat", "resolved" or "test".
    pub kind: String,
    /// "sent" or "failed".
    pub outcome: String,
    pub error: Option<String>,
    pub attempts: u32,
    pub created_at: i64,
}
