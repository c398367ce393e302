//! The background job that seals head rows into chunks, writes rollups and
//! enforces retention, on a fixed interval.

use std::time::Duration;

use tokio::sync::watch;

use crate::state::AppState;

/// Runs until `shutdown` turns true.
pub async fn run(state: AppState, interval: Duration, mut shutdown: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = shutdown.changed() => return,
        }
        match state.blocking(|s| s.maintain(crate::now_ms())).await {
            Ok(r) if r.chunks_sealed > 0 || r.chunks_dropped > 0 => tracing::info!(
                chunks_sealed = r.chunks_sealed,
                reports_sealed = r.reports_sealed,
                chunks_dropped = r.chunks_dropped,
                "store maintenance"
            ),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e.message, "store maintenance failed"),
        }
    }
}
