//! The agent-facing API against a real server process: bad input is refused
//! with a clear error and touches nothing; a 2xx survives SIGKILL; long
//! ranges come from rollups; the seed's body is accepted.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{Value, json};

struct Fixture {
    _dir: tempfile::TempDir,
    server: Server,
    agent: Api,
    host: i64,
}

fn fixture(args: &[&str]) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), free_port(), args);
    let key = server.create_key("e2e");
    let agent = Api::as_agent(&server.url(), &key);
    let r = agent.post_json(
        "/api/agent/register",
        &json!({"hostname": "e2e-host", "os": "Debian", "arch": "x86_64", "version": "test"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let host = r.body["server_id"].as_i64().unwrap();
    Fixture {
        _dir: dir,
        server,
        agent,
        host,
    }
}

fn stored_cpu(api: &Api, host: i64, from: i64) -> Vec<Value> {
    let body = api.series(
        host,
        &format!("names=cpu.usage_percent&from={from}&to={}", now_ms() + 1000),
    );
    body["series"]
        .as_array()
        .and_then(|s| s.first())
        .map(|s| s["values"].as_array().unwrap().clone())
        .unwrap_or_default()
}

fn error_code(r: &Reply) -> &str {
    r.body["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no JSON error in {}", r.body))
}

#[test]
fn bad_input_gets_a_clear_error_and_changes_nothing() {
    let f = fixture(&[]);
    let t0 = now_ms() - 60_000;
    let ok = f
        .agent
        .post_json("/api/agent/metrics", &report(1, t0, 42.0));
    assert_eq!(ok.status, 200, "{}", ok.body);

    let mut too_many = report(2, t0 + 1000, 1.0);
    too_many["metrics"] = Value::Array(
        (0..5000)
            .map(|i| json!({"n": format!("m{i}"), "v": 1}))
            .collect(),
    );
    let mut long_label = report(2, t0 + 1000, 1.0);
    long_label["metrics"][1]["l"]["mount"] = json!("/".repeat(300));
    let mut negative = report(2, t0 + 1000, 1.0);
    negative["metrics"][1]["v"] = json!(-5);
    let mut counter = report(2, t0 + 1000, 1.0);
    counter["metrics"] = json!([{"n": "net.rx_errors_total", "l": {"iface": "eth0"}, "v": -1}]);
    let mut nan = report(2, t0 + 1000, 1.0);
    nan["metrics"][0]["v"] = json!("NaN");
    let mut inf = report(2, t0 + 1000, 1.0);
    inf["metrics"][0]["v"] = json!("Infinity");
    let future = report(2, now_ms() + 6 * 60_000, 1.0);
    let ancient = report(2, now_ms() - 8 * 86_400_000, 1.0);
    let mut wrong_type = report(2, t0 + 1000, 1.0);
    wrong_type["metrics"] = json!("cpu");

    let cases: Vec<(&str, Value, u16, &str)> = vec![
        ("too many series", too_many, 422, "invalid_report"),
        ("label too long", long_label, 422, "invalid_report"),
        ("negative bytes", negative, 422, "invalid_report"),
        ("negative counter", counter, 422, "invalid_report"),
        ("NaN", nan, 422, "invalid_report"),
        ("Inf", inf, 422, "invalid_report"),
        ("future timestamp", future, 422, "invalid_report"),
        ("older than retention", ancient, 422, "rejected"),
        ("wrong type", wrong_type, 400, "bad_json"),
    ];
    for (what, body, status, code) in cases {
        let r = f.agent.post_json("/api/agent/metrics", &body);
        assert_eq!(
            (r.status, error_code(&r)),
            (status, code),
            "{what}: {}",
            r.body
        );
        assert!(!r.body["error"]["message"].as_str().unwrap().is_empty());
    }

    let r = f.agent.post(
        "/api/agent/metrics",
        &[("content-type", "application/json")],
        b"{\"v\":1,".to_vec(),
    );
    assert_eq!((r.status, error_code(&r)), (400, "bad_json"));

    // An oversized body is refused from its declared length, before it is read.
    let auth = format!("Bearer {}", f.agent.token.as_deref().unwrap());
    let (status, body) = post_declaring_length(
        &f.server.url(),
        "/api/agent/metrics",
        &[("Authorization", &auth)],
        2 * 1024 * 1024,
    );
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("payload_too_large"), "{body}");
    // Without a declared length (chunked), the limit applies while reading.
    let (status, body) = post_chunked(
        &f.server.url(),
        "/api/agent/metrics",
        &[("Authorization", &auth)],
        1024 * 1024 + 10,
    );
    assert_eq!(status, 413, "{body}");

    // A compressed bomb: small on the wire, too large decoded.
    let bomb = zstd::bulk::compress(&vec![b' '; 4 * 1024 * 1024], 3).unwrap();
    let r = f
        .agent
        .post("/api/agent/metrics", &[("content-encoding", "zstd")], bomb);
    assert_eq!((r.status, error_code(&r)), (413, "payload_too_large"));

    // NDJSON: the bad line is named and nothing of the batch is stored.
    let batch = format!(
        "{}\n{}\n{{not json\n",
        report(10, t0 + 10_000, 1.0),
        report(11, t0 + 20_000, 1.0)
    );
    let r = f.agent.post(
        "/api/agent/metrics/batch",
        &[("content-type", "application/x-ndjson")],
        batch.into_bytes(),
    );
    assert_eq!(
        (r.status, error_code(&r), r.body["error"]["line"].as_u64()),
        (400, "bad_json", Some(3)),
        "{}",
        r.body
    );
    let mut bad_value = report(13, t0 + 30_000, 1.0);
    bad_value["metrics"][0]["v"] = json!(null);
    let batch = format!("{}\n{}\n", report(12, t0 + 25_000, 1.0), bad_value);
    let r = f
        .agent
        .post("/api/agent/metrics/batch", &[], batch.into_bytes());
    assert_eq!(
        (r.status, r.body["error"]["line"].as_u64()),
        (422, Some(2)),
        "{}",
        r.body
    );

    // Wrong, malformed and revoked keys.
    for key in ["lxk_0000000000000000.nope", "garbage", ""] {
        let r = Api::as_agent(&f.server.url(), key)
            .post_json("/api/agent/metrics", &report(20, t0, 1.0));
        assert_eq!((r.status, error_code(&r)), (401, "unauthorized"), "{key}");
    }
    let key2 = f.server.create_key("to-revoke");
    let agent2 = Api::as_agent(&f.server.url(), &key2);
    assert_eq!(
        agent2
            .post_json("/api/agent/register", &json!({"hostname": "other"}))
            .status,
        200
    );
    let key_id = key2.trim_start_matches("lxk_").split('.').next().unwrap();
    let out = std::process::Command::new(server_bin())
        .args(["agent-key", "revoke", "--id", key_id, "--data-dir"])
        .arg(&f.server.data_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = agent2.post_json("/api/agent/metrics", &report(1, t0, 1.0));
    assert_eq!(
        r.status, 401,
        "revoked key must stop working at once: {}",
        r.body
    );

    // Unknown host on the query side.
    let api = Api::logged_in(&f.server.url());
    let r = api.get("/api/servers/999999/metrics");
    assert_eq!((r.status, error_code(&r)), (404, "not_found"));
    let r = api.get("/api/servers/abc");
    assert_eq!(r.status, 400);
    let r = api.get(&format!("/api/servers/{}/metrics?from=10&to=5", f.host));
    assert_eq!((r.status, error_code(&r)), (422, "invalid_query"));
    let r = api.get("/api/nothing-here");
    assert_eq!((r.status, error_code(&r)), (404, "not_found"));

    // After all that, exactly the one good report is stored.
    assert_eq!(stored_cpu(&api, f.host, t0 - 1000), vec![json!(42.0)]);
    let metrics = api.get("/metrics");
    let text = metrics.body.as_str().unwrap();
    assert!(text.contains("lxmon_reports_ingested_total 1\n"), "{text}");
    assert!(
        text.contains("lxmon_reports_rejected_total{code=\"invalid_report\"}"),
        "{text}"
    );
}

#[test]
fn dashboard_endpoints_require_a_session() {
    let f = fixture(&[]);
    let anon = Api::new(&f.server.url());
    for path in [
        "/api/servers",
        &format!("/api/servers/{}", f.host),
        &format!("/api/servers/{}/metrics", f.host),
    ] {
        let r = anon.get(path);
        assert_eq!((r.status, error_code(&r)), (401, "unauthorized"), "{path}");
    }
    let mut forged = Api::new(&f.server.url());
    forged.token = Some("eyJhbGciOiJub25lIn0.eyJzdWIiOjF9.".into());
    assert_eq!(forged.get("/api/servers").status, 401);
    // An agent key is not a session.
    assert_eq!(f.agent.get("/api/servers").status, 401);
    let r = Api::new(&f.server.url()).post_json(
        "/api/auth/login",
        &json!({"username": "admin", "password": "wrong"}),
    );
    assert_eq!((r.status, error_code(&r)), (401, "unauthorized"));
    let api = Api::logged_in(&f.server.url());
    let list = api.get("/api/servers");
    assert_eq!(list.status, 200);
    assert_eq!(list.body[0]["hostname"], "e2e-host");
    assert_eq!(list.body[0]["status"], "online");
}

#[test]
fn a_report_acknowledged_before_sigkill_is_kept() {
    let mut f = fixture(&[]);
    let t = now_ms();
    for seq in 1..=20u64 {
        let r = f.agent.post_json(
            "/api/agent/metrics",
            &report(seq, t - 20_000 + seq as i64 * 1000, seq as f64),
        );
        assert_eq!(r.status, 200);
    }
    // Kill right after the last 2xx: no graceful shutdown, no flush.
    f.server.kill9();
    f.server.restart();
    let api = Api::logged_in(&f.server.url());
    let values = stored_cpu(&api, f.host, t - 60_000);
    assert_eq!(values.len(), 20);
    assert_eq!(values.last().unwrap(), &json!(20.0));
    // The sequence watermark survived too: a resend is a duplicate.
    let r = f.agent.post_json("/api/agent/metrics", &report(20, t, 0.0));
    assert_eq!(r.body["duplicate"], json!(true), "{}", r.body);
}

#[test]
fn thirty_days_are_answered_from_rollups() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("server.toml");
    std::fs::write(&config, "maintenance_interval_s = 1\n").unwrap();
    let f = fixture(&["--config", config.to_str().unwrap()]);
    // Six hours of 10 s reports, ending an hour ago, backfilled in batches.
    let hour = 3_600_000;
    let start = (now_ms() - 7 * hour) / hour * hour;
    let lines: Vec<String> = (0..2160u64)
        .map(|i| report(i + 1, start + i as i64 * 10_000, (i % 60) as f64).to_string())
        .collect();
    for chunk in lines.chunks(1000) {
        let body = chunk.join("\n").into_bytes();
        let r = f.agent.post(
            "/api/agent/metrics/batch",
            &[("content-type", "application/x-ndjson")],
            body,
        );
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let api = Api::logged_in(&f.server.url());
    // The maintenance job seals finished hours.
    let sealed = wait_until(Duration::from_secs(30), || {
        let m = api.get("/metrics");
        m.body.as_str().unwrap().contains("lxmon_head_reports 0\n")
    });
    assert!(sealed, "head rows were not sealed");
    let month = api.series(
        f.host,
        &format!(
            "names=cpu.usage_percent&from={}&to={}",
            now_ms() - 30 * 24 * hour,
            now_ms()
        ),
    );
    assert_eq!(month["tier"], "1h", "{month}");
    assert_eq!(month["step_s"], 3600);
    let values: Vec<f64> = month["series"][0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_f64)
        .collect();
    assert_eq!(values.len(), 6, "one point per stored hour");
    // Each hour holds 360 reports cycling 0..59 → average exactly 29.5.
    assert!(values.iter().all(|v| (v - 29.5).abs() < 1e-9), "{values:?}");
    // And a 7-day chart uses the 5-minute rollup.
    let week = api.series(
        f.host,
        &format!(
            "names=cpu.usage_percent&from={}",
            now_ms() - 7 * 24 * hour + 60_000
        ),
    );
    assert_eq!(week["tier"], "5m");
}

#[test]
fn the_flask_seed_body_is_accepted() {
    let f = fixture(&["--durability", "process"]);
    let body = json!({
        "hostname": "flask-agent", "timestamp": "2025-11-06T10:00:00",
        "cpu": {"cpu_percent_total": 45.2, "cpu_percent_per_core": [40, 50, 43, 48], "cpu_count_logical": 4, "load_average": [1.5, 1.2, 1.0]},
        "memory": {"memory_total": 8589934592u64, "memory_used": 4294967296u64, "memory_percent": 50.0},
        "disk": {"partitions": [{"mountpoint": "/", "total": 100, "used": 40, "free": 60, "percent": 40.0}]},
        "io": {"network": {"bytes_sent": 1, "bytes_recv": 2}, "disk_io": {"read_bytes": 3, "write_bytes": 4}}
    });
    // Without a key and without an allowed CIDR: refused.
    let r = Api::new(&f.server.url()).post_json("/api/metrics", &body);
    assert_eq!(r.status, 401);
    let r = f.agent.post_json("/api/metrics", &body);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body,
        json!({"status": "success", "hostname": "flask-agent"})
    );
    let api = Api::logged_in(&f.server.url());
    let hosts = api.get("/api/servers").body;
    let flask = hosts
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["hostname"] == "flask-agent")
        .unwrap();
    let latest = api
        .get(&format!("/api/servers/{}/latest", flask["id"]))
        .body;
    let value = |name: &str| {
        latest["values"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == name)
            .map(|v| v["value"].clone())
    };
    assert_eq!(value("mem.total_bytes"), Some(json!(8589934592.0)));
    assert_eq!(value("cpu.usage_percent"), Some(json!(45.2)));
}

#[test]
fn unauthenticated_seed_pushes_from_allowed_networks() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("server.toml");
    std::fs::write(
        &config,
        "[compat]\nallow_unauthenticated_from = [\"127.0.0.0/8\"]\n",
    )
    .unwrap();
    let server = Server::start(
        &dir.path().join("data"),
        free_port(),
        &["--config", config.to_str().unwrap()],
    );
    let r = Api::new(&server.url()).post_json(
        "/api/metrics",
        &json!({"hostname": "legacy", "cpu": {"cpu_percent_total": 3.0}}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
}

#[test]
fn live_events_announce_reports_and_end_at_shutdown() {
    use std::io::{BufRead, BufReader, Write};
    let mut f = fixture(&[]);
    let api = Api::logged_in(&f.server.url());
    let token = api.token.clone().unwrap();
    let addr = f.server.url().trim_start_matches("http://").to_owned();
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(stream, "GET /api/events?token={token} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n").unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut status = String::new();
    reader.read_line(&mut status).unwrap();
    assert!(status.contains(" 200 "), "{status}");
    std::thread::sleep(Duration::from_millis(300));
    let ts = now_ms();
    assert_eq!(
        f.agent
            .post_json("/api/agent/metrics", &report(1, ts, 5.0))
            .status,
        200
    );
    let mut seen = String::new();
    let mut line = String::new();
    while reader.read_line(&mut line).unwrap() > 0 {
        seen.push_str(&line);
        if line.starts_with("data:") && line.contains(&format!("\"ts\":{ts}")) {
            break;
        }
        line.clear();
    }
    assert!(seen.contains("event: report"), "{seen}");
    assert!(seen.contains(&format!("\"host_id\":{}", f.host)), "{seen}");
    // A platform admin may watch another tenant, which must exist.
    let r = Api::new(&f.server.url()).get(&format!("/api/events?token={token}&tenant=999"));
    assert_eq!(r.status, 404, "{}", r.body);
    // Without a valid token: refused.
    let r = Api::new(&f.server.url()).get("/api/events?token=forged");
    assert_eq!(r.status, 401);
    // A stream does not keep the server from shutting down.
    let started = std::time::Instant::now();
    f.server.terminate();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "shutdown waited for the event stream"
    );
}

#[test]
fn the_dashboard_is_served_and_never_shadows_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("data"), free_port(), &[]);
    let http: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let get = |path: &str| {
        let mut r = http.get(format!("{}{path}", server.url())).call().unwrap();
        let cache = r
            .headers()
            .get("cache-control")
            .map(|v| v.to_str().unwrap().to_owned());
        let ctype = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned());
        (
            r.status().as_u16(),
            ctype,
            cache,
            r.body_mut().read_to_string().unwrap(),
        )
    };
    let (status, ctype, _, index) = get("/");
    assert_eq!(status, 200);
    assert!(ctype.unwrap().starts_with("text/html"));
    // Client-side routes get the same page; API paths never do.
    let (status, _, _, page) = get("/servers/1");
    assert_eq!((status, page == index), (200, true));
    let (status, ctype, _, body) = get("/api/servers/1/nothing");
    assert_eq!(status, 404);
    assert_eq!(ctype.as_deref(), Some("application/json"), "{body}");
    if index.contains("not built") {
        return;
    }
    let (_, _, cache, _) = get("/");
    assert_eq!(cache.as_deref(), Some("no-cache"));
    let asset = index
        .split('"')
        .find(|s| s.starts_with("/assets/") && s.ends_with(".js"))
        .expect("index.html references a hashed script");
    let (status, ctype, cache, _) = get(asset);
    assert_eq!(status, 200);
    assert!(ctype.unwrap().starts_with("text/javascript"));
    assert_eq!(
        cache.as_deref(),
        Some("public, max-age=31536000, immutable")
    );
}

/// `x-lxmon-zstd-dict: report:<seq>`: a report compressed against the
/// host's previous one is stored like any other; a base the server does not
/// hold (unknown seq, a restart, the wrong bytes) is a 409 `unknown_base`
/// that stores nothing, and the same report sent whole then lands.
#[test]
fn reports_compressed_against_the_previous_one() {
    use lxmon_proto::compress::{UNKNOWN_BASE, compress_against, compress_with_dict};
    let mut f = fixture(&[]);
    let t = now_ms() - 30_000;
    let json_of =
        |seq: u64, cpu: f64| serde_json::to_vec(&report(seq, t + seq as i64 * 1000, cpu)).unwrap();
    let send = |agent: &Api, body: Vec<u8>, dict: &str| {
        agent.post(
            "/api/agent/metrics",
            &[
                ("content-type", "application/json"),
                ("content-encoding", "zstd"),
                ("x-lxmon-zstd-dict", dict),
            ],
            body,
        )
    };
    let registered = f
        .agent
        .post_json("/api/agent/register", &json!({"hostname": "e2e-host"}));
    assert_eq!(registered.body["delta_reports"], json!(true));

    let first = json_of(1, 10.0);
    let r = send(&f.agent, compress_with_dict(&first), "v1");
    assert_eq!(r.status, 200, "{}", r.body);
    let second = json_of(2, 20.0);
    let delta = compress_against(&second, &first);
    assert!(delta.len() * 2 < compress_with_dict(&second).len());
    let r = send(&f.agent, delta, "report:1");
    assert_eq!(r.status, 200, "{}", r.body);

    // Against a report the server does not hold as the base (1 was
    // replaced by 2), or against other bytes than report 2's (here the
    // delta copies the value 30.0 from its base, where the server's report
    // 2 holds 20.0: the frame's checksum fails): 409.
    let third = json_of(3, 30.0);
    let r = send(&f.agent, compress_against(&third, &first), "report:1");
    assert_eq!(
        (r.status, error_code(&r)),
        (409, UNKNOWN_BASE),
        "{}",
        r.body
    );
    let r = send(
        &f.agent,
        compress_against(&third, &json_of(2, 30.0)),
        "report:2",
    );
    assert_eq!(
        (r.status, error_code(&r)),
        (409, UNKNOWN_BASE),
        "{}",
        r.body
    );
    let r = send(&f.agent, b"not zstd at all".to_vec(), "report:2");
    assert_eq!(
        (r.status, error_code(&r)),
        (409, UNKNOWN_BASE),
        "{}",
        r.body
    );
    // Only the single-report endpoint takes deltas.
    let r = f.agent.post(
        "/api/agent/metrics/batch",
        &[
            ("content-encoding", "zstd"),
            ("x-lxmon-zstd-dict", "report:2"),
        ],
        compress_against(&third, &second),
    );
    assert_eq!(
        (r.status, error_code(&r)),
        (415, "unsupported_encoding"),
        "{}",
        r.body
    );
    let r = send(&f.agent, compress_against(&third, &second), "report:2");
    assert_eq!(r.status, 200, "{}", r.body);

    // A restart forgets every base: the agent's next delta is refused, the
    // report sent whole is stored, and deltas resume against it.
    f.server.terminate();
    f.server.restart();
    let fourth = json_of(4, 40.0);
    let r = send(&f.agent, compress_against(&fourth, &third), "report:3");
    assert_eq!(
        (r.status, error_code(&r)),
        (409, UNKNOWN_BASE),
        "{}",
        r.body
    );
    let r = send(&f.agent, compress_with_dict(&fourth), "v1");
    assert_eq!(r.status, 200, "{}", r.body);
    let r = send(
        &f.agent,
        compress_against(&json_of(5, 50.0), &fourth),
        "report:4",
    );
    assert_eq!(r.status, 200, "{}", r.body);

    let api = Api::logged_in(&f.server.url());
    let values = stored_cpu(&api, f.host, t);
    let stored: Vec<f64> = values.iter().filter_map(Value::as_f64).collect();
    assert_eq!(stored, [10.0, 20.0, 30.0, 40.0, 50.0]);
    let metrics = api.get("/metrics").body.as_str().unwrap().to_owned();
    assert!(
        metrics.contains("lxmon_reports_delta_total 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("lxmon_reports_rejected_total{code=\"unknown_base\"} 1\n"),
        "{metrics}"
    );
}
