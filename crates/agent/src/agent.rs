//! The run loop: collect on schedule, deliver in sequence order, spool what
//! cannot be delivered yet.
//!
//! Two threads:
//!
//! - **collector** wakes on a fixed schedule, samples the host and hands the
//!   [`Report`] over a channel. It never touches the network, so a slow or
//!   dead server never delays a collection.
//! - **delivery** (the thread that called [`Agent::run`]) registers, numbers
//!   each report, sends it directly when nothing older is waiting, otherwise
//!   appends it to the spool and drains the spool oldest first (one report
//!   via `/metrics`, several via `/metrics/batch`). It also heartbeats and
//!   refreshes the server-side configuration (every `config_refresh`, five
//!   minutes by default), handing the health checks it lists to the
//!   [`CheckRunner`], which runs them on threads of its own. After a
//!   transient failure it backs off exponentially while reports keep
//!   accumulating in the spool.
//!
//! Delivery is strictly in `seq` order: a report is sent directly only when
//! the spool is empty, and reports that arrive while the spool drains are
//! queued behind it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use lxmon_proto::compress::UNKNOWN_BASE;
use lxmon_proto::{
    AgentConfig, Heartbeat, MAX_BATCH_RECORDS, MAX_INTERVAL_S, MIN_INTERVAL_S, MetricsAck,
    RegisterRequest, Report,
};

use crate::backoff::Backoff;
use crate::checks::{CheckRunner, CheckStats};
use crate::collectors::wall_clock_ms;
use crate::commands::{CommandRunner, CommandStats};
use crate::config::{Config, ConfigError};
use crate::sampler::Sampler;
use crate::shutdown::Shutdown;
use crate::spool::{Spool, SpoolError, SpoolLimits, SpooledRecord};
use crate::transport::{SendError, Transport};

/// How often the server-side configuration is fetched again, unless
/// `config_refresh` says otherwise.
pub const CONFIG_REFRESH: Duration = Duration::from_secs(crate::config::DEFAULT_CONFIG_REFRESH_S);

/// Uncompressed bytes per backfill batch (about 60 reports). Far below the
/// protocol's limit ([`lxmon_proto::MAX_BATCH_BYTES`]) on purpose: a batch is
/// held in memory two or three times over (records, body, compressed body,
/// the compressor's tables sized to it), and the agent's steady footprint
/// matters more than the number of requests while catching up — a day of
/// 10 s reports still drains in about 150 requests.
pub const BATCH_BYTES: usize = 256 * 1024;

/// Heartbeat period until the server says otherwise.
const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(60);

/// Why the agent could not start.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot open the spool: {0}")]
    Spool(#[from] SpoolError),
    #[error("cannot start the collector thread: {0}")]
    Thread(std::io::Error),
    #[error("remote commands: {0}")]
    Commands(String),
}

/// Live counters of a running agent, for logs, tests and debugging.
#[derive(Debug, Default)]
pub struct AgentStats {
    collected: AtomicU64,
    delivered: AtomicU64,
    rejected: AtomicU64,
    spool_appended: AtomicU64,
    spool_pending: AtomicU64,
    spool_dropped: AtomicU64,
    send_failures: AtomicU64,
    registered: AtomicBool,
    interval_s: AtomicU32,
    commands: Arc<CommandStats>,
    checks: Arc<CheckStats>,
}

impl AgentStats {
    /// Reports produced by the collector thread.
    pub fn collected(&self) -> u64 {
        self.collected.load(Ordering::Relaxed)
    }
    /// Reports the server acknowledged (stored or duplicate).
    pub fn delivered(&self) -> u64 {
        self.delivered.load(Ordering::Relaxed)
    }
    /// Reports the server refused as invalid and that were dropped.
    pub fn rejected(&self) -> u64 {
        self.rejected.load(Ordering::Relaxed)
    }
    /// Reports written to the spool.
    pub fn spool_appended(&self) -> u64 {
        self.spool_appended.load(Ordering::Relaxed)
    }
    /// Reports waiting in the spool.
    pub fn spool_pending(&self) -> u64 {
        self.spool_pending.load(Ordering::Relaxed)
    }
    /// Reports lost to the spool's bounds or to failed disk writes.
    pub fn spool_dropped(&self) -> u64 {
        self.spool_dropped.load(Ordering::Relaxed)
    }
    /// Requests that failed transiently or on authentication.
    pub fn send_failures(&self) -> u64 {
        self.send_failures.load(Ordering::Relaxed)
    }
    /// Whether registration has succeeded.
    pub fn registered(&self) -> bool {
        self.registered.load(Ordering::Relaxed)
    }
    /// The reporting interval in force, seconds.
    pub fn interval_s(&self) -> u32 {
        self.interval_s.load(Ordering::Relaxed)
    }
    /// Counters of the remote command channel.
    pub fn commands(&self) -> &CommandStats {
        &self.commands
    }
    /// Counters of the health checks this agent runs.
    pub fn checks(&self) -> &CheckStats {
        &self.checks
    }
}

/// A configured agent, ready to [`run`](Agent::run).
pub struct Agent {
    config: Config,
    spool: Spool,
    transport: Transport,
    sampler: Sampler,
    stats: Arc<AgentStats>,
}

impl Agent {
    /// Opens the spool and prepares the collectors and the HTTP client.
    /// Needs `server` and `key` in the config.
    pub fn new(config: Config) -> Result<Agent, AgentError> {
        let server = config.server.clone().ok_or(ConfigError::MissingServer)?;
        let key = config.key.clone().ok_or(ConfigError::MissingKey)?;
        crate::commands::preflight(&config.actions).map_err(AgentError::Commands)?;
        let spool_dir = config.spool_dir();
        let spool = Spool::open(
            &spool_dir,
            SpoolLimits {
                max_bytes: config.spool_max_bytes,
                max_age: config.spool_max_age,
            },
        )?;
        let transport = Transport::new(&server, &key, config.request_timeout);
        let sampler = Sampler::new(&config.roots, config.hostname.clone());
        let stats = Arc::new(AgentStats::default());
        stats.interval_s.store(config.interval_s, Ordering::Relaxed);
        stats.spool_pending.store(spool.len(), Ordering::Relaxed);
        tracing::info!(
            server = %server,
            hostname = %sampler.identity().hostname,
            interval_s = config.interval_s,
            spool_dir = %spool_dir.display(),
            spooled = spool.len(),
            actions = config.actions.len(),
            "lxmon-agent {} starting",
            crate::AGENT_VERSION
        );
        Ok(Agent {
            config,
            spool,
            transport,
            sampler,
            stats,
        })
    }

    /// Counters of this agent; they stay readable while it runs.
    pub fn stats(&self) -> Arc<AgentStats> {
        self.stats.clone()
    }

    /// Runs until `shutdown` is triggered. Then anything not delivered is in
    /// the spool, synced to disk. Errors only if the collector thread cannot
    /// start; an unreachable, failing or slow server and a full spool disk
    /// are survived, logged and retried.
    pub fn run(self, shutdown: &Shutdown) -> Result<(), AgentError> {
        let Agent {
            config,
            spool,
            transport,
            sampler,
            stats,
        } = self;
        let register_request = register_request(&config, &sampler);
        // Remote commands have their own threads (long-poll, results), so
        // a command never waits for the report schedule. None are polled
        // for without an allowlist.
        let commands = match (&config.server, &config.key) {
            (Some(server), Some(key)) if !config.actions.is_empty() => Some(
                CommandRunner::start(
                    config.actions.clone(),
                    server,
                    key,
                    config.request_timeout,
                    shutdown,
                    stats.commands.clone(),
                )
                .map_err(AgentError::Thread)?,
            ),
            _ => None,
        };
        // Health checks run on threads of their own, started with the
        // first configuration that assigns one.
        let checks = match (&config.server, &config.key) {
            (Some(server), Some(key)) => Some(CheckRunner::new(
                server,
                key,
                config.request_timeout,
                shutdown,
                stats.checks.clone(),
            )),
            _ => None,
        };
        let interval = Arc::new(AtomicU32::new(config.interval_s));
        let (tx, rx) = mpsc::channel();
        let collector = {
            let (interval, shutdown, stats) = (interval.clone(), shutdown.clone(), stats.clone());
            std::thread::Builder::new()
                .name("collector".into())
                .stack_size(256 * 1024)
                .spawn(move || collect_loop(sampler, tx, &interval, &shutdown, &stats))
                .map_err(AgentError::Thread)?
        };

        let now = Instant::now();
        let mut delivery = Delivery {
            spool,
            transport,
            stats,
            register_request,
            registered: false,
            backoff: Backoff::new(),
            next_attempt: now,
            heartbeat_every: DEFAULT_HEARTBEAT,
            next_heartbeat: now,
            next_config: now,
            config_refresh: config.config_refresh,
            checks,
            local_interval: config.interval_s,
            server_interval: None,
            interval,
            poisoned: None,
            force_single: false,
            json: Vec::with_capacity(16 * 1024),
            batch: Vec::new(),
            delta_reports: false,
            base_seq: None,
            base_json: Vec::with_capacity(16 * 1024),
        };
        delivery.run(&rx, shutdown);
        let _ = collector.join();
        delivery.finish();
        if let Some(commands) = commands {
            commands.join();
        }
        if let Some(checks) = delivery.checks.take() {
            checks.join();
        }
        Ok(())
    }
}

/// Identity and host facts for registration, as read at start.
fn register_request(config: &Config, sampler: &Sampler) -> RegisterRequest {
    let info = sampler.host_info();
    let identity = sampler.identity();
    RegisterRequest {
        hostname: identity.hostname.clone(),
        os: info.os.clone(),
        arch: info.arch.clone(),
        version: info.agent_version.clone(),
        kernel: info.kernel.clone(),
        machine_id: identity.machine_id.clone(),
        labels: config.labels.clone(),
        actions: config.actions.specs(),
    }
}

/// Samples on a fixed schedule until shutdown. A collection that overruns
/// (suspended VM, starved host) skips the missed ticks instead of bursting.
fn collect_loop(
    mut sampler: Sampler,
    tx: Sender<Report>,
    interval: &AtomicU32,
    shutdown: &Shutdown,
    stats: &AgentStats,
) {
    let mut next = Instant::now();
    loop {
        if shutdown.sleep_until(next) {
            break;
        }
        let secs = interval.load(Ordering::Relaxed);
        let report = sampler.sample(secs);
        stats.collected.fetch_add(1, Ordering::Relaxed);
        if tx.send(report).is_err() {
            break;
        }
        let period = Duration::from_secs(secs as u64);
        next += period;
        let now = Instant::now();
        if next <= now {
            next = now + period;
        }
    }
}

struct Delivery {
    spool: Spool,
    transport: Transport,
    stats: Arc<AgentStats>,
    register_request: RegisterRequest,
    registered: bool,
    backoff: Backoff,
    /// No request before this instant (backoff after a failure).
    next_attempt: Instant,
    heartbeat_every: Duration,
    next_heartbeat: Instant,
    next_config: Instant,
    config_refresh: Duration,
    /// Runs the health checks the server assigns.
    checks: Option<CheckRunner>,
    local_interval: u32,
    /// The server's override of the interval, if any.
    server_interval: Option<u32>,
    /// The interval in force, read by the collector thread.
    interval: Arc<AtomicU32>,
    /// Seq of a spooled report the server refused inside a batch: the
    /// reports before it are resent, then it is dropped.
    poisoned: Option<u64>,
    /// Send the next spooled report alone (a batch was refused without
    /// naming the bad line).
    force_single: bool,
    json: Vec<u8>,
    batch: Vec<u8>,
    /// The server takes reports compressed against the previous one.
    delta_reports: bool,
    /// The last report the server acknowledged from the live path: its seq
    /// and exact JSON, the base of the next report's delta body.
    base_seq: Option<u64>,
    base_json: Vec<u8>,
}

impl Delivery {
    fn run(&mut self, rx: &Receiver<Report>, shutdown: &Shutdown) {
        loop {
            if !shutdown.is_triggered() {
                self.due_work(rx, shutdown);
            }
            let wait = self.next_wakeup().saturating_duration_since(Instant::now());
            match rx.recv_timeout(wait) {
                Ok(report) => self.on_report(report, rx, shutdown),
                Err(RecvTimeoutError::Timeout) => {}
                // The collector stopped: shutdown.
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
    }

    fn finish(&mut self) {
        if let Err(e) = self.spool.sync() {
            tracing::error!(error = %e, "cannot sync the spool at shutdown");
        }
        tracing::info!(
            spooled = self.spool.len(),
            delivered = self.stats.delivered(),
            "stopped"
        );
    }

    fn backing_off(&self) -> bool {
        Instant::now() < self.next_attempt
    }

    fn next_wakeup(&self) -> Instant {
        let mut at = Instant::now() + Duration::from_secs(3600);
        if !self.registered || !self.spool.is_empty() {
            at = at.min(self.next_attempt);
        }
        if self.registered {
            at = at
                .min(self.next_heartbeat.max(self.next_attempt))
                .min(self.next_config.max(self.next_attempt));
        }
        at
    }

    /// Registration, backlog, heartbeat and config refresh, when due.
    fn due_work(&mut self, rx: &Receiver<Report>, shutdown: &Shutdown) {
        if self.backing_off() {
            return;
        }
        if !self.registered {
            self.register();
            if !self.registered {
                return;
            }
        }
        if !self.spool.is_empty() {
            self.drain(rx, shutdown);
        }
        let now = Instant::now();
        if !self.backing_off() && now >= self.next_heartbeat {
            self.heartbeat();
        }
        if !self.backing_off() && now >= self.next_config {
            self.refresh_config();
        }
    }

    fn register(&mut self) {
        match self.transport.register(&self.register_request) {
            Ok(resp) => {
                self.registered = true;
                self.delta_reports = resp.delta_reports;
                self.base_seq = None;
                self.stats.registered.store(true, Ordering::Relaxed);
                self.backoff.reset();
                if let Some(last) = resp.last_seq {
                    self.spool.ensure_next_seq(last.saturating_add(1));
                }
                self.apply_config(resp.config);
                let now = Instant::now();
                self.next_heartbeat = now + self.heartbeat_every;
                self.next_config = now + self.config_refresh;
                tracing::info!(server_id = resp.server_id, last_seq = ?resp.last_seq, "registered with the server");
            }
            Err(e) => self.failed(&e, "registering"),
        }
    }

    /// Numbers a new report, then sends it or spools it.
    fn on_report(&mut self, mut report: Report, rx: &Receiver<Report>, shutdown: &Shutdown) {
        report.seq = self.spool.next_seq();
        self.json.clear();
        serde_json::to_writer(&mut self.json, &report).expect("a Report serializes");
        if self.registered && self.spool.is_empty() && !self.backing_off() {
            match self.send_live(report.seq) {
                Ok(ack) => {
                    self.delivered(1);
                    self.honour_next_report_in(ack.next_report_in, report.interval_s);
                }
                Err(SendError::Rejected {
                    status,
                    code,
                    message,
                    ..
                }) => {
                    tracing::warn!(seq = report.seq, status, %code, reason = %message, "the server refused a report; it is dropped");
                    self.stats.rejected.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => {
                    self.spool_current(report.seq, report.ts);
                    self.failed(&e, "sending a report");
                }
            }
        } else {
            self.spool_current(report.seq, report.ts);
            if self.registered && !self.backing_off() && !shutdown.is_triggered() {
                self.drain(rx, shutdown);
            }
        }
    }

    /// Sends the report serialized in `self.json` (number `seq`): against the
    /// last acknowledged report when the server takes that (a few bytes per
    /// changed value), else whole with the shared dictionary.
    fn send_live(&mut self, seq: u64) -> Result<MetricsAck, SendError> {
        if let Some(base_seq) = self.base_seq.filter(|_| self.delta_reports) {
            match self
                .transport
                .send_report_against(&self.json, base_seq, &self.base_json)
            {
                Err(SendError::Rejected { code, .. }) if code == UNKNOWN_BASE => {
                    tracing::debug!(
                        seq,
                        base_seq,
                        "the server does not hold the base report; sending it whole"
                    );
                }
                result => return self.keep_base(seq, result),
            }
        }
        let result = self.transport.send_report(&self.json);
        self.keep_base(seq, result)
    }

    /// An acknowledged report is the base of the next; after a failure the
    /// server's base is unknown, so the next report goes whole.
    fn keep_base(
        &mut self,
        seq: u64,
        result: Result<MetricsAck, SendError>,
    ) -> Result<MetricsAck, SendError> {
        if result.is_ok() {
            std::mem::swap(&mut self.json, &mut self.base_json);
            self.base_seq = Some(seq);
        } else {
            self.base_seq = None;
        }
        result
    }

    /// Appends the report serialized in `self.json` to the spool.
    fn spool_current(&mut self, seq: u64, ts: i64) {
        match self.spool.append(seq, ts, &self.json, wall_clock_ms()) {
            Ok(()) => {
                self.stats.spool_appended.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => tracing::error!(seq, error = %e, "cannot spool a report; it is lost"),
        }
        self.update_spool_stats();
    }

    fn spool_report(&mut self, mut report: Report) {
        report.seq = self.spool.next_seq();
        self.json.clear();
        serde_json::to_writer(&mut self.json, &report).expect("a Report serializes");
        self.spool_current(report.seq, report.ts);
    }

    fn update_spool_stats(&self) {
        let s = self.spool.stats();
        self.stats.spool_pending.store(s.pending, Ordering::Relaxed);
        self.stats.spool_dropped.store(s.dropped, Ordering::Relaxed);
    }

    /// Sends the spool's backlog oldest first until it is empty, a request
    /// fails, or shutdown begins.
    fn drain(&mut self, rx: &Receiver<Report>, shutdown: &Shutdown) {
        let started = self.spool.len();
        while !self.spool.is_empty() && !self.backing_off() && !shutdown.is_triggered() {
            // Reports collected meanwhile go behind the backlog.
            while let Ok(report) = rx.try_recv() {
                self.spool_report(report);
            }
            let mut batch = match self
                .spool
                .peek(MAX_BATCH_RECORDS, BATCH_BYTES, wall_clock_ms())
            {
                Ok(batch) => batch,
                Err(e) => {
                    tracing::error!(error = %e, "cannot read the spool");
                    self.next_attempt = Instant::now() + self.backoff.next_delay();
                    break;
                }
            };
            if batch.is_empty() {
                break; // everything left had expired
            }
            if let Some(bad) = self.poisoned {
                if batch[0].seq == bad {
                    self.poisoned = None;
                    self.discard(&batch[0]);
                    continue;
                }
                if let Some(pos) = batch.iter().position(|r| r.seq == bad) {
                    batch.truncate(pos);
                }
            }
            if batch.len() == 1 || self.force_single {
                let record = &batch[..1];
                let result = self.transport.send_report(&record[0].json);
                match result {
                    Ok(_) => self.acknowledged(record),
                    Err(SendError::Rejected {
                        status,
                        code,
                        message,
                        ..
                    }) => {
                        tracing::warn!(seq = record[0].seq, status, %code, reason = %message, "the server refused a spooled report; it is dropped");
                        self.discard(&record[0]);
                    }
                    Err(e) => {
                        self.failed(&e, "sending a spooled report");
                        break;
                    }
                }
                self.force_single = false;
            } else {
                self.batch.clear();
                for r in &batch {
                    self.batch.extend_from_slice(&r.json);
                    self.batch.push(b'\n');
                }
                match self.transport.send_batch(&self.batch) {
                    Ok(_) => self.acknowledged(&batch),
                    Err(SendError::Rejected {
                        line: Some(line),
                        status,
                        code,
                        message,
                    }) if (1..=batch.len()).contains(&line) => {
                        let seq = batch[line - 1].seq;
                        tracing::warn!(seq, line, status, %code, reason = %message, "the server refused one report of a batch; it is dropped and the rest resent");
                        self.poisoned = Some(seq);
                    }
                    Err(SendError::Rejected {
                        status,
                        code,
                        message,
                        ..
                    }) => {
                        tracing::warn!(status, %code, reason = %message, "the server refused a batch without naming the report; sending one at a time");
                        self.force_single = true;
                    }
                    Err(e) => {
                        self.failed(&e, "sending spooled reports");
                        break;
                    }
                }
            }
            self.batch = Vec::new(); // do not keep a batch between drains
        }
        if started > 0 && self.spool.is_empty() {
            tracing::info!(reports = started, "spool drained");
        }
        if started > 1 {
            release_freed_memory();
        }
        self.update_spool_stats();
    }

    fn acknowledged(&mut self, records: &[SpooledRecord]) {
        if let Err(e) = self.spool.ack(records) {
            tracing::warn!(error = %e, "cannot record delivery in the spool; these reports may be resent after a restart");
        }
        self.delivered(records.len() as u64);
    }

    fn discard(&mut self, record: &SpooledRecord) {
        if let Err(e) = self.spool.discard(record) {
            tracing::warn!(error = %e, "cannot record a dropped report in the spool");
        }
        self.stats.rejected.fetch_add(1, Ordering::Relaxed);
    }

    fn delivered(&mut self, n: u64) {
        self.stats.delivered.fetch_add(n, Ordering::Relaxed);
        if self.backoff.failures() > 0 {
            tracing::info!("server reachable again");
        }
        self.backoff.reset();
    }

    fn heartbeat(&mut self) {
        let hb = Heartbeat {
            ts: wall_clock_ms(),
            spooled: self.spool.len(),
        };
        match self.transport.heartbeat(&hb) {
            Ok(_) => self.next_heartbeat = Instant::now() + self.heartbeat_every,
            Err(SendError::Rejected {
                status, message, ..
            }) => {
                tracing::warn!(status, reason = %message, "the server refused a heartbeat");
                self.next_heartbeat = Instant::now() + self.heartbeat_every;
            }
            Err(e) => self.failed(&e, "sending a heartbeat"),
        }
    }

    fn refresh_config(&mut self) {
        match self.transport.fetch_config() {
            Ok(config) => {
                self.apply_config(config);
                self.next_config = Instant::now() + self.config_refresh;
            }
            Err(SendError::Rejected {
                status, message, ..
            }) => {
                tracing::warn!(status, reason = %message, "the server refused the config request");
                self.next_config = Instant::now() + self.config_refresh;
            }
            Err(e) => self.failed(&e, "fetching the configuration"),
        }
    }

    fn apply_config(&mut self, config: AgentConfig) {
        self.heartbeat_every =
            Duration::from_secs(config.heartbeat_interval_s.clamp(5, 3600) as u64);
        self.server_interval = match config.report_interval_s {
            Some(s) if (MIN_INTERVAL_S..=MAX_INTERVAL_S).contains(&s) => Some(s),
            Some(s) => {
                tracing::warn!(
                    interval_s = s,
                    "the server asked for an interval out of range; ignored"
                );
                None
            }
            None => None,
        };
        self.update_interval();
        if let Some(checks) = &mut self.checks {
            checks.assign(config.checks);
        }
    }

    /// `next_report_in` echoes the report's own interval unless the server
    /// overrides it; only a different value is an override. (Treating the
    /// echo as an override would make a changed local setting stick.)
    fn honour_next_report_in(&mut self, next_report_in: u32, sent_interval: u32) {
        if next_report_in != sent_interval
            && (MIN_INTERVAL_S..=MAX_INTERVAL_S).contains(&next_report_in)
        {
            self.server_interval = Some(next_report_in);
            self.update_interval();
        }
    }

    fn update_interval(&mut self) {
        let effective = self.server_interval.unwrap_or(self.local_interval);
        let old = self.interval.swap(effective, Ordering::Relaxed);
        self.stats.interval_s.store(effective, Ordering::Relaxed);
        if old != effective {
            tracing::info!(interval_s = effective, "reporting interval changed");
        }
    }

    /// Logs a failed request and schedules the retry.
    fn failed(&mut self, error: &SendError, what: &str) {
        let delay = self.backoff.next_delay();
        self.next_attempt = Instant::now() + delay;
        self.stats.send_failures.fetch_add(1, Ordering::Relaxed);
        // Whole milliseconds read better in logs than nanosecond Debug output.
        let retry_in = Duration::from_millis(delay.as_millis() as u64);
        let spooled = self.spool.len();
        match error {
            SendError::Unauthorized { status, message } => tracing::error!(
                status,
                reason = %message,
                ?retry_in,
                spooled,
                "{what}: the server refused the agent key; check the configured key (it is not logged) and that the host still exists"
            ),
            SendError::Transient(message) => {
                tracing::warn!(error = %message, ?retry_in, spooled, "{what} failed; reports are kept in the spool")
            }
            SendError::Rejected {
                status,
                code,
                message,
                ..
            } => {
                tracing::error!(status, %code, reason = %message, ?retry_in, "{what}: the server refused the request")
            }
        }
    }
}

/// Hands memory freed after a backlog drain back to the kernel. glibc keeps
/// freed heap pages for reuse, so a one-off burst of batch buffers would
/// otherwise stay in the agent's resident size for good.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns unused pages of the allocator's own
    // heap to the kernel; it has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// `--once`: samples, waits one interval, samples again and returns the
/// second report (which has rates). Its `seq` is 0: nothing was persisted.
pub fn run_once(config: &Config) -> Report {
    let mut sampler = Sampler::new(&config.roots, config.hostname.clone());
    sampler.sample(config.interval_s);
    std::thread::sleep(Duration::from_secs(config.interval_s as u64));
    sampler.sample(config.interval_s)
}
