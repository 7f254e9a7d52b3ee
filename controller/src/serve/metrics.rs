//! The metrics of `jaas serve`, and what its probe server reports: requests by outcome (`ok`, `not_modified` or
//! a problem code), their duration, cache hits, evaluations in flight, and the evaluation pool's
//! `jaas_eval_workers*` ([`crate::pool_metrics`]).

use std::sync::Arc;
use std::time::Duration;

use crate::pool_metrics::PoolMetrics;
use jaas_render::Renderer;
use jaas_shared::process::{ProcessProbes, Readiness, registry_text};
use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry};

/// Every metric `jaas serve` exports.
#[derive(Debug, Clone)]
pub struct ServeMetrics {
    registry: Registry,
    /// `jaas_serve_requests_total{outcome}`.
    requests: IntCounterVec,
    /// `jaas_serve_request_duration_seconds`.
    duration: Histogram,
    /// `jaas_serve_cache_hits_total`.
    pub cache_hits: IntCounter,
    /// `jaas_evaluations_in_flight`.
    pub evaluations_in_flight: IntGauge,
    /// `jaas_eval_workers*`.
    pool: Arc<PoolMetrics>,
}

impl ServeMetrics {
    /// Creates the metrics in a fresh registry.
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("jaas_serve_requests_total", "Render requests by outcome: ok, not_modified or a problem code."),
            &["outcome"],
        )?;
        let duration = Histogram::with_opts(
            HistogramOpts::new("jaas_serve_request_duration_seconds", "Time to answer a render request.")
                .buckets(vec![0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]),
        )?;
        let cache_hits = IntCounter::new("jaas_serve_cache_hits_total", "Requests answered from the response cache.")?;
        let evaluations_in_flight = IntGauge::new("jaas_evaluations_in_flight", "Evaluations running right now.")?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(duration.clone()))?;
        registry.register(Box::new(cache_hits.clone()))?;
        registry.register(Box::new(evaluations_in_flight.clone()))?;
        let pool = Arc::new(PoolMetrics::register(&registry)?);
        Ok(Self { registry, requests, duration, cache_hits, evaluations_in_flight, pool })
    }

    /// Counts one answered request.
    pub fn observe(&self, outcome: &str, took: Duration) {
        self.requests.with_label_values(&[outcome]).inc();
        self.duration.observe(took.as_secs_f64());
    }
}

/// What the probe server of `jaas serve` reads: always ready once listening (it needs nothing else).
#[derive(Clone)]
pub struct ServeProbes {
    /// The metrics.
    pub metrics: ServeMetrics,
    /// Sampled into the in-flight gauge on every scrape.
    pub renderer: Arc<Renderer>,
}

impl ProcessProbes for ServeProbes {
    async fn readiness(&self) -> Readiness {
        Readiness::Ready
    }

    fn metrics_text(&self) -> Result<String, prometheus::Error> {
        self.metrics.evaluations_in_flight.set(i64::try_from(self.renderer.in_flight()).unwrap_or(i64::MAX));
        self.metrics.pool.sample(&self.renderer);
        registry_text(&self.metrics.registry)
    }
}
