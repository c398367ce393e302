//! The embedded backend: one SQLite file in WAL mode.
//!
//! Connections: one ingest writer thread ([`writer`]) doing group commits, one
//! mutex-guarded connection for metadata writes and maintenance, and a small
//! pool of readers (WAL lets them read while the writers write).
//! Several processes may open the same file (the server and its CLI).

mod accounts;
mod alerts;
mod checks;
mod commands;
mod series;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::mpsc::{SyncSender, sync_channel};
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use lxmon_proto::Labels;
use rusqlite::{Connection, OptionalExtension, params};

use crate::tsdb::plan::Retention;
use crate::*;

/// What a 2xx promises about a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// Committed to the WAL without fsync (`synchronous=NORMAL`): survives the
    /// server being killed, not the machine losing power.
    Process,
    /// fsync on every group commit (`synchronous=FULL`): survives power loss.
    #[default]
    Power,
}

#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub path: PathBuf,
    pub durability: Durability,
    pub retention: Retention,
    /// How long after an hour ends its head rows wait for stragglers before
    /// being sealed.
    pub seal_grace_ms: i64,
}

impl StoreOptions {
    pub fn new(path: impl Into<PathBuf>) -> StoreOptions {
        StoreOptions {
            path: path.into(),
            durability: Durability::default(),
            retention: Retention::default(),
            seal_grace_ms: 120_000,
        }
    }
}

pub struct SqliteStore {
    options: StoreOptions,
    default_tenant: TenantId,
    readers: Mutex<Vec<Connection>>,
    /// Metadata writes. SQLite has one writer at a time; this connection,
    /// the maintenance one and the ingest writer take turns through
    /// `busy_timeout`.
    meta: Mutex<Connection>,
    /// Sealing and retention, so a long maintenance pass (after a backfill)
    /// never holds the connection logins and registrations use; it writes
    /// in short transactions between which the others get their turn.
    maintenance: Mutex<Connection>,
    ingest_tx: Mutex<Option<SyncSender<writer::Job>>>,
    ingest_thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn open_connection(path: &Path, durability: Durability) -> Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    let sync = match durability {
        Durability::Process => "NORMAL",
        Durability::Power => "FULL",
    };
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = {sync};
         PRAGMA foreign_keys = ON;
         PRAGMA temp_store = MEMORY;
         PRAGMA cache_size = -16000;"
    ))?;
    Ok(conn)
}

struct Reader<'a> {
    pool: &'a Mutex<Vec<Connection>>,
    conn: Option<Connection>,
}

impl std::ops::Deref for Reader<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn.as_ref().expect("present until drop")
    }
}

impl Drop for Reader<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            let mut pool = self.pool.lock().unwrap_or_else(|p| p.into_inner());
            if pool.len() < 8 {
                pool.push(conn);
            }
        }
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the store at `options.path`.
    pub fn open(options: StoreOptions) -> Result<SqliteStore> {
        if let Some(dir) = options.path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir)?;
        }
        let mut meta = open_connection(&options.path, options.durability)?;
        // Transactions on this connection read, then write. A deferred one
        // that read before the ingest writer committed cannot upgrade to a
        // write (SQLITE_BUSY at once, the busy timeout does not apply);
        // taking the write lock at BEGIN makes them wait their turn instead.
        meta.set_transaction_behavior(rusqlite::TransactionBehavior::Immediate);
        meta.execute_batch(include_str!("schema.sql"))?;
        meta.execute(
            "INSERT OR IGNORE INTO tenants (id, name, created_at) VALUES (1, 'default', ?1)",
            [now_ms()],
        )?;
        let mut maintenance = open_connection(&options.path, options.durability)?;
        // Its seals read the chunks they rewrite: the same reason as above.
        maintenance.set_transaction_behavior(rusqlite::TransactionBehavior::Immediate);
        let writer_conn = open_connection(&options.path, options.durability)?;
        let (tx, rx) = sync_channel::<writer::Job>(4096);
        let handle = std::thread::Builder::new()
            .name("lxmon-ingest".into())
            .spawn(move || writer::Writer::new(writer_conn).run(rx))?;
        Ok(SqliteStore {
            options,
            default_tenant: 1,
            readers: Mutex::new(Vec::new()),
            meta: Mutex::new(meta),
            maintenance: Mutex::new(maintenance),
            ingest_tx: Mutex::new(Some(tx)),
            ingest_thread: Mutex::new(Some(handle)),
        })
    }

    pub fn options(&self) -> &StoreOptions {
        &self.options
    }

    fn reader(&self) -> Result<Reader<'_>> {
        let pooled = self.readers.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let conn = match pooled {
            Some(c) => c,
            None => open_connection(&self.options.path, self.options.durability)?,
        };
        Ok(Reader {
            pool: &self.readers,
            conn: Some(conn),
        })
    }

    fn meta(&self) -> MutexGuard<'_, Connection> {
        self.meta.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stops the ingest writer after it has committed everything queued.
    pub fn close(&self) {
        self.ingest_tx
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(handle) = self
            .ingest_thread
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            let _ = handle.join();
        }
    }
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        self.close();
    }
}

const HOST_COLUMNS: &str = "id, tenant_id, hostname, os, arch, kernel, agent_version, machine_id, labels, created_at, last_seen, last_seq, interval_s, boot_time, actions";

fn host_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Host> {
    let labels: String = r.get(8)?;
    Ok(Host {
        id: r.get(0)?,
        tenant_id: r.get(1)?,
        hostname: r.get(2)?,
        os: r.get(3)?,
        arch: r.get(4)?,
        kernel: r.get(5)?,
        agent_version: r.get(6)?,
        machine_id: r.get(7)?,
        labels: serde_json::from_str(&labels).unwrap_or_default(),
        created_at: r.get(9)?,
        last_seen: r.get(10)?,
        last_seq: r.get::<_, Option<i64>>(11)?.map(|s| s as u64),
        interval_s: r.get::<_, Option<i64>>(12)?.map(|s| s as u32),
        boot_time: r.get(13)?,
        actions: serde_json::from_str(&r.get::<_, String>(14)?).unwrap_or_default(),
    })
}

fn labels_json(labels: &Labels) -> String {
    serde_json::to_string(labels).expect("labels serialize")
}

impl Store for SqliteStore {
    fn default_tenant(&self) -> TenantId {
        self.default_tenant
    }

    fn create_tenant(&self, name: &str) -> Result<Tenant> {
        accounts::create_tenant(&self.meta(), name)
    }

    fn tenants(&self) -> Result<Vec<Tenant>> {
        accounts::tenants(&*self.reader()?)
    }

    fn tenant(&self, id: TenantId) -> Result<Option<Tenant>> {
        accounts::tenant(&*self.reader()?, id)
    }

    fn update_tenant(
        &self,
        id: TenantId,
        name: Option<&str>,
        suspended: Option<bool>,
    ) -> Result<Tenant> {
        accounts::update_tenant(&self.meta(), id, name, suspended)
    }

    fn delete_tenant(&self, id: TenantId) -> Result<()> {
        let mut conn = self.meta();
        let tx = conn.transaction()?;
        accounts::delete_tenant(&tx, id)?;
        tx.commit()?;
        Ok(())
    }

    fn create_user(
        &self,
        tenant: TenantId,
        username: &str,
        password_hash: &str,
        role: Role,
        invite: Option<&Invite>,
    ) -> Result<UserId> {
        accounts::create_user(&self.meta(), tenant, username, password_hash, role, invite)
    }

    fn user_by_name(&self, username: &str) -> Result<Option<User>> {
        accounts::user_by_name(&*self.reader()?, username)
    }

    fn user_by_id(&self, id: UserId) -> Result<Option<User>> {
        accounts::user_by_id(&*self.reader()?, id)
    }

    fn invite_of(&self, id: UserId) -> Result<Option<Invite>> {
        accounts::invite_of(&*self.reader()?, id)
    }

    fn users(&self, tenant: TenantId) -> Result<Vec<User>> {
        accounts::users(&*self.reader()?, tenant)
    }

    fn user(&self, tenant: TenantId, id: UserId) -> Result<Option<User>> {
        accounts::user(&*self.reader()?, tenant, id)
    }

    fn update_user(&self, tenant: TenantId, id: UserId, patch: &UserPatch) -> Result<User> {
        accounts::update_user(&self.meta(), tenant, id, patch)
    }

    fn delete_user(&self, tenant: TenantId, id: UserId) -> Result<()> {
        accounts::delete_user(&self.meta(), tenant, id)
    }

    fn user_count(&self) -> Result<u64> {
        let conn = self.reader()?;
        Ok(conn.query_row("SELECT count(*) FROM users", [], |r| r.get::<_, i64>(0))? as u64)
    }

    fn create_agent_key(
        &self,
        tenant: TenantId,
        name: &str,
        key_id: &str,
        secret_sha256: &[u8; 32],
    ) -> Result<AgentKey> {
        accounts::insert_agent_key(
            &self.meta(),
            tenant,
            name,
            key_id,
            secret_sha256,
            None,
            &Labels::new(),
        )
    }

    fn agent_key(&self, key_id: &str) -> Result<Option<AgentKey>> {
        // Read on every agent request, deliberately uncached: a revocation by
        // any process (CLI, another server instance) takes effect at once.
        accounts::agent_key(&*self.reader()?, key_id)
    }

    fn agent_keys(&self, tenant: TenantId) -> Result<Vec<AgentKey>> {
        accounts::agent_keys(&*self.reader()?, tenant)
    }

    fn revoke_agent_key(&self, tenant: TenantId, key_id: &str) -> Result<()> {
        let n = self.meta().execute(
            "UPDATE agent_keys SET revoked_at = coalesce(revoked_at, ?3) WHERE tenant_id = ?1 AND key_id = ?2",
            params![tenant, key_id, now_ms()],
        )?;
        if n == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    fn rotate_agent_key(
        &self,
        tenant: TenantId,
        key_id: &str,
        new_key_id: &str,
        new_sha256: &[u8; 32],
        old_expires_at: i64,
    ) -> Result<AgentKey> {
        let mut conn = self.meta();
        let tx = conn.transaction()?;
        let key = accounts::rotate_agent_key(
            &tx,
            tenant,
            key_id,
            new_key_id,
            new_sha256,
            old_expires_at,
        )?;
        tx.commit()?;
        Ok(key)
    }

    fn record_use(&self, keys: &[(String, i64)], hosts: &[(TenantId, HostId, i64)]) -> Result<()> {
        let mut conn = self.meta();
        let tx = conn.transaction()?;
        for (key_id, at) in keys {
            tx.prepare_cached(
                "UPDATE agent_keys SET last_used_at = max(coalesce(last_used_at, 0), ?2) WHERE key_id = ?1",
            )?
            .execute(params![key_id, at])?;
        }
        for (tenant, host, at) in hosts {
            tx.prepare_cached(
                "UPDATE hosts SET last_seen = max(coalesce(last_seen, 0), ?3) WHERE id = ?1 AND tenant_id = ?2",
            )?
            .execute(params![host, tenant, at])?;
        }
        tx.commit()?;
        Ok(())
    }

    fn create_enrollment_token(
        &self,
        tenant: TenantId,
        token: &NewEnrollmentToken,
    ) -> Result<EnrollmentToken> {
        accounts::create_enrollment_token(&self.meta(), tenant, token)
    }

    fn enrollment_tokens(&self, tenant: TenantId) -> Result<Vec<EnrollmentToken>> {
        accounts::enrollment_tokens(&*self.reader()?, tenant)
    }

    fn enrollment_token(&self, token_id: &str) -> Result<Option<EnrollmentToken>> {
        accounts::enrollment_token(&*self.reader()?, token_id)
    }

    fn revoke_enrollment_token(&self, tenant: TenantId, id: i64) -> Result<()> {
        accounts::revoke_enrollment_token(&self.meta(), tenant, id)
    }

    fn redeem_enrollment_token(
        &self,
        token_id: &str,
        now_ms: i64,
        key_name: &str,
        new_key_id: &str,
        new_sha256: &[u8; 32],
    ) -> Result<AgentKey> {
        let mut conn = self.meta();
        let tx = conn.transaction()?;
        let key = accounts::redeem_enrollment_token(
            &tx, token_id, now_ms, key_name, new_key_id, new_sha256,
        )?;
        tx.commit()?;
        Ok(key)
    }

    fn create_command(
        &self,
        tenant: TenantId,
        host: HostId,
        action: &str,
        args: &std::collections::BTreeMap<String, String>,
        created_by: &str,
        now_ms: i64,
        ttl_ms: i64,
    ) -> Result<Command> {
        commands::create(
            &self.meta(),
            tenant,
            host,
            action,
            args,
            created_by,
            now_ms,
            ttl_ms,
        )
    }

    fn command(&self, tenant: TenantId, id: i64) -> Result<Option<Command>> {
        commands::get(&*self.reader()?, tenant, id)
    }

    fn commands(
        &self,
        tenant: TenantId,
        host: HostId,
        before_id: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Command>> {
        commands::list(&*self.reader()?, tenant, host, before_id, limit)
    }

    fn cancel_command(&self, tenant: TenantId, id: i64, now_ms: i64) -> Result<Command> {
        commands::cancel(&self.meta(), tenant, id, now_ms)
    }

    fn poll_commands(&self, host: HostId, now_ms: i64) -> Result<lxmon_proto::CommandPoll> {
        // Thousands of agents poll: answer "nothing" from a reader, and take
        // the write lock only when there is something to hand over.
        if !commands::has_work(&*self.reader()?, host, now_ms)? {
            return Ok(lxmon_proto::CommandPoll::default());
        }
        let mut conn = self.meta();
        let tx = conn.transaction()?;
        let poll = commands::poll(&tx, host, now_ms)?;
        tx.commit()?;
        Ok(poll)
    }

    fn update_command(
        &self,
        host: HostId,
        update: &lxmon_proto::CommandUpdate,
        now_ms: i64,
    ) -> Result<(Command, bool)> {
        let mut conn = self.meta();
        let tx = conn.transaction()?;
        let result = commands::update(&tx, host, update, now_ms)?;
        tx.commit()?;
        Ok(result)
    }

    fn expire_commands(&self, now_ms: i64) -> Result<usize> {
        commands::expire(&self.meta(), now_ms)
    }

    fn create_check(&self, tenant: TenantId, def: &CheckDefinition, now_ms: i64) -> Result<Check> {
        checks::create(&self.meta(), tenant, def, now_ms)
    }

    fn checks(&self, tenant: TenantId) -> Result<Vec<Check>> {
        checks::list(&*self.reader()?, tenant)
    }

    fn check(&self, tenant: TenantId, id: i64) -> Result<Option<Check>> {
        checks::get(&*self.reader()?, tenant, id)
    }

    fn update_check(&self, tenant: TenantId, id: i64, def: &CheckDefinition) -> Result<Check> {
        checks::update(&self.meta(), tenant, id, def)
    }

    fn delete_check(&self, tenant: TenantId, id: i64) -> Result<()> {
        let mut conn = self.meta();
        let tx = conn.transaction()?;
        checks::delete(&tx, tenant, id)?;
        tx.commit()?;
        Ok(())
    }

    fn server_checks(&self) -> Result<Vec<Check>> {
        checks::server_side(&*self.reader()?)
    }

    fn host_checks(&self, host: HostId) -> Result<Vec<Check>> {
        checks::for_host(&*self.reader()?, host)
    }

    fn record_check_run(
        &self,
        id: i64,
        host: Option<HostId>,
        run: &CheckRun,
    ) -> Result<(Check, Option<StatusChange>)> {
        let mut conn = self.meta();
        let tx = conn.transaction()?;
        let out = checks::record(&tx, id, host, run)?;
        tx.commit()?;
        Ok(out)
    }

    fn check_runs(
        &self,
        tenant: TenantId,
        id: i64,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<CheckRun>> {
        checks::runs(&*self.reader()?, tenant, id, from_ms, to_ms)
    }

    fn check_uptime(&self, id: i64, since_ms: i64) -> Result<(u64, u64)> {
        checks::uptime(&*self.reader()?, id, since_ms)
    }

    fn check_daily(&self, id: i64, since_day: i64) -> Result<Vec<DailyUptime>> {
        checks::daily(&*self.reader()?, id, since_day)
    }

    fn create_status_page(
        &self,
        tenant: TenantId,
        slug: &str,
        title: &str,
        checks: &[i64],
        hosts: &[HostId],
        now_ms: i64,
    ) -> Result<StatusPage> {
        checks::create_page(&self.meta(), tenant, slug, title, checks, hosts, now_ms)
    }

    fn status_pages(&self, tenant: TenantId) -> Result<Vec<StatusPage>> {
        checks::pages(&*self.reader()?, tenant)
    }

    fn status_page_by_slug(&self, slug: &str) -> Result<Option<StatusPage>> {
        checks::page_by_slug(&*self.reader()?, slug)
    }

    fn delete_status_page(&self, tenant: TenantId, id: i64) -> Result<()> {
        checks::delete_page(&self.meta(), tenant, id)
    }

    fn create_alert_object(
        &self,
        tenant: TenantId,
        kind: AlertObjectKind,
        name: &str,
        body: &serde_json::Value,
        created_by: Option<&str>,
        now_ms: i64,
    ) -> Result<AlertObject> {
        alerts::create_object(&self.meta(), tenant, kind, name, body, created_by, now_ms)
    }

    fn alert_objects(&self, tenant: TenantId, kind: AlertObjectKind) -> Result<Vec<AlertObject>> {
        alerts::objects(&*self.reader()?, Some(tenant), kind)
    }

    fn alert_objects_all_tenants(&self, kind: AlertObjectKind) -> Result<Vec<AlertObject>> {
        alerts::objects(&*self.reader()?, None, kind)
    }

    fn alert_object(
        &self,
        tenant: TenantId,
        kind: AlertObjectKind,
        id: i64,
    ) -> Result<Option<AlertObject>> {
        alerts::object(&*self.reader()?, Some(tenant), kind, id)
    }

    fn incoming_webhook(&self, id: i64) -> Result<Option<AlertObject>> {
        alerts::object(&*self.reader()?, None, AlertObjectKind::Webhook, id)
    }

    fn update_alert_object(
        &self,
        tenant: TenantId,
        kind: AlertObjectKind,
        id: i64,
        name: &str,
        body: &serde_json::Value,
        now_ms: i64,
    ) -> Result<AlertObject> {
        alerts::update_object(&self.meta(), tenant, kind, id, name, body, now_ms)
    }

    fn delete_alert_object(&self, tenant: TenantId, kind: AlertObjectKind, id: i64) -> Result<()> {
        alerts::delete_object(&self.meta(), tenant, kind, id)
    }

    fn save_alerts(&self, save: &mut [Alert], discard: &[i64]) -> Result<()> {
        let mut conn = self.meta();
        let tx = conn.transaction()?;
        alerts::save_alerts(&tx, save)?;
        alerts::delete_alerts(&tx, discard)?;
        tx.commit()?;
        Ok(())
    }

    fn open_alerts(&self) -> Result<Vec<Alert>> {
        alerts::open_alerts(&*self.reader()?)
    }

    fn alerts(&self, filter: &AlertFilter) -> Result<Vec<Alert>> {
        alerts::alerts(&*self.reader()?, filter)
    }

    fn alert(&self, tenant: TenantId, id: i64) -> Result<Option<Alert>> {
        alerts::alert(&*self.reader()?, tenant, id)
    }

    fn ack_alert(&self, tenant: TenantId, id: i64, ack: Option<&AlertAck>) -> Result<Alert> {
        alerts::ack(&self.meta(), tenant, id, ack)
    }

    fn assign_alert(&self, tenant: TenantId, id: i64, assignee: Option<&str>) -> Result<Alert> {
        alerts::assign(&self.meta(), tenant, id, assignee)
    }

    fn record_notification(&self, record: &NotificationRecord) -> Result<i64> {
        alerts::record_notification(&self.meta(), record)
    }

    fn notifications(
        &self,
        tenant: TenantId,
        alert_id: Option<i64>,
        limit: u32,
    ) -> Result<Vec<NotificationRecord>> {
        alerts::notifications(&*self.reader()?, tenant, alert_id, limit)
    }

    fn metric_names(&self, tenant: TenantId) -> Result<Vec<String>> {
        alerts::metric_names(&*self.reader()?, tenant)
    }

    fn prune_alerts(&self, before_ms: i64) -> Result<usize> {
        alerts::prune(&self.meta(), before_ms)
    }

    fn record_audit(&self, entry: &AuditEntry) -> Result<()> {
        accounts::record_audit(&self.meta(), entry)
    }

    fn audit_log(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
        accounts::audit_log(&*self.reader()?, filter)
    }

    fn register_host(
        &self,
        tenant: TenantId,
        key_id: &str,
        reg: &HostRegistration,
    ) -> Result<Host> {
        let mut conn = self.meta();
        let tx = conn.transaction()?;
        let key: AgentKey = accounts::agent_key(&tx, key_id)?
            .filter(|k| k.tenant_id == tenant)
            .ok_or(StoreError::NotFound)?;
        // Labels the enrollment token asked for, then the agent's own.
        let mut labels = key.labels.clone();
        labels.extend(reg.labels.clone());
        let actions_json = serde_json::to_string(&reg.actions).expect("actions serialize");
        let host_id = match key.host_id {
            Some(id) => {
                tx.execute(
                    "UPDATE hosts SET hostname = ?2, os = ?3, arch = ?4, kernel = ?5, agent_version = ?6,
                     machine_id = ?7, labels = ?8, last_seen = ?9, actions = ?11 WHERE id = ?1 AND tenant_id = ?10",
                    params![
                        id,
                        reg.hostname,
                        reg.os,
                        reg.arch,
                        reg.kernel,
                        reg.agent_version,
                        reg.machine_id,
                        labels_json(&labels),
                        now_ms(),
                        tenant,
                        actions_json
                    ],
                )?;
                id
            }
            None => {
                tx.execute(
                    "INSERT INTO hosts (tenant_id, hostname, os, arch, kernel, agent_version, machine_id, labels, created_at, last_seen, actions)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?10)",
                    params![
                        tenant,
                        reg.hostname,
                        reg.os,
                        reg.arch,
                        reg.kernel,
                        reg.agent_version,
                        reg.machine_id,
                        labels_json(&labels),
                        now_ms(),
                        actions_json
                    ],
                )?;
                let id = tx.last_insert_rowid();
                tx.execute(
                    "UPDATE agent_keys SET host_id = ?1 WHERE id = ?2",
                    params![id, key.id],
                )?;
                id
            }
        };
        let host = tx.query_row(
            &format!("SELECT {HOST_COLUMNS} FROM hosts WHERE id = ?1"),
            [host_id],
            host_from_row,
        )?;
        tx.commit()?;
        Ok(host)
    }

    fn host_by_hostname(&self, tenant: TenantId, hostname: &str) -> Result<Host> {
        let conn = self.meta();
        let sql = format!(
            "SELECT {HOST_COLUMNS} FROM hosts WHERE tenant_id = ?1 AND hostname = ?2 ORDER BY id LIMIT 1"
        );
        if let Some(host) = conn
            .query_row(&sql, params![tenant, hostname], host_from_row)
            .optional()?
        {
            return Ok(host);
        }
        conn.execute(
            "INSERT INTO hosts (tenant_id, hostname, created_at) VALUES (?1, ?2, ?3)",
            params![tenant, hostname, now_ms()],
        )?;
        Ok(conn.query_row(&sql, params![tenant, hostname], host_from_row)?)
    }

    fn hosts(&self, tenant: TenantId) -> Result<Vec<Host>> {
        let conn = self.reader()?;
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {HOST_COLUMNS} FROM hosts WHERE tenant_id = ?1 ORDER BY hostname, id"
        ))?;
        let hosts = stmt
            .query_map([tenant], host_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(hosts)
    }

    fn hosts_all_tenants(&self) -> Result<Vec<Host>> {
        let conn = self.reader()?;
        let mut stmt =
            conn.prepare_cached(&format!("SELECT {HOST_COLUMNS} FROM hosts ORDER BY id"))?;
        let hosts = stmt
            .query_map([], host_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(hosts)
    }

    fn host(&self, tenant: TenantId, host: HostId) -> Result<Option<Host>> {
        let conn = self.reader()?;
        Ok(conn
            .query_row(
                &format!("SELECT {HOST_COLUMNS} FROM hosts WHERE tenant_id = ?1 AND id = ?2"),
                params![tenant, host],
                host_from_row,
            )
            .optional()?)
    }

    fn delete_host(&self, tenant: TenantId, host: HostId) -> Result<()> {
        let mut conn = self.meta();
        let tx = conn.transaction()?;
        let owned: Option<i64> = tx
            .query_row(
                "SELECT id FROM hosts WHERE id = ?1 AND tenant_id = ?2",
                params![host, tenant],
                |r| r.get(0),
            )
            .optional()?;
        if owned.is_none() {
            return Err(StoreError::NotFound);
        }
        for sql in [
            "DELETE FROM head WHERE host_id = ?1",
            "DELETE FROM chunks WHERE host_id = ?1",
            "DELETE FROM series WHERE host_id = ?1",
            "DELETE FROM commands WHERE host_id = ?1",
            "UPDATE checks SET enabled = 0, run_on_host = NULL WHERE run_on_host = ?1",
            "UPDATE agent_keys SET revoked_at = coalesce(revoked_at, ?2), host_id = NULL WHERE host_id = ?1",
            "DELETE FROM hosts WHERE id = ?1",
        ] {
            if sql.contains("?2") {
                tx.execute(sql, params![host, now_ms()])?;
            } else {
                tx.execute(sql, [host])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn submit_ingest(
        &self,
        tenant: TenantId,
        host: HostId,
        reports: Vec<NewReport>,
    ) -> Result<IngestReceipt> {
        let (reply, receipt) = tokio::sync::oneshot::channel();
        let now = now_ms();
        let job = writer::Job {
            tenant,
            host,
            reports,
            now_ms: now,
            oldest_allowed_ms: now - self.options.retention.raw_ms,
            reply,
        };
        let sender = self
            .ingest_tx
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        // Never block the caller (an async task): a full queue is back-pressure.
        sender
            .ok_or(StoreError::Closed)?
            .try_send(job)
            .map_err(|e| match e {
                std::sync::mpsc::TrySendError::Full(_) => {
                    StoreError::Failed("ingest queue is full; retry later".into())
                }
                std::sync::mpsc::TrySendError::Disconnected(_) => StoreError::Closed,
            })?;
        Ok(receipt)
    }

    fn query(&self, tenant: TenantId, host: HostId, query: &SeriesQuery) -> Result<QueryResult> {
        let conn = self.reader()?;
        series::query(&conn, &self.options.retention, tenant, host, query)
    }

    fn latest(&self, tenant: TenantId, host: HostId) -> Result<Option<LatestValues>> {
        let conn = self.reader()?;
        series::latest(&conn, tenant, host)
    }

    fn maintain(&self, now_ms: i64) -> Result<MaintenanceReport> {
        let mut conn = self.maintenance.lock().unwrap_or_else(|p| p.into_inner());
        series::maintain(&mut conn, &self.options, now_ms)
    }

    fn secret(&self, name: &str, init: &dyn Fn() -> Vec<u8>) -> Result<Vec<u8>> {
        let conn = self.meta();
        let key = format!("secret:{name}");
        if let Some(v) = conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [&key], |r| {
                r.get(0)
            })
            .optional()?
        {
            return Ok(v);
        }
        let value = init();
        conn.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)",
            params![key, value],
        )?;
        Ok(value)
    }

    fn size_bytes(&self) -> Result<u64> {
        let mut total = 0;
        for suffix in ["", "-wal", "-shm"] {
            let mut p = self.options.path.clone().into_os_string();
            p.push(suffix);
            if let Ok(m) = std::fs::metadata(&p) {
                total += m.len();
            }
        }
        Ok(total)
    }

    fn stats(&self) -> Result<StoreStats> {
        let conn = self.reader()?;
        series::stats(&conn)
    }

    fn ping(&self) -> Result<()> {
        let conn = self.reader()?;
        conn.query_row("SELECT 1", [], |_| Ok(()))?;
        Ok(())
    }
}
