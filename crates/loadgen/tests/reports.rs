//! The simulated reports are what a real agent would send: valid, with the
//! series of docs/metrics.md, counters that never decrease, values that
//! look like a real host's, and shapes that differ between agents.

use std::collections::{BTreeMap, BTreeSet};

use lxmon_loadgen::SimHost;
use lxmon_proto::{Report, validate_report};

const T0: i64 = 1_750_000_000_000;

fn series_key(s: &lxmon_proto::Sample) -> String {
    format!("{}{:?}", s.name, s.labels)
}

fn run(seed: u64, index: usize, n: usize, interval_s: u32) -> Vec<Report> {
    let mut h = SimHost::new(seed, index, interval_s, T0);
    (0..n)
        .map(|k| h.report(T0 + k as i64 * interval_s as i64 * 1000 + (k as i64 * 7) % 23))
        .collect()
}

#[test]
fn reports_pass_protocol_validation() {
    for i in 0..40 {
        for r in run(11, i, 30, 10) {
            validate_report(&r, T0 + 3_600_000)
                .unwrap_or_else(|e| panic!("agent {i} seq {}: {e}", r.seq));
            assert!(r.metrics.len() <= lxmon_proto::MAX_SERIES_PER_REPORT);
            let top = r.processes.as_ref().expect("top processes in every report");
            assert!(!top.by_memory.is_empty() && top.by_memory.len() <= 5 && top.by_cpu.len() <= 5);
        }
    }
}

#[test]
fn every_documented_series_is_produced() {
    let doc = include_str!("../../../docs/metrics.md");
    let mut names: BTreeSet<String> = BTreeSet::new();
    for i in 0..30 {
        for s in &run(5, i, 2, 10)[1].metrics {
            names.insert(s.name.clone());
        }
    }
    // Every name in the first column of the agent's table (`a`, `b` and `c`
    // lists too); later sections describe other sources.
    let agent_table = doc.split("\n## ").next().unwrap();
    for line in agent_table.lines().filter(|l| l.starts_with("| `")) {
        let first = line.split('|').nth(1).unwrap();
        for name in first.split('`').skip(1).step_by(2) {
            assert!(
                names.contains(name),
                "docs/metrics.md names {name} but the simulation never sends it"
            );
        }
    }
}

#[test]
fn seq_and_time_increase_and_counters_never_decrease() {
    for i in 0..25 {
        let reports = run(3, i, 400, 10);
        let mut last: BTreeMap<String, f64> = BTreeMap::new();
        for (k, r) in reports.iter().enumerate() {
            assert_eq!(r.seq, k as u64 + 1, "seq starts at 1 and increases by one");
            for s in &r.metrics {
                if (s.name.ends_with("_total") || s.name == "system.uptime_seconds")
                    && let Some(prev) = last.insert(series_key(s), s.value)
                {
                    assert!(
                        s.value >= prev,
                        "agent {i}: {} went from {prev} to {}",
                        series_key(s),
                        s.value
                    );
                }
            }
        }
        assert!(reports.windows(2).all(|w| w[1].ts > w[0].ts));
    }
}

#[test]
fn values_look_like_a_real_agents() {
    let reports = run(8, 2, 200, 10);
    let mut by_series: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for r in &reports {
        for s in &r.metrics {
            by_series.entry(series_key(s)).or_default().push(s.value);
            if s.name.ends_with("_percent") {
                assert!((0.0..=100.0).contains(&s.value), "{} = {}", s.name, s.value);
                assert_eq!(
                    (s.value * 100.0).round() / 100.0,
                    s.value,
                    "percentages have 2 decimals"
                );
            }
            if s.name.ends_with("_per_sec")
                || s.name.ends_with("_bytes")
                || s.name.ends_with("_count")
            {
                assert_eq!(
                    s.value.fract(),
                    0.0,
                    "{} = {} is a whole number",
                    s.name,
                    s.value
                );
            }
        }
    }
    let constant = by_series
        .values()
        .filter(|v| v.windows(2).all(|w| w[0] == w[1]))
        .count();
    let moving = by_series.len() - constant;
    assert!(
        constant >= 10,
        "totals, sizes and idle counters stay constant ({constant} of {})",
        by_series.len()
    );
    assert!(
        moving >= 10,
        "gauges wander ({moving} of {})",
        by_series.len()
    );
    // Totals are constant; used and free move against each other.
    let mem_total = &by_series["mem.total_bytes{}"];
    assert!(mem_total.windows(2).all(|w| w[0] == w[1]));
    assert!(
        by_series["mem.used_bytes{}"]
            .windows(2)
            .any(|w| w[0] != w[1])
    );
    let up = &by_series["system.uptime_seconds{}"];
    assert!(up.windows(2).all(|w| (w[1] - w[0] - 10.0).abs() <= 1.0));
}

#[test]
fn shapes_vary_across_agents_and_repeat_per_seed() {
    let shapes: Vec<_> = (0..60).map(|i| SimHost::new(1, i, 10, T0).shape).collect();
    let cores: BTreeSet<u32> = shapes.iter().map(|s| s.cores).collect();
    let mounts: BTreeSet<usize> = shapes.iter().map(|s| s.mounts.len()).collect();
    let disks: BTreeSet<usize> = shapes.iter().map(|s| s.disks.len()).collect();
    let ifaces: BTreeSet<usize> = shapes.iter().map(|s| s.ifaces.len()).collect();
    assert!(cores.len() >= 5, "{cores:?}");
    assert!(
        mounts.len() >= 4 && *mounts.first().unwrap() >= 2 && *mounts.last().unwrap() <= 6,
        "{mounts:?}"
    );
    assert!(disks.len() >= 3 && *disks.last().unwrap() <= 4, "{disks:?}");
    assert!(
        ifaces.len() >= 3 && *ifaces.last().unwrap() <= 4,
        "{ifaces:?}"
    );
    assert!(shapes.iter().all(|s| (2..=64).contains(&s.cores)));
    let names: BTreeSet<&str> = shapes.iter().map(|s| s.hostname.as_str()).collect();
    assert_eq!(names.len(), shapes.len(), "hostnames are unique");
    assert_eq!(
        SimHost::new(1, 7, 10, T0).shape,
        shapes[7],
        "same seed, same host"
    );
    assert_ne!(SimHost::new(2, 7, 10, T0).shape, shapes[7]);
    let counts: BTreeSet<usize> = shapes.iter().map(|s| s.series_count()).collect();
    assert!(counts.len() >= 10, "series per report vary: {counts:?}");
}

#[test]
fn host_info_rides_along_first_and_then_hourly() {
    let reports = run(4, 0, 400, 10);
    let with_info: Vec<u64> = reports
        .iter()
        .filter(|r| r.info.is_some())
        .map(|r| r.seq)
        .collect();
    assert_eq!(with_info, vec![1, 361]);
}
