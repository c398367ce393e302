//! Memory and swap from `/proc/meminfo`.

use lxmon_proto::Sample;

use super::{CollectError, Collector, Ctx, Output, percent, read_into};

/// The `/proc/meminfo` fields the agent reports, in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemInfo {
    pub total: u64,
    pub free: u64,
    /// `MemAvailable`; kernels before 3.14 lack it and get an estimate.
    pub available: u64,
    pub buffers: u64,
    pub cached: u64,
    pub sreclaimable: u64,
    pub swap_total: u64,
    pub swap_free: u64,
}

/// Parses `/proc/meminfo` (values in kB).
pub fn parse_meminfo(text: &str) -> Result<MemInfo, CollectError> {
    let mut m = MemInfo::default();
    let (mut saw_total, mut saw_free, mut available) = (false, false, None);
    for line in text.lines() {
        let Some((key, rest)) = line.split_once(':') else {
            continue;
        };
        let slot = match key {
            "MemTotal" => {
                saw_total = true;
                &mut m.total
            }
            "MemFree" => {
                saw_free = true;
                &mut m.free
            }
            "MemAvailable" => available.insert(0),
            "Buffers" => &mut m.buffers,
            "Cached" => &mut m.cached,
            "SReclaimable" => &mut m.sreclaimable,
            "SwapTotal" => &mut m.swap_total,
            "SwapFree" => &mut m.swap_free,
            _ => continue,
        };
        let rest = rest.trim();
        let (number, unit) = rest.split_once(' ').unwrap_or((rest, ""));
        let kb: u64 = number
            .parse()
            .map_err(|_| CollectError::parse("/proc/meminfo", format!("bad value in {line:?}")))?;
        *slot = if unit.trim() == "kB" { kb * 1024 } else { kb };
    }
    if !saw_total || !saw_free {
        return Err(CollectError::parse(
            "/proc/meminfo",
            "MemTotal or MemFree missing",
        ));
    }
    // What `free` estimated before the kernel computed MemAvailable itself.
    m.available = available
        .unwrap_or(m.free + m.buffers + m.cached)
        .min(m.total);
    Ok(m)
}

/// Pushes the `mem.*` and `swap.*` series for one reading.
pub fn push_samples(m: &MemInfo, out: &mut Vec<Sample>) {
    let used = m.total - m.available;
    out.push(Sample::new("mem.total_bytes", m.total as f64));
    out.push(Sample::new("mem.used_bytes", used as f64));
    out.push(Sample::new("mem.free_bytes", m.free as f64));
    out.push(Sample::new("mem.available_bytes", m.available as f64));
    out.push(Sample::new(
        "mem.cached_bytes",
        (m.cached + m.sreclaimable) as f64,
    ));
    out.push(Sample::new("mem.buffers_bytes", m.buffers as f64));
    out.push(Sample::new(
        "mem.used_percent",
        percent(used as f64, m.total as f64),
    ));
    out.push(Sample::new("swap.total_bytes", m.swap_total as f64));
    out.push(Sample::new(
        "swap.used_bytes",
        m.swap_total.saturating_sub(m.swap_free) as f64,
    ));
}

/// `mem.*` and `swap.*` series.
pub struct MemoryCollector {
    buf: String,
}

impl MemoryCollector {
    pub fn new() -> MemoryCollector {
        MemoryCollector {
            buf: String::with_capacity(2048),
        }
    }
}

impl Default for MemoryCollector {
    fn default() -> Self {
        MemoryCollector::new()
    }
}

impl Collector for MemoryCollector {
    fn name(&self) -> &'static str {
        "memory"
    }

    fn collect(&mut self, ctx: &Ctx, out: &mut Output) -> Result<(), CollectError> {
        read_into(&ctx.proc_root.join("meminfo"), &mut self.buf)?;
        let m = parse_meminfo(&self.buf)?;
        push_samples(&m, &mut out.samples);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::test_support::{fixtures, value};

    #[test]
    fn parses_meminfo_fixture() {
        let text = std::fs::read_to_string(fixtures().join("host1/t0/proc/meminfo")).unwrap();
        let m = parse_meminfo(&text).unwrap();
        assert_eq!(m.total, 16_318_424 * 1024);
        assert_eq!(m.free, 1_203_520 * 1024);
        assert_eq!(m.available, 9_874_212 * 1024);
        assert_eq!(m.buffers, 402_112 * 1024);
        assert_eq!(m.cached, 7_771_380 * 1024);
        assert_eq!(m.sreclaimable, 612_904 * 1024);
        assert_eq!(m.swap_total, 2_097_148 * 1024);
        assert_eq!(m.swap_free, 1_835_004 * 1024);

        let mut out = Vec::new();
        push_samples(&m, &mut out);
        let used = (16_318_424u64 - 9_874_212) * 1024;
        assert_eq!(value(&out, "mem.used_bytes", None), Some(used as f64));
        assert_eq!(value(&out, "mem.used_percent", None), Some(39.49));
        assert_eq!(
            value(&out, "mem.cached_bytes", None),
            Some(((7_771_380u64 + 612_904) * 1024) as f64)
        );
        assert_eq!(
            value(&out, "swap.used_bytes", None),
            Some(((2_097_148u64 - 1_835_004) * 1024) as f64)
        );
    }

    #[test]
    fn estimates_available_on_old_kernels() {
        let text = "MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 50 kB\nCached: 200 kB\n";
        let m = parse_meminfo(text).unwrap();
        assert_eq!(m.available, 350 * 1024);
        assert!(parse_meminfo("Buffers: 1 kB\n").is_err());
        assert!(parse_meminfo("MemTotal: lots kB\nMemFree: 1 kB\n").is_err());
    }

    #[test]
    fn real_meminfo_matches_an_independent_read() {
        let text = std::fs::read_to_string("/proc/meminfo").unwrap();
        let total_kb: u64 = text
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap();
        let mut c = MemoryCollector::new();
        let mut out = Output::default();
        c.collect(&Ctx::host(), &mut out).unwrap();
        assert_eq!(
            value(&out.samples, "mem.total_bytes", None),
            Some((total_kb * 1024) as f64)
        );
    }
}
