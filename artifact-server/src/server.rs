//! Runs the two HTTP servers (artifacts; health and metrics) until SIGTERM or SIGINT, then shuts both down
//! gracefully: no new connections, in-flight responses get `--shutdown-timeout` to finish. The artifact port
//! bounds what clients may hold: connections, and the time of every stage of a request ([`ConnectionLimits`]).

mod connection_guard;

use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use actix_web::dev::{ServerHandle, Service as _};
use actix_web::http::KeepAlive;
use actix_web::{App, HttpServer, web};
use anyhow::Context as _;
use jaas_shared::ArtifactStore;
use jaas_shared::process::{ProcessProbes, Readiness, ShutdownSignal, serve_probes, shutdown_signal};

use crate::backend::Backend;
use crate::cache::ArtifactCache;
use crate::metrics::ServerMetrics;
use crate::response;
use crate::routing::Records;
use crate::serve::{ArtifactService, handle};
use connection_guard::{ConnectionGuard, GuardLimits, ResponseInFlight};

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
    /// Whether revision records are served (`--serve-records`).
    pub records: Records,
    /// What clients of the artifact port may hold, and for how long.
    pub connections: ConnectionLimits,
}

/// Limits on the artifact port's clients, so that slow, idle or many connections cannot exhaust the server.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Most connections open at once over all workers; more wait in the listen backlog.
    pub max_connections: usize,
    /// Connections the kernel queues before they are accepted.
    pub listen_backlog: u32,
    /// How long an idle connection waits for its next request; zero: closed after each response.
    pub keep_alive: Duration,
    /// Time to send a whole request head; zero: no limit.
    pub client_request_timeout: Duration,
    /// Time a client has to acknowledge the server closing the connection.
    pub client_disconnect_timeout: Duration,
    /// Longest a response may go without progress (storage answering, the client taking a chunk); zero: no limit.
    pub client_send_timeout: Duration,
}

/// What the health and metrics port reports.
struct Probes {
    backend: Backend,
    metrics: ServerMetrics,
    shutting_down: Arc<AtomicBool>,
}

impl ProcessProbes for Probes {
    /// Ready while not shutting down and the backend answers its check. A replica whose storage is down still
    /// serves what it has cached, but it is reported not ready so that traffic prefers replicas that can serve
    /// everything.
    async fn readiness(&self) -> Readiness {
        if self.shutting_down.load(Ordering::SeqCst) {
            return Readiness::NotReady("shutting down".to_owned());
        }
        match self.backend.check().await {
            Ok(()) => Readiness::Ready,
            Err(err) => {
                tracing::warn!(error = %err, "readiness check failed");
                Readiness::NotReady(format!("storage: {err}"))
            }
        }
    }

    fn metrics_text(&self) -> Result<String, prometheus::Error> {
        self.metrics.render()
    }
}

/// Serves until a shutdown signal, then returns once both servers have stopped.
pub async fn run(settings: ServerSettings, store: Arc<dyn ArtifactStore>) -> anyhow::Result<()> {
    let metrics = ServerMetrics::new().context("registering metrics")?;
    let backend = Backend::new(store, settings.backend_timeout, metrics.clone());
    let cache =
        ArtifactCache::new(settings.cache_max_bytes, settings.cache_max_object_bytes, settings.cache_revalidate_after);
    let service = ArtifactService::new(backend.clone(), cache, metrics.clone(), settings.retry_after)
        .with_records(settings.records);
    let service = web::Data::new(service);
    let shutting_down = Arc::new(AtomicBool::new(false));
    let probes = Probes { backend, metrics, shutting_down: shutting_down.clone() };
    let shutdown = shutdown_signal().context("listening for SIGTERM and SIGINT")?;
    let grace = settings.shutdown_timeout.as_secs().max(1);

    let limits = settings.connections;
    let guard = ConnectionGuard::start(GuardLimits::of(&limits)).context("starting the connection guard")?;
    let workers = match settings.workers {
        0 => std::thread::available_parallelism().map_or(1, NonZeroUsize::get),
        n => n,
    };

    let artifacts = HttpServer::new(move || {
        App::new()
            .app_data(service.clone())
            .wrap_fn(|request, service| {
                let in_flight = ResponseInFlight::begin(&request);
                let response = service.call(request);
                async move { Ok(response.await?.map_body(|_, body| in_flight.track(body))) }
            })
            .default_service(web::to(handle))
    })
    .on_connect(move |io, extensions| guard.on_connect(io, extensions))
    .disable_signals()
    .shutdown_timeout(grace)
    .h1_write_buffer_size(response::MEMORY_CHUNK)
    .workers(workers)
    .max_connections(limits.max_connections.div_ceil(workers).max(1))
    .backlog(limits.listen_backlog)
    .keep_alive(if limits.keep_alive.is_zero() { KeepAlive::Disabled } else { KeepAlive::Timeout(limits.keep_alive) })
    .client_request_timeout(limits.client_request_timeout)
    .client_disconnect_timeout(limits.client_disconnect_timeout)
    .bind(settings.artifact_address)
    .with_context(|| format!("binding the artifact port {}", settings.artifact_address))?
    .run();
    let probes_server = serve_probes(settings.metrics_address, probes, settings.shutdown_timeout)
        .with_context(|| format!("binding the metrics port {}", settings.metrics_address))?;
    tracing::info!(artifacts = %settings.artifact_address, metrics = %settings.metrics_address, "listening");

    let handles = [artifacts.handle(), probes_server.handle()];
    let on_signal = actix_web::rt::spawn(stop_on_signal(shutdown, handles, shutting_down));
    let (artifacts_result, probes_result) = futures::join!(artifacts, probes_server);
    on_signal.abort();
    artifacts_result.context("artifact server")?;
    probes_result.context("metrics server")?;
    tracing::info!("stopped");
    Ok(())
}

/// Waits for SIGTERM or SIGINT, marks the server not ready and stops both servers gracefully.
async fn stop_on_signal(shutdown: ShutdownSignal, handles: [ServerHandle; 2], shutting_down: Arc<AtomicBool>) {
    shutdown.await;
    tracing::info!("finishing in-flight responses");
    shutting_down.store(true, Ordering::SeqCst);
    let [artifacts, probes] = handles;
    artifacts.stop(true).await;
    probes.stop(true).await;
}
