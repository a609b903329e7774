//! Ostrog's server: configuration, the application services, and the
//! HTTP edge. The binary (`crates/ostrog`) only parses commands and calls in.

pub mod app;
#[cfg(test)]
mod architecture;
pub mod auth;
pub mod backup;
pub use ostrog_channels as channels;
pub mod cluster;
pub use ostrog_config as config;
pub mod data_dir;
pub mod doctor;
pub mod error;
pub mod files;
pub mod http;
pub mod jobs;
pub mod keys;
pub mod logging;
pub mod metrics;
pub mod realtime;
pub mod services;

use crate::app::App;
use crate::config::Config;
use ostrog_domain::audit::Action;
use ostrog_domain::clock::{Clock, SystemClock};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error("database: {0}")]
    Store(#[from] ostrog_store::StoreError),
    #[error(transparent)]
    Vault(#[from] keys::VaultError),
    #[error("{0}")]
    Io(String),
}

/// Opens the database and the key store (running migrations) and the vault.
pub async fn open_app(config: &Config, clock: Arc<dyn Clock>) -> Result<Arc<App>, StartError> {
    data_dir::secure(&config.data_dir).map_err(|e| StartError::Io(format!("{}: {e}", config.data_dir.display())))?;
    let store = ostrog_store_sql::connect(&config.database_url()).await?;
    let upgrading = store.administrator_exists().await?;
    let vault = open_vault(config, clock.now(), upgrading).await?;
    let app = App::new(config, store, clock, Arc::new(vault));
    let masked = app.personal_data.masked_categories().await.map_err(|e| StartError::Io(format!("settings: {e}")))?;
    app.realtime.hub.set_masked(masked);
    app.consent.reload_consent().await.map_err(|e| StartError::Io(format!("settings: {e}")))?;
    Ok(Arc::new(app))
}

/// The key store and the vault over it (see `Vault::open` on `upgrading`).
pub async fn open_vault(config: &Config, now: i64, upgrading: bool) -> Result<keys::Vault, StartError> {
    let key_store = ostrog_store_sql::connect_keys(&keys::store_url(config)?).await?;
    Ok(keys::Vault::open(&config.data_dir, key_store, now, upgrading).await?)
}

pub fn router(app: Arc<App>, config: &Config) -> axum::Router {
    let limits = http::Limits {
        json_body_bytes: config.limits.json_body_bytes,
        request_timeout: Duration::from_secs(config.limits.request_timeout_seconds),
        hsts: config.tls_enabled(),
    };
    http::router(app, &limits)
}

/// Runs the server until `shutdown` resolves.
pub async fn serve(
    config: &Config,
    app: Arc<App>,
    listener: std::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    let _single = claim_single_node(config)?;
    let router = router(app.clone(), config).into_make_service_with_connect_info::<std::net::SocketAddr>();
    if app.files.scanner().is_none() {
        tracing::warn!("virus scanning is switched off ([scanner] enabled = false): file uploads are refused");
        let details = serde_json::json!({"setting": "scanner.enabled", "value": false});
        let outcome = ostrog_domain::audit::Outcome::Success;
        app.auditor
            .audit(&crate::services::auditor::Ctx::default(), Action::ScannerDisabled, None, outcome, details)
            .await
            .map_err(|e| StartError::Io(e.to_string()))?;
    }
    let jobs = jobs::start(&app, config).await?;
    let handle = axum_server::Handle::new();
    let grace = Duration::from_secs(config.limits.shutdown_seconds);
    let (h, a) = (handle.clone(), app.clone());
    // Requests in flight and the sockets finish side by side, each within `grace`.
    let stopping = tokio::spawn(async move {
        shutdown.await;
        tracing::info!("shutting down: no new connections, in-flight work finishing, clients told to reconnect");
        h.graceful_shutdown(Some(grace));
        a.realtime.shut_down(grace).await;
    });
    let io = |e: std::io::Error| StartError::Io(e.to_string());
    let header_timeout = Duration::from_secs(config.limits.header_read_timeout_seconds);
    let result = match (&config.tls.cert, &config.tls.key) {
        (Some(cert), Some(key)) => {
            let _ = rustls::crypto::ring::default_provider().install_default();
            let tls = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key).await.map_err(io)?;
            let mut server = axum_server::from_tcp_rustls(listener, tls).map_err(io)?.handle(handle);
            limit_header_time(server.http_builder(), header_timeout);
            server.serve(router).await
        }
        _ => {
            let mut server = axum_server::from_tcp(listener).map_err(io)?.handle(handle);
            limit_header_time(server.http_builder(), header_timeout);
            server.serve(router).await
        }
    };
    // Upgraded sockets are not the HTTP server's to wait for: messages read
    // before the stop are stored and acknowledged, and every socket closed,
    // before the jobs (the writer among them) stop. (Only a shutdown ends
    // serving without an error.)
    match result {
        Ok(()) => {
            let _ = stopping.await;
        }
        Err(_) => {
            stopping.abort();
            app.realtime.shut_down(grace).await;
        }
    }
    jobs.stop(grace).await;
    jobs::leave(&app).await;
    result.map_err(io)
}

/// A SQLite database serves one node: a second `ostrog serve` on the same
/// file is refused (an exclusive lock beside it, held while serving and
/// released by the system however the process ends).
fn claim_single_node(config: &Config) -> Result<Option<std::fs::File>, StartError> {
    let url = config.database_url();
    let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) else {
        return Ok(None);
    };
    let path = path.split('?').next().unwrap_or(path);
    if path.is_empty() || path.contains(":memory:") {
        return Ok(None);
    }
    let lock = format!("{path}.serving");
    let file = ostrog_store_sql::private::create_file(std::path::Path::new(&lock))
        .map_err(|e| StartError::Io(format!("{lock}: {e}")))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(std::fs::TryLockError::WouldBlock) => Err(StartError::Io(format!(
            "another Ostrog node is already serving {path}: a SQLite database serves one node only. \
             To run several nodes, use PostgreSQL (docs/operations.md, \"Scale-out\")"
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(StartError::Io(format!("{lock}: {e}"))),
    }
}

/// A client must send its request headers within `timeout`, so slow
/// clients cannot hold connections open indefinitely.
fn limit_header_time(
    builder: &mut hyper_util::server::conn::auto::Builder<hyper_util::rt::TokioExecutor>,
    timeout: Duration,
) {
    builder.http1().timer(hyper_util::rt::TokioTimer::new()).header_read_timeout(timeout);
}

pub use jobs::flush_refusals;

pub fn system_clock() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}
