//! `lxmon-agent`: the small per-server agent of lxmon.
//!
//! It reads Linux host metrics straight from `/proc` and `/sys` (never by
//! running a program), builds a [`lxmon_proto::Report`] every interval and
//! pushes it to `lxmon-server` over HTTP(S). Reports the server cannot take
//! right now wait in a bounded, crash-safe disk spool and are backfilled in
//! order when it is back.
//!
//! The modules follow the data: [`collectors`] → [`sampler`] (a report) →
//! [`spool`] → [`transport`], driven by [`agent`] (the run loop), configured
//! by [`config`].
//!
//! Remote commands flow the other way: [`commands`] long-polls the server,
//! checks each command against the local allowlist ([`actions`], from the
//! config file's `[[actions]]`), runs it with [`exec`] (never through a
//! shell) and streams the output back.
//!
//! Health checks assigned to this host by the server (targets only it can
//! reach) arrive with the server-side configuration; [`checks`] runs them
//! with `lxmon-checks` on their intervals and posts the results.
//!
//! Running an agent in-process (as the integration tests do):
//!
//! ```no_run
//! use lxmon_agent::{Agent, Cli, Config, Shutdown};
//!
//! let cli = Cli { server: Some("http://127.0.0.1:8080".into()), key: Some("agent-key".parse().unwrap()),
//!                 spool_dir: Some("/tmp/spool".into()), interval: Some(1), ..Cli::default() };
//! let config = Config::resolve(&cli, &|_| None).unwrap();
//! let agent = Agent::new(config).unwrap();
//! let stats = agent.stats();
//! let shutdown = Shutdown::new();
//! let stopper = shutdown.clone();
//! let thread = std::thread::spawn(move || agent.run(&shutdown));
//! // ... wait for stats.delivered() to grow ...
//! stopper.trigger();
//! thread.join().unwrap().unwrap();
//! ```

pub mod actions;
pub mod agent;
pub mod backoff;
pub mod checks;
pub mod collectors;
pub mod commands;
pub mod config;
pub mod exec;
pub mod sampler;
pub mod shutdown;
pub mod spool;
pub mod transport;

pub use agent::{Agent, AgentError, AgentStats, run_once};
pub use config::{Cli, Config, ConfigError, Secret};
pub use shutdown::Shutdown;

/// This agent's version, as sent in `User-Agent` and `HostInfo`.
pub const AGENT_VERSION: &str = env!("CARGO_PKG_VERSION");
