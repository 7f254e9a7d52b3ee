//! What this process wrote to each snippet that the watch may not have brought back yet: the status it last applied
//! and whether it added the finalizer. A reconcile works on the reflector's copy of the snippet (no GET per
//! reconcile); that copy can lag our own writes by a watch event, and a status computed from a stale copy would
//! undo what we wrote. So the copy is first brought up to date with our own writes ([`OwnWrites::overlay`]).
//!
//! This is sound because the leader is the only writer of a snippet's status (the status has its own field
//! manager) and a new leader starts with an empty memory and a fresh list. Entries are keyed by UID, so a snippet
//! deleted and created again under the same name starts clean, and an entry is dropped as soon as the watch shows
//! the write, so the memory holds only writes still in flight.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use kube::ResourceExt;

use crate::crd::{JsonnetSnippet, JsonnetSnippetStatus};

/// Our writes not yet seen through the watch, by snippet UID.
#[derive(Debug, Default)]
pub struct OwnWrites {
    statuses: Mutex<HashMap<String, JsonnetSnippetStatus>>,
    finalized: Mutex<HashSet<String>>,
}

impl OwnWrites {
    /// `snippet` with what we wrote since the watch last showed it; the same `Arc` when there is nothing newer.
    pub fn overlay(&self, snippet: Arc<JsonnetSnippet>, finalizer: &str) -> Arc<JsonnetSnippet> {
        self.observe(&snippet, finalizer);
        let Some(uid) = snippet.uid() else { return snippet };
        let status = self.statuses.lock().unwrap_or_else(PoisonError::into_inner).get(&uid).cloned();
        let finalizer_missing = self.finalized.lock().unwrap_or_else(PoisonError::into_inner).contains(&uid);
        if status.is_none() && !finalizer_missing {
            return snippet;
        }
        let mut updated = JsonnetSnippet::clone(&snippet);
        if let Some(status) = status {
            updated.status = Some(status);
        }
        if finalizer_missing {
            updated.finalizers_mut().push(finalizer.to_owned());
        }
        Arc::new(updated)
    }

    /// Drops the writes `snippet`, as a watch event shows it, already carries. The snippet watch calls this for
    /// every event, so an entry lasts while its write is in flight, not until the snippet's next reconcile (our
    /// own status writes trigger none).
    pub fn observe(&self, snippet: &JsonnetSnippet, finalizer: &str) {
        let Some(uid) = snippet.uid() else { return };
        {
            let mut statuses = self.statuses.lock().unwrap_or_else(PoisonError::into_inner);
            if statuses.get(&uid).is_some_and(|written| snippet.status.as_ref() == Some(written)) {
                statuses.remove(&uid);
            }
        }
        if snippet.finalizers().iter().any(|f| f == finalizer) {
            self.finalized.lock().unwrap_or_else(PoisonError::into_inner).remove(&uid);
        }
    }

    /// Records the status we applied to `snippet`.
    pub fn wrote_status(&self, snippet: &JsonnetSnippet, status: &JsonnetSnippetStatus) {
        if let Some(uid) = snippet.uid() {
            self.statuses.lock().unwrap_or_else(PoisonError::into_inner).insert(uid, status.clone());
        }
    }

    /// Records that we added the finalizer to `snippet`.
    pub fn added_finalizer(&self, snippet: &JsonnetSnippet) {
        if let Some(uid) = snippet.uid() {
            self.finalized.lock().unwrap_or_else(PoisonError::into_inner).insert(uid);
        }
    }

    /// Forgets a snippet that is gone.
    pub fn forget(&self, snippet: &JsonnetSnippet) {
        if let Some(uid) = snippet.uid() {
            self.statuses.lock().unwrap_or_else(PoisonError::into_inner).remove(&uid);
            self.finalized.lock().unwrap_or_else(PoisonError::into_inner).remove(&uid);
        }
    }

    /// How many writes are still unseen (statuses, finalizers).
    pub fn pending(&self) -> (usize, usize) {
        (
            self.statuses.lock().unwrap_or_else(PoisonError::into_inner).len(),
            self.finalized.lock().unwrap_or_else(PoisonError::into_inner).len(),
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::crd::JsonnetSnippetSpec;

    const FINALIZER: &str = "example.com/finalizer";

    fn snippet(uid: &str, revision: Option<&str>, finalized: bool) -> Arc<JsonnetSnippet> {
        let mut snippet = JsonnetSnippet::new("web", serde_json::from_str::<JsonnetSnippetSpec>("{}").unwrap());
        snippet.metadata.uid = Some(uid.to_owned());
        snippet.status =
            revision.map(|r| JsonnetSnippetStatus { revision: Some(r.to_owned()), ..JsonnetSnippetStatus::default() });
        if finalized {
            snippet.metadata.finalizers = Some(vec![FINALIZER.to_owned()]);
        }
        Arc::new(snippet)
    }

    #[test]
    fn a_stale_copy_shows_our_writes_until_the_watch_brings_them() {
        let writes = OwnWrites::default();
        let stale = snippet("u1", None, false);
        assert!(Arc::ptr_eq(&writes.overlay(stale.clone(), FINALIZER), &stale), "nothing written: the same copy");

        writes.added_finalizer(&stale);
        let written = JsonnetSnippetStatus { revision: Some("sha256:1".to_owned()), ..JsonnetSnippetStatus::default() };
        writes.wrote_status(&stale, &written);
        let seen = writes.overlay(stale.clone(), FINALIZER);
        assert_eq!(seen.status.as_ref(), Some(&written));
        assert_eq!(seen.finalizers(), [FINALIZER]);
        assert_eq!(writes.pending(), (1, 1));

        let caught_up = snippet("u1", Some("sha256:1"), true);
        assert!(Arc::ptr_eq(&writes.overlay(caught_up.clone(), FINALIZER), &caught_up));
        assert_eq!(writes.pending(), (0, 0), "entries go once the watch shows them");
    }

    #[test]
    fn a_watch_event_showing_our_write_drops_it_without_a_reconcile() {
        let writes = OwnWrites::default();
        let stale = snippet("u1", None, false);
        writes.added_finalizer(&stale);
        let written = JsonnetSnippetStatus { revision: Some("sha256:2".to_owned()), ..JsonnetSnippetStatus::default() };
        writes.wrote_status(&stale, &written);

        writes.observe(&snippet("u1", Some("sha256:1"), true), FINALIZER);
        assert_eq!(writes.pending(), (1, 0), "an older status is not ours: that write is still in flight");
        writes.observe(&snippet("u1", Some("sha256:2"), true), FINALIZER);
        assert_eq!(writes.pending(), (0, 0));
    }

    #[test]
    fn a_new_snippet_under_the_same_name_starts_clean() {
        let writes = OwnWrites::default();
        let old = snippet("u1", None, false);
        writes.wrote_status(&old, &JsonnetSnippetStatus::default());
        writes.added_finalizer(&old);
        let new = snippet("u2", None, false);
        assert!(Arc::ptr_eq(&writes.overlay(new.clone(), FINALIZER), &new));
        writes.forget(&old);
        assert_eq!(writes.pending(), (0, 0));
    }
}
