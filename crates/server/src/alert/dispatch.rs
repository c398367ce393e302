//! Sends notifications: each (group, channel) on its own blocking thread,
//! a bounded number at once, every attempt recorded in the store.

use std::sync::Arc;
use std::time::{Duration, Instant};

use lxmon_notify::{AlertItem, ChannelConfig, Notification, NotificationStatus, SendOptions};
use lxmon_store::{Alert, NotificationRecord, TenantId};
use serde::{Deserialize, Serialize};
use tokio::sync::{Semaphore, mpsc};

use super::engine::NoticeKind;
use crate::state::AppState;

/// Sends in flight at most; more wait (a slow SMTP relay cannot take every
/// blocking thread).
const CONCURRENT_SENDS: usize = 16;

/// A channel as stored: its service configuration (with secrets) and
/// options.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelBody {
    pub config: ChannelConfig,
    /// Send a message when alerts resolve (default yes).
    #[serde(default = "yes")]
    pub send_resolved: bool,
}

fn yes() -> bool {
    true
}

pub struct Channel {
    pub id: i64,
    pub name: String,
    pub body: ChannelBody,
}

/// One notification to send.
pub struct Outgoing {
    pub tenant: TenantId,
    pub channel: Arc<Channel>,
    pub kind: NoticeKind,
    pub alerts: Vec<Alert>,
    /// Arrival of the report that caused it, when one did.
    pub since: Option<Instant>,
}

pub fn start(state: AppState) -> mpsc::UnboundedSender<Outgoing> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Outgoing>();
    let slots = Arc::new(Semaphore::new(CONCURRENT_SENDS));
    tokio::spawn(async move {
        while let Some(out) = rx.recv().await {
            let Ok(permit) = slots.clone().acquire_owned().await else {
                break;
            };
            let state = state.clone();
            tokio::spawn(async move {
                deliver(&state, out).await;
                drop(permit);
            });
        }
    });
    tx
}

/// The message for a group of alerts of one rule.
pub fn notification(
    state: &AppState,
    kind: NoticeKind,
    alerts: &[Alert],
    tenant: Option<String>,
) -> Notification {
    let first = &alerts[0];
    let link = state.config.alerts.dashboard_url.as_ref().map(|base| {
        if alerts.len() == 1 {
            format!("{base}/#/alarms/{}", first.id)
        } else {
            format!("{base}/#/alarms")
        }
    });
    Notification {
        status: match kind {
            NoticeKind::Resolved => NotificationStatus::Resolved,
            _ => NotificationStatus::Firing,
        },
        title: first.name.clone(),
        severity: first.severity.clone(),
        rule: (first.source == "rule").then(|| first.name.clone()),
        tenant,
        alerts: alerts
            .iter()
            .map(|a| AlertItem {
                fingerprint: a.fingerprint.clone(),
                status: if kind == NoticeKind::Resolved {
                    "resolved".into()
                } else {
                    "firing".into()
                },
                summary: a.summary.clone(),
                labels: a.labels.clone(),
                annotations: a.annotations.clone(),
                value: a.value,
                starts_at_ms: a.fired_at.unwrap_or(a.started_at),
                ends_at_ms: a.resolved_at,
            })
            .collect(),
        link,
    }
}

/// Options for real sends; tests shorten nothing here, they point channels
/// at receivers that answer at once.
pub fn send_options() -> SendOptions {
    SendOptions {
        timeout: Duration::from_secs(10),
        attempts: 3,
        backoff: Duration::from_secs(1),
    }
}

async fn deliver(state: &AppState, out: Outgoing) {
    let n = notification(state, out.kind, &out.alerts, None);
    let config = out.channel.body.config.clone();
    let started = Instant::now();
    let result =
        tokio::task::spawn_blocking(move || lxmon_notify::send(&config, &n, &send_options())).await;
    let (outcome, error, attempts) = match result {
        Ok(Ok(d)) => ("sent", None, d.attempts),
        Ok(Err(e)) => ("failed", Some(e.to_string()), 0),
        Err(e) => ("failed", Some(format!("sending panicked: {e}")), 0),
    };
    if let Some(since) = out.since {
        state.telemetry.observe_alert_latency(since.elapsed());
    }
    let t = &state.telemetry;
    if outcome == "sent" {
        t.notifications_sent
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::info!(channel = %out.channel.name, kind = out.kind.as_str(), alerts = out.alerts.len(),
            ms = started.elapsed().as_millis() as u64, "notification sent");
    } else {
        t.notifications_failed
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::warn!(channel = %out.channel.name, kind = out.kind.as_str(), error = ?error, "notification failed");
    }
    let record = NotificationRecord {
        id: 0,
        tenant_id: out.tenant,
        channel_id: Some(out.channel.id),
        channel_name: out.channel.name.clone(),
        alert_ids: out.alerts.iter().map(|a| a.id).collect(),
        kind: out.kind.as_str().into(),
        outcome: outcome.into(),
        error,
        attempts,
        created_at: crate::now_ms(),
    };
    if let Err(e) = state
        .blocking(move |s| s.record_notification(&record))
        .await
    {
        tracing::warn!(error = %e.message, "recording a notification failed");
    }
}
