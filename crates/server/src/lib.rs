//! `lxmon-server`: the HTTP API over the embedded store, and the background
//! jobs that keep the store in shape.
//!
//! Data flows one way through this crate (DESIGN §2): [`http::agent`] decodes
//! and validates reports and hands them to the store; [`http::servers`] reads
//! them back for the dashboard; [`maintenance`] seals, rolls up and expires
//! them. Storage never calls back into HTTP.
//!
//! - [`config`]: TOML file ← `LXMON_*` environment ← flags.
//! - [`auth`]: passwords (argon2id), session tokens (HS256 JWT), agent keys
//!   (256-bit secrets stored as SHA-256 digests).
//! - [`http`]: the router, one module per area, and the one error type.
//! - [`telemetry`]: the server's own figures for `GET /metrics`.

pub mod alert;
pub mod auth;
pub mod checks_runner;
pub mod config;
pub mod http;
pub mod maintenance;
pub mod ratelimit;
pub mod state;
pub mod telemetry;

pub use config::ServerConfig;
pub use state::AppState;

/// Unix milliseconds now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
