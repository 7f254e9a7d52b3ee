//! The controller's Kubernetes client: the usual configuration (kubeconfig, else in-cluster), with its requests
//! bounded by `--kube-api-qps` and `--kube-api-burst` as client-go bounds them, so that a controller catching up
//! with thousands of snippets cannot flood the API server. The bound is a window of `burst` requests per
//! `burst / qps` seconds: `qps` on average, at most `burst` at once. Every request is counted in
//! `jaas_kube_requests_total` ([`kube_requests`](crate::kube_requests)).

use std::time::Duration;

use kube::Client;
use kube::client::ClientBuilder;
use tower::limit::RateLimitLayer;
use tower::util::MapRequestLayer;

use crate::kube_requests;

/// A client from the inferred configuration, sending at most `qps` requests per second on average and `burst` at
/// once (`qps` 0: no bound).
pub async fn rate_limited_client(qps: f64, burst: u32) -> Result<Client, String> {
    let config = kube::Config::infer().await.map_err(|e| format!("no usable kubeconfig: {e}"))?;
    let builder = ClientBuilder::try_from(config)
        .map_err(|e| format!("cannot build the Kubernetes client: {e}"))?
        .with_layer(&MapRequestLayer::new(kube_requests::count));
    Ok(match window(qps, burst) {
        Some((requests, per)) => builder.with_layer(&RateLimitLayer::new(requests, per)).build(),
        None => builder.build(),
    })
}

/// The window of requests that bounds the rate: `burst` requests per `burst / qps`; `None` without a bound.
fn window(qps: f64, burst: u32) -> Option<(u64, Duration)> {
    (qps > 0.0 && qps.is_finite())
        .then(|| (u64::from(burst.max(1)), Duration::from_secs_f64(f64::from(burst.max(1)) / qps)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_holds_a_burst_and_averages_the_rate() {
        assert_eq!(window(50.0, 100), Some((100, Duration::from_secs(2))));
        assert_eq!(window(1000.0, 2000), Some((2000, Duration::from_secs(2))));
        assert_eq!(window(0.0, 100), None);
    }
}
