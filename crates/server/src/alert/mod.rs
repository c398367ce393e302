//! The alert engine (DESIGN §7): evaluates rules as samples arrive and on a
//! periodic tick, keeps each alert's lifecycle, and sends notifications
//! through the channels the tenant's routing names.
//!
//! Everything that changes alert state happens on one task ([`engine`]),
//! fed by [`AlertEngine`] — the handle the ingest path, the check runner,
//! the API and incoming webhooks hold. One task means no locks around the
//! state machine and an order of events that is easy to reason about; the
//! slow parts (store writes, sending) are batched or run beside it.

pub mod dispatch;
pub mod engine;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, RwLock};

use lxmon_alert::incoming::ExternalAlert;
use lxmon_proto::Sample;
use lxmon_store::{AlertAck, HostId, NewReport, TenantId};
use tokio::sync::{mpsc, oneshot};

/// Inputs queued for the engine before reports are dropped (they are
/// re-evaluated with the host's next report, so dropping under overload
/// delays an alert rather than losing one).
const QUEUE: usize = 16_384;

/// What the engine is told.
#[derive(Debug)]
pub enum Input {
    /// Samples of a stored report that some rule of the tenant looks at.
    Samples {
        tenant: TenantId,
        host: HostId,
        ts: i64,
        interval_s: u32,
        samples: Vec<Sample>,
        /// When the report arrived (latency figures).
        received: std::time::Instant,
    },
    /// A health check's state changed.
    CheckStatus { tenant: TenantId, check_id: i64 },
    /// The tenant's rules, channels, routing, silences or windows changed.
    ConfigChanged { tenant: TenantId },
    /// Someone acknowledged (or un-acknowledged) an alert.
    Acked {
        tenant: TenantId,
        id: i64,
        ack: Option<AlertAck>,
    },
    /// Alerts posted to an incoming webhook; the reply comes once they are
    /// stored.
    External {
        tenant: TenantId,
        webhook_id: i64,
        webhook_name: String,
        alerts: Vec<ExternalAlert>,
        reply: oneshot::Sender<Result<usize, String>>,
    },
}

/// Metric names some rule of a tenant looks at.
type Interest = Arc<RwLock<HashMap<TenantId, HashSet<String>>>>;

/// The handle to the engine. Cheap to clone.
#[derive(Clone)]
pub struct AlertEngine {
    tx: mpsc::Sender<Input>,
    rx: Arc<Mutex<Option<mpsc::Receiver<Input>>>>,
    interest: Interest,
    pub dropped: Arc<AtomicU64>,
}

impl Default for AlertEngine {
    fn default() -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        AlertEngine {
            tx,
            rx: Arc::new(Mutex::new(Some(rx))),
            interest: Interest::default(),
            dropped: Arc::default(),
        }
    }
}

impl AlertEngine {
    /// The engine's input; taken once, by the task that runs it.
    pub(crate) fn take_receiver(&self) -> Option<mpsc::Receiver<Input>> {
        self.rx.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    pub(crate) fn set_interest(&self, tenant: TenantId, names: HashSet<String>) {
        let mut map = self.interest.write().unwrap_or_else(|p| p.into_inner());
        if names.is_empty() {
            map.remove(&tenant);
        } else {
            map.insert(tenant, names);
        }
    }

    /// The samples of `reports` some rule of the tenant looks at, taken
    /// before the reports go to the store; `None` (and nothing copied) when
    /// no rule does. Only the newest report counts: a backfilled hour of
    /// spool is history, not a breach happening now.
    pub fn pick(
        &self,
        tenant: TenantId,
        host: HostId,
        reports: &[NewReport],
        received: std::time::Instant,
    ) -> Option<Input> {
        let newest = reports.iter().max_by_key(|r| r.ts)?;
        let map = self.interest.read().unwrap_or_else(|p| p.into_inner());
        let names = map.get(&tenant)?;
        let samples: Vec<Sample> = newest
            .samples
            .iter()
            .filter(|s| names.contains(&s.name))
            .cloned()
            .collect();
        (!samples.is_empty()).then(|| Input::Samples {
            tenant,
            host,
            ts: newest.ts,
            interval_s: newest.interval_s,
            samples,
            received,
        })
    }

    /// Hands picked samples to the engine once their report is stored.
    pub fn samples_stored(&self, input: Input) {
        if self.tx.try_send(input).is_err() {
            self.dropped.fetch_add(1, Relaxed);
        }
    }

    pub fn check_changed(&self, tenant: TenantId, check_id: i64) {
        self.send(Input::CheckStatus { tenant, check_id });
    }

    pub fn config_changed(&self, tenant: TenantId) {
        self.send(Input::ConfigChanged { tenant });
    }

    pub fn acked(&self, tenant: TenantId, id: i64, ack: Option<AlertAck>) {
        self.send(Input::Acked { tenant, id, ack });
    }

    /// Queues external alerts and waits until they are stored.
    pub async fn external(
        &self,
        tenant: TenantId,
        webhook_id: i64,
        webhook_name: String,
        alerts: Vec<ExternalAlert>,
    ) -> Result<usize, String> {
        let (reply, done) = oneshot::channel();
        self.tx
            .send(Input::External {
                tenant,
                webhook_id,
                webhook_name,
                alerts,
                reply,
            })
            .await
            .map_err(|_| "the alert engine is not running".to_string())?;
        done.await
            .map_err(|_| "the alert engine stopped".to_string())?
    }

    /// Control messages wait for room rather than being dropped: they are
    /// rare and losing one would leave the engine on stale configuration.
    fn send(&self, input: Input) {
        if let Err(mpsc::error::TrySendError::Full(input)) = self.tx.try_send(input) {
            let tx = self.tx.clone();
            tokio::spawn(async move {
                let _ = tx.send(input).await;
            });
        }
    }
}
