//! Wire types shared by `lxmon-agent` and `lxmon-server`, and the limits both
//! sides enforce.
//!
//! Everything that crosses the network between an agent and the server is
//! defined here, once, so the two binaries cannot drift apart. The protocol is
//! versioned by [`PROTOCOL_VERSION`]; a report carries its version in `v`.
//!
//! Body encoding: JSON, optionally compressed. Agents send
//! `Content-Encoding: zstd` and, when they used the shared dictionary
//! ([`compress::DICTIONARY_V1`]), the header [`compress::DICT_HEADER`]. The
//! dictionary holds the metric vocabulary, so a report's bytes on the wire are
//! mostly its values.

mod catalog;
pub mod compress;
mod limits;
mod messages;
mod validate;

pub use catalog::{AGENT_METRICS, is_agent_metric};
pub use limits::*;
pub use messages::*;
pub use validate::{ValidationError, valid_hostname, validate_labels, validate_report};

/// The protocol version this build speaks. Servers accept reports whose `v`
/// is at most this value.
pub const PROTOCOL_VERSION: u32 = 1;

/// Header carrying the agent's key: `Authorization: Bearer <key>`.
pub const AUTH_SCHEME: &str = "Bearer";
