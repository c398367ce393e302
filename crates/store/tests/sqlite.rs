//! The SQLite store end to end on a real file: ingest, dedup, sealing,
//! rollups, queries, restart.

use lxmon_proto::Sample;
use lxmon_store::*;

const HOUR: i64 = 3_600_000;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn open(dir: &tempfile::TempDir) -> SqliteStore {
    SqliteStore::open(StoreOptions::new(dir.path().join("lxmon.sqlite"))).unwrap()
}

fn host(store: &SqliteStore) -> HostId {
    let tenant = store.default_tenant();
    store
        .create_agent_key(tenant, "k", "kid1", &[7; 32])
        .unwrap();
    store
        .register_host(
            tenant,
            "kid1",
            &HostRegistration {
                hostname: "web-1".into(),
                ..Default::default()
            },
        )
        .unwrap()
        .id
}

fn report(seq: u64, ts: i64, cpu: f64) -> NewReport {
    NewReport {
        seq: Some(seq),
        ts,
        interval_s: 10,
        samples: vec![
            Sample::new("cpu.usage_percent", cpu),
            Sample::new("fs.used_bytes", 1000.0 + seq as f64).with_label("mount", "/"),
            Sample::new("fs.used_bytes", 5.0).with_label("mount", "/home"),
        ],
        info: None,
    }
}

fn query(
    store: &SqliteStore,
    host: HostId,
    names: &[&str],
    from: i64,
    to: i64,
    step_s: Option<u32>,
) -> QueryResult {
    store
        .query(
            store.default_tenant(),
            host,
            &SeriesQuery {
                names: names.iter().map(|s| s.to_string()).collect(),
                from_ms: from,
                to_ms: to,
                step_s,
                aggregation: Aggregation::Avg,
                now_ms: now(),
            },
        )
        .unwrap()
}

#[test]
fn ingest_dedups_by_sequence_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let t0 = now() - 60_000;
    let id;
    {
        let store = open(&dir);
        id = host(&store);
        let tenant = store.default_tenant();
        let out = store
            .ingest(
                tenant,
                id,
                vec![report(1, t0, 10.0), report(2, t0 + 10_000, 20.0)],
            )
            .unwrap();
        assert_eq!(
            out,
            IngestOutcome {
                stored: 2,
                duplicates: 0
            }
        );
        let out = store
            .ingest(
                tenant,
                id,
                vec![report(2, t0 + 10_000, 99.0), report(3, t0 + 20_000, 30.0)],
            )
            .unwrap();
        assert_eq!(
            out,
            IngestOutcome {
                stored: 1,
                duplicates: 1
            }
        );
    }
    let store = open(&dir);
    let tenant = store.default_tenant();
    // Still a duplicate after restart: the sequence watermark is durable.
    let out = store
        .ingest(tenant, id, vec![report(3, t0 + 20_000, 0.0)])
        .unwrap();
    assert_eq!(out.duplicates, 1);
    let r = query(
        &store,
        id,
        &["cpu.usage_percent"],
        t0 - 1000,
        t0 + 30_000,
        None,
    );
    assert_eq!(r.tier, Tier::Raw);
    assert_eq!(r.timestamps, vec![t0, t0 + 10_000, t0 + 20_000]);
    assert_eq!(r.series[0].values, vec![Some(10.0), Some(20.0), Some(30.0)]);
    assert_eq!(store.host(tenant, id).unwrap().unwrap().last_seq, Some(3));
    let latest = store.latest(tenant, id).unwrap().unwrap();
    assert_eq!(latest.ts, t0 + 20_000);
    assert_eq!(latest.values.len(), 3);
}

#[test]
fn other_tenants_see_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let id = host(&store);
    let t = now();
    store.ingest(1, id, vec![report(1, t, 1.0)]).unwrap();
    assert!(store.host(2, id).unwrap().is_none());
    assert!(store.hosts(2).unwrap().is_empty());
    assert!(matches!(
        store.ingest(2, id, vec![report(2, t, 1.0)]),
        Err(StoreError::NotFound)
    ));
    let q = SeriesQuery {
        names: vec![],
        from_ms: t - HOUR,
        to_ms: t,
        step_s: None,
        aggregation: Aggregation::Avg,
        now_ms: t,
    };
    assert!(matches!(store.query(2, id, &q), Err(StoreError::NotFound)));
    assert!(matches!(store.latest(2, id), Err(StoreError::NotFound)));
}

#[test]
fn sealing_moves_head_to_chunks_and_rollups_answer_long_ranges() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let id = host(&store);
    let tenant = store.default_tenant();
    let now_ms = now();
    // Three hours of 10 s reports ending two hours ago.
    let start = (now_ms - 5 * HOUR).div_euclid(HOUR) * HOUR;
    let reports: Vec<_> = (0..1080u64)
        .map(|i| report(i + 1, start + i as i64 * 10_000, (i % 10) as f64))
        .collect();
    for batch in reports.chunks(300) {
        store.ingest(tenant, id, batch.to_vec()).unwrap();
    }
    let before = query(
        &store,
        id,
        &["cpu.usage_percent"],
        start,
        start + 3 * HOUR,
        Some(300),
    );

    let m = store.maintain(now_ms).unwrap();
    assert_eq!(m.reports_sealed, 1080);
    assert_eq!(m.chunks_sealed, 3);
    let stats = store.stats().unwrap();
    assert_eq!(stats.head_reports, 0);
    assert_eq!(stats.raw_chunk_samples, 1080 * 3);
    let bytes_per_sample = stats.raw_chunk_bytes as f64 / stats.raw_chunk_samples as f64;
    assert!(
        bytes_per_sample < 1.0,
        "{bytes_per_sample} bytes per sample"
    );

    // Same answer from chunks as from the head.
    let raw = query(
        &store,
        id,
        &["cpu.usage_percent"],
        start,
        start + 3 * HOUR,
        Some(60),
    );
    assert_eq!(raw.tier, Tier::Raw);
    let after = query(
        &store,
        id,
        &["cpu.usage_percent"],
        start,
        start + 3 * HOUR,
        Some(300),
    );
    assert_eq!(after.tier, Tier::FiveMin);
    assert_eq!(before.timestamps, after.timestamps);
    assert_eq!(before.series[0].values, after.series[0].values);
    // Every 5-minute bucket holds 30 reports of 0..9 → average 4.5.
    assert!(
        after.series[0]
            .values
            .iter()
            .flatten()
            .all(|v| (*v - 4.5).abs() < 1e-9)
    );

    // A 30-day query comes from the hourly rollup.
    let month = query(
        &store,
        id,
        &["fs.used_bytes"],
        now_ms - 30 * 24 * HOUR,
        now_ms,
        None,
    );
    assert_eq!(month.tier, Tier::OneHour);
    assert_eq!(month.step_s, 3600);
    assert_eq!(month.series.len(), 2, "one series per mount");
    assert_eq!(month.series[0].values.iter().flatten().count(), 3);
}

/// Days of backfilled history are sealed in one maintenance pass (a day of
/// hours per transaction, each rollup chunk merged once per day), and the
/// rollups answer exactly what the head rows said before sealing.
#[test]
fn a_backfilled_history_seals_in_one_pass_across_days() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let id = host(&store);
    let tenant = store.default_tenant();
    let now_ms = now();
    // 50 whole hours of 60 s reports, ending two hours ago: they cross at
    // least two day boundaries (two or three 5-minute chunks).
    let hours = 50;
    let start = (now_ms - (hours + 2) * HOUR).div_euclid(HOUR) * HOUR;
    let reports: Vec<_> = (0..hours as u64 * 60)
        .map(|i| report(i + 1, start + i as i64 * 60_000, (i % 7) as f64))
        .collect();
    for batch in reports.chunks(1000) {
        store.ingest(tenant, id, batch.to_vec()).unwrap();
    }
    let range = (start, start + hours * HOUR);
    let before_5m = query(
        &store,
        id,
        &["cpu.usage_percent"],
        range.0,
        range.1,
        Some(300),
    );
    let before_1h = query(&store, id, &["fs.used_bytes"], range.0, range.1, Some(3600));

    let m = store.maintain(now_ms).unwrap();
    assert_eq!(m.reports_sealed, reports.len());
    assert_eq!(m.chunks_sealed, hours as usize);
    let stats = store.stats().unwrap();
    assert_eq!(stats.head_reports, 0);
    assert_eq!(stats.raw_chunks, hours as u64);
    let days = (start + hours * HOUR - 1).div_euclid(24 * HOUR) - start.div_euclid(24 * HOUR) + 1;
    let months = (start + hours * HOUR - 1).div_euclid(30 * 24 * HOUR)
        - start.div_euclid(30 * 24 * HOUR)
        + 1;
    assert_eq!(stats.rollup_chunks as i64, days + months);

    let after_5m = query(
        &store,
        id,
        &["cpu.usage_percent"],
        range.0,
        range.1,
        Some(300),
    );
    assert_eq!(after_5m.tier, Tier::FiveMin);
    assert_eq!(before_5m.timestamps, after_5m.timestamps);
    assert_eq!(before_5m.series[0].values, after_5m.series[0].values);
    let after_1h = query(&store, id, &["fs.used_bytes"], range.0, range.1, Some(3600));
    assert_eq!(after_1h.tier, Tier::OneHour);
    assert_eq!(before_1h.timestamps, after_1h.timestamps);
    for (b, a) in before_1h.series.iter().zip(&after_1h.series) {
        assert_eq!((&b.labels, &b.values), (&a.labels, &a.values));
    }
    assert_eq!(
        after_1h.series[0].values.iter().flatten().count(),
        hours as usize
    );
}

#[test]
fn late_reports_merge_into_a_sealed_hour() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let id = host(&store);
    let tenant = store.default_tenant();
    let now_ms = now();
    let hour = (now_ms - 3 * HOUR).div_euclid(HOUR) * HOUR;
    store
        .ingest(tenant, id, vec![report(1, hour + 1000, 10.0)])
        .unwrap();
    store.maintain(now_ms).unwrap();
    store
        .ingest(tenant, id, vec![report(2, hour + 2000, 30.0)])
        .unwrap();
    store.maintain(now_ms).unwrap();
    let r = query(
        &store,
        id,
        &["cpu.usage_percent"],
        hour,
        hour + HOUR - 1,
        Some(3600),
    );
    assert_eq!(r.tier, Tier::OneHour);
    assert_eq!(r.series[0].values, vec![Some(20.0)]);
    let raw = query(
        &store,
        id,
        &["cpu.usage_percent"],
        hour,
        hour + 10_000,
        None,
    );
    assert_eq!(raw.series[0].values, vec![Some(10.0), Some(30.0)]);
}

#[test]
fn reports_older_than_retention_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let id = host(&store);
    let old = now() - 8 * 24 * HOUR;
    let err = store.ingest(1, id, vec![report(1, old, 1.0)]).unwrap_err();
    assert!(matches!(err, StoreError::Rejected(_)), "{err:?}");
    assert_eq!(store.stats().unwrap().head_reports, 0);
}

#[test]
fn retention_drops_expired_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let mut options = StoreOptions::new(dir.path().join("lxmon.sqlite"));
    options.retention.raw_ms = 4 * HOUR;
    let store = SqliteStore::open(options).unwrap();
    let id = host(&store);
    let now_ms = now();
    let hour = (now_ms - HOUR - HOUR / 2).div_euclid(HOUR) * HOUR;
    store
        .ingest(1, id, vec![report(1, hour + 1000, 1.0)])
        .unwrap();
    store.maintain(now_ms).unwrap();
    assert_eq!(store.stats().unwrap().raw_chunks, 1);
    let m = store.maintain(now_ms + 5 * HOUR).unwrap();
    assert_eq!(m.chunks_dropped, 1);
    assert_eq!(store.stats().unwrap().raw_chunks, 0);
    assert!(
        store.stats().unwrap().rollup_chunks >= 2,
        "rollups outlive raw"
    );
}

#[test]
fn a_delivery_the_agent_never_acknowledged_is_offered_again() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let id = host(&store);
    let t = now();
    let c = store
        .create_command(1, id, "uptime", &Default::default(), "test", t, 600_000)
        .unwrap();
    assert_eq!(store.poll_commands(id, t).unwrap().commands.len(), 1);
    assert!(
        store
            .poll_commands(id, t + 1000)
            .unwrap()
            .commands
            .is_empty(),
        "delivered once"
    );
    // The answer was lost: nothing came back from the agent for a minute.
    let again = store.poll_commands(id, t + 61_000).unwrap();
    assert_eq!(
        again.commands.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![c.id]
    );
    // Once the agent reports, it is never offered again.
    let update = lxmon_proto::CommandUpdate {
        id: c.id,
        seq: 0,
        status: lxmon_proto::CommandStatus::Running,
        output: String::new(),
        exit_code: None,
        duration_ms: None,
        truncated: false,
        error: None,
    };
    store.update_command(id, &update, t + 62_000).unwrap();
    assert!(
        store
            .poll_commands(id, t + 200_000)
            .unwrap()
            .commands
            .is_empty()
    );
}

#[test]
fn checks_go_down_after_their_retries_and_keep_daily_uptime() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let t = now();
    let def = CheckDefinition {
        name: "web".into(),
        spec: serde_json::json!({"type": "tcp", "host": "127.0.0.1", "port": 80}),
        interval_s: 60,
        timeout_s: 5,
        retries: 1,
        run_on_host: None,
        enabled: true,
    };
    let c = store.create_check(1, &def, t).unwrap();
    assert_eq!(c.status, "unknown");
    let run = |i: i64, up: bool| CheckRun {
        ts: t + i * 60_000,
        up,
        latency_ms: up.then_some(3.0),
        cert_days_left: None,
        error: (!up).then(|| "refused".into()),
    };
    let (c1, change) = store.record_check_run(c.id, None, &run(0, true)).unwrap();
    assert_eq!(
        (c1.status.as_str(), change.map(|c| c.to)),
        ("up", Some("up".into()))
    );
    let (c2, change) = store.record_check_run(c.id, None, &run(1, false)).unwrap();
    assert_eq!(
        (c2.status.as_str(), change),
        ("up", None),
        "one failure is within retries"
    );
    let (c3, change) = store.record_check_run(c.id, None, &run(2, false)).unwrap();
    assert_eq!(
        (c3.status.as_str(), change.map(|c| c.to)),
        ("down", Some("down".into()))
    );
    assert_eq!(c3.last_error.as_deref(), Some("refused"));
    // A host that does not run the check cannot report for it.
    assert!(matches!(
        store.record_check_run(c.id, Some(99), &run(3, true)),
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.check_uptime(c.id, t - 1).unwrap(), (1, 3));
    let days: u32 = store
        .check_daily(c.id, 0)
        .unwrap()
        .iter()
        .map(|d| d.total)
        .sum();
    assert_eq!(days, 3);
    assert_eq!(
        store
            .check_runs(1, c.id, t - 1, t + 10 * 60_000)
            .unwrap()
            .len(),
        3
    );
    assert!(
        matches!(store.check_runs(2, c.id, 0, t), Err(StoreError::NotFound)),
        "other tenants see nothing"
    );
    let page = store
        .create_status_page(1, "acme", "Acme", &[c.id], &[], t)
        .unwrap();
    assert_eq!(
        store.status_page_by_slug("acme").unwrap().unwrap().id,
        page.id
    );
    assert!(
        store
            .create_status_page(1, "acme", "x", &[], &[], t)
            .is_err(),
        "addresses are unique"
    );
    assert!(
        store
            .create_status_page(2, "other", "x", &[c.id], &[], t)
            .is_err(),
        "only own checks"
    );
}

#[test]
fn series_ids_stay_right_when_a_report_changes_its_layout() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let id = host(&store);
    let t = now() - 10_000;
    let mk = |seq: u64, samples: Vec<Sample>| NewReport {
        seq: Some(seq),
        ts: t + seq as i64 * 1000,
        interval_s: 1,
        samples,
        info: None,
    };
    let a = |v| Sample::new("a", v);
    let b = |v| Sample::new("b", v).with_label("k", "1");
    let c = |v| Sample::new("c", v);
    store
        .ingest(
            1,
            id,
            vec![
                mk(1, vec![a(1.0), b(10.0)]),
                mk(2, vec![a(2.0), b(20.0)]),
                mk(3, vec![b(30.0), a(3.0)]),
                mk(4, vec![a(4.0), b(40.0), c(400.0)]),
            ],
        )
        .unwrap();
    let r = query(&store, id, &["a", "b", "c"], t, t + 10_000, None);
    let values = |name: &str| {
        r.series
            .iter()
            .find(|s| s.name == name)
            .unwrap()
            .values
            .clone()
    };
    assert_eq!(
        values("a"),
        vec![Some(1.0), Some(2.0), Some(3.0), Some(4.0)]
    );
    assert_eq!(
        values("b"),
        vec![Some(10.0), Some(20.0), Some(30.0), Some(40.0)]
    );
    assert_eq!(values("c"), vec![None, None, None, Some(400.0)]);
}

fn alert(tenant: TenantId, fingerprint: &str, state: &str, at: i64) -> Alert {
    Alert {
        id: 0,
        tenant_id: tenant,
        fingerprint: fingerprint.into(),
        source: "rule".into(),
        source_id: 1,
        name: "High CPU".into(),
        severity: "critical".into(),
        state: state.into(),
        host_id: None,
        labels: [("host".to_string(), "web-1".to_string())].into(),
        annotations: Default::default(),
        summary: "web-1 CPU at 97%".into(),
        value: Some(97.0),
        started_at: at,
        fired_at: (state != "pending").then_some(at),
        resolved_at: None,
        updated_at: at,
        last_notified_at: None,
        notify_count: 0,
        suppressed: None,
        ack: None,
        assignee: None,
    }
}

#[test]
fn alerts_keep_their_history_ack_and_tenant() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let t1 = store.default_tenant();
    let t2 = store.create_tenant("other").unwrap().id;
    let now = now();
    let mut batch = vec![
        alert(t1, "aaaa", "firing", now - 10_000),
        alert(t1, "bbbb", "pending", now - 5_000),
    ];
    store.save_alerts(&mut batch, &[]).unwrap();
    assert!(batch.iter().all(|a| a.id > 0), "ids assigned");
    // One open episode per fingerprint.
    let mut twin = vec![alert(t1, "aaaa", "firing", now)];
    assert!(store.save_alerts(&mut twin, &[]).is_err());

    // Ack by a person is not overwritten by the engine's next save.
    let ack = AlertAck {
        by: "alice".into(),
        at: now,
        comment: Some("on it".into()),
    };
    store.ack_alert(t1, batch[0].id, Some(&ack)).unwrap();
    assert!(
        store.ack_alert(t2, batch[0].id, Some(&ack)).is_err(),
        "other tenant"
    );
    batch[0].notify_count = 1;
    batch[0].state = "resolved".into();
    batch[0].resolved_at = Some(now);
    // The pending one went away before firing: discarded, not history.
    let pending = batch[1].id;
    store.save_alerts(&mut batch[..1], &[pending]).unwrap();
    let a = store.alert(t1, batch[0].id).unwrap().unwrap();
    assert_eq!((a.state.as_str(), a.notify_count), ("resolved", 1));
    assert_eq!(a.ack, Some(ack));
    assert!(store.alert(t1, batch[1].id).unwrap().is_none());
    assert!(store.alert(t2, batch[0].id).unwrap().is_none());
    assert!(store.open_alerts().unwrap().is_empty());
    // A new episode of the same fingerprint after the resolve.
    store
        .save_alerts(&mut [alert(t1, "aaaa", "firing", now)], &[])
        .unwrap();
    let filter = |states: &[&str]| AlertFilter {
        tenant: t1,
        states: states.iter().map(|s| s.to_string()).collect(),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(store.alerts(&filter(&[])).unwrap().len(), 2);
    assert_eq!(store.alerts(&filter(&["firing"])).unwrap().len(), 1);
    assert_eq!(
        store
            .alerts(&AlertFilter {
                tenant: t2,
                limit: 10,
                ..Default::default()
            })
            .unwrap()
            .len(),
        0
    );
    // Retention drops resolved history only.
    assert_eq!(store.prune_alerts(now + 1).unwrap(), 1);
    assert_eq!(store.alerts(&filter(&[])).unwrap().len(), 1);
}

#[test]
fn registrations_wait_for_the_ingest_writer_instead_of_failing() {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(open(&dir));
    let tenant = store.default_tenant();
    let busy_host = host(&store);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (store, stop) = (store.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut seq = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                seq += 1;
                store
                    .ingest(
                        tenant,
                        busy_host,
                        vec![report(seq, now() + seq as i64, 1.0)],
                    )
                    .unwrap();
            }
            seq
        })
    };
    // Each registration reads the key, then writes: under concurrent
    // commits a deferred transaction would fail with "database is locked".
    for i in 0..400 {
        let key_id = format!("reg{i}");
        store
            .create_agent_key(tenant, "k", &key_id, &[1; 32])
            .unwrap();
        let reg = HostRegistration {
            hostname: format!("host-{i}"),
            ..Default::default()
        };
        store
            .register_host(tenant, &key_id, &reg)
            .unwrap_or_else(|e| panic!("registration {i}: {e}"));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(writer.join().unwrap() > 0, "the writer was busy meanwhile");
}
