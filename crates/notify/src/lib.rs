//! Notification channels for lxmon (DESIGN §7): SMTP email, Slack, Microsoft
//! Teams, Telegram, the WhatsApp Cloud API and signed generic webhooks.
//!
//! The server stores one [`ChannelConfig`] per channel, builds a
//! [`Notification`] when an alert rule fires or resolves (or when a user
//! asks for a test), and calls [`send`]. Each channel posts the format its
//! service documents (see [`render`], which the server can also use to
//! preview a message without sending it).
//!
//! # Synchronous by design
//!
//! Everything here is blocking: HTTP through `ureq`, SMTP through
//! `std::net::TcpStream`. The server calls [`send`] from
//! `tokio::task::spawn_blocking`, so this crate needs no async runtime,
//! and every call is bounded: each attempt by [`SendOptions::timeout`]
//! (connect, TLS, request and response together), the whole call by
//! `attempts × timeout` plus the pauses between attempts. (Name resolution
//! for SMTP uses the system resolver, which std cannot time out.)
//!
//! # Retries
//!
//! Connection errors, timeouts, HTTP 408, 429 and 5xx, and SMTP 4xx replies
//! are retried up to [`SendOptions::attempts`] times, pausing
//! [`SendOptions::backoff`] and doubling it each time; a `Retry-After` (or
//! Telegram's `retry_after`) replaces the pause, capped at 30 s. Other
//! failures (4xx, SMTP 5xx, TLS, wrong password) return at once:
//! [`NotifyError::is_retryable`] tells which is which.
//!
//! # Secrets
//!
//! A Slack or Teams webhook URL, a Telegram bot token, a WhatsApp access
//! token, an SMTP password, a webhook's HMAC key and credential-like webhook
//! headers are secrets. They never appear in a [`NotifyError`] (errors name
//! the host, never the URL, and text quoted from a server has the channel's
//! secrets masked), in `Debug` output of a configuration, or in
//! [`ChannelConfig::redacted`], the form for API responses. This crate logs
//! nothing. (`ureq` writes `log` records at debug level that can include a
//! request URL; lxmon installs no `log` backend, and one added later should
//! keep `ureq` at `info` or above.)
//!
//! # Email without a mail library
//!
//! SMTP is a small hand-written client (EHLO, STARTTLS or implicit TLS,
//! AUTH PLAIN/LOGIN, MAIL/RCPT/DATA with dot-stuffing, QUIT) over the
//! rustls + ring stack that `ureq` already brings. `lettre` with lean
//! features would still add its address parser, IDNA tables, MIME builder
//! and a second way to configure TLS; one plain-text message per alert
//! needs none of that, and the client here is a few hundred lines with
//! tests against a real SMTP server. Its safety rules:
//! - `security: starttls` fails when STARTTLS is not offered: mail is never
//!   sent in clear text that was meant to be encrypted;
//! - AUTH is sent only over TLS, or in clear only when `security: none` was
//!   chosen explicitly;
//! - addresses are validated plain ASCII `local@domain`, the subject is
//!   freed of control characters and RFC 2047-encoded when not ASCII, so
//!   header injection is impossible;
//! - certificates are checked against the bundled webpki roots plus the
//!   channel's optional `ca_cert_pem`.
//!
//! # Signatures
//!
//! A generic webhook with a `secret` carries
//! `X-Lxmon-Signature: sha256=<hex HMAC-SHA256(secret, body)>` over the
//! exact bytes sent; [`verify`] checks such values (and GitHub-style
//! `X-Hub-Signature-256` ones) in constant time.

mod config;
mod error;
mod http;
mod model;
pub mod render;
mod retry;
mod sign;
mod smtp;
mod time;

use std::time::Duration;

pub use config::{
    ChannelConfig, ConfigError, EmailConfig, MAX_HEADERS, MAX_RECIPIENTS, SlackConfig, TeamsConfig,
    TelegramConfig, TlsMode, WebhookConfig, WhatsappConfig, is_sensitive_header,
};
pub use error::NotifyError;
pub use model::{AlertItem, Notification, NotificationStatus};
pub use retry::MAX_RETRY_AFTER;
pub use sign::{SIGNATURE_HEADER, sign, verify};

/// How hard [`send`] tries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendOptions {
    /// Bound on one attempt: connect, TLS, request and response together.
    pub timeout: Duration,
    /// Attempts in all, the first included (0 is taken as 1).
    pub attempts: u32,
    /// Pause after the first failed attempt, doubled after each further one.
    pub backoff: Duration,
}

impl Default for SendOptions {
    /// 10 s per attempt, 3 attempts, 1 s then 2 s between them.
    fn default() -> Self {
        SendOptions {
            timeout: Duration::from_secs(10),
            attempts: 3,
            backoff: Duration::from_secs(1),
        }
    }
}

/// A successful delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// Requests (or SMTP sessions) made, retries included; for WhatsApp,
    /// summed over the recipients.
    pub attempts: u32,
    /// The last HTTP status, or the SMTP reply code to the message (250).
    pub status: Option<u16>,
}

/// Validates `cfg`, renders `n` for its channel and delivers it, retrying
/// as [`SendOptions`] says. Blocks: call it from a blocking thread.
pub fn send(
    cfg: &ChannelConfig,
    n: &Notification,
    opts: &SendOptions,
) -> Result<Delivery, NotifyError> {
    cfg.validate()?;
    let secrets = cfg.secret_values();
    match cfg {
        ChannelConfig::Email(c) => {
            let mut attempts = 0;
            let status = retry::retrying(opts, &mut attempts, || {
                smtp::send_once(c, n, opts.timeout, &secrets)
            })?;
            Ok(Delivery { attempts, status })
        }
        ChannelConfig::Slack(c) => http::send_slack(&c.webhook_url, n, opts, &secrets),
        ChannelConfig::Teams(c) => http::send_teams(&c.webhook_url, n, opts, &secrets),
        ChannelConfig::Telegram(c) => http::send_telegram(c, n, opts, &secrets),
        ChannelConfig::Whatsapp(c) => http::send_whatsapp(c, n, opts, &secrets),
        ChannelConfig::Webhook(c) => http::send_webhook(c, n, opts, &secrets),
    }
}
