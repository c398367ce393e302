//! The HTTP channels: Slack, Teams, Telegram, WhatsApp and the generic
//! webhook, over one blocking `ureq` agent per send.

use std::time::Duration;

use serde_json::Value;

use crate::config::{
    DEFAULT_TELEGRAM_API, DEFAULT_WHATSAPP_API, TelegramConfig, WebhookConfig, WhatsappConfig,
    url_host,
};
use crate::error::{NotifyError, scrub};
use crate::model::Notification;
use crate::render;
use crate::retry::{Failure, retrying};
use crate::sign::{SIGNATURE_HEADER, sign};
use crate::{Delivery, SendOptions};

/// Response bodies are read up to this size (they are only for errors and
/// Telegram's `ok`).
const MAX_RESPONSE: u64 = 64 * 1024;
const MAX_DETAIL: usize = 300;

pub(crate) struct Http<'a> {
    agent: ureq::Agent,
    channel: &'static str,
    timeout: Duration,
    secrets: &'a [String],
}

struct Response {
    status: u16,
    body: String,
    retry_after: Option<Duration>,
}

impl<'a> Http<'a> {
    pub(crate) fn new(channel: &'static str, opts: &SendOptions, secrets: &'a [String]) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(opts.timeout))
            .http_status_as_error(false)
            // A redirect would replay the message elsewhere (with its
            // credentials); a moved webhook should be reconfigured instead.
            .max_redirects(0)
            .max_redirects_will_error(false)
            .user_agent(format!("lxmon/{}", env!("CARGO_PKG_VERSION")))
            .max_idle_connections(2)
            .max_idle_connections_per_host(2)
            .build()
            .new_agent();
        Http {
            agent,
            channel,
            timeout: opts.timeout,
            secrets,
        }
    }

    fn map_err(&self, host: &str, e: ureq::Error) -> NotifyError {
        let channel = self.channel;
        let host = host.to_owned();
        let connect = |detail: String| NotifyError::Connect {
            channel,
            host: host.clone(),
            detail,
        };
        match e {
            ureq::Error::Timeout(_) => NotifyError::Timeout {
                channel,
                host,
                timeout_ms: self.timeout.as_millis() as u64,
            },
            ureq::Error::Io(io)
                if matches!(
                    io.kind(),
                    std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
                ) =>
            {
                NotifyError::Timeout {
                    channel,
                    host,
                    timeout_ms: self.timeout.as_millis() as u64,
                }
            }
            ureq::Error::Io(io) => connect(scrub(&io.to_string(), self.secrets, MAX_DETAIL)),
            ureq::Error::HostNotFound => connect("host name not found".to_owned()),
            ureq::Error::ConnectionFailed => connect("connection failed".to_owned()),
            ureq::Error::Rustls(e) => NotifyError::Tls {
                channel,
                host,
                detail: scrub(&e.to_string(), self.secrets, MAX_DETAIL),
            },
            ureq::Error::Tls(e) => NotifyError::Tls {
                channel,
                host,
                detail: e.to_owned(),
            },
            // Never quoted: these variants may carry the URL.
            ureq::Error::BadUri(_) | ureq::Error::Http(_) => NotifyError::Protocol {
                channel,
                host,
                detail: "the request could not be built from the configured URL or headers"
                    .to_owned(),
            },
            other => NotifyError::Protocol {
                channel,
                host,
                detail: scrub(&other.to_string(), self.secrets, MAX_DETAIL),
            },
        }
    }

    /// One POST of `body`; any response is returned, errors are mapped.
    fn post(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<Response, NotifyError> {
        let host = url_host(url);
        let mut req = self
            .agent
            .post(url)
            .header("Content-Type", "application/json");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let mut res = req.send(body).map_err(|e| self.map_err(&host, e))?;
        let status = res.status().as_u16();
        let retry_after = res
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(crate::time::parse_retry_after);
        let bytes = res
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE)
            .read_to_vec()
            .map_err(|e| self.map_err(&host, e))?;
        Ok(Response {
            status,
            body: String::from_utf8_lossy(&bytes).into_owned(),
            retry_after,
        })
    }

    /// The error for a non-2xx response, with what the body says (JSON
    /// `description`, `error.message`, `message` or `error`, else its start).
    fn status_err(&self, url: &str, r: &Response) -> Failure {
        Failure {
            error: NotifyError::Http {
                channel: self.channel,
                host: url_host(url),
                status: r.status,
                detail: scrub(&explain(&r.body), self.secrets, MAX_DETAIL),
            },
            retry_after: r.retry_after.or_else(|| telegram_retry_after(&r.body)),
        }
    }

    /// POSTs with retries; 2xx is success, `check` may still refuse the body.
    fn deliver(
        &self,
        opts: &SendOptions,
        total: &mut u32,
        url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        check: impl Fn(&Response) -> Result<(), String>,
    ) -> Result<u16, NotifyError> {
        retrying(opts, total, || {
            let r = self.post(url, headers, body)?;
            if !(200..300).contains(&r.status) {
                return Err(self.status_err(url, &r));
            }
            check(&r).map_err(|detail| NotifyError::Rejected {
                channel: self.channel,
                host: url_host(url),
                detail: scrub(&detail, self.secrets, MAX_DETAIL),
            })?;
            Ok(r.status)
        })
    }
}

/// The human part of an error body.
fn explain(body: &str) -> String {
    if let Ok(v) = serde_json::from_str::<Value>(body) {
        let pick = [
            v.get("description"),
            v.pointer("/error/message"),
            v.get("message"),
            v.get("error").filter(|e| e.is_string()),
        ];
        if let Some(s) = pick.into_iter().flatten().find_map(Value::as_str) {
            return s.to_owned();
        }
    }
    body.to_owned()
}

/// Telegram puts its flood-control wait in the body (`parameters.retry_after`).
fn telegram_retry_after(body: &str) -> Option<Duration> {
    let v: Value = serde_json::from_str(body).ok()?;
    v.pointer("/parameters/retry_after")?
        .as_u64()
        .map(Duration::from_secs)
}

fn json_bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).expect("JSON values serialize")
}

pub(crate) fn send_slack(
    url: &str,
    n: &Notification,
    opts: &SendOptions,
    secrets: &[String],
) -> Result<Delivery, NotifyError> {
    let http = Http::new("slack", opts, secrets);
    let body = json_bytes(&render::slack_payload(n));
    let mut attempts = 0;
    let status = http.deliver(opts, &mut attempts, url, &[], &body, |_| Ok(()))?;
    Ok(Delivery {
        attempts,
        status: Some(status),
    })
}

pub(crate) fn send_teams(
    url: &str,
    n: &Notification,
    opts: &SendOptions,
    secrets: &[String],
) -> Result<Delivery, NotifyError> {
    let http = Http::new("teams", opts, secrets);
    let body = json_bytes(&render::teams_payload(n));
    let mut attempts = 0;
    let status = http.deliver(opts, &mut attempts, url, &[], &body, |_| Ok(()))?;
    Ok(Delivery {
        attempts,
        status: Some(status),
    })
}

pub(crate) fn send_telegram(
    cfg: &TelegramConfig,
    n: &Notification,
    opts: &SendOptions,
    secrets: &[String],
) -> Result<Delivery, NotifyError> {
    let http = Http::new("telegram", opts, secrets);
    let base = cfg
        .api_base
        .as_deref()
        .unwrap_or(DEFAULT_TELEGRAM_API)
        .trim_end_matches('/');
    let url = format!("{base}/bot{}/sendMessage", cfg.bot_token);
    let body = json_bytes(&serde_json::json!({
        "chat_id": cfg.chat_id,
        "text": render::telegram_text(n),
        "parse_mode": "HTML",
        "disable_web_page_preview": true,
    }));
    let mut attempts = 0;
    let status = http.deliver(
        opts,
        &mut attempts,
        &url,
        &[],
        &body,
        |r| match serde_json::from_str::<Value>(&r.body) {
            Ok(v) if v.get("ok") == Some(&Value::Bool(true)) => Ok(()),
            Ok(v) => Err(v
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or("\"ok\" is not true")
                .to_owned()),
            Err(_) => Err("the answer is not Bot API JSON".to_owned()),
        },
    )?;
    Ok(Delivery {
        attempts,
        status: Some(status),
    })
}

/// One message per recipient, each with its own retries. Every recipient
/// is tried; the first failure is returned.
pub(crate) fn send_whatsapp(
    cfg: &WhatsappConfig,
    n: &Notification,
    opts: &SendOptions,
    secrets: &[String],
) -> Result<Delivery, NotifyError> {
    let http = Http::new("whatsapp", opts, secrets);
    let base = cfg
        .api_base
        .as_deref()
        .unwrap_or(DEFAULT_WHATSAPP_API)
        .trim_end_matches('/');
    let url = format!("{base}/{}/messages", cfg.phone_number_id);
    let auth = format!("Bearer {}", cfg.access_token);
    let text = render::whatsapp_text(n);
    let mut attempts = 0;
    let mut status = None;
    let mut first_err = None;
    for to in &cfg.to {
        let to = to.strip_prefix('+').unwrap_or(to);
        let body = json_bytes(&serde_json::json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "type": "text",
            "text": {"preview_url": false, "body": text},
        }));
        let r = http.deliver(
            opts,
            &mut attempts,
            &url,
            &[("Authorization", &auth)],
            &body,
            |r| match serde_json::from_str::<Value>(&r.body) {
                Ok(v) if v.get("messages").is_some_and(Value::is_array) => Ok(()),
                _ => Err("the answer has no \"messages\"".to_owned()),
            },
        );
        match r {
            Ok(s) => status = Some(s),
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(Delivery { attempts, status }),
    }
}

pub(crate) fn send_webhook(
    cfg: &WebhookConfig,
    n: &Notification,
    opts: &SendOptions,
    secrets: &[String],
) -> Result<Delivery, NotifyError> {
    let http = Http::new("webhook", opts, secrets);
    let body = render::webhook_body(n);
    let signature = cfg.secret.as_deref().map(|s| sign(s.as_bytes(), &body));
    let mut headers: Vec<(&str, &str)> = cfg
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    if let Some(sig) = &signature {
        headers.push((SIGNATURE_HEADER, sig));
    }
    let mut attempts = 0;
    let status = http.deliver(opts, &mut attempts, &cfg.url, &headers, &body, |_| Ok(()))?;
    Ok(Delivery {
        attempts,
        status: Some(status),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explains_error_bodies() {
        assert_eq!(
            explain(r#"{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}"#),
            "Bad Request: chat not found"
        );
        assert_eq!(
            explain(
                r#"{"error":{"message":"(#131030) Recipient phone number not in allowed list","code":131030}}"#
            ),
            "(#131030) Recipient phone number not in allowed list"
        );
        assert_eq!(explain("no_service"), "no_service");
        assert_eq!(
            telegram_retry_after(r#"{"ok":false,"parameters":{"retry_after":3}}"#),
            Some(Duration::from_secs(3))
        );
    }
}
