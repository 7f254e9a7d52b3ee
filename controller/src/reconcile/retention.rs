//! The retention step of a snippet's reconcile: keep `spec.history` revisions in storage, delete the others once
//! they have been superseded for `--artifact-gc-grace`, and report what is kept as `status.history`. The decision
//! is `jaas_shared::gc::plan_deletions`, computed from what storage lists before anything is deleted, so a
//! restarted or newly elected controller decides the same.
//!
//! A reconcile that published nothing new only lists storage when retention may still have something to do: the
//! [`Settled`] memory knows which snippets' storage matched their history the last time it was listed.

use std::cmp::Reverse;
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use std::collections::HashSet;

use jaas_shared::gc::{Revision, plan_deletions, records_to_delete};
use jaas_shared::{Digest, ObjectKind, ObjectMeta, SnippetRef};

use crate::crd::HistoryEntry;
use crate::error::Result;
use crate::reconcile::context::Context;
use crate::time::to_metav1;

/// What retention left in storage.
#[derive(Debug, Clone, PartialEq)]
pub struct Retained {
    /// The stored revisions, the current one first, then newest first.
    pub history: Vec<HistoryEntry>,
    /// How soon to look again, while superseded revisions still wait for their grace period to end.
    pub recheck: Option<Duration>,
}

/// The snippets (`namespace/name`) whose storage held exactly their history when last listed, with the current
/// revision and `spec.history` of that moment: with both unchanged, listing again would decide nothing.
#[derive(Debug, Default)]
pub struct Settled {
    snippets: Mutex<HashMap<String, (Option<Digest>, u32)>>,
}

impl Settled {
    /// Whether the last listing of `key` left nothing to decide for this current revision and history setting.
    pub fn holds(&self, key: &str, current: Option<Digest>, history: u32) -> bool {
        self.snippets.lock().unwrap_or_else(PoisonError::into_inner).get(key) == Some(&(current, history))
    }

    /// Records the outcome of a listing of `key`.
    pub fn record(&self, key: &str, current: Option<Digest>, history: u32, retained: &Retained) {
        let mut snippets = self.snippets.lock().unwrap_or_else(PoisonError::into_inner);
        if retained.recheck.is_none() {
            snippets.insert(key.to_owned(), (current, history));
        } else {
            snippets.remove(key);
        }
    }

    /// Forgets a snippet that is gone.
    pub fn forget(&self, key: &str) {
        self.snippets.lock().unwrap_or_else(PoisonError::into_inner).remove(key);
    }
}

/// Orders stored revisions as `status.history` shows them: the current one first, then newest first.
fn ordered(mut stored: Vec<ObjectMeta>, current: Option<Digest>) -> Vec<ObjectMeta> {
    stored.sort_by_key(|m| {
        (m.key.digest() != current.unwrap_or(m.key.digest()), Reverse(m.last_modified), m.key.digest())
    });
    stored
}

/// The `status.history` entry of a stored revision.
fn history_entry(meta: &ObjectMeta, base_url: &str) -> HistoryEntry {
    let digest = meta.key.digest().to_string();
    HistoryEntry { revision: digest.clone(), digest, url: meta.key.url(base_url), time: to_metav1(meta.last_modified) }
}

/// Deletes the revisions `plan_deletions` selects, keeping `history` (`spec.history`) besides those in their grace
/// period, and reports what is left. A revision's tarball goes first, its record second; records left without a
/// tarball (by a crash between the two writes of a store, or the two deletions here) go too.
pub async fn enforce(ctx: &Context, snippet: &SnippetRef, current: Option<Digest>, history: u32) -> Result<Retained> {
    let history = usize::try_from(history).unwrap_or(1);
    let metrics = &ctx.metrics;
    let (tarballs, records): (Vec<ObjectMeta>, Vec<ObjectMeta>) = metrics
        .storage_op("list", ctx.store.list(snippet))
        .await?
        .into_iter()
        .partition(|m| m.key.kind() == ObjectKind::Tarball);
    let revisions: Vec<Revision> =
        tarballs.iter().map(|m| Revision { digest: m.key.digest(), written: m.last_modified }).collect();
    let doomed = plan_deletions(&revisions, current, history, ctx.gc_grace, SystemTime::now());
    for digest in &doomed {
        let key = snippet.revision(*digest);
        metrics.storage_op("delete", ctx.store.delete(&key)).await?;
        tracing::info!(snippet = %snippet, %digest, "deleted a superseded revision");
    }
    let kept: Vec<ObjectMeta> = tarballs.into_iter().filter(|m| !doomed.contains(&m.key.digest())).collect();
    let kept_digests: HashSet<Digest> = kept.iter().map(|m| m.key.digest()).collect();
    let recorded: Vec<Digest> = records.iter().map(|m| m.key.digest()).collect();
    for digest in records_to_delete(&kept_digests, &recorded) {
        metrics.storage_op("delete", ctx.store.delete(&snippet.record(digest))).await?;
    }
    let pending = kept.len() > history.max(1);
    let recheck = pending.then(|| recheck_after(ctx.gc_grace));
    let history = ordered(kept, current).iter().map(|m| history_entry(m, &ctx.base_url)).collect();
    Ok(Retained { history, recheck })
}

/// How soon to look again while superseded revisions wait out their grace period.
fn recheck_after(grace: Duration) -> Duration {
    (grace / 4).clamp(Duration::from_secs(1), Duration::from_mins(1))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use jaas_shared::ArtifactKey;

    fn meta(byte: u8, seconds: u64) -> ObjectMeta {
        let key = ArtifactKey::new("ns", "name", Digest::from_sha256([byte; 32])).unwrap();
        ObjectMeta {
            etag: jaas_shared::store::etag_for(&key),
            key,
            size: 1,
            last_modified: SystemTime::UNIX_EPOCH + Duration::from_secs(seconds),
        }
    }

    #[test]
    fn the_current_revision_comes_first_then_newest_first() {
        let current = Digest::from_sha256([1; 32]);
        let order: Vec<u8> = ordered(vec![meta(1, 10), meta(2, 30), meta(3, 20)], Some(current))
            .iter()
            .map(|m| m.key.digest().hex().as_bytes()[1])
            .collect();
        assert_eq!(order, [b'1', b'2', b'3']);
        let order: Vec<u64> = ordered(vec![meta(1, 10), meta(2, 30)], None)
            .iter()
            .map(|m| m.last_modified.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs())
            .collect();
        assert_eq!(order, [30, 10]);
    }

    #[test]
    fn history_entries_carry_the_url_and_time() {
        let entry = history_entry(&meta(1, 1_700_000_000), "http://srv/");
        assert_eq!(entry.revision, entry.digest);
        assert!(entry.url.starts_with("http://srv/ns/name/sha256-"));
        assert_eq!(entry.time.0.as_second(), 1_700_000_000);
    }

    #[test]
    fn recheck_is_bounded() {
        assert_eq!(recheck_after(Duration::ZERO), Duration::from_secs(1));
        assert_eq!(recheck_after(Duration::from_secs(20)), Duration::from_secs(5));
        assert_eq!(recheck_after(Duration::from_hours(1)), Duration::from_mins(1));
    }
}
