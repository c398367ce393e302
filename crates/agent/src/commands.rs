//! Remote commands: long-poll for them, run the allowed ones, deliver
//! their results.
//!
//! ```text
//! poll thread ──► accept (allowlist) ──► local queue ──► ≤ 4 workers (exec)
//!      │                 │ rejected                          │ updates
//!      └── cancel ───────┴──────────────► outbox ◄───────────┘
//!                                            │
//!                                  sender thread ──► POST command-result
//! ```
//!
//! - The **poll thread** loops on `GET /api/agent/commands?wait=30`, apart
//!   from the metrics loop so a command arrives within a round trip. New
//!   commands go through [`Actions::prepare`]; refused ones get a single
//!   `rejected` update and nothing runs. `cancel` kills the command's
//!   process group and drops its updates.
//! - Up to [`MAX_PARALLEL`] commands run at once, each in a worker thread
//!   running [`exec::execute`]; up to [`MAX_QUEUED`] more wait locally.
//! - Each command has an **outbox** entry: its output not yet sent and its
//!   final status. The **sender thread** turns them into numbered updates
//!   (seq 0 is `running`, each chunk at most
//!   [`lxmon_proto::MAX_COMMAND_CHUNK_BYTES`]) and posts them in order, one
//!   in flight per command, round-robin between commands. A failed post is
//!   resent unchanged (same seq) with backoff until it lands, so a result
//!   survives a server restart; a 4xx other than 408/429 drops that
//!   command's updates. Memory stays bounded: an entry holds at most the
//!   action's output cap, and no new command starts while
//!   [`MAX_UNDELIVERED`] finished ones wait for the server.
//! - On shutdown, running commands are killed, and each command's remaining
//!   updates (ending with `failed`, "agent stopped") are tried once.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::ops::Bound;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use lxmon_proto::{AgentCommand, CommandStatus, CommandUpdate, MAX_COMMAND_CHUNK_BYTES};

use crate::actions::{Actions, Invocation, clip};
use crate::backoff::Backoff;
use crate::config::Secret;
use crate::exec::{self, Control, Finished, Killer, Sink, StopReason};
use crate::shutdown::Shutdown;
use crate::transport::{Transport, UpdateError};

/// Commands running at once.
pub const MAX_PARALLEL: usize = 4;
/// Commands waiting for a free slot; more are rejected.
pub const MAX_QUEUED: usize = 32;
/// Seconds the server may hold a poll open.
pub const POLL_WAIT_S: u32 = 30;
/// Longest delay between retries (commands are interactive).
pub const RETRY_MAX: Duration = Duration::from_secs(30);
/// Finished commands whose results have not landed yet; beyond this no
/// queued command starts until some land.
pub const MAX_UNDELIVERED: usize = 16;
/// Commands known locally (queued, running or with undelivered updates);
/// beyond this new ones are ignored and left to expire on the server.
pub const MAX_TRACKED: usize = 256;
/// Command ids remembered, so a command delivered twice runs once.
const REMEMBERED_IDS: usize = 1024;
/// At shutdown: how long killed commands may take to report, and how long
/// their last updates may take to send.
const STOP_WAIT: Duration = Duration::from_secs(5);
const STOP_SEND: Duration = Duration::from_secs(5);
/// Request timeout of the last updates at shutdown.
const STOP_REQUEST_TIMEOUT: Duration = Duration::from_secs(3);
/// An empty poll answered faster than this is followed by a pause, so a
/// server that does not hold polls open is not hammered.
const QUICK_POLL: Duration = Duration::from_millis(500);

/// Counters of the command channel.
#[derive(Debug, Default)]
pub struct CommandStats {
    received: AtomicU64,
    rejected: AtomicU64,
    started: AtomicU64,
    finished: AtomicU64,
    updates_sent: AtomicU64,
    update_failures: AtomicU64,
}

impl CommandStats {
    /// Commands received from the server (duplicates not counted).
    pub fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }
    /// Commands refused by the allowlist or a full queue.
    pub fn rejected(&self) -> u64 {
        self.rejected.load(Ordering::Relaxed)
    }
    /// Commands handed to a worker.
    pub fn started(&self) -> u64 {
        self.started.load(Ordering::Relaxed)
    }
    /// Commands whose result is known.
    pub fn finished(&self) -> u64 {
        self.finished.load(Ordering::Relaxed)
    }
    /// Updates the server acknowledged.
    pub fn updates_sent(&self) -> u64 {
        self.updates_sent.load(Ordering::Relaxed)
    }
    /// Update posts that failed (each retry counts).
    pub fn update_failures(&self) -> u64 {
        self.update_failures.load(Ordering::Relaxed)
    }
}

/// Checks, before anything runs, what the allowlist needs from the host:
/// running as another user needs root with CAP_SETUID, CAP_SETGID and
/// CAP_KILL (without CAP_KILL a timed-out command could not be killed).
/// Missing programs are only warned about: they fail when run.
pub fn preflight(actions: &Actions) -> Result<(), String> {
    for action in actions.iter() {
        if std::fs::metadata(action.program()).is_err() {
            tracing::warn!(
                action = action.name(),
                program = action.program(),
                "the program of this action does not exist; running it will fail"
            );
        }
    }
    let Some(action) = actions.iter().find(|a| a.user().is_some()) else {
        return Ok(());
    };
    let user = action.user().unwrap_or_default();
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Err(format!(
            "action {:?} runs as user {user:?}, which needs the agent to run as root",
            action.name()
        ));
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let effective = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok());
    if let Some(caps) = effective {
        // Capability numbers from linux/capability.h.
        let missing: Vec<&str> = [(7, "CAP_SETUID"), (6, "CAP_SETGID"), (5, "CAP_KILL")]
            .into_iter()
            .filter(|(bit, _)| caps & (1u64 << bit) == 0)
            .map(|(_, name)| name)
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "action {:?} runs as user {user:?}, which needs the capabilities CAP_SETUID, CAP_SETGID and CAP_KILL; the agent lacks {} (add them to CapabilityBoundingSet and allow the setuid system calls in lxmon-agent.service)",
                action.name(),
                missing.join(", ")
            ));
        }
    }
    Ok(())
}

/// The running command channel. Stops when the [`Shutdown`] it was started
/// with is triggered; [`CommandRunner::join`] waits for its last updates.
pub struct CommandRunner {
    sender: JoinHandle<()>,
}

impl CommandRunner {
    /// Starts the poll and sender threads. `request_timeout` bounds each
    /// result post; polls wait [`POLL_WAIT_S`] more.
    pub fn start(
        actions: Actions,
        server: &str,
        key: &Secret,
        request_timeout: Duration,
        shutdown: &Shutdown,
        stats: Arc<CommandStats>,
    ) -> std::io::Result<CommandRunner> {
        let shared = Arc::new(Shared {
            actions,
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
            stats,
        });
        let results = Transport::new(server, key, request_timeout);
        let last_chance = Transport::new(server, key, request_timeout.min(STOP_REQUEST_TIMEOUT));
        let polls = Transport::new(
            server,
            key,
            Duration::from_secs(POLL_WAIT_S as u64) + request_timeout,
        );
        let sender = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("command-results".into())
                .stack_size(256 * 1024)
                .spawn(move || send_loop(&shared, &results, &last_chance))?
        };
        {
            let shared = shared.clone();
            shutdown.on_trigger(move || shared.stop_all());
        }
        // Not joined: a poll in progress cannot be interrupted, and nothing
        // it receives after shutdown is acted upon.
        let (poll_shared, poll_shutdown) = (shared.clone(), shutdown.clone());
        let spawned = std::thread::Builder::new()
            .name("command-poll".into())
            .stack_size(256 * 1024)
            .spawn(move || poll_loop(&poll_shared, &polls, &poll_shutdown));
        if let Err(e) = spawned {
            shared.stop_all();
            let _ = sender.join();
            return Err(e);
        }
        Ok(CommandRunner { sender })
    }

    /// Waits until the runner has stopped (after shutdown was triggered):
    /// running commands killed, their last updates tried once.
    pub fn join(self) {
        let _ = self.sender.join();
    }
}

struct Shared {
    actions: Actions,
    state: Mutex<State>,
    /// Wakes the sender (new work, acknowledgements, stopping) and the
    /// shutdown wait for workers.
    wake: Condvar,
    stats: Arc<CommandStats>,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Invocation>,
    running: HashMap<i64, Killer>,
    workers: usize,
    outbox: BTreeMap<i64, Entry>,
    seen: VecDeque<i64>,
    stopping: bool,
}

impl State {
    fn undelivered(&self) -> usize {
        self.outbox
            .values()
            .filter(|e| e.finished.is_some())
            .count()
    }

    /// The next update to post, round-robin after command `after`.
    fn next_update(&mut self, after: i64) -> Option<(i64, CommandUpdate)> {
        let id = self
            .outbox
            .range((Bound::Excluded(after), Bound::Unbounded))
            .chain(self.outbox.range(..=after))
            .find(|(_, e)| e.has_work())
            .map(|(id, _)| *id)?;
        let update = self.outbox.get_mut(&id)?.next_update(id)?;
        Some((id, update))
    }
}

/// What is left to tell the server about one command.
#[derive(Debug, Default)]
struct Entry {
    /// The process started: seq 0 is `running`.
    started: bool,
    running_sent: bool,
    /// Output not yet in an update.
    pending: String,
    finished: Option<Finished>,
    next_seq: u32,
    /// Posted and not acknowledged yet; resent unchanged.
    in_flight: Option<CommandUpdate>,
}

impl Entry {
    fn not_run(status: CommandStatus, error: String) -> Entry {
        Entry {
            finished: Some(Finished::not_run(status, error)),
            ..Entry::default()
        }
    }

    fn has_work(&self) -> bool {
        self.in_flight.is_some()
            || (self.started && !self.running_sent)
            || self.finished.is_some()
            || !self.pending.is_empty()
    }

    fn next_update(&mut self, id: i64) -> Option<CommandUpdate> {
        if let Some(u) = &self.in_flight {
            return Some(u.clone());
        }
        let mut update = CommandUpdate {
            id,
            seq: self.next_seq,
            status: CommandStatus::Running,
            output: String::new(),
            exit_code: None,
            duration_ms: None,
            truncated: false,
            error: None,
        };
        if self.started && !self.running_sent {
            self.running_sent = true;
            update.output = take_chunk(&mut self.pending);
        } else if let Some(f) = &self.finished {
            if self.pending.len() > MAX_COMMAND_CHUNK_BYTES {
                update.output = take_chunk(&mut self.pending);
            } else {
                update.status = f.status;
                update.output = std::mem::take(&mut self.pending);
                update.exit_code = f.exit_code;
                update.duration_ms = self.started.then_some(f.duration_ms);
                update.truncated = f.truncated;
                update.error = f.error.clone();
            }
        } else if !self.pending.is_empty() {
            update.output = take_chunk(&mut self.pending);
        } else {
            return None;
        }
        self.next_seq += 1;
        self.in_flight = Some(update.clone());
        Some(update)
    }
}

/// Up to [`MAX_COMMAND_CHUNK_BYTES`] from the front of `pending`, cut at a
/// character boundary.
fn take_chunk(pending: &mut String) -> String {
    if pending.len() <= MAX_COMMAND_CHUNK_BYTES {
        return std::mem::take(pending);
    }
    let cut = clip(pending, MAX_COMMAND_CHUNK_BYTES).len();
    let rest = pending.split_off(cut);
    std::mem::replace(pending, rest)
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A command from a poll: refuse it, or queue it and start what may start.
    fn accept(self: &Arc<Self>, command: AgentCommand) {
        let mut st = self.lock();
        if st.stopping {
            return;
        }
        if st.seen.contains(&command.id) {
            tracing::debug!(id = command.id, "command received again; ignored");
            return;
        }
        if st.outbox.len() >= MAX_TRACKED {
            tracing::warn!(
                id = command.id,
                "too many commands in progress on this agent; this one is ignored"
            );
            return;
        }
        if st.seen.len() >= REMEMBERED_IDS {
            st.seen.pop_front();
        }
        st.seen.push_back(command.id);
        self.stats.received.fetch_add(1, Ordering::Relaxed);
        let action = clip(&command.action, 80);
        let entry = match self.actions.prepare(&command) {
            Err(reason) => {
                tracing::warn!(id = command.id, action, %reason, "command refused");
                self.stats.rejected.fetch_add(1, Ordering::Relaxed);
                Entry::not_run(CommandStatus::Rejected, reason)
            }
            Ok(_) if st.queue.len() >= MAX_QUEUED => {
                tracing::warn!(
                    id = command.id,
                    action,
                    "command refused: the local queue is full"
                );
                self.stats.rejected.fetch_add(1, Ordering::Relaxed);
                Entry::not_run(
                    CommandStatus::Rejected,
                    format!("too many commands waiting on this agent ({MAX_QUEUED})"),
                )
            }
            Ok(invocation) => {
                tracing::info!(id = command.id, action, "command received");
                st.queue.push_back(invocation);
                Entry::default()
            }
        };
        st.outbox.insert(command.id, entry);
        self.schedule(&mut st);
        self.wake.notify_all();
    }

    /// Starts queued commands while there is room.
    fn schedule(self: &Arc<Self>, st: &mut State) {
        while !st.stopping
            && st.workers < MAX_PARALLEL
            && !st.queue.is_empty()
            && st.undelivered() < MAX_UNDELIVERED
        {
            let Some(invocation) = st.queue.pop_front() else {
                break;
            };
            let id = invocation.id;
            let control = Control::new();
            st.running.insert(id, control.killer());
            st.workers += 1;
            self.stats.started.fetch_add(1, Ordering::Relaxed);
            let shared = self.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("cmd-{id}"))
                .stack_size(256 * 1024)
                .spawn(move || shared.work(&invocation, control));
            if let Err(e) = spawned {
                tracing::error!(id, error = %e, "cannot start a command thread");
                st.running.remove(&id);
                st.workers -= 1;
                if let Some(entry) = st.outbox.get_mut(&id) {
                    entry.finished = Some(Finished::not_run(
                        CommandStatus::Failed,
                        format!("cannot start a thread: {e}"),
                    ));
                }
            }
        }
    }

    /// A worker thread: runs one command, then makes room for the next.
    fn work(self: Arc<Self>, invocation: &Invocation, control: Control) {
        tracing::info!(
            id = invocation.id,
            action = %invocation.action,
            "running command"
        );
        let mut sink = OutboxSink {
            shared: &self,
            id: invocation.id,
            action: &invocation.action,
        };
        exec::execute(invocation, control, &mut sink);
        let mut st = self.lock();
        st.running.remove(&invocation.id);
        st.workers -= 1;
        self.schedule(&mut st);
        self.wake.notify_all();
    }

    /// The server cancelled `id`: kill it if it runs, forget it if it
    /// waits, send nothing more about it.
    fn cancel(self: &Arc<Self>, id: i64) {
        let mut st = self.lock();
        self.cancel_locked(&mut st, id);
    }

    fn cancel_locked(self: &Arc<Self>, st: &mut State, id: i64) {
        let mut known = st.outbox.remove(&id).is_some();
        if let Some(pos) = st.queue.iter().position(|i| i.id == id) {
            st.queue.remove(pos);
            known = true;
        }
        if let Some(killer) = st.running.get(&id) {
            killer.stop(StopReason::Cancelled);
            known = true;
        }
        if known {
            tracing::info!(id, "command cancelled by the server");
        }
        self.schedule(st);
        self.wake.notify_all();
    }

    /// The server acknowledged update `seq` of `id`.
    fn acked(self: &Arc<Self>, id: i64, seq: u32, cancelled: bool) {
        self.stats.updates_sent.fetch_add(1, Ordering::Relaxed);
        let mut st = self.lock();
        let Some(entry) = st.outbox.get_mut(&id) else {
            return;
        };
        if entry.in_flight.as_ref().map(|u| u.seq) != Some(seq) {
            return;
        }
        let last = entry.in_flight.take().is_some_and(|u| u.status.is_final());
        if last {
            st.outbox.remove(&id);
            self.schedule(&mut st);
        } else if cancelled {
            self.cancel_locked(&mut st, id);
        }
        self.wake.notify_all();
    }

    /// The server refused an update of `id`: send nothing more about it.
    fn drop_updates(&self, id: i64) {
        let mut st = self.lock();
        st.outbox.remove(&id);
        self.wake.notify_all();
    }

    /// Shutdown: kill what runs, fail what waits, wake the sender.
    fn stop_all(&self) {
        let mut st = self.lock();
        st.stopping = true;
        for killer in st.running.values() {
            killer.stop(StopReason::AgentStopped);
        }
        for invocation in std::mem::take(&mut st.queue) {
            if let Some(entry) = st.outbox.get_mut(&invocation.id) {
                entry.finished = Some(Finished::not_run(
                    CommandStatus::Failed,
                    "agent stopped before running it".into(),
                ));
            }
        }
        self.wake.notify_all();
    }

    fn with_entry(&self, id: i64, f: impl FnOnce(&mut Entry)) {
        let mut st = self.lock();
        if let Some(entry) = st.outbox.get_mut(&id) {
            f(entry);
            self.wake.notify_all();
        }
    }

    /// Sleeps `delay` unless stopping begins.
    fn pause(&self, delay: Duration) {
        let until = Instant::now() + delay;
        let mut st = self.lock();
        while !st.stopping {
            let now = Instant::now();
            if now >= until {
                break;
            }
            st = match self.wake.wait_timeout(st, until - now) {
                Ok((g, _)) => g,
                Err(e) => e.into_inner().0,
            };
        }
    }

    /// At shutdown: wait a little for the killed commands' results, then
    /// try each command's remaining updates once.
    fn last_updates(self: &Arc<Self>, transport: &Transport) {
        let until = Instant::now() + STOP_WAIT;
        let mut st = self.lock();
        while st.workers > 0 {
            let now = Instant::now();
            if now >= until {
                tracing::warn!(
                    running = st.workers,
                    "commands still running at exit; their results are lost"
                );
                break;
            }
            st = match self.wake.wait_timeout(st, until - now) {
                Ok((g, _)) => g,
                Err(e) => e.into_inner().0,
            };
        }
        let ids: Vec<i64> = st.outbox.keys().copied().collect();
        drop(st);
        let until = Instant::now() + STOP_SEND;
        for id in ids {
            loop {
                if Instant::now() >= until {
                    return;
                }
                let update = match self
                    .lock()
                    .outbox
                    .get_mut(&id)
                    .and_then(|e| e.next_update(id))
                {
                    Some(u) => u,
                    None => break,
                };
                match transport.send_command_update(&update) {
                    Ok(_) => self.acked(id, update.seq, false),
                    Err(e) => {
                        tracing::warn!(id, seq = update.seq, error = %e, "could not deliver a command's last update before stopping");
                        break;
                    }
                }
            }
        }
    }
}

/// Where a worker's progress goes: the command's outbox entry.
struct OutboxSink<'a> {
    shared: &'a Shared,
    id: i64,
    action: &'a str,
}

impl Sink for OutboxSink<'_> {
    fn started(&mut self) {
        self.shared.with_entry(self.id, |e| e.started = true);
    }

    fn output(&mut self, text: String) {
        self.shared.with_entry(self.id, |e| {
            if e.pending.is_empty() {
                e.pending = text;
            } else {
                e.pending.push_str(&text);
            }
        });
    }

    fn finished(&mut self, result: Finished) {
        self.shared.stats.finished.fetch_add(1, Ordering::Relaxed);
        tracing::info!(
            id = self.id,
            action = self.action,
            status = result.status.as_str(),
            exit_code = ?result.exit_code,
            duration_ms = result.duration_ms,
            truncated = result.truncated,
            output_bytes = result.output_bytes_seen,
            error = ?result.error,
            "command finished"
        );
        self.shared
            .with_entry(self.id, |e| e.finished = Some(result));
    }
}

fn poll_loop(shared: &Arc<Shared>, transport: &Transport, shutdown: &Shutdown) {
    let mut backoff = Backoff::with_max(RETRY_MAX);
    while !shutdown.is_triggered() {
        let began = Instant::now();
        match transport.poll_commands(POLL_WAIT_S) {
            Ok(poll) => {
                if backoff.failures() > 0 {
                    tracing::info!("polling for commands again");
                }
                backoff.reset();
                let quiet = poll.commands.is_empty() && poll.cancel.is_empty();
                for command in poll.commands {
                    shared.accept(command);
                }
                for id in poll.cancel {
                    shared.cancel(id);
                }
                if quiet && began.elapsed() < QUICK_POLL && shutdown.sleep(Duration::from_secs(1)) {
                    break;
                }
            }
            Err(e) => {
                let delay = backoff.next_delay();
                let retry_in = Duration::from_millis(delay.as_millis() as u64);
                if backoff.failures() == 1 {
                    tracing::warn!(error = %e, ?retry_in, "cannot poll for commands");
                } else {
                    tracing::debug!(error = %e, ?retry_in, "cannot poll for commands");
                }
                if shutdown.sleep(delay) {
                    break;
                }
            }
        }
    }
}

fn send_loop(shared: &Arc<Shared>, transport: &Transport, last_chance: &Transport) {
    let mut backoff = Backoff::with_max(RETRY_MAX);
    let mut after = i64::MIN;
    loop {
        let next = {
            let mut st = shared.lock();
            loop {
                if st.stopping {
                    break None;
                }
                if let Some(found) = st.next_update(after) {
                    break Some(found);
                }
                st = shared.wake.wait(st).unwrap_or_else(|e| e.into_inner());
            }
        };
        let Some((id, update)) = next else {
            break;
        };
        after = id;
        match transport.send_command_update(&update) {
            Ok(ack) => {
                if backoff.failures() > 0 {
                    tracing::info!("command results are delivered again");
                }
                backoff.reset();
                shared.acked(id, update.seq, ack.cancelled);
            }
            Err(UpdateError::Refused { status, message }) => {
                tracing::warn!(
                    id,
                    seq = update.seq,
                    status,
                    reason = %message,
                    "the server refused a command update; nothing more is sent about this command"
                );
                shared.drop_updates(id);
            }
            Err(UpdateError::Retry(message)) => {
                shared.stats.update_failures.fetch_add(1, Ordering::Relaxed);
                let delay = backoff.next_delay();
                let retry_in = Duration::from_millis(delay.as_millis() as u64);
                if backoff.failures() == 1 {
                    tracing::warn!(id, seq = update.seq, error = %message, ?retry_in, "cannot deliver a command update; it is kept and retried");
                } else {
                    tracing::debug!(id, seq = update.seq, error = %message, ?retry_in, "cannot deliver a command update");
                }
                shared.pause(delay);
            }
        }
    }
    shared.last_updates(last_chance);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finished(status: CommandStatus) -> Finished {
        Finished {
            status,
            exit_code: Some(0),
            duration_ms: 12,
            truncated: true,
            error: None,
            output_bytes_seen: 0,
        }
    }

    #[test]
    fn updates_are_numbered_running_first_final_last() {
        let mut e = Entry {
            started: true,
            ..Entry::default()
        };
        let u = e.next_update(5).unwrap();
        assert_eq!((u.id, u.seq, u.status), (5, 0, CommandStatus::Running));
        assert_eq!(e.next_update(5).unwrap(), u, "resent unchanged until acked");
        e.in_flight = None;
        assert!(e.next_update(5).is_none());
        e.pending = "x".repeat(MAX_COMMAND_CHUNK_BYTES + 10);
        e.finished = Some(finished(CommandStatus::Succeeded));
        let u = e.next_update(5).unwrap();
        assert_eq!(
            (u.seq, u.status, u.output.len()),
            (1, CommandStatus::Running, MAX_COMMAND_CHUNK_BYTES)
        );
        e.in_flight = None;
        let u = e.next_update(5).unwrap();
        assert_eq!(
            (u.seq, u.status, u.output.len()),
            (2, CommandStatus::Succeeded, 10)
        );
        assert_eq!(
            (u.exit_code, u.duration_ms, u.truncated),
            (Some(0), Some(12), true)
        );
    }

    #[test]
    fn a_rejection_is_a_single_final_update_at_seq_0() {
        let mut e = Entry::not_run(CommandStatus::Rejected, "nope".into());
        let u = e.next_update(9).unwrap();
        assert_eq!(
            (u.seq, u.status, u.error.as_deref(), u.duration_ms),
            (0, CommandStatus::Rejected, Some("nope"), None)
        );
    }

    #[test]
    fn chunks_never_split_a_character() {
        let mut pending = format!("{}€tail", "a".repeat(MAX_COMMAND_CHUNK_BYTES - 1));
        let first = take_chunk(&mut pending);
        assert_eq!(first.len(), MAX_COMMAND_CHUNK_BYTES - 1);
        assert_eq!(pending, "€tail");
    }

    #[test]
    fn round_robin_between_commands() {
        let mut st = State::default();
        for id in [1, 2, 3] {
            st.outbox.insert(
                id,
                Entry {
                    pending: "x".into(),
                    ..Entry::default()
                },
            );
        }
        let (a, _) = st.next_update(i64::MIN).unwrap();
        let (b, _) = st.next_update(a).unwrap();
        let (c, _) = st.next_update(b).unwrap();
        assert_eq!((a, b, c), (1, 2, 3));
        // Every one has an update in flight: the next turn resends 1's.
        let (d, u) = st.next_update(c).unwrap();
        assert_eq!((d, u.seq), (1, 0));
    }
}
