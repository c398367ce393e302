//! `lxmon-loadgen`: simulated lxmon agents driving a real `lxmon-server`
//! over real HTTP, for benchmarks and load tests.
//!
//! Each simulated agent has a host shape drawn from a seeded RNG (2–64
//! cores, 2–6 mounts, 1–4 interfaces, 1–4 disks) and produces every series
//! of `docs/metrics.md` with the dynamics of a real machine ([`sim`]). Its
//! reports are the protocol's own [`lxmon_proto::Report`], compressed with
//! the protocol's zstd dictionary ([`wire`]) and sent with the agent's key,
//! as `lxmon-agent` sends them ([`client`]).
//!
//! Four modes ([`runner::Mode`]): `live` (each agent on its own interval
//! with jitter; reports after the first compressed against the previous
//! one, as `lxmon-agent` sends them), `max` (pre-built reports as fast as
//! the server takes them), `batch` (the NDJSON backfill path) and
//! `commands` (agents long-polling for commands and answering them while a
//! user sends commands and times each round trip, [`commands`]). A run ends with a JSON
//! [`stats::Summary`]: throughput, latency percentiles, errors by status,
//! wire bytes, and the CPU and memory of the load generator and (given its
//! pid) the server over the timed phase.
//!
//! Because the load generator is a client of the public agent API, a
//! protocol change that breaks it breaks this crate's build and tests.

pub mod client;
pub mod commands;
pub mod procfs;
pub mod rng;
pub mod runner;
pub mod sim;
pub mod stats;
pub mod wire;

pub use runner::{Mode, RunConfig, read_keys, run};
pub use sim::{HostShape, SimHost};
pub use stats::Summary;
