//! `lxmon-agent` binary: parses the configuration and runs the agent until
//! SIGTERM/SIGINT.

use std::io::IsTerminal;

use anyhow::Context;
use lxmon_agent::{Agent, Config, Shutdown, run_once};
use tracing_subscriber::EnvFilter;

fn main() -> anyhow::Result<()> {
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
