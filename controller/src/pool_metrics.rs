//! The warm evaluation pool's counters as Prometheus metrics, shared by `jaas run` and `jaas serve`:
//! - `jaas_eval_workers_started_total`: worker processes started;
//! - `jaas_eval_workers_retired_total{reason}`: workers that left the pool, by why: `max_evaluations` and `max_rss`
//!   (recycled by `--worker-max-evaluations` / `--worker-max-rss-bytes`), `timeout` (killed at
//!   `--evaluation-timeout`), `discarded` (crashed, ended, answered garbage or was abandoned);
//! - `jaas_eval_workers`: live worker processes, idle or busy.
//!
//! The pool keeps its own counters ([`PoolStats`]); [`PoolMetrics::sample`] carries them over at scrape time.

use std::sync::{Mutex, PoisonError};

use jaas_render::{PoolStats, Renderer};
use prometheus::{IntCounter, IntCounterVec, IntGauge, Opts, Registry};

/// The retirement reasons, in the order [`retired_counts`] lists them.
const REASONS: [&str; 4] = ["max_evaluations", "max_rss", "timeout", "discarded"];

/// The pool's metrics in a registry.
#[derive(Debug)]
pub struct PoolMetrics {
    started: IntCounter,
    retired: IntCounterVec,
    live: IntGauge,
    /// What the last sample carried over, so that each sample adds only what happened since.
    last: Mutex<PoolStats>,
}

impl PoolMetrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let started = IntCounter::new("jaas_eval_workers_started_total", "Evaluation worker processes started.")?;
        let retired = IntCounterVec::new(
            Opts::new(
                "jaas_eval_workers_retired_total",
                "Evaluation workers that left the pool: max_evaluations, max_rss, timeout or discarded.",
            ),
            &["reason"],
        )?;
        let live = IntGauge::new("jaas_eval_workers", "Live evaluation worker processes, idle or busy.")?;
        registry.register(Box::new(started.clone()))?;
        registry.register(Box::new(retired.clone()))?;
        registry.register(Box::new(live.clone()))?;
        for reason in REASONS {
            retired.with_label_values(&[reason]);
        }
        Ok(Self { started, retired, live, last: Mutex::new(PoolStats::default()) })
    }

    /// Carries the pool's counters over: called right before a scrape.
    pub fn sample(&self, renderer: &Renderer) {
        self.record(&renderer.pool_stats(), renderer.worker_pids().len());
    }

    fn record(&self, now: &PoolStats, live_workers: usize) {
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        self.started.inc_by(now.started.saturating_sub(last.started));
        for ((reason, now), before) in REASONS.iter().zip(retired_counts(now)).zip(retired_counts(&last)) {
            self.retired.with_label_values(&[*reason]).inc_by(now.saturating_sub(before));
        }
        self.live.set(i64::try_from(live_workers).unwrap_or(i64::MAX));
        *last = *now;
    }
}

/// The retirement counters of `stats` in the order of [`REASONS`].
const fn retired_counts(stats: &PoolStats) -> [u64; 4] {
    [stats.recycled_max_evaluations, stats.recycled_max_rss, stats.killed_timeout, stats.discarded]
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn samples_add_what_happened_since_the_last_one() {
        let registry = Registry::new();
        let metrics = PoolMetrics::register(&registry).unwrap();
        let stats = |started, recycled, killed| PoolStats {
            started,
            recycled_max_evaluations: recycled,
            killed_timeout: killed,
            ..PoolStats::default()
        };
        metrics.record(&stats(3, 1, 0), 2);
        metrics.record(&stats(5, 2, 1), 2);
        let text = jaas_shared::process::registry_text(&registry).unwrap();
        for line in [
            "jaas_eval_workers_started_total 5",
            "jaas_eval_workers_retired_total{reason=\"max_evaluations\"} 2",
            "jaas_eval_workers_retired_total{reason=\"timeout\"} 1",
            "jaas_eval_workers_retired_total{reason=\"max_rss\"} 0",
            "jaas_eval_workers 2",
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
    }
}
