//! `--rerender-rate` / `--rerender-burst`: a token bucket per snippet that bounds how often it renders. A snippet
//! whose inputs change in a loop (a writer fighting another, a source that republishes on every poll) would
//! otherwise render and publish as fast as the changes come; with a rate set, a render beyond the bucket waits for
//! its next token (the caller records a Warning Event and counts it). A rate of 0 turns the limit off.
//!
//! Kept by hand rather than with a rate-limiting crate because it follows the render memo's pattern (a map of
//! small states under one lock, decided at an `Instant` the caller passes in, so tests need no clock).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// A snippet's bucket: tokens left at `at`.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The per-snippet token buckets.
#[derive(Debug)]
pub struct RerenderLimit {
    /// Tokens added per second; 0 means no limit.
    rate: f64,
    /// Tokens a bucket holds at most (and starts with).
    burst: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RerenderLimit {
    /// Buckets refilled at `rate` renders per second and holding `burst` (at least 1).
    pub fn new(rate: f64, burst: u32) -> Self {
        Self { rate: rate.max(0.0), burst: f64::from(burst.max(1)), buckets: Mutex::default() }
    }

    /// Takes a render token for `key` at `now`: `Err` with the wait until the next token when none is left.
    pub fn take(&self, key: &str, now: Instant) -> Result<(), Duration> {
        if self.rate == 0.0 {
            return Ok(());
        }
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket { tokens: self.burst, at: now });
        let refilled = now.saturating_duration_since(bucket.at).as_secs_f64() * self.rate;
        bucket.tokens = (bucket.tokens + refilled).min(self.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        Err(Duration::from_secs_f64((1.0 - bucket.tokens) / self.rate))
    }

    /// Forgets a snippet that is gone.
    pub fn forget(&self, key: &str) {
        self.buckets.lock().unwrap_or_else(PoisonError::into_inner).remove(key);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_one_render_per_token() {
        let limit = RerenderLimit::new(0.5, 3);
        let start = Instant::now();
        for _ in 0..3 {
            assert_eq!(limit.take("ns/web", start), Ok(()));
        }
        assert_eq!(limit.take("ns/web", start), Err(Duration::from_secs(2)), "one token every 2 s");
        assert_eq!(limit.take("ns/other", start), Ok(()), "each snippet has its own bucket");
        assert_eq!(limit.take("ns/web", start + Duration::from_secs(1)), Err(Duration::from_secs(1)));
        assert_eq!(limit.take("ns/web", start + Duration::from_secs(2)), Ok(()));
        assert_eq!(limit.take("ns/web", start + Duration::from_secs(100)), Ok(()), "refilled, up to the burst");
        limit.forget("ns/web");
        assert_eq!(limit.take("ns/web", start), Ok(()));
    }

    #[test]
    fn a_rate_of_zero_never_limits() {
        let limit = RerenderLimit::new(0.0, 1);
        let now = Instant::now();
        assert!((0..1000).all(|_| limit.take("ns/web", now).is_ok()));
    }
}
