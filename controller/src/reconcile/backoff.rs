//! The per-snippet exponential backoff of failed reconciles: every failed reconcile of a snippet (reading it or
//! its libraries, rendering, storage, publishing, writing its status, withdrawing it) doubles the delay before the
//! next attempt, from [`MIN_BACKOFF`] up to [`MAX_BACKOFF`]; a reconcile that leaves the snippet up to date starts
//! over. Like the render memo it lives in this process only.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// The delay after the first failure; it doubles with each further one up to [`MAX_BACKOFF`].
pub const MIN_BACKOFF: Duration = Duration::from_secs(2);
/// The longest delay.
pub const MAX_BACKOFF: Duration = Duration::from_mins(5);

/// The delay after `failures` consecutive failures (at least 1).
pub fn delay_after(failures: u32) -> Duration {
    let factor = 2u32.saturating_pow(failures.saturating_sub(1).min(16));
    MIN_BACKOFF.saturating_mul(factor).min(MAX_BACKOFF)
}

/// The consecutive failed reconciles of each snippet, keyed by `namespace/name`.
#[derive(Debug, Default)]
pub struct FailureBackoff {
    failures: Mutex<HashMap<String, u32>>,
}

impl FailureBackoff {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, u32>) -> T) -> T {
        let mut guard = self.failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut guard)
    }

    /// Counts one more failed reconcile of `key`; returns how many in a row failed and how long to wait now.
    pub fn failed(&self, key: &str) -> (u32, Duration) {
        self.with(|failures| {
            let count = failures.entry(key.to_owned()).or_insert(0);
            *count = count.saturating_add(1);
            (*count, delay_after(*count))
        })
    }

    /// Ends the failure streak of `key` (a reconcile left it up to date, or it was deleted).
    pub fn succeeded(&self, key: &str) {
        self.with(|failures| failures.remove(key));
    }

    /// How long the failure streak of `key` says to wait before retrying; [`MIN_BACKOFF`] when none is counted.
    pub fn delay(&self, key: &str) -> Duration {
        delay_after(self.with(|failures| failures.get(key).copied().unwrap_or(0)).max(1))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_doubles_up_to_the_cap() {
        assert_eq!(delay_after(0), MIN_BACKOFF);
        assert_eq!(delay_after(1), MIN_BACKOFF);
        assert_eq!(delay_after(2), MIN_BACKOFF * 2);
        assert_eq!(delay_after(3), MIN_BACKOFF * 4);
        assert_eq!(delay_after(8), Duration::from_secs(256));
        assert_eq!(delay_after(9), MAX_BACKOFF, "512 s is over the cap");
        assert_eq!(delay_after(u32::MAX), MAX_BACKOFF);
    }

    #[test]
    fn failures_are_counted_per_snippet_until_one_succeeds() {
        let backoff = FailureBackoff::default();
        assert_eq!(backoff.delay("a/b"), MIN_BACKOFF);
        assert_eq!(backoff.failed("a/b"), (1, MIN_BACKOFF));
        assert_eq!(backoff.failed("a/b"), (2, MIN_BACKOFF * 2));
        assert_eq!(backoff.failed("a/other"), (1, MIN_BACKOFF), "another snippet has its own streak");
        assert_eq!(backoff.delay("a/b"), MIN_BACKOFF * 2);
        backoff.succeeded("a/b");
        assert_eq!(backoff.delay("a/b"), MIN_BACKOFF);
        assert_eq!(backoff.failed("a/b"), (1, MIN_BACKOFF));
        assert_eq!(backoff.delay("a/other"), MIN_BACKOFF);
    }
}
