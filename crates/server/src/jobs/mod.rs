//! Every long-running task of a serving node, in one list (`start`), each
//! owned by the one `Supervisor` that `serve` stops with a grace period.
//! Constructors start nothing: an `App` built without serving runs no task,
//! and a stopped server leaves none behind.
//!
//! A job is `run(what it drives, Stop)`: it does its work in units and
//! looks at the stop between them, so that stopping never cuts a write in
//! half; one that does not finish within the grace period is aborted.

mod backups;
mod cluster;
mod housekeeping;
mod outbox;
mod polling;
mod routing;
mod supervisor;

use crate::StartError;
use crate::app::App;
use crate::config::Config;
use std::sync::Arc;

pub use cluster::leave;
pub use supervisor::{Stop, Supervisor};

/// Starts every job this node runs. (The leader-only ones run on every
/// node and idle where the node does not lead, so that leadership can move
/// without starting anything.)
pub async fn start(app: &Arc<App>, config: &Config) -> Result<Supervisor, StartError> {
    let mut jobs = Supervisor::default();
    if let Some(writer) = app.realtime.take_writer() {
        // The writer stores what was accepted before the stop, then ends;
        // publishing ends after it, once all of that is answered.
        for lane in writer.storing {
            jobs.start("writer", |mut stop| lane.run(async move { stop.requested().await }));
        }
        jobs.start("publisher", |_| writer.publishing.run());
    }
    cluster::start(&mut jobs, app, config).await?;
    let (signals, cluster) = (&app.realtime.signals, &app.cluster);
    let drives = routing::Routing {
        conversations: app.conversations.clone(),
        presence: app.presence.clone(),
        settings: app.settings.clone(),
        clock: app.clock.clone(),
        signals: signals.clone(),
        cluster: cluster.clone(),
    };
    jobs.start("routing", |stop| routing::route(drives, stop));
    if let Some(reopened) = app.realtime.signals.take_reopened() {
        jobs.start("reopening", |stop| routing::reopen(app.conversations.clone(), reopened, stop));
    }
    let (admin, connectors) = (&app.channel_admin, &app.channels);
    jobs.start("outbox", |stop| outbox::run(admin.clone(), connectors.clone(), signals.clone(), cluster.clone(), stop));
    jobs.start("polling", |stop| polling::run(admin.clone(), connectors.clone(), cluster.clone(), stop));
    if let Some(scanner) = app.files.scanner().cloned() {
        let minutes = config.scanner.self_test_minutes;
        jobs.start("scanner self-test", |stop| housekeeping::self_test(scanner, minutes, stop));
    }
    jobs.start("maintenance", |stop| housekeeping::maintain_store(app.maintenance.clone(), stop));
    jobs.start("sessions", |stop| housekeeping::sweep_sessions(app.sessions.clone(), app.cluster.clone(), stop));
    let (refusals, auditor, clock) = (app.refusals.clone(), app.auditor.clone(), app.clock.clone());
    jobs.start("refusals", |stop| housekeeping::audit_refusals(refusals, auditor, clock, stop));
    let (doctor, cluster) = (app.doctor.clone(), app.cluster.clone());
    jobs.start("doctor", |stop| housekeeping::doctor(doctor, move || cluster.is_leader(), stop));
    jobs.start("legacy sealing", |stop| housekeeping::seal_legacy(app.legacy_sealing.clone(), stop));
    let (retention, cluster) = (app.retention.clone(), app.cluster.clone());
    jobs.start("retention", |stop| housekeeping::retention(retention, move || cluster.is_leader(), stop));
    if !config.backup.dir.is_empty() {
        let deps =
            backups::Deps { clock: app.clock.clone(), cluster: app.cluster.clone(), auditor: app.auditor.clone() };
        jobs.start("backups", |stop| backups::run(deps, config.clone(), stop));
    }
    if let Some(address) = config.metrics.listen {
        let listener = tokio::net::TcpListener::bind(address)
            .await
            .map_err(|e| StartError::Io(format!("metrics.listen = {address}: {e}")))?;
        jobs.start("metrics listener", |stop| serve_metrics(app.clone(), listener, stop));
    }
    Ok(jobs)
}

/// `GET /metrics` alone, without a token, on its own (private) address.
async fn serve_metrics(app: Arc<App>, listener: tokio::net::TcpListener, mut stop: Stop) {
    let page = move || async move { crate::http::routes::meta::metrics_page(&app).await };
    let router = axum::Router::new().route("/metrics", axum::routing::get(page));
    let served = axum::serve(listener, router).with_graceful_shutdown(async move { stop.requested().await });
    if let Err(e) = served.await {
        tracing::error!(error = %e, "the metrics listener stopped");
    }
}

/// Writes the refusals counted so far to the audit log now (what the
/// "refusals" job does each minute).
pub async fn flush_refusals(app: &App) {
    housekeeping::flush_refusals(&app.refusals, &app.auditor, app.now()).await;
}
