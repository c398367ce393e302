//! Why a notification was not delivered.

use crate::config::ConfigError;

/// What failed, never with a secret in it: hosts are named but not URLs
/// (a Slack URL or a Telegram bot token is the credential), and text that
/// came back from a server has the channel's secrets masked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NotifyError {
    /// The configuration did not pass [`ChannelConfig::validate`](crate::ChannelConfig::validate).
    #[error("invalid channel configuration: {0}")]
    Config(#[from] ConfigError),

    /// DNS, TCP connect, or the connection dropped mid-way. Retryable.
    #[error("{channel}: cannot reach {host}: {detail}")]
    Connect {
        channel: &'static str,
        host: String,
        detail: String,
    },

    /// No complete answer within [`SendOptions::timeout`](crate::SendOptions::timeout). Retryable.
    #[error("{channel}: no answer from {host} within {timeout_ms} ms")]
    Timeout {
        channel: &'static str,
        host: String,
        timeout_ms: u64,
    },

    /// TLS handshake or certificate verification failed. Not retried: a
    /// wrong certificate does not fix itself within seconds.
    #[error("{channel}: TLS with {host} failed: {detail}")]
    Tls {
        channel: &'static str,
        host: String,
        detail: String,
    },

    /// A non-2xx HTTP status. Retryable for 408, 429 and 5xx.
    #[error("{channel}: {host} answered HTTP {status}{}", detail_suffix(detail))]
    Http {
        channel: &'static str,
        host: String,
        status: u16,
        /// The start of the response body (secrets masked), may be empty.
        detail: String,
    },

    /// The service answered 2xx but refused the message (Telegram's
    /// `"ok": false`), or answered something that is not its API. Not retried.
    #[error("{channel}: {host} refused the message: {detail}")]
    Rejected {
        channel: &'static str,
        host: String,
        detail: String,
    },

    /// `security: starttls` but the server does not offer STARTTLS: nothing
    /// was sent (never falls back to clear text).
    #[error("email: {host} does not offer STARTTLS; refusing to send in clear text")]
    StartTlsUnavailable { host: String },

    /// The SMTP server refused the username or password (535), or
    /// failed temporarily (454, retryable).
    #[error("email: {host} rejected the login ({code}{})", detail_suffix(detail))]
    AuthFailed {
        host: String,
        code: u16,
        detail: String,
    },

    /// Credentials are configured but the server offers no AUTH mechanism
    /// lxmon speaks (PLAIN, LOGIN) on this connection.
    #[error("email: {host} offers no supported AUTH mechanism (PLAIN or LOGIN)")]
    AuthUnsupported { host: String },

    /// An SMTP command was refused. Retryable for 4xx (transient) replies.
    #[error("email: {host} answered {code} to {stage}{}", detail_suffix(detail))]
    Smtp {
        host: String,
        /// `greeting`, `EHLO`, `MAIL FROM`, `RCPT TO`, `DATA`, `message`, ...
        stage: &'static str,
        code: u16,
        detail: String,
    },

    /// The server's answer could not be understood.
    #[error("{channel}: unexpected answer from {host}: {detail}")]
    Protocol {
        channel: &'static str,
        host: String,
        detail: String,
    },
}

fn detail_suffix(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(": {detail}")
    }
}

impl NotifyError {
    /// Whether trying again later may succeed: connection errors, timeouts,
    /// HTTP 408/429/5xx, SMTP 4xx replies.
    pub fn is_retryable(&self) -> bool {
        match self {
            NotifyError::Connect { .. } | NotifyError::Timeout { .. } => true,
            NotifyError::Http { status, .. } => {
                *status == 408 || *status == 429 || (500..600).contains(status)
            }
            NotifyError::Smtp { code, .. } | NotifyError::AuthFailed { code, .. } => {
                (400..500).contains(code)
            }
            NotifyError::Config(_)
            | NotifyError::Tls { .. }
            | NotifyError::Rejected { .. }
            | NotifyError::StartTlsUnavailable { .. }
            | NotifyError::AuthUnsupported { .. }
            | NotifyError::Protocol { .. } => false,
        }
    }

    /// The HTTP status or SMTP reply code, when the server gave one.
    pub fn status(&self) -> Option<u16> {
        match self {
            NotifyError::Http { status, .. } => Some(*status),
            NotifyError::Smtp { code, .. } | NotifyError::AuthFailed { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// `text` with each secret replaced by `<redacted>`, control characters
/// turned into spaces and cut at `max` characters: for server answers
/// quoted in errors.
pub(crate) fn scrub(text: &str, secrets: &[String], max: usize) -> String {
    let mut s: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    for secret in secrets {
        if !secret.is_empty() && s.contains(secret.as_str()) {
            s = s.replace(secret.as_str(), "<redacted>");
        }
    }
    crate::render::truncate(s.trim(), max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable() {
        let http = |status| NotifyError::Http {
            channel: "slack",
            host: "h".into(),
            status,
            detail: String::new(),
        };
        assert!(http(500).is_retryable());
        assert!(http(503).is_retryable());
        assert!(http(429).is_retryable());
        assert!(!http(400).is_retryable());
        assert!(!http(404).is_retryable());
        assert_eq!(http(404).to_string(), "slack: h answered HTTP 404");
        let smtp = |code| NotifyError::Smtp {
            host: "h".into(),
            stage: "RCPT TO",
            code,
            detail: "x".into(),
        };
        assert!(smtp(451).is_retryable());
        assert!(!smtp(550).is_retryable());
        assert_eq!(smtp(550).to_string(), "email: h answered 550 to RCPT TO: x");
    }

    #[test]
    fn scrub_masks_secrets() {
        let s = scrub(
            "Cannot POST /bot123:SECRET/sendMessage\r\nmore",
            &["123:SECRET".into()],
            200,
        );
        assert_eq!(s, "Cannot POST /bot<redacted>/sendMessage  more");
    }
}
