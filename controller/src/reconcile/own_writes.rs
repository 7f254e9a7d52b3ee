//! What this process wrote to each snippet that the watch may not have brought back yet: the status it last applied
//! and whether it added the finalizer. A reconcile works on the reflector's copy of the snippet (no GET per
//! reconcile); that copy can lag our own writes by a watch event, and a status computed from a stale copy would
//! undo what we wrote. So the copy is first brought up to date with our own writes ([`OwnWrites::overlay`]).
//!
//! This is sound because the leader is the only writer of a snippet's status (the status has its own field
//! manager) and a new leader starts with an empty memory and a fresh list. Entries are keyed by UID, so a snippet
//! deleted and created again under the same name starts clean, and an entry is dropped as soon as the watch shows
//! the write, so the memory holds only writes still in flight.
//!
//! The copy a reconcile is handed was taken when it was queued; the watch may show our write (and drop its entry)
//! after that. So [`OwnWrites::overlay`] reads the entries first and then the watch's newest copy (from the stores
//! [`OwnWrites::watch`] registers): an entry missing by then was dropped by the watch, which had already put the
//! newer copy into its store. For the same reason an entry goes only once the store holds what dropped it: on an
//! `Apply` event (the reflector applied it before we see it), and after a relist only at `InitDone`, when the
//! relisted objects replace the store's (an `InitApply` object is still in the reflector's buffer).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use kube::ResourceExt;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;

use crate::crd::{JsonnetSnippet, JsonnetSnippetStatus};

/// Our writes not yet seen through the watch, by snippet UID.
#[derive(Debug, Default)]
pub struct OwnWrites {
    statuses: Mutex<HashMap<String, JsonnetSnippetStatus>>,
    finalized: Mutex<HashSet<String>>,
    stores: Mutex<Vec<Store<JsonnetSnippet>>>,
}

impl OwnWrites {
    /// `snippet` with what we wrote since the watch last showed it; the same `Arc` when there is nothing newer.
    pub fn overlay(&self, snippet: Arc<JsonnetSnippet>, finalizer: &str) -> Arc<JsonnetSnippet> {
        self.observe(&snippet, finalizer);
        let Some(uid) = snippet.uid() else { return snippet };
        let status = self.statuses.lock().unwrap_or_else(PoisonError::into_inner).get(&uid).cloned();
        let finalizer_missing = self.finalized.lock().unwrap_or_else(PoisonError::into_inner).contains(&uid);
        // Only after the entries: see the module docs.
        let snippet = self.newest(snippet, &uid);
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

    /// Registers the store of a snippet watch, whose newest copies [`Self::overlay`] prefers.
    pub fn watch(&self, store: Store<JsonnetSnippet>) {
        self.stores.lock().unwrap_or_else(PoisonError::into_inner).push(store);
    }

    /// The newest copy of `snippet` (the same object, `uid`) a registered store holds, else `snippet`.
    fn newest(&self, snippet: Arc<JsonnetSnippet>, uid: &str) -> Arc<JsonnetSnippet> {
        let reference = ObjectRef::from_obj(&*snippet);
        let stores = self.stores.lock().unwrap_or_else(PoisonError::into_inner);
        stores
            .iter()
            .find_map(|store| store.get(&reference))
            .filter(|newest| newest.uid().as_deref() == Some(uid))
            .unwrap_or(snippet)
    }

    /// Drops the writes a watch event, already applied to the registered stores, shows (see the module docs).
    pub fn observe_event(&self, event: &watcher::Event<JsonnetSnippet>, finalizer: &str) {
        match event {
            watcher::Event::Apply(snippet) => self.observe(snippet, finalizer),
            watcher::Event::InitDone => {
                let stores = self.stores.lock().unwrap_or_else(PoisonError::into_inner).clone();
                for snippet in stores.iter().flat_map(Store::state) {
                    self.observe(&snippet, finalizer);
                }
            }
            watcher::Event::Init | watcher::Event::InitApply(_) | watcher::Event::Delete(_) => {}
        }
    }

    /// Drops the writes `snippet`, as the store now holds it, already carries. The snippet watch calls this for
    /// every event ([`Self::observe_event`]), so an entry lasts while its write is in flight, not until the
    /// snippet's next reconcile (our own status writes trigger none).
    fn observe(&self, snippet: &JsonnetSnippet, finalizer: &str) {
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

    #[test]
    fn a_copy_taken_before_the_watch_showed_our_write_is_replaced_by_the_watched_one() {
        use kube::runtime::{reflector, watcher};

        let writes = OwnWrites::default();
        let (store, mut reflected) = reflector::store();
        writes.watch(store);
        let queued = snippet("u1", Some("sha256:1"), true);
        reflected.apply_watcher_event(&watcher::Event::Apply(JsonnetSnippet::clone(&queued)));
        let written = JsonnetSnippetStatus { revision: Some("sha256:2".to_owned()), ..JsonnetSnippetStatus::default() };
        writes.wrote_status(&queued, &written);
        // The watch shows the write (store first, then the entry goes) before the queued reconcile starts.
        let watched = snippet("u1", Some("sha256:2"), true);
        reflected.apply_watcher_event(&watcher::Event::Apply(JsonnetSnippet::clone(&watched)));
        writes.observe(&watched, FINALIZER);
        assert_eq!(writes.pending(), (0, 0));
        let seen = writes.overlay(queued, FINALIZER);
        assert_eq!(seen.status.as_ref().and_then(|s| s.revision.as_deref()), Some("sha256:2"), "not the queued copy");
    }

    #[test]
    fn a_relisted_write_is_dropped_only_once_the_relist_replaced_the_store() {
        use kube::runtime::{reflector, watcher};

        let writes = OwnWrites::default();
        let (store, mut reflected) = reflector::store();
        writes.watch(store);
        let stale = snippet("u1", None, true);
        reflected.apply_watcher_event(&watcher::Event::Apply(JsonnetSnippet::clone(&stale)));
        let written = JsonnetSnippetStatus { revision: Some("sha256:1".to_owned()), ..JsonnetSnippetStatus::default() };
        writes.wrote_status(&stale, &written);

        // The watch broke before the write's event; the relist shows it.
        let relisted = watcher::Event::InitApply(JsonnetSnippet::clone(&snippet("u1", Some("sha256:1"), true)));
        for event in [watcher::Event::Init, relisted] {
            reflected.apply_watcher_event(&event);
            writes.observe_event(&event, FINALIZER);
        }
        assert_eq!(writes.pending(), (1, 0), "the store still holds the stale copy");
        let seen = writes.overlay(stale.clone(), FINALIZER);
        assert_eq!(seen.status.as_ref(), Some(&written));

        reflected.apply_watcher_event(&watcher::Event::InitDone);
        writes.observe_event(&watcher::Event::InitDone, FINALIZER);
        assert_eq!(writes.pending(), (0, 0));
        assert_eq!(writes.overlay(stale, FINALIZER).status.as_ref(), Some(&written));
    }
}
