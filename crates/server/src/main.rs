//! The `lxmon-server` binary: serve (default), or administer the data
//! directory (`agent-key create`).

mod run;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use lxmon_server::config::{Overrides, ServerConfig};

#[derive(Parser)]
#[command(
    name = "lxmon-server",
    version,
    about = "lxmon server: API, storage, dashboard and alerting in one binary"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Args)]
struct CommonArgs {
    /// Address to listen on.
    #[arg(long, env = "LXMON_LISTEN", global = true)]
    listen: Option<String>,
    /// Directory holding the store (created if missing).
    #[arg(long, env = "LXMON_DATA_DIR", global = true)]
    data_dir: Option<PathBuf>,
    /// TOML configuration file.
    #[arg(long, env = "LXMON_SERVER_CONFIG", global = true)]
    config: Option<PathBuf>,
    /// Seconds of silence before a host shows offline.
    #[arg(long, env = "LXMON_OFFLINE_AFTER_S", global = true)]
    offline_after: Option<u64>,
    /// "power" (fsync every commit) or "process" (survives kill -9, not power loss).
    #[arg(long, env = "LXMON_DURABILITY", global = true)]
    durability: Option<String>,
    /// Seconds between evaluations of absence, anomaly and check-down rules.
    #[arg(long, env = "LXMON_ALERT_EVALUATION_INTERVAL_S", global = true)]
    alert_evaluation_interval: Option<u64>,
    /// Seconds later alerts of one rule wait to be notified together.
    #[arg(long, env = "LXMON_ALERT_GROUP_INTERVAL_S", global = true)]
    alert_group_interval: Option<u64>,
    /// Log filter, e.g. "info" or "lxmon_server=debug".
    #[arg(long, env = "LXMON_LOG", default_value = "info", global = true)]
    log_level: String,
}

#[derive(Subcommand)]
enum Command {
    /// Manage agent keys.
    AgentKey {
        #[command(subcommand)]
        action: AgentKeyCommand,
    },
}

#[derive(Subcommand)]
enum AgentKeyCommand {
    /// Create a key; the key is printed once, as the last line of stdout
    /// (with --count N, N keys named NAME-1..NAME-N, one per line at the end).
    Create {
        #[arg(long)]
        name: String,
        #[arg(long, default_value_t = 1)]
        count: u32,
    },
    /// Revoke a key by its id (the part after `lxk_`, before the dot); it
    /// stops working at once.
    Revoke {
        #[arg(long)]
        id: String,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_new(
            &cli.common.log_level,
        )?)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let overrides = Overrides {
        config: cli.common.config,
        listen: cli.common.listen,
        data_dir: cli.common.data_dir,
        offline_after_s: cli.common.offline_after,
        durability: cli.common.durability,
        // Secrets come from the environment only, never argv (visible in ps).
        admin_password: std::env::var("LXMON_ADMIN_PASSWORD").ok(),
        allow_unauthenticated_from: std::env::var("LXMON_COMPAT_ALLOW").ok(),
        alert_evaluation_interval_s: cli.common.alert_evaluation_interval,
        alert_group_interval_s: cli.common.alert_group_interval,
    };
    let config = ServerConfig::load(&overrides)?;
    match cli.command {
        None => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?
            .block_on(run::serve(config)),
        Some(Command::AgentKey {
            action: AgentKeyCommand::Create { name, count },
        }) => run::create_agent_keys(&config, &name, count),
        Some(Command::AgentKey {
            action: AgentKeyCommand::Revoke { id },
        }) => run::revoke_agent_key(&config, &id),
    }
}
