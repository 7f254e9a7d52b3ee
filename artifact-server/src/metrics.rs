//! The server's Prometheus metrics, in a registry of its own (never the process-global default one).

use actix_web::http::Method;
use jaas_shared::process::registry_text;
use prometheus::{HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry};

/// Every metric the artifact server exports.
#[derive(Debug, Clone)]
pub struct ServerMetrics {
    registry: Registry,
    /// `jaas_server_requests_total{method,status}`: responses by request method and status code.
    pub requests: IntCounterVec,
    /// `jaas_server_response_bytes_total`: body bytes handed to the HTTP layer.
    pub response_bytes: IntCounter,
    /// `jaas_server_cache_hits_total`: artifact requests answered from memory.
    pub cache_hits: IntCounter,
    /// `jaas_server_cache_misses_total`: artifact requests that had to ask the backend.
    pub cache_misses: IntCounter,
    /// `jaas_server_cache_coalesced_misses_total`: misses answered by another request's storage read of the same
    /// artifact (see `coalesce`).
    pub coalesced_misses: IntCounter,
    /// `jaas_server_cache_bytes`: bytes of artifact bodies held by the cache.
    pub cache_bytes: IntGauge,
    /// `jaas_server_cache_revalidations_total{result}`: checks of cached artifacts against storage, by outcome:
    /// `present`, `gone` (evicted) or `error` (served from memory anyway).
    pub cache_revalidations: IntCounterVec,
    /// `jaas_server_backend_duration_seconds{operation}`: time of each backend call (`get`, `head`, `check`), up to
    /// the first byte for `get`. Its `_count` is the number of backend calls.
    pub backend_duration: HistogramVec,
}

impl ServerMetrics {
    /// Creates the metrics and registers them.
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("jaas_server_requests_total", "HTTP responses by request method and status code."),
            &["method", "status"],
        )?;
        let response_bytes =
            IntCounter::new("jaas_server_response_bytes_total", "Response body bytes handed to the HTTP layer.")?;
        let cache_hits = IntCounter::new("jaas_server_cache_hits_total", "Artifact requests answered from memory.")?;
        let cache_misses =
            IntCounter::new("jaas_server_cache_misses_total", "Artifact requests that had to ask the backend.")?;
        let coalesced_misses = IntCounter::new(
            "jaas_server_cache_coalesced_misses_total",
            "Cache misses answered by another request's storage read of the same artifact.",
        )?;
        let cache_bytes = IntGauge::new("jaas_server_cache_bytes", "Bytes of artifact bodies held by the cache.")?;
        let cache_revalidations = IntCounterVec::new(
            Opts::new(
                "jaas_server_cache_revalidations_total",
                "Checks of cached artifacts against storage, by outcome.",
            ),
            &["result"],
        )?;
        let backend_duration = HistogramVec::new(
            HistogramOpts::new("jaas_server_backend_duration_seconds", "Duration of storage backend calls.")
                .buckets(vec![0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]),
            &["operation"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(response_bytes.clone()))?;
        registry.register(Box::new(cache_hits.clone()))?;
        registry.register(Box::new(cache_misses.clone()))?;
        registry.register(Box::new(coalesced_misses.clone()))?;
        registry.register(Box::new(cache_bytes.clone()))?;
        registry.register(Box::new(cache_revalidations.clone()))?;
        registry.register(Box::new(backend_duration.clone()))?;
        Ok(Self {
            registry,
            requests,
            response_bytes,
            cache_hits,
            cache_misses,
            coalesced_misses,
            cache_bytes,
            cache_revalidations,
            backend_duration,
        })
    }

    /// Counts one response. Methods outside the standard set are counted as `OTHER`, so that a client inventing
    /// methods cannot grow the label set without bound.
    pub fn count_response(&self, method: &Method, status: u16) {
        self.requests.with_label_values(&[method_label(method), &status.to_string()]).inc();
    }

    /// The registry in the Prometheus text format.
    pub fn render(&self) -> Result<String, prometheus::Error> {
        registry_text(&self.registry)
    }
}

/// A bounded label for a request method.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "OTHER",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_metric_under_its_documented_name() {
        let metrics = ServerMetrics::new().unwrap();
        metrics.count_response(&Method::GET, 200);
        metrics.count_response(&Method::from_bytes(b"BREW").unwrap(), 404);
        metrics.backend_duration.with_label_values(&["get"]).observe(0.01);
        metrics.cache_revalidations.with_label_values(&["gone"]).inc();
        let text = metrics.render().unwrap();
        for name in [
            "jaas_server_requests_total{method=\"GET\",status=\"200\"} 1",
            "jaas_server_requests_total{method=\"OTHER\",status=\"404\"} 1",
            "jaas_server_response_bytes_total 0",
            "jaas_server_cache_hits_total 0",
            "jaas_server_cache_misses_total 0",
            "jaas_server_cache_coalesced_misses_total 0",
            "jaas_server_cache_bytes 0",
            "jaas_server_cache_revalidations_total{result=\"gone\"} 1",
            "jaas_server_backend_duration_seconds_count{operation=\"get\"} 1",
        ] {
            assert!(text.contains(name), "{name} missing from:\n{text}");
        }
    }
}
