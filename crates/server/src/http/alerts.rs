//! Alerting API: the alarm list (ack, assign), rules with a live preview,
//! channels with "send test", routing, silences, maintenance windows and
//! incoming webhooks. Definitions are parsed and validated here with the
//! lxmon-alert / lxmon-notify types and stored as JSON; every change tells
//! the engine, which applies it without a restart.

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use lxmon_alert::eval::Observation;
use lxmon_alert::matcher::matches_all;
use lxmon_alert::noise::{Maintenance, Routing, Silence};
use lxmon_alert::rule::{Condition, RuleDefinition, Scope};
use lxmon_notify::ChannelConfig;
use lxmon_store::{
    Alert, AlertAck, AlertFilter, AlertObject, AlertObjectKind, HostId, NotificationRecord,
    TenantId,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::authz::{AuditNote, Caller};
use super::error::{ApiError, ApiResult};
use super::extract::{client_ip, read_body};
use crate::alert::dispatch::ChannelBody;
use crate::config::Cidr;
use crate::state::AppState;

/// Largest body an incoming webhook accepts.
pub const MAX_WEBHOOK_BYTES: usize = 1024 * 1024;

fn id_of(path: Result<Path<i64>, PathRejection>) -> ApiResult<i64> {
    path.map(|Path(id)| id)
        .map_err(|_| ApiError::bad_request("bad_path", "id must be an integer"))
}

fn invalid(code: &'static str, e: impl std::fmt::Display) -> ApiError {
    ApiError::unprocessable(code, e.to_string())
}

async fn object_or_404(
    state: &AppState,
    tenant: TenantId,
    kind: AlertObjectKind,
    id: i64,
) -> ApiResult<AlertObject> {
    state
        .blocking(move |s| s.alert_object(tenant, kind, id))
        .await?
        .ok_or_else(|| ApiError::not_found(kind.as_str()))
}

/// Stores a new or changed object and tells the engine.
async fn save(
    state: &AppState,
    caller: &Caller,
    kind: AlertObjectKind,
    id: Option<i64>,
    name: String,
    body: serde_json::Value,
) -> ApiResult<AlertObject> {
    let tenant = caller.tenant;
    let by = caller.username.clone();
    let now = crate::now_ms();
    let object = state
        .blocking(move |s| match id {
            Some(id) => s.update_alert_object(tenant, kind, id, &name, &body, now),
            None => s.create_alert_object(tenant, kind, &name, &body, Some(&by), now),
        })
        .await
        .map_err(|e| e.naming(kind.as_str()))?;
    state.alerts.config_changed(tenant);
    Ok(object)
}

async fn remove(
    state: &AppState,
    caller: &Caller,
    kind: AlertObjectKind,
    id: i64,
) -> ApiResult<Response> {
    let tenant = caller.tenant;
    state
        .blocking(move |s| s.delete_alert_object(tenant, kind, id))
        .await
        .map_err(|e| e.naming(kind.as_str()))?;
    state.alerts.config_changed(tenant);
    Ok(AuditNote::new(
        &format!("{}.delete", kind.as_str()),
        format!("{} {id}", kind.as_str()),
    )
    .attach(StatusCode::NO_CONTENT))
}

/// Parses a stored definition; one that no longer parses is a server fault.
fn stored<T: serde::de::DeserializeOwned>(body: serde_json::Value, what: &str) -> ApiResult<T> {
    serde_json::from_value(body).map_err(|e| ApiError::internal(what, e))
}

/// The tenant's objects of one kind, each as its API view.
async fn list_views<T>(
    state: &AppState,
    tenant: TenantId,
    kind: AlertObjectKind,
    view: impl Fn(AlertObject) -> ApiResult<T>,
) -> ApiResult<Json<Vec<T>>> {
    let objects = state
        .blocking(move |s| s.alert_objects(tenant, kind))
        .await?;
    Ok(Json(
        objects.into_iter().map(view).collect::<ApiResult<_>>()?,
    ))
}

// --- alarms ---------------------------------------------------------------

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AlertParams {
    /// Comma-separated states: pending, firing, resolved (default: all).
    pub state: Option<String>,
    pub severity: Option<String>,
    /// "rule" or "webhook".
    pub source: Option<String>,
    pub host_id: Option<HostId>,
    /// Paging: alerts with a smaller id.
    pub before: Option<i64>,
    /// At most 1000 (default 200).
    pub limit: Option<u32>,
}

/// Internal and external alerts, newest first.
#[utoipa::path(get, path = "/api/alerts", tag = "alerts", params(AlertParams),
    responses((status = 200, body = Vec<Alert>)), security(("session" = [])))]
pub async fn list_alerts(
    State(state): State<AppState>,
    caller: Caller,
    params: Result<Query<AlertParams>, QueryRejection>,
) -> ApiResult<Json<Vec<Alert>>> {
    let Query(p) = params?;
    let states: Vec<String> = p
        .state
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    if let Some(bad) = states
        .iter()
        .find(|s| !matches!(s.as_str(), "pending" | "firing" | "resolved"))
    {
        return Err(ApiError::bad_request(
            "bad_query",
            format!("state {bad:?}: expected pending, firing or resolved"),
        ));
    }
    let filter = AlertFilter {
        tenant: caller.tenant,
        states,
        severity: p.severity,
        source: p.source,
        host_id: p.host_id,
        before_id: p.before,
        limit: p.limit.unwrap_or(200),
    };
    Ok(Json(state.blocking(move |s| s.alerts(&filter)).await?))
}

#[derive(Serialize, ToSchema)]
pub struct AlertDetail {
    #[serde(flatten)]
    pub alert: Alert,
    /// Notifications about this alert, newest first.
    pub notifications: Vec<NotificationRecord>,
}

#[utoipa::path(get, path = "/api/alerts/{id}", tag = "alerts", params(("id" = i64, Path)),
    responses((status = 200, body = AlertDetail), (status = 404, body = lxmon_proto::ErrorBody)), security(("session" = [])))]
pub async fn get_alert(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<i64>, PathRejection>,
) -> ApiResult<Json<AlertDetail>> {
    let id = id_of(path)?;
    let tenant = caller.tenant;
    let (alert, notifications) = state
        .blocking(move |s| {
            let alert = s.alert(tenant, id)?;
            Ok((alert, s.notifications(tenant, Some(id), 100)?))
        })
        .await?;
    let alert = alert.ok_or_else(|| ApiError::not_found("alert"))?;
    Ok(Json(AlertDetail {
        alert,
        notifications,
    }))
}

/// The alert, or a 404 before the body is looked at (someone else's
/// alert is missing, not a bad request).
async fn alert_or_404(state: &AppState, tenant: TenantId, id: i64) -> ApiResult<Alert> {
    state
        .blocking(move |s| s.alert(tenant, id))
        .await?
        .ok_or_else(|| ApiError::not_found("alert"))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AckInput {
    /// false removes the acknowledgement (default true).
    #[serde(default = "yes")]
    pub ack: bool,
    pub comment: Option<String>,
}

fn yes() -> bool {
    true
}

/// Acknowledges an alert: it stays in the list but is not repeated.
#[utoipa::path(post, path = "/api/alerts/{id}/ack", tag = "alerts", params(("id" = i64, Path)), request_body = AckInput,
    responses((status = 200, body = Alert), (status = 404, body = lxmon_proto::ErrorBody)), security(("session" = [])))]
pub async fn ack_alert(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<i64>, PathRejection>,
    body: Result<Json<AckInput>, JsonRejection>,
) -> ApiResult<Response> {
    let id = id_of(path)?;
    alert_or_404(&state, caller.tenant, id).await?;
    let Json(input) = body?;
    if input.comment.as_ref().is_some_and(|c| c.len() > 1024) {
        return Err(ApiError::unprocessable(
            "invalid_ack",
            "comment: at most 1024 bytes",
        ));
    }
    let ack = input.ack.then(|| AlertAck {
        by: caller.username.clone(),
        at: crate::now_ms(),
        comment: input.comment.filter(|c| !c.trim().is_empty()),
    });
    let tenant = caller.tenant;
    let stored = ack.clone();
    let alert = state
        .blocking(move |s| s.ack_alert(tenant, id, stored.as_ref()))
        .await
        .map_err(|e| e.naming("alert"))?;
    state.alerts.acked(tenant, id, ack.clone());
    let action = if ack.is_some() {
        "alert.ack"
    } else {
        "alert.unack"
    };
    Ok(AuditNote::new(action, format!("alert {id} ({})", alert.name)).attach(Json(alert)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignInput {
    /// A username of the tenant; null unassigns.
    pub assignee: Option<String>,
}

#[utoipa::path(post, path = "/api/alerts/{id}/assign", tag = "alerts", params(("id" = i64, Path)), request_body = AssignInput,
    responses((status = 200, body = Alert), (status = 404, body = lxmon_proto::ErrorBody), (status = 422, body = lxmon_proto::ErrorBody)),
    security(("session" = [])))]
pub async fn assign_alert(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<i64>, PathRejection>,
    body: Result<Json<AssignInput>, JsonRejection>,
) -> ApiResult<Response> {
    let id = id_of(path)?;
    alert_or_404(&state, caller.tenant, id).await?;
    let Json(input) = body?;
    let tenant = caller.tenant;
    let assignee = input.assignee.filter(|a| !a.trim().is_empty());
    let alert = state
        .blocking(move |s| {
            if let Some(name) = &assignee
                && !s.users(tenant)?.iter().any(|u| &u.username == name)
            {
                return Err(lxmon_store::StoreError::Rejected(format!(
                    "assignee: no user {name:?} in this tenant"
                )));
            }
            s.assign_alert(tenant, id, assignee.as_deref())
        })
        .await
        .map_err(|e| e.naming("alert"))?;
    Ok(AuditNote::new(
        "alert.assign",
        format!("alert {id} to {:?}", alert.assignee),
    )
    .attach(Json(alert)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NotificationParams {
    pub alert_id: Option<i64>,
    /// At most 1000 (default 100).
    pub limit: Option<u32>,
}

/// Notifications sent or attempted, newest first.
#[utoipa::path(get, path = "/api/notifications", tag = "alerts", params(NotificationParams),
    responses((status = 200, body = Vec<NotificationRecord>)), security(("session" = [])))]
pub async fn list_notifications(
    State(state): State<AppState>,
    caller: Caller,
    params: Result<Query<NotificationParams>, QueryRejection>,
) -> ApiResult<Json<Vec<NotificationRecord>>> {
    let Query(p) = params?;
    let tenant = caller.tenant;
    Ok(Json(
        state
            .blocking(move |s| s.notifications(tenant, p.alert_id, p.limit.unwrap_or(100)))
            .await?,
    ))
}

// --- rules ----------------------------------------------------------------

#[derive(Serialize, ToSchema)]
pub struct RuleView {
    pub id: i64,
    #[serde(flatten)]
    pub rule: RuleDefinition,
    pub created_by: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

fn rule_view(o: AlertObject) -> ApiResult<RuleView> {
    let rule = stored(o.body, "stored rule")?;
    Ok(RuleView {
        id: o.id,
        rule,
        created_by: o.created_by,
        created_at: o.created_at,
        updated_at: o.updated_at,
    })
}

async fn validated_rule(
    state: &AppState,
    tenant: TenantId,
    rule: &RuleDefinition,
) -> ApiResult<()> {
    let metric_names = state.blocking(move |s| s.metric_names(tenant)).await?;
    rule.validate(&|name| {
        lxmon_proto::is_agent_metric(name) || metric_names.iter().any(|n| n == name)
    })
    .map_err(|e| invalid("invalid_rule", e))?;
    match &rule.scope {
        Scope::Host { host_id } => {
            let id = *host_id;
            state
                .blocking(move |s| s.host(tenant, id))
                .await?
                .ok_or_else(|| {
                    ApiError::unprocessable("invalid_rule", format!("scope.host_id: no host {id}"))
                })?;
        }
        Scope::Labels { matchers } if matchers.is_empty() => {
            return Err(ApiError::unprocessable(
                "invalid_rule",
                "scope.matchers: at least one matcher",
            ));
        }
        _ => {}
    }
    if let Condition::CheckDown { check_id: Some(id) } = rule.condition {
        state
            .blocking(move |s| s.check(tenant, id))
            .await?
            .ok_or_else(|| {
                ApiError::unprocessable(
                    "invalid_rule",
                    format!("condition.check_id: no check {id}"),
                )
            })?;
    }
    Ok(())
}

#[utoipa::path(get, path = "/api/alert-rules", tag = "alerts", responses((status = 200, body = Vec<RuleView>)), security(("session" = [])))]
pub async fn list_rules(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<RuleView>>> {
    list_views(&state, caller.tenant, AlertObjectKind::Rule, rule_view).await
}

#[utoipa::path(post, path = "/api/alert-rules", tag = "alerts", request_body = RuleDefinition,
    responses((status = 201, body = RuleView), (status = 422, body = lxmon_proto::ErrorBody)), security(("session" = [])))]
pub async fn create_rule(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<RuleDefinition>, JsonRejection>,
) -> ApiResult<Response> {
    let Json(rule) = body?;
    validated_rule(&state, caller.tenant, &rule).await?;
    let name = rule.name.trim().to_string();
    let object = save(
        &state,
        &caller,
        AlertObjectKind::Rule,
        None,
        name,
        to_json(&rule),
    )
    .await?;
    let view = rule_view(object)?;
    Ok(AuditNote::new(
        "rule.create",
        format!("rule {} ({})", view.id, view.rule.name),
    )
    .attach((StatusCode::CREATED, Json(view))))
}

fn to_json<T: Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).expect("alerting definitions serialize")
}

#[utoipa::path(get, path = "/api/alert-rules/{id}", tag = "alerts", params(("id" = i64, Path)),
    responses((status = 200, body = RuleView), (status = 404, body = lxmon_proto::ErrorBody)), security(("session" = [])))]
pub async fn get_rule(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<i64>, PathRejection>,
) -> ApiResult<Json<RuleView>> {
    let id = id_of(path)?;
    Ok(Json(rule_view(
        object_or_404(&state, caller.tenant, AlertObjectKind::Rule, id).await?,
    )?))
}

#[utoipa::path(put, path = "/api/alert-rules/{id}", tag = "alerts", params(("id" = i64, Path)), request_body = RuleDefinition,
    responses((status = 200, body = RuleView), (status = 404, body = lxmon_proto::ErrorBody), (status = 422, body = lxmon_proto::ErrorBody)),
    security(("session" = [])))]
pub async fn update_rule(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<i64>, PathRejection>,
    body: Result<Json<RuleDefinition>, JsonRejection>,
) -> ApiResult<Response> {
    let id = id_of(path)?;
    object_or_404(&state, caller.tenant, AlertObjectKind::Rule, id).await?;
    let Json(rule) = body?;
    validated_rule(&state, caller.tenant, &rule).await?;
    let name = rule.name.trim().to_string();
    let object = save(
        &state,
        &caller,
        AlertObjectKind::Rule,
        Some(id),
        name,
        to_json(&rule),
    )
    .await?;
    let view = rule_view(object)?;
    Ok(AuditNote::new("rule.update", format!("rule {id} ({})", view.rule.name)).attach(Json(view)))
}

#[utoipa::path(delete, path = "/api/alert-rules/{id}", tag = "alerts", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = lxmon_proto::ErrorBody)), security(("session" = [])))]
pub async fn delete_rule(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<i64>, PathRejection>,
) -> ApiResult<Response> {
    remove(&state, &caller, AlertObjectKind::Rule, id_of(path)?).await
}

#[derive(Deserialize, ToSchema)]
pub struct PreviewInput {
    pub condition: Condition,
    #[serde(default)]
    pub scope: Scope,
}

/// One series a rule would watch, with its latest value.
#[derive(Serialize, ToSchema)]
pub struct PreviewRow {
    pub host_id: HostId,
    pub hostname: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
    /// Whether the condition holds now.
    pub breaching: bool,
}

/// What a threshold or ratio rule would see now, per host and series (the
/// rule editor's live preview).
#[utoipa::path(post, path = "/api/alert-rules/preview", tag = "alerts", request_body = PreviewInput,
    responses((status = 200, body = Vec<PreviewRow>), (status = 422, body = lxmon_proto::ErrorBody)), security(("session" = [])))]
pub async fn preview_rule(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<PreviewInput>, JsonRejection>,
) -> ApiResult<Json<Vec<PreviewRow>>> {
    let Json(input) = body?;
    let tenant = caller.tenant;
    let latest = state
        .blocking(move |s| {
            let mut out = Vec::new();
            for h in s.hosts(tenant)? {
                let mut labels: BTreeMap<String, String> = h.labels.clone();
                labels.insert("host".into(), h.hostname.clone());
                if !input.scope.contains(h.id, &labels) {
                    continue;
                }
                if let Some(l) = s.latest(tenant, h.id)? {
                    out.push((h.id, h.hostname, l.values));
                }
            }
            Ok(out)
        })
        .await?;
    let mut rows = Vec::new();
    for (host_id, hostname, values) in latest {
        let series: Vec<lxmon_alert::rule::SeriesValue<'_>> = values
            .iter()
            .map(|v| (v.name.as_str(), &v.labels, v.value))
            .collect();
        let observed = match &input.condition {
            // Not decided by one report: show the values they would watch.
            Condition::Anomaly { metric, labels, .. }
            | Condition::MetricMissing { metric, labels, .. } => series
                .iter()
                .filter(|(name, l, _)| name == metric && matches_all(labels, l))
                .map(|(_, l, v)| (*l, Observation::flag(false).with_value(*v)))
                .collect(),
            condition => condition.observe(&series),
        };
        rows.extend(observed.into_iter().map(|(labels, obs)| PreviewRow {
            host_id,
            hostname: hostname.clone(),
            labels: labels.clone(),
            value: obs.value.unwrap_or_default(),
            breaching: obs.breaching,
        }));
    }
    rows.truncate(1000);
    Ok(Json(rows))
}

// --- channels -------------------------------------------------------------

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelInput {
    pub name: String,
    /// `{"kind":"email"|"slack"|"teams"|"telegram"|"whatsapp"|"webhook", …}`.
    /// On update, secret fields left out or empty keep their stored value.
    #[schema(value_type = Object)]
    pub config: serde_json::Value,
    #[serde(default = "yes")]
    pub send_resolved: bool,
}

/// A channel without its secrets: `config.secrets_set` names the secret
/// fields that hold a value.
#[derive(Serialize, ToSchema)]
pub struct ChannelView {
    pub id: i64,
    pub name: String,
    pub kind: String,
    #[schema(value_type = Object)]
    pub config: serde_json::Value,
    pub send_resolved: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

fn channel_view(o: AlertObject) -> ApiResult<ChannelView> {
    let body: ChannelBody = stored(o.body, "stored channel")?;
    Ok(ChannelView {
        id: o.id,
        name: o.name,
        kind: body.config.kind().into(),
        config: body.config.redacted(),
        send_resolved: body.send_resolved,
        created_at: o.created_at,
        updated_at: o.updated_at,
    })
}

fn channel_body(
    input: &ChannelInput,
    previous: Option<&ChannelBody>,
) -> ApiResult<(String, ChannelBody)> {
    let name = input.name.trim().to_string();
    if name.is_empty() || name.len() > 128 {
        return Err(ApiError::unprocessable(
            "invalid_channel",
            "name must be 1 to 128 characters",
        ));
    }
    let mut config: ChannelConfig = serde_json::from_value(input.config.clone())
        .map_err(|e| ApiError::unprocessable("invalid_channel", format!("config: {e}")))?;
    if let Some(prev) = previous {
        config.keep_secrets_from(&prev.config);
    }
    config
        .validate()
        .map_err(|e| invalid("invalid_channel", e))?;
    Ok((
        name,
        ChannelBody {
            config,
            send_resolved: input.send_resolved,
        },
    ))
}

#[utoipa::path(get, path = "/api/channels", tag = "alerts", responses((status = 200, body = Vec<ChannelView>)), security(("session" = [])))]
pub async fn list_channels(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<ChannelView>>> {
    list_views(
        &state,
        caller.tenant,
        AlertObjectKind::Channel,
        channel_view,
    )
    .await
}

#[utoipa::path(post, path = "/api/channels", tag = "alerts", request_body = ChannelInput,
    responses((status = 201, body = ChannelView), (status = 422, body = lxmon_proto::ErrorBody)), security(("session" = [])))]
pub async fn create_channel(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<ChannelInput>, JsonRejection>,
) -> ApiResult<Response> {
    let Json(input) = body?;
    let (name, body) = channel_body(&input, None)?;
    let object = save(
        &state,
        &caller,
        AlertObjectKind::Channel,
        None,
        name,
        to_json(&body),
    )
    .await?;
    let view = channel_view(object)?;
    Ok(AuditNote::new(
        "channel.create",
        format!("channel {} ({})", view.id, view.name),
    )
    .attach((StatusCode::CREATED, Json(view))))
}

#[utoipa::path(put, path = "/api/channels/{id}", tag = "alerts", params(("id" = i64, Path)), request_body = ChannelInput,
    responses((status = 200, body = ChannelView), (status = 404, body = lxmon_proto::ErrorBody), (status = 422, body = lxmon_proto::ErrorBody)),
    security(("session" = [])))]
pub async fn update_channel(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<i64>, PathRejection>,
    body: Result<Json<ChannelInput>, JsonRejection>,
) -> ApiResult<Response> {
    let id = id_of(path)?;
    let previous = object_or_404(&state, caller.tenant, AlertObjectKind::Channel, id).await?;
    let Json(input) = body?;
    let previous: ChannelBody = stored(previous.body, "stored channel")?;
    let (name, body) = channel_body(&input, Some(&previous))?;
    let object = save(
        &state,
        &caller,
        AlertObjectKind::Channel,
        Some(id),
        name,
        to_json(&body),
    )
    .await?;
    let view = channel_view(object)?;
    Ok(
        AuditNote::new("channel.update", format!("channel {id} ({})", view.name))
            .attach(Json(view)),
    )
}

#[utoipa::path(delete, path = "/api/channels/{id}", tag = "alerts", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = lxmon_proto::ErrorBody)), security(("session" = [])))]
pub async fn delete_channel(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<i64>, PathRejection>,
) -> ApiResult<Response> {
    remove(&state, &caller, AlertObjectKind::Channel, id_of(path)?).await
}

#[derive(Serialize, ToSchema)]
pub struct TestResult {
    pub sent: bool,
    pub attempts: u32,
    pub error: Option<String>,
}

/// Sends a test message through the channel now.
#[utoipa::path(post, path = "/api/channels/{id}/test", tag = "alerts", params(("id" = i64, Path)),
    responses((status = 200, body = TestResult), (status = 404, body = lxmon_proto::ErrorBody)), security(("session" = [])))]
pub async fn test_channel(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<i64>, PathRejection>,
) -> ApiResult<Response> {
    let id = id_of(path)?;
    let object = object_or_404(&state, caller.tenant, AlertObjectKind::Channel, id).await?;
    let body: ChannelBody = stored(object.body, "stored channel")?;
    let n = lxmon_notify::Notification::test(None, state.config.alerts.dashboard_url.clone());
    let config = body.config;
    let mut options = crate::alert::dispatch::send_options();
    // Someone is waiting on the button: one attempt, a short timeout.
    options.attempts = 1;
    let result =
        tokio::task::spawn_blocking(move || lxmon_notify::send(&config, &n, &options)).await?;
    let out = match result {
        Ok(d) => TestResult {
            sent: true,
            attempts: d.attempts,
            error: None,
        },
        Err(e) => TestResult {
            sent: false,
            attempts: 1,
            error: Some(e.to_string()),
        },
    };
    let record = NotificationRecord {
        id: 0,
        tenant_id: caller.tenant,
        channel_id: Some(id),
        channel_name: object.name.clone(),
        alert_ids: Vec::new(),
        kind: "test".into(),
        outcome: if out.sent { "sent" } else { "failed" }.into(),
        error: out.error.clone(),
        attempts: out.attempts,
        created_at: crate::now_ms(),
    };
    state
        .blocking(move |s| s.record_notification(&record))
        .await?;
    Ok(AuditNote::new("channel.test", format!("channel {id} ({})", object.name)).attach(Json(out)))
}

// --- routing --------------------------------------------------------------

async fn routing_object(state: &AppState, tenant: TenantId) -> ApiResult<Option<AlertObject>> {
    Ok(state
        .blocking(move |s| s.alert_objects(tenant, AlertObjectKind::Routing))
        .await?
        .into_iter()
        .next())
}

#[utoipa::path(get, path = "/api/alert-routing", tag = "alerts", responses((status = 200, body = Routing)), security(("session" = [])))]
pub async fn get_routing(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Routing>> {
    Ok(Json(match routing_object(&state, caller.tenant).await? {
        Some(o) => stored(o.body, "stored routing")?,
        None => Routing::default(),
    }))
}

/// Replaces the routing tree (routes in order, then the default channels).
#[utoipa::path(put, path = "/api/alert-routing", tag = "alerts", request_body = Routing,
    responses((status = 200, body = Routing), (status = 422, body = lxmon_proto::ErrorBody)), security(("session" = [])))]
pub async fn put_routing(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<Routing>, JsonRejection>,
) -> ApiResult<Response> {
    let Json(routing) = body?;
    let tenant = caller.tenant;
    let channels: Vec<i64> = state
        .blocking(move |s| s.alert_objects(tenant, AlertObjectKind::Channel))
        .await?
        .iter()
        .map(|o| o.id)
        .collect();
    routing
        .validate(&|id| channels.contains(&id))
        .map_err(|e| invalid("invalid_routing", e))?;
    let existing = routing_object(&state, tenant).await?.map(|o| o.id);
    save(
        &state,
        &caller,
        AlertObjectKind::Routing,
        existing,
        "routing".into(),
        to_json(&routing),
    )
    .await?;
    Ok(AuditNote::new("routing.update", "routing").attach(Json(routing)))
}

// --- silences -------------------------------------------------------------

#[derive(Serialize, ToSchema)]
pub struct SilenceView {
    pub id: i64,
    #[serde(flatten)]
    pub silence: Silence,
    pub created_by: Option<String>,
    pub created_at: i64,
    /// In effect now.
    pub active: bool,
}

fn silence_view(o: AlertObject) -> ApiResult<SilenceView> {
    let silence: Silence = stored(o.body, "stored silence")?;
    let now = crate::now_ms();
    Ok(SilenceView {
        id: o.id,
        active: silence.starts_at.is_none_or(|s| s <= now) && now < silence.ends_at,
        silence,
        created_by: o.created_by,
        created_at: o.created_at,
    })
}

#[utoipa::path(get, path = "/api/silences", tag = "alerts", responses((status = 200, body = Vec<SilenceView>)), security(("session" = [])))]
pub async fn list_silences(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<SilenceView>>> {
    list_views(
        &state,
        caller.tenant,
        AlertObjectKind::Silence,
        silence_view,
    )
    .await
}

#[utoipa::path(post, path = "/api/silences", tag = "alerts", request_body = Silence,
    responses((status = 201, body = SilenceView), (status = 422, body = lxmon_proto::ErrorBody)), security(("session" = [])))]
pub async fn create_silence(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<Silence>, JsonRejection>,
) -> ApiResult<Response> {
    let Json(mut silence) = body?;
    let now = crate::now_ms();
    silence
        .validate(now)
        .map_err(|e| invalid("invalid_silence", e))?;
    silence.starts_at = Some(silence.starts_at.unwrap_or(now));
    let name = silence
        .matchers
        .iter()
        .map(|m| m.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let object = save(
        &state,
        &caller,
        AlertObjectKind::Silence,
        None,
        name,
        to_json(&silence),
    )
    .await?;
    let view = silence_view(object)?;
    Ok(
        AuditNote::new("silence.create", format!("silence {}", view.id))
            .attach((StatusCode::CREATED, Json(view))),
    )
}

/// Ends a silence now (it is deleted).
#[utoipa::path(delete, path = "/api/silences/{id}", tag = "alerts", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = lxmon_proto::ErrorBody)), security(("session" = [])))]
pub async fn delete_silence(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<i64>, PathRejection>,
) -> ApiResult<Response> {
    remove(&state, &caller, AlertObjectKind::Silence, id_of(path)?).await
}

// --- maintenance windows --------------------------------------------------

#[derive(Serialize, ToSchema)]
pub struct MaintenanceView {
    pub id: i64,
    #[serde(flatten)]
    pub window: Maintenance,
    pub active: bool,
    pub next_start: Option<i64>,
    pub created_at: i64,
}

fn maintenance_view(o: AlertObject) -> ApiResult<MaintenanceView> {
    let window: Maintenance = stored(o.body, "stored window")?;
    let now = crate::now_ms();
    Ok(MaintenanceView {
        id: o.id,
        active: window.window.active_at(now),
        next_start: window.window.next_start_after(now),
        window,
        created_at: o.created_at,
    })
}

#[utoipa::path(get, path = "/api/maintenance-windows", tag = "alerts", responses((status = 200, body = Vec<MaintenanceView>)), security(("session" = [])))]
pub async fn list_maintenance(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<MaintenanceView>>> {
    list_views(
        &state,
        caller.tenant,
        AlertObjectKind::Maintenance,
        maintenance_view,
    )
    .await
}

#[utoipa::path(post, path = "/api/maintenance-windows", tag = "alerts", request_body = Maintenance,
    responses((status = 201, body = MaintenanceView), (status = 422, body = lxmon_proto::ErrorBody)), security(("session" = [])))]
pub async fn create_maintenance(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<Maintenance>, JsonRejection>,
) -> ApiResult<Response> {
    let Json(window) = body?;
    window
        .validate()
        .map_err(|e| invalid("invalid_maintenance", e))?;
    let name = window.name.trim().to_string();
    let object = save(
        &state,
        &caller,
        AlertObjectKind::Maintenance,
        None,
        name,
        to_json(&window),
    )
    .await?;
    let view = maintenance_view(object)?;
    Ok(AuditNote::new(
        "maintenance.create",
        format!("maintenance {} ({})", view.id, view.window.name),
    )
    .attach((StatusCode::CREATED, Json(view))))
}

#[utoipa::path(put, path = "/api/maintenance-windows/{id}", tag = "alerts", params(("id" = i64, Path)), request_body = Maintenance,
    responses((status = 200, body = MaintenanceView), (status = 404, body = lxmon_proto::ErrorBody), (status = 422, body = lxmon_proto::ErrorBody)),
    security(("session" = [])))]
pub async fn update_maintenance(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<i64>, PathRejection>,
    body: Result<Json<Maintenance>, JsonRejection>,
) -> ApiResult<Response> {
    let id = id_of(path)?;
    object_or_404(&state, caller.tenant, AlertObjectKind::Maintenance, id).await?;
    let Json(window) = body?;
    window
        .validate()
        .map_err(|e| invalid("invalid_maintenance", e))?;
    let name = window.name.trim().to_string();
    let object = save(
        &state,
        &caller,
        AlertObjectKind::Maintenance,
        Some(id),
        name,
        to_json(&window),
    )
    .await?;
    let view = maintenance_view(object)?;
    Ok(AuditNote::new("maintenance.update", format!("maintenance {id}")).attach(Json(view)))
}

#[utoipa::path(delete, path = "/api/maintenance-windows/{id}", tag = "alerts", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = lxmon_proto::ErrorBody)), security(("session" = [])))]
pub async fn delete_maintenance(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<i64>, PathRejection>,
) -> ApiResult<Response> {
    remove(&state, &caller, AlertObjectKind::Maintenance, id_of(path)?).await
}

// --- incoming webhooks ----------------------------------------------------

/// What is stored for an incoming webhook.
#[derive(Serialize, Deserialize)]
struct WebhookBody {
    secret: String,
    #[serde(default)]
    allowed_cidrs: Vec<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookInput {
    pub name: String,
    /// Only these networks may post (empty: any).
    #[serde(default)]
    pub allowed_cidrs: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct WebhookView {
    pub id: i64,
    pub name: String,
    /// Where other systems post: `POST {url_path}` with
    /// `X-Lxmon-Signature: sha256=<hex HMAC-SHA256(secret, body)>`.
    pub url_path: String,
    pub allowed_cidrs: Vec<String>,
    pub created_at: i64,
    /// The signing secret: returned once, on creation.
    pub secret: Option<String>,
}

fn webhook_view(o: AlertObject, with_secret: bool) -> ApiResult<WebhookView> {
    let body: WebhookBody = stored(o.body, "stored webhook")?;
    Ok(WebhookView {
        id: o.id,
        name: o.name,
        url_path: format!("/api/webhooks/{}", o.id),
        allowed_cidrs: body.allowed_cidrs,
        created_at: o.created_at,
        secret: with_secret.then_some(body.secret),
    })
}

#[utoipa::path(get, path = "/api/incoming-webhooks", tag = "alerts", responses((status = 200, body = Vec<WebhookView>)), security(("session" = [])))]
pub async fn list_webhooks(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<WebhookView>>> {
    list_views(&state, caller.tenant, AlertObjectKind::Webhook, |o| {
        webhook_view(o, false)
    })
    .await
}

#[utoipa::path(post, path = "/api/incoming-webhooks", tag = "alerts", request_body = WebhookInput,
    responses((status = 201, body = WebhookView), (status = 422, body = lxmon_proto::ErrorBody)), security(("session" = [])))]
pub async fn create_webhook(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<WebhookInput>, JsonRejection>,
) -> ApiResult<Response> {
    let Json(input) = body?;
    let name = input.name.trim().to_string();
    if name.is_empty() || name.len() > 128 {
        return Err(ApiError::unprocessable(
            "invalid_webhook",
            "name must be 1 to 128 characters",
        ));
    }
    if let Some(bad) = input
        .allowed_cidrs
        .iter()
        .find(|c| Cidr::parse(c).is_none())
    {
        return Err(ApiError::unprocessable(
            "invalid_webhook",
            format!("allowed_cidrs: {bad:?} is not a CIDR"),
        ));
    }
    let secret = hex(&crate::auth::random_bytes::<32>());
    let body = WebhookBody {
        secret,
        allowed_cidrs: input.allowed_cidrs,
    };
    let object = save(
        &state,
        &caller,
        AlertObjectKind::Webhook,
        None,
        name,
        to_json(&body),
    )
    .await?;
    let view = webhook_view(object, true)?;
    Ok(AuditNote::new(
        "webhook.create",
        format!("webhook {} ({})", view.id, view.name),
    )
    .attach((StatusCode::CREATED, Json(view))))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[utoipa::path(delete, path = "/api/incoming-webhooks/{id}", tag = "alerts", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = lxmon_proto::ErrorBody)), security(("session" = [])))]
pub async fn delete_webhook(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<i64>, PathRejection>,
) -> ApiResult<Response> {
    remove(&state, &caller, AlertObjectKind::Webhook, id_of(path)?).await
}

#[derive(Serialize, ToSchema)]
pub struct WebhookAccepted {
    /// Alerts taken from the body.
    pub accepted: usize,
}

/// Alerts from another system: the generic JSON shape (one object or
/// `{"alerts":[…]}`) or Alertmanager's webhook format, signed with the
/// webhook's secret (`X-Lxmon-Signature` or `X-Hub-Signature-256`:
/// `sha256=<hex HMAC-SHA256 of the body>`).
#[utoipa::path(post, path = "/api/webhooks/{id}", tag = "alerts", params(("id" = i64, Path)),
    request_body(content = Object, description = "Generic alerts or an Alertmanager webhook payload"),
    responses((status = 202, body = WebhookAccepted), (status = 401, body = lxmon_proto::ErrorBody), (status = 403, body = lxmon_proto::ErrorBody),
        (status = 404, body = lxmon_proto::ErrorBody), (status = 413, body = lxmon_proto::ErrorBody), (status = 422, body = lxmon_proto::ErrorBody)))]
pub async fn incoming(
    State(state): State<AppState>,
    path: Result<Path<i64>, PathRejection>,
    request: axum::extract::Request,
) -> ApiResult<Response> {
    let id = id_of(path)?;
    let (parts, body): (_, Body) = request.into_parts();
    let headers: HeaderMap = parts.headers;
    let webhook = state
        .blocking(move |s| s.incoming_webhook(id))
        .await?
        .ok_or_else(|| ApiError::not_found("webhook"))?;
    let hook: WebhookBody = stored(webhook.body, "stored webhook")?;
    if !hook.allowed_cidrs.is_empty() {
        let ip: std::net::IpAddr = client_ip(&parts.extensions)
            .parse()
            .map_err(|_| ApiError::forbidden("client address unknown"))?;
        if !hook
            .allowed_cidrs
            .iter()
            .filter_map(|c| Cidr::parse(c))
            .any(|c| c.contains(ip))
        {
            return Err(ApiError::forbidden(
                "this address may not post to the webhook",
            ));
        }
    }
    let bytes = read_body(&headers, body, MAX_WEBHOOK_BYTES).await?;
    let signature = headers
        .get(lxmon_notify::SIGNATURE_HEADER)
        .or_else(|| headers.get("x-hub-signature-256"))
        .and_then(|v| v.to_str().ok());
    match (signature, super::extract::bearer(&headers)) {
        (Some(signature), _) => {
            if !lxmon_notify::verify(hook.secret.as_bytes(), &bytes, signature) {
                return Err(ApiError::unauthorized("signature does not match the body"));
            }
        }
        // For senders that cannot sign (Alertmanager's `authorization`
        // credentials): the secret itself, compared in constant time.
        (None, Some(token)) => {
            use subtle::ConstantTimeEq;
            if !bool::from(token.as_bytes().ct_eq(hook.secret.as_bytes())) {
                return Err(ApiError::unauthorized("wrong bearer token"));
            }
        }
        (None, None) => {
            return Err(ApiError::unauthorized(
                "missing X-Lxmon-Signature header (or Authorization: Bearer <secret>)",
            ));
        }
    }
    let alerts = lxmon_alert::incoming::parse(&bytes).map_err(|e| invalid("invalid_alerts", e))?;
    let accepted = state
        .alerts
        .external(webhook.tenant_id, id, webhook.name.clone(), alerts)
        .await
        .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", e))?;
    let mut note = AuditNote::new(
        "webhook.receive",
        format!("webhook {id} ({})", webhook.name),
    );
    note.actor = Some(format!("webhook:{id}"));
    note.tenant = Some(webhook.tenant_id);
    note.detail = format!("{accepted} alerts");
    Ok(note
        .attach((StatusCode::ACCEPTED, Json(WebhookAccepted { accepted })))
        .into_response())
}
