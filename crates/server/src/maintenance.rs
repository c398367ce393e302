//! The background job that seals head rows into chunks, writes rollups and
//! enforces retention (metrics, expired commands, old alert history), on a
//! fixed interval.

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
        if let Err(e) = state.blocking(|s| s.expire_commands(crate::now_ms())).await {
            tracing::error!(error = %e.message, "expiring commands failed");
        }
        // Alert history lives as long as the longest metric tier.
        let keep = state.config.retention.one_hour_ms;
        if let Err(e) = state
            .blocking(move |s| s.prune_alerts(crate::now_ms() - keep))
            .await
        {
            tracing::error!(error = %e.message, "pruning alert history failed");
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

/// How often collected key uses and heartbeats are written.
const TOUCH_FLUSH: Duration = Duration::from_secs(5);

/// Writes the collected agent-key uses and heartbeats every
/// [`TOUCH_FLUSH`], and once more at shutdown.
pub async fn flush_touches(state: AppState, mut shutdown: watch::Receiver<bool>) {
    loop {
        let stopping = tokio::select! {
            _ = tokio::time::sleep(TOUCH_FLUSH) => false,
            _ = shutdown.changed() => true,
        };
        if let Err(e) = state.flush_touches().await {
            tracing::warn!(error = %e.message, "recording key uses and heartbeats failed");
        }
        if stopping {
            return;
        }
    }
}

/// Watches host status (online ↔ offline after the configured silence) and
/// publishes each change on the live event stream.
pub async fn watch_status(state: AppState, mut shutdown: watch::Receiver<bool>) {
    use std::collections::HashMap;

    use crate::http::events::LiveEvent;
    use crate::http::servers::HostStatus;

    let offline_after = state.config.offline_after.as_millis() as i64;
    let mut known: HashMap<i64, HostStatus> = HashMap::new();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
            _ = shutdown.changed() => return,
        }
        let hosts = match state.blocking(|s| s.hosts_all_tenants()).await {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!(error = %e.message, "status watch failed");
                continue;
            }
        };
        let now = crate::now_ms();
        for host in hosts {
            let status = HostStatus::of(host.last_seen, now, offline_after);
            let previous = known.insert(host.id, status);
            if previous.is_some_and(|p| p != status)
                || (previous.is_none() && status == HostStatus::Online)
            {
                if previous.is_some() {
                    tracing::info!(host_id = host.id, hostname = %host.hostname, ?status, "host status changed");
                }
                state.events.publish(
                    host.tenant_id,
                    LiveEvent::Host {
                        host_id: host.id,
                        status,
                        last_seen: host.last_seen,
                    },
                );
            }
        }
    }
}
