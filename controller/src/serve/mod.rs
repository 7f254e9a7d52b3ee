//! `jaas serve`: Jsonnet as a Service over HTTP. Renders the snippets of directories on request
//! (`GET /<endpoint-path>/<snippet>?<tla>=<value>`), through the same warm, out-of-process evaluation pool as the
//! controller; answers errors as RFC 9457 problems; caches rendered responses with ETags; picks up changed files
//! without a restart; serves probes and metrics on a port of its own. Stateless: scale it horizontally.
//!
//! Modules: [`args`] (flags) → [`catalog`] (names to files) → [`endpoint`] (the handler, using [`query`],
//! [`cache`], [`problem`], [`resolved`]) ; [`reload`] (the file poller), [`metrics`].

pub mod args;
pub mod cache;
pub mod catalog;
pub mod endpoint;
pub mod metrics;
pub mod problem;
pub mod query;
pub mod reload;
pub mod resolved;

use std::sync::Arc;
use std::time::Duration;

use actix_web::{App, HttpServer, web};
use jaas_render::{Renderer, WorkerCommand};
use jaas_shared::process::{logging, serve_probes, shutdown_signal};
use tokio::sync::Semaphore;

pub use args::ServeArgs;
use cache::ResponseCache;
use catalog::Catalog;
use endpoint::Endpoint;
use metrics::{ServeMetrics, ServeProbes};
use query::QueryLimits;
use reload::{Generation, spawn_poller};

/// How long in-flight requests may take to finish once a signal arrived.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs the render server until SIGTERM/SIGINT; an error is a start-up failure, said in one line.
pub async fn run(args: ServeArgs) -> Result<(), String> {
    logging::init(args.log_format);
    args.validate()?;
    let catalog = Catalog::open(&args.snippet_directories, &args.snippets)?;
    let mut library_paths = Vec::with_capacity(args.library_paths.len());
    for path in &args.library_paths {
        library_paths.push(path.canonicalize().map_err(|e| format!("--library-path {}: {e}", path.display()))?);
    }
    let worker = WorkerCommand::current_exe().map_err(|e| format!("cannot find our own binary: {e}"))?;
    let renderer = Arc::new(
        Renderer::new(args.limits.limits(), args.limits.max_concurrent_evals, worker)
            .with_recycling(args.limits.recycling())
            .with_max_output_bytes(args.limits.max_evaluation_output_bytes),
    );
    let metrics = ServeMetrics::new().map_err(|e| format!("cannot register metrics: {e}"))?;
    let watched: Vec<_> = catalog.roots().into_iter().chain(library_paths.iter().cloned()).collect();
    let generation = Generation::default();
    let _poller = spawn_poller(watched.clone(), args.reload_interval, generation.clone());
    let endpoint = web::Data::new(Endpoint {
        prefix: format!("/{}/", args.jsonnet_endpoint_path),
        host_roots: watched.iter().map(|path| path.display().to_string()).collect(),
        catalog,
        library_paths,
        query_limits: QueryLimits { max_bytes: args.max_query_bytes, max_arguments: args.max_tlas },
        max_output_bytes: args.max_output_bytes,
        pending: Semaphore::new(args.max_pending_evaluations),
        renderer: renderer.clone(),
        cache: ResponseCache::new(args.cache_max_entries, args.cache_max_bytes),
        generation,
        resolved: resolved::ResolvedSnippets::default(),
        metrics: metrics.clone(),
    });

    let probes = ServeProbes { metrics, renderer };
    let probe_address = args.metrics_bind_address.socket_addr();
    let probe_server = serve_probes(probe_address, probes, Duration::from_secs(1))
        .map_err(|e| format!("cannot bind --metrics-bind-address {probe_address}: {e}"))?;
    let probe_handle = probe_server.handle();
    tokio::spawn(probe_server);

    let address = args.bind_address.socket_addr();
    let server =
        HttpServer::new(move || App::new().app_data(endpoint.clone()).default_service(web::to(endpoint::handle)))
            .disable_signals()
            .shutdown_timeout(SHUTDOWN_TIMEOUT.as_secs())
            .bind(address)
            .map_err(|e| format!("cannot bind --bind-address {address}: {e}"))?
            .run();
    let handle = server.handle();
    let shutdown = shutdown_signal().map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        shutdown.await;
        handle.stop(true).await;
    });
    tracing::info!(%address, %probe_address, "render server started");
    let result = server.await.map_err(|e| format!("the render server failed: {e}"));
    probe_handle.stop(true).await;
    result
}
