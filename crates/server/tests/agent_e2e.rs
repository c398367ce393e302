//! The real agent binary reporting into the real server binary: values agree
//! with /proc, status follows silence, outages are backfilled exactly once,
//! and failing servers are survived.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use common::*;
use serde_json::Value;

fn host_id(api: &Api) -> Option<i64> {
    api.get("/api/servers").body.as_array()?.first()?["id"].as_i64()
}

fn latest_value(latest: &Value, name: &str, label: Option<(&str, &str)>) -> Option<f64> {
    latest["values"]
        .as_array()?
        .iter()
        .find(|v| v["name"] == name && label.is_none_or(|(k, val)| v["labels"][k] == val))?["value"]
        .as_f64()
}

/// Raw report timestamps of the host since `from` (mem.used_bytes is in every report).
fn raw_timestamps(api: &Api, host: i64, from: i64) -> Vec<i64> {
    let body = api.series(
        host,
        &format!(
            "names=mem.used_bytes&from={from}&to={}&step=1",
            now_ms() + 1000
        ),
    );
    assert_eq!(body["tier"], "raw");
    body["timestamps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_i64().unwrap())
        .collect()
}

#[test]
fn agent_values_agree_with_proc_and_status_follows_silence() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(
        &dir.path().join("data"),
        free_port(),
        &["--offline-after", "3"],
    );
    let key = server.create_key("local");
    let mut agent = Agent::start(
        &server.url(),
        &key,
        &dir.path().join("spool"),
        &["--interval", "1"],
    );
    let api = Api::logged_in(&server.url());

    assert!(
        wait_until(Duration::from_secs(20), || host_id(&api).is_some()),
        "agent never registered"
    );
    let host = host_id(&api).unwrap();
    // Rates need two collections; wait for a report that has them.
    let mut latest = Value::Null;
    assert!(
        wait_until(Duration::from_secs(20), || {
            latest = api.get(&format!("/api/servers/{host}/latest")).body;
            latest_value(&latest, "cpu.usage_percent", None).is_some()
        }),
        "no cpu.usage_percent arrived: {latest}"
    );

    assert_eq!(
        latest_value(&latest, "mem.total_bytes", None),
        Some(meminfo_bytes("MemTotal"))
    );
    let cores = std::fs::read_to_string("/proc/stat")
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
        .count();
    assert_eq!(
        latest_value(&latest, "cpu.cores_count", None),
        Some(cores as f64)
    );
    let cpu = latest_value(&latest, "cpu.usage_percent", None).unwrap();
    assert!((0.0..=100.0).contains(&cpu), "{cpu}");
    let load: f64 = std::fs::read_to_string("/proc/loadavg")
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let reported_load = latest_value(&latest, "load.1m", None).unwrap();
    assert!(
        (reported_load - load).abs() < 2.0,
        "load {reported_load} vs {load}"
    );
    let root_used = latest_value(&latest, "fs.used_bytes", Some(("mount", "/")))
        .expect("fs.used_bytes{mount=/}");
    assert!(root_used > 0.0);
    let uptime: f64 = std::fs::read_to_string("/proc/uptime")
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let reported_uptime = latest_value(&latest, "system.uptime_seconds", None).unwrap();
    assert!(
        (reported_uptime - uptime).abs() < 30.0,
        "uptime {reported_uptime} vs {uptime}"
    );
    let processes = &latest["processes"];
    assert!(
        !processes["by_cpu"].as_array().unwrap().is_empty(),
        "{processes}"
    );
    assert!(processes["by_memory"].as_array().unwrap().len() <= 5);

    let info = api.get(&format!("/api/servers/{host}")).body;
    assert_eq!(info["status"], "online");
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    assert_eq!(info["kernel"], kernel.trim());
    assert_eq!(info["arch"], std::env::consts::ARCH);
    assert!(!info["os"].as_str().unwrap().is_empty());

    // A series chart query gets raw points one interval apart.
    let ts = raw_timestamps(&api, host, now_ms() - 60_000);
    assert!(ts.len() >= 2, "{ts:?}");

    agent.stop();
    let went_offline = wait_until(Duration::from_secs(15), || {
        api.get(&format!("/api/servers/{host}")).body["status"] == "offline"
    });
    assert!(went_offline, "host still online after the agent stopped");
}

/// A server that seals nothing during the test (so head rows count stored
/// reports one to one) and an agent reporting into it every
/// `interval` seconds, spooling in `dir/spool`.
fn unsealed_server_with_agent(dir: &std::path::Path, interval: &str) -> (Server, Agent) {
    let config = dir.join("server.toml");
    std::fs::write(&config, "maintenance_interval_s = 3600\n").unwrap();
    let server = Server::start(
        &dir.join("data"),
        free_port(),
        &["--config", config.to_str().unwrap()],
    );
    let key = server.create_key("local");
    let agent = Agent::start(
        &server.url(),
        &key,
        &dir.join("spool"),
        &["--interval", interval],
    );
    (server, agent)
}

#[test]
fn a_server_outage_is_backfilled_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, mut agent) = unsealed_server_with_agent(dir.path(), "1");
    let start = now_ms();
    let api = Api::logged_in(&server.url());
    assert!(wait_until(Duration::from_secs(20), || host_id(&api).is_some()));
    let host = host_id(&api).unwrap();
    assert!(wait_until(Duration::from_secs(20), || raw_timestamps(
        &api, host, start
    )
    .len()
        >= 3));

    server.kill9();
    std::thread::sleep(Duration::from_secs(6));
    server.restart();
    let api = Api::logged_in(&server.url());
    let outage_end = now_ms();
    // The agent backs off while the server is down; give it time to drain.
    assert!(
        wait_until(Duration::from_secs(60), || {
            let ts = raw_timestamps(&api, host, start);
            ts.last().is_some_and(|t| *t > outage_end + 2000)
        }),
        "agent did not resume"
    );
    agent.stop();
    let ts = raw_timestamps(&api, host, start);
    assert!(
        ts.windows(2).all(|w| w[0] < w[1]),
        "duplicate or unordered points: {ts:?}"
    );
    let gaps: Vec<i64> = ts
        .windows(2)
        .map(|w| w[1] - w[0])
        .filter(|d| *d > 1900)
        .collect();
    assert!(
        gaps.is_empty(),
        "gaps of {gaps:?} ms: the outage was not backfilled"
    );
    // Each report exactly once: stored rows equal distinct report timestamps
    // (a report stored twice would add a row but not a timestamp).
    let metrics = api.get("/metrics").body.as_str().unwrap().to_owned();
    let head_rows: usize = metrics
        .lines()
        .find_map(|l| l.strip_prefix("lxmon_head_reports "))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(head_rows, ts.len(), "{metrics}");
    let covered_s = (ts.last().unwrap() - ts.first().unwrap()) / 1000 + 1;
    assert!(
        (ts.len() as i64 - covered_s).abs() <= 1,
        "{} points over {covered_s} s",
        ts.len()
    );
}

/// A stand-in for a broken server on `port`: answers every request with 500
/// (or, when `hang`, reads it and never answers) until `stop` is set;
/// `requests` counts what it received.
fn broken_server(
    port: u16,
    hang: bool,
    stop: Arc<AtomicBool>,
    requests: Arc<AtomicUsize>,
) -> std::thread::JoinHandle<()> {
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            match listener.accept() {
                Ok((mut stream, _)) => {
                    requests.fetch_add(1, Ordering::Relaxed);
                    stream.set_nonblocking(false).unwrap();
                    stream
                        .set_read_timeout(Some(Duration::from_millis(200)))
                        .unwrap();
                    let mut buf = [0u8; 65536];
                    let _ = stream.read(&mut buf);
                    if hang {
                        held.push(stream);
                    } else {
                        let _ = stream.write_all(
                            b"HTTP/1.1 500 Internal Server Error\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}",
                        );
                    }
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    })
}

#[test]
fn the_agent_survives_unreachable_failing_and_slow_servers() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = free_port();
    let key = create_key(&data, "local");
    let start = now_ms();
    // Nothing listens yet: connection refused.
    let mut agent = Agent::start(
        &format!("http://127.0.0.1:{port}"),
        &key,
        &dir.path().join("spool"),
        &["--interval", "1", "--request-timeout", "2"],
    );
    std::thread::sleep(Duration::from_secs(3));
    for hang in [false, true] {
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(AtomicUsize::new(0));
        let handle = broken_server(port, hang, stop.clone(), requests.clone());
        // Each failure mode lasts until the agent, backing off, has met it.
        let met = wait_until(Duration::from_secs(60), || {
            requests.load(Ordering::Relaxed) > 0
        });
        std::thread::sleep(Duration::from_secs(1));
        stop.store(true, Ordering::Relaxed);
        handle.join().unwrap();
        assert!(met, "agent gave up talking (hang={hang})");
    }
    let server = Server::start(&data, port, &[]);
    let api = Api::logged_in(&server.url());
    assert!(wait_until(Duration::from_secs(60), || {
        host_id(&api).is_some_and(|h| {
            raw_timestamps(&api, h, start)
                .last()
                .is_some_and(|t| *t > now_ms() - 3000)
        })
    }));
    agent.stop();
    let host = host_id(&api).unwrap();
    let ts = raw_timestamps(&api, host, start);
    // Every second of the trouble was kept and delivered once.
    assert!(ts.windows(2).all(|w| w[0] < w[1]));
    let gaps: Vec<i64> = ts
        .windows(2)
        .map(|w| w[1] - w[0])
        .filter(|d| *d > 1900)
        .collect();
    assert!(gaps.is_empty(), "lost reports: gaps {gaps:?}");
    assert!(
        ts.first().unwrap() - start < 3000,
        "the first reports were lost"
    );
}

/// One figure from `/metrics` (0 when absent).
fn figure(api: &Api, line_start: &str) -> u64 {
    let text = api.get("/metrics").body.as_str().unwrap().to_owned();
    text.lines()
        .find_map(|l| l.strip_prefix(line_start))
        .map_or(0, |v| v.trim().parse().unwrap())
}

/// The agent sends each report compressed against the one before, a few
/// bytes per sample; after a server restart (which forgets that base) its
/// next delta is refused with 409, it sends that report whole, deltas
/// resume, and no report is lost or refused.
#[test]
fn live_reports_are_deltas_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let start = now_ms();
    let (mut server, mut agent) = unsealed_server_with_agent(dir.path(), "2");
    let spool = dir.path().join("spool");
    let api = Api::logged_in(&server.url());
    assert!(wait_until(Duration::from_secs(30), || figure(
        &api,
        "lxmon_reports_delta_total "
    ) >= 3));
    let (bytes, samples) = (
        figure(&api, "lxmon_report_wire_bytes_total "),
        figure(&api, "lxmon_report_wire_samples_total "),
    );
    let reports = figure(&api, "lxmon_reports_ingested_total ");
    // The first report is whole (~600 B); the deltas after it are a few
    // bytes per sample.
    assert!(
        (bytes as f64 / samples as f64) < 6.0,
        "{bytes} bytes for {samples} samples in {reports} reports"
    );

    // Restart right after a report landed, so the next one meets a server
    // that does not hold its base.
    assert!(wait_until(Duration::from_secs(10), || figure(
        &api,
        "lxmon_reports_ingested_total "
    ) > reports));
    server.terminate();
    server.restart();
    let api = Api::logged_in(&server.url());
    assert!(
        wait_until(Duration::from_secs(30), || figure(
            &api,
            "lxmon_reports_delta_total "
        ) >= 2),
        "deltas did not resume after the restart"
    );
    assert_eq!(
        figure(&api, "lxmon_reports_rejected_total{code=\"unknown_base\"} "),
        1,
        "the first report after the restart should have been a refused delta"
    );
    agent.stop();
    let host = host_id(&api).unwrap();
    let ts = raw_timestamps(&api, host, start);
    let gaps: Vec<i64> = ts
        .windows(2)
        .map(|w| w[1] - w[0])
        .filter(|d| *d > 3900)
        .collect();
    assert!(gaps.is_empty(), "gaps of {gaps:?} ms: a report was lost");
    let log = std::fs::read_to_string(spool.with_extension("agent.log")).unwrap();
    assert!(!log.contains("refused"), "{log}");
}
