//! Health, the server's own metrics, and what answers unknown paths.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::error::ApiError;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// "ok", or "degraded" when the store does not answer.
    pub status: String,
    pub version: String,
    pub store: String,
}

/// Liveness and store reachability (for load balancers and uptime checks).
#[utoipa::path(get, path = "/api/health", tag = "system",
    responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn health(State(state): State<AppState>) -> Response {
    let store = state.blocking(|s| s.ping()).await;
    let (code, status, store) = match store {
        Ok(()) => (StatusCode::OK, "ok", "ok".to_owned()),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, "degraded", e.message),
    };
    (
        code,
        Json(Health {
            status: status.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            store,
        }),
    )
        .into_response()
}

/// Prometheus text exposition of the server's own figures.
pub async fn prometheus(State(state): State<AppState>) -> Response {
    let figures = state.blocking(|s| Ok((s.size_bytes()?, s.stats()?))).await;
    let mut gauges: Vec<(&str, &str, f64)> = match &figures {
        Ok((size, stats)) => vec![
            (
                "lxmon_store_size_bytes",
                "Bytes on disk used by the store.",
                *size as f64,
            ),
            (
                "lxmon_hosts",
                "Hosts known to the store.",
                stats.hosts as f64,
            ),
            (
                "lxmon_series",
                "Series known to the store.",
                stats.series as f64,
            ),
            (
                "lxmon_head_reports",
                "Reports not yet sealed into chunks.",
                stats.head_reports as f64,
            ),
            (
                "lxmon_chunk_bytes",
                "Bytes in sealed raw chunks.",
                stats.raw_chunk_bytes as f64,
            ),
            (
                "lxmon_chunk_samples",
                "Samples in sealed raw chunks.",
                stats.raw_chunk_samples as f64,
            ),
        ],
        Err(_) => Vec::new(),
    };
    gauges.push((
        "lxmon_check_probe_slots_free",
        "Probe slots free for server-side checks and \"test now\".",
        state.probe_slots.available_permits() as f64,
    ));
    gauges.push((
        "lxmon_alert_inputs_dropped",
        "Reports not evaluated for alerts because the engine's queue was full (the host's next report is).",
        state.alerts.dropped.load(std::sync::atomic::Ordering::Relaxed) as f64,
    ));
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.telemetry.render(&gauges),
    )
        .into_response()
}

/// `/api/*` paths that match no route are JSON 404s; everything else belongs
/// to the dashboard.
pub async fn fallback(uri: Uri) -> Response {
    if uri.path() == "/api" || uri.path().starts_with("/api/") {
        return ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no API route {}", uri.path()),
        )
        .into_response();
    }
    super::assets::serve(&uri)
}
