//! The two ways the test takes the API server away: a restart (requests fail at once) and a freeze (requests
//! hang), each starting just after the leader renewed its Lease.

use std::time::Duration;

/// How the API server goes away.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Outage {
    /// SIGKILL, down for 15 s, then started again: requests fail at once (connection refused). The leader renews
    /// every 3 s and steps down once it could not for 10 s, so at most 12 s after its last renewal.
    Restart,
    /// SIGSTOP for 20 s (longer than the 15 s lease), then SIGCONT: requests hang, as with a hung server or a
    /// network path that drops packets.
    Freeze,
}

impl Outage {
    /// The test's name in the SUMMARY line.
    pub fn label(self) -> &'static str {
        match self {
            Self::Restart => "apiserver_restart",
            Self::Freeze => "apiserver_freeze",
        }
    }

    /// The SUMMARY key that counts this fault.
    pub fn fault(self) -> &'static str {
        match self {
            Self::Restart => "restarts",
            Self::Freeze => "freezes",
        }
    }

    /// How long the API server stays away.
    pub fn lasts(self) -> Duration {
        match self {
            Self::Restart => Duration::from_secs(15),
            Self::Freeze => Duration::from_secs(20),
        }
    }
}
