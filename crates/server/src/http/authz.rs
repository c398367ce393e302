//! Who may call what: one table ([`ROUTES`]) and one middleware
//! ([`authorize`]) that enforces it and writes the audit log.
//!
//! Every API route has a row; a route without one is refused (fail closed),
//! and a test checks the table against the OpenAPI document. Handlers receive
//! the authenticated [`Caller`] and never check roles themselves.

use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use lxmon_store::{AuditEntry, Role, TenantId, UserId};

use super::error::ApiError;
use super::extract::{bearer, client_ip};
use crate::auth::TokenError;
use crate::state::AppState;

/// What a route requires of its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    /// Anyone: login, health, the install script.
    Public,
    /// An agent key, checked by the `AgentAuth` extractor.
    Agent,
    /// Any logged-in user (read-only views, their own account).
    Read,
    /// `tenant_admin` or `platform_admin`, within the effective tenant.
    TenantAdmin,
    /// `platform_admin` only.
    PlatformAdmin,
}

use Access::*;

/// The permission table: (method, route, access).
pub const ROUTES: &[(&str, &str, Access)] = &[
    ("POST", "/api/agent/register", Agent),
    ("POST", "/api/agent/metrics", Agent),
    ("POST", "/api/agent/metrics/batch", Agent),
    ("POST", "/api/agent/heartbeat", Agent),
    ("GET", "/api/agent/config", Agent),
    ("POST", "/api/agent/enroll", Public),
    ("GET", "/api/agent/commands", Agent),
    ("POST", "/api/agent/command-result", Agent),
    ("POST", "/api/servers/{id}/command", TenantAdmin),
    ("GET", "/api/servers/{id}/commands", Read),
    ("GET", "/api/commands/{id}/status", Read),
    ("POST", "/api/commands/{id}/cancel", TenantAdmin),
    ("POST", "/api/metrics", Agent),
    ("POST", "/api/auth/login", Public),
    ("POST", "/api/auth/refresh", Read),
    ("POST", "/api/auth/logout", Read),
    ("GET", "/api/auth/me", Read),
    ("POST", "/api/auth/password", Read),
    ("POST", "/api/auth/totp/setup", Read),
    ("POST", "/api/auth/totp/enable", Read),
    ("POST", "/api/auth/totp/disable", Read),
    ("POST", "/api/invites/accept", Public),
    ("GET", "/api/servers", Read),
    ("GET", "/api/servers/{id}", Read),
    ("DELETE", "/api/servers/{id}", TenantAdmin),
    ("GET", "/api/servers/{id}/metrics", Read),
    ("GET", "/api/servers/{id}/latest", Read),
    ("GET", "/api/events", Read),
    ("GET", "/api/users", TenantAdmin),
    ("POST", "/api/users", TenantAdmin),
    ("GET", "/api/users/{id}", TenantAdmin),
    ("PATCH", "/api/users/{id}", TenantAdmin),
    ("DELETE", "/api/users/{id}", TenantAdmin),
    ("GET", "/api/tenants", PlatformAdmin),
    ("POST", "/api/tenants", PlatformAdmin),
    ("GET", "/api/tenants/{id}", PlatformAdmin),
    ("PATCH", "/api/tenants/{id}", PlatformAdmin),
    ("DELETE", "/api/tenants/{id}", PlatformAdmin),
    ("GET", "/api/agent-keys", TenantAdmin),
    ("POST", "/api/agent-keys", TenantAdmin),
    ("POST", "/api/agent-keys/{key_id}/rotate", TenantAdmin),
    ("DELETE", "/api/agent-keys/{key_id}", TenantAdmin),
    ("GET", "/api/enrollment-tokens", TenantAdmin),
    ("POST", "/api/enrollment-tokens", TenantAdmin),
    ("DELETE", "/api/enrollment-tokens/{id}", TenantAdmin),
    ("GET", "/api/audit", TenantAdmin),
    ("GET", "/api/checks", Read),
    ("POST", "/api/checks", TenantAdmin),
    ("GET", "/api/checks/{id}", Read),
    ("PUT", "/api/checks/{id}", TenantAdmin),
    ("DELETE", "/api/checks/{id}", TenantAdmin),
    ("POST", "/api/checks/test", TenantAdmin),
    ("GET", "/api/checks/{id}/results", Read),
    ("POST", "/api/agent/check-results", Agent),
    ("GET", "/api/status-pages", Read),
    ("POST", "/api/status-pages", TenantAdmin),
    ("DELETE", "/api/status-pages/{id}", TenantAdmin),
    ("GET", "/api/public/status/{slug}", Public),
    ("GET", "/status/{slug}", Public),
    ("GET", "/api/alerts", Read),
    ("GET", "/api/alerts/{id}", Read),
    ("POST", "/api/alerts/{id}/ack", TenantAdmin),
    ("POST", "/api/alerts/{id}/assign", TenantAdmin),
    ("GET", "/api/notifications", Read),
    ("GET", "/api/alert-rules", Read),
    ("POST", "/api/alert-rules", TenantAdmin),
    ("GET", "/api/alert-rules/{id}", Read),
    ("PUT", "/api/alert-rules/{id}", TenantAdmin),
    ("DELETE", "/api/alert-rules/{id}", TenantAdmin),
    ("POST", "/api/alert-rules/preview", Read),
    ("GET", "/api/channels", Read),
    ("POST", "/api/channels", TenantAdmin),
    ("PUT", "/api/channels/{id}", TenantAdmin),
    ("DELETE", "/api/channels/{id}", TenantAdmin),
    ("POST", "/api/channels/{id}/test", TenantAdmin),
    ("GET", "/api/alert-routing", Read),
    ("PUT", "/api/alert-routing", TenantAdmin),
    ("GET", "/api/silences", Read),
    ("POST", "/api/silences", TenantAdmin),
    ("DELETE", "/api/silences/{id}", TenantAdmin),
    ("GET", "/api/maintenance-windows", Read),
    ("POST", "/api/maintenance-windows", TenantAdmin),
    ("PUT", "/api/maintenance-windows/{id}", TenantAdmin),
    ("DELETE", "/api/maintenance-windows/{id}", TenantAdmin),
    ("GET", "/api/incoming-webhooks", TenantAdmin),
    ("POST", "/api/incoming-webhooks", TenantAdmin),
    ("DELETE", "/api/incoming-webhooks/{id}", TenantAdmin),
    ("POST", "/api/webhooks/{id}", Public),
    ("GET", "/api/health", Public),
    ("GET", "/install.sh", Public),
    ("GET", "/download/lxmon-agent", Public),
    ("GET", "/download/lxmon-agent.service", Public),
];

/// The access rule of a route, `None` when the table has no row for it.
pub fn access(method: &Method, route: &str) -> Option<Access> {
    ROUTES
        .iter()
        .find(|(m, r, _)| *m == method.as_str() && *r == route)
        .map(|(_, _, a)| *a)
}

/// Whether `role` satisfies `need`.
pub fn allows(role: Role, need: Access) -> bool {
    match need {
        Public | Agent | Read => true,
        TenantAdmin => matches!(role, Role::TenantAdmin | Role::PlatformAdmin),
        PlatformAdmin => role == Role::PlatformAdmin,
    }
}

/// The authenticated user behind a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: UserId,
    pub username: String,
    pub role: Role,
    /// The tenant the request acts on: the user's own, or for a platform
    /// admin the one named by the `x-lxmon-tenant` header.
    pub tenant: TenantId,
    pub home_tenant: TenantId,
    pub session_epoch: i64,
    pub client_ip: String,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| ApiError::internal("authorization", "route has no session rule"))
    }
}

/// Header a platform admin uses to act on another tenant.
pub const TENANT_HEADER: &str = "x-lxmon-tenant";

/// What a handler says about its action for the audit log; attached to the
/// response as an extension and written by [`authorize`].
#[derive(Debug, Clone, Default)]
pub struct AuditNote {
    pub action: String,
    pub target: String,
    /// For actions without a session (login, invitations, enrollment).
    pub actor: Option<String>,
    pub tenant: Option<TenantId>,
    pub detail: String,
}

impl AuditNote {
    pub fn new(action: &str, target: impl Into<String>) -> AuditNote {
        AuditNote {
            action: action.to_owned(),
            target: target.into(),
            ..Default::default()
        }
    }

    /// Attaches this note to a response.
    pub fn attach(self, response: impl IntoResponse) -> Response {
        let mut response = response.into_response();
        response.extensions_mut().insert(self);
        response
    }
}

/// A query parameter of the event stream, which (as an EventSource) cannot
/// send headers and so passes its token and tenant in the URL.
fn event_stream_param<'a>(uri: &'a Uri, name: &str) -> Option<&'a str> {
    if uri.path() != "/api/events" {
        return None;
    }
    uri.query()?
        .split('&')
        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
}

fn session_token(headers: &HeaderMap, uri: &Uri) -> Option<String> {
    bearer(headers)
        .or_else(|| event_stream_param(uri, "token"))
        .map(str::to_owned)
}

async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    uri: &Uri,
    ip: &str,
) -> Result<Caller, ApiError> {
    let token = session_token(headers, uri)
        .ok_or_else(|| ApiError::unauthorized("log in first: missing bearer token"))?;
    let claims = match state.sessions.verify(&token, crate::now_ms() / 1000) {
        Ok(c) => c,
        Err(TokenError::Expired) => {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "session_expired",
                "session expired; log in again",
            ));
        }
        Err(e) => {
            return Err(ApiError::unauthorized(format!(
                "invalid session token: {e}"
            )));
        }
    };
    let user_id = claims.sub;
    let user = state.blocking(move |s| s.user_by_id(user_id)).await?;
    let user = match user {
        Some(u)
            if !u.disabled && u.session_epoch == claims.epoch && u.tenant_id == claims.tenant =>
        {
            u
        }
        _ => {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "session_revoked",
                "session no longer valid; log in again",
            ));
        }
    };
    let home = user.tenant_id;
    let tenant_row = state.blocking(move |s| s.tenant(home)).await?;
    if tenant_row.is_none_or(|t| t.suspended) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "tenant_suspended",
            "this tenant is suspended",
        ));
    }
    let mut tenant = home;
    let from_query = event_stream_param(uri, "tenant").map(str::to_owned);
    let requested = headers
        .get(TENANT_HEADER)
        .map(|v| v.to_str().unwrap_or("").to_owned())
        .or(from_query);
    if let Some(value) = requested {
        let wanted: TenantId = value.parse().ok().ok_or_else(|| {
            ApiError::bad_request("bad_tenant", format!("{TENANT_HEADER} must be a tenant id"))
        })?;
        if wanted != home {
            if user.role != Role::PlatformAdmin {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    "only platform admins act on other tenants",
                ));
            }
            if state.blocking(move |s| s.tenant(wanted)).await?.is_none() {
                return Err(ApiError::not_found("tenant"));
            }
            tenant = wanted;
        }
    }
    Ok(Caller {
        user_id: user.id,
        username: user.username,
        role: user.role,
        tenant,
        home_tenant: home,
        session_epoch: user.session_epoch,
        client_ip: ip.to_owned(),
    })
}

/// Enforces [`ROUTES`] and records mutating requests in the audit log.
pub async fn authorize(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_default();
    let path = req.uri().path().to_owned();
    let ip = client_ip(req.extensions());
    let Some(need) = access(&method, &route) else {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "no access rule for this route",
        )
        .into_response();
    };
    let mut caller = None;
    if need >= Read {
        // The request body is not Sync, so only its head crosses the awaits.
        let (headers, uri) = (req.headers().clone(), req.uri().clone());
        let c = match authenticate(&state, &headers, &uri, &ip).await {
            Ok(c) => c,
            Err(e) => return e.into_response(),
        };
        if !allows(c.role, need) {
            let response = ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!("{} may not do this", c.role.as_str()),
            );
            if method != Method::GET {
                record(
                    &state,
                    Some(&c),
                    &method,
                    &route,
                    &path,
                    &ip,
                    StatusCode::FORBIDDEN,
                    None,
                )
                .await;
            }
            return response.into_response();
        }
        req.extensions_mut().insert(c.clone());
        caller = Some(c);
    }
    let response = next.run(req).await;
    let note = response.extensions().get::<AuditNote>().cloned();
    if note.is_some() || (method != Method::GET && caller.is_some()) {
        record(
            &state,
            caller.as_ref(),
            &method,
            &route,
            &path,
            &ip,
            response.status(),
            note,
        )
        .await;
    }
    response
}

#[allow(clippy::too_many_arguments)]
async fn record(
    state: &AppState,
    caller: Option<&Caller>,
    method: &Method,
    route: &str,
    path: &str,
    ip: &str,
    status: StatusCode,
    note: Option<AuditNote>,
) {
    let note = note.unwrap_or_default();
    let outcome = if status.is_success() {
        "ok"
    } else if matches!(
        status,
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::TOO_MANY_REQUESTS
    ) {
        "denied"
    } else {
        "failed"
    };
    let entry = AuditEntry {
        id: 0,
        tenant_id: note.tenant.or(caller.map(|c| c.tenant)),
        ts: crate::now_ms(),
        actor: note
            .actor
            .or(caller.map(|c| c.username.clone()))
            .unwrap_or_else(|| "-".into()),
        action: if note.action.is_empty() {
            format!("{method} {route}")
        } else {
            note.action
        },
        target: if note.target.is_empty() {
            path.to_owned()
        } else {
            note.target
        },
        client_ip: ip.to_owned(),
        outcome: format!("{outcome} ({})", status.as_u16()),
        detail: note.detail,
    };
    if let Err(e) = state.blocking(move |s| s.record_audit(&entry)).await {
        tracing::error!(error = %e.message, "audit write failed");
    }
}
