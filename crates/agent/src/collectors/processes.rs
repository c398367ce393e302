//! Process count and the top processes by CPU and by memory, from
//! `/proc/[pid]/stat`.
//!
//! This is the most expensive collector (one file per process), so it reads
//! every `stat` file into one reused buffer, keeps the command name in a
//! fixed array instead of a `String`, and allocates names only for the few
//! processes that make a top list.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd};
use std::time::Instant;

use lxmon_proto::{ProcessInfo, Sample, TopProcesses};

use super::{CollectError, Collector, Ctx, Output, elapsed_since, round2};

/// How many processes each top list holds.
pub const TOP_N: usize = 5;

/// The kernel's command name limit (`TASK_COMM_LEN` − 1).
const COMM_LEN: usize = 15;

/// The fields of `/proc/[pid]/stat` the agent uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStat {
    comm: [u8; COMM_LEN],
    comm_len: u8,
    /// utime + stime, in clock ticks.
    pub cpu_ticks: u64,
    /// Start time after boot, in clock ticks: tells a reused pid apart.
    pub start_ticks: u64,
    pub rss_pages: u64,
}

impl ProcStat {
    pub fn name(&self) -> String {
        String::from_utf8_lossy(&self.comm[..self.comm_len as usize]).into_owned()
    }
}

/// Parses one `/proc/[pid]/stat`. The command name sits in parentheses and
/// may itself contain spaces and parentheses, so fields are counted from the
/// last `)`.
pub fn parse_stat(text: &[u8]) -> Option<ProcStat> {
    let open = text.iter().position(|&b| b == b'(')?;
    let close = text.iter().rposition(|&b| b == b')')?;
    if close < open {
        return None;
    }
    let comm_bytes = &text[open + 1..close];
    let mut comm = [0u8; COMM_LEN];
    let comm_len = comm_bytes.len().min(COMM_LEN);
    comm[..comm_len].copy_from_slice(&comm_bytes[..comm_len]);

    let rest = std::str::from_utf8(&text[close + 1..]).ok()?;
    // After the name: state(0) ppid pgrp session tty_nr tpgid flags minflt
    // cminflt majflt cmajflt utime(11) stime(12) cutime cstime priority nice
    // num_threads itrealvalue starttime(19) vsize rss(21).
    let mut f = rest.split_ascii_whitespace();
    let utime: u64 = f.nth(11)?.parse().ok()?;
    let stime: u64 = f.next()?.parse().ok()?;
    let start_ticks: u64 = f.nth(6)?.parse().ok()?;
    let rss: i64 = f.nth(1)?.parse().ok()?;
    Some(ProcStat {
        comm,
        comm_len: comm_len as u8,
        cpu_ticks: utime + stime,
        start_ticks,
        rss_pages: rss.max(0) as u64,
    })
}

#[derive(Clone, Copy)]
struct Candidate {
    pid: u32,
    stat: ProcStat,
    /// CPU ticks used since the previous collection, `None` when unknown
    /// (first sight of this process).
    ticks_delta: Option<u64>,
}

/// `system.processes_count` and the top lists.
pub struct ProcessCollector {
    /// A stat line is a few hundred bytes; 4 KiB always holds it.
    stat_buf: Box<[u8; 4096]>,
    path_buf: Vec<u8>,
    candidates: Vec<Candidate>,
    /// pid → (cpu ticks, start ticks) at the previous collection.
    prev: HashMap<u32, (u64, u64)>,
    next: HashMap<u32, (u64, u64)>,
    prev_at: Option<Instant>,
    /// Full scans done; the first two run back to back so a CPU list exists
    /// after the second report.
    scans: u32,
    clock_ticks: f64,
    page_size: u64,
}

/// How often the per-process scan runs. Reading every `/proc/<pid>/stat`
/// is most of the agent's CPU (the kernel formats each line; ~13 µs a
/// process here), while top lists change slowly; between scans only the
/// process count is refreshed and the report carries no top lists (the
/// server keeps showing the last ones).
pub const SCAN_EVERY: std::time::Duration = std::time::Duration::from_secs(30);

impl ProcessCollector {
    pub fn new() -> ProcessCollector {
        // SAFETY: sysconf has no preconditions.
        let (ticks, page) = unsafe {
            (
                libc::sysconf(libc::_SC_CLK_TCK),
                libc::sysconf(libc::_SC_PAGESIZE),
            )
        };
        ProcessCollector {
            stat_buf: Box::new([0; 4096]),
            path_buf: Vec::with_capacity(32),
            candidates: Vec::new(),
            prev: HashMap::new(),
            next: HashMap::new(),
            prev_at: None,
            scans: 0,
            clock_ticks: if ticks > 0 { ticks as f64 } else { 100.0 },
            page_size: if page > 0 { page as u64 } else { 4096 },
        }
    }

    /// Reads `<pid>/stat` relative to the open proc directory with one
    /// `openat(2)` and one `read(2)`: procfs hands over the whole line in a
    /// single read, so there is no path walk from `/` and no second read to
    /// find EOF. (The kernel generating the line still dominates: measured
    /// within 5 % of a C loop doing open/read/close.)
    fn read_stat(&mut self, proc_dir: &File, pid: u32) -> Option<ProcStat> {
        use std::io::Write;
        self.path_buf.clear();
        let _ = write!(self.path_buf, "{pid}/stat\0");
        // SAFETY: path_buf is NUL-terminated and outlives the call; the
        // returned descriptor is owned by the File below and closed by it.
        let file = unsafe {
            let fd = libc::openat(
                proc_dir.as_raw_fd(),
                self.path_buf.as_ptr().cast(),
                libc::O_RDONLY | libc::O_CLOEXEC,
            );
            if fd < 0 {
                // The process exited after the listing: not an error.
                return None;
            }
            File::from_raw_fd(fd)
        };
        let n = (&file).read(&mut self.stat_buf[..]).ok()?;
        parse_stat(&self.stat_buf[..n])
    }

    fn info(&self, c: &Candidate, elapsed: Option<f64>) -> ProcessInfo {
        let cpu_percent = match (c.ticks_delta, elapsed) {
            (Some(d), Some(secs)) => round2(d as f64 / self.clock_ticks / secs * 100.0),
            _ => 0.0,
        };
        ProcessInfo {
            pid: c.pid,
            name: c.stat.name(),
            cpu_percent,
            rss_bytes: c.stat.rss_pages * self.page_size,
        }
    }
}

impl Default for ProcessCollector {
    fn default() -> Self {
        ProcessCollector::new()
    }
}

impl Collector for ProcessCollector {
    fn name(&self) -> &'static str {
        "processes"
    }

    fn collect(&mut self, ctx: &Ctx, out: &mut Output) -> Result<(), CollectError> {
        let read_err = |source| CollectError::Read {
            path: ctx.proc_root.clone(),
            source,
        };
        let due = self.scans < 2
            || elapsed_since(self.prev_at, ctx.now).is_none_or(|e| e >= SCAN_EVERY.as_secs_f64());
        if !due {
            let count = std::fs::read_dir(&ctx.proc_root)
                .map_err(read_err)?
                .flatten()
                .filter(|e| {
                    e.file_name()
                        .to_str()
                        .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
                })
                .count();
            out.samples
                .push(Sample::new("system.processes_count", count as f64));
            return Ok(());
        }
        self.scans += 1;
        let proc_dir = File::open(&ctx.proc_root).map_err(read_err)?;
        let entries = std::fs::read_dir(&ctx.proc_root).map_err(read_err)?;
        self.candidates.clear();
        self.next.clear();
        let mut count = 0u64;
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(pid) = name.to_str().and_then(|n| n.parse::<u32>().ok()) else {
                continue;
            };
            count += 1;
            let Some(stat) = self.read_stat(&proc_dir, pid) else {
                continue;
            };
            let ticks_delta = match self.prev.get(&pid) {
                // Same pid, same start time: the same process.
                Some(&(ticks, start)) if start == stat.start_ticks => {
                    stat.cpu_ticks.checked_sub(ticks)
                }
                _ => None,
            };
            self.next.insert(pid, (stat.cpu_ticks, stat.start_ticks));
            self.candidates.push(Candidate {
                pid,
                stat,
                ticks_delta,
            });
        }
        std::mem::swap(&mut self.prev, &mut self.next);
        let elapsed = elapsed_since(self.prev_at, ctx.now);
        self.prev_at = Some(ctx.now);

        out.samples
            .push(Sample::new("system.processes_count", count as f64));

        // Ties broken by pid so the lists are stable between runs.
        let by_cpu: Vec<Candidate> = if elapsed.is_some() {
            let mut busy: Vec<Candidate> = self
                .candidates
                .iter()
                .filter(|c| c.ticks_delta.unwrap_or(0) > 0)
                .copied()
                .collect();
            busy.sort_unstable_by(|a, b| b.ticks_delta.cmp(&a.ticks_delta).then(a.pid.cmp(&b.pid)));
            busy.truncate(TOP_N);
            busy
        } else {
            Vec::new()
        };
        let by_memory = {
            let n = TOP_N.min(self.candidates.len());
            let cmp = |a: &Candidate, b: &Candidate| {
                b.stat
                    .rss_pages
                    .cmp(&a.stat.rss_pages)
                    .then(a.pid.cmp(&b.pid))
            };
            if n > 0 && n < self.candidates.len() {
                self.candidates.select_nth_unstable_by(n - 1, cmp);
            }
            let mut top: Vec<Candidate> = self.candidates[..n]
                .iter()
                .filter(|c| c.stat.rss_pages > 0)
                .copied()
                .collect();
            top.sort_unstable_by(cmp);
            top
        };
        out.processes = Some(TopProcesses {
            by_cpu: by_cpu.iter().map(|c| self.info(c, elapsed)).collect(),
            by_memory: by_memory.iter().map(|c| self.info(c, elapsed)).collect(),
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::test_support::{fixtures, snapshot_ctx, value};

    #[test]
    fn full_scans_are_spaced_but_the_count_is_always_fresh() {
        let mut c = ProcessCollector::new();
        let mut outputs = Vec::new();
        for _ in 0..3 {
            let mut out = Output::default();
            c.collect(&Ctx::host(), &mut out).unwrap();
            outputs.push(out);
        }
        assert!(outputs[0].processes.is_some() && outputs[1].processes.is_some());
        assert!(
            outputs[2].processes.is_none(),
            "third scan within {SCAN_EVERY:?}"
        );
        for out in &outputs {
            let count = value(&out.samples, "system.processes_count", None).unwrap();
            assert!(count > 1.0);
        }
    }

    #[test]
    fn parses_stat_with_odd_names() {
        let text = std::fs::read(fixtures().join("host1/t0/proc/4242/stat")).unwrap();
        let s = parse_stat(&text).unwrap();
        assert_eq!(s.name(), "Web Content (x)");
        assert_eq!(s.cpu_ticks, 15_000 + 2_500);
        assert_eq!(s.start_ticks, 3_456_789);
        assert_eq!(s.rss_pages, 98_304);

        let kthread = b"2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 3 0 0 20 0 1 0 2 0 0 18446744073709551615 0 0 0 0 0 0 0 2147483647 0 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0";
        let s = parse_stat(kthread).unwrap();
        assert_eq!(
            (s.name().as_str(), s.cpu_ticks, s.rss_pages),
            ("kthreadd", 3, 0)
        );
        assert!(parse_stat(b"12 (truncated").is_none());
        assert!(parse_stat(b"").is_none());
    }

    #[test]
    fn long_names_are_cut_to_the_kernel_limit() {
        let text =
            b"7 (a-name-much-longer-than-fifteen) S 1 7 7 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 50 0 10";
        assert_eq!(parse_stat(text).unwrap().name(), "a-name-much-lon");
    }

    #[test]
    fn top_lists_from_fixture_snapshots() {
        let base = Instant::now();
        let mut c = ProcessCollector::new();
        let mut out = Output::default();
        c.collect(&snapshot_ctx("t0", base, 0), &mut out).unwrap();
        assert_eq!(
            value(&out.samples, "system.processes_count", None),
            Some(8.0)
        );
        let top = out.processes.take().unwrap();
        assert!(
            top.by_cpu.is_empty(),
            "no CPU deltas on the first collection"
        );
        let mem: Vec<u32> = top.by_memory.iter().map(|p| p.pid).collect();
        assert_eq!(mem, vec![4242, 1500, 880, 1, 2001]);

        let mut out = Output::default();
        c.collect(&snapshot_ctx("t1", base, 10), &mut out).unwrap();
        let top = out.processes.unwrap();
        let cpu: Vec<(u32, f64)> = top.by_cpu.iter().map(|p| (p.pid, p.cpu_percent)).collect();
        // Ticks are 100/s: 4242 used 1500 ticks in 10 s = 150 % of a core.
        // 2001 exited and its pid was reused (new start time): no delta.
        let ticks = c.clock_ticks;
        let pct = |t: f64| round2(t / ticks / 10.0 * 100.0);
        assert_eq!(
            cpu,
            vec![
                (4242, pct(1500.0)),
                (1500, pct(250.0)),
                (880, pct(40.0)),
                (1, pct(3.0))
            ]
        );
        assert_eq!(top.by_memory[0].rss_bytes, 98_304 * c.page_size);
        assert_eq!(top.by_memory[0].name, "Web Content (x)");
    }

    #[test]
    fn counts_the_real_processes() {
        let mut c = ProcessCollector::new();
        let mut out = Output::default();
        c.collect(&Ctx::host(), &mut out).unwrap();
        let count = value(&out.samples, "system.processes_count", None).unwrap();
        assert!(count >= 1.0);
        let top = out.processes.unwrap();
        assert!(!top.by_memory.is_empty() && top.by_memory.len() <= TOP_N);
        assert!(
            top.by_memory
                .windows(2)
                .all(|w| w[0].rss_bytes >= w[1].rss_bytes)
        );
    }
}
