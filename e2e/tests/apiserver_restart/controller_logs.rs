//! What the replicas' JSON logs say about leadership and writes. Each process logs its identity at start
//! (`controller started`), when it becomes the leader, when it stops reconciling after losing the Lease or releases
//! it, and each write it made to storage and the API: a new revision published (the tarball stored, the
//! ExternalArtifact applied), a superseded revision deleted, a snippet's artifacts withdrawn. A write's line comes
//! after the write, and a reconcile only starts once its process leads, so each write happened between its
//! process's acquisition of the Lease and the line's timestamp.

use std::path::Path;

use anyhow::{Context, Result};
use k8s_openapi::jiff::Timestamp;
use serde_json::Value;

use crate::lease_history::Tenure;

/// The messages that report a write (controller/src/reconcile/{publish,retention,cleanup}.rs).
const WRITE_MESSAGES: [&str; 3] =
    ["published a new revision", "deleted a superseded revision", "withdrew the snippet's artifacts"];

/// One line of interest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Happening {
    /// `became the leader`.
    BecameLeader,
    /// `lost the leader lease: stopped reconciling`, with why.
    SteppedDown(String),
    /// `released the leader lease`.
    Released,
    /// A write, with its message and snippet.
    Wrote(String),
}

/// A [`Happening`] of one process.
#[derive(Clone, Debug)]
pub struct Entry {
    /// The line's timestamp.
    pub at: Timestamp,
    /// The identity of the process that logged it.
    pub identity: String,
    /// What happened.
    pub what: Happening,
}

/// Every entry of the log at `path`, in order. Lines that are not JSON (the test's `=== starting` lines) are
/// skipped; the identity is the one the last `controller started` line named.
pub fn read(path: &Path) -> Result<Vec<Entry>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut identity = String::new();
    let mut entries = Vec::new();
    for line in text.lines() {
        let Ok(event) = serde_json::from_str::<Value>(line) else { continue };
        let message = event["message"].as_str().unwrap_or_default();
        let Some(at) = event["timestamp"].as_str().and_then(|t| t.parse::<Timestamp>().ok()) else { continue };
        let what = match message {
            "controller started" => {
                event["identity"].as_str().unwrap_or_default().clone_into(&mut identity);
                continue;
            }
            "became the leader" => Happening::BecameLeader,
            "lost the leader lease: stopped reconciling" => {
                Happening::SteppedDown(event["why"].as_str().unwrap_or_default().to_owned())
            }
            "released the leader lease" => Happening::Released,
            m if WRITE_MESSAGES.contains(&m) => {
                Happening::Wrote(format!("{m} {}", event["snippet"].as_str().unwrap_or_default()))
            }
            _ => continue,
        };
        entries.push(Entry { at, identity: identity.clone(), what });
    }
    Ok(entries)
}

/// When the process `identity` stopped leading after `since`: its step-down or release line.
pub fn stopped_leading(entries: &[Entry], identity: &str, since: Timestamp) -> Option<Timestamp> {
    entries
        .iter()
        .filter(|e| e.identity == identity && e.at >= since)
        .find(|e| matches!(e.what, Happening::SteppedDown(_) | Happening::Released))
        .map(|e| e.at)
}

/// The writes no tenure of their writer covers: made outside `[acquireTime, end]` of every tenure of its identity,
/// where `end` is the tenure's step-down line (or, without one, when its Lease could be taken), or made while
/// another identity's tenure was running.
pub fn writes_by_non_holder(entries: &[Entry], tenures: &[Tenure]) -> Vec<Entry> {
    let covered = |write: &Entry| {
        let own = tenures.iter().filter(|t| t.holder == write.identity).any(|t| {
            let end = stopped_leading(entries, &t.holder, t.acquired).unwrap_or(t.expires);
            t.acquired <= write.at && write.at <= end
        });
        let others =
            tenures.iter().any(|t| t.holder != write.identity && t.acquired <= write.at && write.at < t.expires);
        own && !others
    };
    entries.iter().filter(|e| matches!(e.what, Happening::Wrote(_))).filter(|e| !covered(e)).cloned().collect()
}
