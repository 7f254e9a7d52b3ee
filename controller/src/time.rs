//! Kubernetes `metav1.Time` from the clocks the controller reads (storage timestamps, the wall clock), and back,
//! in whole seconds as the API server stores them.

use std::time::{Duration, SystemTime};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

/// The `metav1.Time` of `time`, cut to whole seconds (so a value we write compares equal to the one read back).
pub fn to_metav1(time: SystemTime) -> Time {
    let seconds = time.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    Time(Timestamp::from_second(i64::try_from(seconds).unwrap_or(i64::MAX)).unwrap_or(Timestamp::UNIX_EPOCH))
}

/// How long ago `time` was, in whole seconds; zero for a time in the future.
pub fn elapsed_since(time: &Time) -> Duration {
    let seconds = Timestamp::now().as_second().saturating_sub(time.0.as_second());
    Duration::from_secs(u64::try_from(seconds).unwrap_or(0))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn system_times_become_whole_seconds() {
        let time = SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_900);
        assert_eq!(to_metav1(time).0.as_second(), 1_700_000_000);
        assert_eq!(to_metav1(time).0.subsec_nanosecond(), 0);
        assert_eq!(to_metav1(SystemTime::UNIX_EPOCH - Duration::from_secs(5)).0, Timestamp::UNIX_EPOCH);
    }

    #[test]
    fn elapsed_time_is_never_negative() {
        let minute_ago = Time(Timestamp::from_second(Timestamp::now().as_second() - 60).unwrap());
        let elapsed = elapsed_since(&minute_ago);
        assert!((Duration::from_mins(1)..Duration::from_secs(70)).contains(&elapsed), "{elapsed:?}");
        let tomorrow = Time(Timestamp::from_second(Timestamp::now().as_second() + 86_400).unwrap());
        assert_eq!(elapsed_since(&tomorrow), Duration::ZERO);
    }
}
