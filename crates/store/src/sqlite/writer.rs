//! The ingest writer: one thread owning the write connection, committing the
//! reports of many concurrent requests in one transaction (group commit).
//!
//! A request's reports are durable when its reply arrives, because the reply
//! is sent only after the transaction that holds them committed. Batching
//! many requests per commit is what makes that affordable: one WAL append
//! (and, with [`super::Durability::Power`], one fsync) per group instead of per
//! report.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, TryRecvError};

use lxmon_proto::Labels;
use rusqlite::{Connection, OptionalExtension, params};

use crate::tsdb::head;
use crate::{HostId, IngestOutcome, NewReport, Result, SeriesId, StoreError, TenantId};

/// Most requests folded into one transaction.
const MAX_GROUP: usize = 512;

pub(super) struct Job {
    pub tenant: TenantId,
    pub host: HostId,
    pub reports: Vec<NewReport>,
    pub now_ms: i64,
    pub oldest_allowed_ms: i64,
    pub reply: tokio::sync::oneshot::Sender<Result<IngestOutcome>>,
}

/// A series' identity (name and labels) in one small allocation shared by
/// the host's series map and its layout: the name, then each label's key and
/// value in key order, each behind its length. A `String` plus a `BTreeMap`
/// cost about 0.6 KB per labelled series (a B-tree leaf holds room for 11
/// pairs) and the layout held a second copy; at 10,000 hosts of ~100 series
/// that was over a gigabyte of writer memory.
#[derive(Clone, Hash, PartialEq, Eq)]
struct SeriesKey(Arc<[u8]>);

impl SeriesKey {
    fn new(name: &str, labels: &Labels) -> SeriesKey {
        let mut bytes = Vec::with_capacity(
            4 + name.len()
                + labels
                    .iter()
                    .map(|(k, v)| 8 + k.len() + v.len())
                    .sum::<usize>(),
        );
        for part in std::iter::once(name).chain(labels.iter().flat_map(|(k, v)| [&k[..], &v[..]])) {
            bytes.extend_from_slice(&(part.len() as u32).to_le_bytes());
            bytes.extend_from_slice(part.as_bytes());
        }
        SeriesKey(bytes.into())
    }

    /// Whether this is the identity of `name` with `labels`, without
    /// building a key for them.
    fn matches(&self, name: &str, labels: &Labels) -> bool {
        let mut rest = &self.0[..];
        let mut next = |expected: &str| {
            let Some((len, tail)) = rest.split_first_chunk::<4>() else {
                return false;
            };
            let len = u32::from_le_bytes(*len) as usize;
            let ok = tail.get(..len) == Some(expected.as_bytes());
            rest = tail.get(len..).unwrap_or_default();
            ok
        };
        next(name) && labels.iter().all(|(k, v)| next(k) && next(v)) && rest.is_empty()
    }
}

struct HostState {
    tenant: TenantId,
    last_seq: Option<u64>,
    series: HashMap<SeriesKey, SeriesId>,
    /// The previous report's series in order, with their ids.
    layout: Vec<(SeriesKey, SeriesId)>,
}

pub(super) struct Writer {
    conn: Connection,
    hosts: HashMap<HostId, HostState>,
    pairs: Vec<(SeriesId, f64)>,
    blob: Vec<u8>,
}

impl Writer {
    pub fn new(conn: Connection) -> Writer {
        Writer {
            conn,
            hosts: HashMap::new(),
            pairs: Vec::new(),
            blob: Vec::new(),
        }
    }

    pub fn run(mut self, rx: Receiver<Job>) {
        while let Ok(first) = rx.recv() {
            let mut jobs = vec![first];
            while jobs.len() < MAX_GROUP {
                match rx.try_recv() {
                    Ok(job) => jobs.push(job),
                    Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
                }
            }
            self.commit_group(jobs);
        }
    }

    fn commit_group(&mut self, mut jobs: Vec<Job>) {
        let results = match self.write_group(&mut jobs) {
            Ok(results) => results,
            Err(e) => {
                // Nothing of the group is stored; cached sequence numbers and
                // series ids may describe rolled-back rows, so forget them.
                self.hosts.clear();
                tracing::error!(error = %e, reports = jobs.len(), "ingest transaction failed");
                jobs.iter()
                    .map(|_| Err(StoreError::Failed(e.to_string())))
                    .collect()
            }
        };
        for (job, result) in jobs.into_iter().zip(results) {
            let _ = job.reply.send(result);
        }
    }

    fn write_group(&mut self, jobs: &mut [Job]) -> Result<Vec<Result<IngestOutcome>>> {
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        let mut results = Vec::with_capacity(jobs.len());
        for job in jobs {
            let reports = std::mem::take(&mut job.reports);
            match self.write_job(job, reports) {
                Ok(outcome) => results.push(Ok(outcome)),
                // Refused before anything of this job was written.
                Err(e @ (StoreError::NotFound | StoreError::Rejected(_))) => results.push(Err(e)),
                Err(e) => {
                    let _ = self.conn.execute_batch("ROLLBACK");
                    return Err(e);
                }
            }
        }
        if let Err(e) = self.conn.execute_batch("COMMIT") {
            let _ = self.conn.execute_batch("ROLLBACK");
            return Err(e.into());
        }
        Ok(results)
    }

    fn load_host(&mut self, host: HostId) -> Result<()> {
        if self.hosts.contains_key(&host) {
            return Ok(());
        }
        let row: Option<(TenantId, Option<i64>)> = self
            .conn
            .query_row(
                "SELECT tenant_id, last_seq FROM hosts WHERE id = ?1",
                [host],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((host_tenant, last_seq)) = row else {
            return Err(StoreError::NotFound);
        };
        let mut series = HashMap::new();
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, name, labels FROM series WHERE host_id = ?1")?;
        let rows = stmt.query_map([host], |r| {
            Ok((
                r.get::<_, SeriesId>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        for row in rows {
            let (id, name, labels) = row?;
            let labels: Labels = serde_json::from_str(&labels)
                .map_err(|e| StoreError::Corrupt(format!("series labels: {e}")))?;
            series.insert(SeriesKey::new(&name, &labels), id);
        }
        drop(stmt);
        self.hosts.insert(
            host,
            HostState {
                tenant: host_tenant,
                last_seq: last_seq.map(|s| s as u64),
                series,
                layout: Vec::new(),
            },
        );
        Ok(())
    }

    fn write_job(&mut self, job: &Job, reports: Vec<NewReport>) -> Result<IngestOutcome> {
        self.load_host(job.host)?;
        if self.hosts[&job.host].tenant != job.tenant {
            return Err(StoreError::NotFound);
        }
        if let Some(old) = reports.iter().find(|r| r.ts < job.oldest_allowed_ms) {
            return Err(StoreError::Rejected(format!(
                "report at {} is older than the raw retention period",
                old.ts
            )));
        }
        let mut outcome = IngestOutcome::default();
        let interval = reports.last().map(|r| r.interval_s);
        for report in reports {
            let state = self.hosts.get_mut(&job.host).expect("loaded above");
            if let (Some(seq), Some(last)) = (report.seq, state.last_seq)
                && seq <= last
            {
                outcome.duplicates += 1;
                continue;
            }
            self.pairs.clear();
            // Agents list the same series in the same order every report: when
            // this report matches the previous one's layout, its ids are known
            // by position, with no hashing or allocation.
            let same_layout = state.layout.len() == report.samples.len()
                && state
                    .layout
                    .iter()
                    .zip(&report.samples)
                    .all(|((key, _), s)| key.matches(&s.name, &s.labels));
            if same_layout {
                self.pairs.extend(
                    state
                        .layout
                        .iter()
                        .zip(&report.samples)
                        .map(|((_, id), s)| (*id, s.value)),
                );
            } else {
                let mut layout = Vec::with_capacity(report.samples.len());
                for sample in report.samples {
                    let key = SeriesKey::new(&sample.name, &sample.labels);
                    let id = match state.series.get(&key) {
                        Some(id) => *id,
                        None => {
                            let labels_json =
                                serde_json::to_string(&sample.labels).expect("labels serialize");
                            let id: SeriesId = self
                                .conn
                                .prepare_cached(
                                    "INSERT INTO series (host_id, name, labels) VALUES (?1, ?2, ?3)
                                     ON CONFLICT (host_id, name, labels) DO UPDATE SET name = excluded.name
                                     RETURNING id",
                                )?
                                .query_row(params![job.host, sample.name, labels_json], |r| r.get(0))?;
                            state.series.insert(key.clone(), id);
                            id
                        }
                    };
                    layout.push((key, id));
                    self.pairs.push((id, sample.value));
                }
                state.layout = layout;
            }
            self.pairs.sort_by_key(|p| p.0);
            // A series listed twice keeps its last value.
            self.pairs.dedup_by(|later, earlier| {
                if later.0 == earlier.0 {
                    earlier.1 = later.1;
                    true
                } else {
                    false
                }
            });
            self.blob.clear();
            head::encode(&self.pairs, &mut self.blob);
            self.conn
                .prepare_cached(
                    "INSERT INTO head (host_id, ts, seq, data) VALUES (?1, ?2, ?3, ?4)",
                )?
                .execute(params![
                    job.host,
                    report.ts,
                    report.seq.map(|s| s as i64),
                    self.blob
                ])?;
            if let Some(seq) = report.seq {
                state.last_seq = Some(seq);
            }
            if let Some(info) = &report.info {
                self.conn
                    .prepare_cached(
                        "UPDATE hosts SET os = ?2, kernel = ?3, arch = ?4, agent_version = ?5, boot_time = ?6
                         WHERE id = ?1",
                    )?
                    .execute(params![job.host, info.os, info.kernel, info.arch, info.agent_version, info.boot_time])?;
            }
            outcome.stored += 1;
        }
        let state = &self.hosts[&job.host];
        self.conn
            .prepare_cached(
                "UPDATE hosts SET last_seen = max(coalesce(last_seen, 0), ?2), last_seq = ?3,
                 interval_s = coalesce(?4, interval_s) WHERE id = ?1",
            )?
            .execute(params![
                job.host,
                job.now_ms,
                state.last_seq.map(|s| s as i64),
                interval
            ])?;
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_keys_match_exactly_their_identity() {
        let labels = |pairs: &[(&str, &str)]| -> Labels {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let key = SeriesKey::new("fs.used_bytes", &labels(&[("mount", "/")]));
        assert!(key.matches("fs.used_bytes", &labels(&[("mount", "/")])));
        assert!(!key.matches("fs.used_bytes", &labels(&[("mount", "/boot")])));
        assert!(!key.matches("fs.used_bytes", &labels(&[])));
        assert!(!key.matches("fs.used_byte", &labels(&[("mount", "/")])));
        assert!(!key.matches("fs.used_bytes", &labels(&[("mount", "/"), ("x", "y")])));
        // Lengths keep the parts apart: no concatenation is mistaken for another.
        let a = SeriesKey::new("ab", &labels(&[("c", "d")]));
        let b = SeriesKey::new("a", &labels(&[("bc", "d")]));
        assert!(a != b && !a.matches("a", &labels(&[("bc", "d")])));
        let bare = SeriesKey::new("load.1m", &labels(&[]));
        assert!(
            bare.matches("load.1m", &labels(&[]))
                && bare == SeriesKey::new("load.1m", &Labels::new())
        );
    }
}
