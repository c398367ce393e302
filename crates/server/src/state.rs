//! What every handler shares.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use lxmon_proto::TopProcesses;
use lxmon_store::{HostId, Store};

use crate::auth::SessionKeys;
use crate::config::ServerConfig;
use crate::http::events::EventBus;
use crate::telemetry::Telemetry;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub config: Arc<ServerConfig>,
    pub sessions: SessionKeys,
    pub telemetry: Arc<Telemetry>,
    /// Latest top-process lists per host. Replaced by every report and not
    /// worth a write per report; after a restart they return with the next one.
    pub processes: Arc<RwLock<HashMap<HostId, TopProcesses>>>,
    pub events: EventBus,
}

impl AppState {
    pub fn new(
        store: Arc<dyn Store>,
        config: ServerConfig,
    ) -> Result<AppState, lxmon_store::StoreError> {
        let secret = store.secret("session-hmac", &|| {
            crate::auth::random_bytes::<32>().to_vec()
        })?;
        Ok(AppState {
            store,
            config: Arc::new(config),
            sessions: SessionKeys::new(secret),
            telemetry: Arc::default(),
            processes: Arc::default(),
            events: EventBus::default(),
        })
    }

    /// Runs a blocking store call off the async executor.
    pub async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn Store) -> lxmon_store::Result<T> + Send + 'static,
    ) -> Result<T, crate::http::ApiError> {
        let store = self.store.clone();
        Ok(tokio::task::spawn_blocking(move || f(store.as_ref())).await??)
    }
}
