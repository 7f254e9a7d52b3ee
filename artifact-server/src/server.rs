//! Runs the two HTTP servers (artifacts; health and metrics) until SIGTERM or SIGINT, then shuts both down
//! gracefully: no new connections, in-flight responses get `--shutdown-timeout` to finish.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::http::StatusCode;
use actix_web::{App, HttpResponse, HttpServer, web};
use anyhow::Context as _;
use jaas_shared::ArtifactStore;

use crate::backend::Backend;
use crate::cache::ArtifactCache;
use crate::metrics::ServerMetrics;
use crate::response;
use crate::serve::{ArtifactService, handle};

/// What the servers need to know, independent of how it was configured.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// Where artifacts are served.
    pub artifact_address: SocketAddr,
    /// Where `/healthz`, `/readyz` and `/metrics` are served.
    pub metrics_address: SocketAddr,
    /// The cache's total budget for bodies.
    pub cache_max_bytes: u64,
    /// The largest body the cache keeps.
    pub cache_max_object_bytes: u64,
    /// How long a cached artifact is served before a hit asks storage whether it still exists.
    pub cache_revalidate_after: Duration,
    /// Overall limit on each backend call (and on each wait for a body chunk).
    pub backend_timeout: Duration,
    /// What a 503 tells clients in `Retry-After`.
    pub retry_after: Duration,
    /// How long in-flight responses may take to finish after a shutdown signal.
    pub shutdown_timeout: Duration,
    /// Worker threads of the artifact server; 0 means one per CPU.
    pub workers: usize,
}

/// State of the health and metrics port.
struct Probes {
    backend: Backend,
    metrics: ServerMetrics,
    shutting_down: Arc<AtomicBool>,
}

/// Serves until a shutdown signal, then returns once both servers have stopped.
pub async fn run(settings: ServerSettings, store: Arc<dyn ArtifactStore>) -> anyhow::Result<()> {
    let metrics = ServerMetrics::new().context("registering metrics")?;
    let backend = Backend::new(store, settings.backend_timeout, metrics.clone());
    let cache =
        ArtifactCache::new(settings.cache_max_bytes, settings.cache_max_object_bytes, settings.cache_revalidate_after);
    let service = web::Data::new(ArtifactService::new(backend.clone(), cache, metrics.clone(), settings.retry_after));
    let shutting_down = Arc::new(AtomicBool::new(false));
    let probes = web::Data::new(Probes { backend, metrics, shutting_down: shutting_down.clone() });
    let grace = settings.shutdown_timeout.as_secs().max(1);

    let mut artifacts = HttpServer::new(move || App::new().app_data(service.clone()).default_service(web::to(handle)))
        .disable_signals()
        .shutdown_timeout(grace)
        .h1_write_buffer_size(response::MEMORY_CHUNK);
    if settings.workers > 0 {
        artifacts = artifacts.workers(settings.workers);
    }
    let artifacts = artifacts
        .bind(settings.artifact_address)
        .with_context(|| format!("binding the artifact port {}", settings.artifact_address))?
        .run();
    let probes_server = HttpServer::new(move || {
        App::new()
            .app_data(probes.clone())
            .route("/healthz", web::get().to(healthz))
            .route("/readyz", web::get().to(readyz))
            .route("/metrics", web::get().to(metrics_text))
    })
    .disable_signals()
    .shutdown_timeout(grace)
    .workers(1)
    .bind(settings.metrics_address)
    .with_context(|| format!("binding the metrics port {}", settings.metrics_address))?
    .run();
    tracing::info!(artifacts = %settings.artifact_address, metrics = %settings.metrics_address, "listening");

    let handles = [artifacts.handle(), probes_server.handle()];
    let on_signal = actix_web::rt::spawn(stop_on_signal(handles, shutting_down));
    let (artifacts_result, probes_result) = futures::join!(artifacts, probes_server);
    on_signal.abort();
    artifacts_result.context("artifact server")?;
    probes_result.context("metrics server")?;
    tracing::info!("stopped");
    Ok(())
}

/// Waits for SIGTERM or SIGINT, marks the server not ready and stops both servers gracefully.
async fn stop_on_signal(handles: [ServerHandle; 2], shutting_down: Arc<AtomicBool>) {
    if let Err(err) = shutdown_signal().await {
        tracing::error!(error = %err, "cannot listen for shutdown signals; stopping now");
    }
    tracing::info!("shutdown signal received, finishing in-flight responses");
    shutting_down.store(true, Ordering::SeqCst);
    let [artifacts, probes] = handles;
    artifacts.stop(true).await;
    probes.stop(true).await;
}

async fn shutdown_signal() -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    Ok(())
}

/// Alive as long as the process answers.
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok\n")
}

/// Ready while not shutting down and the backend answers its check. A replica whose storage is down still serves
/// what it has cached, but it is reported not ready so that traffic prefers replicas that can serve everything.
async fn readyz(probes: web::Data<Probes>) -> HttpResponse {
    if probes.shutting_down.load(Ordering::SeqCst) {
        return HttpResponse::ServiceUnavailable().content_type("text/plain").body("shutting down\n");
    }
    match probes.backend.check().await {
        Ok(()) => HttpResponse::Ok().content_type("text/plain").body("ok\n"),
        Err(err) => {
            tracing::warn!(error = %err, "readiness check failed");
            HttpResponse::ServiceUnavailable().content_type("text/plain").body(format!("storage: {err}\n"))
        }
    }
}

/// The metrics in the Prometheus text format.
async fn metrics_text(probes: web::Data<Probes>) -> HttpResponse {
    match probes.metrics.render() {
        Ok(text) => HttpResponse::Ok().content_type("text/plain; version=0.0.4; charset=utf-8").body(text),
        Err(err) => HttpResponse::build(StatusCode::INTERNAL_SERVER_ERROR).body(format!("metrics: {err}\n")),
    }
}
