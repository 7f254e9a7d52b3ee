//! What the controller remembers between reconciles of one snippet, so that triggers caused by its own status
//! writes (to the snippet or to the ExternalArtifact it owns) never cause a render. A render happens only when the
//! inputs changed (a new generation, or library content), the interval elapsed, or a failed attempt's retry delay
//! (the failure backoff's) is over. The memory is per process: after a restart or a leader change every snippet
//! renders once, and an unchanged result writes nothing.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The last attempt to render, store and publish one snippet.
#[derive(Debug, Clone, Copy)]
struct Attempt {
    fingerprint: u64,
    at: Instant,
    succeeded: bool,
}

/// What to do about a trigger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Render now.
    Render,
    /// These inputs are published; render again after this long (`spec.interval`), or on the next change.
    UpToDate(Option<Duration>),
    /// The last attempt with these inputs failed; retry after this long, or on the next change.
    RetryLater(Duration),
}

/// The last attempt of each snippet, keyed by `namespace/name`.
#[derive(Debug, Default)]
pub struct RenderMemo {
    attempts: Mutex<HashMap<String, Attempt>>,
}

impl RenderMemo {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, Attempt>) -> T) -> T {
        let mut guard = self.attempts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut guard)
    }

    /// Decides whether a snippet with these inputs needs a render now: after a success when `interval` (if any)
    /// elapsed, after a failure when `retry_delay` elapsed.
    pub fn decide(
        &self,
        key: &str,
        fingerprint: u64,
        interval: Option<Duration>,
        retry_delay: Duration,
        now: Instant,
    ) -> Decision {
        self.with(|attempts| {
            let Some(last) = attempts.get(key).filter(|a| a.fingerprint == fingerprint) else {
                return Decision::Render;
            };
            let since = now.duration_since(last.at);
            match (last.succeeded, interval) {
                (false, _) if since >= retry_delay => Decision::Render,
                (false, _) => Decision::RetryLater(retry_delay.saturating_sub(since)),
                (true, Some(interval)) if since >= interval => Decision::Render,
                (true, interval) => Decision::UpToDate(interval.map(|i| i.saturating_sub(since))),
            }
        })
    }

    /// Records how an attempt to render, store and publish these inputs ended.
    pub fn record(&self, key: &str, fingerprint: u64, succeeded: bool, now: Instant) {
        self.with(|attempts| attempts.insert(key.to_owned(), Attempt { fingerprint, at: now, succeeded }));
    }

    /// Forgets a deleted snippet.
    pub fn forget(&self, key: &str) {
        self.with(|attempts| attempts.remove(key));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const RETRY: Duration = Duration::from_secs(4);

    #[test]
    fn unchanged_inputs_do_not_render_again() {
        let memo = RenderMemo::default();
        let t0 = Instant::now();
        assert_eq!(memo.decide("a/b", 1, None, RETRY, t0), Decision::Render);
        memo.record("a/b", 1, true, t0);
        assert_eq!(memo.decide("a/b", 1, None, RETRY, t0 + Duration::from_secs(1000)), Decision::UpToDate(None));
        assert_eq!(memo.decide("a/b", 2, None, RETRY, t0), Decision::Render, "new inputs");
        assert_eq!(memo.decide("a/c", 1, None, RETRY, t0), Decision::Render, "another snippet");
        memo.forget("a/b");
        assert_eq!(memo.decide("a/b", 1, None, RETRY, t0), Decision::Render);
    }

    #[test]
    fn the_interval_schedules_the_next_render() {
        let memo = RenderMemo::default();
        let (t0, minute) = (Instant::now(), Duration::from_mins(1));
        memo.record("a/b", 1, true, t0);
        let later = t0 + Duration::from_secs(20);
        assert_eq!(
            memo.decide("a/b", 1, Some(minute), RETRY, later),
            Decision::UpToDate(Some(Duration::from_secs(40)))
        );
        assert_eq!(memo.decide("a/b", 1, Some(minute), RETRY, t0 + minute), Decision::Render);
    }

    #[test]
    fn a_failed_attempt_is_retried_after_the_retry_delay_only() {
        let memo = RenderMemo::default();
        let t0 = Instant::now();
        memo.record("a/b", 1, false, t0);
        let soon = t0 + Duration::from_secs(1);
        assert_eq!(
            memo.decide("a/b", 1, Some(Duration::from_mins(1)), RETRY, soon),
            Decision::RetryLater(Duration::from_secs(3))
        );
        assert_eq!(memo.decide("a/b", 1, None, RETRY, t0 + RETRY), Decision::Render);
        assert_eq!(memo.decide("a/b", 1, None, RETRY * 2, t0 + RETRY), Decision::RetryLater(RETRY), "a longer streak");
        assert_eq!(memo.decide("a/b", 2, None, RETRY, soon), Decision::Render, "a change is tried at once");
    }
}
