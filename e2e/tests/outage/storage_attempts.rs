//! The controller's own count of its storage attempts, from its `/metrics`: reconciles that failed with
//! `StorageOperationFailed` (`jaas_reconciles_total{result="error",reason="StorageOperationFailed"}`, one per
//! attempt of a snippet, SDK retries inside it not counted) and failed storage calls (`jaas_storage_errors_total`,
//! every operation).

use std::time::Duration;

use anyhow::{Context, Result};

/// The reason the controller gives for a failed storage call (`controller/src/conditions.rs`).
pub const STORAGE_REASON: &str = "StorageOperationFailed";
/// Limit on one scrape.
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(5);

/// The two counters at one moment.
#[derive(Clone, Copy, Debug, Default)]
pub struct StorageCounters {
    /// Reconciles that failed on storage.
    pub failed_reconciles: u64,
    /// Failed storage calls, all operations.
    pub failed_calls: u64,
}

impl StorageCounters {
    /// Scrapes `metrics_base` (`http://127.0.0.1:<port>`).
    pub async fn scrape(metrics_base: &str) -> Result<Self> {
        let url = format!("{metrics_base}/metrics");
        let http = reqwest::Client::builder().timeout(SCRAPE_TIMEOUT).build()?;
        let text = http.get(&url).send().await.and_then(reqwest::Response::error_for_status);
        let text =
            text.with_context(|| format!("GET {url}"))?.text().await.with_context(|| format!("reading {url}"))?;
        Ok(Self::parse(&text))
    }

    /// Sums the counters' samples in a Prometheus text exposition.
    fn parse(text: &str) -> Self {
        let mut counters = Self::default();
        for line in text.lines() {
            let Some((series, value)) = line.rsplit_once(' ') else { continue };
            // Counters print as integers or floats.
            let Ok(value) = value.parse::<f64>() else { continue };
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "counts are small and positive")]
            let value = value as u64;
            if series.starts_with("jaas_reconciles_total{")
                && series.contains("result=\"error\"")
                && series.contains(&format!("reason=\"{STORAGE_REASON}\""))
            {
                counters.failed_reconciles += value;
            } else if series.starts_with("jaas_storage_errors_total{") {
                counters.failed_calls += value;
            }
        }
        counters
    }

    /// What happened between `earlier` and `self`.
    pub fn since(self, earlier: Self) -> Self {
        Self {
            failed_reconciles: self.failed_reconciles.saturating_sub(earlier.failed_reconciles),
            failed_calls: self.failed_calls.saturating_sub(earlier.failed_calls),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_storage_failures_are_counted() {
        let text = "# HELP jaas_reconciles_total x\n\
            jaas_reconciles_total{reason=\"StorageOperationFailed\",result=\"error\"} 7\n\
            jaas_reconciles_total{reason=\"PublishFailed\",result=\"error\"} 3\n\
            jaas_reconciles_total{reason=\"Succeeded\",result=\"success\"} 9\n\
            jaas_storage_errors_total{op=\"put\"} 4\n\
            jaas_storage_errors_total{op=\"head\"} 2\n";
        let counters = StorageCounters::parse(text);
        assert_eq!((counters.failed_reconciles, counters.failed_calls), (7, 6));
    }
}
