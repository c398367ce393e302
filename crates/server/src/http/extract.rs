//! Request extractors: who is calling (agent key or session token) and a
//! bounded, decoded body.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use lxmon_proto::compress::{self, DICT_HEADER, DecodeError, Encoding};
use lxmon_store::{AgentKey, TenantId};
use std::sync::atomic::Ordering::Relaxed;

use super::error::ApiError;
use crate::auth::{agent_secret_matches, parse_agent_key};
use crate::state::AppState;

/// The credential of an `Authorization: Bearer …` header (agent key or
/// session token).
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

/// The client's address as the listener saw it ("unknown" without one).
pub fn client_ip(extensions: &axum::http::Extensions) -> String {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// An authenticated agent: its key record and tenant.
pub struct AgentAuth {
    pub tenant: TenantId,
    pub key: AgentKey,
}

impl FromRequestParts<AppState> for AgentAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let ip_key = format!("ip:{}", client_ip(&parts.extensions));
        if let Err(wait) = state.limits.agent_auth_per_ip.check(&ip_key) {
            state.telemetry.rejected("rate_limited");
            return Err(ApiError::too_many(
                wait,
                "too many failed agent authentications from this address",
            ));
        }
        let presented = bearer(&parts.headers);
        let parsed = presented.and_then(parse_agent_key);
        let key = match parsed {
            Some((key_id, secret)) => match state.store.agent_key(key_id)? {
                Some(key)
                    if key.is_active(crate::now_ms())
                        && !key.tenant_suspended
                        && agent_secret_matches(secret, &key.secret_sha256) =>
                {
                    Some(key)
                }
                _ => None,
            },
            None => None,
        };
        match key {
            Some(key) => {
                // Last use is shown to admins; to the minute is enough, and
                // it is written with others in one batch, off this request.
                let now = crate::now_ms();
                if key.last_used_at.is_none_or(|t| now - t > 60_000) {
                    state.touches.key(&key.key_id, now);
                }
                Ok(AgentAuth {
                    tenant: key.tenant_id,
                    key,
                })
            }
            None => {
                state.limits.agent_auth_per_ip.fail(&ip_key);
                state.telemetry.agent_auth_failures.fetch_add(1, Relaxed);
                state.telemetry.rejected("unauthorized");
                // The key id is public; the secret is never logged.
                tracing::warn!(
                    key_id = parsed.map(|(id, _)| id).unwrap_or("-"),
                    client = %client_ip(&parts.extensions),
                    path = %parts.uri.path(),
                    "agent authentication failed"
                );
                Err(ApiError::unauthorized(
                    "missing, unknown or revoked agent key",
                ))
            }
        }
    }
}

/// Reads at most `limit` bytes of body and decodes its `Content-Encoding`,
/// refusing a decoded size above `limit` too. Errors are 413 or 400/415.
pub async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Vec<u8>, ApiError> {
    let (encoding, raw) = read_encoded(headers, body, limit).await?;
    if let Encoding::ZstdReport(_) = encoding {
        return Err(unsupported_encoding(
            "only POST /api/agent/metrics takes a body compressed against a previous report",
        ));
    }
    compress::decode(&raw, encoding, limit).map_err(decode_error)
}

/// A report body as [`read_body`] reads it, which may also be compressed
/// against an earlier report of the host (`x-lxmon-zstd-dict: report:<seq>`);
/// `base` finds that report's JSON. A delta body whose base the server does
/// not hold, or that does not decode against it, is a 409
/// [`lxmon_proto::compress::UNKNOWN_BASE`]: the agent then sends the report
/// whole, so nothing is lost.
pub async fn read_report_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    base: impl FnOnce(u64) -> Option<std::sync::Arc<[u8]>>,
) -> Result<ReportBody, ApiError> {
    let (encoding, raw) = read_encoded(headers, body, limit).await?;
    let wire_len = raw.len();
    let Encoding::ZstdReport(seq) = encoding else {
        let json = compress::decode(&raw, encoding, limit).map_err(decode_error)?;
        return Ok(ReportBody {
            json,
            wire_len,
            base_seq: None,
        });
    };
    let base = base(seq).ok_or_else(|| unknown_base(seq))?;
    match compress::decode_against(&raw, &base, limit) {
        Ok(json) => Ok(ReportBody {
            json,
            wire_len,
            base_seq: Some(seq),
        }),
        Err(DecodeError::TooLarge { limit }) => Err(decode_error(DecodeError::TooLarge { limit })),
        Err(DecodeError::Corrupt(..)) => Err(unknown_base(seq)),
    }
}

/// A report body read by [`read_report_body`].
pub struct ReportBody {
    /// The decoded JSON.
    pub json: Vec<u8>,
    /// Bytes as received.
    pub wire_len: usize,
    /// The base report's seq, for a delta body: a delta that decodes to
    /// malformed JSON was decoded against the wrong base.
    pub base_seq: Option<u64>,
}

/// The 409 for a delta body the server cannot decode.
pub fn unknown_base(seq: u64) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::CONFLICT,
        compress::UNKNOWN_BASE,
        format!("this server does not hold report {seq} of this host; send the report whole"),
    )
}

fn unsupported_encoding(message: &str) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_encoding",
        message,
    )
}

fn decode_error(e: DecodeError) -> ApiError {
    match e {
        DecodeError::TooLarge { limit } => {
            ApiError::too_large(format!("decoded body exceeds the limit of {limit} bytes"))
        }
        DecodeError::Corrupt(..) => ApiError::bad_request("bad_encoding", e.to_string()),
    }
}

/// The body's encoding and its raw bytes, at most `limit` of them.
async fn read_encoded(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<(Encoding, axum::body::Bytes), ApiError> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let encoding = Encoding::from_headers(header("content-encoding"), header(DICT_HEADER))
        .ok_or_else(|| unsupported_encoding("Content-Encoding must be identity, gzip or zstd"))?;
    if let Some(len) = header("content-length").and_then(|v| v.parse::<usize>().ok())
        && len > limit
    {
        return Err(ApiError::too_large(format!(
            "body of {len} bytes exceeds the limit of {limit}"
        )));
    }
    let raw = Limited::new(body, limit).collect().await.map_err(|e| {
        if e.downcast_ref::<LengthLimitError>().is_some() {
            ApiError::too_large(format!("body exceeds the limit of {limit} bytes"))
        } else {
            ApiError::bad_request("bad_body", format!("could not read body: {e}"))
        }
    })?;
    Ok((encoding, raw.to_bytes()))
}

/// Parses a JSON body read by [`read_body`].
pub fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request("bad_json", format!("malformed JSON: {e}")))
}
