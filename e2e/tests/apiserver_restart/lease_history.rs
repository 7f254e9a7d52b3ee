//! The leader Lease's history as an outside observer sees it: the Lease read every [`POLL_EVERY`] for the whole
//! run (reads fail while the API server is down; they are counted), and what that history says: the tenures (one
//! per holder identity, from its `acquireTime` to its last `renewTime`) and whether any two overlap, i.e. whether
//! a holder acquired the Lease before its predecessor's could have expired or been released.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::Api;
use tokio::task::JoinHandle;

/// How often the Lease is read.
pub const POLL_EVERY: Duration = Duration::from_millis(100);
/// The longest one read may take before it counts as failed.
const READ_TIMEOUT: Duration = Duration::from_millis(500);
/// A bound on the polling, far beyond the test's length.
const MAX_POLLS: u32 = 6_000;

/// One successful read of the Lease.
#[derive(Clone, Debug)]
pub struct Sample {
    /// When it was read (wall clock).
    pub at: Timestamp,
    /// `holderIdentity`, empty when released.
    pub holder: String,
    /// `acquireTime`.
    pub acquired: Option<Timestamp>,
    /// `renewTime`.
    pub renewed: Option<Timestamp>,
    /// `leaseDurationSeconds`.
    pub duration_seconds: i64,
    /// `leaseTransitions`.
    pub transitions: i32,
}

/// What the poller saw.
#[derive(Default)]
pub struct History {
    /// Successful reads, in order.
    pub samples: Vec<Sample>,
    /// Reads that failed or timed out (the API server was down).
    pub failed_reads: u32,
}

/// The background poller.
pub struct Poller {
    stop: Arc<AtomicBool>,
    task: JoinHandle<History>,
}

impl Poller {
    /// Starts reading Lease `name` in `namespace` every [`POLL_EVERY`].
    pub fn start(client: &kube::Client, namespace: &str, name: &str) -> Self {
        let api: Api<Lease> = Api::namespaced(client.clone(), namespace);
        let (stop, name) = (Arc::new(AtomicBool::new(false)), name.to_owned());
        let stopped = stop.clone();
        let task = tokio::spawn(async move {
            let mut history = History::default();
            for _ in 0..MAX_POLLS {
                if stopped.load(Ordering::Relaxed) {
                    break;
                }
                match tokio::time::timeout(READ_TIMEOUT, api.get_opt(&name)).await {
                    Ok(Ok(Some(lease))) => history.samples.push(sample(&lease)),
                    Ok(Ok(None)) => {}
                    _ => history.failed_reads += 1,
                }
                tokio::time::sleep(POLL_EVERY).await;
            }
            history
        });
        Self { stop, task }
    }

    /// Stops polling and returns the history.
    pub async fn finish(self) -> History {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.unwrap_or_default()
    }
}

fn sample(lease: &Lease) -> Sample {
    let spec = lease.spec.clone().unwrap_or_default();
    Sample {
        at: Timestamp::now(),
        holder: spec.holder_identity.unwrap_or_default(),
        acquired: spec.acquire_time.map(|t| t.0),
        renewed: spec.renew_time.map(|t| t.0),
        duration_seconds: spec.lease_duration_seconds.map_or(0, i64::from),
        transitions: spec.lease_transitions.unwrap_or(0),
    }
}

/// One holder's time with the Lease, as the Lease records it.
#[derive(Clone, Debug)]
pub struct Tenure {
    /// The holder's identity.
    pub holder: String,
    /// Its `acquireTime`.
    pub acquired: Timestamp,
    /// Its last `renewTime` seen.
    pub last_renewed: Timestamp,
    /// When its Lease could be taken by another: the release's time if it released it, else its last renewal plus
    /// the lease duration.
    pub expires: Timestamp,
}

impl History {
    /// The tenures in order of acquisition.
    pub fn tenures(&self) -> Vec<Tenure> {
        let mut tenures: Vec<Tenure> = Vec::new();
        for sample in &self.samples {
            let (Some(acquired), Some(renewed)) = (sample.acquired, sample.renewed) else { continue };
            let lasts = SignedDuration::from_secs(sample.duration_seconds);
            if sample.holder.is_empty() {
                // Released: the record keeps the releaser's acquireTime; its tenure ends now.
                if let Some(last) = tenures.last_mut().filter(|t| t.acquired == acquired) {
                    last.expires = last.expires.min(renewed);
                }
                continue;
            }
            match tenures.last_mut() {
                Some(last) if last.holder == sample.holder && last.acquired == acquired => {
                    last.last_renewed = last.last_renewed.max(renewed);
                    last.expires = last.expires.max(renewed + lasts);
                }
                _ => tenures.push(Tenure {
                    holder: sample.holder.clone(),
                    acquired,
                    last_renewed: renewed,
                    expires: renewed + lasts,
                }),
            }
        }
        tenures
    }

    /// Pairs of consecutive tenures where the successor acquired the Lease before the predecessor's could be taken.
    pub fn overlaps(&self) -> Vec<(Tenure, Tenure)> {
        let tenures = self.tenures();
        tenures.windows(2).filter(|w| w[1].acquired < w[0].expires).map(|w| (w[0].clone(), w[1].clone())).collect()
    }

    /// How many times the Lease changed hands during the run (`leaseTransitions`, last read minus first).
    pub fn transitions(&self) -> i32 {
        match (self.samples.first(), self.samples.last()) {
            (Some(first), Some(last)) => last.transitions - first.transitions,
            _ => 0,
        }
    }

    /// The largest gap between two successful reads: how long the poller could not read the Lease.
    pub fn longest_blind_spot(&self) -> Duration {
        let gaps = self.samples.windows(2).map(|w| w[1].at.duration_since(w[0].at));
        gaps.max().and_then(|gap| Duration::try_from(gap).ok()).unwrap_or_default()
    }
}
