//! `jaas run`: wires configuration, logging, storage, metrics, leader election and the controllers together.
//! SIGTERM/SIGINT stop reconciling (in-flight reconciles finish) and then release the lease at once, so a standby
//! replica takes over within a poll interval; losing the lease stops every write immediately and exits non-zero.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::kube_client::rate_limited_client;
use jaas_shared::config::spawn_sweeper;
use jaas_shared::process::{logging, serve_probes, shutdown_signal};

use crate::config::RunArgs;
use crate::error::{Error, Result};
use crate::events::EventPublisher;
use crate::leader::{LeaderElector, RENEW_DEADLINE, RENEW_EVERY, RETRY_PERIOD, default_identity};
use crate::metrics::{Metrics, ProbeState};
use crate::reconcile::triggers::served_source_kinds;
use crate::reconcile::{Context, memo::RenderMemo, run_controllers};
use jaas_render::{Renderer, WorkerCommand};

/// How long in-flight probes and scrapes may take once the probe server is told to stop.
const PROBE_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(1);

/// Runs the controller until a signal arrives (`Ok`) or the lease is lost (`Err`).
pub async fn run(args: RunArgs) -> Result<()> {
    logging::init(args.log_format);
    args.validate()?;
    let base_url = args.base_url()?;
    let metrics = Metrics::new().map_err(|e| Error::Startup(format!("cannot register metrics: {e}")))?;
    let worker =
        WorkerCommand::current_exe().map_err(|e| Error::Startup(format!("cannot find our own binary: {e}")))?;
    let renderer = Arc::new(
        Renderer::new(args.limits.limits(), args.limits.max_concurrent_evals, worker)
            .with_recycling(args.limits.recycling())
            .with_max_output_bytes(args.limits.max_evaluation_output_bytes)
            // Every new revision is stored with its record.
            .recording_inputs(),
    );
    let ready = Arc::new(AtomicBool::new(false));
    let sample = {
        let (renderer, metrics) = (renderer.clone(), metrics.clone());
        Arc::new(move || {
            metrics.evaluations_in_flight.set(i64::try_from(renderer.in_flight()).unwrap_or(i64::MAX));
            metrics.pool.sample(&renderer);
        })
    };
    let probes = ProbeState { metrics: metrics.clone(), ready: ready.clone(), sample };
    let address = args.metrics_bind_address.socket_addr();
    let server = serve_probes(address, probes, PROBE_SHUTDOWN_TIMEOUT)
        .map_err(|e| Error::Startup(format!("cannot bind --metrics-bind-address {address}: {e}")))?;
    let server_handle = server.handle();
    tokio::spawn(server);
    let shutdown = shutdown_signal().map_err(|e| Error::Startup(e.to_string()))?;

    let client = rate_limited_client(args.kube_api_qps, args.kube_api_burst).await.map_err(Error::Startup)?;
    let store = args.storage.open().await?;
    let _sweeper = spawn_sweeper(store.clone(), args.storage.storage_sweep_interval);
    let source_cache_dir = args.sources.cache_dir();
    let sources =
        args.sources.build_cache().await.map_err(|e| {
            Error::Startup(format!("cannot prepare the source cache {}: {e}", source_cache_dir.display()))
        })?;
    let served_source_kinds = served_source_kinds(&client, args.watch_namespaces.first().map(String::as_str)).await;
    let identity = default_identity();
    let ctx = Arc::new(Context {
        client: client.clone(),
        store,
        renderer,
        base_url,
        gc_grace: args.artifact_gc_grace,
        max_withdraw_wait: args.max_withdraw_wait,
        metrics: metrics.clone(),
        events: EventPublisher::new(client.clone(), &identity),
        memo: RenderMemo::default(),
        own_writes: crate::reconcile::own_writes::OwnWrites::default(),
        retention: crate::reconcile::retention::Settled::default(),
        artifacts: crate::reconcile::watched::WatchedCache::default(),
        libraries: crate::reconcile::watched::WatchedCache::default(),
        rerenders: crate::reconcile::throttle::RerenderLimit::new(args.rerender_rate, args.rerender_burst),
        backoff: crate::reconcile::backoff::FailureBackoff::default(),
        sources,
        no_cross_namespace_refs: args.sources.no_cross_namespace_refs,
        served_source_kinds,
    });
    ready.store(true, Ordering::Release);
    tracing::info!(%identity, leader_election = args.leader_election, "controller started");

    let namespaces = args.watch_namespaces.clone();
    let selector = args.label_selector.clone();
    let concurrency = args.max_concurrent_reconciles;
    let controllers = {
        let shutdown = shutdown.clone();
        async move { run_controllers(ctx, &namespaces, selector.as_deref(), concurrency, shutdown).await }
    };
    let result = if args.leader_election {
        let mut elector = LeaderElector::new(client, &args.lease_namespace(), &args.leader_election_id, &identity);
        lead(&mut elector, &metrics, shutdown, controllers).await
    } else {
        metrics.leader.set(1);
        controllers.await;
        Ok(())
    };
    metrics.leader.set(0);
    server_handle.stop(false).await;
    if args.sources.source_cache_dir.is_none() {
        // The default directory is this process's own (named by its pid): nobody else will ever use it.
        let _ = tokio::fs::remove_dir_all(&source_cache_dir).await;
    }
    result
}

/// Waits to become leader, runs `controllers` while renewing, and releases the lease when they finished.
async fn lead(
    elector: &mut LeaderElector,
    metrics: &Metrics,
    shutdown: impl Future<Output = ()> + Send + Clone,
    controllers: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    loop {
        // A request that hangs (a half-open connection, an API server that accepted and never answered) is given
        // up on: the kube client has no read timeout of its own.
        match tokio::time::timeout(RENEW_DEADLINE, elector.try_acquire_or_renew()).await {
            Ok(Ok(true)) => break,
            Ok(Ok(false)) => {}
            Ok(Err(error)) => elector.report_acquire_failure(&error),
            Err(_) => tracing::warn!(timeout = ?RENEW_DEADLINE, "reading or taking the leader lease did not answer"),
        }
        tokio::select! {
            () = shutdown.clone() => return Ok(()),
            () = tokio::time::sleep(RETRY_PERIOD) => {}
        }
    }
    metrics.leader.set(1);
    tracing::info!(identity = elector.identity(), "became the leader");
    let mut controllers = tokio::spawn(controllers);
    let mut renewed = Instant::now();
    loop {
        // The renew deadline holds whatever the API server does: a renewal that hangs past it, or no answer in time
        // at all, stops every write, so that nobody writes after another replica could have taken the Lease.
        let deadline = tokio::time::Instant::from_std(renewed + RENEW_DEADLINE);
        tokio::select! {
            _ = &mut controllers => break,
            () = tokio::time::sleep_until(deadline) => {
                return Err(lost(metrics, &controllers, "no renewal succeeded within the renew deadline"));
            }
            () = tokio::time::sleep(RENEW_EVERY) => {
                let Ok(renewal) = tokio::time::timeout_at(deadline, elector.try_acquire_or_renew()).await else {
                    return Err(lost(metrics, &controllers, "the renewal did not answer within the renew deadline"));
                };
                // A denial is quoted as the API server words it (verb, resource), without the debug dump of its Status.
                match renewal.map_err(crate::error::Error::from) {
                    Ok(true) => renewed = Instant::now(),
                    Ok(false) => return Err(lost(metrics, &controllers, "another replica holds it")),
                    Err(error) if renewed.elapsed() >= RENEW_DEADLINE => {
                        return Err(lost(metrics, &controllers, &error.to_string()));
                    }
                    Err(error) => tracing::warn!(%error, "cannot renew the leader lease; retrying"),
                }
            }
        }
    }
    metrics.leader.set(0);
    match elector.release().await {
        Ok(()) => tracing::info!("released the leader lease"),
        Err(error) => tracing::warn!(%error, "cannot release the leader lease; it expires by itself"),
    }
    Ok(())
}

/// Stops every write at once after the lease was lost.
fn lost(metrics: &Metrics, controllers: &tokio::task::JoinHandle<()>, why: &str) -> Error {
    controllers.abort();
    metrics.leader.set(0);
    tracing::error!(why, "lost the leader lease: stopped reconciling");
    Error::LeaseLost(why.to_owned())
}
