//! Smoke tests on the real host: the agent's view of `/proc` and `/sys`
//! checked against independent reads, the metric names checked against
//! `docs/metrics.md`, and the run loop checked against an unreachable
//! server (the agent must keep collecting into its spool and stop cleanly).

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use lxmon_agent::config::Secret;
use lxmon_agent::sampler::{Roots, Sampler};
use lxmon_agent::spool::{Spool, SpoolLimits};
use lxmon_agent::{Agent, Config, Shutdown};
use lxmon_proto::{Report, Sample};

fn value(report: &Report, name: &str, label: Option<(&str, &str)>) -> Option<f64> {
    report
        .metrics
        .iter()
        .find(|s| {
            s.name == name
                && match label {
                    None => s.labels.is_empty(),
                    Some((k, v)) => s.labels.get(k).map(String::as_str) == Some(v),
                }
        })
        .map(|s| s.value)
}

/// Every metric name in the first column of the agent's table in
/// `docs/metrics.md` (the part before any `##` section, which describes
/// other producers).
fn documented_names() -> BTreeSet<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/metrics.md");
    let text = std::fs::read_to_string(path).unwrap();
    let mut names = BTreeSet::new();
    let agent_part = text.lines().take_while(|l| !l.starts_with("## "));
    for line in agent_part.filter(|l| l.starts_with("| `")) {
        let first_cell = line.split('|').nth(1).unwrap();
        for part in first_cell.split('`').skip(1).step_by(2) {
            names.insert(part.to_owned());
        }
    }
    names
}

fn two_reports() -> (Report, Report) {
    let mut sampler = Sampler::new(&Roots::default(), None);
    let first = sampler.sample(10);
    // Burn a little CPU so the interval has something to measure.
    let until = Instant::now() + Duration::from_millis(300);
    let mut x = 0u64;
    while Instant::now() < until {
        x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
    }
    assert_ne!(x, 42);
    let second = sampler.sample(10);
    (first, second)
}

#[test]
fn real_host_report_matches_independent_reads() {
    let (first, report) = two_reports();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    lxmon_proto::validate_report(&first, now).unwrap();
    lxmon_proto::validate_report(&report, now).unwrap();

    // Memory: MemTotal as read here, without the agent's parser.
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
    let mem_total_kb: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .map(|v| v.split_whitespace().next().unwrap().parse().unwrap())
        .unwrap();
    assert_eq!(
        value(&report, "mem.total_bytes", None),
        Some((mem_total_kb * 1024) as f64)
    );

    // Cores online, as the C library counts them.
    let online = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    assert_eq!(value(&report, "cpu.cores_count", None), Some(online as f64));
    let per_core = report
        .metrics
        .iter()
        .filter(|s| s.name == "cpu.core.usage_percent")
        .count();
    assert_eq!(per_core as i64, online as i64);
    let usage = value(&report, "cpu.usage_percent", None).unwrap();
    assert!((0.0..=100.0).contains(&usage));

    // Root filesystem size, as df reports it (when / is a real filesystem).
    if let Some(total) = value(&report, "fs.total_bytes", Some(("mount", "/"))) {
        let df = std::process::Command::new("df")
            .args(["-B1", "--output=size", "/"])
            .output()
            .unwrap();
        let df_total: f64 = String::from_utf8(df.stdout)
            .unwrap()
            .lines()
            .nth(1)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert_eq!(total, df_total);
    }

    // Processes: within a few of an independent count (processes come and go).
    let count = std::fs::read_dir("/proc")
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_str()
                .unwrap()
                .parse::<u32>()
                .is_ok()
        })
        .count() as f64;
    let reported = value(&report, "system.processes_count", None).unwrap();
    assert!((reported - count).abs() <= 10.0, "{reported} vs {count}");

    // Uptime within a second or two of /proc/uptime read now.
    let uptime: f64 = std::fs::read_to_string("/proc/uptime")
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let reported = value(&report, "system.uptime_seconds", None).unwrap();
    assert!((uptime - reported).abs() < 3.0, "{reported} vs {uptime}");

    // This test process is busy: it should be among the top CPU users and
    // every top entry should be a real process.
    let top = report.processes.as_ref().unwrap();
    assert!(!top.by_memory.is_empty());
    assert!(top.by_cpu.len() <= 5 && top.by_memory.len() <= 5);
    let me = std::process::id();
    assert!(top.by_cpu.iter().any(|p| p.pid == me), "{:?}", top.by_cpu);

    // Percentages are rounded to 2 decimals and rates to whole numbers.
    for s in &report.metrics {
        if s.name.ends_with("_percent") {
            assert_eq!((s.value * 100.0).round() / 100.0, s.value, "{s:?}");
        }
        if s.name.ends_with("_per_sec") {
            assert_eq!(s.value.round(), s.value, "{s:?}");
        }
    }

    let info = first.info.as_ref().unwrap();
    assert_eq!(info.arch, std::env::consts::ARCH);
    assert!(!info.kernel.is_empty() && !info.os.is_empty());
}

#[test]
fn every_metric_name_is_documented() {
    let documented = documented_names();
    assert!(documented.contains("cpu.usage_percent") && documented.contains("load.15m"));
    let (first, second) = two_reports();
    let emitted: BTreeSet<&str> = first
        .metrics
        .iter()
        .chain(&second.metrics)
        .map(|s: &Sample| s.name.as_str())
        .collect();
    let undocumented: Vec<&&str> = emitted
        .iter()
        .filter(|n| !documented.contains(**n))
        .collect();
    assert!(
        undocumented.is_empty(),
        "not in docs/metrics.md: {undocumented:?}"
    );
    // The catalog the server validates alert rules against says the same.
    let catalog: BTreeSet<String> = lxmon_proto::AGENT_METRICS
        .iter()
        .map(|n| n.to_string())
        .collect();
    assert_eq!(
        catalog, documented,
        "lxmon_proto::AGENT_METRICS and docs/metrics.md disagree"
    );
    // The series that exist on any Linux host are all there: everything
    // but the per-device families, which depend on the machine.
    for name in lxmon_proto::AGENT_METRICS
        .iter()
        .filter(|n| !["fs.", "disk.", "net."].iter().any(|p| n.starts_with(p)))
    {
        assert!(
            second.metrics.iter().any(|s| s.name == *name),
            "{name} missing"
        );
    }
}

#[test]
fn agent_keeps_collecting_into_the_spool_while_the_server_is_unreachable() {
    // A port nobody listens on: connections are refused at once.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let spool_dir = tempfile::tempdir().unwrap();
    let cli = lxmon_agent::Cli {
        server: Some(format!("http://127.0.0.1:{port}")),
        key: Some(Secret::new("test-key")),
        interval: Some(1),
        spool_dir: Some(spool_dir.path().to_path_buf()),
        request_timeout: Some(2),
        ..Default::default()
    };
    let config = Config::resolve(&cli, &|_| None).unwrap();
    let agent = Agent::new(config).unwrap();
    let stats = agent.stats();
    let shutdown = Shutdown::new();
    let runner = {
        let shutdown = shutdown.clone();
        std::thread::spawn(move || agent.run(&shutdown))
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while stats.collected() < 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let stop_started = Instant::now();
    shutdown.trigger();
    runner.join().unwrap().unwrap();
    assert!(
        stop_started.elapsed() < Duration::from_secs(5),
        "shutdown took {:?}",
        stop_started.elapsed()
    );

    assert!(stats.collected() >= 3);
    assert!(!stats.registered());
    assert_eq!(stats.delivered(), 0);
    assert!(stats.send_failures() >= 1);
    // Every report collected is in the spool, none lost.
    assert_eq!(stats.spool_pending(), stats.collected());

    let mut spool = Spool::open(
        spool_dir.path(),
        SpoolLimits {
            max_bytes: 1 << 20,
            max_age: Duration::from_secs(3600),
        },
    )
    .unwrap();
    assert_eq!(spool.len(), stats.collected());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let records = spool.peek(100, 1 << 20, now).unwrap();
    let reports: Vec<Report> = records
        .iter()
        .map(|r| serde_json::from_slice(&r.json).unwrap())
        .collect();
    assert!(
        reports
            .windows(2)
            .all(|w| w[0].seq < w[1].seq && w[0].ts < w[1].ts)
    );
    assert!(reports[0].info.is_some());
    for r in &reports {
        lxmon_proto::validate_report(r, now).unwrap();
        assert_eq!(r.interval_s, 1);
    }
    // After a restart, numbering continues above what was spooled.
    assert!(spool.next_seq() > reports.last().unwrap().seq);
}

#[test]
fn once_prints_one_valid_report() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lxmon-agent"))
        .args(["--once", "--interval", "1"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Report = serde_json::from_slice(&out.stdout).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    lxmon_proto::validate_report(&report, now).unwrap();
    assert!(
        value(&report, "cpu.usage_percent", None).is_some(),
        "the second collection has rates"
    );
}

#[test]
fn bad_configuration_fails_with_a_clear_message() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lxmon-agent"))
        .args([
            "--server",
            "http://127.0.0.1:1",
            "--key",
            "k",
            "--interval",
            "0",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("between 1 and 300 seconds"), "{stderr}");
}
