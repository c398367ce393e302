//! Health checks the server assigns to this agent (targets only this host
//! can reach): run each on its interval, deliver the results.
//!
//! ```text
//! config (register, refresh) ──► assign ──► schedule ──► ≤ 4 probe threads
//!                                                              │ results
//!                                sender thread ◄──── outbox ◄──┘
//!                                      │
//!                        POST /api/agent/check-results
//! ```
//!
//! - The run loop hands every configuration it receives (the register
//!   response's and each refresh's, see `config_refresh`) to
//!   [`CheckRunner::assign`]. A new check runs soon, at an offset derived
//!   from its id (at most [`FIRST_RUN_SPREAD`]) so checks assigned together
//!   do not fire together; then every interval, keeping its phase. A check
//!   no longer listed stops; a changed interval counts from the last run; a
//!   changed spec runs soon.
//! - The **scheduler thread** starts each due check in its own short-lived
//!   thread running [`lxmon_checks::run`], which never takes much longer
//!   than the check's timeout. At most [`MAX_PARALLEL`] run at once, so a
//!   hanging target holds one slot for at most its own timeout and the other
//!   checks keep their schedule. A spec that does not parse is reported as a
//!   down result carrying the parse error, at each interval.
//! - Results wait in a bounded **outbox** (at most [`MAX_PENDING`]; beyond
//!   it the oldest are dropped and counted). The **sender thread** flushes it
//!   when [`FLUSH_AT`] results wait or the oldest has waited
//!   [`FLUSH_EVERY`]. Each request carries the results of one check: the
//!   server records a request's results one by one and stops at the first
//!   check it does not know (404), so a request mixing checks could not be
//!   resent after a 404 without storing some runs twice.
//! - A transport failure, 5xx, 408, 429 or refused key keeps the results and
//!   retries with backoff (up to [`RETRY_MAX`]). A 404 means the check is no
//!   longer this host's (deleted, or moved to another host): its results
//!   are dropped and it stops running until a configuration lists it again.
//!   Any other 4xx drops that request's results.
//! - The threads start with the first non-empty assignment, so an agent
//!   without checks has none. At shutdown no new run starts and the
//!   waiting results are tried once, briefly; runs in progress are not
//!   waited for.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use lxmon_checks::CheckSpec;
use lxmon_proto::{AgentCheck, AgentCheckResult, AgentCheckResults};

use crate::backoff::Backoff;
use crate::collectors::wall_clock_ms;
use crate::config::Secret;
use crate::shutdown::Shutdown;
use crate::transport::{ResultsError, Transport};

/// Checks running at once.
pub const MAX_PARALLEL: usize = 4;
/// Results are sent once the oldest waiting one is this old...
pub const FLUSH_EVERY: Duration = Duration::from_secs(2);
/// ...or once this many wait (also the most results in one request).
pub const FLUSH_AT: usize = 50;
/// Results kept while the server cannot take them; the oldest go first.
pub const MAX_PENDING: usize = 1000;
/// Longest delay between retries of a failed post.
pub const RETRY_MAX: Duration = Duration::from_secs(60);
/// A new check's first run comes within this long (or within its interval
/// when shorter), at an offset derived from its id.
pub const FIRST_RUN_SPREAD: Duration = Duration::from_secs(3);
/// Bounds applied to what the server sends (it validates 10 s..1 day and
/// 1..60 s itself; these only keep a bad value from hurting the host).
const MIN_INTERVAL: Duration = Duration::from_secs(1);
const MAX_INTERVAL: Duration = Duration::from_secs(7 * 86_400);
const MAX_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest error text kept per result (the server keeps 1024 characters).
const MAX_ERROR_CHARS: usize = 1024;
/// At shutdown: the time the last results may take to send, and the
/// timeout of each of those requests.
const STOP_SEND: Duration = Duration::from_secs(5);
const STOP_REQUEST_TIMEOUT: Duration = Duration::from_secs(3);
/// Probe threads only run the check library; its deepest path (a TLS
/// handshake) needs far less. Untouched stack pages cost no memory.
const PROBE_STACK: usize = 512 * 1024;

/// Tunables of a [`CheckRunner`]; [`Settings::default`] is what the agent
/// uses (tests shrink them).
#[derive(Debug, Clone)]
pub struct Settings {
    pub max_parallel: usize,
    pub flush_every: Duration,
    pub flush_at: usize,
    pub max_pending: usize,
    pub retry_max: Duration,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            max_parallel: MAX_PARALLEL,
            flush_every: FLUSH_EVERY,
            flush_at: FLUSH_AT,
            max_pending: MAX_PENDING,
            retry_max: RETRY_MAX,
        }
    }
}

/// Counters of the health checks this agent runs.
#[derive(Debug, Default)]
pub struct CheckStats {
    assigned: AtomicU64,
    runs: AtomicU64,
    peak_running: AtomicU64,
    results_sent: AtomicU64,
    results_dropped: AtomicU64,
    results_discarded: AtomicU64,
    send_failures: AtomicU64,
    pending: AtomicU64,
}

impl CheckStats {
    /// Checks in the schedule.
    pub fn assigned(&self) -> u64 {
        self.assigned.load(Ordering::Relaxed)
    }
    /// Runs started (and unparsable specs reported).
    pub fn runs(&self) -> u64 {
        self.runs.load(Ordering::Relaxed)
    }
    /// The most runs in progress at once so far.
    pub fn peak_running(&self) -> u64 {
        self.peak_running.load(Ordering::Relaxed)
    }
    /// Results the server accepted.
    pub fn results_sent(&self) -> u64 {
        self.results_sent.load(Ordering::Relaxed)
    }
    /// Results lost because too many waited for the server.
    pub fn results_dropped(&self) -> u64 {
        self.results_dropped.load(Ordering::Relaxed)
    }
    /// Results the server refused (unknown check, invalid), not resent.
    pub fn results_discarded(&self) -> u64 {
        self.results_discarded.load(Ordering::Relaxed)
    }
    /// Posts that failed and will be retried (each retry counts).
    pub fn send_failures(&self) -> u64 {
        self.send_failures.load(Ordering::Relaxed)
    }
    /// Results waiting to be sent.
    pub fn pending(&self) -> u64 {
        self.pending.load(Ordering::Relaxed)
    }
}

// ---------------------------------------------------------------------------
// The schedule (pure logic: every decision takes `now`)

/// One run to do: everything a probe thread needs.
#[derive(Debug, Clone)]
pub(crate) struct Job {
    id: i64,
    /// The parsed spec, or why it does not parse.
    spec: Result<CheckSpec, String>,
    timeout: Duration,
}

impl Job {
    fn of(check: &AgentCheck, interval: Duration) -> Job {
        let spec = serde_json::from_value::<CheckSpec>(check.spec.clone())
            .map_err(|e| format!("invalid check spec: {e}"));
        let timeout = Duration::from_secs(u64::from(check.timeout_s))
            .clamp(Duration::from_secs(1), MAX_TIMEOUT)
            .min(interval);
        Job {
            id: check.id,
            spec,
            timeout,
        }
    }
}

#[derive(Debug)]
struct Slot {
    check: AgentCheck,
    job: Job,
    interval: Duration,
    due: Instant,
    last_start: Option<Instant>,
    running: bool,
    /// The last result's state, for logging changes.
    last_up: Option<bool>,
}

/// What an assignment changed, for the log.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Changes {
    added: usize,
    removed: usize,
    changed: usize,
}

/// When each assigned check runs next.
#[derive(Debug, Default)]
pub(crate) struct Schedule {
    slots: BTreeMap<i64, Slot>,
}

fn interval_of(check: &AgentCheck) -> Duration {
    Duration::from_secs(u64::from(check.interval_s)).clamp(MIN_INTERVAL, MAX_INTERVAL)
}

/// A new check's delay before its first run: derived from its id, so
/// checks assigned together start apart, and the same on every agent.
fn first_run_offset(id: i64, interval: Duration) -> Duration {
    let window = interval.min(FIRST_RUN_SPREAD).as_millis().max(1) as u64;
    Duration::from_millis((id as u64).wrapping_mul(2_654_435_761) % window)
}

impl Schedule {
    /// Makes the schedule match `checks` (the server's complete list).
    pub(crate) fn assign(&mut self, checks: Vec<AgentCheck>, now: Instant) -> Changes {
        let mut changes = Changes::default();
        let listed: BTreeMap<i64, AgentCheck> = checks.into_iter().map(|c| (c.id, c)).collect();
        let before = self.slots.len();
        self.slots.retain(|id, _| listed.contains_key(id));
        changes.removed = before - self.slots.len();
        for (id, check) in listed {
            let interval = interval_of(&check);
            let Some(slot) = self.slots.get_mut(&id) else {
                self.slots.insert(
                    id,
                    Slot {
                        job: Job::of(&check, interval),
                        check,
                        interval,
                        due: now + first_run_offset(id, interval),
                        last_start: None,
                        running: false,
                        last_up: None,
                    },
                );
                changes.added += 1;
                continue;
            };
            if slot.check == check {
                continue;
            }
            changes.changed += 1;
            if interval != slot.interval {
                // The new interval counts from the last run; never run yet:
                // the first run stays as planned.
                if let Some(last) = slot.last_start {
                    slot.due = (last + interval).max(now);
                }
            }
            if slot.check.spec != check.spec {
                // A corrected target shows its state soon.
                slot.due = slot.due.min(now + first_run_offset(id, interval));
            }
            slot.interval = interval;
            slot.job = Job::of(&check, interval);
            slot.check = check;
        }
        changes
    }

    /// The most overdue check that is due at `now` and not running, marked
    /// running; its next run is planned one interval after this one was due
    /// (keeping its phase), or one interval from now when it fell behind.
    pub(crate) fn start_next(&mut self, now: Instant) -> Option<Job> {
        let slot = self
            .slots
            .values_mut()
            .filter(|s| !s.running && s.due <= now)
            .min_by_key(|s| s.due)?;
        slot.running = true;
        slot.last_start = Some(now);
        slot.due += slot.interval;
        if slot.due <= now {
            slot.due = now + slot.interval;
        }
        Some(slot.job.clone())
    }

    /// A run of `id` ended. Returns whether the check is still assigned
    /// (the result of a removed check is not worth sending), and whether
    /// its up/down state changed (`None` when unknown).
    pub(crate) fn finished(&mut self, id: i64, up: bool) -> (bool, Option<bool>) {
        match self.slots.get_mut(&id) {
            Some(slot) => {
                slot.running = false;
                let changed = slot.last_up.map(|was| was != up);
                slot.last_up = Some(up);
                (true, changed)
            }
            None => (false, None),
        }
    }

    /// Stops running `id` until an assignment lists it again.
    pub(crate) fn forget(&mut self, id: i64) -> bool {
        self.slots.remove(&id).is_some()
    }

    /// When the next check not running is due.
    pub(crate) fn next_due(&self) -> Option<Instant> {
        self.slots
            .values()
            .filter(|s| !s.running)
            .map(|s| s.due)
            .min()
    }

    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }
}

// ---------------------------------------------------------------------------
// The outbox (pure logic)

#[derive(Debug)]
struct Pending {
    seq: u64,
    queued: Instant,
    result: AgentCheckResult,
}

/// Results of one check to post together.
#[derive(Debug)]
pub(crate) struct Batch {
    check_id: i64,
    /// Local numbers of the results, to settle them after the post.
    seqs: Vec<u64>,
    results: Vec<AgentCheckResult>,
}

/// Results waiting for the server, oldest first, bounded.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    items: VecDeque<Pending>,
    next_seq: u64,
    /// Results numbered up to this one were waiting when the last flush
    /// began: they go without waiting for their own turn.
    flushing_through: Option<u64>,
}

impl Outbox {
    /// Queues a result; returns how many old ones were dropped to stay
    /// within `cap`.
    pub(crate) fn push(&mut self, result: AgentCheckResult, now: Instant, cap: usize) -> usize {
        let mut dropped = 0;
        while self.items.len() >= cap.max(1) {
            self.items.pop_front();
            dropped += 1;
        }
        self.items.push_back(Pending {
            seq: self.next_seq,
            queued: now,
            result,
        });
        self.next_seq += 1;
        dropped
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    /// When the next flush is due (in the past: now); `None` when empty.
    pub(crate) fn due_at(&self, settings: &Settings) -> Option<Instant> {
        let front = self.items.front()?;
        let in_flush = self.flushing_through.is_some_and(|s| front.seq <= s);
        if in_flush || self.items.len() >= settings.flush_at {
            Some(front.queued)
        } else {
            Some(front.queued + settings.flush_every)
        }
    }

    /// The results of the oldest waiting result's check, up to `max`, in
    /// order. They stay queued until [`Outbox::settle`]. A batch that
    /// begins a flush makes everything waiting now part of it.
    pub(crate) fn batch(&mut self, max: usize) -> Option<Batch> {
        let front = self.items.front()?;
        let check_id = front.result.check_id;
        if self.flushing_through.is_none_or(|s| front.seq > s) {
            self.flushing_through = self.items.back().map(|p| p.seq);
        }
        let (seqs, results) = self
            .items
            .iter()
            .filter(|p| p.result.check_id == check_id)
            .take(max.max(1))
            .map(|p| (p.seq, p.result.clone()))
            .unzip();
        Some(Batch {
            check_id,
            seqs,
            results,
        })
    }

    /// Forgets results that were delivered or refused (those of `seqs`
    /// still queued; some may have been dropped meanwhile). Returns how
    /// many were still queued.
    pub(crate) fn settle(&mut self, seqs: &[u64]) -> usize {
        let before = self.items.len();
        self.items.retain(|p| seqs.binary_search(&p.seq).is_err());
        before - self.items.len()
    }

    /// Forgets every result of `check_id`; returns how many.
    pub(crate) fn drop_check(&mut self, check_id: i64) -> usize {
        let before = self.items.len();
        self.items.retain(|p| p.result.check_id != check_id);
        before - self.items.len()
    }
}

// ---------------------------------------------------------------------------
// The threads

struct Shared {
    state: Mutex<State>,
    /// Wakes the scheduler and the sender: new assignment, finished run,
    /// new results, stopping.
    wake: Condvar,
    stats: Arc<CheckStats>,
    settings: Settings,
}

#[derive(Default)]
struct State {
    schedule: Schedule,
    outbox: Outbox,
    running: usize,
    stopping: bool,
    /// Results were dropped since the server last took some (logged once).
    overflowing: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn wait_until<'a>(
        &self,
        guard: MutexGuard<'a, State>,
        until: Option<Instant>,
    ) -> MutexGuard<'a, State> {
        // Even without a deadline, look again now and then.
        let limit = Instant::now() + Duration::from_secs(60);
        let until = until.map_or(limit, |u| u.min(limit));
        let wait = until.saturating_duration_since(Instant::now());
        if wait.is_zero() {
            return guard;
        }
        match self.wake.wait_timeout(guard, wait) {
            Ok((g, _)) => g,
            Err(e) => e.into_inner().0,
        }
    }

    fn stop(&self) {
        let mut st = self.lock();
        st.stopping = true;
        self.wake.notify_all();
    }

    /// A run (or an unparsable spec) produced `result`.
    fn finished(&self, result: AgentCheckResult, ran: bool) {
        let mut st = self.lock();
        if ran {
            st.running -= 1;
        }
        let id = result.check_id;
        let (assigned, changed) = st.schedule.finished(id, result.up);
        if !assigned {
            tracing::debug!(
                check_id = id,
                "a check removed while it ran finished; its result is not sent"
            );
            self.wake.notify_all();
            return;
        }
        let state = if result.up { "up" } else { "down" };
        match changed {
            Some(true) | None => tracing::info!(
                check_id = id,
                latency_ms = ?result.latency_ms,
                error = ?result.error,
                "check is {state}"
            ),
            Some(false) => tracing::debug!(
                check_id = id,
                latency_ms = ?result.latency_ms,
                error = ?result.error,
                "check is still {state}"
            ),
        }
        let cap = self.settings.max_pending;
        let dropped = st.outbox.push(result, Instant::now(), cap);
        if dropped > 0 {
            self.stats
                .results_dropped
                .fetch_add(dropped as u64, Ordering::Relaxed);
            if !st.overflowing {
                st.overflowing = true;
                tracing::warn!(
                    kept = cap,
                    "too many check results wait for the server; the oldest are dropped"
                );
            }
        }
        self.stats
            .pending
            .store(st.outbox.len() as u64, Ordering::Relaxed);
        self.wake.notify_all();
    }
}

/// The health checks this agent runs. Created idle; the threads start with
/// the first assignment that lists a check. Stops when the [`Shutdown`] it
/// was created with is triggered.
pub struct CheckRunner {
    shared: Arc<Shared>,
    server: String,
    key: Secret,
    request_timeout: Duration,
    scheduler: Option<JoinHandle<()>>,
    sender: Option<JoinHandle<()>>,
}

impl CheckRunner {
    /// A runner posting to `server` with `key`; `request_timeout` bounds
    /// each post.
    pub fn new(
        server: &str,
        key: &Secret,
        request_timeout: Duration,
        shutdown: &Shutdown,
        stats: Arc<CheckStats>,
    ) -> CheckRunner {
        CheckRunner::with_settings(
            server,
            key,
            request_timeout,
            shutdown,
            stats,
            Settings::default(),
        )
    }

    /// [`CheckRunner::new`] with other [`Settings`].
    pub fn with_settings(
        server: &str,
        key: &Secret,
        request_timeout: Duration,
        shutdown: &Shutdown,
        stats: Arc<CheckStats>,
        settings: Settings,
    ) -> CheckRunner {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
            stats,
            settings,
        });
        {
            let shared = shared.clone();
            shutdown.on_trigger(move || shared.stop());
        }
        CheckRunner {
            shared,
            server: server.to_owned(),
            key: key.clone(),
            request_timeout,
            scheduler: None,
            sender: None,
        }
    }

    /// Replaces the assigned checks with `checks` (the server's complete
    /// list for this host).
    pub fn assign(&mut self, checks: Vec<AgentCheck>) {
        let any = !checks.is_empty();
        {
            let mut st = self.shared.lock();
            let changes = st.schedule.assign(checks, Instant::now());
            let assigned = st.schedule.len();
            self.shared
                .stats
                .assigned
                .store(assigned as u64, Ordering::Relaxed);
            if changes != Changes::default() {
                tracing::info!(
                    assigned,
                    added = changes.added,
                    removed = changes.removed,
                    changed = changes.changed,
                    "health checks assigned by the server"
                );
            }
            self.shared.wake.notify_all();
        }
        if any {
            self.start_threads();
        }
    }

    fn start_threads(&mut self) {
        if self.sender.is_none() {
            let shared = self.shared.clone();
            let transport = Transport::new(&self.server, &self.key, self.request_timeout);
            let last_chance = Transport::new(
                &self.server,
                &self.key,
                self.request_timeout.min(STOP_REQUEST_TIMEOUT),
            );
            match std::thread::Builder::new()
                .name("check-results".into())
                .stack_size(256 * 1024)
                .spawn(move || send_loop(&shared, &transport, &last_chance))
            {
                Ok(handle) => self.sender = Some(handle),
                Err(e) => tracing::error!(error = %e, "cannot start the check results thread"),
            }
        }
        if self.scheduler.is_none() {
            let shared = self.shared.clone();
            match std::thread::Builder::new()
                .name("checks".into())
                .stack_size(256 * 1024)
                .spawn(move || schedule_loop(&shared))
            {
                Ok(handle) => self.scheduler = Some(handle),
                Err(e) => tracing::error!(error = %e, "cannot start the checks thread"),
            }
        }
    }

    /// Waits until the runner has stopped (after shutdown was triggered):
    /// no run starts any more, the waiting results were tried once.
    pub fn join(self) {
        for handle in [self.scheduler, self.sender].into_iter().flatten() {
            let _ = handle.join();
        }
    }
}

fn schedule_loop(shared: &Arc<Shared>) {
    let mut st = shared.lock();
    while !st.stopping {
        let now = Instant::now();
        while st.running < shared.settings.max_parallel.max(1) {
            let Some(job) = st.schedule.start_next(now) else {
                break;
            };
            shared.stats.runs.fetch_add(1, Ordering::Relaxed);
            if let Err(reason) = &job.spec {
                // Nothing to probe: report why, without a thread.
                let result = down(job.id, wall_clock_ms(), reason.clone());
                drop(st);
                shared.finished(result, false);
                st = shared.lock();
                continue;
            }
            st.running += 1;
            shared
                .stats
                .peak_running
                .fetch_max(st.running as u64, Ordering::Relaxed);
            let id = job.id;
            let worker = shared.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("check-{id}"))
                .stack_size(PROBE_STACK)
                .spawn(move || {
                    let result = probe(&job);
                    worker.finished(result, true);
                });
            if let Err(e) = spawned {
                tracing::error!(check_id = id, error = %e, "cannot start a check thread");
                st.running -= 1;
                st.schedule.finished(id, false);
                break;
            }
        }
        let next = if st.running < shared.settings.max_parallel.max(1) {
            st.schedule.next_due()
        } else {
            None // a finishing run wakes us
        };
        st = shared.wait_until(st, next);
    }
}

/// A down result.
fn down(check_id: i64, ts: i64, error: String) -> AgentCheckResult {
    AgentCheckResult {
        check_id,
        ts,
        up: false,
        latency_ms: None,
        cert_days_left: None,
        error: Some(error),
    }
}

/// Runs one check; never much longer than its timeout.
fn probe(job: &Job) -> AgentCheckResult {
    let ts = wall_clock_ms();
    let spec = match &job.spec {
        Ok(spec) => spec,
        Err(reason) => return down(job.id, ts, reason.clone()),
    };
    let outcome = lxmon_checks::run(spec, job.timeout);
    AgentCheckResult {
        check_id: job.id,
        ts,
        up: outcome.up,
        latency_ms: outcome.latency_ms,
        cert_days_left: outcome.cert_days_left,
        error: outcome
            .error
            .map(|e| match e.char_indices().nth(MAX_ERROR_CHARS) {
                Some((cut, _)) => e[..cut].to_owned(),
                None => e,
            }),
    }
}

/// What became of one post.
enum Sent {
    Delivered,
    Retry,
}

fn send_loop(shared: &Arc<Shared>, transport: &Transport, last_chance: &Transport) {
    let settings = &shared.settings;
    let mut backoff = Backoff::with_max(settings.retry_max);
    let mut retry_at: Option<Instant> = None;
    loop {
        let batch = {
            let mut st = shared.lock();
            loop {
                if st.stopping {
                    break None;
                }
                let now = Instant::now();
                let due = match (st.outbox.due_at(settings), retry_at) {
                    (Some(due), Some(retry)) => Some(due.max(retry)),
                    (due, _) => due,
                };
                if due.is_some_and(|d| d <= now) {
                    break st.outbox.batch(settings.flush_at);
                }
                st = shared.wait_until(st, due);
            }
        };
        let Some(batch) = batch else {
            break;
        };
        match post(shared, transport, batch, &mut backoff) {
            Sent::Delivered => retry_at = None,
            Sent::Retry => retry_at = Some(Instant::now() + backoff.next_delay()),
        }
    }
    // Stopping: one try for what waits, unless the server was failing.
    if retry_at.is_some() {
        let waiting = shared.lock().outbox.len();
        if waiting > 0 {
            tracing::warn!(
                results = waiting,
                "check results not delivered before stopping are lost"
            );
        }
        return;
    }
    let until = Instant::now() + STOP_SEND;
    while Instant::now() < until {
        let Some(batch) = shared.lock().outbox.batch(settings.flush_at) else {
            return;
        };
        if let Sent::Retry = post(shared, last_chance, batch, &mut backoff) {
            break;
        }
    }
    let waiting = shared.lock().outbox.len();
    if waiting > 0 {
        tracing::warn!(
            results = waiting,
            "check results not delivered before stopping are lost"
        );
    }
}

/// Posts one batch and settles it in the outbox.
fn post(shared: &Shared, transport: &Transport, batch: Batch, backoff: &mut Backoff) -> Sent {
    let Batch {
        check_id,
        seqs,
        results,
    } = batch;
    let count = results.len();
    let outcome = transport.send_check_results(&AgentCheckResults { results });
    let stats = &shared.stats;
    let mut st = shared.lock();
    let sent = match outcome {
        Ok(()) => {
            let settled = st.outbox.settle(&seqs);
            stats
                .results_sent
                .fetch_add(settled as u64, Ordering::Relaxed);
            if backoff.failures() > 0 {
                tracing::info!("check results are delivered again");
            }
            backoff.reset();
            st.overflowing = false;
            Sent::Delivered
        }
        Err(ResultsError::UnknownCheck(message)) => {
            let dropped = st.outbox.drop_check(check_id);
            stats
                .results_discarded
                .fetch_add(dropped as u64, Ordering::Relaxed);
            let forgotten = st.schedule.forget(check_id);
            stats
                .assigned
                .store(st.schedule.len() as u64, Ordering::Relaxed);
            tracing::warn!(
                check_id,
                dropped,
                stopped = forgotten,
                reason = %message,
                "the server no longer has this check for this host; its results are dropped and it stops until assigned again"
            );
            backoff.reset();
            Sent::Delivered
        }
        Err(ResultsError::Refused { status, message }) => {
            let dropped = st.outbox.settle(&seqs);
            stats
                .results_discarded
                .fetch_add(dropped as u64, Ordering::Relaxed);
            tracing::warn!(
                check_id,
                results = count,
                status,
                reason = %message,
                "the server refused check results; they are dropped"
            );
            backoff.reset();
            Sent::Delivered
        }
        Err(ResultsError::Retry(message)) => {
            stats.send_failures.fetch_add(1, Ordering::Relaxed);
            let waiting = st.outbox.len();
            if backoff.failures() == 0 {
                tracing::warn!(error = %message, waiting, "cannot deliver check results; they are kept and retried");
            } else {
                tracing::debug!(error = %message, waiting, "cannot deliver check results");
            }
            Sent::Retry
        }
    };
    stats
        .pending
        .store(st.outbox.len() as u64, Ordering::Relaxed);
    shared.wake.notify_all();
    sent
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(id: i64, interval_s: u32, port: u16) -> AgentCheck {
        AgentCheck {
            id,
            spec: serde_json::json!({"type": "tcp", "host": "127.0.0.1", "port": port}),
            interval_s,
            timeout_s: 5,
        }
    }

    fn result(check_id: i64, up: bool) -> AgentCheckResult {
        AgentCheckResult {
            check_id,
            ts: 1,
            up,
            latency_ms: None,
            cert_days_left: None,
            error: None,
        }
    }

    /// Starts every due check at `now`; returns their ids in start order.
    fn start_all(s: &mut Schedule, now: Instant) -> Vec<i64> {
        std::iter::from_fn(|| s.start_next(now))
            .map(|j| j.id)
            .collect()
    }

    #[test]
    fn new_checks_run_soon_and_spread() {
        let now = Instant::now();
        let mut s = Schedule::default();
        let checks: Vec<AgentCheck> = (1..=10).map(|id| check(id, 60, 80)).collect();
        let changes = s.assign(checks, now);
        assert_eq!(changes.added, 10);
        let dues: Vec<Instant> = s.slots.values().map(|s| s.due).collect();
        assert!(
            dues.iter()
                .all(|d| *d >= now && *d < now + FIRST_RUN_SPREAD)
        );
        let distinct: std::collections::BTreeSet<Instant> = dues.iter().copied().collect();
        assert!(distinct.len() >= 8, "spread out: {dues:?}");
        // All have run once the spread is over, none twice.
        let mut started = start_all(&mut s, now + FIRST_RUN_SPREAD);
        started.sort();
        assert_eq!(started, (1..=10).collect::<Vec<_>>());
        // A short interval bounds the spread.
        assert!(first_run_offset(12345, Duration::from_secs(1)) < Duration::from_secs(1));
    }

    #[test]
    fn runs_keep_their_phase_and_skip_missed_ones() {
        let t0 = Instant::now();
        let mut s = Schedule::default();
        s.assign(vec![check(1, 10, 80)], t0);
        let first = s.slots[&1].due;
        assert_eq!(start_all(&mut s, first), vec![1]);
        // Running: not started again even when due.
        assert!(s.start_next(first + Duration::from_secs(30)).is_none());
        assert_eq!(s.next_due(), None, "nothing to wake for while it runs");
        assert_eq!(s.finished(1, true), (true, None));
        assert_eq!(s.next_due(), Some(first + Duration::from_secs(10)));
        // Started 3 s late (slots were busy): the phase is kept.
        assert_eq!(start_all(&mut s, first + Duration::from_secs(13)), vec![1]);
        s.finished(1, true);
        assert_eq!(s.next_due(), Some(first + Duration::from_secs(20)));
        // Suspended for a minute: the missed runs are skipped, not burst.
        let late = first + Duration::from_secs(80);
        assert_eq!(start_all(&mut s, late), vec![1]);
        assert_eq!(s.finished(1, false), (true, Some(true)));
        assert_eq!(s.next_due(), Some(late + Duration::from_secs(10)));
    }

    #[test]
    fn the_most_overdue_check_starts_first() {
        let t0 = Instant::now();
        let mut s = Schedule::default();
        s.assign(vec![check(1, 10, 80), check(2, 10, 80)], t0);
        s.slots.get_mut(&1).unwrap().due = t0 + Duration::from_secs(2);
        s.slots.get_mut(&2).unwrap().due = t0 + Duration::from_secs(1);
        let now = t0 + Duration::from_secs(5);
        assert_eq!(s.start_next(now).unwrap().id, 2);
        assert_eq!(s.start_next(now).unwrap().id, 1);
        assert!(s.start_next(now).is_none());
    }

    #[test]
    fn removed_checks_stop_and_their_late_results_are_not_sent() {
        let t0 = Instant::now();
        let mut s = Schedule::default();
        s.assign(vec![check(1, 10, 80), check(2, 10, 80)], t0);
        let now = t0 + FIRST_RUN_SPREAD;
        assert_eq!(start_all(&mut s, now).len(), 2);
        let changes = s.assign(vec![check(2, 10, 80)], now);
        assert_eq!(
            changes,
            Changes {
                added: 0,
                removed: 1,
                changed: 0
            }
        );
        assert_eq!(s.finished(1, true), (false, None));
        assert_eq!(s.finished(2, true), (true, None));
        assert_eq!(
            start_all(&mut s, now + Duration::from_secs(3600)),
            vec![2],
            "only the assigned check runs"
        );
        // The same list again changes nothing.
        assert_eq!(s.assign(vec![check(2, 10, 80)], now), Changes::default());
        // An empty list stops everything.
        s.assign(Vec::new(), now);
        assert_eq!(s.len(), 0);
        assert_eq!(s.next_due(), None);
    }

    #[test]
    fn a_changed_interval_counts_from_the_last_run() {
        let t0 = Instant::now();
        let mut s = Schedule::default();
        s.assign(vec![check(1, 60, 80)], t0);
        let start = s.next_due().unwrap();
        assert_eq!(start_all(&mut s, start), vec![1]);
        s.finished(1, true);
        assert_eq!(s.next_due(), Some(start + Duration::from_secs(60)));
        // Shorter: next run 10 s after the last.
        let now = start + Duration::from_secs(5);
        assert_eq!(s.assign(vec![check(1, 10, 80)], now).changed, 1);
        assert_eq!(s.next_due(), Some(start + Duration::from_secs(10)));
        // Shorter than the time already elapsed: runs now.
        let now = start + Duration::from_secs(8);
        s.assign(vec![check(1, 5, 80)], now);
        assert_eq!(s.next_due(), Some(now));
        // Longer: 120 s after the last run.
        s.assign(vec![check(1, 120, 80)], now);
        assert_eq!(s.next_due(), Some(start + Duration::from_secs(120)));
        assert_eq!(s.slots[&1].interval, Duration::from_secs(120));
    }

    #[test]
    fn a_changed_spec_runs_soon_and_a_changed_timeout_keeps_the_phase() {
        let t0 = Instant::now();
        let mut s = Schedule::default();
        s.assign(vec![check(7, 300, 80)], t0);
        let start = s.next_due().unwrap();
        assert_eq!(start_all(&mut s, start), vec![7]);
        s.finished(7, false);
        let now = start + Duration::from_secs(20);
        let mut longer = check(7, 300, 80);
        longer.timeout_s = 30;
        s.assign(vec![longer], now);
        assert_eq!(s.next_due(), Some(start + Duration::from_secs(300)));
        assert_eq!(s.slots[&7].job.timeout, Duration::from_secs(30));
        s.assign(vec![check(7, 300, 8080)], now);
        let due = s.next_due().unwrap();
        assert!(
            due >= now && due < now + FIRST_RUN_SPREAD,
            "{:?}",
            due - now
        );
        match &s.start_next(due).unwrap().spec {
            Ok(CheckSpec::Tcp(t)) => assert_eq!(t.port, 8080),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_bad_spec_is_a_job_carrying_the_parse_error() {
        let t0 = Instant::now();
        let mut s = Schedule::default();
        let mut bad = check(3, 10, 80);
        bad.spec = serde_json::json!({"type": "smtp", "host": "x"});
        s.assign(vec![bad], t0);
        let job = s.start_next(t0 + FIRST_RUN_SPREAD).unwrap();
        let err = job.spec.unwrap_err();
        assert!(err.starts_with("invalid check spec: "), "{err}");
        assert!(err.contains("smtp"), "{err}");
        let r = probe(&s.slots[&3].job);
        assert!(!r.up && r.error.as_deref() == Some(err.as_str()), "{r:?}");
    }

    #[test]
    fn values_from_the_server_are_bounded() {
        let mut c = check(1, 0, 80);
        c.timeout_s = 600;
        let interval = interval_of(&c);
        assert_eq!(interval, MIN_INTERVAL);
        assert_eq!(
            Job::of(&c, interval).timeout,
            MIN_INTERVAL,
            "at most the interval"
        );
        c.interval_s = 3600;
        assert_eq!(Job::of(&c, interval_of(&c)).timeout, MAX_TIMEOUT);
        c.timeout_s = 0;
        assert_eq!(Job::of(&c, interval_of(&c)).timeout, Duration::from_secs(1));
    }

    #[test]
    fn a_forgotten_check_stops_until_assigned_again() {
        let t0 = Instant::now();
        let mut s = Schedule::default();
        s.assign(vec![check(1, 10, 80)], t0);
        assert!(s.forget(1));
        assert!(!s.forget(1));
        assert!(s.start_next(t0 + Duration::from_secs(60)).is_none());
        assert_eq!(s.assign(vec![check(1, 10, 80)], t0).added, 1);
    }

    fn settings() -> Settings {
        Settings {
            flush_every: Duration::from_secs(2),
            flush_at: 3,
            ..Settings::default()
        }
    }

    #[test]
    fn the_outbox_flushes_on_age_or_size() {
        let t0 = Instant::now();
        let s = settings();
        let mut o = Outbox::default();
        assert_eq!(o.due_at(&s), None);
        o.push(result(1, true), t0, 10);
        o.push(result(2, true), t0 + Duration::from_secs(1), 10);
        assert_eq!(o.due_at(&s), Some(t0 + Duration::from_secs(2)));
        o.push(result(1, true), t0 + Duration::from_secs(1), 10);
        assert_eq!(o.due_at(&s), Some(t0), "full batch: now");
    }

    #[test]
    fn a_batch_holds_one_checks_results_and_a_flush_takes_everything_waiting() {
        let t0 = Instant::now();
        let s = settings();
        let mut o = Outbox::default();
        for id in [1, 2, 1, 3, 1, 1, 1] {
            o.push(result(id, true), t0, 100);
        }
        let b = o.batch(s.flush_at).unwrap();
        assert_eq!(b.check_id, 1);
        assert_eq!(b.seqs, vec![0, 2, 4]);
        assert!(b.results.iter().all(|r| r.check_id == 1));
        // Not settled: the same batch again.
        assert_eq!(o.batch(s.flush_at).unwrap().seqs, vec![0, 2, 4]);
        assert_eq!(o.settle(&b.seqs), 3);
        // What waited when the flush began goes at once...
        let later = t0 + Duration::from_millis(10);
        o.push(result(4, true), later, 100);
        assert_eq!(o.due_at(&s), Some(t0));
        let b = o.batch(s.flush_at).unwrap();
        assert_eq!((b.check_id, b.seqs.clone()), (2, vec![1]));
        o.settle(&b.seqs);
        let b = o.batch(s.flush_at).unwrap();
        assert_eq!((b.check_id, b.seqs.clone()), (3, vec![3]));
        o.settle(&b.seqs);
        let b = o.batch(s.flush_at).unwrap();
        assert_eq!((b.check_id, b.seqs.clone()), (1, vec![5, 6]));
        o.settle(&b.seqs);
        // ...and what arrived during the flush waits its own turn.
        assert_eq!(o.due_at(&s), Some(later + s.flush_every));
        let b = o.batch(s.flush_at).unwrap();
        assert_eq!((b.check_id, b.seqs.clone()), (4, vec![7]));
        o.settle(&b.seqs);
        assert_eq!(o.len(), 0);
        assert_eq!(o.due_at(&s), None);
    }

    #[test]
    fn the_outbox_is_bounded_dropping_the_oldest() {
        let t0 = Instant::now();
        let mut o = Outbox::default();
        let mut dropped = 0;
        for i in 0..10 {
            let mut r = result(1, true);
            r.ts = i;
            dropped += o.push(r, t0, 4);
        }
        assert_eq!((o.len(), dropped), (4, 6));
        let b = o.batch(100).unwrap();
        assert_eq!(
            b.results.iter().map(|r| r.ts).collect::<Vec<_>>(),
            vec![6, 7, 8, 9]
        );
        // Dropped while in flight: settling forgets only what is left.
        o.push(result(1, true), t0, 4);
        assert_eq!(o.settle(&b.seqs), 3);
        assert_eq!(o.len(), 1);
    }

    #[test]
    fn an_unknown_check_loses_all_its_results_and_only_those() {
        let t0 = Instant::now();
        let mut o = Outbox::default();
        for id in [1, 2, 1, 2, 3] {
            o.push(result(id, false), t0, 100);
        }
        assert_eq!(o.drop_check(2), 2);
        assert_eq!(o.len(), 3);
        assert!(o.items.iter().all(|p| p.result.check_id != 2));
    }
}
