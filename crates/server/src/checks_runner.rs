//! Runs the server's health checks on their intervals.
//!
//! Each check has its own next-due time; a run takes a slot of a bounded
//! pool (`AppState::probe_slots`) and runs the blocking probe on its own
//! thread with its own timeout, so a hanging target delays nothing else.
//! Runs keep their phase (next = due + interval), spread at start so a
//! thousand checks with one interval do not all fire in the same second.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use lxmon_store::{Check, CheckRun, StatusChange};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::http::events::LiveEvent;
use crate::state::AppState;

/// How often definitions are reloaded even without a change notice (another
/// server instance may have changed them).
const RELOAD_EVERY: Duration = Duration::from_secs(30);

/// Publishes a run's state change on the live stream and in the log.
pub fn announce(state: &AppState, check: &Check, change: Option<&StatusChange>) {
    if let Some(change) = change {
        tracing::info!(check_id = check.id, name = %check.name, from = %change.from, to = %change.to, "check status changed");
        state.alerts.check_changed(check.tenant_id, check.id);
        state.events.publish(
            check.tenant_id,
            LiveEvent::Check {
                check_id: check.id,
                status: check.status.clone(),
                error: check.last_error.clone(),
            },
        );
    }
}

struct Scheduled {
    check: Check,
    due: Instant,
    running: bool,
}

/// Runs until `shutdown` turns true.
pub async fn run(state: AppState, mut shutdown: watch::Receiver<bool>) {
    let mut scheduled: HashMap<i64, Scheduled> = HashMap::new();
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel::<i64>();
    let mut next_reload = Instant::now();
    loop {
        if Instant::now() >= next_reload {
            match state.blocking(|s| s.server_checks()).await {
                Ok(checks) => reconcile(&mut scheduled, checks),
                Err(e) => tracing::warn!(error = %e.message, "loading checks failed"),
            }
            next_reload = Instant::now() + RELOAD_EVERY;
        }
        let now = Instant::now();
        for entry in scheduled
            .values_mut()
            .filter(|e| !e.running && e.due <= now)
        {
            entry.running = true;
            let interval = Duration::from_secs(u64::from(entry.check.interval_s));
            entry.due += interval;
            if entry.due < now {
                // Fell behind (suspended machine): skip the missed runs.
                entry.due = now + interval;
            }
            tokio::spawn(run_one(state.clone(), entry.check.clone(), done_tx.clone()));
        }
        let next_due = scheduled
            .values()
            .filter(|e| !e.running)
            .map(|e| e.due)
            .min()
            .unwrap_or(next_reload);
        tokio::select! {
            _ = tokio::time::sleep_until(next_due.min(next_reload)) => {}
            _ = state.checks_changed.notified() => next_reload = Instant::now(),
            Some(id) = done_rx.recv() => {
                if let Some(e) = scheduled.get_mut(&id) {
                    e.running = false;
                }
            }
            _ = shutdown.changed() => return,
        }
    }
}

/// Keeps the schedule of unchanged checks, adds new ones spread over their
/// interval, drops removed ones.
fn reconcile(scheduled: &mut HashMap<i64, Scheduled>, checks: Vec<Check>) {
    let now = Instant::now();
    let ids: std::collections::HashSet<i64> = checks.iter().map(|c| c.id).collect();
    scheduled.retain(|id, _| ids.contains(id));
    for check in checks {
        match scheduled.get_mut(&check.id) {
            Some(e) if e.check.interval_s == check.interval_s => e.check = check,
            _ => {
                // A new or re-timed check runs soon, at an offset derived from
                // its id so the fleet's checks spread out.
                let spread_ms = (check.id as u64).wrapping_mul(2_654_435_761)
                    % (u64::from(check.interval_s) * 1000).min(10_000);
                scheduled.insert(
                    check.id,
                    Scheduled {
                        check,
                        due: now + Duration::from_millis(spread_ms),
                        running: false,
                    },
                );
            }
        }
    }
}

async fn run_one(state: AppState, check: Check, done: tokio::sync::mpsc::UnboundedSender<i64>) {
    let id = check.id;
    let outcome = async {
        let spec: lxmon_checks::CheckSpec = match serde_json::from_value(check.spec.clone()) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(check_id = id, error = %e, "stored check spec does not parse");
                return None;
            }
        };
        let _slot = state.probe_slots.clone().acquire_owned().await.ok()?;
        let timeout = Duration::from_secs(u64::from(check.timeout_s));
        let ts = crate::now_ms();
        let o = tokio::task::spawn_blocking(move || lxmon_checks::run(&spec, timeout))
            .await
            .ok()?;
        Some(CheckRun {
            ts,
            up: o.up,
            latency_ms: o.latency_ms,
            cert_days_left: o.cert_days_left,
            error: o.error,
        })
    }
    .await;
    if let Some(run) = outcome {
        match state
            .blocking(move |s| s.record_check_run(id, None, &run))
            .await
        {
            Ok((check, change)) => announce(&state, &check, change.as_ref()),
            Err(e) => {
                tracing::warn!(check_id = id, error = %e.message, "recording a check run failed")
            }
        }
    }
    let _ = done.send(id);
}

/// The concurrent probe limit.
pub fn probe_slots() -> Arc<tokio::sync::Semaphore> {
    Arc::new(tokio::sync::Semaphore::new(256))
}
