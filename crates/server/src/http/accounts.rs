//! Administration: users, tenants, agent keys, enrollment tokens and the
//! audit log. Access is decided by `authz::ROUTES`; these handlers only add
//! the rules that depend on the target (a tenant admin cannot touch a
//! platform admin, nobody deletes themselves).

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use lxmon_proto::Labels;
use lxmon_store::{
    AgentKey, AuditEntry, AuditFilter, EnrollmentToken, Invite, NewEnrollmentToken, Role, Tenant,
    User, UserPatch,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::authz::{AuditNote, Caller};
use super::error::{ApiError, ApiResult};
use super::session::check_new_password;
use crate::auth::{self, SecretKind};
use crate::state::AppState;

fn id_of(path: Result<Path<i64>, PathRejection>, what: &str) -> ApiResult<i64> {
    path.map(|Path(id)| id)
        .map_err(|_| ApiError::bad_request("bad_path", format!("{what} id must be an integer")))
}

fn valid_name(name: &str, what: &str) -> ApiResult<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'@'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::unprocessable(
            "invalid_name",
            format!("{what} must be 1-64 characters of A-Z a-z 0-9 _ . - @"),
        ))
    }
}

// --- users -----------------------------------------------------------------

/// A user as the API shows it: never the password hash, TOTP seed or codes.
#[derive(Serialize, ToSchema)]
pub struct UserView {
    pub id: i64,
    pub tenant_id: i64,
    pub username: String,
    pub role: Role,
    pub disabled: bool,
    pub totp_enabled: bool,
    pub invite_pending: bool,
    pub created_at: i64,
}

impl From<User> for UserView {
    fn from(u: User) -> UserView {
        UserView {
            id: u.id,
            tenant_id: u.tenant_id,
            username: u.username,
            role: u.role,
            disabled: u.disabled,
            totp_enabled: u.totp_secret.is_some(),
            invite_pending: u.invite_pending,
            created_at: u.created_at,
        }
    }
}

/// Users of the caller's tenant.
#[utoipa::path(get, path = "/api/users", tag = "users", responses((status = 200, body = Vec<UserView>)), security(("session" = [])))]
pub async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<UserView>>> {
    let users = state.blocking(move |s| s.users(caller.tenant)).await?;
    Ok(Json(users.into_iter().map(UserView::from).collect()))
}

#[derive(Deserialize, ToSchema)]
pub struct CreateUser {
    pub username: String,
    pub role: Role,
    /// Initial password; without one, an invitation link is returned.
    pub password: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedUser {
    pub user: UserView,
    /// `lxi_…` token for the invitation (shown once), when no password was given.
    pub invite_token: Option<String>,
    /// Dashboard path that accepts the invitation.
    pub invite_path: Option<String>,
}

const INVITE_TTL_MS: i64 = 7 * 86_400_000;

fn may_grant(caller: &Caller, role: Role) -> ApiResult<()> {
    if role == Role::PlatformAdmin && caller.role != Role::PlatformAdmin {
        return Err(ApiError::forbidden(
            "only platform admins grant platform_admin",
        ));
    }
    Ok(())
}

/// Create a user in the caller's tenant.
#[utoipa::path(post, path = "/api/users", tag = "users", request_body = CreateUser,
    responses((status = 201, body = CreatedUser), (status = 403, body = lxmon_proto::ErrorBody), (status = 409, body = lxmon_proto::ErrorBody),
        (status = 422, body = lxmon_proto::ErrorBody)),
    security(("session" = [])))]
pub async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<CreateUser>, JsonRejection>,
) -> ApiResult<Response> {
    let Json(req) = body?;
    valid_name(&req.username, "username")?;
    may_grant(&caller, req.role)?;
    let tenant = caller.tenant;
    let (hash, invite_secret) = match req.password {
        Some(password) => {
            check_new_password(&password)?;
            (
                tokio::task::spawn_blocking(move || auth::hash_password(&password)).await?,
                None,
            )
        }
        None => (String::new(), Some(auth::random_bytes::<32>())),
    };
    // The invitation's secret is made before the user id is known; its
    // digest is what is stored.
    let invite_secret_text = invite_secret.map(|b| auth::hex(&b));
    let invite = invite_secret_text.as_ref().map(|secret| Invite {
        secret_sha256: auth::sha256(secret),
        expires_at: crate::now_ms() + INVITE_TTL_MS,
    });
    let username = req.username.clone();
    let role = req.role;
    let id = state
        .blocking(move |s| s.create_user(tenant, &username, &hash, role, invite.as_ref()))
        .await?;
    let user = state
        .blocking(move |s| s.user(tenant, id))
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    let invite_token = invite_secret_text.map(|secret| format!("lxi_{id}.{secret}"));
    let note = AuditNote::new(
        "user.create",
        format!("user {} ({})", user.username, user.role.as_str()),
    );
    Ok(note.attach((
        StatusCode::CREATED,
        Json(CreatedUser {
            invite_path: invite_token.as_ref().map(|t| format!("/invite#{t}")),
            invite_token,
            user: user.into(),
        }),
    )))
}

async fn user_in_tenant(state: &AppState, caller: &Caller, id: i64) -> ApiResult<User> {
    let tenant = caller.tenant;
    state
        .blocking(move |s| s.user(tenant, id))
        .await?
        .ok_or_else(|| ApiError::not_found("user"))
}

/// One user of the caller's tenant.
#[utoipa::path(get, path = "/api/users/{id}", tag = "users", params(("id" = i64, Path)),
    responses((status = 200, body = UserView), (status = 404, body = lxmon_proto::ErrorBody)), security(("session" = [])))]
pub async fn get_user(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<i64>, PathRejection>,
) -> ApiResult<Json<UserView>> {
    let id = id_of(path, "user")?;
    Ok(Json(user_in_tenant(&state, &caller, id).await?.into()))
}

#[derive(Deserialize, ToSchema)]
pub struct PatchUser {
    pub role: Option<Role>,
    pub disabled: Option<bool>,
    /// Reset the password (the user's sessions end).
    pub password: Option<String>,
}

/// Change a user's role, disable or re-enable them, or reset their password.
#[utoipa::path(patch, path = "/api/users/{id}", tag = "users", params(("id" = i64, Path)), request_body = PatchUser,
    responses((status = 200, body = UserView), (status = 403, body = lxmon_proto::ErrorBody), (status = 404, body = lxmon_proto::ErrorBody)),
    security(("session" = [])))]
pub async fn patch_user(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<i64>, PathRejection>,
    body: Result<Json<PatchUser>, JsonRejection>,
) -> ApiResult<Response> {
    let id = id_of(path, "user")?;
    let Json(req) = body?;
    let target = user_in_tenant(&state, &caller, id).await?;
    if target.role == Role::PlatformAdmin && caller.role != Role::PlatformAdmin {
        return Err(ApiError::forbidden(
            "only platform admins change platform admins",
        ));
    }
    if let Some(role) = req.role {
        may_grant(&caller, role)?;
    }
    if target.id == caller.user_id
        && (req.disabled == Some(true) || req.role.is_some_and(|r| r != target.role))
    {
        return Err(ApiError::unprocessable(
            "self_change",
            "you cannot disable yourself or change your own role",
        ));
    }
    let password_hash = match req.password {
        Some(p) => {
            check_new_password(&p)?;
            Some(tokio::task::spawn_blocking(move || auth::hash_password(&p)).await?)
        }
        None => None,
    };
    let reset = password_hash.is_some();
    let patch = UserPatch {
        role: req.role,
        disabled: req.disabled,
        password_hash,
        ..Default::default()
    };
    let tenant = caller.tenant;
    let user = state
        .blocking(move |s| s.update_user(tenant, id, &patch))
        .await?;
    let mut changes = Vec::new();
    if let Some(r) = req.role {
        changes.push(format!("role={}", r.as_str()));
    }
    if let Some(d) = req.disabled {
        changes.push(format!("disabled={d}"));
    }
    if reset {
        changes.push("password reset".into());
    }
    let mut note = AuditNote::new("user.update", format!("user {}", user.username));
    note.detail = changes.join(", ");
    Ok(note.attach(Json(UserView::from(user))))
}

/// Delete a user.
#[utoipa::path(delete, path = "/api/users/{id}", tag = "users", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = lxmon_proto::ErrorBody), (status = 404, body = lxmon_proto::ErrorBody)),
    security(("session" = [])))]
pub async fn delete_user(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<i64>, PathRejection>,
) -> ApiResult<Response> {
    let id = id_of(path, "user")?;
    let target = user_in_tenant(&state, &caller, id).await?;
    if target.role == Role::PlatformAdmin && caller.role != Role::PlatformAdmin {
        return Err(ApiError::forbidden(
            "only platform admins delete platform admins",
        ));
    }
    if target.id == caller.user_id {
        return Err(ApiError::unprocessable(
            "self_change",
            "you cannot delete yourself",
        ));
    }
    let tenant = caller.tenant;
    state.blocking(move |s| s.delete_user(tenant, id)).await?;
    Ok(
        AuditNote::new("user.delete", format!("user {}", target.username))
            .attach(StatusCode::NO_CONTENT),
    )
}

// --- tenants ---------------------------------------------------------------

/// Every tenant.
#[utoipa::path(get, path = "/api/tenants", tag = "tenants", responses((status = 200, body = Vec<Tenant>)), security(("session" = [])))]
pub async fn list_tenants(State(state): State<AppState>) -> ApiResult<Json<Vec<Tenant>>> {
    Ok(Json(state.blocking(|s| s.tenants()).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct CreateTenant {
    pub name: String,
}

#[utoipa::path(post, path = "/api/tenants", tag = "tenants", request_body = CreateTenant,
    responses((status = 201, body = Tenant), (status = 409, body = lxmon_proto::ErrorBody)), security(("session" = [])))]
pub async fn create_tenant(
    State(state): State<AppState>,
    body: Result<Json<CreateTenant>, JsonRejection>,
) -> ApiResult<Response> {
    let Json(req) = body?;
    valid_name(&req.name, "tenant name")?;
    let tenant = state.blocking(move |s| s.create_tenant(&req.name)).await?;
    let mut note = AuditNote::new(
        "tenant.create",
        format!("tenant {} ({})", tenant.name, tenant.id),
    );
    note.tenant = Some(tenant.id);
    Ok(note.attach((StatusCode::CREATED, Json(tenant))))
}

async fn tenant_or_404(state: &AppState, id: i64) -> ApiResult<Tenant> {
    state
        .blocking(move |s| s.tenant(id))
        .await?
        .ok_or_else(|| ApiError::not_found("tenant"))
}

#[utoipa::path(get, path = "/api/tenants/{id}", tag = "tenants", params(("id" = i64, Path)),
    responses((status = 200, body = Tenant), (status = 404, body = lxmon_proto::ErrorBody)), security(("session" = [])))]
pub async fn get_tenant(
    State(state): State<AppState>,
    path: Result<Path<i64>, PathRejection>,
) -> ApiResult<Json<Tenant>> {
    let id = id_of(path, "tenant")?;
    Ok(Json(tenant_or_404(&state, id).await?))
}

#[derive(Deserialize, ToSchema)]
pub struct PatchTenant {
    pub name: Option<String>,
    /// A suspended tenant's users cannot log in and its agents are refused.
    pub suspended: Option<bool>,
}

#[utoipa::path(patch, path = "/api/tenants/{id}", tag = "tenants", params(("id" = i64, Path)), request_body = PatchTenant,
    responses((status = 200, body = Tenant), (status = 404, body = lxmon_proto::ErrorBody), (status = 422, body = lxmon_proto::ErrorBody)),
    security(("session" = [])))]
pub async fn patch_tenant(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<i64>, PathRejection>,
    body: Result<Json<PatchTenant>, JsonRejection>,
) -> ApiResult<Response> {
    let id = id_of(path, "tenant")?;
    let Json(req) = body?;
    if let Some(name) = &req.name {
        valid_name(name, "tenant name")?;
    }
    if req.suspended == Some(true) && id == caller.home_tenant {
        return Err(ApiError::unprocessable(
            "self_change",
            "you cannot suspend your own tenant",
        ));
    }
    let tenant = state
        .blocking(move |s| s.update_tenant(id, req.name.as_deref(), req.suspended))
        .await?;
    let mut note = AuditNote::new(
        "tenant.update",
        format!("tenant {} ({})", tenant.name, tenant.id),
    );
    note.detail = format!("suspended={}", tenant.suspended);
    note.tenant = Some(tenant.id);
    Ok(note.attach(Json(tenant)))
}

#[derive(Deserialize, ToSchema)]
pub struct DeleteTenant {
    /// The tenant's name, typed again: deleting removes all of its data.
    pub confirm: String,
}

#[utoipa::path(delete, path = "/api/tenants/{id}", tag = "tenants", params(("id" = i64, Path)), request_body = DeleteTenant,
    responses((status = 204), (status = 404, body = lxmon_proto::ErrorBody), (status = 422, body = lxmon_proto::ErrorBody)),
    security(("session" = [])))]
pub async fn delete_tenant(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<i64>, PathRejection>,
    body: Result<Json<DeleteTenant>, JsonRejection>,
) -> ApiResult<Response> {
    let id = id_of(path, "tenant")?;
    let Json(req) = body?;
    let tenant = tenant_or_404(&state, id).await?;
    if id == caller.home_tenant {
        return Err(ApiError::unprocessable(
            "self_change",
            "you cannot delete your own tenant",
        ));
    }
    if req.confirm != tenant.name {
        return Err(ApiError::unprocessable(
            "confirmation_mismatch",
            "type the tenant's name to confirm",
        ));
    }
    state.blocking(move |s| s.delete_tenant(id)).await?;
    // Recorded outside the deleted tenant, which takes its own audit with it.
    let mut note = AuditNote::new(
        "tenant.delete",
        format!("tenant {} ({})", tenant.name, tenant.id),
    );
    note.tenant = None;
    Ok(note.attach(StatusCode::NO_CONTENT))
}

// --- agent keys ------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KeyStatus {
    Active,
    /// Rotated: works until `expires_at`.
    Expiring,
    Expired,
    Revoked,
}

/// An agent key as listed: never the secret.
#[derive(Serialize, ToSchema)]
pub struct AgentKeyView {
    pub key_id: String,
    pub name: String,
    pub host_id: Option<i64>,
    pub status: KeyStatus,
    pub labels: Labels,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

impl AgentKeyView {
    fn new(k: AgentKey, now: i64) -> AgentKeyView {
        let status = match (k.revoked_at, k.expires_at) {
            (Some(_), _) => KeyStatus::Revoked,
            (None, Some(e)) if now >= e => KeyStatus::Expired,
            (None, Some(_)) => KeyStatus::Expiring,
            (None, None) => KeyStatus::Active,
        };
        AgentKeyView {
            key_id: k.key_id,
            name: k.name,
            host_id: k.host_id,
            status,
            labels: k.labels,
            created_at: k.created_at,
            last_used_at: k.last_used_at,
            expires_at: k.expires_at,
            revoked_at: k.revoked_at,
        }
    }
}

#[utoipa::path(get, path = "/api/agent-keys", tag = "agent-keys", responses((status = 200, body = Vec<AgentKeyView>)), security(("session" = [])))]
pub async fn list_keys(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<AgentKeyView>>> {
    // Uses not yet written would show as older than they are.
    state.flush_touches().await?;
    let keys = state.blocking(move |s| s.agent_keys(caller.tenant)).await?;
    let now = crate::now_ms();
    Ok(Json(
        keys.into_iter()
            .map(|k| AgentKeyView::new(k, now))
            .collect(),
    ))
}

#[derive(Deserialize, ToSchema)]
pub struct CreateKey {
    pub name: String,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedKey {
    /// The key itself, shown only in this response.
    pub key: String,
    pub info: AgentKeyView,
}

#[utoipa::path(post, path = "/api/agent-keys", tag = "agent-keys", request_body = CreateKey,
    responses((status = 201, body = CreatedKey)), security(("session" = [])))]
pub async fn create_key(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<CreateKey>, JsonRejection>,
) -> ApiResult<Response> {
    let Json(req) = body?;
    valid_name(&req.name, "key name")?;
    let secret = auth::generate_agent_key();
    let (tenant, id, digest) = (caller.tenant, secret.id.clone(), secret.secret_sha256);
    let key = state
        .blocking(move |s| s.create_agent_key(tenant, &req.name, &id, &digest))
        .await?;
    let note = AuditNote::new(
        "agent_key.create",
        format!("key {} ({})", key.key_id, key.name),
    );
    Ok(note.attach((
        StatusCode::CREATED,
        Json(CreatedKey {
            key: secret.full,
            info: AgentKeyView::new(key, crate::now_ms()),
        }),
    )))
}

#[derive(Deserialize, ToSchema, Default)]
pub struct RotateKey {
    /// Seconds the old key keeps working (default 86400).
    pub grace_s: Option<u32>,
}

fn key_id_of(path: Result<Path<String>, PathRejection>) -> ApiResult<String> {
    path.map(|Path(id)| id)
        .map_err(|_| ApiError::bad_request("bad_path", "bad key id"))
}

/// Issue a successor key for the same host; the old one works for the grace
/// period, then stops.
#[utoipa::path(post, path = "/api/agent-keys/{key_id}/rotate", tag = "agent-keys", params(("key_id" = String, Path)), request_body = RotateKey,
    responses((status = 201, body = CreatedKey), (status = 404, body = lxmon_proto::ErrorBody)), security(("session" = [])))]
pub async fn rotate_key(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
    body: Option<Json<RotateKey>>,
) -> ApiResult<Response> {
    let key_id = key_id_of(path)?;
    let grace_ms = i64::from(
        body.and_then(|Json(b)| b.grace_s)
            .unwrap_or(86_400)
            .min(30 * 86_400),
    ) * 1000;
    let secret = auth::generate_agent_key();
    let (tenant, new_id, digest) = (caller.tenant, secret.id.clone(), secret.secret_sha256);
    let old_id = key_id.clone();
    let key = state
        .blocking(move |s| {
            s.rotate_agent_key(
                tenant,
                &old_id,
                &new_id,
                &digest,
                crate::now_ms() + grace_ms,
            )
        })
        .await
        .map_err(|e| e.naming("agent key"))?;
    let mut note = AuditNote::new("agent_key.rotate", format!("key {key_id}"));
    note.detail = format!("successor {}, grace {} s", key.key_id, grace_ms / 1000);
    Ok(note.attach((
        StatusCode::CREATED,
        Json(CreatedKey {
            key: secret.full,
            info: AgentKeyView::new(key, crate::now_ms()),
        }),
    )))
}

/// Revoke a key at once.
#[utoipa::path(delete, path = "/api/agent-keys/{key_id}", tag = "agent-keys", params(("key_id" = String, Path)),
    responses((status = 204), (status = 404, body = lxmon_proto::ErrorBody)), security(("session" = [])))]
pub async fn revoke_key(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult<Response> {
    let key_id = key_id_of(path)?;
    let (tenant, id) = (caller.tenant, key_id.clone());
    state
        .blocking(move |s| s.revoke_agent_key(tenant, &id))
        .await
        .map_err(|e| e.naming("agent key"))?;
    Ok(AuditNote::new("agent_key.revoke", format!("key {key_id}")).attach(StatusCode::NO_CONTENT))
}

// --- enrollment tokens -----------------------------------------------------

#[derive(Serialize, ToSchema)]
pub struct EnrollmentTokenView {
    pub id: i64,
    pub name: String,
    pub labels: Labels,
    pub max_uses: u32,
    pub uses: u32,
    pub expires_at: i64,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

impl From<EnrollmentToken> for EnrollmentTokenView {
    fn from(t: EnrollmentToken) -> Self {
        EnrollmentTokenView {
            id: t.id,
            name: t.name,
            labels: t.labels,
            max_uses: t.max_uses,
            uses: t.uses,
            expires_at: t.expires_at,
            created_at: t.created_at,
            revoked_at: t.revoked_at,
        }
    }
}

#[utoipa::path(get, path = "/api/enrollment-tokens", tag = "agent-keys", responses((status = 200, body = Vec<EnrollmentTokenView>)),
    security(("session" = [])))]
pub async fn list_tokens(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<EnrollmentTokenView>>> {
    let tokens = state
        .blocking(move |s| s.enrollment_tokens(caller.tenant))
        .await?;
    Ok(Json(tokens.into_iter().map(Into::into).collect()))
}

#[derive(Deserialize, ToSchema)]
pub struct CreateToken {
    pub name: String,
    /// Seconds until the token stops working (60 s to 30 days; default 1 day).
    pub expires_in_s: Option<u32>,
    /// Agents it may enroll (1 to 10000; default 1).
    pub max_uses: Option<u32>,
    /// Labels given to every host it enrolls.
    #[serde(default)]
    pub labels: Labels,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedToken {
    /// The token, shown only in this response.
    pub token: String,
    /// The command to run on a new server (as root).
    pub install_command: String,
    pub info: EnrollmentTokenView,
}

#[utoipa::path(post, path = "/api/enrollment-tokens", tag = "agent-keys", request_body = CreateToken,
    responses((status = 201, body = CreatedToken), (status = 422, body = lxmon_proto::ErrorBody)), security(("session" = [])))]
pub async fn create_token(
    State(state): State<AppState>,
    caller: Caller,
    headers: axum::http::HeaderMap,
    body: Result<Json<CreateToken>, JsonRejection>,
) -> ApiResult<Response> {
    let Json(req) = body?;
    valid_name(&req.name, "token name")?;
    let expires_in = req.expires_in_s.unwrap_or(86_400);
    let max_uses = req.max_uses.unwrap_or(1);
    if !(60..=30 * 86_400).contains(&expires_in) || !(1..=10_000).contains(&max_uses) {
        return Err(ApiError::unprocessable(
            "invalid_token",
            "expires_in_s must be 60..2592000 and max_uses 1..10000",
        ));
    }
    lxmon_proto::validate_labels("token labels", &req.labels)?;
    let secret = auth::generate_secret(SecretKind::EnrollmentToken, None);
    let new = NewEnrollmentToken {
        token_id: secret.id.clone(),
        name: req.name,
        secret_sha256: secret.secret_sha256,
        labels: req.labels,
        max_uses,
        expires_at: crate::now_ms() + i64::from(expires_in) * 1000,
    };
    let tenant = caller.tenant;
    let token = state
        .blocking(move |s| s.create_enrollment_token(tenant, &new))
        .await?;
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("SERVER:8080");
    let base = format!("http://{host}");
    let note = AuditNote::new(
        "enrollment_token.create",
        format!("token {} ({})", token.id, token.name),
    );
    Ok(note.attach((
        StatusCode::CREATED,
        Json(CreatedToken {
            install_command: format!(
                "curl -fsSL {base}/install.sh | sudo sh -s -- --server {base} --token {}",
                secret.full
            ),
            token: secret.full,
            info: token.into(),
        }),
    )))
}

#[utoipa::path(delete, path = "/api/enrollment-tokens/{id}", tag = "agent-keys", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = lxmon_proto::ErrorBody)), security(("session" = [])))]
pub async fn revoke_token(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<i64>, PathRejection>,
) -> ApiResult<Response> {
    let id = id_of(path, "token")?;
    let tenant = caller.tenant;
    state
        .blocking(move |s| s.revoke_enrollment_token(tenant, id))
        .await
        .map_err(|e| e.naming("enrollment token"))?;
    Ok(
        AuditNote::new("enrollment_token.revoke", format!("token {id}"))
            .attach(StatusCode::NO_CONTENT),
    )
}

// --- audit -----------------------------------------------------------------

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    pub actor: Option<String>,
    /// Action prefix, e.g. `user.` or `auth.login`.
    pub action: Option<String>,
    /// Unix ms.
    pub since: Option<i64>,
    /// Unix ms.
    pub until: Option<i64>,
    /// Paging: entries older than this id (`next_before` of the last page).
    pub before: Option<i64>,
    /// 1 to 1000, default 100.
    pub limit: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Pass as `before` for the next page; absent on the last page.
    pub next_before: Option<i64>,
}

/// The audit log of the caller's tenant, newest first.
#[utoipa::path(get, path = "/api/audit", tag = "audit", params(AuditParams),
    responses((status = 200, body = AuditPage)), security(("session" = [])))]
pub async fn audit(
    State(state): State<AppState>,
    caller: Caller,
    params: Result<Query<AuditParams>, QueryRejection>,
) -> ApiResult<Json<AuditPage>> {
    let Query(p) = params?;
    let limit = p.limit.unwrap_or(100).clamp(1, 1000);
    let filter = AuditFilter {
        tenant: Some(caller.tenant),
        actor: p.actor,
        action: p.action,
        since_ms: p.since,
        until_ms: p.until,
        before_id: p.before,
        limit,
    };
    let entries = state.blocking(move |s| s.audit_log(&filter)).await?;
    let next_before = (entries.len() == limit as usize)
        .then(|| entries.last().map(|e| e.id))
        .flatten();
    Ok(Json(AuditPage {
        entries,
        next_before,
    }))
}
