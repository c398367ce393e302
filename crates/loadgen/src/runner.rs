//! The three ways to drive a server: live agents on their intervals, a
//! max-throughput push of pre-built reports, and the NDJSON backfill path.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use hyper::header::HeaderValue;
use lxmon_proto::{RegisterResponse, Report};

use crate::client::{Client, Endpoint, Outcome, auth_header};
use crate::procfs::Watch;
use crate::rng::Rng;
use crate::sim::SimHost;
use crate::stats::{Latency, ProcessUsage, Recorder, Summary, round3};
use crate::wire::{Encoded, encode_batches, encode_report, encode_report_against};

/// Oldest timestamp the server keeps raw (its default raw retention is
/// 7 days); pre-built max-mode reports stay inside it with an hour to spare.
const MAX_BACKFILL_MS: i64 = 7 * 86_400_000 - 3_600_000;
const HOUR_MS: i64 = 3_600_000;
/// Batch mode: at most a year of whole hours. A server only accepts history
/// older than its raw retention (7 days by default) if `[retention] raw_days`
/// covers it, which is how `bench/query.sh` builds a month of history.
pub const MAX_BATCH_HOURS: u32 = 366 * 24;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// Each agent reports on its own interval, with jitter, timestamps = now.
    Live,
    /// Pre-built reports as fast as the server takes them.
    Max,
    /// Pre-built NDJSON batches through the backfill endpoint.
    Batch,
    /// Agents that long-poll for commands and answer them, and a user who
    /// sends commands and times each round trip ([`crate::commands`]).
    Commands,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Live => "live",
            Mode::Max => "max",
            Mode::Batch => "batch",
            Mode::Commands => "commands",
        }
    }
}

#[derive(Debug, Clone)]
pub struct RunConfig {
    /// `http://host:port`.
    pub server: String,
    /// One agent per key.
    pub keys: Vec<String>,
    pub mode: Mode,
    pub interval_s: u32,
    /// Live mode: each report is due at its slot ± this fraction of the
    /// interval.
    pub jitter: f64,
    /// Live: how long to run. Max and batch: stop early after this long.
    pub duration: Option<Duration>,
    /// Max: reports in all (default 100 per agent). Batch: reports in all,
    /// spaced back from now, instead of whole hours.
    pub reports: Option<u64>,
    /// Batch: whole clock hours of history per agent, ending where the
    /// current hour starts (so all of it can be sealed).
    pub hours: u32,
    /// Requests in flight at most (max, batch, registration).
    pub concurrency: usize,
    pub seed: u64,
    /// The server's pid, to report its CPU and RSS over the timed phase.
    pub server_pid: Option<u32>,
    pub timeout: Duration,
}

impl RunConfig {
    pub fn new(server: impl Into<String>, keys: Vec<String>, mode: Mode) -> RunConfig {
        RunConfig {
            server: server.into(),
            keys,
            mode,
            interval_s: lxmon_proto::DEFAULT_INTERVAL_S,
            jitter: 0.1,
            duration: None,
            reports: None,
            hours: 1,
            concurrency: 64,
            seed: 1,
            server_pid: None,
            timeout: Duration::from_secs(30),
        }
    }
}

/// Keys from a file: one per line; blank lines, `#` comments and anything
/// with spaces (such as the header `agent-key create` prints) are skipped.
pub fn read_keys(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.contains(char::is_whitespace))
        .map(str::to_owned)
        .collect()
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub(crate) struct Agent {
    pub(crate) sim: SimHost,
    pub(crate) auth: HeaderValue,
    /// The host the server registered this agent as.
    pub(crate) host_id: Option<i64>,
    /// The server takes reports compressed against the previous one (from
    /// its registration answer); live agents then send them so.
    pub(crate) delta: bool,
}

impl Agent {
    /// A simulated agent with key `key`, not yet registered.
    fn new(sim: SimHost, key: &str) -> anyhow::Result<Agent> {
        Ok(Agent {
            sim,
            auth: auth_header(key)?,
            host_id: None,
            delta: false,
        })
    }
}

/// One simulated agent per key, not yet registered.
pub(crate) fn agents_for(cfg: &RunConfig, now: i64) -> anyhow::Result<Vec<Agent>> {
    cfg.keys
        .iter()
        .enumerate()
        .map(|(i, key)| Agent::new(SimHost::new(cfg.seed, i, cfg.interval_s, now), key))
        .collect()
}

/// Runs the configured load and returns its summary.
pub async fn run(cfg: &RunConfig) -> anyhow::Result<Summary> {
    anyhow::ensure!(!cfg.keys.is_empty(), "no agent keys given");
    anyhow::ensure!(
        (lxmon_proto::MIN_INTERVAL_S..=lxmon_proto::MAX_INTERVAL_S).contains(&cfg.interval_s),
        "--interval must be {}..={}",
        lxmon_proto::MIN_INTERVAL_S,
        lxmon_proto::MAX_INTERVAL_S
    );
    anyhow::ensure!(
        cfg.mode != Mode::Commands,
        "command mode runs through commands::run"
    );
    let concurrency = cfg.concurrency.max(1);
    let client = Client::new(&cfg.server, cfg.timeout)?;
    let mut agents = agents_for(cfg, now_ms())?;

    let (registrations_ok, registration_errors) =
        register_all(&client, &mut agents, concurrency, &[]).await;
    anyhow::ensure!(
        registrations_ok > 0,
        "no agent could register with {} ({} errors): is the server up and are the keys its own?",
        cfg.server,
        registration_errors
    );

    let prepare_started = Instant::now();
    let prepared = match cfg.mode {
        Mode::Live | Mode::Commands => None,
        Mode::Max => Some(prepare(
            cfg,
            std::mem::take(&mut agents),
            now_ms(),
            PrepareKind::Single,
        )?),
        Mode::Batch => Some(prepare(
            cfg,
            std::mem::take(&mut agents),
            now_ms(),
            PrepareKind::Batch,
        )?),
    };
    let prepare_s = if prepared.is_some() {
        prepare_started.elapsed().as_secs_f64()
    } else {
        0.0
    };

    // The timed phase.
    let stop = Arc::new(AtomicBool::new(false));
    let mut server_watch = cfg.server_pid.and_then(Watch::start);
    let mut self_watch = Watch::start(std::process::id()).context("cannot read /proc/self")?;
    let sampler = {
        let stop = stop.clone();
        let (server_pid, self_pid) = (cfg.server_pid, std::process::id());
        tokio::spawn(async move {
            let (mut server_max, mut self_max) = (0.0f64, 0.0f64);
            while !stop.load(Ordering::Relaxed) {
                if let Some(rss) = server_pid.and_then(crate::procfs::rss_mb) {
                    server_max = server_max.max(rss);
                }
                self_max = self_max.max(crate::procfs::rss_mb(self_pid).unwrap_or(0.0));
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            (server_max, self_max)
        })
    };
    let started = Instant::now();
    let deadline = cfg.duration.map(|d| started + d);
    let rec = match (cfg.mode, prepared) {
        (Mode::Live, _) => {
            let duration = cfg.duration.context("live mode needs --duration")?;
            run_live(cfg, &client, agents, started, duration).await
        }
        (Mode::Max, Some(queues)) => {
            send_queues(&client, queues, Endpoint::Metrics, concurrency, deadline).await
        }
        (Mode::Batch, Some(queues)) => {
            send_queues(&client, queues, Endpoint::Batch, concurrency, deadline).await
        }
        _ => unreachable!("max and batch modes are prepared; commands run elsewhere"),
    };
    let elapsed = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let (server_rss_max, self_rss_max) = sampler.await.unwrap_or((0.0, 0.0));

    let mut rec = rec;
    let samples = rec.samples_ok;
    let server = server_watch
        .as_mut()
        .map(|w| usage(w, server_rss_max, samples));
    let loadgen = usage(&mut self_watch, self_rss_max, rec.samples_sent);
    let per = |n: u64, d: u64| {
        if d == 0 {
            0.0
        } else {
            round3(n as f64 / d as f64)
        }
    };
    Ok(Summary {
        mode: cfg.mode.name().to_owned(),
        agents: cfg.keys.len(),
        concurrency: if cfg.mode == Mode::Live {
            cfg.keys.len()
        } else {
            concurrency.min(cfg.keys.len())
        },
        interval_s: cfg.interval_s,
        requests: rec.requests,
        reports_sent: rec.reports_sent,
        reports_ok: rec.reports_ok,
        reports_duplicate: rec.duplicates,
        reports_resent_whole: rec.resent_whole,
        errors: Summary::errors_of(&rec),
        status: rec.by_status.clone(),
        samples,
        samples_per_report: per(rec.samples_sent, rec.reports_sent),
        duration_s: round3(elapsed),
        samples_per_s: (samples as f64 / elapsed.max(1e-9)).round(),
        reports_per_s: round3(rec.reports_ok as f64 / elapsed.max(1e-9)),
        latency_ms: Latency::from_us(&mut rec.latencies_us),
        wire_bytes_per_report: per(rec.wire_bytes, rec.reports_sent),
        wire_bytes_per_sample: per(rec.wire_bytes, rec.samples_sent),
        json_bytes_per_report: per(rec.json_bytes, rec.reports_sent),
        registrations_ok,
        registration_errors,
        prepare_s: round3(prepare_s),
        loadgen,
        server,
    })
}

/// A process's CPU and memory over a timed phase, ended now; `per` is the
/// samples (or other units) the CPU is divided by, per million.
pub(crate) fn usage(watch: &mut Watch, rss_max: f64, per: u64) -> ProcessUsage {
    let (cpu, wall, rss_end) = watch.finish();
    ProcessUsage {
        pid: watch.pid,
        cpu_s: round3(cpu),
        cpu_s_per_million_samples: if per == 0 {
            0.0
        } else {
            round3(cpu / per as f64 * 1e6)
        },
        cores_busy: round3(cpu / wall.as_secs_f64().max(1e-9)),
        rss_mb_end: round3(rss_end),
        rss_mb_max: round3(rss_max.max(watch.rss_max_mb).max(rss_end)),
    }
}

/// Registers every agent (`concurrency` at a time), announcing `actions`.
/// An agent whose host already has reports continues above the server's
/// last sequence number.
pub(crate) async fn register_all(
    client: &Client,
    agents: &mut [Agent],
    concurrency: usize,
    actions: &[lxmon_proto::ActionSpec],
) -> (u64, u64) {
    let next = Arc::new(AtomicUsize::new(0));
    let jobs: Vec<(Bytes, HeaderValue)> = agents
        .iter()
        .map(|a| {
            let mut req = a.sim.registration();
            req.actions = actions.to_vec();
            (
                Bytes::from(serde_json::to_vec(&req).expect("serializes")),
                a.auth.clone(),
            )
        })
        .collect();
    let jobs = Arc::new(jobs);
    let mut tasks = Vec::new();
    for _ in 0..concurrency.min(agents.len()) {
        let (client, next, jobs) = (client.clone(), next.clone(), jobs.clone());
        tasks.push(tokio::spawn(async move {
            let mut results = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((body, auth)) = jobs.get(i) else {
                    break;
                };
                let registered = match client.post(Endpoint::Register, auth, body.clone()).await {
                    Outcome::Status(s, body) if s.is_success() => Some(
                        serde_json::from_slice::<RegisterResponse>(&body)
                            .ok()
                            .map_or((0, false, None), |r| {
                                (r.last_seq.unwrap_or(0), r.delta_reports, Some(r.server_id))
                            }),
                    ),
                    Outcome::Status(s, body) => {
                        eprintln!(
                            "agent {i}: register failed: {s} {}",
                            String::from_utf8_lossy(&body)
                        );
                        None
                    }
                    Outcome::Failed(kind) => {
                        eprintln!("agent {i}: register failed: {kind}");
                        None
                    }
                };
                results.push((i, registered));
            }
            results
        }));
    }
    let (mut ok, mut errors) = (0, 0);
    for task in tasks {
        for (i, registered) in task.await.unwrap_or_default() {
            match registered {
                Some((seq, delta, host_id)) => {
                    ok += 1;
                    agents[i].sim.continue_after(seq);
                    agents[i].delta = delta;
                    agents[i].host_id = host_id;
                }
                None => errors += 1,
            }
        }
    }
    (ok, errors)
}

/// Live mode: one task per agent, each sending at its own phase in the
/// interval, every interval ± jitter, until `duration` has passed. Like
/// `lxmon-agent`, each report after an acknowledged one is compressed
/// against it (when the server takes that), and sent whole after a 409.
async fn run_live(
    cfg: &RunConfig,
    client: &Client,
    agents: Vec<Agent>,
    started: Instant,
    duration: Duration,
) -> Recorder {
    let interval = Duration::from_secs(cfg.interval_s as u64);
    let end = started + duration;
    let jitter = cfg.jitter.clamp(0.0, 0.5);
    let mut tasks = Vec::with_capacity(agents.len());
    for (i, agent) in agents.into_iter().enumerate() {
        let client = client.clone();
        let mut rng = Rng::stream(cfg.seed ^ 0x6c69_7665, i as u64);
        tasks.push(tokio::spawn(async move {
            let Agent {
                mut sim,
                auth,
                delta,
                ..
            } = agent;
            let mut rec = Recorder::default();
            let mut base: Option<(u64, Vec<u8>)> = None;
            let phase = interval.mul_f64(rng.f64());
            let mut last_due = started;
            for k in 0u32.. {
                let offset = interval.as_secs_f64() * jitter * rng.uniform(-1.0, 1.0);
                let slot = started + phase + interval * k;
                let due = if offset >= 0.0 {
                    slot + Duration::from_secs_f64(offset)
                } else {
                    slot.checked_sub(Duration::from_secs_f64(-offset))
                        .unwrap_or(slot)
                };
                let due = due.max(last_due);
                if due >= end {
                    break;
                }
                last_due = due;
                tokio::time::sleep_until(due.into()).await;
                let report = sim.report(now_ms());
                let against = base.as_ref().filter(|_| delta);
                let (mut encoded, mut json) =
                    encode_report_against(&report, against.map(|(seq, j)| (*seq, &j[..])));
                let mut sent_at = Instant::now();
                let mut outcome = client
                    .post_encoded(Endpoint::Metrics, &auth, &encoded)
                    .await;
                if encoded.base_seq.is_some() && is_unknown_base(&outcome) {
                    rec.record_retry(&encoded, &outcome);
                    (encoded, json) = encode_report_against(&report, None);
                    sent_at = Instant::now();
                    outcome = client
                        .post_encoded(Endpoint::Metrics, &auth, &encoded)
                        .await;
                }
                rec.record(&encoded, &outcome, sent_at.elapsed());
                base = match &outcome {
                    Outcome::Status(s, _) if s.is_success() => Some((report.seq, json)),
                    _ => None,
                };
            }
            rec
        }));
    }
    let mut total = Recorder::default();
    for task in tasks {
        if let Ok(rec) = task.await {
            total.merge(rec);
        }
    }
    total
}

/// The server's 409 for a delta whose base it does not hold.
fn is_unknown_base(outcome: &Outcome) -> bool {
    matches!(outcome, Outcome::Status(s, body)
        if *s == hyper::StatusCode::CONFLICT
            && serde_json::from_slice::<lxmon_proto::ErrorBody>(body)
                .is_ok_and(|b| b.error.code == lxmon_proto::compress::UNKNOWN_BASE))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum PrepareKind {
    Single,
    Batch,
}

/// An agent's pre-built request bodies, in the order they must be sent.
type Queue = (HeaderValue, Vec<Encoded>);

/// Builds and compresses every body before the timed phase, on all cores.
fn prepare(
    cfg: &RunConfig,
    agents: Vec<Agent>,
    now: i64,
    kind: PrepareKind,
) -> anyhow::Result<Vec<Queue>> {
    let n = agents.len() as u64;
    let interval_ms = cfg.interval_s as i64 * 1000;
    // Per agent: the timestamps of its reports, oldest first.
    let plan: Vec<Vec<i64>> = match (kind, cfg.reports) {
        (PrepareKind::Batch, None) => {
            anyhow::ensure!(
                (1..=MAX_BATCH_HOURS).contains(&cfg.hours),
                "--hours must be 1..={MAX_BATCH_HOURS}"
            );
            let end = now - now.rem_euclid(HOUR_MS);
            let start = end - cfg.hours as i64 * HOUR_MS;
            (0..n)
                .map(|i| {
                    let mut rng = Rng::stream(cfg.seed ^ 0x6261_7463, i);
                    let phase = (rng.f64() * interval_ms as f64) as i64;
                    let mut ts = Vec::new();
                    let mut slot = start + phase;
                    while slot < end {
                        // Real agents sample a few ms late, never early.
                        ts.push((slot + rng.range(0, 30) as i64).min(end - 1));
                        slot += interval_ms;
                    }
                    ts
                })
                .collect()
        }
        (_, reports) => {
            let total = reports.unwrap_or(n * 100);
            let per_agent = total.div_ceil(n);
            anyhow::ensure!(
                per_agent as i64 * interval_ms <= MAX_BACKFILL_MS,
                "{per_agent} reports per agent at {} s apart reach back more than 7 days; use more agents or a shorter --interval",
                cfg.interval_s
            );
            (0..n)
                .map(|i| {
                    let count = total / n + u64::from(i < total % n);
                    let mut rng = Rng::stream(cfg.seed ^ 0x6d61_7821, i);
                    (1..=count as i64)
                        .map(|k| {
                            now - (count as i64 - k) * interval_ms - 50 + rng.range(0, 30) as i64
                        })
                        .collect()
                })
                .collect()
        }
    };
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mut jobs: Vec<(Agent, Vec<i64>)> = agents.into_iter().zip(plan).collect();
    let chunk = jobs.len().div_ceil(threads).max(1);
    let mut queues = Vec::with_capacity(jobs.len());
    std::thread::scope(|scope| {
        let handles: Vec<_> = jobs
            .chunks_mut(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter_mut()
                        .map(|(agent, stamps)| {
                            let bodies = match kind {
                                PrepareKind::Single => stamps
                                    .iter()
                                    .map(|&ts| encode_report(&agent.sim.report(ts)))
                                    .collect(),
                                // A batch's worth of reports at a time, so a
                                // month of history never sits in memory as
                                // `Report`s, only compressed.
                                PrepareKind::Batch => stamps
                                    .chunks(lxmon_proto::MAX_BATCH_RECORDS)
                                    .flat_map(|part| {
                                        let reports: Vec<Report> =
                                            part.iter().map(|&ts| agent.sim.report(ts)).collect();
                                        encode_batches(&reports)
                                    })
                                    .collect(),
                            };
                            (agent.auth.clone(), bodies)
                        })
                        .collect::<Vec<Queue>>()
                })
            })
            .collect();
        for h in handles {
            queues.extend(h.join().expect("body preparation does not panic"));
        }
    });
    Ok(queues)
}

/// Sends pre-built queues with `concurrency` requests in flight. Each
/// agent's bodies go out in order, one at a time (the server keeps a
/// per-host sequence watermark), and workers take turns among their agents.
async fn send_queues(
    client: &Client,
    queues: Vec<Queue>,
    endpoint: Endpoint,
    concurrency: usize,
    deadline: Option<Instant>,
) -> Recorder {
    let workers = concurrency.min(queues.len()).max(1);
    let mut per_worker: Vec<Vec<(HeaderValue, std::vec::IntoIter<Encoded>)>> =
        (0..workers).map(|_| Vec::new()).collect();
    for (i, (auth, bodies)) in queues.into_iter().enumerate() {
        per_worker[i % workers].push((auth, bodies.into_iter()));
    }
    let mut tasks = Vec::with_capacity(workers);
    for mut agents in per_worker {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let mut rec = Recorder::default();
            'outer: while !agents.is_empty() {
                let mut i = 0;
                while i < agents.len() {
                    if deadline.is_some_and(|d| Instant::now() >= d) {
                        break 'outer;
                    }
                    let (auth, bodies) = &mut agents[i];
                    match bodies.next() {
                        Some(encoded) => {
                            let sent_at = Instant::now();
                            let outcome = client.post_encoded(endpoint, auth, &encoded).await;
                            rec.record(&encoded, &outcome, sent_at.elapsed());
                            i += 1;
                        }
                        None => {
                            agents.swap_remove(i);
                        }
                    }
                }
            }
            rec
        }));
    }
    let mut total = Recorder::default();
    for task in tasks {
        if let Ok(rec) = task.await {
            total.merge(rec);
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_file_skips_header_and_blanks() {
        let text = "Created 2 agent keys loadgen-1..loadgen-2. They are shown only once:\nlxk_a.b\n\n# note\n  lxk_c.d  \n";
        assert_eq!(read_keys(text), vec!["lxk_a.b", "lxk_c.d"]);
    }

    #[test]
    fn prepared_max_reports_are_ordered_and_recent() {
        let keys: Vec<String> = (0..3).map(|i| format!("lxk_{i}.x")).collect();
        let mut cfg = RunConfig::new("http://127.0.0.1:1", keys.clone(), Mode::Max);
        cfg.reports = Some(10);
        let now = now_ms();
        let agents = keys
            .iter()
            .enumerate()
            .map(|(i, k)| Agent::new(SimHost::new(1, i, 10, now), k).unwrap())
            .collect();
        let queues = prepare(&cfg, agents, now, PrepareKind::Single).unwrap();
        assert_eq!(
            queues.iter().map(|q| q.1.len()).collect::<Vec<_>>(),
            vec![4, 3, 3]
        );
        for (_, bodies) in &queues {
            let reports: Vec<Report> = bodies
                .iter()
                .map(|e| {
                    let json = lxmon_proto::compress::decode(
                        &e.body,
                        lxmon_proto::compress::Encoding::ZstdDictV1,
                        1 << 20,
                    )
                    .unwrap();
                    serde_json::from_slice(&json).unwrap()
                })
                .collect();
            assert!(
                reports
                    .windows(2)
                    .all(|w| w[0].seq < w[1].seq && w[0].ts < w[1].ts)
            );
            assert_eq!(reports[0].seq, 1);
            let last = reports.last().unwrap().ts;
            assert!(last <= now && last > now - 1000);
            for r in &reports {
                lxmon_proto::validate_report(r, now).unwrap();
            }
        }
    }

    #[test]
    fn batch_covers_a_month_of_history() {
        let keys = vec!["lxk_0.x".to_owned()];
        let mut cfg = RunConfig::new("http://127.0.0.1:1", keys.clone(), Mode::Batch);
        cfg.hours = 30 * 24;
        cfg.interval_s = 300;
        let now = now_ms();
        let agent = || Agent::new(SimHost::new(1, 0, 300, now), &keys[0]).unwrap();
        let queues = prepare(&cfg, vec![agent()], now, PrepareKind::Batch).unwrap();
        let batches = &queues[0].1;
        // 12 reports an hour for 720 hours, in batches of at most 3000.
        assert_eq!(batches.iter().map(|b| b.reports).sum::<u64>(), 8640);
        assert!(
            batches
                .iter()
                .all(|b| b.reports as usize <= lxmon_proto::MAX_BATCH_RECORDS)
        );
        let first = lxmon_proto::compress::decode(
            &batches[0].body,
            lxmon_proto::compress::Encoding::ZstdDictV1,
            1 << 26,
        )
        .unwrap();
        let line = first.split(|b| *b == b'\n').next().unwrap();
        let oldest: Report = serde_json::from_slice(line).unwrap();
        let hour = now - now.rem_euclid(HOUR_MS);
        assert!(oldest.ts >= hour - 720 * HOUR_MS && oldest.ts < hour - 719 * HOUR_MS);
        cfg.hours = MAX_BATCH_HOURS + 1;
        assert!(prepare(&cfg, vec![agent()], now, PrepareKind::Batch).is_err());
    }

    #[test]
    fn batch_hours_end_at_the_current_hour() {
        let keys = vec!["lxk_0.x".to_owned()];
        let mut cfg = RunConfig::new("http://127.0.0.1:1", keys.clone(), Mode::Batch);
        cfg.hours = 2;
        let now = now_ms();
        let agents = vec![Agent::new(SimHost::new(1, 0, 10, now), &keys[0]).unwrap()];
        let queues = prepare(&cfg, agents, now, PrepareKind::Batch).unwrap();
        let batches = &queues[0].1;
        assert_eq!(batches.iter().map(|b| b.reports).sum::<u64>(), 720);
        let json = lxmon_proto::compress::decode(
            &batches[0].body,
            lxmon_proto::compress::Encoding::ZstdDictV1,
            1 << 26,
        )
        .unwrap();
        let reports: Vec<Report> = json
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).unwrap())
            .collect();
        let hour = now - now.rem_euclid(HOUR_MS);
        assert!(
            reports
                .iter()
                .all(|r| r.ts >= hour - 2 * HOUR_MS && r.ts < hour)
        );
    }
}
