//! Health-check probes for lxmon (DESIGN §8): HTTP(S) (status, keyword,
//! latency, certificate expiry), TCP connect, ICMP ping and DNS.
//!
//! The library is synchronous on purpose — `std::net` with timeouts, no async
//! runtime — so the server can call it from `spawn_blocking` and the small
//! synchronous agent can call it directly. Every probe treats the `timeout`
//! given to [`run`] as a hard bound on its total time (name resolution,
//! connect, TLS, request and body, or all echo requests), so a hanging target
//! never holds the caller longer than that.
//!
//! Specs ([`CheckSpec`]) and results ([`Outcome`]) are serde types: the server
//! stores specs as JSON and sends them to agents.
//!
//! Everything on the wire is written here, minimally: an HTTP/1.1 client over
//! `TcpStream` / rustls, a DER walk to the leaf certificate's `notAfter`, a
//! DNS client for A/AAAA/CNAME/MX/TXT/NS, and ICMP echo over an unprivileged
//! datagram socket or, failing that, a raw socket.

mod der;
mod dns;
mod http;
mod net;
mod ping;
mod spec;
mod tls;

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

pub use spec::{
    BasicAuth, CheckSpec, DnsSpec, HttpSpec, MAX_PING_COUNT, PingSpec, RecordType, SpecError,
    StatusRange, TcpSpec, validate,
};

/// The part of a response body kept for keyword matching; the rest is not read.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Redirects followed at most when `follow_redirects` is set.
pub const MAX_REDIRECTS: usize = 5;

/// The result of one run of a check.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub up: bool,
    /// HTTP: the whole exchange; TCP: the connect; ping: the average round
    /// trip; DNS: the query.
    pub latency_ms: Option<f64>,
    /// HTTPS: days until the leaf certificate's `notAfter` (negative once
    /// expired); the smallest over all hops when redirects were followed.
    pub cert_days_left: Option<f64>,
    /// The certificate expires within `cert_warn_days`; `up` is unaffected.
    pub cert_warning: bool,
    /// Why the check is down, or the warning when it is up with one.
    pub error: Option<String>,
    /// What was seen: status line, resolved answers, ping loss and round trips.
    pub detail: Option<String>,
}

impl Outcome {
    pub(crate) fn down(error: impl Into<String>) -> Self {
        Outcome {
            up: false,
            error: Some(error.into()),
            ..Outcome::default()
        }
    }
}

/// Settings that are not part of a check's spec.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// PEM certificates trusted for HTTPS in addition to the webpki roots
    /// (a private CA; tests use it for their own CA).
    pub extra_roots_pem: Option<String>,
}

/// Runs `spec` once, never taking (much) longer than `timeout`.
pub fn run(spec: &CheckSpec, timeout: Duration) -> Outcome {
    run_with(spec, timeout, &Options::default())
}

/// [`run`] with [`Options`].
pub fn run_with(spec: &CheckSpec, timeout: Duration, options: &Options) -> Outcome {
    if let Err(e) = validate(spec) {
        return Outcome::down(format!("invalid check: {e}"));
    }
    let deadline = Deadline::after(timeout);
    match spec {
        CheckSpec::Http(s) => http::run(s, deadline, options),
        CheckSpec::Tcp(s) => net::run_tcp(s, deadline),
        CheckSpec::Ping(s) => ping::run(s, deadline),
        CheckSpec::Dns(s) => dns::run(s, deadline),
    }
}

/// The instant a probe must give up, and the time it has left.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline {
    start: Instant,
    end: Instant,
}

impl Deadline {
    pub(crate) fn after(timeout: Duration) -> Self {
        let start = Instant::now();
        Deadline {
            start,
            end: start + timeout,
        }
    }

    /// Time left; zero once passed.
    pub(crate) fn remaining(&self) -> Duration {
        self.end.saturating_duration_since(Instant::now())
    }

    /// Time left, or a `TimedOut` error once none is.
    pub(crate) fn left(&self) -> std::io::Result<Duration> {
        let r = self.remaining();
        if r.is_zero() {
            Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "timed out",
            ))
        } else {
            Ok(r)
        }
    }

    pub(crate) fn elapsed_ms(&self) -> f64 {
        ms(self.start.elapsed())
    }

    pub(crate) fn timeout(&self) -> Duration {
        self.end - self.start
    }
}

pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
