//! How many storage attempts the controller's backoff allows during an outage, and how long after it a snippet may
//! wait for its next attempt. The schedule mirrors `controller/src/reconcile/backoff.rs` (this crate does not
//! depend on the controller): every failed reconcile of a snippet doubles its delay from 2 s up to 5 min, and only
//! a success resets it. A snippet edited once, early in the outage, starts one failure streak; its attempts are
//! at 0, 2, 6, 14, 30, 62 ... seconds, each one later still by the time the failing storage call itself takes.

use std::time::Duration;

/// The delay after the first failure (the controller's `MIN_BACKOFF`).
const MIN_BACKOFF: Duration = Duration::from_secs(2);
/// The longest delay (the controller's `MAX_BACKOFF`).
const MAX_BACKOFF: Duration = Duration::from_mins(5);

/// The controller's delay after `failures` consecutive failures (at least 1).
pub fn delay_after(failures: u32) -> Duration {
    let factor = 2u32.saturating_pow(failures.saturating_sub(1).min(16));
    MIN_BACKOFF.saturating_mul(factor).min(MAX_BACKOFF)
}

/// The most attempts one failure streak can start within `window`: the first at once, each further one after
/// the delay its predecessors' failures call for.
pub fn attempts_within(window: Duration) -> u32 {
    let (mut attempts, mut at) = (1u32, Duration::ZERO);
    loop {
        at += delay_after(attempts);
        if at > window {
            return attempts;
        }
        attempts += 1;
    }
}

/// The longest a snippet can wait, once storage is back, for the attempt that publishes it: the delay after the
/// last failure of a streak that ran for at most `window`.
pub fn longest_wait_after(window: Duration) -> Duration {
    delay_after(attempts_within(window))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_doubles_from_2s_to_5min() {
        let delays: Vec<u64> = (1..=10).map(|f| delay_after(f).as_secs()).collect();
        assert_eq!(delays, [2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
    }

    #[test]
    fn attempts_follow_the_doubling_schedule() {
        // Attempts at 0, 2, 6, 14, 30, 62, 126 s.
        let attempts = |secs| attempts_within(Duration::from_secs(secs));
        assert_eq!([attempts(0), attempts(1), attempts(2), attempts(13), attempts(14)], [1, 1, 2, 3, 4]);
        assert_eq!([attempts(20), attempts(60), attempts(62), attempts(120)], [4, 5, 6, 6]);
        assert_eq!(longest_wait_after(Duration::from_secs(20)), Duration::from_secs(16));
        assert_eq!(longest_wait_after(Duration::from_mins(1)), Duration::from_secs(32));
    }
}
