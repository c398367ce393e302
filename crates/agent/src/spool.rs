//! Disk spool of reports the server has not acknowledged yet, and the
//! agent's persisted sequence numbers.
//!
//! # Layout
//!
//! ```text
//! <dir>/lock                          flock(2)ed while an agent uses the dir
//! <dir>/seq                           reserved sequence high-water mark
//! <dir>/ack                           highest seq delivered (or dropped)
//! <dir>/seg-00000000000000000007.log  append-only segments, oldest first
//! ```
//!
//! Each segment line is `<seq> <ts_ms> <crc32 hex> <report json>\n`
//! (`cut -d' ' -f4-` turns a segment into plain NDJSON).
//!
//! # Why this shape
//!
//! - **Append-only segments** make a write one `write(2)` at the end of a
//!   file: cheap, and a crash can only tear the last line. A torn or
//!   garbled line fails its newline or CRC check and is skipped when read;
//!   on open, a torn tail is truncated so later appends start clean.
//! - **Rotation by size** lets the size and age bounds drop the oldest
//!   reports by deleting whole files, never rewriting data. The granularity
//!   is one segment (1/16 of the bound), a fair price for never copying.
//! - **An acknowledged-seq file instead of byte offsets**: reports carry
//!   strictly increasing sequence numbers and are delivered in that order, so
//!   "everything up to seq N is done" is the whole delivery state. It is
//!   written with an atomic rename but not fsynced: after a power loss the
//!   agent may resend a few reports, which the server deduplicates by
//!   (agent, seq). At-least-once is the contract; fsync on every delivery
//!   would cost more than it buys.
//! - **No fsync per append** either: a killed or crashed agent loses nothing
//!   (the data is in the page cache); only a kernel crash or power loss can
//!   cost the last seconds. Segments are synced when rotated and at shutdown.
//! - **Sequence numbers are reserved in blocks**: `seq` holds a high-water
//!   mark H and every number handed out is below it; when the block runs out,
//!   H moves up by [`SEQ_BLOCK`] (fsynced). After a restart numbering resumes
//!   at H, so seq never goes backwards while the file is written once per
//!   block, not once per report. Numbers left unused in a block are skipped,
//!   which is harmless: the server only needs them to increase.
//!
//! A failed write (full disk, I/O error) is rolled back, counted as a dropped
//! report and returned as an error for the caller to log; the spool stays
//! usable and the next append tries again.

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How many sequence numbers one write of the `seq` file reserves.
pub const SEQ_BLOCK: u64 = 1000;

const SEGMENT_PREFIX: &str = "seg-";
const SEGMENT_SUFFIX: &str = ".log";

/// Bounds on the spool.
#[derive(Debug, Clone, Copy)]
pub struct SpoolLimits {
    /// Most bytes all segments may take on disk.
    pub max_bytes: u64,
    /// Reports older than this are dropped.
    pub max_age: Duration,
}

impl SpoolLimits {
    /// Segment size: 1/16 of the bound, so dropping the oldest segment drops
    /// about 6 % of the spool; at least 16 KiB, at most 4 MiB.
    fn segment_bytes(&self) -> u64 {
        (self.max_bytes / 16).clamp(16 * 1024, 4 * 1024 * 1024)
    }
}

/// Why a spool operation failed.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("spool directory {0} is in use by another lxmon-agent")]
    Locked(PathBuf),
    #[error("spool I/O on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("a report of {len} bytes does not fit in a spool of {max} bytes")]
    TooLarge { len: usize, max: u64 },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> SpoolError + '_ {
    move |source| SpoolError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// One spooled report as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpooledRecord {
    pub seq: u64,
    pub ts: i64,
    /// The report's JSON, exactly as it was appended.
    pub json: Vec<u8>,
    segment: u64,
    /// Byte offset just past this record in its segment.
    end: u64,
}

#[derive(Debug)]
struct Segment {
    id: u64,
    path: PathBuf,
    bytes: u64,
    /// Records in this segment not yet delivered or dropped.
    pending: u64,
    /// Newest report timestamp in the segment (for the age bound).
    max_ts: i64,
}

/// Counters a caller can export.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpoolStats {
    /// Reports waiting for delivery.
    pub pending: u64,
    /// Bytes on disk.
    pub bytes: u64,
    /// Reports dropped by the bounds or by failed writes since open.
    pub dropped: u64,
    /// Lines found damaged (torn or failing the checksum) since open.
    pub corrupt: u64,
}

/// The disk spool. See the module documentation for the design.
pub struct Spool {
    dir: PathBuf,
    limits: SpoolLimits,
    segments: VecDeque<Segment>,
    /// Appends go to `segments.back()` through this handle while it is open.
    writer: Option<File>,
    /// Offset of the oldest undelivered line in `segments.front()`.
    cursor: u64,
    reader: Option<(u64, u64, BufReader<File>)>,
    acked_seq: u64,
    pending: u64,
    dropped: u64,
    corrupt: u64,
    seq: SeqReservation,
    line_buf: Vec<u8>,
    read_buf: Vec<u8>,
    _lock: File,
}

enum Line {
    End,
    Corrupt { len: u64 },
    Record { seq: u64, ts: i64, len: u64 },
}

impl Spool {
    /// Opens (creating if needed) the spool in `dir`, recovering from a torn
    /// last write.
    pub fn open(dir: &Path, limits: SpoolLimits) -> Result<Spool, SpoolError> {
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        let lock = lock_dir(dir)?;
        let acked_seq = read_number(&dir.join("ack")).unwrap_or(0);

        let mut ids: Vec<u64> = fs::read_dir(dir)
            .map_err(io_err(dir))?
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name();
                let name = name.to_str()?;
                name.strip_prefix(SEGMENT_PREFIX)?
                    .strip_suffix(SEGMENT_SUFFIX)?
                    .parse()
                    .ok()
            })
            .collect();
        ids.sort_unstable();

        let mut spool = Spool {
            dir: dir.to_path_buf(),
            limits,
            segments: VecDeque::new(),
            writer: None,
            cursor: 0,
            reader: None,
            acked_seq,
            pending: 0,
            dropped: 0,
            corrupt: 0,
            seq: SeqReservation {
                path: dir.join("seq"),
                next: 1,
                reserved: 0,
            },
            line_buf: Vec::with_capacity(16 * 1024),
            read_buf: Vec::with_capacity(16 * 1024),
            _lock: lock,
        };

        let mut max_seq = acked_seq;
        for (i, id) in ids.iter().enumerate() {
            let is_last = i + 1 == ids.len();
            let scan = spool.scan_segment(*id, is_last)?;
            max_seq = max_seq.max(scan.max_seq);
            if scan.segment.pending == 0 {
                // Fully delivered (or empty): nothing to keep.
                let _ = fs::remove_file(&scan.segment.path);
                continue;
            }
            if spool.segments.is_empty() {
                spool.cursor = scan.first_pending_offset;
            }
            spool.pending += scan.segment.pending;
            spool.segments.push_back(scan.segment);
        }
        if spool.corrupt > 0 {
            tracing::warn!(lines = spool.corrupt, dir = %dir.display(), "spool had damaged lines (torn by a crash or corrupted); they were skipped");
        }

        let reserved = read_number(&spool.seq.path).unwrap_or(0);
        spool.seq.next = reserved.max(max_seq + 1).max(1);
        spool.seq.reserve_or_log();
        Ok(spool)
    }

    /// Reads a segment at open: counts pending records, finds the first one,
    /// and truncates a torn tail of the last segment.
    fn scan_segment(&mut self, id: u64, is_last: bool) -> Result<SegmentScan, SpoolError> {
        let path = self.segment_path(id);
        let file = File::open(&path).map_err(io_err(&path))?;
        let mut reader = BufReader::with_capacity(64 * 1024, file);
        let mut seg = Segment {
            id,
            path: path.clone(),
            bytes: 0,
            pending: 0,
            max_ts: i64::MIN,
        };
        let (mut offset, mut valid_end, mut max_seq) = (0u64, 0u64, 0u64);
        let mut first_pending_offset = None;
        let mut buf = std::mem::take(&mut self.read_buf);
        loop {
            buf.clear();
            let n = reader.read_until(b'\n', &mut buf).map_err(io_err(&path))? as u64;
            if n == 0 {
                break;
            }
            match parse_line(&buf) {
                Some((seq, ts, _)) => {
                    if seq > self.acked_seq {
                        seg.pending += 1;
                        first_pending_offset.get_or_insert(offset);
                    }
                    seg.max_ts = seg.max_ts.max(ts);
                    max_seq = max_seq.max(seq);
                    valid_end = offset + n;
                }
                None => self.corrupt += 1,
            }
            offset += n;
        }
        self.read_buf = buf;
        seg.bytes = offset;
        if is_last && valid_end < offset {
            // Whatever follows the last good record is a torn write: cut it
            // so the next append does not glue onto it.
            let f = OpenOptions::new()
                .write(true)
                .open(&path)
                .map_err(io_err(&path))?;
            f.set_len(valid_end).map_err(io_err(&path))?;
            seg.bytes = valid_end;
        }
        Ok(SegmentScan {
            first_pending_offset: first_pending_offset.unwrap_or(seg.bytes),
            max_seq,
            segment: seg,
        })
    }

    fn segment_path(&self, id: u64) -> PathBuf {
        self.dir
            .join(format!("{SEGMENT_PREFIX}{id:020}{SEGMENT_SUFFIX}"))
    }

    /// The next sequence number for a new report. Never fails: if the
    /// reservation cannot be persisted (full disk) the error is logged and
    /// numbering continues in memory; registration with the server
    /// (`last_seq`) covers a restart after that.
    pub fn next_seq(&mut self) -> u64 {
        if self.seq.next >= self.seq.reserved {
            self.seq.reserve_or_log();
        }
        let seq = self.seq.next;
        self.seq.next += 1;
        seq
    }

    /// Makes the next sequence number at least `n` (after the server said
    /// which numbers it already has).
    pub fn ensure_next_seq(&mut self, n: u64) {
        if n > self.seq.next {
            self.seq.next = n;
            if self.seq.next >= self.seq.reserved {
                self.seq.reserve_or_log();
            }
        }
    }

    /// Appends one report. On failure the report is counted as dropped.
    pub fn append(
        &mut self,
        seq: u64,
        ts: i64,
        json: &[u8],
        now_ms: i64,
    ) -> Result<(), SpoolError> {
        self.line_buf.clear();
        let crc = crc32fast::hash(json);
        let _ = write!(self.line_buf, "{seq} {ts} {crc:08x} ");
        self.line_buf.extend_from_slice(json);
        self.line_buf.push(b'\n');
        let len = self.line_buf.len() as u64;
        if len > self.limits.max_bytes {
            self.dropped += 1;
            return Err(SpoolError::TooLarge {
                len: len as usize,
                max: self.limits.max_bytes,
            });
        }

        self.expire_segments(now_ms);
        let mut made_room = 0;
        while self.disk_bytes() + len > self.limits.max_bytes && !self.segments.is_empty() {
            made_room += self.drop_front_segment();
        }
        if made_room > 0 {
            tracing::warn!(
                dropped = made_room,
                max_bytes = self.limits.max_bytes,
                "spool full; oldest reports dropped"
            );
        }

        let needs_new_segment = match (&self.writer, self.segments.back()) {
            (Some(_), Some(back)) => {
                back.bytes > 0 && back.bytes + len > self.limits.segment_bytes()
            }
            _ => true,
        };
        if needs_new_segment && let Err(e) = self.start_segment() {
            self.dropped += 1;
            return Err(e);
        }

        let (Some(writer), Some(back)) = (self.writer.as_mut(), self.segments.back_mut()) else {
            unreachable!("start_segment leaves an open writer on the last segment");
        };
        if let Err(e) = writer.write_all(&self.line_buf) {
            self.dropped += 1;
            // Roll back the partial line; if even that fails, close the
            // segment so the torn bytes end it and the next append starts a
            // fresh one.
            if writer.set_len(back.bytes).is_err() {
                self.writer = None;
            }
            return Err(SpoolError::Io {
                path: back.path.clone(),
                source: e,
            });
        }
        back.bytes += len;
        back.pending += 1;
        back.max_ts = back.max_ts.max(ts);
        self.pending += 1;
        Ok(())
    }

    fn start_segment(&mut self) -> Result<(), SpoolError> {
        if let Some(old) = self.writer.take()
            && let Err(e) = old.sync_data()
        {
            tracing::warn!(error = %e, "spool segment sync failed");
        }
        // An empty segment left by a failed write is reused, not orphaned.
        let (id, reuse) = match self.segments.back() {
            Some(back) if back.bytes == 0 => (back.id, true),
            Some(back) => (back.id + 1, false),
            None => (1, false),
        };
        let path = self.segment_path(id);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io_err(&path))?;
        if !reuse {
            self.segments.push_back(Segment {
                id,
                path,
                bytes: 0,
                pending: 0,
                max_ts: i64::MIN,
            });
        }
        if self.segments.len() == 1 {
            self.cursor = 0;
        }
        self.writer = Some(file);
        Ok(())
    }

    /// Drops the oldest segment with whatever it still held; returns how many
    /// reports were lost.
    fn drop_front_segment(&mut self) -> u64 {
        let Some(seg) = self.segments.pop_front() else {
            return 0;
        };
        if self.segments.is_empty() {
            self.writer = None;
        }
        if self.reader.as_ref().is_some_and(|(id, _, _)| *id == seg.id) {
            self.reader = None;
        }
        if let Err(e) = fs::remove_file(&seg.path) {
            tracing::warn!(path = %seg.path.display(), error = %e, "cannot delete spool segment");
        }
        self.cursor = 0;
        self.pending -= seg.pending;
        self.dropped += seg.pending;
        seg.pending
    }

    /// Drops whole segments whose newest report is past the age bound.
    fn expire_segments(&mut self, now_ms: i64) {
        let cutoff = self.cutoff(now_ms);
        let mut expired = 0;
        while self
            .segments
            .front()
            .is_some_and(|s| s.bytes > 0 && s.max_ts < cutoff)
        {
            expired += self.drop_front_segment();
        }
        if expired > 0 {
            tracing::warn!(
                dropped = expired,
                "spooled reports older than the age bound dropped"
            );
        }
    }

    fn cutoff(&self, now_ms: i64) -> i64 {
        now_ms.saturating_sub(self.limits.max_age.as_millis().min(i64::MAX as u128) as i64)
    }

    fn disk_bytes(&self) -> u64 {
        self.segments.iter().map(|s| s.bytes).sum()
    }

    /// The oldest undelivered reports, oldest first: at most `max_records`,
    /// and no more than `max_bytes` of JSON unless a single report is larger.
    /// Reports past the age bound met on the way are dropped.
    pub fn peek(
        &mut self,
        max_records: usize,
        max_bytes: usize,
        now_ms: i64,
    ) -> Result<Vec<SpooledRecord>, SpoolError> {
        self.expire_segments(now_ms);
        let cutoff = self.cutoff(now_ms);
        let mut out: Vec<SpooledRecord> = Vec::new();
        let mut bytes = 0usize;
        let (mut idx, mut offset) = (0usize, self.cursor);
        let mut expired = 0u64;
        while idx < self.segments.len() && out.len() < max_records {
            let seg_id = self.segments[idx].id;
            match self.read_line(seg_id, offset)? {
                Line::End => {
                    idx += 1;
                    offset = 0;
                }
                Line::Corrupt { len } => {
                    // Counted in `corrupt` when the spool was opened.
                    tracing::warn!(segment = seg_id, offset, "damaged spool line skipped");
                    offset += len;
                    if out.is_empty() {
                        self.advance_cursor(seg_id, offset);
                        (idx, offset) = (0, self.cursor);
                    }
                }
                Line::Record { seq, ts, len } => {
                    let end = offset + len;
                    if out.is_empty() && seq <= self.acked_seq {
                        // Delivered before a restart whose ack was not yet
                        // written over it: never counted as pending.
                        self.advance_cursor(seg_id, end);
                        (idx, offset) = (0, self.cursor);
                        continue;
                    }
                    if out.is_empty() && ts < cutoff {
                        expired += 1;
                        self.dropped += 1;
                        self.consume(seg_id, end);
                        (idx, offset) = (0, self.cursor);
                        continue;
                    }
                    let json = &self.read_buf[json_start(&self.read_buf)..self.read_buf.len() - 1];
                    if !out.is_empty() && bytes + json.len() > max_bytes {
                        break;
                    }
                    bytes += json.len();
                    out.push(SpooledRecord {
                        seq,
                        ts,
                        json: json.to_vec(),
                        segment: seg_id,
                        end,
                    });
                    offset = end;
                }
            }
        }
        if expired > 0 {
            tracing::warn!(
                dropped = expired,
                "spooled reports older than the age bound dropped"
            );
        }
        if out.is_empty() && self.pending > 0 {
            // The counters promised records the files do not hold (a segment
            // damaged or removed behind our back). Reset rather than spin.
            tracing::error!(
                pending = self.pending,
                "spool bookkeeping does not match its files; resetting it"
            );
            self.dropped += self.pending;
            self.pending = 0;
            for seg in &mut self.segments {
                seg.pending = 0;
            }
            while !self.segments.is_empty() {
                self.drop_front_segment();
            }
        }
        Ok(out)
    }

    /// Reads the line at `offset` of a segment into `read_buf`, reusing the
    /// open reader when it is already there.
    fn read_line(&mut self, seg_id: u64, offset: u64) -> Result<Line, SpoolError> {
        let reuse = matches!(&self.reader, Some((id, pos, _)) if *id == seg_id && *pos == offset);
        if !reuse {
            let path = self.segment_path(seg_id);
            let mut file = File::open(&path).map_err(io_err(&path))?;
            file.seek(SeekFrom::Start(offset)).map_err(io_err(&path))?;
            self.reader = Some((seg_id, offset, BufReader::with_capacity(64 * 1024, file)));
        }
        let Some((_, pos, reader)) = self.reader.as_mut() else {
            unreachable!("reader was just set");
        };
        self.read_buf.clear();
        let n = reader
            .read_until(b'\n', &mut self.read_buf)
            .map_err(|source| SpoolError::Io {
                path: self.dir.clone(),
                source,
            })? as u64;
        *pos += n;
        if n == 0 || self.read_buf.last() != Some(&b'\n') {
            // EOF, or a torn line still being (or never to be) completed.
            self.reader = None;
            return Ok(Line::End);
        }
        Ok(match parse_line(&self.read_buf) {
            Some((seq, ts, _)) => Line::Record { seq, ts, len: n },
            None => Line::Corrupt { len: n },
        })
    }

    /// Marks `records` (a prefix of the last [`Spool::peek`]) delivered.
    /// They count as done in memory even if persisting the ack fails (the
    /// error is returned for logging): at worst they are resent after a
    /// restart, and the server deduplicates them.
    pub fn ack(&mut self, records: &[SpooledRecord]) -> Result<(), SpoolError> {
        let Some(last) = records.last() else {
            return Ok(());
        };
        for r in records {
            self.consume(r.segment, r.end);
        }
        self.acked_seq = self.acked_seq.max(last.seq);
        write_number_atomically(&self.dir.join("ack"), self.acked_seq, false)
    }

    /// Drops `record` (the oldest pending one) without delivering it, e.g.
    /// because the server refused it as invalid.
    pub fn discard(&mut self, record: &SpooledRecord) -> Result<(), SpoolError> {
        self.dropped += 1;
        self.ack(std::slice::from_ref(record))
    }

    /// Counts one pending record ending at `end` of segment `seg_id` as
    /// done. Records already consumed or dropped by a bound are ignored.
    fn consume(&mut self, seg_id: u64, end: u64) {
        let Some(front_id) = self.segments.front().map(|s| s.id) else {
            return;
        };
        if seg_id < front_id || (seg_id == front_id && end <= self.cursor) {
            return;
        }
        let Some(seg) = self.segments.iter_mut().find(|s| s.id == seg_id) else {
            return;
        };
        seg.pending = seg.pending.saturating_sub(1);
        self.pending = self.pending.saturating_sub(1);
        self.advance_cursor(seg_id, end);
    }

    /// Moves the read position to `end` of `seg_id`, deleting segments left
    /// with nothing pending.
    fn advance_cursor(&mut self, seg_id: u64, end: u64) {
        while self.segments.front().is_some_and(|s| s.id < seg_id) {
            self.drop_front_segment();
        }
        self.cursor = end;
        if self.segments.front().is_some_and(|s| s.pending == 0) {
            self.drop_front_segment();
        }
    }

    pub fn is_empty(&self) -> bool {
        self.pending == 0
    }

    /// Reports waiting for delivery.
    pub fn len(&self) -> u64 {
        self.pending
    }

    pub fn stats(&self) -> SpoolStats {
        SpoolStats {
            pending: self.pending,
            bytes: self.disk_bytes(),
            dropped: self.dropped,
            corrupt: self.corrupt,
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Flushes the open segment to disk (at shutdown).
    pub fn sync(&mut self) -> Result<(), SpoolError> {
        if let (Some(w), Some(back)) = (&self.writer, self.segments.back()) {
            w.sync_data().map_err(io_err(&back.path))?;
        }
        Ok(())
    }
}

struct SegmentScan {
    segment: Segment,
    first_pending_offset: u64,
    max_seq: u64,
}

/// Splits a spool line into (seq, ts, json), checking its newline and CRC.
fn parse_line(line: &[u8]) -> Option<(u64, i64, &[u8])> {
    let line = line.strip_suffix(b"\n")?;
    let mut parts = line.splitn(4, |&b| b == b' ');
    let seq = std::str::from_utf8(parts.next()?).ok()?.parse().ok()?;
    let ts = std::str::from_utf8(parts.next()?).ok()?.parse().ok()?;
    let crc = u32::from_str_radix(std::str::from_utf8(parts.next()?).ok()?, 16).ok()?;
    let json = parts.next()?;
    (crc32fast::hash(json) == crc).then_some((seq, ts, json))
}

/// Where the JSON starts in a line already validated by [`parse_line`].
fn json_start(line: &[u8]) -> usize {
    let mut spaces = 0;
    for (i, &b) in line.iter().enumerate() {
        if b == b' ' {
            spaces += 1;
            if spaces == 3 {
                return i + 1;
            }
        }
    }
    line.len()
}

struct SeqReservation {
    path: PathBuf,
    next: u64,
    /// Every number below this may have been handed out by some run.
    reserved: u64,
}

impl SeqReservation {
    /// Moves the high-water mark one block above `next`. If the file cannot
    /// be written (full disk), numbering goes on from memory and the write is
    /// retried at the next block; registration's `last_seq` keeps a restart
    /// in between from reusing numbers the server has.
    fn reserve_or_log(&mut self) {
        let reserved = self.next + SEQ_BLOCK;
        if let Err(e) = write_number_atomically(&self.path, reserved, true) {
            tracing::error!(error = %e, "cannot persist the sequence reservation; continuing in memory");
        }
        self.reserved = reserved;
    }
}

fn read_number(path: &Path) -> Option<u64> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Replaces a small file by write-to-temp and rename, so a crash leaves the
/// old or the new content, never a mix. `durable` also fsyncs the file and
/// its directory.
fn write_number_atomically(path: &Path, value: u64, durable: bool) -> Result<(), SpoolError> {
    let tmp = path.with_extension("tmp");
    let result = (|| {
        let mut f = File::create(&tmp)?;
        writeln!(f, "{value}")?;
        if durable {
            f.sync_all()?;
        }
        fs::rename(&tmp, path)?;
        if durable && let Some(dir) = path.parent() {
            File::open(dir)?.sync_all()?;
        }
        Ok(())
    })();
    result.map_err(|source| {
        let _ = fs::remove_file(&tmp);
        SpoolError::Io {
            path: path.to_path_buf(),
            source,
        }
    })
}

/// Takes an exclusive `flock` on `<dir>/lock`: two agents appending to one
/// spool would interleave and double-deliver.
fn lock_dir(dir: &Path) -> Result<File, SpoolError> {
    let path = dir.join("lock");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io_err(&path))?;
    // SAFETY: flock on a file descriptor we own; no memory is involved.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc != 0 {
        let err = io::Error::last_os_error();
        return Err(if err.kind() == io::ErrorKind::WouldBlock {
            SpoolError::Locked(dir.to_path_buf())
        } else {
            SpoolError::Io { path, source: err }
        });
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000_000;

    fn limits(max_bytes: u64) -> SpoolLimits {
        SpoolLimits {
            max_bytes,
            max_age: Duration::from_secs(24 * 3600),
        }
    }

    fn report_json(seq: u64, pad: usize) -> Vec<u8> {
        format!(r#"{{"v":1,"seq":{seq},"pad":"{}"}}"#, "x".repeat(pad)).into_bytes()
    }

    /// Appends `n` reports numbered by the spool; returns their seqs.
    fn fill(spool: &mut Spool, n: usize, pad: usize, ts: i64) -> Vec<u64> {
        (0..n)
            .map(|_| {
                let seq = spool.next_seq();
                spool.append(seq, ts, &report_json(seq, pad), ts).unwrap();
                seq
            })
            .collect()
    }

    fn drain_all(spool: &mut Spool, now: i64) -> Vec<u64> {
        drain(spool, now, true)
    }

    /// Drains the spool; with `strict` false a failing ack-file write (full
    /// disk) is tolerated, as the agent does.
    fn drain(spool: &mut Spool, now: i64, strict: bool) -> Vec<u64> {
        let mut seen = Vec::new();
        loop {
            let batch = spool.peek(7, 1 << 20, now).unwrap();
            if batch.is_empty() {
                break;
            }
            for r in &batch {
                assert_eq!(r.json, report_json(r.seq, extract_pad(&r.json)));
            }
            seen.extend(batch.iter().map(|r| r.seq));
            if let Err(e) = spool.ack(&batch) {
                assert!(!strict, "{e}");
            }
        }
        assert!(spool.is_empty());
        seen
    }

    fn extract_pad(json: &[u8]) -> usize {
        let text = std::str::from_utf8(json).unwrap();
        text.matches('x').count()
    }

    fn segment_files(dir: &Path) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "log"))
            .collect();
        files.sort();
        files
    }

    #[test]
    fn order_is_preserved_across_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let written = {
            let mut spool = Spool::open(dir.path(), limits(1 << 20)).unwrap();
            let written = fill(&mut spool, 200, 300, NOW);
            // Deliver the first 15, then "crash" (drop without sync).
            let first = spool.peek(15, 1 << 20, NOW).unwrap();
            assert_eq!(
                first.iter().map(|r| r.seq).collect::<Vec<_>>(),
                written[..15]
            );
            spool.ack(&first).unwrap();
            assert_eq!(spool.len(), 185);
            written
        };
        assert!(
            segment_files(dir.path()).len() > 1,
            "the test should span segments"
        );

        let mut spool = Spool::open(dir.path(), limits(1 << 20)).unwrap();
        assert_eq!(spool.len(), 185);
        let next = spool.next_seq();
        assert!(next > *written.last().unwrap(), "seq never goes backwards");
        spool.append(next, NOW, &report_json(next, 3), NOW).unwrap();
        let mut expected = written[15..].to_vec();
        expected.push(next);
        assert_eq!(drain_all(&mut spool, NOW), expected);
        assert!(
            segment_files(dir.path()).is_empty(),
            "delivered segments are deleted"
        );
        assert_eq!(spool.stats().bytes, 0);
    }

    #[test]
    fn batches_respect_record_and_byte_limits() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::open(dir.path(), limits(1 << 20)).unwrap();
        fill(&mut spool, 10, 1000, NOW);
        assert_eq!(spool.peek(3, 1 << 20, NOW).unwrap().len(), 3);
        // ~1 KiB each: 2.5 KiB fits two.
        assert_eq!(spool.peek(100, 2500, NOW).unwrap().len(), 2);
        // A single record larger than the byte limit still comes out alone.
        assert_eq!(spool.peek(100, 10, NOW).unwrap().len(), 1);
        assert_eq!(spool.len(), 10, "peek does not consume");
    }

    #[test]
    fn size_bound_drops_the_oldest() {
        let dir = tempfile::tempdir().unwrap();
        let max = 256 * 1024;
        let mut spool = Spool::open(dir.path(), limits(max)).unwrap();
        let written = fill(&mut spool, 1000, 1000, NOW); // ~1 MiB into 256 KiB
        let stats = spool.stats();
        assert!(stats.bytes <= max, "{} bytes on disk", stats.bytes);
        assert!(stats.dropped > 0);
        assert_eq!(stats.pending + stats.dropped, 1000);
        let kept = drain_all(&mut spool, NOW);
        // What is left is the newest reports, contiguous and in order.
        assert_eq!(kept, written[written.len() - kept.len()..]);
        assert!(
            kept.len() as u64 * 1000 > max / 2,
            "kept only {}",
            kept.len()
        );
    }

    #[test]
    fn age_bound_drops_old_reports() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::open(
            dir.path(),
            SpoolLimits {
                max_bytes: 1 << 20,
                max_age: Duration::from_secs(3600),
            },
        )
        .unwrap();
        let hour = 3_600_000;
        let then = NOW - 2 * hour;
        let mut append = |ts: i64| {
            let seq = spool.next_seq();
            spool.append(seq, ts, &report_json(seq, 10), then).unwrap();
            seq
        };
        // Old and fresh reports share a segment, so the old ones must be
        // dropped one by one, not with their segment.
        let _old: Vec<u64> = (0..5).map(|_| append(then)).collect();
        let fresh: Vec<u64> = (0..5).map(|_| append(NOW - hour / 2)).collect();
        assert_eq!(spool.len(), 10);
        // The oldest are past an hour at NOW and go; the fresh stay.
        let batch = spool.peek(100, 1 << 20, NOW).unwrap();
        assert_eq!(batch.iter().map(|r| r.seq).collect::<Vec<_>>(), fresh);
        assert_eq!(spool.stats().dropped, 5);
        // Later everything is too old: the whole segment goes.
        assert!(spool.peek(100, 1 << 20, NOW + 2 * hour).unwrap().is_empty());
        assert!(spool.is_empty());
        assert_eq!(spool.stats().dropped, 10);
        assert_eq!(spool.stats().bytes, 0);

        // Appending also applies the bound: a segment of stale reports is
        // dropped when new ones arrive.
        fill(&mut spool, 3, 10, NOW - 3 * hour);
        fill(&mut spool, 2, 10, NOW);
        assert_eq!(spool.len(), 2);
        assert_eq!(spool.stats().dropped, 13);
    }

    #[test]
    fn torn_tail_after_a_crash_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let written = {
            let mut spool = Spool::open(dir.path(), limits(1 << 20)).unwrap();
            fill(&mut spool, 5, 50, NOW)
        };
        let last = segment_files(dir.path()).pop().unwrap();
        // A crash in the middle of the next write: half a line, no newline.
        let mut f = OpenOptions::new().append(true).open(&last).unwrap();
        f.write_all(b"6 1700000000000 deadbeef {\"v\":1,\"se")
            .unwrap();
        drop(f);

        let mut spool = Spool::open(dir.path(), limits(1 << 20)).unwrap();
        assert_eq!(spool.len(), 5);
        assert_eq!(spool.stats().corrupt, 1);
        let seq = spool.next_seq();
        spool.append(seq, NOW, &report_json(seq, 1), NOW).unwrap();
        let mut expected = written.clone();
        expected.push(seq);
        assert_eq!(drain_all(&mut spool, NOW), expected);
    }

    #[test]
    fn damaged_lines_in_the_middle_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let written = {
            let mut spool = Spool::open(dir.path(), limits(1 << 20)).unwrap();
            fill(&mut spool, 3, 20, NOW)
        };
        let seg = segment_files(dir.path()).pop().unwrap();
        let mut bytes = fs::read(&seg).unwrap();
        // Flip one byte inside the second record's JSON: its CRC fails.
        let second = bytes.iter().position(|&b| b == b'\n').unwrap() + 40;
        bytes[second] ^= 0x01;
        fs::write(&seg, &bytes).unwrap();
        let mut spool = Spool::open(dir.path(), limits(1 << 20)).unwrap();
        assert_eq!(drain_all(&mut spool, NOW), vec![written[0], written[2]]);
        assert_eq!(spool.stats().corrupt, 1);
    }

    #[test]
    fn sequence_is_reserved_in_blocks_and_survives_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let seq_file = dir.path().join("seq");
        let last = {
            let mut spool = Spool::open(dir.path(), limits(1 << 20)).unwrap();
            let first = spool.next_seq();
            assert_eq!(first, 1);
            assert_eq!(read_number(&seq_file), Some(1 + SEQ_BLOCK));
            let mut last = first;
            for _ in 0..(SEQ_BLOCK + 10) {
                let s = spool.next_seq();
                assert!(s > last);
                last = s;
            }
            // One more block reserved once the first ran out.
            assert_eq!(read_number(&seq_file), Some(1 + 2 * SEQ_BLOCK));
            last
        };
        let mut spool = Spool::open(dir.path(), limits(1 << 20)).unwrap();
        let after_restart = spool.next_seq();
        assert!(after_restart > last, "{after_restart} <= {last}");
        // The server knows a higher number (local state was restored from an
        // old backup, say): continue above it.
        spool.ensure_next_seq(50_000);
        assert_eq!(spool.next_seq(), 50_000);
        spool.ensure_next_seq(10);
        assert_eq!(spool.next_seq(), 50_001);
    }

    #[test]
    fn a_spool_dir_is_used_by_one_agent_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let _first = Spool::open(dir.path(), limits(1 << 20)).unwrap();
        assert!(matches!(
            Spool::open(dir.path(), limits(1 << 20)),
            Err(SpoolError::Locked(_))
        ));
    }

    #[test]
    fn discard_drops_the_head_record() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::open(dir.path(), limits(1 << 20)).unwrap();
        let written = fill(&mut spool, 3, 5, NOW);
        let batch = spool.peek(10, 1 << 20, NOW).unwrap();
        spool.discard(&batch[0]).unwrap();
        assert_eq!(spool.stats().dropped, 1);
        assert_eq!(drain_all(&mut spool, NOW), written[1..]);
    }

    /// A tiny tmpfs mounted over a temp dir, unmounted on drop.
    struct TinyTmpfs {
        dir: tempfile::TempDir,
    }

    impl TinyTmpfs {
        fn mount(size: &str) -> TinyTmpfs {
            let dir = tempfile::tempdir().unwrap();
            let status = std::process::Command::new("mount")
                .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
                .arg(dir.path())
                .status();
            match status {
                Ok(s) if s.success() => TinyTmpfs { dir },
                other => panic!(
                    "the full-disk test needs to mount a tmpfs (run the tests as root, with mount permitted); `mount -t tmpfs` gave {other:?}"
                ),
            }
        }
    }

    impl Drop for TinyTmpfs {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount")
                .arg(self.dir.path())
                .status();
        }
    }

    #[test]
    fn a_full_disk_drops_reports_without_breaking_the_spool() {
        let disk = TinyTmpfs::mount("64k");
        let dir = disk.dir.path().join("spool");
        // The bound is far above the disk's size: the disk fills first.
        let mut spool = Spool::open(&dir, limits(64 << 20)).unwrap();
        let mut stored = Vec::new();
        let mut failures = 0;
        for _ in 0..200 {
            let seq = spool.next_seq();
            match spool.append(seq, NOW, &report_json(seq, 1000), NOW) {
                Ok(()) => stored.push(seq),
                Err(SpoolError::Io { source, .. }) => {
                    assert_eq!(source.raw_os_error(), Some(libc::ENOSPC), "{source}");
                    failures += 1;
                }
                Err(e) => panic!("unexpected {e}"),
            }
        }
        assert!(failures > 0, "the disk never filled");
        assert!(!stored.is_empty());
        assert_eq!(spool.stats().dropped, failures);
        assert_eq!(spool.len(), stored.len() as u64);

        // Delivering frees space; appends work again.
        let delivered = drain(&mut spool, NOW, false);
        assert_eq!(delivered, stored);
        let seq = spool.next_seq();
        spool
            .append(seq, NOW, &report_json(seq, 1000), NOW)
            .unwrap();
        drop(spool);

        // Nothing torn was left behind by the failed writes.
        let mut spool = Spool::open(&dir, limits(64 << 20)).unwrap();
        assert_eq!(spool.stats().corrupt, 0);
        assert_eq!(drain_all(&mut spool, NOW), vec![seq]);
    }
}
