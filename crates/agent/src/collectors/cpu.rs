//! CPU use from `/proc/stat` deltas, load averages from `/proc/loadavg`.

use std::time::Instant;

use lxmon_proto::Sample;

use super::{CollectError, Collector, Ctx, Output, percent, read_into, round2};

/// Jiffies per state, as the first eight columns of a `cpu` line. `guest`
/// and `guest_nice` are left out: the kernel already counts them in `user`
/// and `nice`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuTimes {
    pub user: u64,
    pub nice: u64,
    pub system: u64,
    pub idle: u64,
    pub iowait: u64,
    pub irq: u64,
    pub softirq: u64,
    pub steal: u64,
}

impl CpuTimes {
    fn total(&self) -> u64 {
        self.user
            + self.nice
            + self.system
            + self.idle
            + self.iowait
            + self.irq
            + self.softirq
            + self.steal
    }

    fn fields(&self) -> [u64; 8] {
        [
            self.user,
            self.nice,
            self.system,
            self.idle,
            self.iowait,
            self.irq,
            self.softirq,
            self.steal,
        ]
    }
}

/// Shares of one interval, in percent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CpuShares {
    pub usage: f64,
    pub user: f64,
    pub system: f64,
    pub iowait: f64,
    pub steal: f64,
}

/// Percentages between two readings of the same CPU; `None` when any counter
/// went backwards (CPU hot-unplugged and back, counter reset) or no time
/// passed, so no bogus value is reported.
pub fn shares(prev: &CpuTimes, cur: &CpuTimes) -> Option<CpuShares> {
    let (p, c) = (prev.fields(), cur.fields());
    if p.iter().zip(c.iter()).any(|(p, c)| c < p) {
        return None;
    }
    let total = (cur.total() - prev.total()) as f64;
    if total <= 0.0 {
        return None;
    }
    let d = |f: fn(&CpuTimes) -> u64| (f(cur) - f(prev)) as f64;
    let idle = d(|t| t.idle);
    let iowait = d(|t| t.iowait);
    let steal = d(|t| t.steal);
    Some(CpuShares {
        usage: percent(total - idle - iowait - steal, total),
        user: percent(d(|t| t.user) + d(|t| t.nice), total),
        system: percent(d(|t| t.system) + d(|t| t.irq) + d(|t| t.softirq), total),
        iowait: percent(iowait, total),
        steal: percent(steal, total),
    })
}

/// The parts of `/proc/stat` the agent uses.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatSnapshot {
    pub total: CpuTimes,
    /// Online cores, as (core number, times), in file order.
    pub cores: Vec<(u32, CpuTimes)>,
    /// Boot time, Unix seconds (`btime`).
    pub boot_time: Option<i64>,
}

/// Parses `/proc/stat` into `out`, reusing its core vector.
pub fn parse_stat(text: &str, out: &mut StatSnapshot) -> Result<(), CollectError> {
    out.cores.clear();
    out.boot_time = None;
    let mut saw_total = false;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("cpu") {
            let (id, values) = rest.split_once(' ').unwrap_or((rest, ""));
            let times = parse_times(values).ok_or_else(|| {
                CollectError::parse("/proc/stat", format!("bad cpu line {line:?}"))
            })?;
            if id.is_empty() {
                out.total = times;
                saw_total = true;
            } else {
                let core = id
                    .parse()
                    .map_err(|_| CollectError::parse("/proc/stat", format!("bad cpu id {id:?}")))?;
                out.cores.push((core, times));
            }
        } else if let Some(v) = line.strip_prefix("btime ") {
            out.boot_time = v.trim().parse().ok();
        }
    }
    if !saw_total {
        return Err(CollectError::parse("/proc/stat", "no aggregate cpu line"));
    }
    Ok(())
}

fn parse_times(values: &str) -> Option<CpuTimes> {
    let mut f = values.split_ascii_whitespace().map(|v| v.parse::<u64>());
    let mut next = || f.next().unwrap_or(Ok(0)).ok();
    // Kernels before 2.6.11 lack steal; missing trailing columns read as 0.
    Some(CpuTimes {
        user: next()?,
        nice: next()?,
        system: next()?,
        idle: next()?,
        iowait: next()?,
        irq: next()?,
        softirq: next()?,
        steal: next()?,
    })
}

/// Load averages from `/proc/loadavg`.
pub fn parse_loadavg(text: &str) -> Result<[f64; 3], CollectError> {
    let mut f = text.split_ascii_whitespace().map(str::parse::<f64>);
    let mut next = || match f.next() {
        Some(Ok(v)) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(CollectError::parse(
            "/proc/loadavg",
            format!("unexpected content {text:?}"),
        )),
    };
    Ok([next()?, next()?, next()?])
}

/// `cpu.*` and `load.*` series.
pub struct CpuCollector {
    buf: String,
    prev: Option<(Instant, StatSnapshot)>,
    cur: StatSnapshot,
    core_labels: Vec<String>,
}

impl CpuCollector {
    pub fn new() -> CpuCollector {
        CpuCollector {
            buf: String::with_capacity(4096),
            prev: None,
            cur: StatSnapshot::default(),
            core_labels: Vec::new(),
        }
    }

    fn core_label(&mut self, core: u32) -> String {
        let i = core as usize;
        while self.core_labels.len() <= i {
            self.core_labels.push(self.core_labels.len().to_string());
        }
        self.core_labels[i].clone()
    }

    /// Emits the samples for the snapshot in `self.cur` and keeps it as the
    /// previous one.
    fn emit(&mut self, now: Instant, out: &mut Output) {
        let s = &mut out.samples;
        s.push(Sample::new("cpu.cores_count", self.cur.cores.len() as f64));
        if let Some((prev_at, prev)) = &self.prev
            && now > *prev_at
        {
            if let Some(sh) = shares(&prev.total, &self.cur.total) {
                s.push(Sample::new("cpu.usage_percent", sh.usage));
                s.push(Sample::new("cpu.user_percent", sh.user));
                s.push(Sample::new("cpu.system_percent", sh.system));
                s.push(Sample::new("cpu.iowait_percent", sh.iowait));
                s.push(Sample::new("cpu.steal_percent", sh.steal));
            }
            let mut per_core = Vec::with_capacity(self.cur.cores.len());
            for (i, (core, times)) in self.cur.cores.iter().enumerate() {
                // Cores are listed in the same order each time unless one was
                // hot-plugged; only then search.
                let before = match prev.cores.get(i) {
                    Some((c, t)) if c == core => Some(t),
                    _ => prev.cores.iter().find(|(c, _)| c == core).map(|(_, t)| t),
                };
                if let Some(sh) = before.and_then(|b| shares(b, times)) {
                    per_core.push((*core, sh.usage));
                }
            }
            for (core, usage) in per_core {
                let label = self.core_label(core);
                out.samples
                    .push(Sample::new("cpu.core.usage_percent", usage).with_label("core", label));
            }
        }
        match &mut self.prev {
            Some((at, snap)) => {
                *at = now;
                std::mem::swap(snap, &mut self.cur);
            }
            None => self.prev = Some((now, std::mem::take(&mut self.cur))),
        }
    }
}

impl Default for CpuCollector {
    fn default() -> Self {
        CpuCollector::new()
    }
}

impl Collector for CpuCollector {
    fn name(&self) -> &'static str {
        "cpu"
    }

    fn collect(&mut self, ctx: &Ctx, out: &mut Output) -> Result<(), CollectError> {
        read_into(&ctx.proc_root.join("stat"), &mut self.buf)?;
        parse_stat(&self.buf, &mut self.cur)?;
        self.emit(ctx.now, out);

        read_into(&ctx.proc_root.join("loadavg"), &mut self.buf)?;
        let [l1, l5, l15] = parse_loadavg(&self.buf)?;
        out.samples.push(Sample::new("load.1m", round2(l1)));
        out.samples.push(Sample::new("load.5m", round2(l5)));
        out.samples.push(Sample::new("load.15m", round2(l15)));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::test_support::{fixtures, snapshot_ctx, value};

    #[test]
    fn parses_stat_fixture() {
        let text = std::fs::read_to_string(fixtures().join("host1/t0/proc/stat")).unwrap();
        let mut snap = StatSnapshot::default();
        parse_stat(&text, &mut snap).unwrap();
        assert_eq!(snap.cores.len(), 4);
        assert_eq!(snap.cores[3].0, 3);
        assert_eq!(
            snap.total,
            CpuTimes {
                user: 1_202_411,
                nice: 1_833,
                system: 391_010,
                idle: 38_211_964,
                iowait: 41_220,
                irq: 0,
                softirq: 20_134,
                steal: 3_102,
            }
        );
        assert_eq!(snap.boot_time, Some(1_699_900_000));
    }

    #[test]
    fn parses_old_kernel_lines_without_steal() {
        let mut snap = StatSnapshot::default();
        parse_stat("cpu  10 0 5 100 1 0 0\ncpu0 10 0 5 100 1 0 0\n", &mut snap).unwrap();
        assert_eq!(snap.total.steal, 0);
        assert_eq!(snap.total.idle, 100);
        assert!(parse_stat("intr 1 2 3\n", &mut snap).is_err());
        assert!(parse_stat("cpu  x y z\n", &mut snap).is_err());
    }

    #[test]
    fn parses_loadavg() {
        let text = std::fs::read_to_string(fixtures().join("host1/t0/proc/loadavg")).unwrap();
        assert_eq!(parse_loadavg(&text).unwrap(), [0.52, 0.58, 0.61]);
        assert!(parse_loadavg("").is_err());
    }

    #[test]
    fn shares_sum_up_and_refuse_backwards_counters() {
        let a = CpuTimes {
            user: 100,
            nice: 0,
            system: 50,
            idle: 800,
            iowait: 20,
            irq: 5,
            softirq: 5,
            steal: 20,
        };
        let b = CpuTimes {
            user: 160,
            nice: 10,
            system: 70,
            idle: 880,
            iowait: 30,
            irq: 5,
            softirq: 5,
            steal: 40,
        };
        // Deltas: user 60 nice 10 system 20 idle 80 iowait 10 steal 20 = 200.
        let sh = shares(&a, &b).unwrap();
        assert_eq!(sh.user, 35.0);
        assert_eq!(sh.system, 10.0);
        assert_eq!(sh.iowait, 5.0);
        assert_eq!(sh.steal, 10.0);
        assert_eq!(sh.usage, 45.0);
        // Counter reset: the later reading is smaller.
        assert_eq!(shares(&b, &a), None);
        // No time passed.
        assert_eq!(shares(&a, &a), None);
    }

    #[test]
    fn first_collection_has_no_rates_second_has_them() {
        let base = Instant::now();
        let mut c = CpuCollector::new();
        let mut out = Output::default();
        c.collect(&snapshot_ctx("t0", base, 0), &mut out).unwrap();
        assert_eq!(value(&out.samples, "cpu.cores_count", None), Some(4.0));
        assert_eq!(value(&out.samples, "load.1m", None), Some(0.52));
        assert_eq!(value(&out.samples, "cpu.usage_percent", None), None);
        assert!(
            out.samples
                .iter()
                .all(|s| s.name != "cpu.core.usage_percent")
        );

        let mut out = Output::default();
        c.collect(&snapshot_ctx("t1", base, 10), &mut out).unwrap();
        // t1 - t0 totals: user 312 nice 0 system 88 idle 3512 iowait 40
        // irq 0 softirq 16 steal 32 → 4000 jiffies.
        assert_eq!(value(&out.samples, "cpu.usage_percent", None), Some(10.4));
        assert_eq!(value(&out.samples, "cpu.user_percent", None), Some(7.8));
        assert_eq!(value(&out.samples, "cpu.system_percent", None), Some(2.6));
        assert_eq!(value(&out.samples, "cpu.iowait_percent", None), Some(1.0));
        assert_eq!(value(&out.samples, "cpu.steal_percent", None), Some(0.8));
        assert_eq!(
            value(&out.samples, "cpu.core.usage_percent", Some(("core", "0"))),
            Some(30.0)
        );
        let cores = out
            .samples
            .iter()
            .filter(|s| s.name == "cpu.core.usage_percent")
            .count();
        assert_eq!(cores, 4);
    }

    #[test]
    fn reading_the_real_host() {
        let mut c = CpuCollector::new();
        let mut out = Output::default();
        c.collect(&Ctx::host(), &mut out).unwrap();
        let cores = value(&out.samples, "cpu.cores_count", None).unwrap();
        assert!(cores >= 1.0);
    }
}
