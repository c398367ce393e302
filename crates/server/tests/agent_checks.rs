//! Health checks run by the agent, end to end: the real server and the real
//! agent binary. The server never runs a check assigned to a host (its
//! scheduler only takes checks without `run_on_host`), so a check that
//! changes state here was run by the agent, which learnt of it on a config
//! refresh (`--config-refresh 5`) and posted its results.

mod common;

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use common::*;
use serde_json::{Value, json};

/// A TCP port that counts the connections it accepts, until closed.
struct Target {
    port: u16,
    accepted: Arc<AtomicUsize>,
    closed: Arc<AtomicBool>,
}

impl Target {
    fn open() -> Target {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let closed = Arc::new(AtomicBool::new(false));
        let (count, stop) = (accepted.clone(), closed.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok(_) => {
                        count.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
            // The listener drops here: connections are refused from now on.
        });
        Target {
            port,
            accepted,
            closed,
        }
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Stops listening; returns once connecting is refused.
    fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        assert!(
            wait_until(Duration::from_secs(5), || {
                std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err()
            }),
            "the target port is still open"
        );
    }
}

fn check(api: &Api, id: i64) -> Value {
    let r = api.get(&format!("/api/checks/{id}"));
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

fn wait_status(api: &Api, id: i64, want: &str, timeout: Duration) -> Value {
    let mut last = Value::Null;
    let ok = wait_until(timeout, || {
        last = check(api, id);
        last["status"] == want
    });
    assert!(ok, "check {id} never became {want}: {last}");
    last
}

fn create(api: &Api, name: &str, host: i64, port: u16) -> i64 {
    let r = api.post_json(
        "/api/checks",
        &json!({"name": name, "interval_s": 10, "retries": 0, "run_on_host": host,
                "spec": {"type": "tcp", "host": "127.0.0.1", "port": port}}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["status"], "unknown", "{}", r.body);
    r.body["id"].as_i64().unwrap()
}

#[test]
fn the_agent_runs_the_checks_assigned_to_its_host_and_stops_removed_ones() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), free_port(), &[]);
    let key = server.create_key("checks-agent");
    let _agent = Agent::start(
        &server.url(),
        &key,
        &dir.path().join("spool"),
        &["--interval", "5", "--config-refresh", "5"],
    );
    let admin = Api::logged_in(&server.url());
    let mut host = None;
    assert!(
        wait_until(Duration::from_secs(20), || {
            host = admin
                .get("/api/servers")
                .body
                .as_array()
                .and_then(|a| a.first())
                .and_then(|h| h["id"].as_i64());
            host.is_some()
        }),
        "the agent never registered"
    );
    let host = host.unwrap();

    // Two checks created after registration: the agent learns of them on
    // its next config refresh (≤ 5 s), runs each within 3 s of that and
    // posts the results within 2 s.
    let service = Target::open();
    let other = Target::open();
    let a = create(&admin, "local service", host, service.port);
    let b = create(&admin, "other service", host, other.port);
    let up = wait_status(&admin, a, "up", Duration::from_secs(30));
    assert!(up["last_latency_ms"].as_f64().is_some(), "{up}");
    assert!(up["last_error"].is_null(), "{up}");
    wait_status(&admin, b, "up", Duration::from_secs(30));
    assert!(service.accepted() >= 1 && other.accepted() >= 1);

    // The service goes away: the next run (≤ 10 s) reports it down, with
    // the reason.
    service.close();
    let down = wait_status(&admin, a, "down", Duration::from_secs(30));
    let error = down["last_error"].as_str().unwrap_or_default();
    assert!(!error.is_empty(), "{down}");
    assert_eq!(
        check(&admin, b)["status"],
        "up",
        "the other check is unaffected"
    );
    let series = admin.get(&format!("/api/checks/{a}/results")).body;
    let ups: Vec<u64> = series["up"]
        .as_array()
        .unwrap_or_else(|| panic!("{series}"))
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert!(
        ups.contains(&1) && ups.last() == Some(&0),
        "runs recorded as a series: {series}"
    );

    // Check b is deleted: after the next refresh the agent no longer runs
    // it (no more connections to its target) while it keeps running a.
    let r = admin.request("DELETE", &format!("/api/checks/{b}"), None);
    assert_eq!(r.status, 204, "{}", r.body);
    // A refresh (5 s) and a run that may have been in progress (1 s).
    std::thread::sleep(Duration::from_secs(7));
    let accepted = other.accepted();
    let a_checked = check(&admin, a)["last_checked"].as_i64().unwrap();
    // More than one interval of a check (10 s).
    std::thread::sleep(Duration::from_secs(13));
    assert_eq!(other.accepted(), accepted, "the removed check still runs");
    let a_now = check(&admin, a);
    assert!(
        a_now["last_checked"].as_i64().unwrap() > a_checked,
        "the remaining check keeps reporting: {a_now}"
    );
    assert_eq!(a_now["status"], "down");
    assert_eq!(admin.get(&format!("/api/checks/{b}")).status, 404);
}
