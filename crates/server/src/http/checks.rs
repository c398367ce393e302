//! Health checks: definitions, "test now", results as series, uptime, and
//! public status pages. The probes themselves are `lxmon-checks`; the
//! scheduler that runs them is `crate::checks_runner`.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use lxmon_proto::{AgentCheckResults, MAX_REPORT_BYTES};
use lxmon_store::{Check, CheckDefinition, CheckRun, DailyUptime, HostId, StatusPage, TenantId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::authz::{AuditNote, Caller};
use super::error::{ApiError, ApiResult};
use super::extract::{AgentAuth, parse_json, read_body};
use crate::state::AppState;

const DAY_MS: i64 = 86_400_000;

#[derive(Deserialize, ToSchema)]
pub struct CheckInput {
    pub name: String,
    /// `{"type":"http","url":…}`, `{"type":"tcp","host","port"}`,
    /// `{"type":"ping","host","count"}` or `{"type":"dns","name","record_type","expected","resolver"}`.
    #[schema(value_type = Object)]
    pub spec: serde_json::Value,
    /// Seconds between runs: 10 to 86400 (default 60).
    pub interval_s: Option<u32>,
    /// Seconds a run may take: 1 to 60 and at most the interval (default 10).
    pub timeout_s: Option<u32>,
    /// Failed runs in a row tolerated before `down`: 0 to 10 (default 1).
    pub retries: Option<u32>,
    /// Run from this host's agent instead of the server.
    pub run_on_host: Option<HostId>,
    pub enabled: Option<bool>,
}

/// Validates input into a definition and the parsed probe.
pub fn definition(input: CheckInput) -> ApiResult<(CheckDefinition, lxmon_checks::CheckSpec)> {
    let name = input.name.trim().to_owned();
    if name.is_empty() || name.len() > 128 {
        return Err(ApiError::unprocessable(
            "invalid_check",
            "name must be 1 to 128 characters",
        ));
    }
    let mut spec_json = input.spec;
    // Echoed back by editors from a redacted view.
    if let Some(o) = spec_json.as_object_mut() {
        o.remove("secrets_set");
    }
    let spec: lxmon_checks::CheckSpec = serde_json::from_value(spec_json)
        .map_err(|e| ApiError::unprocessable("invalid_check", format!("spec: {e}")))?;
    lxmon_checks::validate(&spec)
        .map_err(|e| ApiError::unprocessable("invalid_check", e.to_string()))?;
    let interval_s = input.interval_s.unwrap_or(60);
    if !(10..=86_400).contains(&interval_s) {
        return Err(ApiError::unprocessable(
            "invalid_check",
            "interval_s must be between 10 s and 1 day",
        ));
    }
    let timeout_s = input.timeout_s.unwrap_or(10.min(interval_s));
    if timeout_s == 0 || timeout_s > 60 || timeout_s > interval_s {
        return Err(ApiError::unprocessable(
            "invalid_check",
            "timeout_s must be 1 to 60 and at most the interval",
        ));
    }
    let retries = input.retries.unwrap_or(1);
    if retries > 10 {
        return Err(ApiError::unprocessable(
            "invalid_check",
            "retries must be 0 to 10",
        ));
    }
    Ok((
        CheckDefinition {
            name,
            spec: serde_json::to_value(&spec).expect("specs serialize"),
            interval_s,
            timeout_s,
            retries,
            run_on_host: input.run_on_host,
            enabled: input.enabled.unwrap_or(true),
        },
        spec,
    ))
}

/// Uptime percentages over the usual windows (`None` with no runs).
#[derive(Serialize, ToSchema)]
pub struct Uptime {
    pub h24: Option<f64>,
    pub d7: Option<f64>,
    pub d30: Option<f64>,
}

#[derive(Serialize, ToSchema)]
pub struct CheckView {
    #[serde(flatten)]
    pub check: Check,
    pub uptime: Uptime,
}

/// A check's credentials (basic-auth password, credential-like headers) are
/// not shown to anyone: they are blanked, and `secrets_set` names them so
/// an editor can say "set, leave empty to keep".
fn redact_spec(spec: &mut serde_json::Value) {
    let mut set = Vec::new();
    if let Some(p) = spec.pointer_mut("/basic_auth/password")
        && p.as_str().is_some_and(|p| !p.is_empty())
    {
        *p = serde_json::Value::String(String::new());
        set.push("basic_auth.password".to_string());
    }
    if let Some(headers) = spec.get_mut("headers").and_then(|h| h.as_object_mut()) {
        for (name, value) in headers.iter_mut() {
            if lxmon_notify::is_sensitive_header(name) {
                *value = serde_json::Value::String(String::new());
                set.push(format!("headers.{name}"));
            }
        }
    }
    if let Some(obj) = spec.as_object_mut() {
        obj.insert("secrets_set".into(), serde_json::json!(set));
    }
}

/// The inverse of [`redact_spec`] for an update: credentials sent empty
/// keep their stored value.
fn keep_secrets(spec: &mut serde_json::Value, previous: &serde_json::Value) {
    if let Some(obj) = spec.as_object_mut() {
        obj.remove("secrets_set");
    }
    let empty =
        |v: Option<&serde_json::Value>| v.and_then(|v| v.as_str()).is_none_or(str::is_empty);
    let same_user =
        spec.pointer("/basic_auth/username") == previous.pointer("/basic_auth/username");
    if same_user
        && empty(spec.pointer("/basic_auth/password"))
        && let (Some(slot), Some(old)) = (
            spec.pointer_mut("/basic_auth"),
            previous.pointer("/basic_auth/password"),
        )
        && let Some(obj) = slot.as_object_mut()
    {
        obj.insert("password".into(), old.clone());
    }
    if let (Some(headers), Some(old)) = (
        spec.get_mut("headers").and_then(|h| h.as_object_mut()),
        previous.get("headers").and_then(|h| h.as_object()),
    ) {
        for (name, value) in headers.iter_mut() {
            if value.as_str().is_some_and(str::is_empty)
                && let Some(v) = old.get(name)
            {
                *value = v.clone();
            }
        }
    }
}

async fn view(state: &AppState, mut check: Check) -> ApiResult<CheckView> {
    redact_spec(&mut check.spec);
    let id = check.id;
    let now = crate::now_ms();
    let (h24, d7, d30) = state
        .blocking(move |s| {
            let pct = |(up, total): (u64, u64)| {
                (total > 0).then(|| (up as f64 / total as f64 * 10_000.0).round() / 100.0)
            };
            Ok((
                pct(s.check_uptime(id, now - DAY_MS)?),
                pct(s.check_uptime(id, now - 7 * DAY_MS)?),
                pct(s.check_uptime(id, now - 30 * DAY_MS)?),
            ))
        })
        .await?;
    Ok(CheckView {
        check,
        uptime: Uptime { h24, d7, d30 },
    })
}

fn id_of(path: Result<Path<i64>, PathRejection>) -> ApiResult<i64> {
    path.map(|Path(id)| id)
        .map_err(|_| ApiError::bad_request("bad_path", "id must be an integer"))
}

/// The tenant's checks with status, latest latency and uptime.
#[utoipa::path(get, path = "/api/checks", tag = "checks", responses((status = 200, body = Vec<CheckView>)), security(("session" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<CheckView>>> {
    let checks = state.blocking(move |s| s.checks(caller.tenant)).await?;
    let mut out = Vec::with_capacity(checks.len());
    for c in checks {
        out.push(view(&state, c).await?);
    }
    Ok(Json(out))
}

#[utoipa::path(post, path = "/api/checks", tag = "checks", request_body = CheckInput,
    responses((status = 201, body = CheckView), (status = 422, body = lxmon_proto::ErrorBody)), security(("session" = [])))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<CheckInput>, JsonRejection>,
) -> ApiResult<Response> {
    let Json(input) = body?;
    let (def, _) = definition(input)?;
    let tenant = caller.tenant;
    let check = state
        .blocking(move |s| s.create_check(tenant, &def, crate::now_ms()))
        .await?;
    state.checks_changed.notify_one();
    let note = AuditNote::new(
        "check.create",
        format!("check {} ({})", check.id, check.name),
    );
    Ok(note.attach((StatusCode::CREATED, Json(view(&state, check).await?))))
}

async fn check_or_404(state: &AppState, tenant: TenantId, id: i64) -> ApiResult<Check> {
    state
        .blocking(move |s| s.check(tenant, id))
        .await?
        .ok_or_else(|| ApiError::not_found("check"))
}

#[utoipa::path(get, path = "/api/checks/{id}", tag = "checks", params(("id" = i64, Path)),
    responses((status = 200, body = CheckView), (status = 404, body = lxmon_proto::ErrorBody)), security(("session" = [])))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<i64>, PathRejection>,
) -> ApiResult<Json<CheckView>> {
    let id = id_of(path)?;
    let check = check_or_404(&state, caller.tenant, id).await?;
    Ok(Json(view(&state, check).await?))
}

#[utoipa::path(put, path = "/api/checks/{id}", tag = "checks", params(("id" = i64, Path)), request_body = CheckInput,
    responses((status = 200, body = CheckView), (status = 404, body = lxmon_proto::ErrorBody), (status = 422, body = lxmon_proto::ErrorBody)),
    security(("session" = [])))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<i64>, PathRejection>,
    body: Result<Json<CheckInput>, JsonRejection>,
) -> ApiResult<Response> {
    let id = id_of(path)?;
    let previous = check_or_404(&state, caller.tenant, id).await?;
    let Json(mut input) = body?;
    keep_secrets(&mut input.spec, &previous.spec);
    let (def, _) = definition(input)?;
    let tenant = caller.tenant;
    let check = state
        .blocking(move |s| s.update_check(tenant, id, &def))
        .await
        .map_err(|e| e.naming("check"))?;
    state.checks_changed.notify_one();
    let note = AuditNote::new(
        "check.update",
        format!("check {} ({})", check.id, check.name),
    );
    Ok(note.attach(Json(view(&state, check).await?)))
}

#[utoipa::path(delete, path = "/api/checks/{id}", tag = "checks", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = lxmon_proto::ErrorBody)), security(("session" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<i64>, PathRejection>,
) -> ApiResult<Response> {
    let id = id_of(path)?;
    let tenant = caller.tenant;
    state
        .blocking(move |s| s.delete_check(tenant, id))
        .await
        .map_err(|e| e.naming("check"))?;
    state.checks_changed.notify_one();
    Ok(AuditNote::new("check.delete", format!("check {id}")).attach(StatusCode::NO_CONTENT))
}

/// What one run of a probe found.
#[derive(Serialize, ToSchema)]
pub struct TestOutcome {
    pub up: bool,
    pub latency_ms: Option<f64>,
    pub cert_days_left: Option<f64>,
    pub cert_warning: bool,
    pub error: Option<String>,
    pub detail: Option<String>,
}

/// Runs a check definition once from the server, without saving anything
/// ("test now" in the check editor).
#[utoipa::path(post, path = "/api/checks/test", tag = "checks", request_body = CheckInput,
    responses((status = 200, body = TestOutcome), (status = 422, body = lxmon_proto::ErrorBody)), security(("session" = [])))]
pub async fn test(
    State(state): State<AppState>,
    body: Result<Json<CheckInput>, JsonRejection>,
) -> ApiResult<Json<TestOutcome>> {
    let Json(input) = body?;
    let (def, spec) = definition(input)?;
    let timeout = std::time::Duration::from_secs(u64::from(def.timeout_s));
    let _slot = state
        .probe_slots
        .clone()
        .acquire_owned()
        .await
        .map_err(|e| ApiError::internal("probe", e))?;
    let o = tokio::task::spawn_blocking(move || lxmon_checks::run(&spec, timeout)).await?;
    Ok(Json(TestOutcome {
        up: o.up,
        latency_ms: o.latency_ms,
        cert_days_left: o.cert_days_left,
        cert_warning: o.cert_warning,
        error: o.error,
        detail: o.detail,
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RangeParams {
    /// Unix ms; default 24 h before `to`.
    pub from: Option<i64>,
    /// Unix ms; default now.
    pub to: Option<i64>,
}

/// A check's runs as series: `check.up` (1/0), `check.latency_ms`,
/// `check.cert_days_left`, column-oriented like host metrics.
#[derive(Serialize, ToSchema)]
pub struct CheckSeries {
    pub timestamps: Vec<i64>,
    pub up: Vec<u8>,
    pub latency_ms: Vec<Option<f64>>,
    pub cert_days_left: Vec<Option<f64>>,
    pub errors: Vec<Option<String>>,
}

#[utoipa::path(get, path = "/api/checks/{id}/results", tag = "checks", params(("id" = i64, Path), RangeParams),
    responses((status = 200, body = CheckSeries), (status = 404, body = lxmon_proto::ErrorBody)), security(("session" = [])))]
pub async fn results(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<i64>, PathRejection>,
    params: Result<Query<RangeParams>, QueryRejection>,
) -> ApiResult<Json<CheckSeries>> {
    let id = id_of(path)?;
    let Query(p) = params?;
    let to = p.to.unwrap_or_else(crate::now_ms);
    let from = p.from.unwrap_or(to - DAY_MS);
    let tenant = caller.tenant;
    let runs: Vec<CheckRun> = state
        .blocking(move |s| s.check_runs(tenant, id, from, to))
        .await
        .map_err(|e| e.naming("check"))?;
    Ok(Json(CheckSeries {
        timestamps: runs.iter().map(|r| r.ts).collect(),
        up: runs.iter().map(|r| u8::from(r.up)).collect(),
        latency_ms: runs.iter().map(|r| r.latency_ms).collect(),
        cert_days_left: runs.iter().map(|r| r.cert_days_left).collect(),
        errors: runs.into_iter().map(|r| r.error).collect(),
    }))
}

/// An agent's check results (checks it runs for the server).
#[utoipa::path(post, path = "/api/agent/check-results", tag = "agent", request_body = AgentCheckResults,
    responses((status = 204), (status = 404, body = lxmon_proto::ErrorBody)), security(("agent_key" = [])))]
pub async fn agent_results(
    State(state): State<AppState>,
    agent: AgentAuth,
    headers: axum::http::HeaderMap,
    body: axum::body::Body,
) -> ApiResult<StatusCode> {
    let batch: AgentCheckResults = parse_json(&read_body(&headers, body, MAX_REPORT_BYTES).await?)?;
    let host = agent
        .key
        .host_id
        .ok_or_else(|| ApiError::not_found("check"))?;
    for r in batch.results {
        let run = CheckRun {
            ts: r.ts,
            up: r.up,
            latency_ms: r.latency_ms,
            cert_days_left: r.cert_days_left,
            error: r.error.map(|e| e.chars().take(1024).collect()),
        };
        let id = r.check_id;
        let (check, change) = state
            .blocking(move |s| s.record_check_run(id, Some(host), &run))
            .await
            .map_err(|e| e.naming("check"))?;
        crate::checks_runner::announce(&state, &check, change.as_ref());
    }
    Ok(StatusCode::NO_CONTENT)
}

// --- status pages ----------------------------------------------------------

#[derive(Deserialize, ToSchema)]
pub struct StatusPageInput {
    /// The public address: `/status/<slug>`; 3 to 64 of a-z 0-9 -.
    /// Leave it out for an unguessable random one.
    pub slug: Option<String>,
    pub title: String,
    #[serde(default)]
    pub check_ids: Vec<i64>,
    #[serde(default)]
    pub host_ids: Vec<HostId>,
}

#[utoipa::path(get, path = "/api/status-pages", tag = "checks", responses((status = 200, body = Vec<StatusPage>)), security(("session" = [])))]
pub async fn list_pages(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<StatusPage>>> {
    Ok(Json(
        state
            .blocking(move |s| s.status_pages(caller.tenant))
            .await?,
    ))
}

/// Publish a read-only status page of chosen checks and hosts.
#[utoipa::path(post, path = "/api/status-pages", tag = "checks", request_body = StatusPageInput,
    responses((status = 201, body = StatusPage), (status = 409, body = lxmon_proto::ErrorBody), (status = 422, body = lxmon_proto::ErrorBody)),
    security(("session" = [])))]
pub async fn create_page(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<StatusPageInput>, JsonRejection>,
) -> ApiResult<Response> {
    let Json(input) = body?;
    let slug = match input.slug {
        Some(s)
            if (3..=64).contains(&s.len())
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') =>
        {
            s
        }
        Some(_) => {
            return Err(ApiError::unprocessable(
                "invalid_slug",
                "slug must be 3 to 64 of a-z 0-9 -",
            ));
        }
        None => crate::auth::hex(&crate::auth::random_bytes::<12>()),
    };
    let title = input.title.trim().to_owned();
    if title.is_empty()
        || title.len() > 128
        || input.check_ids.len() > 200
        || input.host_ids.len() > 200
    {
        return Err(ApiError::unprocessable(
            "invalid_page",
            "title must be 1 to 128 characters, with at most 200 checks and hosts",
        ));
    }
    let tenant = caller.tenant;
    let page = state
        .blocking(move |s| {
            s.create_status_page(
                tenant,
                &slug,
                &title,
                &input.check_ids,
                &input.host_ids,
                crate::now_ms(),
            )
        })
        .await?;
    Ok(
        AuditNote::new("status_page.create", format!("status page {}", page.slug))
            .attach((StatusCode::CREATED, Json(page))),
    )
}

#[utoipa::path(delete, path = "/api/status-pages/{id}", tag = "checks", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = lxmon_proto::ErrorBody)), security(("session" = [])))]
pub async fn delete_page(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<i64>, PathRejection>,
) -> ApiResult<Response> {
    let id = id_of(path)?;
    let tenant = caller.tenant;
    state
        .blocking(move |s| s.delete_status_page(tenant, id))
        .await?;
    Ok(
        AuditNote::new("status_page.delete", format!("status page {id}"))
            .attach(StatusCode::NO_CONTENT),
    )
}

#[derive(Serialize, ToSchema)]
pub struct PublicCheck {
    pub name: String,
    pub status: String,
    /// Percent over the 90 days shown; `None` without runs.
    pub uptime_90d: Option<f64>,
    pub days: Vec<DailyUptime>,
}

#[derive(Serialize, ToSchema)]
pub struct PublicHost {
    pub hostname: String,
    pub status: super::servers::HostStatus,
}

#[derive(Serialize, ToSchema)]
pub struct PublicStatus {
    pub title: String,
    pub checks: Vec<PublicCheck>,
    pub hosts: Vec<PublicHost>,
    /// Unix ms the page was computed.
    pub generated_at: i64,
}

async fn public_status(state: &AppState, slug: String) -> ApiResult<PublicStatus> {
    let page = state
        .blocking(move |s| s.status_page_by_slug(&slug))
        .await?
        .ok_or_else(|| ApiError::not_found("status page"))?;
    let now = crate::now_ms();
    let offline_after = state.config.offline_after.as_millis() as i64;
    let title = page.title.clone();
    let (checks, hosts) = state
        .blocking(move |s| {
            let tenant = page.tenant_id;
            let first_day = now.div_euclid(DAY_MS) - 89;
            let mut checks = Vec::new();
            for id in &page.check_ids {
                if let Some(c) = s.check(tenant, *id)? {
                    let days = s.check_daily(c.id, first_day)?;
                    let (up, total) = days.iter().fold((0u64, 0u64), |(u, t), d| {
                        (u + u64::from(d.up), t + u64::from(d.total))
                    });
                    checks.push(PublicCheck {
                        name: c.name,
                        status: c.status,
                        uptime_90d: (total > 0)
                            .then(|| (up as f64 / total as f64 * 10_000.0).round() / 100.0),
                        days,
                    });
                }
            }
            let mut hosts = Vec::new();
            for id in &page.host_ids {
                if let Some(h) = s.host(tenant, *id)? {
                    hosts.push(PublicHost {
                        status: super::servers::HostStatus::of(h.last_seen, now, offline_after),
                        hostname: h.hostname,
                    });
                }
            }
            Ok((checks, hosts))
        })
        .await?;
    Ok(PublicStatus {
        title,
        checks,
        hosts,
        generated_at: now,
    })
}

fn slug_of(path: Result<Path<String>, PathRejection>) -> ApiResult<String> {
    path.map(|Path(s)| s)
        .map_err(|_| ApiError::not_found("status page"))
}

/// A published status page as JSON (no login).
#[utoipa::path(get, path = "/api/public/status/{slug}", tag = "checks", params(("slug" = String, Path)),
    responses((status = 200, body = PublicStatus), (status = 404, body = lxmon_proto::ErrorBody)))]
pub async fn public_json(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult<Json<PublicStatus>> {
    Ok(Json(public_status(&state, slug_of(path)?).await?))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A published status page, rendered on the server (no JavaScript needed):
/// current state and 90 days of uptime bars per check.
#[utoipa::path(get, path = "/status/{slug}", tag = "checks", params(("slug" = String, Path)),
    responses((status = 200, content_type = "text/html", body = String), (status = 404, content_type = "text/html", body = String)))]
pub async fn public_page(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    let status = match slug_of(path) {
        Ok(slug) => public_status(&state, slug).await,
        Err(e) => Err(e),
    };
    let Ok(status) = status else {
        return (StatusCode::NOT_FOUND, Html("<!doctype html><meta charset=utf-8><title>Not found</title><p>No such status page.</p>")).into_response();
    };
    let today = status.generated_at.div_euclid(DAY_MS);
    let mut html = format!(
        "<!doctype html><meta charset=utf-8><meta name=viewport content=\"width=device-width,initial-scale=1\">\
         <meta http-equiv=refresh content=60><title>{title}</title><style>\
         body{{font:15px system-ui,sans-serif;max-width:860px;margin:2rem auto;padding:0 1rem;color:#111;background:#fafafa}}\
         @media(prefers-color-scheme:dark){{body{{color:#eee;background:#111}}}}\
         .row{{margin:1.2rem 0}}.name{{display:flex;justify-content:space-between}}.bars{{display:flex;gap:2px;margin-top:.4rem}}\
         .bar{{flex:1;height:28px;border-radius:2px;background:#9993}}.up{{background:#16a34a}}.down{{color:#dc2626}}.partial{{background:#f59e0b}}.bad{{background:#dc2626}}\
         .ok{{color:#16a34a}}small{{opacity:.7}}</style><h1>{title}</h1>",
        title = escape(&status.title)
    );
    for c in &status.checks {
        let state_class = if c.status == "up" { "ok" } else { "down" };
        html.push_str(&format!(
            "<div class=row><div class=name><strong>{}</strong><span class={state_class}>{}</span></div><div class=bars>",
            escape(&c.name),
            escape(&c.status)
        ));
        for day in today - 89..=today {
            let class = match c.days.iter().find(|d| d.day == day) {
                None => "bar",
                Some(d) if d.up == d.total => "bar up",
                Some(d) if d.up * 10 >= d.total * 9 => "bar partial",
                Some(_) => "bar bad",
            };
            html.push_str(&format!("<div class=\"{class}\"></div>"));
        }
        let uptime = c
            .uptime_90d
            .map_or("no data".to_owned(), |u| format!("{u}% uptime"));
        html.push_str(&format!("</div><small>90 days · {uptime}</small></div>"));
    }
    for h in &status.hosts {
        let (class, text) = match h.status {
            super::servers::HostStatus::Online => ("ok", "online"),
            super::servers::HostStatus::Offline => ("down", "offline"),
        };
        html.push_str(&format!("<div class=row><div class=name><strong>{}</strong><span class={class}>{text}</span></div></div>", escape(&h.hostname)));
    }
    html.push_str("<small>Updated every minute.</small>");
    Html(html).into_response()
}
