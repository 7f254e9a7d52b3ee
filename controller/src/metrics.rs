//! The controller's Prometheus metrics, in a registry of its own, and what its probe server reports
//! ([`ProbeState`], served by [`jaas_shared::process::serve_probes`]).
//!
//! Metrics:
//! - `jaas_reconciles_total{result,reason}`: finished reconciles; `result` is `success` or `error`, `reason` the
//!   condition reason (`Succeeded`, `Suspended`, `EvaluationFailed`, `LibraryNotFound`, ...).
//! - `jaas_render_duration_seconds`: wall-clock time of one render (evaluation and packing).
//! - `jaas_artifact_bytes`: size of each tarball rendered (histogram).
//! - `jaas_evaluations_in_flight`: evaluations running right now (sampled at scrape time).
//! - `jaas_storage_operation_duration_seconds{op}`: duration of storage calls (`put`, `list`, `head`, `delete`).
//! - `jaas_storage_errors_total{op}`: failed storage calls.
//! - `jaas_leader`: 1 while this process holds the leader Lease (or runs without leader election), else 0.
//! - `jaas_reconciles_in_flight`: reconciles running right now (at most `--max-concurrent-reconciles`).
//! - `jaas_workqueue_depth`: snippets whose current generation has not been reconciled yet (`status.observedGeneration`
//!   behind `metadata.generation`), from the controller's cache every few seconds: the work still ahead.
//! - `jaas_rerenders_throttled_total`: renders put off by `--rerender-rate`/`--rerender-burst`.
//! - the evaluation pool's `jaas_eval_workers*` ([`crate::pool_metrics`]).
//!
//! Endpoints on `--metrics-bind-address`: `/metrics`, `/healthz` (the process is alive), `/readyz` (start-up is
//! done: storage opened and the API server reached; until then 503 `starting`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use jaas_shared::process::{ProcessProbes, Readiness, registry_text};

use crate::pool_metrics::PoolMetrics;
use prometheus::{Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry};

/// Every metric the controller exports.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    /// `jaas_reconciles_total{result,reason}`.
    pub reconciles: IntCounterVec,
    /// `jaas_render_duration_seconds`.
    pub render_duration: Histogram,
    /// `jaas_artifact_bytes`.
    pub artifact_bytes: Histogram,
    /// `jaas_evaluations_in_flight`.
    pub evaluations_in_flight: IntGauge,
    /// `jaas_storage_operation_duration_seconds{op}`.
    pub storage_duration: HistogramVec,
    /// `jaas_storage_errors_total{op}`.
    pub storage_errors: IntCounterVec,
    /// `jaas_leader`.
    pub leader: IntGauge,
    /// `jaas_eval_workers*`.
    pub pool: Arc<PoolMetrics>,
    /// `jaas_reconciles_in_flight`.
    pub reconciles_in_flight: InProgress,
    /// `jaas_workqueue_depth`.
    pub workqueue_depth: IntGauge,
    /// `jaas_rerenders_throttled_total`.
    pub rerenders_throttled: IntCounter,
}

/// A gauge of work in progress: [`InProgress::track`] counts one until its guard is dropped.
#[derive(Debug, Clone)]
pub struct InProgress(IntGauge);

impl InProgress {
    /// Counts one piece of work until the guard is dropped.
    pub fn track(&self) -> InProgressGuard {
        self.0.inc();
        InProgressGuard(self.0.clone())
    }
}

/// Counts one piece of work of an [`InProgress`] gauge while it lives.
#[derive(Debug)]
pub struct InProgressGuard(IntGauge);

impl Drop for InProgressGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

impl Metrics {
    /// Creates the metrics and registers them in a fresh registry.
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let reconciles = IntCounterVec::new(
            Opts::new("jaas_reconciles_total", "Finished reconciles of JsonnetSnippets by result and reason."),
            &["result", "reason"],
        )?;
        let render_duration = Histogram::with_opts(
            HistogramOpts::new("jaas_render_duration_seconds", "Wall-clock time of one render.")
                .buckets(vec![0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0]),
        )?;
        let artifact_bytes = Histogram::with_opts(
            HistogramOpts::new("jaas_artifact_bytes", "Size of rendered tarballs in bytes.")
                .buckets(prometheus::exponential_buckets(256.0, 4.0, 10)?),
        )?;
        let evaluations_in_flight = IntGauge::new("jaas_evaluations_in_flight", "Evaluations running right now.")?;
        let storage_duration = HistogramVec::new(
            HistogramOpts::new("jaas_storage_operation_duration_seconds", "Duration of storage operations.")
                .buckets(vec![0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]),
            &["op"],
        )?;
        let storage_errors =
            IntCounterVec::new(Opts::new("jaas_storage_errors_total", "Failed storage operations."), &["op"])?;
        let leader = IntGauge::new("jaas_leader", "1 while this process is the leader, else 0.")?;
        registry.register(Box::new(reconciles.clone()))?;
        registry.register(Box::new(render_duration.clone()))?;
        registry.register(Box::new(artifact_bytes.clone()))?;
        registry.register(Box::new(evaluations_in_flight.clone()))?;
        registry.register(Box::new(storage_duration.clone()))?;
        registry.register(Box::new(storage_errors.clone()))?;
        registry.register(Box::new(leader.clone()))?;
        let pool = Arc::new(PoolMetrics::register(&registry)?);
        let reconciles_in_flight = IntGauge::new("jaas_reconciles_in_flight", "Reconciles running right now.")?;
        let workqueue_depth =
            IntGauge::new("jaas_workqueue_depth", "Snippets whose current generation has not been reconciled yet.")?;
        let rerenders_throttled = IntCounter::new(
            "jaas_rerenders_throttled_total",
            "Renders put off because a snippet exceeded --rerender-rate/--rerender-burst.",
        )?;
        registry.register(Box::new(reconciles_in_flight.clone()))?;
        registry.register(Box::new(workqueue_depth.clone()))?;
        registry.register(Box::new(rerenders_throttled.clone()))?;
        registry.register(Box::new(crate::kube_requests::counter().clone()))?;
        Ok(Self {
            registry,
            reconciles,
            render_duration,
            artifact_bytes,
            evaluations_in_flight,
            storage_duration,
            storage_errors,
            leader,
            pool,
            reconciles_in_flight: InProgress(reconciles_in_flight),
            workqueue_depth,
            rerenders_throttled,
        })
    }

    /// Times one storage operation and counts its failure.
    pub async fn storage_op<T, E>(&self, op: &str, call: impl Future<Output = Result<T, E>>) -> Result<T, E> {
        let started = Instant::now();
        let result = call.await;
        self.storage_duration.with_label_values(&[op]).observe(started.elapsed().as_secs_f64());
        if result.is_err() {
            self.storage_errors.with_label_values(&[op]).inc();
        }
        result
    }

    /// The registry in the Prometheus text format.
    pub fn render(&self) -> Result<String, prometheus::Error> {
        registry_text(&self.registry)
    }
}

/// What the probe server reads.
#[derive(Clone)]
pub struct ProbeState {
    /// The metrics to expose.
    pub metrics: Metrics,
    /// Set once start-up is done.
    pub ready: Arc<AtomicBool>,
    /// Refreshes sampled gauges right before a scrape.
    pub sample: Arc<dyn Fn() + Send + Sync>,
}

impl ProcessProbes for ProbeState {
    async fn readiness(&self) -> Readiness {
        if self.ready.load(Ordering::Acquire) { Readiness::Ready } else { Readiness::NotReady("starting".to_owned()) }
    }

    fn metrics_text(&self) -> Result<String, prometheus::Error> {
        (self.sample)();
        self.metrics.render()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_metric_is_exported() {
        let metrics = Metrics::new().unwrap();
        metrics.reconciles.with_label_values(&["success", "Succeeded"]).inc();
        metrics.storage_duration.with_label_values(&["put"]).observe(0.1);
        metrics.storage_errors.with_label_values(&["put"]).inc();
        metrics.render_duration.observe(0.1);
        metrics.artifact_bytes.observe(100.0);
        let text = metrics.render().unwrap();
        for name in [
            "jaas_reconciles_total",
            "jaas_render_duration_seconds",
            "jaas_artifact_bytes",
            "jaas_evaluations_in_flight",
            "jaas_storage_operation_duration_seconds",
            "jaas_storage_errors_total",
            "jaas_leader",
            "jaas_eval_workers_started_total",
            "jaas_reconciles_in_flight",
            "jaas_workqueue_depth",
            "jaas_rerenders_throttled_total",
        ] {
            assert!(text.contains(name), "{name} missing from\n{text}");
        }
    }

    #[tokio::test]
    async fn probes_report_starting_until_ready_and_sample_gauges_per_scrape() {
        let metrics = Metrics::new().unwrap();
        let ready = Arc::new(AtomicBool::new(false));
        let gauge = metrics.evaluations_in_flight.clone();
        let probes = ProbeState { metrics, ready: ready.clone(), sample: Arc::new(move || gauge.set(4)) };
        assert_eq!(probes.readiness().await, Readiness::NotReady("starting".to_owned()));
        ready.store(true, Ordering::Release);
        assert_eq!(probes.readiness().await, Readiness::Ready);
        assert!(probes.metrics_text().unwrap().contains("jaas_evaluations_in_flight 4"));
    }
}
