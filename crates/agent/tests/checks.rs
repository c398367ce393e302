//! Health checks run by the agent ([`CheckRunner`]) against real local
//! targets, posting to a small fake server that speaks
//! `POST /api/agent/check-results`. (The probes' own edge cases are tested
//! in crates/checks; the whole path with the real server is in
//! crates/server/tests/agent_checks.rs.)

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use lxmon_agent::Shutdown;
use lxmon_agent::checks::{CheckRunner, CheckStats, Settings};
use lxmon_agent::config::Secret;
use lxmon_proto::{AgentCheck, AgentCheckResult, AgentCheckResults};
use serde_json::json;

// ---------------------------------------------------------------------------
// A fake server for the check results endpoint

#[derive(Default)]
struct ServerState {
    /// Every post, with when it arrived (including refused ones).
    attempts: Vec<(Instant, AgentCheckResults)>,
    /// Results accepted, in arrival order.
    stored: Vec<AgentCheckResult>,
    /// Answer posts about these checks with 404.
    unknown: HashSet<i64>,
    /// Drop the connection of this many next posts.
    drop_next: usize,
    /// Answer this many next posts with 503.
    fail_next: usize,
    /// Answer every post with 503 while set.
    failing: bool,
}

#[derive(Clone)]
struct FakeServer {
    url: String,
    state: Arc<(Mutex<ServerState>, Condvar)>,
}

impl FakeServer {
    fn start() -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let server = FakeServer {
            url: format!("http://{}", listener.local_addr().unwrap()),
            state: Arc::default(),
        };
        let s = server.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let s = s.clone();
                std::thread::spawn(move || s.serve(stream));
            }
        });
        server
    }

    fn with<T>(&self, f: impl FnOnce(&mut ServerState) -> T) -> T {
        let mut st = self.state.0.lock().unwrap();
        let out = f(&mut st);
        self.state.1.notify_all();
        out
    }

    /// Accepted results of one check, in arrival order.
    fn stored(&self, id: i64) -> Vec<AgentCheckResult> {
        self.with(|st| {
            st.stored
                .iter()
                .filter(|r| r.check_id == id)
                .cloned()
                .collect()
        })
    }

    /// Posts that carried results of `id`.
    fn attempts(&self, id: i64) -> usize {
        self.with(|st| {
            st.attempts
                .iter()
                .filter(|(_, b)| b.results.iter().any(|r| r.check_id == id))
                .count()
        })
    }

    fn wait_for(&self, within: Duration, what: &str, cond: impl Fn(&ServerState) -> bool) {
        let until = Instant::now() + within;
        let mut st = self.state.0.lock().unwrap();
        while !cond(&st) {
            let now = Instant::now();
            assert!(now < until, "timed out waiting for {what}");
            st = self.state.1.wait_timeout(st, until - now).unwrap().0;
        }
    }

    fn wait_results(&self, id: i64, n: usize, within: Duration) -> Vec<AgentCheckResult> {
        self.wait_for(within, &format!("{n} results of check {id}"), |st| {
            st.stored.iter().filter(|r| r.check_id == id).count() >= n
        });
        self.stored(id)
    }

    fn serve(&self, stream: TcpStream) {
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).is_err() {
            return;
        }
        let mut length = 0usize;
        let mut auth = String::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap();
                } else if name.eq_ignore_ascii_case("authorization") {
                    auth = value.trim().to_owned();
                }
            }
        }
        let mut body = vec![0u8; length];
        reader.read_exact(&mut body).unwrap();
        let reply = if request_line.starts_with("POST /api/agent/check-results ") {
            assert_eq!(auth, "Bearer test-key");
            self.results(&body)
        } else {
            Some((404, r#"{"error":{"code":"not_found","message":"no"}}"#))
        };
        let Some((status, body)) = reply else {
            return; // drop the connection without an answer
        };
        let mut stream = stream;
        let _ = write!(
            stream,
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    }

    fn results(&self, body: &[u8]) -> Option<(u16, &'static str)> {
        let batch: AgentCheckResults = serde_json::from_slice(body).unwrap();
        self.with(|st| {
            st.attempts.push((Instant::now(), batch.clone()));
            if st.drop_next > 0 {
                st.drop_next -= 1;
                return None;
            }
            if st.failing || st.fail_next > 0 {
                st.fail_next = st.fail_next.saturating_sub(1);
                return Some((
                    503,
                    r#"{"error":{"code":"unavailable","message":"restarting"}}"#,
                ));
            }
            if batch
                .results
                .iter()
                .any(|r| st.unknown.contains(&r.check_id))
            {
                return Some((
                    404,
                    r#"{"error":{"code":"not_found","message":"check not found"}}"#,
                ));
            }
            st.stored.extend(batch.results);
            Some((204, ""))
        })
    }
}

// ---------------------------------------------------------------------------
// Targets

/// A TCP port that accepts connections and counts them.
struct Counting {
    port: u16,
    accepted: Arc<AtomicUsize>,
}

fn counting_target() -> Counting {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            if stream.is_ok() {
                count.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    Counting { port, accepted }
}

/// A port that accepts connections and never answers on them.
fn silent_target() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    port
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn tcp(id: i64, port: u16, interval_s: u32) -> AgentCheck {
    AgentCheck {
        id,
        spec: json!({"type": "tcp", "host": "127.0.0.1", "port": port}),
        interval_s,
        timeout_s: 1,
    }
}

fn http(id: i64, port: u16, interval_s: u32, timeout_s: u32) -> AgentCheck {
    AgentCheck {
        id,
        spec: json!({"type": "http", "url": format!("http://127.0.0.1:{port}/")}),
        interval_s,
        timeout_s,
    }
}

// ---------------------------------------------------------------------------
// A runner against the fake server

struct Runner {
    shutdown: Shutdown,
    runner: Option<CheckRunner>,
    stats: Arc<CheckStats>,
}

impl Runner {
    fn start(server: &FakeServer, settings: Settings) -> Runner {
        let shutdown = Shutdown::new();
        let stats = Arc::new(CheckStats::default());
        let runner = CheckRunner::with_settings(
            &server.url,
            &Secret::new("test-key"),
            Duration::from_secs(5),
            &shutdown,
            stats.clone(),
            settings,
        );
        Runner {
            shutdown,
            runner: Some(runner),
            stats,
        }
    }

    fn assign(&mut self, checks: Vec<AgentCheck>) {
        self.runner.as_mut().unwrap().assign(checks);
    }

    fn stop(&mut self) {
        self.shutdown.trigger();
        if let Some(r) = self.runner.take() {
            r.join();
        }
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        self.stop();
    }
}

fn quick() -> Settings {
    Settings {
        flush_every: Duration::from_millis(200),
        retry_max: Duration::from_secs(2),
        ..Settings::default()
    }
}

fn gaps_ms(results: &[AgentCheckResult]) -> Vec<i64> {
    results.windows(2).map(|w| w[1].ts - w[0].ts).collect()
}

// ---------------------------------------------------------------------------

#[test]
fn assigned_checks_run_on_their_interval_and_each_post_carries_one_check() {
    let server = FakeServer::start();
    let open = counting_target();
    let closed = closed_port();
    let mut runner = Runner::start(&server, Settings::default());
    runner.assign(vec![tcp(1, open.port, 1), tcp(2, closed, 1)]);
    let up = server.wait_results(1, 4, Duration::from_secs(15));
    let down = server.wait_results(2, 4, Duration::from_secs(15));
    assert!(
        up.iter()
            .all(|r| r.up && r.latency_ms.is_some() && r.error.is_none()),
        "{up:?}"
    );
    assert!(
        down.iter()
            .all(|r| !r.up && r.error.as_deref().is_some_and(|e| !e.is_empty())),
        "{down:?}"
    );
    // Once a second, keeping the phase.
    for gap in gaps_ms(&up).into_iter().chain(gaps_ms(&down)) {
        assert!((900..=1300).contains(&gap), "runs {gap} ms apart");
    }
    assert!(open.accepted.load(Ordering::SeqCst) >= 4);
    server.with(|st| {
        for (_, batch) in &st.attempts {
            let ids: HashSet<i64> = batch.results.iter().map(|r| r.check_id).collect();
            assert_eq!(ids.len(), 1, "one check per post: {:?}", batch.results);
        }
        // Flushed every 2 s, not once per result.
        assert!(
            st.attempts.len() < st.stored.len(),
            "{} posts for {} results",
            st.attempts.len(),
            st.stored.len()
        );
    });
    assert_eq!(runner.stats.assigned(), 2);
    // Counted once the server's answer is read.
    let until = Instant::now() + Duration::from_secs(5);
    while runner.stats.results_sent() < 8 {
        assert!(Instant::now() < until, "{}", runner.stats.results_sent());
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_404_drops_that_checks_results_and_stops_it_until_assigned_again() {
    let server = FakeServer::start();
    server.with(|st| {
        st.unknown.insert(2);
    });
    let open = counting_target();
    let mut runner = Runner::start(&server, quick());
    let checks = vec![tcp(1, open.port, 1), tcp(2, open.port, 1)];
    runner.assign(checks.clone());
    server.wait_for(Duration::from_secs(10), "a post about check 2", |st| {
        st.attempts
            .iter()
            .any(|(_, b)| b.results.iter().any(|r| r.check_id == 2))
    });
    server.wait_results(1, 5, Duration::from_secs(15));
    assert_eq!(server.attempts(2), 1, "not retried, not run again");
    assert!(server.stored(2).is_empty());
    assert_eq!(runner.stats.assigned(), 1);
    assert!(runner.stats.results_discarded() >= 1);
    // The next configuration that lists it brings it back.
    runner.assign(checks);
    server.wait_for(Duration::from_secs(10), "check 2 running again", |st| {
        st.attempts
            .iter()
            .filter(|(_, b)| b.results.iter().any(|r| r.check_id == 2))
            .count()
            >= 2
    });
}

#[test]
fn results_survive_server_errors_and_dropped_connections_in_order() {
    let server = FakeServer::start();
    server.with(|st| {
        st.fail_next = 2;
        st.drop_next = 1;
    });
    let open = counting_target();
    let mut runner = Runner::start(&server, quick());
    runner.assign(vec![tcp(1, open.port, 1)]);
    let got = server.wait_results(1, 8, Duration::from_secs(30));
    assert!(runner.stats.send_failures() >= 3);
    // Nothing lost while retrying: consecutive runs, in order.
    let gaps = gaps_ms(&got);
    assert!(gaps.iter().all(|g| (900..=1300).contains(g)), "{gaps:?}");
    assert_eq!(runner.stats.results_dropped(), 0);
}

#[test]
fn results_are_bounded_while_the_server_is_down() {
    let server = FakeServer::start();
    server.with(|st| st.failing = true);
    let open = counting_target();
    let mut runner = Runner::start(
        &server,
        Settings {
            max_pending: 3,
            ..quick()
        },
    );
    runner.assign(vec![tcp(1, open.port, 1)]);
    let stats = runner.stats.clone();
    let until = Instant::now() + Duration::from_secs(15);
    while stats.results_dropped() < 2 {
        assert!(Instant::now() < until, "nothing dropped");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(stats.pending() <= 3);
    server.with(|st| st.failing = false);
    let got = server.wait_results(1, 3, Duration::from_secs(10));
    // The newest were kept: the first delivered run is not the first run.
    let first_attempt_ts = server.with(|st| st.attempts[0].1.results[0].ts);
    assert!(got[0].ts > first_attempt_ts, "oldest dropped first");
}

#[test]
fn hanging_targets_hold_one_slot_each_for_their_timeout_only() {
    let server = FakeServer::start();
    let silent = silent_target();
    let open = counting_target();
    let mut runner = Runner::start(&server, quick());
    // First runs are offset by id within 3 s: 12 @ 132 ms, 11 @ 371,
    // 10 @ 610, 9 @ 849, 8 @ 1088, 7 @ 1327. The HTTP checks (8 to 12) hang
    // for their 2 s timeout. 8 finds the four slots taken and starts when
    // 12 ends (2132); the TCP check 7 when 11 ends (2371): each waits for
    // one slot to free, never for more than one timeout.
    let assigned = now_ms();
    let mut checks: Vec<AgentCheck> = (8..=12).map(|id| http(id, silent, 60, 2)).collect();
    checks.push(tcp(7, open.port, 60));
    runner.assign(checks);
    let tcp = server.wait_results(7, 1, Duration::from_secs(10));
    assert!(tcp[0].up, "{tcp:?}");
    let waited = tcp[0].ts - assigned;
    assert!(
        (2250..=1327 + 2000 + 500).contains(&waited),
        "the TCP check started {waited} ms after assignment"
    );
    for id in 8..=12 {
        let r = server.wait_results(id, 1, Duration::from_secs(10));
        assert!(!r[0].up, "{r:?}");
        let error = r[0].error.clone().unwrap_or_default();
        assert!(error.contains("timed out"), "{error}");
    }
    assert_eq!(runner.stats.peak_running(), 4);
    let eight = server.stored(8)[0].ts - assigned;
    assert!(
        (2050..=2700).contains(&eight),
        "check 8 started at {eight} ms"
    );
}

#[test]
fn a_removed_check_stops_and_a_changed_interval_applies() {
    let server = FakeServer::start();
    let target = counting_target();
    let mut runner = Runner::start(&server, quick());
    runner.assign(vec![tcp(1, target.port, 1)]);
    server.wait_results(1, 3, Duration::from_secs(10));
    // Every 3 s from now on.
    let changed = now_ms();
    runner.assign(vec![tcp(1, target.port, 3)]);
    server.wait_for(
        Duration::from_secs(20),
        "3 runs at the new interval",
        |st| st.stored.iter().filter(|r| r.ts >= changed).count() >= 3,
    );
    let got: Vec<AgentCheckResult> = server
        .stored(1)
        .into_iter()
        .filter(|r| r.ts >= changed)
        .collect();
    let gaps = gaps_ms(&got);
    assert!(gaps.iter().all(|g| (2900..=3300).contains(g)), "{gaps:?}");
    // Removed: no more connections to its target.
    runner.assign(Vec::new());
    std::thread::sleep(Duration::from_millis(1500)); // a run in progress ends
    let accepted = target.accepted.load(Ordering::SeqCst);
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(target.accepted.load(Ordering::SeqCst), accepted);
    assert_eq!(runner.stats.assigned(), 0);
}

#[test]
fn a_spec_that_does_not_parse_is_reported_down_with_the_reason() {
    let server = FakeServer::start();
    let mut runner = Runner::start(&server, quick());
    runner.assign(vec![
        AgentCheck {
            id: 8,
            spec: json!({"type": "gopher", "host": "x"}),
            interval_s: 1,
            timeout_s: 1,
        },
        AgentCheck {
            id: 9,
            spec: json!({"type": "tcp", "host": "127.0.0.1"}),
            interval_s: 1,
            timeout_s: 1,
        },
    ]);
    for (id, words) in [(8, "gopher"), (9, "port")] {
        let got = server.wait_results(id, 2, Duration::from_secs(10));
        for r in got {
            let error = r.error.unwrap_or_default();
            assert!(
                !r.up && error.starts_with("invalid check spec") && error.contains(words),
                "{error}"
            );
        }
    }
}

#[test]
fn shutdown_does_not_wait_for_a_hanging_probe_and_sends_what_waits() {
    let server = FakeServer::start();
    let silent = silent_target();
    let open = counting_target();
    let mut runner = Runner::start(
        &server,
        Settings {
            flush_every: Duration::from_secs(60),
            ..Settings::default()
        },
    );
    runner.assign(vec![http(1, silent, 60, 30), tcp(2, open.port, 60)]);
    let stats = runner.stats.clone();
    let until = Instant::now() + Duration::from_secs(10);
    while stats.pending() < 1 || stats.runs() < 2 {
        assert!(Instant::now() < until, "the checks never ran");
        std::thread::sleep(Duration::from_millis(50));
    }
    let began = Instant::now();
    runner.stop();
    assert!(
        began.elapsed() < Duration::from_secs(3),
        "{:?}",
        began.elapsed()
    );
    // The waiting result went out on the way down.
    assert_eq!(server.stored(2).len(), 1);
    assert!(server.stored(1).is_empty());
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}
