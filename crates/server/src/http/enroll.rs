//! Enrolling new agents: the install script, the agent binary it downloads,
//! and the exchange of an enrollment token for the host's own agent key.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::authz::AuditNote;
use super::error::{ApiError, ApiResult};
use crate::auth::{self, SecretKind};
use crate::state::AppState;

const INSTALL_SCRIPT: &str = include_str!("../../../../deploy/install.sh");
const AGENT_UNIT: &str = include_str!("../../../../deploy/lxmon-agent.service");

#[derive(Deserialize, ToSchema)]
pub struct EnrollRequest {
    /// The `lxe_…` enrollment token.
    pub token: String,
    pub hostname: String,
}

#[derive(Serialize, ToSchema)]
pub struct EnrollResponse {
    /// This host's own agent key.
    pub key: String,
}

/// Exchange an enrollment token for a new agent key (install script).
#[utoipa::path(post, path = "/api/agent/enroll", tag = "agent", request_body = EnrollRequest,
    responses((status = 200, body = EnrollResponse), (status = 401, body = lxmon_proto::ErrorBody),
        (status = 422, body = lxmon_proto::ErrorBody), (status = 429, body = lxmon_proto::ErrorBody)))]
pub async fn enroll(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    body: Result<Json<EnrollRequest>, JsonRejection>,
) -> ApiResult<Response> {
    let ip_key = format!("ip:{}", client.ip());
    if let Err(wait) = state.limits.agent_auth_per_ip.check(&ip_key) {
        return Err(ApiError::too_many(
            wait,
            "too many failed attempts; try again later",
        ));
    }
    let Json(req) = body?;
    if !lxmon_proto::valid_hostname(&req.hostname) {
        return Err(ApiError::unprocessable(
            "invalid_hostname",
            "hostname is empty, too long or has whitespace",
        ));
    }
    let refused = |state: &AppState| {
        state.limits.agent_auth_per_ip.fail(&ip_key);
        tracing::warn!(client = %client.ip(), "enrollment refused");
        ApiError::unauthorized("unknown enrollment token")
    };
    let Some((token_id, secret)) = auth::parse_secret(SecretKind::EnrollmentToken, &req.token)
    else {
        return Err(refused(&state));
    };
    let (token_id, secret) = (token_id.to_owned(), secret.to_owned());
    let lookup = token_id.clone();
    let token = state.blocking(move |s| s.enrollment_token(&lookup)).await?;
    let Some(token) = token.filter(|t| auth::secret_matches(&secret, &t.secret_sha256)) else {
        return Err(refused(&state));
    };
    let key = auth::generate_agent_key();
    let (key_id, digest, name) = (
        key.id.clone(),
        key.secret_sha256,
        format!("enrolled:{}", req.hostname),
    );
    let created = state
        .blocking(move |s| {
            s.redeem_enrollment_token(&token_id, crate::now_ms(), &name, &key_id, &digest)
        })
        .await;
    let note = AuditNote {
        action: "agent.enroll".into(),
        target: format!("host {}", req.hostname),
        actor: Some(format!("enrollment token {}", token.id)),
        tenant: Some(token.tenant_id),
        detail: String::new(),
    };
    match created {
        Ok(_) => Ok(note.attach(Json(EnrollResponse { key: key.full }))),
        Err(e) => Ok(AuditNote {
            detail: e.message.clone(),
            ..note
        }
        .attach(e)),
    }
}

fn text(body: String, content_type: &'static str) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}

/// The server's own base URL as the client reached it.
fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".:-[]".contains(&b))
        })
        .unwrap_or("localhost:8080");
    format!("http://{host}")
}

/// The agent install script (`curl -fsSL …/install.sh | sudo sh -s -- --token …`).
#[utoipa::path(get, path = "/install.sh", tag = "agent", responses((status = 200, content_type = "text/x-shellscript", body = String)))]
pub async fn install_script(headers: HeaderMap) -> Response {
    text(
        INSTALL_SCRIPT.replace("__LXMON_SERVER__", &base_url(&headers)),
        "text/x-shellscript; charset=utf-8",
    )
}

/// The agent's systemd unit.
#[utoipa::path(get, path = "/download/lxmon-agent.service", tag = "agent", responses((status = 200, content_type = "text/plain", body = String)))]
pub async fn agent_unit() -> Response {
    text(AGENT_UNIT.to_owned(), "text/plain; charset=utf-8")
}

/// The agent binary: the `lxmon-agent` installed beside this server.
#[utoipa::path(get, path = "/download/lxmon-agent", tag = "agent",
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 404, body = lxmon_proto::ErrorBody)))]
pub async fn agent_binary() -> ApiResult<Response> {
    let path = std::env::current_exe()
        .map_err(|e| ApiError::internal("locating the agent binary", e))?
        .with_file_name("lxmon-agent");
    let bytes = tokio::fs::read(&path).await.map_err(|_| {
        ApiError::not_found("agent binary (install lxmon-agent beside lxmon-server)")
    })?;
    let mut r = (StatusCode::OK, bytes).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    Ok(r)
}
