//! CPU cost of one collection on this host, per collector and for a whole
//! report (collect + serialize + compress), measured with the thread CPU
//! clock so sleeping and other processes do not count.
//!
//! `cargo run --release -p lxmon-agent --example collect_bench [ROUNDS]`

use std::time::Duration;

use lxmon_agent::collectors::{
    Collector, Ctx, Output, cpu, diskio, filesystem, memory, network, processes, system,
};
use lxmon_agent::sampler::{Roots, Sampler};

fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn main() {
    let rounds: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200);
    let mut collectors: Vec<Box<dyn Collector>> = vec![
        Box::new(cpu::CpuCollector::new()),
        Box::new(memory::MemoryCollector::new()),
        Box::new(filesystem::FilesystemCollector::new()),
        Box::new(diskio::DiskIoCollector::new()),
        Box::new(network::NetworkCollector::new()),
        Box::new(processes::ProcessCollector::new()),
        Box::new(system::SystemCollector::new()),
    ];
    let mut ctx = Ctx::host();
    let mut total = vec![0u64; collectors.len()];
    for round in 0..=rounds {
        std::thread::sleep(Duration::from_millis(2));
        ctx.refresh_time();
        for (i, c) in collectors.iter_mut().enumerate() {
            let mut out = Output::default();
            let start = thread_cpu_ns();
            c.collect(&ctx, &mut out)
                .expect("collector works on this host");
            // Round 0 primes the rate state and is not counted.
            if round > 0 {
                total[i] += thread_cpu_ns() - start;
            }
        }
    }
    for (c, ns) in collectors.iter().zip(&total) {
        println!(
            "{:<12} {:>8.1} µs",
            c.name(),
            *ns as f64 / rounds as f64 / 1000.0
        );
    }

    let mut sampler = Sampler::new(&Roots::default(), None);
    sampler.sample(10);
    let (mut collect_ns, mut encode_ns, mut bytes, mut compressed) = (0u64, 0u64, 0usize, 0usize);
    for _ in 0..rounds {
        std::thread::sleep(Duration::from_millis(2));
        let t0 = thread_cpu_ns();
        let report = sampler.sample(10);
        let t1 = thread_cpu_ns();
        let json = serde_json::to_vec(&report).unwrap();
        let body = lxmon_proto::compress::compress_with_dict(&json);
        let t2 = thread_cpu_ns();
        collect_ns += t1 - t0;
        encode_ns += t2 - t1;
        bytes = json.len();
        compressed = body.len();
    }
    println!(
        "report: collect {:.1} µs + encode {:.1} µs per report; {bytes} bytes JSON, {compressed} bytes compressed",
        collect_ns as f64 / rounds as f64 / 1000.0,
        encode_ns as f64 / rounds as f64 / 1000.0
    );
}
