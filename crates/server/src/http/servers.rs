//! Dashboard → server: hosts, their series and latest values. Every call is
//! scoped to the session's tenant by the store API.

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use lxmon_proto::{Labels, TopProcesses};
use lxmon_store::{Aggregation, Host, HostId, LatestValue, QueryResult, SeriesQuery};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::authz::{AuditNote, Caller};
use super::error::{ApiError, ApiResult};
use crate::state::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum HostStatus {
    Online,
    Offline,
}

/// A host as the dashboard shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServerView {
    pub id: HostId,
    pub hostname: String,
    pub status: HostStatus,
    /// Unix ms of the last report or heartbeat.
    pub last_seen: Option<i64>,
    pub os: String,
    pub arch: String,
    pub kernel: String,
    pub agent_version: String,
    pub labels: Labels,
    pub interval_s: Option<u32>,
    /// Unix seconds of the host's last boot.
    pub boot_time: Option<i64>,
    pub created_at: i64,
    /// Actions its agent allows (for the command runner).
    pub actions: Vec<lxmon_proto::ActionSpec>,
}

impl HostStatus {
    /// Online while the host was heard from within `offline_after_ms`.
    pub fn of(last_seen: Option<i64>, now_ms: i64, offline_after_ms: i64) -> HostStatus {
        if last_seen.is_some_and(|t| now_ms - t <= offline_after_ms) {
            HostStatus::Online
        } else {
            HostStatus::Offline
        }
    }
}

impl ServerView {
    fn new(host: Host, now_ms: i64, offline_after_ms: i64) -> ServerView {
        ServerView {
            id: host.id,
            hostname: host.hostname,
            status: HostStatus::of(host.last_seen, now_ms, offline_after_ms),
            last_seen: host.last_seen,
            os: host.os,
            arch: host.arch,
            kernel: host.kernel,
            agent_version: host.agent_version,
            labels: host.labels,
            interval_s: host.interval_s,
            boot_time: host.boot_time,
            created_at: host.created_at,
            actions: host.actions,
        }
    }
}

fn view(state: &AppState, host: Host) -> ServerView {
    ServerView::new(
        host,
        crate::now_ms(),
        state.config.offline_after.as_millis() as i64,
    )
}

/// Every host of the caller's tenant.
#[utoipa::path(get, path = "/api/servers", tag = "servers",
    responses((status = 200, body = Vec<ServerView>), (status = 401, body = lxmon_proto::ErrorBody)),
    security(("session" = [])))]
pub async fn list(
    State(state): State<AppState>,
    claims: Caller,
) -> ApiResult<Json<Vec<ServerView>>> {
    let hosts = state.blocking(move |s| s.hosts(claims.tenant)).await?;
    Ok(Json(hosts.into_iter().map(|h| view(&state, h)).collect()))
}

fn host_id(path: Result<Path<HostId>, PathRejection>) -> ApiResult<HostId> {
    path.map(|Path(id)| id)
        .map_err(|_| ApiError::bad_request("bad_path", "server id must be an integer"))
}

async fn host_or_404(state: &AppState, tenant: i64, id: HostId) -> ApiResult<Host> {
    state
        .blocking(move |s| s.host(tenant, id))
        .await?
        .ok_or_else(|| ApiError::not_found("server"))
}

/// One host.
#[utoipa::path(get, path = "/api/servers/{id}", tag = "servers", params(("id" = i64, Path)),
    responses((status = 200, body = ServerView), (status = 404, body = lxmon_proto::ErrorBody)),
    security(("session" = [])))]
pub async fn get(
    State(state): State<AppState>,
    claims: Caller,
    path: Result<Path<HostId>, PathRejection>,
) -> ApiResult<Json<ServerView>> {
    let id = host_id(path)?;
    let host = host_or_404(&state, claims.tenant, id).await?;
    Ok(Json(view(&state, host)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MetricsParams {
    /// Comma-separated metric names; all when absent.
    pub names: Option<String>,
    /// Unix ms; default `to` − 1 h.
    pub from: Option<i64>,
    /// Unix ms; default now.
    pub to: Option<i64>,
    /// Seconds per point; default fits about 1000 points.
    pub step: Option<u32>,
    /// avg (default), min, max or last.
    pub agg: Option<String>,
}

/// Series of one host over a range, column-oriented (uPlot's shape). The
/// answer names the tier it came from: `raw`, `5m` or `1h`.
#[utoipa::path(get, path = "/api/servers/{id}/metrics", tag = "servers", operation_id = "server_metrics", params(("id" = i64, Path), MetricsParams),
    responses((status = 200, body = QueryResult), (status = 404, body = lxmon_proto::ErrorBody), (status = 422, body = lxmon_proto::ErrorBody)),
    security(("session" = [])))]
pub async fn metrics(
    State(state): State<AppState>,
    claims: Caller,
    path: Result<Path<HostId>, PathRejection>,
    params: Result<Query<MetricsParams>, QueryRejection>,
) -> ApiResult<Json<QueryResult>> {
    let id = host_id(path)?;
    let Query(p) = params?;
    let now = crate::now_ms();
    let to = p.to.unwrap_or(now);
    let from = p.from.unwrap_or(to - 3_600_000);
    let aggregation = match p.agg.as_deref() {
        None => Aggregation::Avg,
        Some(a) => Aggregation::parse(a).ok_or_else(|| {
            ApiError::unprocessable("invalid_query", "agg must be avg, min, max or last")
        })?,
    };
    let names: Vec<String> = p
        .names
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(String::from)
        .collect();
    if names.len() > 100 {
        return Err(ApiError::unprocessable(
            "invalid_query",
            "at most 100 metric names per query",
        ));
    }
    let query = SeriesQuery {
        names,
        from_ms: from,
        to_ms: to,
        step_s: p.step,
        aggregation,
        now_ms: now,
    };
    let tenant = claims.tenant;
    let result = state
        .blocking(move |s| s.query(tenant, id, &query))
        .await
        .map_err(|e| e.naming("server"))?;
    Ok(Json(result))
}

/// Delete a host with all its data; its agent keys are revoked.
#[utoipa::path(delete, path = "/api/servers/{id}", tag = "servers", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = lxmon_proto::ErrorBody)),
    security(("session" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<HostId>, PathRejection>,
) -> ApiResult<axum::response::Response> {
    let id = host_id(path)?;
    let host = host_or_404(&state, caller.tenant, id).await?;
    let tenant = caller.tenant;
    state.blocking(move |s| s.delete_host(tenant, id)).await?;
    state
        .processes
        .write()
        .unwrap_or_else(|p| p.into_inner())
        .remove(&id);
    Ok(
        AuditNote::new("host.delete", format!("host {} ({id})", host.hostname))
            .attach(axum::http::StatusCode::NO_CONTENT),
    )
}

/// The most recent value of every series, with the latest top processes.
#[derive(Debug, Serialize, ToSchema)]
pub struct LatestView {
    /// Unix ms of the report the values come from; absent before any report.
    pub ts: Option<i64>,
    pub values: Vec<LatestValue>,
    pub processes: Option<TopProcesses>,
}

#[utoipa::path(get, path = "/api/servers/{id}/latest", tag = "servers", params(("id" = i64, Path)),
    responses((status = 200, body = LatestView), (status = 404, body = lxmon_proto::ErrorBody)),
    security(("session" = [])))]
pub async fn latest(
    State(state): State<AppState>,
    claims: Caller,
    path: Result<Path<HostId>, PathRejection>,
) -> ApiResult<Json<LatestView>> {
    let id = host_id(path)?;
    let tenant = claims.tenant;
    let latest = state
        .blocking(move |s| s.latest(tenant, id))
        .await
        .map_err(|e| e.naming("server"))?;
    let processes = state
        .processes
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .get(&id)
        .cloned();
    Ok(Json(match latest {
        Some(l) => LatestView {
            ts: Some(l.ts),
            values: l.values,
            processes,
        },
        None => LatestView {
            ts: None,
            values: Vec::new(),
            processes,
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(last_seen: Option<i64>) -> Host {
        Host {
            id: 1,
            tenant_id: 1,
            hostname: "h".into(),
            os: String::new(),
            arch: String::new(),
            kernel: String::new(),
            agent_version: String::new(),
            machine_id: None,
            labels: Labels::new(),
            created_at: 0,
            last_seen,
            last_seq: None,
            interval_s: None,
            boot_time: None,
            actions: Vec::new(),
        }
    }

    #[test]
    fn status_follows_silence() {
        assert_eq!(
            ServerView::new(host(Some(1000)), 1000 + 300_000, 300_000).status,
            HostStatus::Online
        );
        assert_eq!(
            ServerView::new(host(Some(1000)), 1001 + 300_000, 300_000).status,
            HostStatus::Offline
        );
        assert_eq!(
            ServerView::new(host(None), 0, 300_000).status,
            HostStatus::Offline
        );
    }
}
