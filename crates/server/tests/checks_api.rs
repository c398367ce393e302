//! Health checks through the real server: the scheduler runs real probes
//! against real local targets, results become series and uptime, state
//! changes reach the live stream, agents report the checks they run, and a
//! public status page shows it all. (The probes' own edge cases are tested
//! in crates/checks.)

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use common::*;
use serde_json::{Value, json};

/// A tiny HTTP server answering every request with `status` (changeable).
fn http_target() -> (u16, Arc<AtomicU16>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let status = Arc::new(AtomicU16::new(200));
    let shared = status.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let code = shared.load(Ordering::Relaxed);
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                let body = if code == 200 {
                    "all systems go"
                } else {
                    "broken"
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {code} X\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    });
    (port, status)
}

fn server_with_fast_checks() -> (tempfile::TempDir, Server, Api) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), free_port(), &[]);
    let api = Api::logged_in(&server.url());
    (dir, server, api)
}

fn create(api: &Api, body: Value) -> Value {
    let r = api.post_json("/api/checks", &body);
    assert_eq!(r.status, 201, "{}", r.body);
    r.body
}

fn wait_status(api: &Api, id: i64, want: &str, timeout: Duration) -> Value {
    let mut last = Value::Null;
    let ok = wait_until(timeout, || {
        last = api.get(&format!("/api/checks/{id}")).body;
        last["status"] == want
    });
    assert!(ok, "check {id} never became {want}: {last}");
    last
}

#[test]
fn server_side_checks_run_on_schedule_and_change_state() {
    let (_dir, server, api) = server_with_fast_checks();
    let (port, status) = http_target();
    let http = create(
        &api,
        json!({"name": "web", "interval_s": 10, "timeout_s": 2, "retries": 0,
               "spec": {"type": "http", "url": format!("http://127.0.0.1:{port}/health"), "keyword": "systems go"}}),
    );
    let closed = free_port();
    let tcp_down = create(
        &api,
        json!({"name": "closed port", "interval_s": 10, "timeout_s": 2, "retries": 0,
               "spec": {"type": "tcp", "host": "127.0.0.1", "port": closed}}),
    );
    let tcp_up = create(
        &api,
        json!({"name": "open port", "interval_s": 10, "timeout_s": 2, "retries": 0,
               "spec": {"type": "tcp", "host": "127.0.0.1", "port": port}}),
    );
    let id = http["id"].as_i64().unwrap();
    let up = wait_status(&api, id, "up", Duration::from_secs(20));
    assert!(up["last_latency_ms"].as_f64().is_some());
    wait_status(
        &api,
        tcp_up["id"].as_i64().unwrap(),
        "up",
        Duration::from_secs(20),
    );
    let down = wait_status(
        &api,
        tcp_down["id"].as_i64().unwrap(),
        "down",
        Duration::from_secs(20),
    );
    assert!(!down["last_error"].as_str().unwrap().is_empty(), "{down}");

    // The target starts failing: the next run (≤ 10 s) marks it down.
    status.store(500, Ordering::Relaxed);
    let down = wait_status(&api, id, "down", Duration::from_secs(25));
    assert!(
        down["last_error"].as_str().unwrap().contains("500"),
        "{down}"
    );
    let series = api.get(&format!("/api/checks/{id}/results")).body;
    let ups: Vec<u64> = series["up"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert!(
        ups.len() >= 2 && ups.contains(&1) && ups.last() == Some(&0),
        "{series}"
    );
    assert_eq!(series["timestamps"].as_array().unwrap().len(), ups.len());
    let view = api.get(&format!("/api/checks/{id}")).body;
    let h24 = view["uptime"]["h24"].as_f64().unwrap();
    assert!(h24 > 0.0 && h24 < 100.0, "{view}");
    drop(server);
}

/// A TCP listener that accepts connections and never answers on them.
fn hanging_target() -> u16 {
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

fn metrics_text(api: &Api) -> String {
    api.get("/metrics").body.as_str().unwrap().to_owned()
}

/// One sample (`name` with its labels, if any) from `/metrics` text.
fn figure_in(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("{name} missing from /metrics:\n{text}"))
        .parse()
        .unwrap()
}

fn figure(api: &Api, name: &str) -> f64 {
    figure_in(&metrics_text(api), name)
}

#[test]
fn schedule_figures_reach_metrics_and_a_hanging_target_delays_nothing() {
    let (_dir, _server, api) = server_with_fast_checks();
    for name in [
        "lxmon_check_runs_total",
        "lxmon_check_runs_down_total",
        "lxmon_check_runs_skipped_total",
        "lxmon_check_runs_in_flight",
        "lxmon_check_schedule_lag_seconds_count{lane=\"fast\"}",
        "lxmon_check_schedule_lag_seconds_count{lane=\"slow\"}",
        "lxmon_check_schedule_lag_max_seconds",
    ] {
        assert_eq!(figure(&api, name), 0.0, "{name} before any check");
    }
    assert_eq!(figure(&api, "lxmon_check_probe_slots_free"), 256.0);
    let (port, _) = http_target();
    let hanging = hanging_target();
    for i in 0..3 {
        create(
            &api,
            json!({"name": format!("hangs {i}"), "interval_s": 10, "timeout_s": 4, "retries": 0,
                   "spec": {"type": "http", "url": format!("http://127.0.0.1:{hanging}/")}}),
        );
    }
    let web = create(
        &api,
        json!({"name": "web", "interval_s": 10, "timeout_s": 2,
               "spec": {"type": "http", "url": format!("http://127.0.0.1:{port}/")}}),
    );
    // The hanging probes are seen in flight, holding probe slots.
    let mut in_flight = 0.0;
    assert!(
        wait_until(Duration::from_secs(20), || {
            in_flight = figure(&api, "lxmon_check_runs_in_flight");
            in_flight >= 1.0 && figure(&api, "lxmon_check_probe_slots_free") < 256.0
        }),
        "no run seen in flight"
    );
    // Every check finishes a run; the hanging ones time out as down.
    assert!(
        wait_until(Duration::from_secs(30), || figure(
            &api,
            "lxmon_check_runs_down_total"
        ) >= 3.0),
        "the hanging checks never finished"
    );
    wait_status(
        &api,
        web["id"].as_i64().unwrap(),
        "up",
        Duration::from_secs(5),
    );
    let runs = figure(&api, "lxmon_check_runs_total");
    let lagged = figure(
        &api,
        "lxmon_check_schedule_lag_seconds_count{lane=\"fast\"}",
    ) + figure(
        &api,
        "lxmon_check_schedule_lag_seconds_count{lane=\"slow\"}",
    );
    assert!(runs >= 4.0, "{runs} runs");
    assert!(lagged >= runs, "every finished run had its lag recorded");
    // Having hung for 4 s, the hanging checks run in the slow lane next time.
    assert!(
        wait_until(Duration::from_secs(20), || figure(
            &api,
            "lxmon_check_schedule_lag_seconds_count{lane=\"slow\"}"
        ) >= 3.0),
        "the hanging checks never ran in the slow lane"
    );
    // Runs start on time although three probes hang for 4 s each.
    let max = figure(&api, "lxmon_check_schedule_lag_max_seconds");
    assert!(max > 0.0 && max < 1.0, "lag max {max} s");
    let text = metrics_text(&api);
    assert!(
        text.contains("# TYPE lxmon_check_schedule_lag_seconds histogram"),
        "{text}"
    );
    for lane in ["fast", "slow"] {
        let bucket = |le: &str| {
            figure_in(
                &text,
                &format!("lxmon_check_schedule_lag_seconds_bucket{{lane=\"{lane}\",le=\"{le}\"}}"),
            )
        };
        assert_eq!(bucket("1"), bucket("+Inf"), "{lane} lane: all within 1 s");
    }
    assert_eq!(figure(&api, "lxmon_check_runs_skipped_total"), 0.0);
}

#[test]
fn test_now_and_bad_definitions() {
    let (_dir, _server, api) = server_with_fast_checks();
    let (port, _) = http_target();
    let r = api.post_json("/api/checks/test", &json!({"name": "t", "spec": {"type": "http", "url": format!("http://127.0.0.1:{port}/"), "keyword": "missing-word"}}));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["up"], false, "{}", r.body);
    assert!(
        r.body["error"].as_str().unwrap().contains("missing-word"),
        "{}",
        r.body
    );
    for (spec, interval, what) in [
        (
            json!({"type": "http", "url": "ftp://example.com/"}),
            60,
            "not http(s)",
        ),
        (
            json!({"type": "http", "url": "not a url"}),
            60,
            "invalid URL",
        ),
        (
            json!({"type": "tcp", "host": "127.0.0.1", "port": 0}),
            60,
            "port 0",
        ),
        (
            json!({"type": "tcp", "host": "127.0.0.1", "port": 70000}),
            60,
            "port > 65535",
        ),
        (
            json!({"type": "tcp", "host": "bad host", "port": 80}),
            60,
            "hostname with spaces",
        ),
        (
            json!({"type": "tcp", "host": "127.0.0.1", "port": 80}),
            5,
            "interval below 10 s",
        ),
        (
            json!({"type": "tcp", "host": "127.0.0.1", "port": 80}),
            86_401,
            "interval above a day",
        ),
        (json!({"type": "smtp"}), 60, "unknown type"),
    ] {
        let r = api.post_json(
            "/api/checks",
            &json!({"name": "bad", "interval_s": interval, "spec": spec}),
        );
        assert_eq!(r.status, 422, "{what}: {}", r.body);
        assert!(!r.body["error"]["message"].as_str().unwrap().is_empty());
    }
    assert_eq!(api.get("/api/checks").body, json!([]), "nothing was saved");
}

#[test]
fn agents_report_the_checks_they_run_and_status_pages_publish_them() {
    let (_dir, server, api) = server_with_fast_checks();
    let key = server.create_key("edge");
    let agent = Api::as_agent(&server.url(), &key);
    let host = agent
        .post_json("/api/agent/register", &json!({"hostname": "edge-1"}))
        .body["server_id"]
        .as_i64()
        .unwrap();
    let check = create(
        &api,
        json!({"name": "private db", "interval_s": 30, "run_on_host": host, "retries": 0,
               "spec": {"type": "tcp", "host": "10.0.0.5", "port": 5432}}),
    );
    let id = check["id"].as_i64().unwrap();
    // The agent learns it from its config…
    let config = agent.get("/api/agent/config").body;
    assert_eq!(config["checks"][0]["id"], id, "{config}");
    assert_eq!(config["checks"][0]["spec"]["port"], 5432);
    // …and reports what only it can reach.
    let t = now_ms();
    let r = agent.post_json(
        "/api/agent/check-results",
        &json!({"results": [{"check_id": id, "ts": t, "up": true, "latency_ms": 1.5}]}),
    );
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(api.get(&format!("/api/checks/{id}")).body["status"], "up");
    // Another agent cannot report for it.
    let other_key = server.create_key("other");
    let other = Api::as_agent(&server.url(), &other_key);
    other.post_json("/api/agent/register", &json!({"hostname": "other"}));
    let r = other.post_json(
        "/api/agent/check-results",
        &json!({"results": [{"check_id": id, "ts": t, "up": false}]}),
    );
    assert_eq!(r.status, 404);
    assert_eq!(other.get("/api/agent/config").body["checks"], json!([]));

    let page = api.post_json(
        "/api/status-pages",
        &json!({"title": "Acme status", "check_ids": [id], "host_ids": [host]}),
    );
    assert_eq!(page.status, 201, "{}", page.body);
    let slug = page.body["slug"].as_str().unwrap().to_owned();
    assert_eq!(slug.len(), 24, "an unguessable address by default");
    let anon = Api::new(&server.url());
    let public = anon.get(&format!("/api/public/status/{slug}")).body;
    assert_eq!(public["title"], "Acme status");
    assert_eq!(public["checks"][0]["name"], "private db");
    assert_eq!(public["checks"][0]["uptime_90d"], 100.0);
    assert_eq!(public["hosts"][0]["hostname"], "edge-1");
    assert!(
        !public.to_string().contains("10.0.0.5"),
        "targets stay private: {public}"
    );
    let html = anon.get(&format!("/status/{slug}")).body;
    let html = html.as_str().unwrap();
    assert!(
        html.contains("Acme status") && html.contains("private db") && html.contains("100% uptime"),
        "{html}"
    );
    assert_eq!(anon.get("/status/nope").status, 404);
    let r = api.post_json(
        "/api/status-pages",
        &json!({"slug": "Bad Slug", "title": "x"}),
    );
    assert_eq!(r.status, 422);
}

#[test]
fn check_credentials_are_never_shown_and_survive_an_edit() {
    let (_dir, server, api) = server_with_fast_checks();
    let spec = json!({"type": "http", "url": "http://127.0.0.1:9/health",
                      "basic_auth": {"username": "probe", "password": "hunter2-secret"},
                      "headers": {"Authorization-Token": "tok-secret", "Accept": "text/plain"}});
    let created = create(
        &api,
        json!({"name": "private api", "enabled": false, "spec": spec}),
    );
    let id = created["id"].as_i64().unwrap();
    let reporter = {
        let r = api.post_json(
            "/api/users",
            &json!({"username": "viewer", "password": "viewer-password-1", "role": "tenant_reporter"}),
        );
        assert_eq!(r.status, 201, "{}", r.body);
        Api::login_as(&server.url(), "viewer", "viewer-password-1")
    };
    for text in [
        created.to_string(),
        api.get("/api/checks").body.to_string(),
        reporter.get(&format!("/api/checks/{id}")).body.to_string(),
    ] {
        assert!(
            !text.contains("hunter2-secret") && !text.contains("tok-secret"),
            "{text}"
        );
        assert!(text.contains("basic_auth.password"), "{text}");
    }
    assert_eq!(created["spec"]["headers"]["Accept"], "text/plain");
    // The editor sends the redacted spec back with a new name: secrets stay.
    let mut edited = created["spec"].clone();
    edited["url"] = json!("http://127.0.0.1:9/ready");
    let r = api.request(
        "PUT",
        &format!("/api/checks/{id}"),
        Some(&json!({"name": "private api v2", "enabled": false, "spec": edited})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let set = r.body["spec"]["secrets_set"].to_string();
    assert!(
        set.contains("basic_auth.password") && set.contains("headers.Authorization-Token"),
        "{}",
        r.body
    );
    // A new username without a password does not inherit the old one.
    let mut other = r.body["spec"].clone();
    other["basic_auth"]["username"] = json!("someone-else");
    let r = api.request(
        "PUT",
        &format!("/api/checks/{id}"),
        Some(&json!({"name": "private api v3", "enabled": false, "spec": other})),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        !r.body["spec"]["secrets_set"]
            .to_string()
            .contains("basic_auth.password"),
        "{}",
        r.body
    );
}
