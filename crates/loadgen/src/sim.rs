//! Simulated hosts: a seeded shape (cores, memory, mounts, disks,
//! interfaces, processes) and value dynamics that behave like what
//! `lxmon-agent` reads from a real machine.
//!
//! The simulation works on the same raw quantities the kernel exposes
//! (CPU ticks per core, pages, filesystem blocks, I/O and packet counters)
//! and derives the reported values the way the agent does: percentages are
//! shares of ticks rounded to 2 decimals, rates are counter deltas over the
//! elapsed time rounded to integers, sizes are whole kB or blocks. So the
//! reports have real hosts' texture: quantised CPU shares, idle disks that
//! report 0 for hours, filesystems that grow by whole blocks, counters that
//! never move, and a few values that really are noisy.

use lxmon_proto::{
    HostIdentity, HostInfo, PROTOCOL_VERSION, ProcessInfo, Report, Sample, TopProcesses,
};

use crate::rng::Rng;

/// The collectors of the real agent, each reporting an error counter.
const COLLECTORS: [&str; 7] = [
    "cpu",
    "memory",
    "filesystem",
    "diskio",
    "network",
    "processes",
    "system",
];
/// The agent re-sends host info at least this often.
const INFO_RESEND_MS: i64 = 3_600_000;
const KIB: u64 = 1024;
const GIB_KB: u64 = 1024 * 1024;
const BLOCK: u64 = 4096;
const SECTOR: u64 = 512;
const PAGE: u64 = 4096;
const TOP_N: usize = 5;

/// `x` rounded to 2 decimals, as the agent rounds percentages and loads.
pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// `part / whole` in percent, clamped and rounded like the agent's.
pub fn percent(part: f64, whole: f64) -> f64 {
    if whole <= 0.0 {
        return 0.0;
    }
    round2((part / whole * 100.0).clamp(0.0, 100.0))
}

/// Counter delta per second rounded to an integer, like the agent's rates.
fn rate(delta: u64, elapsed_s: f64) -> f64 {
    (delta as f64 / elapsed_s).round()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsType {
    Ext4,
    Xfs,
    Btrfs,
    Vfat,
}

impl FsType {
    /// Filesystems without a fixed inode table report none (the agent then
    /// omits the inode series).
    pub fn has_inodes(self) -> bool {
        matches!(self, FsType::Ext4 | FsType::Xfs)
    }
}

/// What a host looks like: drawn once per agent from the seeded RNG.
#[derive(Debug, Clone, PartialEq)]
pub struct HostShape {
    pub hostname: String,
    pub machine_id: String,
    pub cores: u32,
    pub mem_total_kb: u64,
    pub swap_total_kb: u64,
    pub mounts: Vec<(String, FsType)>,
    pub disks: Vec<String>,
    pub ifaces: Vec<String>,
    pub virtual_machine: bool,
    pub os: String,
    pub kernel: String,
    pub arch: String,
}

impl HostShape {
    /// Series per report for this shape.
    pub fn series_count(&self) -> usize {
        let fs: usize = self
            .mounts
            .iter()
            .map(|(_, t)| if t.has_inodes() { 7 } else { 4 })
            .sum();
        // cpu: cores_count + 5 shares + per core; load 3; mem 7 + swap 2;
        // disks 5 each; ifaces 8 each; processes, uptime; collector errors.
        6 + self.cores as usize
            + 3
            + 9
            + fs
            + 5 * self.disks.len()
            + 8 * self.ifaces.len()
            + 2
            + COLLECTORS.len()
    }
}

const ROLES: [&str; 10] = [
    "web", "api", "db", "cache", "worker", "build", "k8s-node", "lb", "mail", "files",
];
const CORES: [u32; 15] = [2, 2, 4, 4, 4, 8, 8, 8, 12, 16, 16, 24, 32, 48, 64];
const EXTRA_MOUNTS: [&str; 10] = [
    "/boot",
    "/boot/efi",
    "/home",
    "/var",
    "/var/log",
    "/var/lib/docker",
    "/srv",
    "/data",
    "/opt",
    "/mnt/backup",
];
const OSES: [(&str, &str); 6] = [
    ("Debian GNU/Linux 12 (bookworm)", "6.1.0-27-amd64"),
    ("Debian GNU/Linux 11 (bullseye)", "5.10.0-32-amd64"),
    ("Ubuntu 22.04.4 LTS", "5.15.0-119-generic"),
    ("Ubuntu 24.04.1 LTS", "6.8.0-45-generic"),
    (
        "Rocky Linux 9.4 (Blue Onyx)",
        "5.14.0-427.13.1.el9_4.x86_64",
    ),
    (
        "AlmaLinux 8.10 (Cerulean Leopard)",
        "4.18.0-553.el8_10.x86_64",
    ),
];
const PROCESS_NAMES: [&str; 24] = [
    "systemd",
    "sshd",
    "nginx",
    "postgres",
    "java",
    "node",
    "python3",
    "dockerd",
    "containerd",
    "redis-server",
    "mysqld",
    "php-fpm8.2",
    "rsyslogd",
    "cron",
    "systemd-journal",
    "kubelet",
    "prometheus",
    "haproxy",
    "gunicorn",
    "ruby",
    "beam.smp",
    "lxmon-agent",
    "kworker/0:1-events",
    "chronyd",
];

impl HostShape {
    pub fn generate(rng: &mut Rng, index: usize) -> HostShape {
        let role = rng.pick(&ROLES);
        let hostname = format!("{role}-{index:05}.dc{}.example.net", rng.range(1, 3));
        let machine_id = format!("{:016x}{:016x}", rng.next_u64(), rng.next_u64());
        let cores = *rng.pick(&CORES);
        let gib_per_core = *rng.pick(&[1u64, 2, 2, 4, 4, 8]);
        let mem_gib = (cores as u64 * gib_per_core).max(2);
        // The kernel keeps 1.5–4 % for itself: MemTotal is a little less.
        let mem_total_kb = mem_gib * GIB_KB - (mem_gib * GIB_KB) * rng.range(15, 40) / 1000;
        let swap_total_kb = if rng.chance(0.45) {
            0
        } else {
            rng.range(1, 8) * GIB_KB - 4
        };
        let virtual_machine = rng.chance(0.7);
        let mut mounts = vec![(
            "/".to_owned(),
            if rng.chance(0.7) {
                FsType::Ext4
            } else {
                FsType::Xfs
            },
        )];
        let extra = rng.range(1, 5) as usize;
        for m in rng.sample(&EXTRA_MOUNTS, extra) {
            let t = match m {
                "/boot/efi" => FsType::Vfat,
                "/boot" => FsType::Ext4,
                _ if rng.chance(0.15) => FsType::Btrfs,
                _ if rng.chance(0.4) => FsType::Xfs,
                _ => FsType::Ext4,
            };
            mounts.push((m.to_owned(), t));
        }
        let n_disks = rng.range(1, 4) as usize;
        let disks: Vec<String> = if virtual_machine {
            ["vda", "vdb", "vdc", "vdd"][..n_disks]
                .iter()
                .map(|s| s.to_string())
                .collect()
        } else if rng.chance(0.5) {
            (0..n_disks).map(|i| format!("nvme{i}n1")).collect()
        } else {
            ["sda", "sdb", "sdc", "sdd"][..n_disks]
                .iter()
                .map(|s| s.to_string())
                .collect()
        };
        let primary = if virtual_machine {
            *rng.pick(&["eth0", "ens3", "ens18"])
        } else {
            *rng.pick(&["eno1", "enp3s0", "eth0"])
        };
        let mut ifaces = vec![primary.to_owned()];
        let n_ifaces = rng.range(1, 4) as usize;
        for extra in rng.sample(
            &["eth1", "ens4", "bond0", "docker0", "wg0", "br0"],
            n_ifaces - 1,
        ) {
            ifaces.push(extra.to_owned());
        }
        let (os, kernel) = rng.pick(&OSES);
        let arch = if rng.chance(0.1) { "aarch64" } else { "x86_64" };
        HostShape {
            hostname,
            machine_id,
            cores,
            mem_total_kb,
            swap_total_kb,
            mounts,
            disks,
            ifaces,
            virtual_machine,
            os: os.to_string(),
            kernel: if arch == "aarch64" {
                kernel
                    .replace("amd64", "arm64")
                    .replace("x86_64", "aarch64")
            } else {
                kernel.to_string()
            },
            arch: arch.to_owned(),
        }
    }
}

/// A mean-reverting random walk in `[lo, hi]`.
#[derive(Debug, Clone)]
struct Walk {
    value: f64,
    mean: f64,
    pull: f64,
    sigma: f64,
    lo: f64,
    hi: f64,
}

impl Walk {
    fn new(mean: f64, pull: f64, sigma: f64, lo: f64, hi: f64) -> Walk {
        Walk {
            value: mean,
            mean,
            pull,
            sigma,
            lo,
            hi,
        }
    }

    /// Advances by `steps` (elapsed seconds / 10, so the dynamics do not
    /// depend on the interval).
    fn step(&mut self, rng: &mut Rng, steps: f64) -> f64 {
        let pull = 1.0 - (1.0 - self.pull).powf(steps);
        self.value += pull * (self.mean - self.value) + self.sigma * steps.sqrt() * rng.normal();
        self.value = self.value.clamp(self.lo, self.hi);
        self.value
    }
}

#[derive(Debug, Clone)]
struct Mount {
    name: String,
    fs: FsType,
    total_blocks: u64,
    reserved_blocks: u64,
    used_blocks: u64,
    /// Blocks written per second on average (0: never changes).
    growth_blocks_s: f64,
    inodes_total: u64,
    inodes_used: u64,
    /// Files created per second on average.
    files_s: f64,
}

#[derive(Debug, Clone)]
struct Disk {
    name: String,
    reads_s: f64,
    writes_s: f64,
    read_sectors_per_op: f64,
    write_sectors_per_op: f64,
    service_ms: f64,
}

#[derive(Debug, Clone)]
struct Iface {
    name: String,
    rx_pps: Walk,
    tx_ratio: f64,
    rx_size: f64,
    tx_size: f64,
    rx_errors: u64,
    tx_errors: u64,
    rx_drops: u64,
    tx_drops: u64,
    drops_per_step: f64,
}

#[derive(Debug, Clone)]
struct Proc {
    pid: u32,
    name: String,
    cpu_share: f64,
    rss_pages: u64,
    rss_mean: u64,
}

/// One simulated agent: its host shape, the state of every quantity, and
/// the next sequence number.
#[derive(Debug, Clone)]
pub struct SimHost {
    pub shape: HostShape,
    rng: Rng,
    interval_s: u32,
    seq: u64,
    last_ts: Option<i64>,
    info_sent_at: Option<i64>,
    boot_ms: i64,
    activity: Walk,
    core_factor: Vec<f64>,
    user_share: f64,
    iowait_level: f64,
    steal_level: f64,
    load: [f64; 3],
    anon_kb: Walk,
    cached_kb: u64,
    buffers_kb: Walk,
    sreclaim_kb: Walk,
    kernel_kb: u64,
    cache_growth_kb_s: f64,
    swap_used_kb: u64,
    mounts: Vec<Mount>,
    disks: Vec<Disk>,
    ifaces: Vec<Iface>,
    processes: Walk,
    procs: Vec<Proc>,
    collector_errors: [u64; COLLECTORS.len()],
}

impl SimHost {
    /// The agent with index `index` of a run seeded with `seed`. `now_ms`
    /// anchors the boot time (hosts have been up an hour to a year).
    pub fn new(seed: u64, index: usize, interval_s: u32, now_ms: i64) -> SimHost {
        let mut rng = Rng::stream(seed, index as u64);
        let shape = HostShape::generate(&mut rng, index);
        // Most hosts idle along at a few percent; some are busy.
        let base = if rng.chance(0.75) {
            rng.uniform(0.01, 0.15)
        } else {
            rng.uniform(0.2, 0.75)
        };
        let activity = Walk::new(base, 0.05, base * 0.08 + 0.003, 0.002, 0.98);
        let core_factor = (0..shape.cores)
            .map(|i| {
                if i == 0 {
                    rng.uniform(1.0, 1.8)
                } else {
                    rng.uniform(0.2, 1.6)
                }
            })
            .collect();
        let total = shape.mem_total_kb as f64;
        let anon_mean = total * rng.uniform(0.05, 0.6);
        let kernel_kb = (total * rng.uniform(0.01, 0.03)) as u64;
        let cached_kb = (total * rng.uniform(0.05, 0.3)) as u64;
        let mounts = shape
            .mounts
            .iter()
            .map(|(name, fs)| Mount::new(&mut rng, name, *fs))
            .collect();
        let disks = shape
            .disks
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let busy = i == 0 || rng.chance(0.3);
                Disk {
                    name: name.clone(),
                    reads_s: if busy {
                        rng.uniform(0.0, 15.0) * (base * 4.0 + 0.2)
                    } else {
                        rng.uniform(0.0, 0.05)
                    },
                    writes_s: if busy {
                        rng.uniform(0.5, 30.0) * (base * 4.0 + 0.2)
                    } else {
                        rng.uniform(0.0, 0.1)
                    },
                    read_sectors_per_op: rng.uniform(8.0, 128.0),
                    write_sectors_per_op: rng.uniform(8.0, 48.0),
                    service_ms: if name.starts_with("nvme") {
                        0.05
                    } else if name.starts_with("vd") {
                        0.4
                    } else {
                        rng.uniform(0.2, 6.0)
                    },
                }
            })
            .collect();
        let ifaces = shape
            .ifaces
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let pps = if i == 0 {
                    10f64.powf(rng.uniform(0.5, 4.3))
                } else if name == "docker0" || name == "wg0" {
                    rng.uniform(0.0, 3.0)
                } else {
                    10f64.powf(rng.uniform(-1.0, 3.0))
                };
                let errors = |rng: &mut Rng| {
                    if rng.chance(0.1) {
                        rng.range(1, 500)
                    } else {
                        0
                    }
                };
                Iface {
                    name: name.clone(),
                    rx_pps: Walk::new(pps, 0.1, pps * 0.08, 0.0, pps * 20.0 + 10.0),
                    tx_ratio: rng.uniform(0.5, 1.3),
                    rx_size: rng.uniform(80.0, 1400.0),
                    tx_size: rng.uniform(80.0, 1400.0),
                    rx_errors: errors(&mut rng),
                    tx_errors: errors(&mut rng),
                    rx_drops: if rng.chance(0.4) {
                        rng.range(0, 100_000)
                    } else {
                        0
                    },
                    tx_drops: 0,
                    drops_per_step: if rng.chance(0.3) {
                        rng.uniform(0.0, 0.5)
                    } else {
                        0.0
                    },
                }
            })
            .collect();
        let n_procs = rng.range(8, 16) as usize;
        let mut names = vec!["systemd"];
        names.extend(rng.sample(&PROCESS_NAMES[1..], n_procs - 1));
        let mut procs: Vec<Proc> = names
            .into_iter()
            .enumerate()
            .map(|(i, name)| {
                let rss_mean = (10f64.powf(rng.uniform(3.0, 5.8))
                    * (shape.mem_total_kb as f64 / (16.0 * GIB_KB as f64)).sqrt())
                    as u64
                    + 200;
                Proc {
                    pid: if i == 0 {
                        1
                    } else {
                        rng.range(300, 4_000_000) as u32
                    },
                    name: name.to_owned(),
                    cpu_share: if i == 0 {
                        0.001
                    } else {
                        rng.uniform(0.0, 1.0).powi(3)
                    },
                    rss_pages: rss_mean,
                    rss_mean,
                }
            })
            .collect();
        // The listed processes account for most, not all, of the busy time.
        let share_sum: f64 = procs.iter().map(|p| p.cpu_share).sum::<f64>().max(1e-9);
        let listed = rng.uniform(0.5, 0.9);
        for p in &mut procs {
            p.cpu_share *= listed / share_sum;
        }
        let uptime_ms = (10f64.powf(rng.uniform(3.6, 7.5)) * 1000.0) as i64;
        SimHost {
            user_share: rng.uniform(0.55, 0.9),
            iowait_level: if rng.chance(0.3) {
                rng.uniform(0.005, 0.05)
            } else {
                rng.uniform(0.0, 0.003)
            },
            steal_level: if shape.virtual_machine && rng.chance(0.5) {
                rng.uniform(0.0, 0.02)
            } else {
                0.0
            },
            load: [base * shape.cores as f64; 3],
            anon_kb: Walk::new(anon_mean, 0.02, total * 0.0006, total * 0.02, total * 0.85),
            cached_kb,
            buffers_kb: Walk::new(
                total * rng.uniform(0.001, 0.02),
                0.05,
                total * 0.00005,
                0.0,
                total * 0.05,
            ),
            sreclaim_kb: Walk::new(
                total * rng.uniform(0.005, 0.03),
                0.05,
                total * 0.0001,
                0.0,
                total * 0.06,
            ),
            kernel_kb,
            cache_growth_kb_s: rng.uniform(0.0, 64.0),
            swap_used_kb: if shape.swap_total_kb > 0 && rng.chance(0.5) {
                rng.range(0, shape.swap_total_kb / 10) & !3
            } else {
                0
            },
            processes: Walk::new(rng.uniform(90.0, 700.0).round(), 0.1, 1.2, 60.0, 5000.0),
            boot_ms: now_ms - uptime_ms,
            activity,
            core_factor,
            mounts,
            disks,
            ifaces,
            procs,
            collector_errors: [0; COLLECTORS.len()],
            shape,
            rng,
            interval_s,
            seq: 0,
            last_ts: None,
            info_sent_at: None,
        }
    }

    /// The sequence number of the last report produced (0 before the first).
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Continues numbering above `seq` (the server's last stored sequence
    /// number for this agent's host, from registration).
    pub fn continue_after(&mut self, seq: u64) {
        self.seq = self.seq.max(seq);
    }

    pub fn registration(&self) -> lxmon_proto::RegisterRequest {
        lxmon_proto::RegisterRequest {
            hostname: self.shape.hostname.clone(),
            os: self.shape.os.clone(),
            arch: self.shape.arch.clone(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            kernel: self.shape.kernel.clone(),
            machine_id: Some(self.shape.machine_id.clone()),
            labels: [("loadgen".to_owned(), "true".to_owned())].into(),
            actions: Vec::new(),
        }
    }

    /// The next report, taken at `ts_ms` (which must not go backwards).
    pub fn report(&mut self, ts_ms: i64) -> Report {
        let elapsed_s = match self.last_ts {
            Some(prev) => ((ts_ms - prev) as f64 / 1000.0).max(0.001),
            None => self.interval_s as f64,
        };
        self.last_ts = Some(ts_ms);
        self.seq += 1;
        let steps = elapsed_s / 10.0;
        let mut metrics = Vec::with_capacity(self.shape.series_count());
        self.cpu(elapsed_s, steps, &mut metrics);
        self.memory(elapsed_s, steps, &mut metrics);
        self.filesystems(elapsed_s, &mut metrics);
        self.diskio(elapsed_s, &mut metrics);
        self.network(elapsed_s, steps, &mut metrics);
        let processes = self.top_processes(steps, &mut metrics);
        let uptime = ((ts_ms - self.boot_ms) / 1000).max(0) as f64;
        metrics.push(Sample::new("system.uptime_seconds", uptime));
        for (name, errors) in COLLECTORS.iter().zip(self.collector_errors) {
            metrics.push(
                Sample::new("agent.collector_errors_total", errors as f64)
                    .with_label("collector", *name),
            );
        }
        let info = match self.info_sent_at {
            Some(at) if ts_ms - at < INFO_RESEND_MS => None,
            _ => {
                self.info_sent_at = Some(ts_ms);
                Some(HostInfo {
                    os: self.shape.os.clone(),
                    kernel: self.shape.kernel.clone(),
                    arch: self.shape.arch.clone(),
                    agent_version: env!("CARGO_PKG_VERSION").to_owned(),
                    boot_time: self.boot_ms / 1000,
                })
            }
        };
        Report {
            v: PROTOCOL_VERSION,
            host: HostIdentity {
                hostname: self.shape.hostname.clone(),
                machine_id: Some(self.shape.machine_id.clone()),
            },
            ts: ts_ms,
            interval_s: self.interval_s,
            seq: self.seq,
            metrics,
            info,
            processes: Some(processes),
        }
    }

    fn cpu(&mut self, elapsed_s: f64, steps: f64, out: &mut Vec<Sample>) {
        let rng = &mut self.rng;
        let mut activity = self.activity.step(rng, steps);
        if rng.chance(0.01 * steps) {
            // A cron job, a deploy, a backup: a short burst.
            activity = (activity + rng.uniform(0.1, 0.5)).min(0.98);
        }
        let cores = self.shape.cores as usize;
        // USER_HZ is 100: a core accrues ~100 ticks per second.
        let ticks = (elapsed_s * 100.0).round().max(1.0);
        let (mut t_all, mut busy_all, mut user_all, mut sys_all, mut iow_all, mut steal_all) =
            (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
        let mut per_core = Vec::with_capacity(cores);
        let mut running = 0.0;
        for factor in &self.core_factor {
            let t = ticks + rng.range(0, 2) as f64 - 1.0;
            let load = (activity * factor + rng.normal() * (0.01 + 0.1 * activity)).clamp(0.0, 1.0);
            running += load;
            let busy = (t * load).round();
            let user = (busy * (self.user_share + rng.normal() * 0.05).clamp(0.1, 1.0)).round();
            let iowait = ((t * self.iowait_level * rng.uniform(0.0, 2.0)).round()).min(t - busy);
            let steal =
                ((t * self.steal_level * rng.uniform(0.0, 2.0)).round()).min(t - busy - iowait);
            per_core.push(percent(busy, t));
            t_all += t;
            busy_all += busy;
            user_all += user;
            sys_all += busy - user;
            iow_all += iowait;
            steal_all += steal;
        }
        out.push(Sample::new("cpu.cores_count", cores as f64));
        out.push(Sample::new("cpu.usage_percent", percent(busy_all, t_all)));
        out.push(Sample::new("cpu.user_percent", percent(user_all, t_all)));
        out.push(Sample::new("cpu.system_percent", percent(sys_all, t_all)));
        out.push(Sample::new("cpu.iowait_percent", percent(iow_all, t_all)));
        out.push(Sample::new("cpu.steal_percent", percent(steal_all, t_all)));
        for (i, usage) in per_core.into_iter().enumerate() {
            out.push(
                Sample::new("cpu.core.usage_percent", usage).with_label("core", i.to_string()),
            );
        }
        // The kernel's exponentially damped averages of runnable tasks.
        let runnable =
            (running + self.iowait_level * cores as f64 + rng.uniform(0.0, 0.3)).max(0.0);
        for (load, period) in self.load.iter_mut().zip([60.0, 300.0, 900.0]) {
            let decay = (-elapsed_s / period).exp();
            *load = *load * decay + runnable * (1.0 - decay);
        }
        out.push(Sample::new("load.1m", round2(self.load[0])));
        out.push(Sample::new("load.5m", round2(self.load[1])));
        out.push(Sample::new("load.15m", round2(self.load[2])));
    }

    fn memory(&mut self, elapsed_s: f64, steps: f64, out: &mut Vec<Sample>) {
        let rng = &mut self.rng;
        let total = self.shape.mem_total_kb;
        let page_kb = PAGE / KIB;
        let pages = |kb: f64| (kb.max(0.0) as u64) / page_kb * page_kb;
        let anon = pages(self.anon_kb.step(rng, steps));
        let buffers = pages(self.buffers_kb.step(rng, steps));
        let sreclaim = pages(self.sreclaim_kb.step(rng, steps));
        // The page cache fills up with what is read and written, and drops
        // when something big is deleted or memory is short.
        self.cached_kb += pages(self.cache_growth_kb_s * elapsed_s * rng.uniform(0.0, 2.0));
        if rng.chance(0.002 * steps) {
            self.cached_kb = pages(self.cached_kb as f64 * rng.uniform(0.5, 0.9));
        }
        let ceiling = (total as f64 * 0.97) as u64;
        let committed = anon + buffers + sreclaim + self.kernel_kb;
        if committed + self.cached_kb > ceiling {
            self.cached_kb = ceiling.saturating_sub(committed);
        }
        let cached = self.cached_kb;
        let free = total - (committed + cached).min(total);
        let low = total / 500;
        let pagecache = cached + buffers;
        let available = (free.saturating_sub(low) + pagecache - (pagecache / 2).min(low)
            + sreclaim
            - (sreclaim / 2).min(low))
        .min(total);
        let used = total - available;
        out.push(Sample::new("mem.total_bytes", (total * KIB) as f64));
        out.push(Sample::new("mem.used_bytes", (used * KIB) as f64));
        out.push(Sample::new("mem.free_bytes", (free * KIB) as f64));
        out.push(Sample::new("mem.available_bytes", (available * KIB) as f64));
        out.push(Sample::new(
            "mem.cached_bytes",
            ((cached + sreclaim) * KIB) as f64,
        ));
        out.push(Sample::new("mem.buffers_bytes", (buffers * KIB) as f64));
        out.push(Sample::new(
            "mem.used_percent",
            percent(used as f64, total as f64),
        ));
        let swap_total = self.shape.swap_total_kb;
        if swap_total > 0 && self.swap_used_kb > 0 && rng.chance(0.02 * steps) {
            let delta = rng.range(1, 64) * page_kb;
            self.swap_used_kb = if rng.chance(0.5) {
                self.swap_used_kb.saturating_sub(delta)
            } else {
                (self.swap_used_kb + delta).min(swap_total)
            };
        }
        out.push(Sample::new("swap.total_bytes", (swap_total * KIB) as f64));
        out.push(Sample::new(
            "swap.used_bytes",
            (self.swap_used_kb * KIB) as f64,
        ));
    }

    fn filesystems(&mut self, elapsed_s: f64, out: &mut Vec<Sample>) {
        let rng = &mut self.rng;
        for m in &mut self.mounts {
            m.advance(rng, elapsed_s);
            let avail = m.total_blocks - m.used_blocks - m.reserved_blocks;
            let s = |name: &str, v: u64| {
                Sample::new(name, v as f64).with_label("mount", m.name.as_str())
            };
            out.push(s("fs.total_bytes", m.total_blocks * BLOCK));
            out.push(s("fs.used_bytes", m.used_blocks * BLOCK));
            out.push(s("fs.free_bytes", avail * BLOCK));
            out.push(
                Sample::new(
                    "fs.used_percent",
                    percent(m.used_blocks as f64, (m.used_blocks + avail) as f64),
                )
                .with_label("mount", m.name.as_str()),
            );
            if m.fs.has_inodes() {
                out.push(s("fs.inodes_total", m.inodes_total));
                out.push(s("fs.inodes_used", m.inodes_used));
                out.push(s("fs.inodes_free", m.inodes_total - m.inodes_used));
            }
        }
    }

    fn diskio(&mut self, elapsed_s: f64, out: &mut Vec<Sample>) {
        let rng = &mut self.rng;
        let intensity = (self.activity.value / self.activity.mean.max(0.001)).clamp(0.2, 5.0);
        for d in &self.disks {
            let reads = rng.poisson(d.reads_s * intensity * elapsed_s);
            let writes = rng.poisson(d.writes_s * intensity.sqrt() * elapsed_s);
            // Requests are whole 4 KiB pages: sectors in multiples of 8.
            let sectors = |ops: u64, per_op: f64, rng: &mut Rng| {
                if ops == 0 {
                    0
                } else {
                    ((ops as f64 * per_op * rng.uniform(0.6, 1.4) / 8.0)
                        .round()
                        .max(1.0) as u64)
                        * 8
                }
            };
            let read_sectors = sectors(reads, d.read_sectors_per_op, rng);
            let write_sectors = sectors(writes, d.write_sectors_per_op, rng);
            let busy_ms = ((reads + writes) as f64 * d.service_ms * rng.uniform(0.5, 1.5))
                .round()
                .min(elapsed_s * 1000.0);
            let s = |name: &str, v: f64| Sample::new(name, v).with_label("device", d.name.as_str());
            out.push(s(
                "disk.read_bytes_per_sec",
                rate(read_sectors * SECTOR, elapsed_s),
            ));
            out.push(s(
                "disk.write_bytes_per_sec",
                rate(write_sectors * SECTOR, elapsed_s),
            ));
            out.push(s("disk.reads_per_sec", rate(reads, elapsed_s)));
            out.push(s("disk.writes_per_sec", rate(writes, elapsed_s)));
            out.push(s("disk.busy_percent", percent(busy_ms, elapsed_s * 1000.0)));
        }
    }

    fn network(&mut self, elapsed_s: f64, steps: f64, out: &mut Vec<Sample>) {
        let rng = &mut self.rng;
        for i in &mut self.ifaces {
            let pps = i.rx_pps.step(rng, steps);
            let rx_packets = rng.poisson(pps * elapsed_s);
            let tx_packets = rng.poisson(pps * i.tx_ratio * elapsed_s);
            let rx_bytes = (rx_packets as f64 * i.rx_size * rng.uniform(0.85, 1.15)).round() as u64;
            let tx_bytes = (tx_packets as f64 * i.tx_size * rng.uniform(0.85, 1.15)).round() as u64;
            if i.drops_per_step > 0.0 && rng.chance(0.05 * steps) {
                i.rx_drops += rng.poisson(i.drops_per_step * 20.0) + 1;
            }
            let s = |name: &str, v: f64| Sample::new(name, v).with_label("iface", i.name.as_str());
            out.push(s("net.rx_bytes_per_sec", rate(rx_bytes, elapsed_s)));
            out.push(s("net.tx_bytes_per_sec", rate(tx_bytes, elapsed_s)));
            out.push(s("net.rx_packets_per_sec", rate(rx_packets, elapsed_s)));
            out.push(s("net.tx_packets_per_sec", rate(tx_packets, elapsed_s)));
            out.push(s("net.rx_errors_total", i.rx_errors as f64));
            out.push(s("net.tx_errors_total", i.tx_errors as f64));
            out.push(s("net.rx_drops_total", i.rx_drops as f64));
            out.push(s("net.tx_drops_total", i.tx_drops as f64));
        }
    }

    fn top_processes(&mut self, steps: f64, out: &mut Vec<Sample>) -> TopProcesses {
        let rng = &mut self.rng;
        let count = self.processes.step(rng, steps).round();
        out.push(Sample::new("system.processes_count", count));
        // CPU of one core, from the host's busy share.
        let busy_cores = self.activity.value * self.shape.cores as f64;
        let mut infos: Vec<ProcessInfo> = self
            .procs
            .iter_mut()
            .map(|p| {
                let walk = (rng.normal() * 0.004 * p.rss_mean as f64).round() as i64;
                p.rss_pages = (p.rss_pages as i64 + walk).clamp(50, (p.rss_mean * 3) as i64) as u64;
                let cpu = (busy_cores * p.cpu_share * 100.0 * rng.uniform(0.3, 1.7))
                    .min(100.0 * busy_cores.max(1.0));
                ProcessInfo {
                    pid: p.pid,
                    name: p.name.clone(),
                    cpu_percent: round2(cpu),
                    rss_bytes: p.rss_pages * PAGE,
                }
            })
            .collect();
        infos.sort_by(|a, b| {
            b.cpu_percent
                .total_cmp(&a.cpu_percent)
                .then(a.pid.cmp(&b.pid))
        });
        let by_cpu = infos
            .iter()
            .filter(|p| p.cpu_percent > 0.0)
            .take(TOP_N)
            .cloned()
            .collect();
        infos.sort_by(|a, b| b.rss_bytes.cmp(&a.rss_bytes).then(a.pid.cmp(&b.pid)));
        infos.truncate(TOP_N);
        TopProcesses {
            by_cpu,
            by_memory: infos,
        }
    }
}

impl Mount {
    fn new(rng: &mut Rng, name: &str, fs: FsType) -> Mount {
        let gib: f64 = match name {
            "/" => rng.uniform(16.0, 500.0),
            "/boot" => rng.uniform(0.45, 1.0),
            "/boot/efi" => 0.5,
            "/var/log" | "/home" | "/opt" => rng.uniform(10.0, 200.0),
            _ => 10f64.powf(rng.uniform(1.7, 3.6)),
        };
        let total_blocks = (gib * (1u64 << 30) as f64 / BLOCK as f64) as u64;
        let reserved_blocks = if fs == FsType::Ext4 {
            total_blocks / 20
        } else {
            0
        };
        let used_blocks = (total_blocks as f64 * rng.uniform(0.03, 0.85)) as u64;
        let growth_blocks_s = match name {
            "/boot" | "/boot/efi" => 0.0,
            "/var/log" | "/var" => rng.uniform(0.0, 6.0),
            _ if rng.chance(0.4) => 0.0,
            _ => rng.uniform(0.0, 2.0).powi(3),
        };
        let inodes_total = if fs.has_inodes() {
            total_blocks * BLOCK / 16384
        } else {
            0
        };
        let inodes_used = if fs.has_inodes() {
            ((used_blocks * BLOCK / rng.range(40_000, 400_000)) + 11).min(inodes_total)
        } else {
            0
        };
        Mount {
            name: name.to_owned(),
            fs,
            total_blocks,
            reserved_blocks,
            used_blocks,
            growth_blocks_s,
            inodes_total,
            inodes_used,
            files_s: growth_blocks_s * rng.uniform(0.0, 0.05),
        }
    }

    fn advance(&mut self, rng: &mut Rng, elapsed_s: f64) {
        if self.growth_blocks_s == 0.0 {
            return;
        }
        let limit = self.total_blocks - self.reserved_blocks;
        self.used_blocks =
            (self.used_blocks + rng.poisson(self.growth_blocks_s * elapsed_s)).min(limit);
        self.inodes_used =
            (self.inodes_used + rng.poisson(self.files_s * elapsed_s)).min(self.inodes_total);
        // Log rotation or a cleanup: a chunk is freed now and then.
        if rng.chance(0.0005 * elapsed_s) || self.used_blocks as f64 > limit as f64 * 0.95 {
            let freed = (self.used_blocks as f64 * rng.uniform(0.005, 0.05)) as u64;
            self.used_blocks -= freed;
            self.inodes_used -= (self.inodes_used / 200).min(self.inodes_used.saturating_sub(11));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_count_matches_reports() {
        for i in 0..50 {
            let mut h = SimHost::new(3, i, 10, 1_700_000_000_000);
            let r = h.report(1_700_000_000_000);
            assert_eq!(r.metrics.len(), h.shape.series_count(), "{:?}", h.shape);
        }
    }

    #[test]
    fn percent_and_rates_round_like_the_agent() {
        assert_eq!(percent(1.0, 3.0), 33.33);
        assert_eq!(percent(5.0, 0.0), 0.0);
        assert_eq!(rate(1001, 10.0), 100.0);
    }
}
