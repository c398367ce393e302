//! Disk throughput, IOPS and utilisation per block device from
//! `/proc/diskstats`.
//!
//! Skipped: `loop*`, `ram*` and `zram*` (memory or file backed, not disks),
//! devices that never did any I/O (empty card readers, CD drives), and
//! partitions whose whole disk is listed too (the disk already counts their
//! I/O; reporting both would double every chart that sums devices).

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use lxmon_proto::Sample;

use super::{
    CollectError, Collector, Ctx, Output, counter_rate, elapsed_since, next_u64, percent, read_into,
};

/// `/proc/diskstats` always counts 512-byte sectors, whatever the device's
/// real sector size.
const SECTOR_BYTES: u64 = 512;

/// The counters of one device the agent uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DiskCounters {
    pub reads: u64,
    pub read_sectors: u64,
    pub writes: u64,
    pub write_sectors: u64,
    /// Milliseconds with at least one I/O in flight.
    pub busy_ms: u64,
}

/// One line of `/proc/diskstats`: the device name and its counters.
pub fn parse_line(line: &str) -> Option<(&str, DiskCounters)> {
    let mut f = line.split_ascii_whitespace();
    let _major = f.next()?;
    let _minor = f.next()?;
    let name = f.next()?;
    let reads = next_u64(&mut f)?;
    let _reads_merged = f.next()?;
    let read_sectors = next_u64(&mut f)?;
    let _read_ms = f.next()?;
    let writes = next_u64(&mut f)?;
    let _writes_merged = f.next()?;
    let write_sectors = next_u64(&mut f)?;
    let _write_ms = f.next()?;
    let _in_flight = f.next()?;
    let busy_ms = next_u64(&mut f)?;
    Some((
        name,
        DiskCounters {
            reads,
            read_sectors,
            writes,
            write_sectors,
            busy_ms,
        },
    ))
}

fn is_virtual(name: &str) -> bool {
    name.starts_with("loop") || name.starts_with("ram") || name.starts_with("zram")
}

/// The whole disk a partition belongs to, guessed from kernel naming:
/// `sda1` → `sda`, `nvme0n1p2` → `nvme0n1`, `mmcblk0p1` → `mmcblk0`.
/// `None` for names that are not partition-shaped.
pub fn parent_by_name(name: &str) -> Option<&str> {
    let stem = name.trim_end_matches(|c: char| c.is_ascii_digit());
    if stem.len() == name.len() || stem.is_empty() {
        return None;
    }
    // nvme0n1p2, mmcblk0p1, nbd0p1, md0p1: "p" between two numbers.
    if let Some(disk) = stem.strip_suffix('p')
        && disk.ends_with(|c: char| c.is_ascii_digit())
    {
        return Some(disk);
    }
    // sda1, vdb2, xvda1, hdc3: letters then the partition number. Names like
    // nvme0n1, dm-0 or md127 end in a digit but are whole devices.
    if stem.ends_with(|c: char| c.is_ascii_lowercase())
        && !stem.ends_with('n')
        && !stem.ends_with('-')
        && !stem.starts_with("md")
        && !stem.starts_with("dm")
        && !stem.starts_with("nbd")
        && !stem.starts_with("mmcblk")
        && !stem.starts_with("nvme")
    {
        return Some(stem);
    }
    None
}

/// The whole disk of a partition, from sysfs when it describes the device
/// (`/sys/class/block/<name>/partition` exists and the link points into the
/// disk's directory), else from the name.
fn parent_disk(sys_root: &Path, name: &str) -> Option<String> {
    let dev = sys_root.join("class/block").join(name);
    if dev.exists() {
        if !dev.join("partition").exists() {
            return None;
        }
        if let Ok(target) = std::fs::read_link(&dev)
            && let Some(parent) = target.parent().and_then(Path::file_name)
        {
            return Some(parent.to_string_lossy().into_owned());
        }
    }
    parent_by_name(name).map(str::to_owned)
}

struct DeviceState {
    counters: DiskCounters,
    /// Whole disk this device is a partition of, looked up once.
    parent: Option<String>,
    seen_in: u64,
}

/// `disk.*` series, one set per block device.
pub struct DiskIoCollector {
    buf: String,
    devices: HashMap<String, DeviceState>,
    prev_at: Option<Instant>,
    round: u64,
}

impl DiskIoCollector {
    pub fn new() -> DiskIoCollector {
        DiskIoCollector {
            buf: String::with_capacity(4096),
            devices: HashMap::new(),
            prev_at: None,
            round: 0,
        }
    }

    fn emit(&mut self, ctx: &Ctx, text: &str, out: &mut Vec<Sample>) {
        self.round += 1;
        let elapsed = elapsed_since(self.prev_at, ctx.now);
        let round = self.round;
        // First pass: refresh every device's state so the second pass knows
        // which whole disks are listed.
        let mut fresh: Vec<(&str, DiskCounters, Option<DiskCounters>)> = Vec::new();
        for (name, cur) in text.lines().filter_map(parse_line) {
            if is_virtual(name) || (cur.reads == 0 && cur.writes == 0) {
                continue;
            }
            let prev = match self.devices.get_mut(name) {
                Some(state) => {
                    let prev = (state.seen_in + 1 == round).then_some(state.counters);
                    state.counters = cur;
                    state.seen_in = round;
                    prev
                }
                None => {
                    let parent = parent_disk(&ctx.sys_root, name);
                    self.devices.insert(
                        name.to_owned(),
                        DeviceState {
                            counters: cur,
                            parent,
                            seen_in: round,
                        },
                    );
                    None
                }
            };
            fresh.push((name, cur, prev));
        }
        self.devices.retain(|_, s| s.seen_in == round);
        for (name, cur, prev) in fresh {
            let listed_parent = self.devices[name]
                .parent
                .as_deref()
                .is_some_and(|p| self.devices.contains_key(p));
            if listed_parent {
                continue;
            }
            let (Some(prev), Some(secs)) = (prev, elapsed) else {
                continue;
            };
            let sample = |metric: &str, v: f64| Sample::new(metric, v).with_label("device", name);
            let bytes = |sectors: u64| sectors.saturating_mul(SECTOR_BYTES);
            if let Some(r) = counter_rate(bytes(prev.read_sectors), bytes(cur.read_sectors), secs) {
                out.push(sample("disk.read_bytes_per_sec", r));
            }
            if let Some(r) = counter_rate(bytes(prev.write_sectors), bytes(cur.write_sectors), secs)
            {
                out.push(sample("disk.write_bytes_per_sec", r));
            }
            if let Some(r) = counter_rate(prev.reads, cur.reads, secs) {
                out.push(sample("disk.reads_per_sec", r));
            }
            if let Some(r) = counter_rate(prev.writes, cur.writes, secs) {
                out.push(sample("disk.writes_per_sec", r));
            }
            if let Some(busy) = cur.busy_ms.checked_sub(prev.busy_ms) {
                out.push(sample(
                    "disk.busy_percent",
                    percent(busy as f64, secs * 1000.0),
                ));
            }
        }
        self.prev_at = Some(ctx.now);
    }
}

impl Default for DiskIoCollector {
    fn default() -> Self {
        DiskIoCollector::new()
    }
}

impl Collector for DiskIoCollector {
    fn name(&self) -> &'static str {
        "diskio"
    }

    fn collect(&mut self, ctx: &Ctx, out: &mut Output) -> Result<(), CollectError> {
        let mut text = std::mem::take(&mut self.buf);
        let result = read_into(&ctx.proc_root.join("diskstats"), &mut text);
        if result.is_ok() {
            self.emit(ctx, &text, &mut out.samples);
        }
        self.buf = text;
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collectors::test_support::{snapshot_ctx, value};

    #[test]
    fn parses_diskstats_lines() {
        let line = " 259       0 nvme0n1 1153331 10922 79302146 214443 2318311 1492837 187620074 3110928 0 1510932 3394113 0 0 0 0 101122 68741";
        let (name, c) = parse_line(line).unwrap();
        assert_eq!(name, "nvme0n1");
        assert_eq!(c.reads, 1_153_331);
        assert_eq!(c.read_sectors, 79_302_146);
        assert_eq!(c.writes, 2_318_311);
        assert_eq!(c.write_sectors, 187_620_074);
        assert_eq!(c.busy_ms, 1_510_932);
        assert!(parse_line("8 0 sda 1 2").is_none());
    }

    #[test]
    fn partition_names_map_to_their_disk() {
        assert_eq!(parent_by_name("sda1"), Some("sda"));
        assert_eq!(parent_by_name("xvda15"), Some("xvda"));
        assert_eq!(parent_by_name("nvme0n1p2"), Some("nvme0n1"));
        assert_eq!(parent_by_name("mmcblk0p1"), Some("mmcblk0"));
        assert_eq!(parent_by_name("nvme0n1"), None);
        assert_eq!(parent_by_name("sda"), None);
        assert_eq!(parent_by_name("dm-0"), None);
        assert_eq!(parent_by_name("md127"), None);
        assert_eq!(parent_by_name("mmcblk0"), None);
        assert_eq!(parent_by_name("nbd0"), None);
    }

    #[test]
    fn sysfs_decides_partitions_when_present() {
        let sys = crate::collectors::test_support::fixtures().join("host1/sys");
        assert_eq!(parent_disk(&sys, "sdb1").as_deref(), Some("sdb"));
        assert_eq!(parent_disk(&sys, "sdb"), None);
        // Not in the sysfs tree: fall back to the name.
        assert_eq!(parent_disk(&sys, "vdc3").as_deref(), Some("vdc"));
    }

    #[test]
    fn rates_from_fixture_snapshots() {
        let base = Instant::now();
        let mut c = DiskIoCollector::new();
        let mut out = Output::default();
        c.collect(&snapshot_ctx("t0", base, 0), &mut out).unwrap();
        assert!(out.samples.is_empty(), "first collection emits no rates");

        c.collect(&snapshot_ctx("t1", base, 10), &mut out).unwrap();
        let devices: std::collections::BTreeSet<&str> = out
            .samples
            .iter()
            .map(|s| s.labels["device"].as_str())
            .collect();
        // Partitions of listed disks, loop/ram/zram and idle sr0 are skipped;
        // sysfs says sdb1 is a partition of sdb; dm-0 is a whole device.
        assert_eq!(
            devices.into_iter().collect::<Vec<_>>(),
            vec!["dm-0", "nvme0n1", "sdb"]
        );
        let nvme = |m| value(&out.samples, m, Some(("device", "nvme0n1")));
        // 20480 sectors read in 10 s = 1 MiB/s; 4096 sectors written.
        assert_eq!(nvme("disk.read_bytes_per_sec"), Some(1_048_576.0));
        assert_eq!(nvme("disk.write_bytes_per_sec"), Some(209_715.0));
        assert_eq!(nvme("disk.reads_per_sec"), Some(120.0));
        assert_eq!(nvme("disk.writes_per_sec"), Some(35.0));
        assert_eq!(nvme("disk.busy_percent"), Some(12.5));
    }

    #[test]
    fn counter_reset_yields_no_rate() {
        let base = Instant::now();
        let mut c = DiskIoCollector::new();
        let mut out = Output::default();
        // t1 then t0: every counter goes backwards, as after a driver reset.
        c.collect(&snapshot_ctx("t1", base, 0), &mut out).unwrap();
        c.collect(&snapshot_ctx("t0", base, 10), &mut out).unwrap();
        assert!(out.samples.is_empty(), "{:?}", out.samples);
    }
}
