//! Storage for lxmon: the [`Store`] trait every backend implements, the
//! embedded SQLite backend ([`SqliteStore`]) and the time-series engine it
//! uses ([`tsdb`]: raw head rows, sealed pco-compressed chunks, rollups).
//!
//! Tenant isolation lives here: every read or write of tenant-owned data takes
//! the [`TenantId`] as an argument and filters by it, so no HTTP handler can
//! forget to. Nothing in this crate knows about HTTP.
//!
//! Time series layout (DESIGN §4): a report's samples share one timestamp, so
//! they are stored together — one head row per report while recent, then one
//! chunk per host and hour holding the timestamps once and a compressed
//! column per series. Sealing a chunk also writes its 5-minute and 1-hour
//! rollups; queries pick the coarsest tier that still fits the step.

mod sqlite;
pub mod tsdb;
mod types;

pub use sqlite::{Durability, SqliteStore, StoreOptions};
pub use types::*;

/// Resolves to the outcome of an ingest once it is durable.
pub type IngestReceipt = tokio::sync::oneshot::Receiver<Result<IngestOutcome>>;

/// Result of a store operation.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("database value error: {0}")]
    DbValue(#[from] rusqlite::types::FromSqlError),
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    /// The input is well-formed but the store refuses it (e.g. older than
    /// retention); nothing was written.
    #[error("{0}")]
    Rejected(String),
    #[error("invalid query: {0}")]
    InvalidQuery(String),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("store is shutting down")]
    Closed,
    /// A write failed as a whole (disk full, I/O error); nothing was stored.
    #[error("storage failed: {0}")]
    Failed(String),
}

/// Everything the server needs from storage. Implemented by [`SqliteStore`];
/// the PostgreSQL backend implements the same trait and passes the same tests.
///
/// Methods are blocking; async callers run them on a blocking thread.
pub trait Store: Send + Sync + 'static {
    /// The tenant created with the schema; single-tenant installs use only it.
    fn default_tenant(&self) -> TenantId;

    // --- tenants -----------------------------------------------------------
    fn create_tenant(&self, name: &str) -> Result<Tenant>;
    fn tenants(&self) -> Result<Vec<Tenant>>;
    fn tenant(&self, id: TenantId) -> Result<Option<Tenant>>;
    fn update_tenant(
        &self,
        id: TenantId,
        name: Option<&str>,
        suspended: Option<bool>,
    ) -> Result<Tenant>;
    /// Deletes the tenant and all it owns (hosts, series, users, keys,
    /// tokens, audit). The default tenant cannot be deleted.
    fn delete_tenant(&self, id: TenantId) -> Result<()>;

    // --- users -------------------------------------------------------------
    /// Creates a user; with `invite`, the password is set later through the
    /// invitation instead.
    fn create_user(
        &self,
        tenant: TenantId,
        username: &str,
        password_hash: &str,
        role: Role,
        invite: Option<&Invite>,
    ) -> Result<UserId>;
    /// Usernames are unique across tenants, so login needs no tenant.
    fn user_by_name(&self, username: &str) -> Result<Option<User>>;
    /// By id across tenants: a session token names its user, and the caller
    /// then checks the user's tenant.
    fn user_by_id(&self, id: UserId) -> Result<Option<User>>;
    /// The pending invitation of a user (by id across tenants, like the token).
    fn invite_of(&self, id: UserId) -> Result<Option<Invite>>;
    fn users(&self, tenant: TenantId) -> Result<Vec<User>>;
    fn user(&self, tenant: TenantId, id: UserId) -> Result<Option<User>>;
    fn update_user(&self, tenant: TenantId, id: UserId, patch: &UserPatch) -> Result<User>;
    fn delete_user(&self, tenant: TenantId, id: UserId) -> Result<()>;
    fn user_count(&self) -> Result<u64>;

    // --- agent keys --------------------------------------------------------
    fn create_agent_key(
        &self,
        tenant: TenantId,
        name: &str,
        key_id: &str,
        secret_sha256: &[u8; 32],
    ) -> Result<AgentKey>;
    /// Looks a key up by its public id. Global, because authentication
    /// happens before the tenant is known; the record names its tenant.
    fn agent_key(&self, key_id: &str) -> Result<Option<AgentKey>>;
    fn agent_keys(&self, tenant: TenantId) -> Result<Vec<AgentKey>>;
    fn revoke_agent_key(&self, tenant: TenantId, key_id: &str) -> Result<()>;
    /// Creates a successor key for the same host; the old key keeps working
    /// until `old_expires_at`.
    fn rotate_agent_key(
        &self,
        tenant: TenantId,
        key_id: &str,
        new_key_id: &str,
        new_sha256: &[u8; 32],
        old_expires_at: i64,
    ) -> Result<AgentKey>;
    /// Records use of a key (callers throttle this; it is a write).
    /// Records when agent keys were last used and when hosts last sent a
    /// heartbeat, all in one transaction (the server collects them in
    /// memory and writes them every few seconds).
    fn record_use(&self, keys: &[(String, i64)], hosts: &[(TenantId, HostId, i64)]) -> Result<()>;

    // --- enrollment tokens -------------------------------------------------
    fn create_enrollment_token(
        &self,
        tenant: TenantId,
        token: &NewEnrollmentToken,
    ) -> Result<EnrollmentToken>;
    fn enrollment_tokens(&self, tenant: TenantId) -> Result<Vec<EnrollmentToken>>;
    /// By public id across tenants: an install script presents only the token.
    fn enrollment_token(&self, token_id: &str) -> Result<Option<EnrollmentToken>>;
    fn revoke_enrollment_token(&self, tenant: TenantId, id: i64) -> Result<()>;
    /// Uses one enrollment and creates the new agent's key in the token's
    /// tenant, atomically. `Rejected` when expired, used up or revoked.
    fn redeem_enrollment_token(
        &self,
        token_id: &str,
        now_ms: i64,
        key_name: &str,
        new_key_id: &str,
        new_sha256: &[u8; 32],
    ) -> Result<AgentKey>;

    // --- commands ----------------------------------------------------------
    /// Queues a command for a host of the tenant (`NotFound` otherwise).
    #[allow(clippy::too_many_arguments)]
    fn create_command(
        &self,
        tenant: TenantId,
        host: HostId,
        action: &str,
        args: &std::collections::BTreeMap<String, String>,
        created_by: &str,
        now_ms: i64,
        ttl_ms: i64,
    ) -> Result<Command>;
    fn command(&self, tenant: TenantId, id: i64) -> Result<Option<Command>>;
    /// A host's commands, newest first, without their output.
    fn commands(
        &self,
        tenant: TenantId,
        host: HostId,
        before_id: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Command>>;
    /// `Conflict` when the command already finished.
    fn cancel_command(&self, tenant: TenantId, id: i64, now_ms: i64) -> Result<Command>;
    /// For the host's agent: expires stale commands, delivers pending ones,
    /// and lists cancellations it has not been told about.
    fn poll_commands(&self, host: HostId, now_ms: i64) -> Result<lxmon_proto::CommandPoll>;
    /// For the host's agent: applies an output chunk or status change to one
    /// of its own commands (`NotFound` for any other). Returns the command and
    /// whether the update was new.
    fn update_command(
        &self,
        host: HostId,
        update: &lxmon_proto::CommandUpdate,
        now_ms: i64,
    ) -> Result<(Command, bool)>;
    /// Expires pending commands past their time to live (maintenance).
    fn expire_commands(&self, now_ms: i64) -> Result<usize>;

    // --- health checks -----------------------------------------------------
    fn create_check(&self, tenant: TenantId, def: &CheckDefinition, now_ms: i64) -> Result<Check>;
    fn checks(&self, tenant: TenantId) -> Result<Vec<Check>>;
    fn check(&self, tenant: TenantId, id: i64) -> Result<Option<Check>>;
    fn update_check(&self, tenant: TenantId, id: i64, def: &CheckDefinition) -> Result<Check>;
    fn delete_check(&self, tenant: TenantId, id: i64) -> Result<()>;
    /// Enabled checks the server runs itself, of every tenant (scheduler).
    fn server_checks(&self) -> Result<Vec<Check>>;
    /// Enabled checks the host's agent runs.
    fn host_checks(&self, host: HostId) -> Result<Vec<Check>>;
    /// Stores a run; with `host`, only for a check that host's agent runs.
    fn record_check_run(
        &self,
        id: i64,
        host: Option<HostId>,
        run: &CheckRun,
    ) -> Result<(Check, Option<StatusChange>)>;
    fn check_runs(
        &self,
        tenant: TenantId,
        id: i64,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<CheckRun>>;
    /// (runs up, runs) since `since_ms`; the caller has checked the tenant.
    fn check_uptime(&self, id: i64, since_ms: i64) -> Result<(u64, u64)>;
    fn check_daily(&self, id: i64, since_day: i64) -> Result<Vec<DailyUptime>>;
    fn create_status_page(
        &self,
        tenant: TenantId,
        slug: &str,
        title: &str,
        checks: &[i64],
        hosts: &[HostId],
        now_ms: i64,
    ) -> Result<StatusPage>;
    fn status_pages(&self, tenant: TenantId) -> Result<Vec<StatusPage>>;
    /// By address across tenants: published pages are public.
    fn status_page_by_slug(&self, slug: &str) -> Result<Option<StatusPage>>;
    fn delete_status_page(&self, tenant: TenantId, id: i64) -> Result<()>;

    // --- alerting ----------------------------------------------------------
    fn create_alert_object(
        &self,
        tenant: TenantId,
        kind: AlertObjectKind,
        name: &str,
        body: &serde_json::Value,
        created_by: Option<&str>,
        now_ms: i64,
    ) -> Result<AlertObject>;
    fn alert_objects(&self, tenant: TenantId, kind: AlertObjectKind) -> Result<Vec<AlertObject>>;
    /// Of every tenant: the alert engine's view.
    fn alert_objects_all_tenants(&self, kind: AlertObjectKind) -> Result<Vec<AlertObject>>;
    fn alert_object(
        &self,
        tenant: TenantId,
        kind: AlertObjectKind,
        id: i64,
    ) -> Result<Option<AlertObject>>;
    /// An incoming webhook by its id alone: the caller proves ownership with
    /// the webhook's signature, not a session.
    fn incoming_webhook(&self, id: i64) -> Result<Option<AlertObject>>;
    fn update_alert_object(
        &self,
        tenant: TenantId,
        kind: AlertObjectKind,
        id: i64,
        name: &str,
        body: &serde_json::Value,
        now_ms: i64,
    ) -> Result<AlertObject>;
    fn delete_alert_object(&self, tenant: TenantId, kind: AlertObjectKind, id: i64) -> Result<()>;
    /// In one transaction: stores `save` (inserting those with id 0 and
    /// setting their ids) and deletes the pending alerts `discard`.
    fn save_alerts(&self, save: &mut [Alert], discard: &[i64]) -> Result<()>;
    /// Pending and firing alerts of every tenant (the engine's start).
    fn open_alerts(&self) -> Result<Vec<Alert>>;
    fn alerts(&self, filter: &AlertFilter) -> Result<Vec<Alert>>;
    fn alert(&self, tenant: TenantId, id: i64) -> Result<Option<Alert>>;
    /// Sets or (with `None`) clears the acknowledgement.
    fn ack_alert(&self, tenant: TenantId, id: i64, ack: Option<&AlertAck>) -> Result<Alert>;
    fn assign_alert(&self, tenant: TenantId, id: i64, assignee: Option<&str>) -> Result<Alert>;
    fn record_notification(&self, record: &NotificationRecord) -> Result<i64>;
    fn notifications(
        &self,
        tenant: TenantId,
        alert_id: Option<i64>,
        limit: u32,
    ) -> Result<Vec<NotificationRecord>>;
    /// Names of every metric the tenant's hosts have reported.
    fn metric_names(&self, tenant: TenantId) -> Result<Vec<String>>;
    /// Deletes resolved alerts and notifications older than `before_ms`.
    fn prune_alerts(&self, before_ms: i64) -> Result<usize>;

    // --- audit -------------------------------------------------------------
    fn record_audit(&self, entry: &AuditEntry) -> Result<()>;
    fn audit_log(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>>;

    // --- hosts -------------------------------------------------------------
    /// Creates or updates the host an agent key reports as, binding the key to
    /// it on first registration.
    fn register_host(&self, tenant: TenantId, key_id: &str, reg: &HostRegistration)
    -> Result<Host>;
    /// Finds or creates a host by hostname (seed-compatible pushes, which
    /// carry no key-bound identity).
    fn host_by_hostname(&self, tenant: TenantId, hostname: &str) -> Result<Host>;
    fn hosts(&self, tenant: TenantId) -> Result<Vec<Host>>;
    /// Every host of every tenant. Only for server-wide jobs (status
    /// tracking); request handlers use [`Store::hosts`].
    fn hosts_all_tenants(&self) -> Result<Vec<Host>>;
    /// Records that the host was heard from now (heartbeats).
    fn host(&self, tenant: TenantId, host: HostId) -> Result<Option<Host>>;
    /// Deletes the host, its series and its data; its agent keys stop working.
    fn delete_host(&self, tenant: TenantId, host: HostId) -> Result<()>;

    // --- time series -------------------------------------------------------
    /// Stores reports of one host, in order. Returns once they are durable;
    /// reports whose sequence number was already stored are counted as
    /// duplicates and not written again.
    fn ingest(
        &self,
        tenant: TenantId,
        host: HostId,
        reports: Vec<NewReport>,
    ) -> Result<IngestOutcome> {
        self.submit_ingest(tenant, host, reports)?
            .blocking_recv()
            .map_err(|_| StoreError::Closed)?
    }
    /// Queues reports for the ingest writer without blocking; the receipt
    /// resolves once they are durable (for async callers).
    fn submit_ingest(
        &self,
        tenant: TenantId,
        host: HostId,
        reports: Vec<NewReport>,
    ) -> Result<IngestReceipt>;
    fn query(&self, tenant: TenantId, host: HostId, query: &SeriesQuery) -> Result<QueryResult>;
    /// The most recent value of every series of the host.
    fn latest(&self, tenant: TenantId, host: HostId) -> Result<Option<LatestValues>>;
    /// Seals finished hours into chunks, writes rollups, enforces retention.
    fn maintain(&self, now_ms: i64) -> Result<MaintenanceReport>;

    // --- server housekeeping ----------------------------------------------
    /// A server secret (e.g. the JWT signing key), created by `init` on
    /// first use and the same on every later call and restart.
    fn secret(&self, name: &str, init: &dyn Fn() -> Vec<u8>) -> Result<Vec<u8>>;
    /// Bytes on disk used by the store.
    fn size_bytes(&self) -> Result<u64>;
    /// Storage statistics for benchmarks and `/metrics`.
    fn stats(&self) -> Result<StoreStats>;
    /// Cheap liveness check (`GET /api/health`).
    fn ping(&self) -> Result<()>;
}
