//! Leader election on a `coordination.k8s.io/v1` Lease, hand-rolled so that a released lease is taken over within
//! a poll interval (kube-lease-manager's followers sleep until the lease would expire, which makes a SIGTERM
//! hand-over take a whole lease duration).
//!
//! Protocol (as client-go's leaderelection): every write is an update with the `resourceVersion` that was read, so
//! two candidates can never both win; a follower judges expiry by its own clock from the moment it last saw the
//! lease record change (no clock-skew assumptions); the holder renews every [`RENEW_EVERY`] and considers the lease
//! lost when it could not renew for [`RENEW_DEADLINE`], well before the [`LEASE_DURATION`] others wait for. Releasing
//! clears `holderIdentity`, which followers take at their next poll.

use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client};

use crate::report_limit::ReportLimit;

/// How long a lease is valid after its last renewal.
pub const LEASE_DURATION: Duration = Duration::from_secs(15);
/// How often the holder renews.
pub const RENEW_EVERY: Duration = Duration::from_secs(3);
/// How long the holder may fail to renew before it stops writing.
pub const RENEW_DEADLINE: Duration = Duration::from_secs(10);
/// How often a follower looks at the lease.
pub const RETRY_PERIOD: Duration = Duration::from_millis(400);

/// One candidate in the election for one Lease.
#[derive(Debug)]
pub struct LeaderElector {
    api: Api<Lease>,
    name: String,
    identity: String,
    /// The lease record last seen (holder, renew time, resource version) and when it was first seen.
    observed: Option<(String, Instant)>,
    /// Limits the logging of failures to read or take the lease, which are retried every [`RETRY_PERIOD`].
    failures: ReportLimit,
}

/// The parts of a lease record whose change proves its holder is alive.
fn record_key(lease: &Lease) -> String {
    let spec = lease.spec.as_ref();
    format!(
        "{:?}/{:?}/{:?}",
        spec.and_then(|s| s.holder_identity.as_deref()),
        spec.and_then(|s| s.renew_time.as_ref()).map(|t| t.0),
        lease.metadata.resource_version
    )
}

impl LeaderElector {
    /// A candidate named `identity` for the Lease `namespace/name`.
    pub fn new(client: Client, namespace: &str, name: &str, identity: &str) -> Self {
        Self {
            api: Api::namespaced(client, namespace),
            name: name.to_owned(),
            identity: identity.to_owned(),
            observed: None,
            failures: ReportLimit::default(),
        }
    }

    /// Logs a failure of [`Self::try_acquire_or_renew`] while waiting to lead: the first one and then one per
    /// [`ReportLimit`] period (with the count in between), at ERROR when the API server denies the Lease (the
    /// ServiceAccount lacks a permission: it will not fix itself), else at WARN.
    pub fn report_acquire_failure(&mut self, error: &kube::Error) {
        let Some(failures) = self.failures.failed(Instant::now()) else {
            tracing::debug!(%error, "cannot read or take the leader lease; retrying");
            return;
        };
        let lease = format!("{}/{}", self.api.namespace().unwrap_or_default(), self.name);
        if let kube::Error::Api(status) = error
            && status.is_forbidden()
        {
            // Quoted as the API server words it (verb, resource, namespace), without the debug dump of its Status.
            let error = crate::error::Error::Forbidden(status.message.clone());
            tracing::error!(%error, %lease, failures, "the API server denies the leader lease; retrying");
        } else {
            tracing::warn!(%error, %lease, failures, "cannot read or take the leader lease; retrying");
        }
    }

    /// This candidate's identity.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    fn spec_for_me(&self, previous: Option<&LeaseSpec>) -> LeaseSpec {
        let now = MicroTime(Timestamp::now());
        let already_mine = previous.and_then(|s| s.holder_identity.as_deref()) == Some(self.identity.as_str());
        let transitions = previous.and_then(|s| s.lease_transitions).unwrap_or(0);
        LeaseSpec {
            holder_identity: Some(self.identity.clone()),
            lease_duration_seconds: i32::try_from(LEASE_DURATION.as_secs()).ok(),
            acquire_time: if already_mine { previous.and_then(|s| s.acquire_time.clone()) } else { Some(now.clone()) },
            renew_time: Some(now),
            lease_transitions: Some(if already_mine { transitions } else { transitions + 1 }),
            ..LeaseSpec::default()
        }
    }

    /// Acquires the lease when it is free or expired, or renews it when we hold it. `Ok(true)` means we hold it
    /// now; `Ok(false)` that someone else does (or won a race).
    pub async fn try_acquire_or_renew(&mut self) -> Result<bool, kube::Error> {
        let Some(mut lease) = self.api.get_opt(&self.name).await? else {
            let lease = Lease {
                metadata: ObjectMeta { name: Some(self.name.clone()), ..ObjectMeta::default() },
                spec: Some(self.spec_for_me(None)),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
                Err(error) => Err(error),
            };
        };
        let key = record_key(&lease);
        let now = Instant::now();
        let seen_at = match &self.observed {
            Some((seen, at)) if *seen == key => *at,
            _ => {
                self.observed = Some((key, now));
                now
            }
        };
        let spec = lease.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.as_deref().filter(|h| !h.is_empty());
        let duration =
            spec.lease_duration_seconds.and_then(|s| u64::try_from(s).ok()).map_or(LEASE_DURATION, Duration::from_secs);
        let mine = holder == Some(self.identity.as_str());
        let free = holder.is_none() || now.duration_since(seen_at) > duration;
        if !mine && !free {
            return Ok(false);
        }
        lease.spec = Some(self.spec_for_me(Some(&spec)));
        match self.api.replace(&self.name, &PostParams::default(), &lease).await {
            Ok(updated) => {
                self.observed = Some((record_key(&updated), Instant::now()));
                Ok(true)
            }
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// Gives the lease up if we hold it, so a follower takes over at its next poll.
    pub async fn release(&mut self) -> Result<(), kube::Error> {
        let Some(mut lease) = self.api.get_opt(&self.name).await? else { return Ok(()) };
        let Some(spec) = lease.spec.as_mut() else { return Ok(()) };
        if spec.holder_identity.as_deref() != Some(self.identity.as_str()) {
            return Ok(());
        }
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        spec.renew_time = Some(MicroTime(Timestamp::now()));
        self.api.replace(&self.name, &PostParams::default(), &lease).await?;
        Ok(())
    }
}

/// A unique identity for this process: `$POD_NAME`, else the host name, plus the process id and start time.
pub fn default_identity() -> String {
    let host = std::env::var("POD_NAME")
        .ok()
        .filter(|n| !n.is_empty())
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok().map(|h| h.trim().to_owned()))
        .unwrap_or_else(|| "jaas".to_owned());
    let nanos = Timestamp::now().subsec_nanosecond();
    format!("{host}_{}_{nanos:09}", std::process::id())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn timings_leave_room_for_a_takeover() {
        assert!(RENEW_EVERY * 3 <= RENEW_DEADLINE);
        assert!(RENEW_DEADLINE < LEASE_DURATION);
        assert!(RETRY_PERIOD < Duration::from_secs(1));
    }

    #[test]
    fn identities_differ_between_calls() {
        let a = default_identity();
        std::thread::sleep(Duration::from_millis(2));
        assert_ne!(a, default_identity());
    }
}
