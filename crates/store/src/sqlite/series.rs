//! Time-series reads and maintenance on SQLite: queries over chunks and head
//! rows, latest values, sealing head rows into chunks with their rollups, and
//! retention.

use std::collections::BTreeMap;

use lxmon_proto::Labels;
use rusqlite::{Connection, OptionalExtension, params};

use super::StoreOptions;
use crate::tsdb::chunk::{self, Block, ROLLUP_COLUMNS};
use crate::tsdb::head;
use crate::tsdb::plan::{Folder, Retention, plan};
use crate::*;

type Points = BTreeMap<SeriesId, BTreeMap<i64, Vec<f64>>>;

/// The host's reporting interval, or `NotFound` when the host is not the
/// tenant's (the same answer as a host that does not exist).
fn host_interval(conn: &Connection, tenant: TenantId, host: HostId) -> Result<Option<u32>> {
    conn.prepare_cached("SELECT interval_s FROM hosts WHERE id = ?1 AND tenant_id = ?2")?
        .query_row(params![host, tenant], |r| r.get::<_, Option<i64>>(0))
        .optional()?
        .map(|i| i.map(|i| i as u32))
        .ok_or(StoreError::NotFound)
}

fn series_of(
    conn: &Connection,
    host: HostId,
    names: &[String],
) -> Result<BTreeMap<SeriesId, (String, Labels)>> {
    let mut stmt = conn.prepare_cached("SELECT id, name, labels FROM series WHERE host_id = ?1")?;
    let rows = stmt.query_map([host], |r| {
        Ok((
            r.get::<_, SeriesId>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    let mut out = BTreeMap::new();
    for row in rows {
        let (id, name, labels) = row?;
        if names.is_empty() || names.contains(&name) {
            let labels: Labels = serde_json::from_str(&labels)
                .map_err(|e| StoreError::Corrupt(format!("series labels: {e}")))?;
            out.insert(id, (name, labels));
        }
    }
    Ok(out)
}

pub(super) fn query(
    conn: &Connection,
    retention: &Retention,
    tenant: TenantId,
    host: HostId,
    q: &SeriesQuery,
) -> Result<QueryResult> {
    let interval_s = host_interval(conn, tenant, host)?;
    let series = series_of(conn, host, &q.names)?;
    let plan = plan(q, retention, interval_s.map(|s| i64::from(s) * 1000))?;
    let mut folder = Folder::new(plan);
    let wanted = |id: SeriesId| series.contains_key(&id);

    let span = plan.tier.chunk_span_ms();
    let mut stmt = conn.prepare_cached(
        "SELECT data FROM chunks WHERE host_id = ?1 AND tier = ?2 AND start_ts > ?3 AND start_ts <= ?4 ORDER BY start_ts",
    )?;
    let mut rows = stmt.query(params![
        host,
        plan.tier.code(),
        plan.start_ms - span,
        plan.end_ms
    ])?;
    let mut row_buf = [0f64; ROLLUP_COLUMNS];
    while let Some(row) = rows.next()? {
        let block = chunk::decode(row.get_ref(0)?.as_blob()?, wanted)?;
        for s in &block.series {
            for (i, values) in s.rows() {
                let ts = block.timestamps[i];
                let mut n = 0;
                for (slot, v) in row_buf.iter_mut().zip(values) {
                    *slot = v;
                    n += 1;
                }
                if plan.tier == Tier::Raw {
                    folder.add_raw(s.id, ts, row_buf[0]);
                } else {
                    folder.add_rollup(s.id, ts, &row_buf[..n]);
                }
            }
        }
    }

    // Head rows are not sealed yet, so no chunk of any tier holds them.
    let mut stmt = conn
        .prepare_cached("SELECT ts, data FROM head WHERE host_id = ?1 AND ts >= ?2 AND ts <= ?3")?;
    let mut rows = stmt.query(params![host, plan.start_ms, plan.end_ms])?;
    while let Some(row) = rows.next()? {
        let ts: i64 = row.get(0)?;
        head::decode(row.get_ref(1)?.as_blob()?, |id, v| {
            if wanted(id) {
                folder.add_raw(id, ts, v);
            }
        })?;
    }

    let (timestamps, mut columns) = folder.finish(q.aggregation);
    let mut out: Vec<SeriesValues> = series
        .into_iter()
        .filter_map(|(id, (name, labels))| {
            columns.remove(&id).map(|values| SeriesValues {
                name,
                labels,
                values,
            })
        })
        .collect();
    out.sort_by(|a, b| (&a.name, &a.labels).cmp(&(&b.name, &b.labels)));
    Ok(QueryResult {
        tier: plan.tier,
        step_s: (plan.step_ms / 1000) as u32,
        timestamps,
        series: out,
    })
}

pub(super) fn latest(
    conn: &Connection,
    tenant: TenantId,
    host: HostId,
) -> Result<Option<LatestValues>> {
    host_interval(conn, tenant, host)?;
    let mut values: Vec<(SeriesId, f64)> = Vec::new();
    let head_row: Option<(i64, Vec<u8>)> = conn
        .prepare_cached("SELECT ts, data FROM head WHERE host_id = ?1 ORDER BY ts DESC LIMIT 1")?
        .query_row([host], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let ts = if let Some((ts, data)) = head_row {
        head::decode(&data, |id, v| values.push((id, v)))?;
        ts
    } else {
        let data: Option<Vec<u8>> = conn
            .prepare_cached("SELECT data FROM chunks WHERE host_id = ?1 AND tier = 0 ORDER BY start_ts DESC LIMIT 1")?
            .query_row([host], |r| r.get(0))
            .optional()?;
        let Some(data) = data else { return Ok(None) };
        let block = chunk::decode(&data, |_| true)?;
        let Some(last) = block.timestamps.len().checked_sub(1) else {
            return Ok(None);
        };
        for s in &block.series {
            if let Some((_, mut row)) = s.rows().find(|(i, _)| *i == last) {
                values.push((s.id, row.next().expect("one column")));
            }
        }
        block.timestamps[last]
    };
    let names = series_of(conn, host, &[])?;
    let mut values: Vec<LatestValue> = values
        .into_iter()
        .filter_map(|(id, value)| {
            names.get(&id).map(|(name, labels)| LatestValue {
                name: name.clone(),
                labels: labels.clone(),
                value,
            })
        })
        .collect();
    values.sort_by(|a, b| (&a.name, &a.labels).cmp(&(&b.name, &b.labels)));
    Ok(Some(LatestValues { ts, values }))
}

const HOUR: i64 = 3_600_000;

pub(super) fn maintain(
    conn: &mut Connection,
    options: &StoreOptions,
    now_ms: i64,
) -> Result<MaintenanceReport> {
    let mut report = MaintenanceReport::default();
    // Hours that ended more than the grace period ago are sealed.
    let cutoff = (now_ms - options.seal_grace_ms).div_euclid(HOUR) * HOUR;
    let hosts: Vec<HostId> = conn
        .prepare("SELECT id FROM hosts")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for host in hosts {
        let hours: Vec<i64> = conn
            .prepare_cached(
                "SELECT DISTINCT ts - (ts % ?3) FROM head WHERE host_id = ?1 AND ts < ?2 ORDER BY 1",
            )?
            .query_map(params![host, cutoff, HOUR], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        // One transaction per day of hours (one 5-minute rollup chunk): a
        // backfilled month rewrites each rollup chunk once per day, not once
        // per hour, and no transaction holds the write lock for long.
        for day in hours.chunk_by(|a, b| {
            a.div_euclid(Tier::FiveMin.chunk_span_ms())
                == b.div_euclid(Tier::FiveMin.chunk_span_ms())
        }) {
            report.reports_sealed += seal_hours(conn, host, day)?;
            report.chunks_sealed += day.len();
        }
    }
    for tier in Tier::ALL {
        let keep_from = now_ms - options.retention.of(tier);
        report.chunks_dropped += conn.execute(
            "DELETE FROM chunks WHERE tier = ?1 AND start_ts + ?2 <= ?3",
            params![tier.code(), tier.chunk_span_ms(), keep_from],
        )?;
    }
    conn.execute(
        "DELETE FROM check_results WHERE ts < ?1",
        [now_ms - options.retention.raw_ms],
    )?;
    conn.execute(
        "DELETE FROM check_daily WHERE day < ?1",
        [(now_ms - options.retention.one_hour_ms).div_euclid(86_400_000)],
    )?;
    conn.execute(
        "DELETE FROM head WHERE ts < ?1",
        [now_ms - options.retention.raw_ms],
    )?;
    Ok(report)
}

fn load_chunk(
    tx: &rusqlite::Transaction<'_>,
    host: HostId,
    tier: Tier,
    start: i64,
    points: &mut Points,
) -> Result<()> {
    let data: Option<Vec<u8>> = tx
        .prepare_cached(
            "SELECT data FROM chunks WHERE host_id = ?1 AND tier = ?2 AND start_ts = ?3",
        )?
        .query_row(params![host, tier.code(), start], |r| r.get(0))
        .optional()?;
    if let Some(data) = data {
        chunk::decode(&data, |_| true)?.into_points(points);
    }
    Ok(())
}

fn save_chunk(
    tx: &rusqlite::Transaction<'_>,
    host: HostId,
    tier: Tier,
    start: i64,
    block: &Block,
) -> Result<()> {
    let data = chunk::encode(block)?;
    tx.prepare_cached(
        "INSERT INTO chunks (host_id, tier, start_ts, points, data) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (host_id, tier, start_ts) DO UPDATE SET points = excluded.points, data = excluded.data",
    )?
    .execute(params![host, tier.code(), start, block.point_count() as i64, data])?;
    Ok(())
}

/// Moves host-hours of head rows (all inside one 5-minute rollup chunk, so
/// inside one 1-hour chunk too) into their raw chunks, merging with what a
/// previous seal stored (late reports), and rewrites those hours' rollup
/// buckets, each rollup chunk read and written once, all in one transaction.
fn seal_hours(conn: &mut Connection, host: HostId, hours: &[i64]) -> Result<usize> {
    let tx = conn.transaction()?;
    let mut sealed = 0;
    // The rollup chunks these hours fall in: (tier, chunk start, points).
    let mut rollups: Vec<(Tier, i64, Points)> = Vec::new();
    for &hour in hours {
        let mut raw: Points = BTreeMap::new();
        load_chunk(&tx, host, Tier::Raw, hour, &mut raw)?;
        {
            let mut stmt = tx.prepare_cached(
                "SELECT ts, data FROM head WHERE host_id = ?1 AND ts >= ?2 AND ts < ?3 ORDER BY ts, rowid",
            )?;
            let mut rows = stmt.query(params![host, hour, hour + HOUR])?;
            while let Some(row) = rows.next()? {
                let ts: i64 = row.get(0)?;
                head::decode(row.get_ref(1)?.as_blob()?, |id, v| {
                    raw.entry(id).or_default().insert(ts, vec![v]);
                })?;
                sealed += 1;
            }
        }
        let raw_block = Block::from_points(1, &raw);
        save_chunk(&tx, host, Tier::Raw, hour, &raw_block)?;
        for tier in [Tier::FiveMin, Tier::OneHour] {
            let span = tier.chunk_span_ms();
            let start = hour.div_euclid(span) * span;
            let at = match rollups
                .iter()
                .position(|(t, s, _)| *t == tier && *s == start)
            {
                Some(at) => at,
                None => {
                    let mut points: Points = BTreeMap::new();
                    load_chunk(&tx, host, tier, start, &mut points)?;
                    rollups.push((tier, start, points));
                    rollups.len() - 1
                }
            };
            // The raw hour is complete, so its buckets replace what was there.
            for (id, buckets) in raw_block.rollup(tier.resolution_ms()) {
                rollups[at].2.entry(id).or_default().extend(buckets);
            }
        }
        tx.prepare_cached("DELETE FROM head WHERE host_id = ?1 AND ts >= ?2 AND ts < ?3")?
            .execute(params![host, hour, hour + HOUR])?;
    }
    for (tier, start, points) in &rollups {
        save_chunk(
            &tx,
            host,
            *tier,
            *start,
            &Block::from_points(ROLLUP_COLUMNS, points),
        )?;
    }
    tx.commit()?;
    Ok(sealed)
}

pub(super) fn stats(conn: &Connection) -> Result<StoreStats> {
    let (head_reports, head_bytes): (i64, i64) = conn.query_row(
        "SELECT count(*), coalesce(sum(length(data)), 0) FROM head",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let (raw_chunks, raw_chunk_bytes, raw_chunk_samples): (i64, i64, i64) = conn.query_row(
        "SELECT count(*), coalesce(sum(length(data)), 0), coalesce(sum(points), 0) FROM chunks WHERE tier = 0",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let (rollup_chunks, rollup_chunk_bytes): (i64, i64) = conn.query_row(
        "SELECT count(*), coalesce(sum(length(data)), 0) FROM chunks WHERE tier > 0",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let series: i64 = conn.query_row("SELECT count(*) FROM series", [], |r| r.get(0))?;
    let hosts: i64 = conn.query_row("SELECT count(*) FROM hosts", [], |r| r.get(0))?;
    Ok(StoreStats {
        head_reports: head_reports as u64,
        head_bytes: head_bytes as u64,
        raw_chunks: raw_chunks as u64,
        raw_chunk_bytes: raw_chunk_bytes as u64,
        raw_chunk_samples: raw_chunk_samples as u64,
        rollup_chunks: rollup_chunks as u64,
        rollup_chunk_bytes: rollup_chunk_bytes as u64,
        series: series as u64,
        hosts: hosts as u64,
    })
}
