//! Command mode: the remote-command path under load. Every simulated agent
//! registers announcing one action (`noop`), long-polls
//! `GET /api/agent/commands` like `lxmon-agent`, and answers each command
//! at once the way the agent's executor reports a process (seq 0
//! `running`, seq 1 `succeeded` with its output) through
//! `POST /api/agent/command-result`. A simulated user logs in and sends
//! commands through `POST /api/servers/{id}/command`, `concurrency` at a
//! time, round-robin over the hosts, and times each from just before its
//! POST to the agent's receipt (delivery) and to the server's
//! acknowledgement that the final result is stored (round trip).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use hyper::Method;
use hyper::header::HeaderValue;
use lxmon_proto::{ActionSpec, CommandPoll, CommandStatus, CommandUpdate, CommandUpdateAck};
use serde::Serialize;
use tokio::sync::oneshot;

use crate::client::{Client, Outcome};
use crate::procfs::Watch;
use crate::runner::{Agent, RunConfig, agents_for, register_all, usage};
use crate::stats::{Latency, ProcessUsage, round3};

/// The action every simulated agent announces and answers.
pub const ACTION: &str = "noop";
/// Seconds each long-poll is held open (the agent's own default is 30; the
/// request timeout must exceed it).
const POLL_WAIT_S: u32 = 20;

/// The user side of a command run.
#[derive(Debug, Clone)]
pub struct CommandConfig {
    /// Commands to send in all.
    pub commands: u64,
    /// Dashboard login of the user who sends them.
    pub username: String,
    pub password: String,
}

/// The JSON printed at the end of a command run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CommandSummary {
    pub mode: String,
    pub agents: usize,
    /// Commands in flight at most.
    pub concurrency: usize,
    pub commands_sent: u64,
    /// Commands whose final result the server acknowledged as stored.
    pub commands_completed: u64,
    /// Commands that failed: refused POSTs, lost or timed-out results.
    pub errors: u64,
    /// Failures by kind (HTTP status of the step, or `timeout`).
    pub failures: BTreeMap<String, u64>,
    /// POST sent → the agent's long-poll returned the command.
    pub delivery_ms: Latency,
    /// POST sent → the server acknowledged the stored final result.
    pub round_trip_ms: Latency,
    /// Long-poll requests the agents made.
    pub polls: u64,
    pub duration_s: f64,
    pub commands_per_s: f64,
    pub registrations_ok: u64,
    pub registration_errors: u64,
    /// Server CPU per completed command (all of its requests: the POST,
    /// the long-poll's answer and two result updates), milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_cpu_ms_per_command: Option<f64>,
    /// In both: CPU per million commands in `cpu_s_per_million_samples`.
    pub loadgen: ProcessUsage,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<ProcessUsage>,
}

/// What the agents tell the senders: when each command arrived and when
/// its result was stored. Keyed by command id; a sender may learn its id
/// after the agent already saw the command, so whichever side comes second
/// completes the pair.
#[derive(Default)]
struct Board {
    received: HashMap<i64, Instant>,
    stored_early: HashMap<i64, Instant>,
    waiting: HashMap<i64, oneshot::Sender<Instant>>,
}

impl Board {
    fn stored(&mut self, id: i64, at: Instant) {
        match self.waiting.remove(&id) {
            Some(tx) => {
                let _ = tx.send(at);
            }
            None => {
                self.stored_early.insert(id, at);
            }
        }
    }
}

fn fail(failures: &Mutex<BTreeMap<String, u64>>, kind: String) {
    *failures
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry(kind)
        .or_default() += 1;
}

fn kind_of(step: &str, outcome: &Outcome) -> String {
    match outcome {
        Outcome::Status(s, _) => format!("{step} {}", s.as_u16()),
        Outcome::Failed(kind) => format!("{step} {kind}"),
    }
}

/// Runs the command load: registers the agents, starts their long-polls,
/// sends `cmd.commands` commands and returns the summary.
pub async fn run(cfg: &RunConfig, cmd: &CommandConfig) -> anyhow::Result<CommandSummary> {
    anyhow::ensure!(!cfg.keys.is_empty(), "no agent keys given");
    anyhow::ensure!(
        cfg.timeout > Duration::from_secs(POLL_WAIT_S as u64),
        "--timeout must exceed the long-poll's {POLL_WAIT_S} s"
    );
    let client = Client::new(&cfg.server, cfg.timeout)?;
    let mut agents = agents_for(cfg, crate::runner::now_ms())?;
    let action = ActionSpec {
        name: ACTION.to_owned(),
        description: "lxmon-loadgen: answered at once, runs nothing".to_owned(),
        params: Vec::new(),
        timeout_s: 10,
    };
    let (registrations_ok, registration_errors) =
        register_all(&client, &mut agents, cfg.concurrency.max(1), &[action]).await;
    let agents: Vec<Agent> = agents.into_iter().filter(|a| a.host_id.is_some()).collect();
    anyhow::ensure!(
        !agents.is_empty(),
        "no agent could register with {} ({registration_errors} errors)",
        cfg.server
    );
    let session = login(&client, cmd).await?;

    let board = Arc::new(Mutex::new(Board::default()));
    let polls = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(Mutex::new(BTreeMap::new()));
    let hosts: Vec<i64> = agents.iter().filter_map(|a| a.host_id).collect();
    let pollers: Vec<_> = agents
        .into_iter()
        .map(|a| {
            let (client, board, polls, failures) = (
                client.clone(),
                board.clone(),
                polls.clone(),
                failures.clone(),
            );
            tokio::spawn(
                async move { answer_commands(client, a.auth, board, polls, failures).await },
            )
        })
        .collect();
    // Let every agent's first long-poll reach the server before timing.
    wait_for_polls(&polls, hosts.len() as u64).await;

    let mut server_watch = cfg.server_pid.and_then(Watch::start);
    let mut self_watch = Watch::start(std::process::id()).context("cannot read /proc/self")?;
    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let concurrency = cfg.concurrency.clamp(1, cmd.commands.max(1) as usize);
    let senders: Vec<_> = (0..concurrency)
        .map(|_| {
            let (client, board, failures, next, hosts, session) = (
                client.clone(),
                board.clone(),
                failures.clone(),
                next.clone(),
                hosts.clone(),
                session.clone(),
            );
            let (total, timeout) = (cmd.commands, cfg.timeout);
            tokio::spawn(async move {
                let mut done = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i as u64 >= total {
                        break;
                    }
                    let host = hosts[i % hosts.len()];
                    if let Some(t) =
                        send_one(&client, &session, host, &board, &failures, timeout).await
                    {
                        done.push(t);
                    }
                }
                done
            })
        })
        .collect();
    let mut timings = Vec::new();
    for sender in senders {
        timings.extend(sender.await.unwrap_or_default());
    }
    let elapsed = started.elapsed().as_secs_f64();
    for poller in &pollers {
        poller.abort();
    }
    let received = std::mem::take(&mut board.lock().unwrap_or_else(|p| p.into_inner()).received);
    let (mut delivery_us, mut round_trip_us) = (Vec::new(), Vec::new());
    for (id, posted, stored) in &timings {
        if let Some(at) = received.get(id) {
            delivery_us.push(micros(at.saturating_duration_since(*posted)));
        }
        round_trip_us.push(micros(stored.saturating_duration_since(*posted)));
    }
    let completed = timings.len() as u64;
    let failures = std::mem::take(&mut *failures.lock().unwrap_or_else(|p| p.into_inner()));
    let sent = next.load(Ordering::Relaxed).min(cmd.commands as usize) as u64;
    let server = server_watch.as_mut().map(|w| usage(w, 0.0, completed));
    Ok(CommandSummary {
        mode: "commands".to_owned(),
        agents: hosts.len(),
        concurrency,
        commands_sent: sent,
        commands_completed: completed,
        errors: sent - completed,
        failures,
        delivery_ms: Latency::from_us(&mut delivery_us),
        round_trip_ms: Latency::from_us(&mut round_trip_us),
        polls: polls.load(Ordering::Relaxed),
        duration_s: round3(elapsed),
        commands_per_s: round3(completed as f64 / elapsed.max(1e-9)),
        registrations_ok,
        registration_errors,
        server_cpu_ms_per_command: server
            .as_ref()
            .filter(|_| completed > 0)
            .map(|s| round3(s.cpu_s * 1000.0 / completed as f64)),
        loadgen: usage(&mut self_watch, 0.0, completed),
        server,
    })
}

fn micros(d: Duration) -> u32 {
    d.as_micros().min(u32::MAX as u128) as u32
}

async fn login(client: &Client, cmd: &CommandConfig) -> anyhow::Result<HeaderValue> {
    let body = serde_json::json!({"username": cmd.username, "password": cmd.password});
    let outcome = client
        .request(
            Method::POST,
            "/api/auth/login",
            None,
            Some(Bytes::from(body.to_string())),
        )
        .await;
    let Outcome::Status(status, body) = outcome else {
        anyhow::bail!("login failed: {}", kind_of("login", &outcome));
    };
    anyhow::ensure!(
        status.is_success(),
        "login as {} failed: {status} {}",
        cmd.username,
        String::from_utf8_lossy(&body)
    );
    let token = serde_json::from_slice::<serde_json::Value>(&body)?["token"]
        .as_str()
        .map(str::to_owned)
        .context("login answer without a token (does the user need TOTP?)")?;
    HeaderValue::from_str(&format!("Bearer {token}")).context("token is not a header value")
}

async fn wait_for_polls(polls: &AtomicU64, agents: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while polls.load(Ordering::Relaxed) < agents && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The last poll's request is on its way; give it a moment to arrive.
    tokio::time::sleep(Duration::from_millis(200)).await;
}

/// One command: POST, then wait for the agent's stored result. Returns
/// `(id, posted at, stored at)`, or `None` after recording the failure.
async fn send_one(
    client: &Client,
    session: &HeaderValue,
    host: i64,
    board: &Mutex<Board>,
    failures: &Mutex<BTreeMap<String, u64>>,
    timeout: Duration,
) -> Option<(i64, Instant, Instant)> {
    let body = Bytes::from(format!(r#"{{"action":"{ACTION}","args":{{}}}}"#));
    let posted = Instant::now();
    let outcome = client
        .request(
            Method::POST,
            &format!("/api/servers/{host}/command"),
            Some(session),
            Some(body),
        )
        .await;
    let id = match &outcome {
        Outcome::Status(s, body) if s.is_success() => {
            serde_json::from_slice::<serde_json::Value>(body)
                .ok()
                .and_then(|v| v["id"].as_i64())
        }
        _ => None,
    };
    let Some(id) = id else {
        fail(failures, kind_of("post", &outcome));
        return None;
    };
    let rx = {
        let mut b = board.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(at) = b.stored_early.remove(&id) {
            return Some((id, posted, at));
        }
        let (tx, rx) = oneshot::channel();
        b.waiting.insert(id, tx);
        rx
    };
    match tokio::time::timeout(timeout, rx).await {
        Ok(Ok(stored)) => Some((id, posted, stored)),
        _ => {
            board
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .waiting
                .remove(&id);
            fail(failures, "result timeout".to_owned());
            None
        }
    }
}

/// One agent's command loop: long-poll, answer every command, repeat.
async fn answer_commands(
    client: Client,
    auth: HeaderValue,
    board: Arc<Mutex<Board>>,
    polls: Arc<AtomicU64>,
    failures: Arc<Mutex<BTreeMap<String, u64>>>,
) {
    let path = format!("/api/agent/commands?wait={POLL_WAIT_S}");
    loop {
        polls.fetch_add(1, Ordering::Relaxed);
        let outcome = client.request(Method::GET, &path, Some(&auth), None).await;
        let poll = match &outcome {
            Outcome::Status(s, body) if s.is_success() => {
                serde_json::from_slice::<CommandPoll>(body).unwrap_or_default()
            }
            _ => {
                fail(&failures, kind_of("poll", &outcome));
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let now = Instant::now();
        {
            let mut b = board.lock().unwrap_or_else(|p| p.into_inner());
            for c in &poll.commands {
                b.received.insert(c.id, now);
            }
        }
        for command in poll.commands {
            let started = Instant::now();
            let running = CommandUpdate {
                id: command.id,
                seq: 0,
                status: CommandStatus::Running,
                output: String::new(),
                exit_code: None,
                duration_ms: None,
                truncated: false,
                error: None,
            };
            if !post_update(&client, &auth, &running, &failures).await {
                continue;
            }
            let done = CommandUpdate {
                seq: 1,
                status: CommandStatus::Succeeded,
                output: "ok\n".to_owned(),
                exit_code: Some(0),
                duration_ms: Some(started.elapsed().as_millis() as u64),
                ..running
            };
            if post_update(&client, &auth, &done, &failures).await {
                board
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .stored(command.id, Instant::now());
            }
        }
    }
}

/// Posts one update; true when the server stored it.
async fn post_update(
    client: &Client,
    auth: &HeaderValue,
    update: &CommandUpdate,
    failures: &Mutex<BTreeMap<String, u64>>,
) -> bool {
    let body = Bytes::from(serde_json::to_vec(update).expect("an update serializes"));
    let outcome = client
        .request(
            Method::POST,
            "/api/agent/command-result",
            Some(auth),
            Some(body),
        )
        .await;
    match &outcome {
        Outcome::Status(s, body) if s.is_success() => {
            serde_json::from_slice::<CommandUpdateAck>(body).is_ok_and(|a| a.stored)
        }
        _ => {
            fail(failures, kind_of("result", &outcome));
            false
        }
    }
}
