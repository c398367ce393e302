//! `lxmon-loadgen`: simulated agents against a real lxmon-server; prints a
//! JSON summary on stdout. See the crate documentation.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use lxmon_loadgen::commands::{self, CommandConfig};
use lxmon_loadgen::{Mode, RunConfig, SimHost, read_keys, run};

#[derive(Parser)]
#[command(
    name = "lxmon-loadgen",
    version,
    about = "Simulated lxmon agents over real HTTP: live, max-throughput, backfill and command load, with a JSON summary",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Bytes on the wire of reports in FILE (one Report JSON, or NDJSON),
    /// each compressed with the protocol dictionary as an agent sends it.
    WireSize { file: PathBuf },
    /// Prints simulated reports as NDJSON (for inspection or other tools).
    Generate {
        #[arg(long, default_value_t = 1)]
        agents: usize,
        /// Reports per agent, one interval apart, ending now.
        #[arg(long, default_value_t = 10)]
        reports: u64,
        #[arg(long, default_value_t = 10)]
        interval: u32,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

#[derive(Args)]
struct RunArgs {
    /// Server base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    server: String,
    /// File with one agent key per line (`lxmon-server agent-key create
    /// --count N` output works as is: its header line is skipped).
    #[arg(long)]
    keys: Option<PathBuf>,
    /// Simulate only the first N keys' agents (default: one per key).
    #[arg(long)]
    agents: Option<usize>,
    #[arg(long, value_enum, default_value_t = Mode::Live)]
    mode: Mode,
    /// Seconds between an agent's reports (live), or between the
    /// timestamps of pre-built reports (max, batch).
    #[arg(long, default_value_t = 10)]
    interval: u32,
    /// Live: each report is due at its slot ± this fraction of the interval.
    #[arg(long, default_value_t = 0.1)]
    jitter: f64,
    /// Seconds to run (live: required; max/batch: stop early).
    #[arg(long)]
    duration: Option<f64>,
    /// Max: reports in all (default 100 per agent). Batch: reports in all,
    /// spaced back from now, instead of --hours.
    #[arg(long)]
    reports: Option<u64>,
    /// Batch: whole clock hours of history per agent (at most a year),
    /// ending where the current hour starts. The server refuses reports
    /// older than its raw retention (7 days by default) unless its
    /// `[retention] raw_days` covers them.
    #[arg(long, default_value_t = 1)]
    hours: u32,
    /// Requests in flight at most (max, batch and registration); commands
    /// in flight at most (commands).
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Seed of the host shapes and values.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Also report this process's CPU and RSS over the timed phase (the
    /// server's pid).
    #[arg(long)]
    server_pid: Option<u32>,
    /// Runtime threads of the load generator (it shares the machine with
    /// the server; body preparation always uses every core).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Seconds before a request counts as a timeout.
    #[arg(long, default_value_t = 30.0)]
    timeout: f64,
    /// Commands: how many to send in all (--concurrency at a time).
    #[arg(long, default_value_t = 1000)]
    commands: u64,
    /// Commands: the dashboard user who sends them.
    #[arg(long, default_value = "admin")]
    user: String,
    /// Commands: that user's password.
    #[arg(long, env = "LXMON_ADMIN_PASSWORD", hide_env_values = true)]
    password: Option<String>,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::WireSize { file }) => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            print_json(&lxmon_loadgen::wire::wire_size(&text)?)
        }
        Some(Command::Generate {
            agents,
            reports,
            interval,
            seed,
        }) => {
            let now = lxmon_loadgen::runner::now_ms();
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            for i in 0..agents {
                let mut sim = SimHost::new(seed, i, interval, now);
                for k in 1..=reports as i64 {
                    let ts = now - (reports as i64 - k) * interval as i64 * 1000;
                    serde_json::to_writer(&mut out, &sim.report(ts))?;
                    out.write_all(b"\n")?;
                }
            }
            out.flush()?;
            Ok(())
        }
        None => run_load(cli.run),
    }
}

fn run_load(args: RunArgs) -> anyhow::Result<()> {
    let path = args.keys.context(
        "--keys FILE is required (create keys with `lxmon-server agent-key create --count N`)",
    )?;
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let mut keys = read_keys(&text);
    anyhow::ensure!(!keys.is_empty(), "{} holds no agent keys", path.display());
    if let Some(n) = args.agents {
        anyhow::ensure!(
            n <= keys.len(),
            "--agents {n} but {} has only {} keys (one key per agent)",
            path.display(),
            keys.len()
        );
        keys.truncate(n);
    }
    anyhow::ensure!(
        args.mode != Mode::Live || args.duration.is_some(),
        "--mode live needs --duration SECONDS"
    );
    let mut cfg = RunConfig::new(args.server, keys, args.mode);
    cfg.interval_s = args.interval;
    cfg.jitter = args.jitter;
    cfg.duration = args.duration.map(Duration::from_secs_f64);
    cfg.reports = args.reports;
    cfg.hours = args.hours;
    cfg.concurrency = args.concurrency;
    cfg.seed = args.seed;
    cfg.server_pid = args.server_pid;
    cfg.timeout = Duration::from_secs_f64(args.timeout);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .enable_all()
        .build()?;
    if args.mode == Mode::Commands {
        let cmd = CommandConfig {
            commands: args.commands,
            username: args.user,
            password: args
                .password
                .context("--mode commands needs --password (or LXMON_ADMIN_PASSWORD)")?,
        };
        return print_json(&runtime.block_on(commands::run(&cfg, &cmd))?);
    }
    let summary = runtime.block_on(run(&cfg))?;
    print_json(&summary)
}

fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}
