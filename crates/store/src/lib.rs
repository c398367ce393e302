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

    // --- users -------------------------------------------------------------
    fn create_user(
        &self,
        tenant: TenantId,
        username: &str,
        password_hash: &str,
        role: Role,
    ) -> Result<UserId>;
    /// Usernames are unique across tenants, so login needs no tenant.
    fn user_by_name(&self, username: &str) -> Result<Option<User>>;
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
    fn revoke_agent_key(&self, tenant: TenantId, key_id: &str) -> Result<()>;

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
    fn touch_host(&self, tenant: TenantId, host: HostId, now_ms: i64) -> Result<()>;
    fn host(&self, tenant: TenantId, host: HostId) -> Result<Option<Host>>;

    // --- time series -------------------------------------------------------
    /// Stores reports of one host, in order. Returns once they are durable;
    /// reports whose sequence number was already stored are counted as
    /// duplicates and not written again.
    fn ingest(
        &self,
        tenant: TenantId,
        host: HostId,
        reports: Vec<NewReport>,
    ) -> Result<IngestOutcome>;
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
