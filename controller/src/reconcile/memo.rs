//! What the controller remembers between reconciles of one snippet, so that triggers caused by its own status
//! writes (to the snippet or to the ExternalArtifact it owns) never cause a render. A render happens only when the
//! inputs changed (a new generation, or library content), the interval elapsed, or a failed render's backoff is
//! over. The memory is per process: after a restart or a leader change every snippet renders once, and an
//! unchanged result writes nothing.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::crd::{JsonnetLibrary, JsonnetSnippet};

/// The first retry delay after a failed render; it doubles up to [`MAX_BACKOFF`].
pub const MIN_BACKOFF: Duration = Duration::from_secs(2);
/// The longest retry delay.
pub const MAX_BACKOFF: Duration = Duration::from_mins(5);

/// A hash of everything a render depends on.
pub fn fingerprint(snippet: &JsonnetSnippet, libraries: &[JsonnetLibrary]) -> u64 {
    let mut hasher = DefaultHasher::new();
    snippet.metadata.uid.hash(&mut hasher);
    snippet.metadata.generation.hash(&mut hasher);
    for library in libraries {
        library.metadata.name.hash(&mut hasher);
        library.spec.files.hash(&mut hasher);
    }
    hasher.finish()
}

/// The retry delay after `failures` consecutive failures (at least 1).
pub fn backoff(failures: u32) -> Duration {
    let factor = 2u32.saturating_pow(failures.saturating_sub(1).min(16));
    MIN_BACKOFF.saturating_mul(factor).min(MAX_BACKOFF)
}

#[derive(Debug, Clone, Copy)]
struct Outcome {
    fingerprint: u64,
    at: Instant,
    failures: u32,
}

/// What to do about a trigger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Render now.
    Render,
    /// Nothing changed; look again after this long (or on the next change).
    Wait(Option<Duration>),
}

/// The last render outcome of each snippet, keyed by `namespace/name`.
#[derive(Debug, Default)]
pub struct RenderMemo {
    outcomes: Mutex<HashMap<String, Outcome>>,
}

impl RenderMemo {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, Outcome>) -> T) -> T {
        let mut guard = self.outcomes.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut guard)
    }

    /// Decides whether a snippet with these inputs needs a render now.
    pub fn decide(&self, key: &str, fingerprint: u64, interval: Option<Duration>, now: Instant) -> Decision {
        self.with(|outcomes| {
            let Some(last) = outcomes.get(key).filter(|o| o.fingerprint == fingerprint) else {
                return Decision::Render;
            };
            let wait = if last.failures > 0 { Some(backoff(last.failures)) } else { interval };
            match wait {
                Some(wait) if now.duration_since(last.at) >= wait => Decision::Render,
                Some(wait) => Decision::Wait(Some(wait.saturating_sub(now.duration_since(last.at)))),
                None => Decision::Wait(None),
            }
        })
    }

    /// Records a render outcome; returns the number of consecutive failures (0 after a success).
    pub fn record(&self, key: &str, fingerprint: u64, success: bool, now: Instant) -> u32 {
        self.with(|outcomes| {
            let previous = outcomes.get(key).map_or(0, |o| o.failures);
            let failures = if success { 0 } else { previous.saturating_add(1) };
            outcomes.insert(key.to_owned(), Outcome { fingerprint, at: now, failures });
            failures
        })
    }

    /// The consecutive failures of a snippet.
    pub fn failures(&self, key: &str) -> u32 {
        self.with(|outcomes| outcomes.get(key).map_or(0, |o| o.failures))
    }

    /// Forgets a deleted snippet.
    pub fn forget(&self, key: &str) {
        self.with(|outcomes| outcomes.remove(key));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        assert_eq!(backoff(1), MIN_BACKOFF);
        assert_eq!(backoff(2), MIN_BACKOFF * 2);
        assert_eq!(backoff(3), MIN_BACKOFF * 4);
        assert_eq!(backoff(40), MAX_BACKOFF);
    }

    #[test]
    fn unchanged_inputs_do_not_render_again() {
        let memo = RenderMemo::default();
        let t0 = Instant::now();
        assert_eq!(memo.decide("a/b", 1, None, t0), Decision::Render);
        memo.record("a/b", 1, true, t0);
        assert_eq!(memo.decide("a/b", 1, None, t0 + Duration::from_secs(1000)), Decision::Wait(None));
        assert_eq!(memo.decide("a/b", 2, None, t0), Decision::Render);
    }

    #[test]
    fn intervals_and_failures_schedule_the_next_render() {
        let memo = RenderMemo::default();
        let t0 = Instant::now();
        let minute = Duration::from_mins(1);
        memo.record("a/b", 1, true, t0);
        assert_eq!(
            memo.decide("a/b", 1, Some(minute), t0 + Duration::from_secs(20)),
            Decision::Wait(Some(Duration::from_secs(40)))
        );
        assert_eq!(memo.decide("a/b", 1, Some(minute), t0 + minute), Decision::Render);
        assert_eq!(memo.record("a/b", 1, false, t0), 1);
        assert_eq!(memo.record("a/b", 1, false, t0), 2);
        assert_eq!(
            memo.decide("a/b", 1, None, t0 + Duration::from_secs(1)),
            Decision::Wait(Some(Duration::from_secs(3)))
        );
        assert_eq!(memo.decide("a/b", 1, None, t0 + backoff(2)), Decision::Render);
        memo.forget("a/b");
        assert_eq!(memo.failures("a/b"), 0);
    }
}
