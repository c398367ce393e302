//! Dashboard sessions and the caller's own account: login (with the TOTP step
//! when enabled), refresh, logout, password change, second factor, and
//! accepting an invitation.

use axum::Json;
use std::net::SocketAddr;

use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, State};
use axum::response::Response;
use lxmon_store::{Role, User, UserPatch};
use serde::{Deserialize, Serialize};
use std::sync::atomic::Ordering::Relaxed;
use utoipa::ToSchema;

use super::authz::{AuditNote, Caller};
use super::error::{ApiError, ApiResult};
use crate::auth::{self, Claims, SecretKind, hash_password, totp, verify_password};
use crate::state::AppState;

/// Shortest password accepted when one is set or changed.
pub const MIN_PASSWORD_LEN: usize = 10;

pub fn check_new_password(password: &str) -> ApiResult<()> {
    if password.chars().count() < MIN_PASSWORD_LEN || password.len() > 1024 {
        return Err(ApiError::unprocessable(
            "weak_password",
            format!("passwords need at least {MIN_PASSWORD_LEN} characters"),
        ));
    }
    Ok(())
}

#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
    /// Six-digit code from the authenticator app, when the user has TOTP on.
    pub totp_code: Option<String>,
    /// One of the user's recovery codes, instead of a TOTP code.
    pub recovery_code: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    /// Unix seconds.
    pub expires_at: i64,
    pub username: String,
    pub role: Role,
    pub tenant_id: i64,
}

fn issue(state: &AppState, user: &User) -> LoginResponse {
    let now = crate::now_ms() / 1000;
    let claims = Claims {
        sub: user.id,
        epoch: user.session_epoch,
        tenant: user.tenant_id,
        role: user.role,
        name: user.username.clone(),
        iat: now,
        exp: now + state.config.session_ttl.as_secs() as i64,
    };
    LoginResponse {
        token: state.sessions.issue(&claims),
        expires_at: claims.exp,
        username: user.username.clone(),
        role: user.role,
        tenant_id: user.tenant_id,
    }
}

thread_local! {
    static DUMMY_HASH: String = auth::hash_password("lxmon-timing-equaliser");
}

/// Checks the second factor; `Ok(Some(codes))` when a recovery code was used
/// (the remaining codes to store).
fn second_factor(user: &User, req: &LoginRequest) -> Result<Option<Vec<String>>, ApiError> {
    let Some(secret) = &user.totp_secret else {
        return Ok(None);
    };
    if let Some(code) = &req.totp_code {
        return if totp::verify(secret, code, crate::now_ms() / 1000) {
            Ok(None)
        } else {
            Err(ApiError::new(
                axum::http::StatusCode::UNAUTHORIZED,
                "totp_invalid",
                "wrong authentication code",
            ))
        };
    }
    if let Some(code) = &req.recovery_code {
        let digest = auth::hex(&auth::sha256(code.trim()));
        if user.recovery_codes.contains(&digest) {
            return Ok(Some(
                user.recovery_codes
                    .iter()
                    .filter(|c| **c != digest)
                    .cloned()
                    .collect(),
            ));
        }
        return Err(ApiError::new(
            axum::http::StatusCode::UNAUTHORIZED,
            "totp_invalid",
            "wrong recovery code",
        ));
    }
    Err(ApiError::new(
        axum::http::StatusCode::UNAUTHORIZED,
        "totp_required",
        "enter the code from your authenticator app",
    ))
}

/// Exchange credentials for a session token (HS256 JWT, 60 min by default).
/// Rate-limited per account and per client address.
#[utoipa::path(post, path = "/api/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = lxmon_proto::ErrorBody),
        (status = 429, body = lxmon_proto::ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    body: Result<Json<LoginRequest>, JsonRejection>,
) -> Response {
    match login_inner(&state, body, &client.ip().to_string()).await {
        Ok((response, username)) => AuditNote {
            action: "auth.login".into(),
            target: format!("user {username}"),
            actor: Some(username),
            tenant: Some(response.tenant_id),
            ..Default::default()
        }
        .attach(Json(response)),
        Err((e, username)) => {
            // Recorded in the account's tenant, so its admins see attempts on it.
            let name = username.clone();
            let tenant = state
                .blocking(move |s| s.user_by_name(&name))
                .await
                .ok()
                .flatten()
                .map(|u| u.tenant_id);
            AuditNote {
                action: "auth.login".into(),
                target: format!("user {username}"),
                actor: Some(username),
                tenant,
                detail: e.code.to_owned(),
            }
            .attach(e)
        }
    }
}

async fn login_inner(
    state: &AppState,
    body: Result<Json<LoginRequest>, JsonRejection>,
    ip: &str,
) -> Result<(LoginResponse, String), (ApiError, String)> {
    let Json(req) = body.map_err(|e| (e.into(), "-".to_owned()))?;
    let shown: String = req.username.chars().take(64).collect();
    let fail = |e: ApiError| (e, shown.clone());
    let limits = &state.limits;
    let account_key = format!("user:{}", req.username.to_lowercase());
    let ip_key = format!("ip:{ip}");
    for key in [&account_key, &ip_key] {
        let limiter = if key.starts_with("user:") {
            &limits.login_per_account
        } else {
            &limits.login_per_ip
        };
        if let Err(wait) = limiter.check(key) {
            return Err(fail(ApiError::too_many(
                wait,
                "too many failed logins; try again later",
            )));
        }
    }
    if req.username.len() > 128 || req.password.len() > 1024 {
        return Err(fail(ApiError::unauthorized("wrong username or password")));
    }
    let username = req.username.clone();
    let user = state
        .blocking(move |s| s.user_by_name(&username))
        .await
        .map_err(fail)?;
    // Verify against a real hash even for unknown users, so timing does not
    // reveal which usernames exist.
    let hash = user
        .as_ref()
        .filter(|u| !u.password_hash.is_empty())
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(|| DUMMY_HASH.with(|h| h.clone()));
    let password = req.password.clone();
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .map_err(|e| fail(e.into()))?;
    let failed = |e: ApiError| {
        limits.login_per_account.fail(&account_key);
        limits.login_per_ip.fail(&ip_key);
        state.telemetry.login_failures.fetch_add(1, Relaxed);
        tracing::warn!(username = %shown, client = %ip, code = e.code, "login failed");
        (e, shown.clone())
    };
    let user = match user {
        Some(u) if ok && !u.disabled => u,
        _ => return Err(failed(ApiError::unauthorized("wrong username or password"))),
    };
    let tenant = user.tenant_id;
    if state
        .blocking(move |s| s.tenant(tenant))
        .await
        .map_err(fail)?
        .is_none_or(|t| t.suspended)
    {
        return Err(fail(ApiError::forbidden("this tenant is suspended")));
    }
    let remaining_codes = match second_factor(&user, &req) {
        Ok(r) => r,
        // Asking for the code is not a failed attempt; a wrong code is.
        Err(e) if e.code == "totp_required" => return Err(fail(e)),
        Err(e) => return Err(failed(e)),
    };
    let user = match remaining_codes {
        Some(codes) => {
            let (tenant, id) = (user.tenant_id, user.id);
            let patch = UserPatch {
                recovery_codes: Some(codes),
                ..Default::default()
            };
            state
                .blocking(move |s| s.update_user(tenant, id, &patch))
                .await
                .map_err(fail)?
        }
        None => user,
    };
    limits.login_per_account.reset(&account_key);
    tracing::info!(username = %user.username, "login");
    Ok((issue(state, &user), user.username.clone()))
}

/// A fresh token for the current session (same epoch), before it expires.
#[utoipa::path(post, path = "/api/auth/refresh", tag = "auth",
    responses((status = 200, body = LoginResponse), (status = 401, body = lxmon_proto::ErrorBody)),
    security(("session" = [])))]
pub async fn refresh(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<LoginResponse>> {
    let id = caller.user_id;
    let user = state
        .blocking(move |s| s.user_by_id(id))
        .await?
        .ok_or_else(|| ApiError::unauthorized("no such user"))?;
    Ok(Json(issue(&state, &user)))
}

#[derive(Deserialize, ToSchema, Default)]
pub struct LogoutRequest {
    /// End every session of this user, not just this one.
    #[serde(default)]
    pub everywhere: bool,
}

/// Ends the session: the client drops its token; with `everywhere`, every
/// token of the user stops working.
#[utoipa::path(post, path = "/api/auth/logout", tag = "auth", request_body = LogoutRequest,
    responses((status = 204)), security(("session" = [])))]
pub async fn logout(
    State(state): State<AppState>,
    caller: Caller,
    body: Option<Json<LogoutRequest>>,
) -> ApiResult<Response> {
    if body.is_some_and(|Json(b)| b.everywhere) {
        let (tenant, id) = (caller.home_tenant, caller.user_id);
        let patch = UserPatch {
            end_sessions: true,
            ..Default::default()
        };
        state
            .blocking(move |s| s.update_user(tenant, id, &patch))
            .await?;
    }
    Ok(
        AuditNote::new("auth.logout", format!("user {}", caller.username))
            .attach(axum::http::StatusCode::NO_CONTENT),
    )
}

#[derive(Serialize, ToSchema)]
pub struct WhoAmI {
    pub user_id: i64,
    pub username: String,
    pub tenant_id: i64,
    pub role: Role,
    pub totp_enabled: bool,
}

/// The caller's identity.
#[utoipa::path(get, path = "/api/auth/me", tag = "auth",
    responses((status = 200, body = WhoAmI), (status = 401, body = lxmon_proto::ErrorBody)),
    security(("session" = [])))]
pub async fn me(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<WhoAmI>> {
    let id = caller.user_id;
    let user = state
        .blocking(move |s| s.user_by_id(id))
        .await?
        .ok_or_else(|| ApiError::unauthorized("no such user"))?;
    Ok(Json(WhoAmI {
        user_id: user.id,
        username: user.username,
        tenant_id: caller.tenant,
        role: user.role,
        totp_enabled: user.totp_secret.is_some(),
    }))
}

async fn own_user(state: &AppState, caller: &Caller) -> ApiResult<User> {
    let (tenant, id) = (caller.home_tenant, caller.user_id);
    state
        .blocking(move |s| s.user(tenant, id))
        .await?
        .ok_or_else(|| ApiError::unauthorized("no such user"))
}

async fn check_password(user: &User, password: String) -> ApiResult<()> {
    let hash = user.password_hash.clone();
    if tokio::task::spawn_blocking(move || verify_password(&password, &hash)).await? {
        Ok(())
    } else {
        Err(ApiError::forbidden("current password is wrong"))
    }
}

#[derive(Deserialize, ToSchema)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

/// Change one's own password; every existing session ends, a new token is
/// returned.
#[utoipa::path(post, path = "/api/auth/password", tag = "auth", request_body = PasswordChange,
    responses((status = 200, body = LoginResponse), (status = 403, body = lxmon_proto::ErrorBody), (status = 422, body = lxmon_proto::ErrorBody)),
    security(("session" = [])))]
pub async fn change_password(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<PasswordChange>, JsonRejection>,
) -> ApiResult<Response> {
    let Json(req) = body?;
    let user = own_user(&state, &caller).await?;
    check_password(&user, req.current_password).await?;
    check_new_password(&req.new_password)?;
    let hash = tokio::task::spawn_blocking(move || hash_password(&req.new_password)).await?;
    let (tenant, id) = (user.tenant_id, user.id);
    let patch = UserPatch {
        password_hash: Some(hash),
        ..Default::default()
    };
    let user = state
        .blocking(move |s| s.update_user(tenant, id, &patch))
        .await?;
    Ok(
        AuditNote::new("user.password", format!("user {}", user.username))
            .attach(Json(issue(&state, &user))),
    )
}

#[derive(Serialize, ToSchema)]
pub struct TotpSetup {
    /// Base32 secret to type into an authenticator app.
    pub secret: String,
    /// `otpauth://` URI for a QR code.
    pub uri: String,
}

fn pending_totp_name(user_id: i64) -> String {
    format!("totp-pending-{user_id}")
}

/// Start enabling TOTP: a new secret, active once confirmed with a code.
#[utoipa::path(post, path = "/api/auth/totp/setup", tag = "auth",
    responses((status = 200, body = TotpSetup)), security(("session" = [])))]
pub async fn totp_setup(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<TotpSetup>> {
    let secret = auth::random_bytes::<20>().to_vec();
    state
        .pending_totp
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(pending_totp_name(caller.user_id), secret.clone());
    Ok(Json(TotpSetup {
        secret: totp::base32(&secret),
        uri: totp::provisioning_uri(&secret, &caller.username),
    }))
}

#[derive(Deserialize, ToSchema)]
pub struct TotpConfirm {
    pub code: String,
}

#[derive(Serialize, ToSchema)]
pub struct RecoveryCodes {
    /// One-time codes for when the authenticator is lost; shown only now.
    pub recovery_codes: Vec<String>,
}

/// Confirm the pending secret with a current code; TOTP is then required at
/// every login. Returns the recovery codes, once.
#[utoipa::path(post, path = "/api/auth/totp/enable", tag = "auth", request_body = TotpConfirm,
    responses((status = 200, body = RecoveryCodes), (status = 422, body = lxmon_proto::ErrorBody)),
    security(("session" = [])))]
pub async fn totp_enable(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<TotpConfirm>, JsonRejection>,
) -> ApiResult<Response> {
    let Json(req) = body?;
    let key = pending_totp_name(caller.user_id);
    let secret = state
        .pending_totp
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&key)
        .cloned()
        .ok_or_else(|| {
            ApiError::unprocessable("no_pending_totp", "start with /api/auth/totp/setup")
        })?;
    if !totp::verify(&secret, &req.code, crate::now_ms() / 1000) {
        return Err(ApiError::unprocessable(
            "totp_invalid",
            "wrong authentication code",
        ));
    }
    state
        .pending_totp
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(&key);
    let (codes, digests) = auth::recovery_codes();
    let (tenant, id) = (caller.home_tenant, caller.user_id);
    let patch = UserPatch {
        totp_secret: Some(Some(secret)),
        recovery_codes: Some(digests),
        ..Default::default()
    };
    state
        .blocking(move |s| s.update_user(tenant, id, &patch))
        .await?;
    Ok(
        AuditNote::new("user.totp_enable", format!("user {}", caller.username)).attach(Json(
            RecoveryCodes {
                recovery_codes: codes,
            },
        )),
    )
}

#[derive(Deserialize, ToSchema)]
pub struct TotpDisable {
    pub password: String,
}

/// Turn TOTP off (needs the password).
#[utoipa::path(post, path = "/api/auth/totp/disable", tag = "auth", request_body = TotpDisable,
    responses((status = 204), (status = 403, body = lxmon_proto::ErrorBody)), security(("session" = [])))]
pub async fn totp_disable(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<TotpDisable>, JsonRejection>,
) -> ApiResult<Response> {
    let Json(req) = body?;
    let user = own_user(&state, &caller).await?;
    check_password(&user, req.password).await?;
    let (tenant, id) = (user.tenant_id, user.id);
    let patch = UserPatch {
        totp_secret: Some(None),
        recovery_codes: Some(Vec::new()),
        ..Default::default()
    };
    state
        .blocking(move |s| s.update_user(tenant, id, &patch))
        .await?;
    Ok(
        AuditNote::new("user.totp_disable", format!("user {}", user.username))
            .attach(axum::http::StatusCode::NO_CONTENT),
    )
}

#[derive(Deserialize, ToSchema)]
pub struct InviteAccept {
    /// The `lxi_…` token from the invitation link.
    pub token: String,
    pub password: String,
}

/// Set the password of an invited user; returns a session.
#[utoipa::path(post, path = "/api/invites/accept", tag = "auth", request_body = InviteAccept,
    responses((status = 200, body = LoginResponse), (status = 401, body = lxmon_proto::ErrorBody), (status = 422, body = lxmon_proto::ErrorBody)))]
pub async fn accept_invite(
    State(state): State<AppState>,
    body: Result<Json<InviteAccept>, JsonRejection>,
) -> ApiResult<Response> {
    let Json(req) = body?;
    let invalid = || ApiError::unauthorized("invitation is invalid or has expired");
    let (id, secret) = auth::parse_secret(SecretKind::Invite, &req.token).ok_or_else(invalid)?;
    let user_id: i64 = id.parse().map_err(|_| invalid())?;
    let invite = state
        .blocking(move |s| s.invite_of(user_id))
        .await?
        .ok_or_else(invalid)?;
    if !auth::secret_matches(secret, &invite.secret_sha256) || crate::now_ms() >= invite.expires_at
    {
        return Err(invalid());
    }
    check_new_password(&req.password)?;
    let user = state
        .blocking(move |s| s.user_by_id(user_id))
        .await?
        .ok_or_else(invalid)?;
    let hash = tokio::task::spawn_blocking(move || hash_password(&req.password)).await?;
    let (tenant, id) = (user.tenant_id, user.id);
    let patch = UserPatch {
        password_hash: Some(hash),
        ..Default::default()
    };
    let user = state
        .blocking(move |s| s.update_user(tenant, id, &patch))
        .await?;
    let note = AuditNote {
        action: "user.invite_accept".into(),
        target: format!("user {}", user.username),
        actor: Some(user.username.clone()),
        tenant: Some(user.tenant_id),
        ..Default::default()
    };
    Ok(note.attach(Json(issue(&state, &user))))
}
