//! Starting the server: open the store, create the first admin, bind, serve,
//! and drain on SIGTERM/ctrl-c.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use lxmon_server::config::ServerConfig;
use lxmon_server::{AppState, auth, http, maintenance};
use lxmon_store::{Role, SqliteStore, Store, StoreOptions};

fn open_store(config: &ServerConfig) -> anyhow::Result<SqliteStore> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create data directory {}", config.data_dir.display()))?;
    let mut options = StoreOptions::new(config.store_path());
    options.durability = config.durability;
    options.retention = config.retention;
    SqliteStore::open(options)
        .with_context(|| format!("cannot open store {}", config.store_path().display()))
}

/// Creates `admin` on first start; returns the password to show once.
fn bootstrap_admin(store: &dyn Store, config: &ServerConfig) -> anyhow::Result<Option<String>> {
    if store.user_count()? > 0 {
        return Ok(None);
    }
    let password = config
        .admin_password
        .clone()
        .unwrap_or_else(auth::generate_password);
    store.create_user(
        store.default_tenant(),
        "admin",
        &auth::hash_password(&password),
        Role::PlatformAdmin,
        None,
    )?;
    Ok(Some(password))
}

pub async fn serve(config: ServerConfig) -> anyhow::Result<()> {
    let sqlite = Arc::new(open_store(&config)?);
    let store: Arc<dyn Store> = sqlite.clone();
    let admin_password = bootstrap_admin(store.as_ref(), &config)?;
    let state = AppState::new(store, config.clone())?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    let shown_host = if addr.ip().is_unspecified() {
        "127.0.0.1".to_owned()
    } else {
        addr.ip().to_string()
    };
    {
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "lxmon-server {} listening on {addr}",
            env!("CARGO_PKG_VERSION")
        )?;
        writeln!(out, "  url:   http://{shown_host}:{}/", addr.port())?;
        writeln!(out, "  data:  {}", config.data_dir.display())?;
        match &admin_password {
            Some(p) => writeln!(
                out,
                "  login: admin / {p}   (first start: shown only this once)"
            )?,
            None => writeln!(out, "  login: admin, with the password set on first start")?,
        }
        out.flush()?;
    }
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let jobs = tokio::spawn(maintenance::run(
        state.clone(),
        config.maintenance_interval,
        stop_rx.clone(),
    ));
    let status = tokio::spawn(maintenance::watch_status(state.clone(), stop_rx.clone()));
    let touches = tokio::spawn(maintenance::flush_touches(state.clone(), stop_rx.clone()));
    let checks = tokio::spawn(lxmon_server::checks_runner::run(
        state.clone(),
        stop_rx.clone(),
    ));
    let alerts = tokio::spawn(lxmon_server::alert::engine::run(state.clone(), stop_rx));
    let events = state.events.clone();
    let app = http::router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            events.close();
        })
        .await?;
    let _ = stop_tx.send(true);
    let _ = jobs.await;
    let _ = status.await;
    let _ = touches.await;
    let _ = checks.await;
    let _ = alerts.await;
    // Commit whatever the ingest writer still holds before exiting.
    sqlite.close();
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = ctrl_c => {}
        _ = term.recv() => {}
    }
    tracing::info!("shutting down");
}

pub fn create_agent_keys(config: &ServerConfig, name: &str, count: u32) -> anyhow::Result<()> {
    anyhow::ensure!(
        !name.trim().is_empty() && name.len() <= 120,
        "--name must be 1 to 120 characters"
    );
    anyhow::ensure!(
        (1..=100_000).contains(&count),
        "--count must be 1 to 100000"
    );
    let store = open_store(config)?;
    let mut keys = Vec::with_capacity(count as usize);
    for i in 1..=count {
        let key = auth::generate_agent_key();
        let key_name = if count == 1 {
            name.to_owned()
        } else {
            format!("{name}-{i}")
        };
        store.create_agent_key(
            store.default_tenant(),
            &key_name,
            &key.id,
            &key.secret_sha256,
        )?;
        keys.push(key);
    }
    store.close();
    if count == 1 {
        println!(
            "Created agent key {name:?} (id {}). It is shown only once:",
            keys[0].id
        );
    } else {
        println!("Created {count} agent keys {name}-1..{name}-{count}. They are shown only once:");
    }
    for key in keys {
        println!("{}", key.full);
    }
    Ok(())
}

pub fn revoke_agent_key(config: &ServerConfig, key_id: &str) -> anyhow::Result<()> {
    let store = open_store(config)?;
    store
        .revoke_agent_key(store.default_tenant(), key_id)
        .with_context(|| format!("no agent key with id {key_id:?}"))?;
    store.close();
    println!("Revoked agent key {key_id}.");
    Ok(())
}
