//! `lxmon-agent` binary: parses the configuration and runs the agent until
//! SIGTERM/SIGINT.

use std::io::IsTerminal;

use anyhow::Context;
use lxmon_agent::{Agent, Config, Shutdown, run_once};
use tracing_subscriber::EnvFilter;

fn main() -> anyhow::Result<()> {
    limit_malloc_arenas();
    let config = Config::from_process()?;
    let filter = EnvFilter::try_new(&config.log_level)
        .with_context(|| format!("invalid log level {:?}", config.log_level))?;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();

    if config.once {
        let report = run_once(&config);
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }

    let shutdown = Shutdown::new();
    shutdown
        .install_signal_handlers()
        .context("cannot install signal handlers")?;
    let agent = Agent::new(config)?;
    agent.run(&shutdown)?;
    Ok(())
}

/// One malloc arena for all threads: the agent's threads allocate little and
/// rarely at the same time, and glibc's default of one arena per thread
/// costs resident memory for no gain here.
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: called first thing in main, before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}
