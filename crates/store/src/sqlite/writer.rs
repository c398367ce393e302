//! The ingest writer: one thread owning the write connection, committing the
//! reports of many concurrent requests in one transaction (group commit).
//!
//! A request's reports are durable when its reply arrives, because the reply
//! is sent only after the transaction that holds them committed. Batching
//! many requests per commit is what makes that affordable: one WAL append
//! (and, with [`super::Durability::Power`], one fsync) per group instead of per
//! report.

use std::collections::HashMap;
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

#[derive(Clone, Hash, PartialEq, Eq)]
struct SeriesKey {
    name: String,
    labels: Labels,
}

struct HostState {
    tenant: TenantId,
    last_seq: Option<u64>,
    series: HashMap<SeriesKey, SeriesId>,
    /// The previous report's series in order, with their ids.
    layout: Vec<(String, Labels, SeriesId)>,
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
            series.insert(SeriesKey { name, labels }, id);
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
                    .all(|((name, labels, _), s)| *name == s.name && *labels == s.labels);
            if same_layout {
                self.pairs.extend(
                    state
                        .layout
                        .iter()
                        .zip(&report.samples)
                        .map(|((_, _, id), s)| (*id, s.value)),
                );
            } else {
                let mut layout = Vec::with_capacity(report.samples.len());
                for sample in report.samples {
                    let key = SeriesKey {
                        name: sample.name,
                        labels: sample.labels,
                    };
                    let id = match state.series.get(&key) {
                        Some(id) => *id,
                        None => {
                            let labels_json =
                                serde_json::to_string(&key.labels).expect("labels serialize");
                            let id: SeriesId = self
                                .conn
                                .prepare_cached(
                                    "INSERT INTO series (host_id, name, labels) VALUES (?1, ?2, ?3)
                                     ON CONFLICT (host_id, name, labels) DO UPDATE SET name = excluded.name
                                     RETURNING id",
                                )?
                                .query_row(params![job.host, key.name, labels_json], |r| r.get(0))?;
                            state.series.insert(key.clone(), id);
                            id
                        }
                    };
                    layout.push((key.name, key.labels, id));
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
