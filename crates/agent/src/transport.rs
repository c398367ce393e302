//! Blocking HTTP(S) client for the agent API.
//!
//! Every request carries `Authorization: Bearer <key>` and
//! `User-Agent: lxmon-agent/<version>`. Report bodies are JSON (one report)
//! or NDJSON (a batch, oldest first), compressed with zstd and the shared
//! dictionary ([`lxmon_proto::compress`]).
//!
//! Failures are sorted into what the caller should do about them
//! ([`SendError`]): retry later, fix the key, or give up on this payload.

use std::time::Duration;

use lxmon_proto::compress::{
    DICT_HEADER, DICT_REPORT_PREFIX, DICT_V1, compress_against, compress_with_dict,
};
use lxmon_proto::{
    AUTH_SCHEME, AgentCheckResults, AgentConfig, BatchAck, CommandPoll, CommandUpdate,
    CommandUpdateAck, ErrorBody, Heartbeat, HeartbeatAck, MetricsAck, RegisterRequest,
    RegisterResponse,
};
use serde::de::DeserializeOwned;

use crate::config::Secret;

/// Largest response body read; the agent API's answers are tiny.
const MAX_RESPONSE_BYTES: u64 = 256 * 1024;
/// Largest command poll read (commands carry up to 16 arguments of 1 KiB).
const MAX_POLL_RESPONSE_BYTES: u64 = 4 * 1024 * 1024;

/// What went wrong with a request, by what to do next.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SendError {
    /// Unreachable, timed out, overloaded (5xx, 429) or mis-addressed (404):
    /// keep the data and retry later.
    #[error("{0}")]
    Transient(String),
    /// The server refused the agent key (401/403): retry later, the operator
    /// has to fix the key or re-enable the host.
    #[error("the server refused the agent key (HTTP {status}): {message}")]
    Unauthorized { status: u16, message: String },
    /// The server refused this payload as invalid (other 4xx): resending it
    /// unchanged would fail the same way.
    #[error("the server refused the request (HTTP {status} {code}): {message}")]
    Rejected {
        status: u16,
        code: String,
        message: String,
        /// For a batch: the 1-based line of the refused report.
        line: Option<usize>,
    },
}

/// Why a command update did not land.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UpdateError {
    /// Unreachable, timed out, 5xx, 408 or 429: send the same update again.
    #[error("{0}")]
    Retry(String),
    /// Any other 4xx (404: not this host's command): resending cannot help;
    /// the command's updates are dropped.
    #[error("the server refused the update (HTTP {status}): {message}")]
    Refused { status: u16, message: String },
}

/// Why check results did not land.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ResultsError {
    /// Unreachable, timed out, 5xx, 408, 429 or the key refused (401/403):
    /// keep the results and send them again later.
    #[error("{0}")]
    Retry(String),
    /// 404: the check is not (or no longer) one this host's agent runs;
    /// its results can never land.
    #[error("the server does not know this check for this host (HTTP 404): {0}")]
    UnknownCheck(String),
    /// Any other 4xx: the payload is refused as it is; resending cannot help.
    #[error("the server refused the results (HTTP {status}): {message}")]
    Refused { status: u16, message: String },
}

/// Sorts an HTTP error status into a [`SendError`], reading the server's
/// JSON error body when there is one.
pub fn classify(status: u16, body: &[u8]) -> SendError {
    let (code, message, line) = parse_error_body(body);
    match status {
        401 | 403 => SendError::Unauthorized { status, message },
        // 404/405: wrong URL or an older server, not a bad report; 408/429:
        // the server asked us to come back later.
        404 | 405 => SendError::Transient(format!(
            "HTTP {status} from the server: is the server URL right? {message}"
        )),
        408 | 429 => SendError::Transient(format!("HTTP {status}: server busy, will retry")),
        400..=499 => SendError::Rejected {
            status,
            code,
            message,
            line,
        },
        _ => SendError::Transient(format!("HTTP {status} from the server: {message}")),
    }
}

/// `(code, message, line)` of the server's JSON error body, or the start
/// of whatever else it sent.
fn parse_error_body(body: &[u8]) -> (String, String, Option<usize>) {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(b) => (b.error.code, b.error.message, b.error.line),
        Err(_) => (
            String::new(),
            String::from_utf8_lossy(&body[..body.len().min(200)])
                .trim()
                .to_owned(),
            None,
        ),
    }
}

/// The agent API client.
pub struct Transport {
    http: ureq::Agent,
    base: String,
    auth: String,
}

impl Transport {
    /// `server` is the base URL (no trailing slash); `timeout` bounds each
    /// whole request, connection included.
    pub fn new(server: &str, key: &Secret, timeout: Duration) -> Transport {
        let http = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .timeout_connect(Some(timeout.min(Duration::from_secs(5))))
            .http_status_as_error(false)
            .user_agent(format!("lxmon-agent/{}", crate::AGENT_VERSION))
            // A redirect would turn a POST into a GET or drop the body; an
            // agent should be pointed at the right URL instead.
            .max_redirects(0)
            .max_idle_connections(1)
            .max_idle_connections_per_host(1)
            .build()
            .new_agent();
        Transport {
            http,
            base: server.trim_end_matches('/').to_owned(),
            auth: format!("{AUTH_SCHEME} {}", key.expose()),
        }
    }

    /// `POST /api/agent/register`.
    pub fn register(&self, req: &RegisterRequest) -> Result<RegisterResponse, SendError> {
        let body = serde_json::to_vec(req).expect("RegisterRequest serializes");
        self.post_json("/api/agent/register", &body)
    }

    /// `POST /api/agent/metrics` with one report's JSON.
    pub fn send_report(&self, report_json: &[u8]) -> Result<MetricsAck, SendError> {
        let body = compress_with_dict(report_json);
        self.post_compressed("/api/agent/metrics", "application/json", DICT_V1, &body)
    }

    /// `POST /api/agent/metrics` with one report's JSON compressed against
    /// `base`, the exact JSON of report `base_seq`, which the server
    /// acknowledged last. A server that does not hold that base answers 409
    /// [`lxmon_proto::compress::UNKNOWN_BASE`] (a [`SendError::Rejected`]):
    /// then send the report with [`Transport::send_report`].
    pub fn send_report_against(
        &self,
        report_json: &[u8],
        base_seq: u64,
        base: &[u8],
    ) -> Result<MetricsAck, SendError> {
        let body = compress_against(report_json, base);
        let dict = format!("{DICT_REPORT_PREFIX}{base_seq}");
        self.post_compressed("/api/agent/metrics", "application/json", &dict, &body)
    }

    /// `POST /api/agent/metrics/batch` with NDJSON, oldest report first.
    pub fn send_batch(&self, ndjson: &[u8]) -> Result<BatchAck, SendError> {
        let body = compress_with_dict(ndjson);
        self.post_compressed(
            "/api/agent/metrics/batch",
            "application/x-ndjson",
            DICT_V1,
            &body,
        )
    }

    /// `POST /api/agent/heartbeat`.
    pub fn heartbeat(&self, hb: &Heartbeat) -> Result<HeartbeatAck, SendError> {
        let body = serde_json::to_vec(hb).expect("Heartbeat serializes");
        self.post_json("/api/agent/heartbeat", &body)
    }

    /// `GET /api/agent/config`.
    pub fn fetch_config(&self) -> Result<AgentConfig, SendError> {
        let url = format!("{}/api/agent/config", self.base);
        let result = self
            .http
            .get(&url)
            .header("Authorization", &self.auth)
            .call();
        finish(result)
    }

    /// `GET /api/agent/commands?wait=SECS`: new commands and cancellations,
    /// after at most `wait_s` seconds. The transport's timeout must exceed
    /// the wait.
    pub fn poll_commands(&self, wait_s: u32) -> Result<CommandPoll, SendError> {
        let url = format!("{}/api/agent/commands", self.base);
        let result = self
            .http
            .get(&url)
            .query("wait", wait_s.to_string())
            .header("Authorization", &self.auth)
            .call();
        finish_limited(result, MAX_POLL_RESPONSE_BYTES)
    }

    /// `POST /api/agent/command-result` with one update.
    pub fn send_command_update(
        &self,
        update: &CommandUpdate,
    ) -> Result<CommandUpdateAck, UpdateError> {
        let body = serde_json::to_vec(update).expect("CommandUpdate serializes");
        let url = format!("{}/api/agent/command-result", self.base);
        let result = self
            .http
            .post(&url)
            .header("Authorization", &self.auth)
            .header("Content-Type", "application/json")
            .send(&body[..]);
        let (status, body) = read_response(result, MAX_RESPONSE_BYTES)
            .map_err(|e| UpdateError::Retry(e.to_string()))?;
        match status {
            200..=299 => serde_json::from_slice(&body).map_err(|e| {
                UpdateError::Retry(format!(
                    "unexpected response from the server (HTTP {status}): {e}"
                ))
            }),
            408 | 429 => Err(UpdateError::Retry(format!(
                "HTTP {status}: server busy, will retry"
            ))),
            400..=499 => {
                let (code, message, _) = parse_error_body(&body);
                let message = if code.is_empty() {
                    message
                } else {
                    format!("{code}: {message}")
                };
                Err(UpdateError::Refused { status, message })
            }
            _ => Err(UpdateError::Retry(classify(status, &body).to_string())),
        }
    }

    /// `POST /api/agent/check-results` (answered 204 without a body).
    pub fn send_check_results(&self, results: &AgentCheckResults) -> Result<(), ResultsError> {
        let body = serde_json::to_vec(results).expect("AgentCheckResults serializes");
        let url = format!("{}/api/agent/check-results", self.base);
        let result = self
            .http
            .post(&url)
            .header("Authorization", &self.auth)
            .header("Content-Type", "application/json")
            .send(&body[..]);
        let (status, body) = read_response(result, MAX_RESPONSE_BYTES)
            .map_err(|e| ResultsError::Retry(e.to_string()))?;
        match status {
            200..=299 => Ok(()),
            404 => Err(ResultsError::UnknownCheck(parse_error_body(&body).1)),
            401 | 403 | 408 | 429 => Err(ResultsError::Retry(classify(status, &body).to_string())),
            400..=499 => {
                let (code, message, _) = parse_error_body(&body);
                let message = if code.is_empty() {
                    message
                } else {
                    format!("{code}: {message}")
                };
                Err(ResultsError::Refused { status, message })
            }
            _ => Err(ResultsError::Retry(classify(status, &body).to_string())),
        }
    }

    fn post_json<T: DeserializeOwned>(&self, path: &str, body: &[u8]) -> Result<T, SendError> {
        let url = format!("{}{path}", self.base);
        let result = self
            .http
            .post(&url)
            .header("Authorization", &self.auth)
            .header("Content-Type", "application/json")
            .send(body);
        finish(result)
    }

    /// Posts a zstd body compressed with the dictionary `dict` names.
    fn post_compressed<T: DeserializeOwned>(
        &self,
        path: &str,
        content_type: &str,
        dict: &str,
        compressed: &[u8],
    ) -> Result<T, SendError> {
        let url = format!("{}{path}", self.base);
        let result = self
            .http
            .post(&url)
            .header("Authorization", &self.auth)
            .header("Content-Type", content_type)
            .header("Content-Encoding", "zstd")
            .header(DICT_HEADER, dict)
            .send(compressed);
        finish(result)
    }
}

fn finish<T: DeserializeOwned>(
    result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<T, SendError> {
    finish_limited(result, MAX_RESPONSE_BYTES)
}

/// The status and body of a response, read up to `limit` bytes.
fn read_response(
    result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    limit: u64,
) -> Result<(u16, Vec<u8>), SendError> {
    let mut response = result.map_err(|e| SendError::Transient(describe(&e)))?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .with_config()
        .limit(limit)
        .read_to_vec()
        .map_err(|e| SendError::Transient(format!("reading the response: {}", describe(&e))))?;
    Ok((status, body))
}

fn finish_limited<T: DeserializeOwned>(
    result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    limit: u64,
) -> Result<T, SendError> {
    let (status, body) = read_response(result, limit)?;
    if !(200..300).contains(&status) {
        return Err(classify(status, &body));
    }
    serde_json::from_slice(&body).map_err(|e| {
        // A 2xx we cannot read (a proxy's HTML page, an incompatible server):
        // nothing was confirmed, so keep the data and retry.
        SendError::Transient(format!(
            "unexpected response from the server (HTTP {status}): {e}"
        ))
    })
}

fn describe(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Timeout(t) => format!("timed out ({t:?})"),
        ureq::Error::HostNotFound => "server host name not found".to_owned(),
        ureq::Error::Io(io) => format!("connection error: {io}"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_what_to_do() {
        let body = br#"{"error":{"code":"invalid_report","message":"metric \"x\": value is NaN","line":3}}"#;
        assert_eq!(
            classify(400, body),
            SendError::Rejected {
                status: 400,
                code: "invalid_report".into(),
                message: "metric \"x\": value is NaN".into(),
                line: Some(3),
            }
        );
        assert!(matches!(
            classify(413, b""),
            SendError::Rejected {
                status: 413,
                line: None,
                ..
            }
        ));
        assert!(matches!(
            classify(422, b"not json"),
            SendError::Rejected { .. }
        ));
        assert!(matches!(
            classify(401, b""),
            SendError::Unauthorized { status: 401, .. }
        ));
        assert!(matches!(
            classify(403, b""),
            SendError::Unauthorized { status: 403, .. }
        ));
        for transient in [404, 405, 408, 429, 500, 502, 503, 504] {
            assert!(
                matches!(classify(transient, b""), SendError::Transient(_)),
                "{transient}"
            );
        }
    }

    #[test]
    fn an_unreachable_server_is_transient() {
        // Bind then drop a listener: the port is closed, connecting fails
        // at once.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let t = Transport::new(
            &format!("http://127.0.0.1:{port}"),
            &Secret::new("k"),
            Duration::from_secs(2),
        );
        let err = t.send_report(b"{}").unwrap_err();
        assert!(matches!(err, SendError::Transient(_)), "{err:?}");
        assert!(matches!(t.fetch_config(), Err(SendError::Transient(_))));
        let results = AgentCheckResults {
            results: Vec::new(),
        };
        assert!(matches!(
            t.send_check_results(&results),
            Err(ResultsError::Retry(_))
        ));
    }

    #[test]
    fn errors_never_contain_the_key() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let t = Transport::new(
            &format!("http://127.0.0.1:{port}"),
            &Secret::new("hunter2-key"),
            Duration::from_secs(1),
        );
        let err = t.heartbeat(&Heartbeat { ts: 1, spooled: 0 }).unwrap_err();
        assert!(!format!("{err} {err:?}").contains("hunter2"));
    }
}
