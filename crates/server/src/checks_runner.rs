//! Runs the server's health checks on their intervals.
//!
//! Each check has its own next-due time; a run takes a slot of a bounded
//! pool (`AppState::probe_slots`) and runs the blocking probe on its own
//! thread with its own timeout, so a hanging target delays nothing else.
//! Runs keep their phase (next = due + interval), spread at start so a
//! thousand checks with one interval do not all fire in the same second.
//!
//! A hanging probe holds its slot for its whole timeout, so enough hanging
//! targets could fill the pool and make every other check wait. Checks whose
//! last run was slow (≥ [`SLOW_RUN`]: a timeout or a slow target) therefore
//! run in the slow lane: they may hold at most [`SLOW_SLOTS`] of the
//! [`PROBE_SLOTS`], and the rest stays free for checks that answer.

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

/// Probes running at once at most (scheduled runs and "test now").
pub const PROBE_SLOTS: usize = 256;
/// Of those, the most that checks in the slow lane may hold.
pub const SLOW_SLOTS: usize = PROBE_SLOTS * 3 / 4;
/// A run that takes this long puts its check in the slow lane until a run
/// is quicker. Answering targets take milliseconds.
pub const SLOW_RUN: Duration = Duration::from_secs(1);

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
    /// The last run took at least [`SLOW_RUN`].
    slow: bool,
}

/// A finished run: the check and whether it was slow.
type Done = (i64, bool);

/// The probe slots of one run: a slow-lane permit first when the check is in
/// the slow lane, then one of the shared slots.
struct Slots {
    _lane: Option<tokio::sync::OwnedSemaphorePermit>,
    _slot: tokio::sync::OwnedSemaphorePermit,
}

async fn acquire(
    slots: &Arc<tokio::sync::Semaphore>,
    slow_lane: &Arc<tokio::sync::Semaphore>,
    slow: bool,
) -> Option<Slots> {
    let lane = if slow {
        Some(slow_lane.clone().acquire_owned().await.ok()?)
    } else {
        None
    };
    Some(Slots {
        _lane: lane,
        _slot: slots.clone().acquire_owned().await.ok()?,
    })
}

/// Runs until `shutdown` turns true.
pub async fn run(state: AppState, mut shutdown: watch::Receiver<bool>) {
    let mut scheduled: HashMap<i64, Scheduled> = HashMap::new();
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel::<Done>();
    let slow_lane = Arc::new(tokio::sync::Semaphore::new(SLOW_SLOTS));
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
            let due = entry.due;
            let skipped = advance(&mut entry.due, entry.check.interval_s, now);
            if skipped > 0 {
                state
                    .telemetry
                    .checks
                    .runs_skipped
                    .fetch_add(skipped, std::sync::atomic::Ordering::Relaxed);
            }
            tokio::spawn(run_one(
                state.clone(),
                entry.check.clone(),
                Lane {
                    due,
                    slow: entry.slow,
                    slow_lane: slow_lane.clone(),
                },
                done_tx.clone(),
            ));
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
            Some((id, slow)) = done_rx.recv() => {
                if let Some(e) = scheduled.get_mut(&id) {
                    e.running = false;
                    e.slow = slow;
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
                        slow: false,
                    },
                );
            }
        }
    }
}

/// Moves a run's due time one interval on, keeping its phase. A check that
/// fell more than an interval behind (a suspended machine, an overloaded
/// one) skips the runs it missed, still on its phase; returns how many.
fn advance(due: &mut Instant, interval_s: u32, now: Instant) -> u64 {
    let interval = Duration::from_secs(u64::from(interval_s.max(1)));
    *due += interval;
    if *due >= now {
        return 0;
    }
    let skipped = ((now - *due).as_millis() / interval.as_millis()) as u64 + 1;
    *due += interval * skipped as u32;
    skipped
}

/// When a run is due and which lane it takes.
struct Lane {
    due: Instant,
    slow: bool,
    slow_lane: Arc<tokio::sync::Semaphore>,
}

async fn run_one(
    state: AppState,
    check: Check,
    lane: Lane,
    done: tokio::sync::mpsc::UnboundedSender<Done>,
) {
    let id = check.id;
    let figures = &state.telemetry.checks;
    let _in_flight = figures.start();
    let mut slow = false;
    let outcome = async {
        let spec: lxmon_checks::CheckSpec = match serde_json::from_value(check.spec.clone()) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(check_id = id, error = %e, "stored check spec does not parse");
                return None;
            }
        };
        let _slots = acquire(&state.probe_slots, &lane.slow_lane, lane.slow).await?;
        let timeout = Duration::from_secs(u64::from(check.timeout_s));
        let telemetry = state.telemetry.clone();
        let (due, in_slow_lane) = (lane.due.into_std(), lane.slow);
        let (ts, took, o) = tokio::task::spawn_blocking(move || {
            // The lag covers the wait for probe slots and for a thread.
            let started = std::time::Instant::now();
            telemetry
                .checks
                .observe_lag(started.saturating_duration_since(due), in_slow_lane);
            let ts = crate::now_ms();
            let o = lxmon_checks::run(&spec, timeout);
            (ts, started.elapsed(), o)
        })
        .await
        .ok()?;
        slow = took >= SLOW_RUN;
        figures.finished(o.up);
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
    let _ = done.send((id, slow));
}

/// The concurrent probe limit.
pub fn probe_slots() -> Arc<tokio::sync::Semaphore> {
    Arc::new(tokio::sync::Semaphore::new(PROBE_SLOTS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_keep_their_phase_and_skip_whole_missed_intervals() {
        let start = Instant::now();
        let s = Duration::from_secs;
        // On time or a little late: the next run is one interval after the due time.
        let mut due = start;
        assert_eq!(advance(&mut due, 60, start + Duration::from_millis(300)), 0);
        assert_eq!(due, start + s(60));
        // 2.5 intervals late: the runs due at +60 s and +120 s are skipped,
        // the next is at +180 s (on the phase), not at now + 60 s.
        let mut due = start;
        assert_eq!(advance(&mut due, 60, start + s(150)), 2);
        assert_eq!(due, start + s(180));
        // Exactly one interval late: that run is due now and is not skipped.
        let mut due = start;
        assert_eq!(advance(&mut due, 60, start + s(60)), 0);
        assert_eq!(due, start + s(60));
    }

    #[tokio::test]
    async fn slow_checks_never_take_the_slots_left_for_answering_ones() {
        let slots = probe_slots();
        let slow_lane = Arc::new(tokio::sync::Semaphore::new(SLOW_SLOTS));
        // Hanging probes in the slow lane: only SLOW_SLOTS of them get a slot.
        let mut hanging = Vec::new();
        for _ in 0..SLOW_SLOTS {
            hanging.push(acquire(&slots, &slow_lane, true).await.unwrap());
        }
        let wait = Duration::from_millis(50);
        let blocked = tokio::time::timeout(wait, acquire(&slots, &slow_lane, true)).await;
        assert!(blocked.is_err(), "the slow lane is full");
        assert_eq!(slots.available_permits(), PROBE_SLOTS - SLOW_SLOTS);
        // Every remaining slot is free for checks that answer, at once.
        let mut answering = Vec::new();
        for _ in 0..PROBE_SLOTS - SLOW_SLOTS {
            let got = tokio::time::timeout(wait, acquire(&slots, &slow_lane, false)).await;
            answering.push(got.expect("a slot is free").unwrap());
        }
        // A slow run that finishes frees its lane permit and its slot.
        drop(hanging.pop());
        drop(answering.pop());
        let got = tokio::time::timeout(wait, acquire(&slots, &slow_lane, true)).await;
        assert!(got.expect("the freed slot").is_some());
    }
}
