//! `jaas run`: wires configuration, logging, storage, metrics, leader election and the controllers together.
//! SIGTERM/SIGINT stop reconciling (in-flight reconciles finish) and then release the lease at once, so a standby
//! replica takes over within a poll interval; losing the lease stops every write immediately and exits non-zero.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use jaas_shared::config::spawn_sweeper;
use kube::Client;
use tokio::sync::watch;

use crate::config::{LogFormat, RunArgs};
use crate::error::{Error, Result};
use crate::events::EventPublisher;
use crate::leader::{LeaderElector, RENEW_DEADLINE, RENEW_EVERY, RETRY_PERIOD, default_identity};
use crate::metrics::{self, Metrics, ProbeState};
use crate::reconcile::{Context, memo::RenderMemo, run_controllers};
use jaas_render::{Renderer, WorkerCommand};

/// Installs the global tracing subscriber (`RUST_LOG` filters, `info` by default).
fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// A future that resolves once SIGTERM or SIGINT arrived; cheap to clone.
fn shutdown_signal() -> Result<impl Future<Output = ()> + Send + Sync + Clone + 'static> {
    use tokio::signal::unix::{SignalKind, signal};
    let (sender, receiver) = watch::channel(false);
    let mut term =
        signal(SignalKind::terminate()).map_err(|e| Error::Startup(format!("cannot handle SIGTERM: {e}")))?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| Error::Startup(format!("cannot handle SIGINT: {e}")))?;
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM received: stopping"),
            _ = int.recv() => tracing::info!("SIGINT received: stopping"),
        }
        let _ = sender.send(true);
    });
    let stopped = async move {
        let mut receiver = receiver;
        let _ = receiver.wait_for(|stop| *stop).await;
    };
    Ok(futures::FutureExt::shared(futures::FutureExt::boxed(stopped)))
}

/// Runs the controller until a signal arrives (`Ok`) or the lease is lost (`Err`).
pub async fn run(args: RunArgs) -> Result<()> {
    init_logging(args.log_format);
    args.validate()?;
    let base_url = args.base_url()?;
    let metrics = Metrics::new().map_err(|e| Error::Startup(format!("cannot register metrics: {e}")))?;
    let worker =
        WorkerCommand::current_exe().map_err(|e| Error::Startup(format!("cannot find our own binary: {e}")))?;
    let renderer = Arc::new(Renderer::new(args.limits.limits(), args.limits.max_concurrent_evals, worker));
    let ready = Arc::new(AtomicBool::new(false));
    let sample = {
        let (renderer, gauge) = (renderer.clone(), metrics.evaluations_in_flight.clone());
        Arc::new(move || gauge.set(i64::try_from(renderer.in_flight()).unwrap_or(i64::MAX)))
    };
    let probes = ProbeState { metrics: metrics.clone(), ready: ready.clone(), sample };
    let address = args.metrics_address()?;
    let server = metrics::serve(address, probes)
        .map_err(|e| Error::Startup(format!("cannot bind --metrics-bind-address {address}: {e}")))?;
    let server_handle = server.handle();
    tokio::spawn(server);
    let shutdown = shutdown_signal()?;

    let client = Client::try_default().await.map_err(|e| Error::Startup(format!("no usable kubeconfig: {e}")))?;
    let store = args.storage.open().await?;
    let _sweeper = spawn_sweeper(store.clone(), args.storage.storage_sweep_interval);
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
    });
    ready.store(true, Ordering::Release);
    tracing::info!(%identity, leader_election = args.leader_election, "controller started");

    let namespaces = args.watch_namespaces.clone();
    let selector = args.label_selector.clone();
    let controllers = {
        let shutdown = shutdown.clone();
        async move { run_controllers(ctx, &namespaces, selector.as_deref(), shutdown).await }
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
        match elector.try_acquire_or_renew().await {
            Ok(true) => break,
            Ok(false) => {}
            Err(error) => tracing::warn!(%error, "cannot read or take the leader lease"),
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
        tokio::select! {
            _ = &mut controllers => break,
            () = tokio::time::sleep(RENEW_EVERY) => {
                match elector.try_acquire_or_renew().await {
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
