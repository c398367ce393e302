//! What every handler shares.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use lxmon_proto::TopProcesses;
use lxmon_store::{HostId, Store, TenantId};

use crate::alert::AlertEngine;
use crate::auth::SessionKeys;
use crate::config::ServerConfig;
use crate::http::events::EventBus;
use crate::ratelimit::FailureLimiter;
use crate::telemetry::Telemetry;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub config: Arc<ServerConfig>,
    pub sessions: SessionKeys,
    pub telemetry: Arc<Telemetry>,
    /// Latest top-process lists per host. Replaced by every report and not
    /// worth a write per report; after a restart they return with the next one.
    pub processes: Arc<RwLock<HashMap<HostId, TopProcesses>>>,
    /// Each host's last stored single report, `(seq, exact JSON)`: the base
    /// its agent compresses the next report against (`x-lxmon-zstd-dict:
    /// report:<seq>`). Memory only, a few KiB per host; after a restart an
    /// agent's first delta is answered 409 and it sends that report whole.
    pub report_bases: Arc<Mutex<HashMap<HostId, ReportBase>>>,
    /// Agent-key uses and heartbeats not yet written ([`AppState::flush_touches`]).
    pub touches: Arc<Touches>,
    pub events: EventBus,
    pub limits: Arc<Limits>,
    /// TOTP secrets between setup and confirmation, by user. Memory only: a
    /// restart just means running setup again.
    pub pending_totp: Arc<Mutex<HashMap<String, Vec<u8>>>>,
    /// Wakes a host's waiting command long-poll when work arrives for it.
    pub agent_wakeups: Arc<Mutex<HashMap<HostId, Arc<tokio::sync::Notify>>>>,
    /// Tells the check scheduler to reload definitions now.
    pub checks_changed: Arc<tokio::sync::Notify>,
    /// Bounds concurrent probes (scheduled runs and "test now").
    pub probe_slots: Arc<tokio::sync::Semaphore>,
    pub alerts: AlertEngine,
}

/// When agent keys were last used and hosts last sent a heartbeat, kept in
/// memory and written in one transaction every few seconds
/// (`maintenance::flush_touches`). Written one at a time, a key use per
/// minute and every heartbeat were each a transaction (at durability=power
/// an fsync) taking SQLite's single write lock from ingest: over 300 a
/// second at 10,000 agents. Neither figure is data an agent was promised;
/// a crash loses at most the last few seconds of them.
#[derive(Default)]
pub struct Touches {
    keys: Mutex<HashMap<String, i64>>,
    hosts: Mutex<HashMap<HostId, (TenantId, i64)>>,
}

/// Touches taken out for writing: key uses, then host heartbeats.
pub type TouchBatch = (Vec<(String, i64)>, Vec<(TenantId, HostId, i64)>);

impl Touches {
    pub fn key(&self, key_id: &str, at: i64) {
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        match keys.get_mut(key_id) {
            Some(t) => *t = (*t).max(at),
            None => {
                keys.insert(key_id.to_owned(), at);
            }
        }
    }

    pub fn host(&self, tenant: TenantId, host: HostId, at: i64) {
        let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        let entry = hosts.entry(host).or_insert((tenant, at));
        entry.1 = entry.1.max(at);
    }

    fn take(&self) -> TouchBatch {
        let keys = std::mem::take(&mut *self.keys.lock().unwrap_or_else(|p| p.into_inner()));
        let hosts = std::mem::take(&mut *self.hosts.lock().unwrap_or_else(|p| p.into_inner()));
        (
            keys.into_iter().collect(),
            hosts.into_iter().map(|(h, (t, at))| (t, h, at)).collect(),
        )
    }
}

/// A host's report that its agent's next report may be compressed against.
#[derive(Clone)]
pub struct ReportBase {
    pub seq: u64,
    pub json: Arc<[u8]>,
}

/// Brute-force limits (failures per window).
pub struct Limits {
    /// Failed logins per account: 5 per 15 min.
    pub login_per_account: FailureLimiter,
    /// Failed logins per client address: 20 per 15 min.
    pub login_per_ip: FailureLimiter,
    /// Failed agent authentications per client address: 30 per minute.
    pub agent_auth_per_ip: FailureLimiter,
}

impl Default for Limits {
    fn default() -> Self {
        let quarter_hour = Duration::from_secs(15 * 60);
        Limits {
            login_per_account: FailureLimiter::new(5, quarter_hour),
            login_per_ip: FailureLimiter::new(20, quarter_hour),
            agent_auth_per_ip: FailureLimiter::new(30, Duration::from_secs(60)),
        }
    }
}

impl AppState {
    pub fn new(
        store: Arc<dyn Store>,
        config: ServerConfig,
    ) -> Result<AppState, lxmon_store::StoreError> {
        let secret = store.secret("session-hmac", &|| {
            crate::auth::random_bytes::<32>().to_vec()
        })?;
        Ok(AppState {
            store,
            config: Arc::new(config),
            sessions: SessionKeys::new(secret),
            telemetry: Arc::default(),
            processes: Arc::default(),
            report_bases: Arc::default(),
            touches: Arc::default(),
            events: EventBus::default(),
            limits: Arc::default(),
            pending_totp: Arc::default(),
            agent_wakeups: Arc::default(),
            checks_changed: Arc::default(),
            probe_slots: crate::checks_runner::probe_slots(),
            alerts: AlertEngine::default(),
        })
    }

    pub fn agent_wakeup(&self, host: HostId) -> Arc<tokio::sync::Notify> {
        self.agent_wakeups
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(host)
            .or_default()
            .clone()
    }

    /// Tells the host's agent, if it is long-polling here, to poll now.
    /// (Another server instance's agents find the command on their next poll.)
    pub fn wake_agent(&self, host: HostId) {
        self.agent_wakeup(host).notify_one();
    }

    /// The JSON of `host`'s report `seq`, if it is the base held for it.
    pub fn report_base(&self, host: HostId, seq: u64) -> Option<Arc<[u8]>> {
        let bases = self.report_bases.lock().unwrap_or_else(|p| p.into_inner());
        bases
            .get(&host)
            .filter(|b| b.seq == seq)
            .map(|b| b.json.clone())
    }

    /// Remembers `json` (report `seq`, just stored) as `host`'s base.
    pub fn set_report_base(&self, host: HostId, seq: u64, json: Vec<u8>) {
        let base = ReportBase {
            seq,
            json: Arc::from(json),
        };
        self.report_bases
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(host, base);
    }

    /// Writes the collected key uses and heartbeats in one transaction.
    pub async fn flush_touches(&self) -> Result<(), crate::http::ApiError> {
        let (keys, hosts) = self.touches.take();
        if keys.is_empty() && hosts.is_empty() {
            return Ok(());
        }
        self.blocking(move |s| s.record_use(&keys, &hosts)).await
    }

    /// Runs a blocking store call off the async executor.
    pub async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Store) -> lxmon_store::Result<T> + Send + 'static,
    ) -> Result<T, crate::http::ApiError> {
        let store = self.store.clone();
        Ok(tokio::task::spawn_blocking(move || f(store.as_ref())).await??)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn touches_keep_the_latest_time_and_are_taken_once() {
        let t = Touches::default();
        t.key("k1", 200);
        t.key("k1", 100);
        t.key("k2", 50);
        t.host(1, 7, 300);
        t.host(1, 7, 250);
        let (mut keys, hosts) = t.take();
        keys.sort();
        assert_eq!(keys, [("k1".to_owned(), 200), ("k2".to_owned(), 50)]);
        assert_eq!(hosts, [(1, 7, 300)]);
        let (keys, hosts) = t.take();
        assert!(keys.is_empty() && hosts.is_empty());
    }
}
