//! A failure that repeats at every retry (a watch the API server denies, a Lease the controller may not read) is
//! worth one log line that an operator sees, not one per retry that buries everything else: the first failure is
//! reported, then at most one per period, each report counting the failures since the previous one.

use std::time::{Duration, Instant};

/// The least time between two reports of the same repeating failure.
pub const REPORT_EVERY: Duration = Duration::from_mins(5);

/// Rate-limits the reports of one repeating failure.
#[derive(Debug)]
pub struct ReportLimit {
    every: Duration,
    reported_at: Option<Instant>,
    unreported: u64,
}

impl Default for ReportLimit {
    fn default() -> Self {
        Self::every(REPORT_EVERY)
    }
}

impl ReportLimit {
    /// At most one report per `every`.
    pub fn every(every: Duration) -> Self {
        Self { every, reported_at: None, unreported: 0 }
    }

    /// Counts a failure at `now`: `Some(n)` when it is to be reported, `n` being the failures since the last report
    /// (this one included); `None` while the last report is recent.
    pub fn failed(&mut self, now: Instant) -> Option<u64> {
        self.unreported += 1;
        let due = self.reported_at.is_none_or(|at| now.duration_since(at) >= self.every);
        if !due {
            return None;
        }
        self.reported_at = Some(now);
        Some(std::mem::take(&mut self.unreported))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_failure_is_reported_once_per_period_with_the_count_in_between() {
        let start = Instant::now();
        let mut limit = ReportLimit::every(Duration::from_mins(1));
        let at = |seconds: u64| start + Duration::from_secs(seconds);
        let reports: Vec<Option<u64>> = [0, 1, 3, 10, 59, 60, 61, 200].map(|s| limit.failed(at(s))).into();
        assert_eq!(reports, [Some(1), None, None, None, None, Some(5), None, Some(2)]);
    }
}
