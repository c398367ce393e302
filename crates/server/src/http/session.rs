//! Dashboard login: username and password in, session token out.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use lxmon_store::Role;
use serde::{Deserialize, Serialize};
use std::sync::atomic::Ordering::Relaxed;
use utoipa::ToSchema;

use super::error::{ApiError, ApiResult};
use super::extract::Session;
use crate::auth::{Claims, verify_password};
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    /// Unix seconds.
    pub expires_at: i64,
    pub username: String,
    pub role: Role,
}

/// Exchange credentials for a session token (HS256 JWT, 60 min by default).
#[utoipa::path(post, path = "/api/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = lxmon_proto::ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    body: Result<Json<LoginRequest>, JsonRejection>,
) -> ApiResult<Json<LoginResponse>> {
    let Json(req) = body?;
    if req.username.len() > 128 || req.password.len() > 1024 {
        return Err(ApiError::unauthorized("wrong username or password"));
    }
    let username = req.username.clone();
    let user = state.blocking(move |s| s.user_by_name(&username)).await?;
    // Verify against a real hash even for unknown users, so timing does not
    // reveal which usernames exist.
    let hash = user
        .as_ref()
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(|| DUMMY_HASH.with(|h| h.clone()));
    let password = req.password;
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash)).await?;
    let user = match user {
        Some(u) if ok && !u.disabled => u,
        _ => {
            state.telemetry.login_failures.fetch_add(1, Relaxed);
            tracing::warn!(username = %req.username.chars().take(64).collect::<String>(), "login failed");
            return Err(ApiError::unauthorized("wrong username or password"));
        }
    };
    let now = crate::now_ms() / 1000;
    let claims = Claims {
        sub: user.id,
        tenant: user.tenant_id,
        role: user.role,
        name: user.username.clone(),
        iat: now,
        exp: now + state.config.session_ttl.as_secs() as i64,
    };
    tracing::info!(username = %user.username, "login");
    Ok(Json(LoginResponse {
        token: state.sessions.issue(&claims),
        expires_at: claims.exp,
        username: user.username,
        role: user.role,
    }))
}

thread_local! {
    static DUMMY_HASH: String = crate::auth::hash_password("lxmon-timing-equaliser");
}

#[derive(Serialize, ToSchema)]
pub struct WhoAmI {
    pub user_id: i64,
    pub username: String,
    pub tenant_id: i64,
    pub role: Role,
    /// Unix seconds when the session ends.
    pub expires_at: i64,
}

/// The caller's identity, from the session token.
#[utoipa::path(get, path = "/api/auth/me", tag = "auth",
    responses((status = 200, body = WhoAmI), (status = 401, body = lxmon_proto::ErrorBody)),
    security(("session" = [])))]
pub async fn me(Session(claims): Session) -> Json<WhoAmI> {
    Json(WhoAmI {
        user_id: claims.sub,
        username: claims.name,
        tenant_id: claims.tenant,
        role: claims.role,
        expires_at: claims.exp,
    })
}
