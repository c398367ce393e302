//! `GET /api/events`: the live event stream (Server-Sent Events), scoped to
//! the caller's tenant.
//!
//! Events are notifications, not data: `report` says a host stored a report
//! at `ts` (the dashboard then asks `/metrics` for what is new), `host` says a
//! host's status changed. Browsers' EventSource cannot set headers, so the
//! session token may come as `?token=`.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use lxmon_store::{HostId, TenantId};
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, watch};
use utoipa::{IntoParams, ToSchema};

use super::authz::Caller;
use super::error::ApiResult;
use super::servers::HostStatus;
use crate::state::AppState;

/// Something the dashboard may want to redraw for.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveEvent {
    /// A report of the host was stored; `ts` is its timestamp.
    Report { host_id: HostId, ts: i64 },
    /// A command changed status or produced output (`output` is the new chunk).
    Command {
        command_id: i64,
        host_id: HostId,
        status: lxmon_proto::CommandStatus,
        output: String,
    },
    /// A health check changed state ("up" / "down").
    Check {
        check_id: i64,
        status: String,
        error: Option<String>,
    },
    /// An alert was stored in a new state (pending, firing, resolved) or
    /// notified.
    Alert {
        alert_id: i64,
        state: String,
        severity: String,
        name: String,
    },
    /// The host's status changed.
    Host {
        host_id: HostId,
        status: HostStatus,
        last_seen: Option<i64>,
    },
}

impl LiveEvent {
    fn name(&self) -> &'static str {
        match self {
            LiveEvent::Report { .. } => "report",
            LiveEvent::Host { .. } => "host",
            LiveEvent::Command { .. } => "command",
            LiveEvent::Check { .. } => "check",
            LiveEvent::Alert { .. } => "alert",
        }
    }
}

/// Fan-out of live events to every connected dashboard.
#[derive(Clone)]
pub struct EventBus {
    tx: broadcast::Sender<(TenantId, LiveEvent)>,
    /// Set at shutdown so open streams end and graceful shutdown can finish.
    closing: Arc<watch::Sender<bool>>,
}

impl Default for EventBus {
    fn default() -> Self {
        EventBus {
            tx: broadcast::channel(4096).0,
            closing: Arc::new(watch::channel(false).0),
        }
    }
}

impl EventBus {
    /// Turns true at shutdown; long-lived requests (streams, long-polls) end.
    pub fn closing_signal(&self) -> watch::Receiver<bool> {
        self.closing.subscribe()
    }

    /// Ends every open stream.
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    pub fn publish(&self, tenant: TenantId, event: LiveEvent) {
        // No subscriber is not an error.
        let _ = self.tx.send((tenant, event));
    }

    pub fn subscribe(&self) -> broadcast::Receiver<(TenantId, LiveEvent)> {
        self.tx.subscribe()
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsParams {
    /// Session token, for clients that cannot send an Authorization header.
    pub token: Option<String>,
    /// For platform admins: the tenant to watch (as the `x-lxmon-tenant` header does elsewhere).
    pub tenant: Option<i64>,
}

/// Live stream of `report` and `host` events for the caller's tenant.
#[utoipa::path(get, path = "/api/events", tag = "servers", params(EventsParams),
    responses((status = 200, description = "text/event-stream of LiveEvent (event name = type)", body = LiveEvent),
        (status = 401, body = lxmon_proto::ErrorBody)),
    security(("session" = [])))]
pub async fn stream(
    State(state): State<AppState>,
    caller: Caller,
    _params: Query<EventsParams>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let tenant = caller.tenant;
    let rx = state.events.subscribe();
    let closing = state.events.closing.subscribe();
    let events =
        futures_util::stream::unfold((rx, closing), move |(mut rx, mut closing)| async move {
            loop {
                if *closing.borrow() {
                    return None;
                }
                let received = tokio::select! {
                    r = rx.recv() => r,
                    _ = closing.changed() => return None,
                };
                match received {
                    Ok((t, event)) if t == tenant => {
                        let sse = Event::default()
                            .event(event.name())
                            .json_data(&event)
                            .expect("events serialize");
                        return Some((Ok(sse), (rx, closing)));
                    }
                    Ok(_) => continue,
                    // A slow client missed events; it refetches on the next one.
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
