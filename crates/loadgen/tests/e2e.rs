//! End to end: the real `lxmon-server` binary on loopback, keys made with
//! its CLI, and the real `lxmon-loadgen` binary in each mode. What the load
//! generator says succeeded must be what the server says it stored.
//!
//! The server binary is found beside this test's `target/<profile>/`
//! directory; `bash scripts/test.sh` builds every binary first
//! (`cargo build --workspace --bins`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

fn server_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/<test> → target/<profile>/lxmon-server
    let path = exe.parent().unwrap().parent().unwrap().join("lxmon-server");
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --workspace --bins` first (scripts/test.sh does)",
        path.display()
    );
    path
}

struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn create_keys(data_dir: &Path, count: u32) -> Vec<String> {
    let out = Command::new(server_bin())
        .args([
            "agent-key",
            "create",
            "--name",
            "loadgen",
            "--count",
            &count.to_string(),
            "--data-dir",
        ])
        .arg(data_dir)
        .env("LXMON_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let keys = lxmon_loadgen::read_keys(&text);
    assert_eq!(keys.len(), count as usize, "{text}");
    keys
}

fn start_server(data_dir: &Path) -> Server {
    let port = free_port();
    let mut child = Command::new(server_bin())
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--durability", "process"])
        .env("LXMON_LOG", "warn")
        .env("LXMON_ADMIN_PASSWORD", "loadgen-e2e")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert!(
        line.contains("listening on"),
        "unexpected server output {line:?}"
    );
    std::thread::spawn(move || for _ in stdout.lines() {});
    Server {
        child,
        url: format!("http://127.0.0.1:{port}"),
    }
}

/// `GET /metrics` over a plain socket, and one counter or gauge from it.
fn server_figure(url: &str, name: &str) -> f64 {
    let addr = url.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
        .unwrap_or_else(|| panic!("{name} missing from /metrics:\n{text}"))
        .trim()
        .parse()
        .unwrap()
}

fn loadgen(server: &Server, keys: &[String], dir: &Path, args: &[&str]) -> Value {
    let keys_file = dir.join(format!("keys-{}.txt", keys.len()));
    std::fs::write(&keys_file, keys.join("\n") + "\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_lxmon-loadgen"))
        .arg("--server")
        .arg(&server.url)
        .arg("--keys")
        .arg(&keys_file)
        .arg("--server-pid")
        .arg(server.child.id().to_string())
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "loadgen failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "summary is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn assert_clean(summary: &Value, agents: u64) {
    assert_eq!(summary["errors"], 0, "{summary:#}");
    assert_eq!(summary["registrations_ok"], agents, "{summary:#}");
    assert_eq!(summary["reports_duplicate"], 0, "{summary:#}");
    assert_eq!(
        summary["reports_ok"], summary["reports_sent"],
        "{summary:#}"
    );
    assert!(summary["samples"].as_u64().unwrap() > 0);
    assert!(summary["latency_ms"]["p99"].as_f64().unwrap() > 0.0);
    assert!(summary["server"]["cpu_s"].as_f64().unwrap() >= 0.0);
    assert!(summary["server"]["rss_mb_max"].as_f64().unwrap() > 0.0);
}

#[test]
fn every_mode_against_the_real_server() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let keys = create_keys(&data, 12);
    let server = start_server(&data);

    // Live: 5 agents reporting every second for 2 s.
    let live = loadgen(
        &server,
        &keys[..5],
        dir.path(),
        &["--mode", "live", "--interval", "1", "--duration", "2"],
    );
    assert_clean(&live, 5);
    let live_ok = live["reports_ok"].as_u64().unwrap();
    assert!(live_ok >= 5, "{live:#}");
    assert_eq!(
        server_figure(&server.url, "lxmon_reports_ingested_total") as u64,
        live_ok
    );
    assert_eq!(
        server_figure(&server.url, "lxmon_samples_ingested_total") as u64,
        live["samples"].as_u64().unwrap()
    );
    assert!(live["wire_bytes_per_sample"].as_f64().unwrap() > 0.0);
    // Like lxmon-agent, each agent's reports after its first are deltas
    // against the one before, and the server decoded every one.
    assert_eq!(
        server_figure(&server.url, "lxmon_reports_delta_total") as u64,
        live_ok - 5
    );
    assert_eq!(live["reports_resent_whole"], 0, "{live:#}");

    // Max: 200 pre-built reports from 4 agents, 8 in flight.
    let max = loadgen(
        &server,
        &keys[5..9],
        dir.path(),
        &["--mode", "max", "--reports", "200", "--concurrency", "8"],
    );
    assert_clean(&max, 4);
    assert_eq!(max["reports_ok"], 200);
    assert_eq!(
        server_figure(&server.url, "lxmon_reports_ingested_total") as u64,
        live_ok + 200
    );

    // Batch: one whole hour of 10 s reports from 3 agents (360 each).
    let batch = loadgen(
        &server,
        &keys[9..],
        dir.path(),
        &["--mode", "batch", "--hours", "1"],
    );
    assert_clean(&batch, 3);
    assert_eq!(batch["reports_ok"], 3 * 360);
    assert_eq!(batch["requests"], 3);
    assert_eq!(
        server_figure(&server.url, "lxmon_reports_ingested_total") as u64,
        live_ok + 200 + 1080
    );
    assert_eq!(server_figure(&server.url, "lxmon_hosts") as u64, 12);

    // Running the same agents again continues their sequence numbers.
    let again = loadgen(
        &server,
        &keys[5..9],
        dir.path(),
        &["--mode", "max", "--reports", "40"],
    );
    assert_clean(&again, 4);
    assert_eq!(
        server_figure(&server.url, "lxmon_reports_ingested_total") as u64,
        live_ok + 200 + 1080 + 40
    );
}

/// One HTTP/1.1 exchange over a plain socket: (status, JSON body).
fn http_json(url: &str, method: &str, path: &str, token: Option<&str>, body: &str) -> (u16, Value) {
    let addr = url.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status = text[9..12].parse().unwrap();
    let (_, body) = text.split_once("\r\n\r\n").unwrap();
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

/// Command mode drives the remote-command path: every command it sends is
/// delivered through a long-poll, answered, and stored as succeeded, which
/// the server's own command history confirms.
#[test]
fn command_mode_round_trips_through_the_real_server() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let keys = create_keys(&data, 6);
    let server = start_server(&data);
    let summary = loadgen(
        &server,
        &keys,
        dir.path(),
        &[
            "--mode",
            "commands",
            "--commands",
            "60",
            "--concurrency",
            "4",
            "--password",
            "loadgen-e2e",
        ],
    );
    assert_eq!(summary["commands_sent"], 60, "{summary:#}");
    assert_eq!(summary["commands_completed"], 60, "{summary:#}");
    assert_eq!(summary["errors"], 0, "{summary:#}");
    assert_eq!(summary["registrations_ok"], 6, "{summary:#}");
    let rtt = &summary["round_trip_ms"];
    let delivery = &summary["delivery_ms"];
    assert!(
        delivery["p50"].as_f64().unwrap() > 0.0
            && delivery["max"].as_f64().unwrap() <= rtt["max"].as_f64().unwrap(),
        "{summary:#}"
    );

    let (status, login) = http_json(
        &server.url,
        "POST",
        "/api/auth/login",
        None,
        r#"{"username":"admin","password":"loadgen-e2e"}"#,
    );
    assert_eq!(status, 200, "{login}");
    let token = login["token"].as_str().unwrap();
    let (_, hosts) = http_json(&server.url, "GET", "/api/servers", Some(token), "");
    let hosts = hosts.as_array().unwrap();
    assert_eq!(hosts.len(), 6);
    let mut statuses = std::collections::BTreeMap::new();
    for host in hosts {
        let path = format!("/api/servers/{}/commands?limit=500", host["id"]);
        let (status, history) = http_json(&server.url, "GET", &path, Some(token), "");
        assert_eq!(status, 200, "{history}");
        for c in history.as_array().unwrap() {
            assert_eq!(c["action"], "noop");
            assert_eq!(c["exit_code"], 0, "{c}");
            *statuses
                .entry(c["status"].as_str().unwrap().to_owned())
                .or_insert(0) += 1;
        }
    }
    // Round-robin over the hosts, every one answered.
    assert_eq!(statuses, [("succeeded".to_owned(), 60)].into());
}

#[test]
fn wire_size_and_generate_subcommands() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_lxmon-loadgen"))
        .args(["generate", "--agents", "2", "--reports", "3"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let file = dir.path().join("reports.ndjson");
    std::fs::write(&file, &out.stdout).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_lxmon-loadgen"))
        .arg("wire-size")
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let size: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(size["reports"], 6);
    let per_sample = size["wire_bytes_per_sample"].as_f64().unwrap();
    assert!(per_sample > 0.5 && per_sample < 20.0, "{size}");
}
