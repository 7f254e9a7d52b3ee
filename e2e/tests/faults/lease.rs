//! The controller's leader Lease, as the test sees it. A controller killed with SIGKILL never releases its Lease,
//! so its successor must wait until the Lease expires and take it over. `jaas run` has no flag for the lease
//! duration (15 s), but a candidate honours the `leaseDurationSeconds` written in the Lease, judged by its own clock
//! from when it saw the record change: after each kill the test writes a short one there (`JAAS_FAULT_LEASE_SECONDS`,
//! default [`DEFAULT_SECONDS`]), as a holder configured with that duration would have, and checks that the new
//! controller took the Lease over (the holder names its pid, one transition per kill).

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::json;

/// The Lease's name (`--leader-election-id`); it lives in the test's namespace.
pub const NAME: &str = "jaas-faults";
/// The lease duration written after each kill, unless `JAAS_FAULT_LEASE_SECONDS` says otherwise.
pub const DEFAULT_SECONDS: i32 = 2;
/// The duration the controller writes itself: from it on, the test leaves the Lease alone.
const CONTROLLER_SECONDS: i32 = 15;

/// The lease duration to write after each kill.
pub fn seconds_from_env() -> i32 {
    std::env::var("JAAS_FAULT_LEASE_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(DEFAULT_SECONDS)
}

/// Writes `seconds` as the Lease's duration, as if its dead holder had been configured with it.
pub async fn shorten(client: &kube::Client, namespace: &str, seconds: i32) -> Result<()> {
    if seconds >= CONTROLLER_SECONDS {
        return Ok(());
    }
    let api: Api<Lease> = Api::namespaced(client.clone(), namespace);
    let patch = json!({"spec": {"leaseDurationSeconds": seconds}});
    api.patch(NAME, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .with_context(|| format!("shortening the Lease {namespace}/{NAME}"))?;
    Ok(())
}

/// The Lease's holder and transition count.
pub async fn holder(client: &kube::Client, namespace: &str) -> Result<(String, i32)> {
    let api: Api<Lease> = Api::namespaced(client.clone(), namespace);
    let lease = api.get(NAME).await.with_context(|| format!("reading the Lease {namespace}/{NAME}"))?;
    let spec = lease.spec.unwrap_or_default();
    Ok((spec.holder_identity.unwrap_or_default(), spec.lease_transitions.unwrap_or(0)))
}

/// Waits until the process `pid` holds the Lease (identities are `<host>_<pid>_<nanos>`).
pub async fn wait_held_by(client: &kube::Client, namespace: &str, pid: u32, timeout: Duration) -> Result<()> {
    let start = Instant::now();
    let mark = format!("_{pid}_");
    loop {
        let (holder, _) = holder(client, namespace).await?;
        if holder.contains(&mark) {
            return Ok(());
        }
        if start.elapsed() > timeout {
            bail!("the Lease {namespace}/{NAME} is still held by {holder:?} after {timeout:?}, not by pid {pid}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
