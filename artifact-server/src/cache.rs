//! A bounded in-memory cache of small artifacts, evicting the least recently used first, that remembers when
//! each entry was last checked against storage.
//!
//! Artifacts are content-addressed and immutable, so the bytes under a key can only ever be the bytes whose sha256
//! is in the key: an entry is never stale in content. It can be stale in *existence*: the controller deletes old
//! revisions and deleted snippets from storage, and those must stop being served. So a hit on an entry last checked
//! longer than `revalidate_after` ago comes with a [`Revalidation`], the right to ask storage whether the artifact is
//! still there; at most one request per entry holds it at a time, and the others keep answering from memory
//! meanwhile. (A re-put refreshes only the object's modification time; a cached entry keeps the time it was read
//! with, which is harmless for `Last-Modified`.)

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use jaas_shared::ArtifactKey;

/// One cached artifact: its whole body and what the response headers need.
#[derive(Debug, Clone)]
pub struct CachedArtifact {
    /// The complete tarball.
    pub body: Bytes,
    /// The object's modification time when it was read.
    pub last_modified: SystemTime,
}

/// The cache. Its byte budget counts artifact bodies only; the per-entry overhead (a key and a few words) is small
/// against the 1 MiB-ish bodies it is sized for.
#[derive(Debug)]
pub struct ArtifactCache {
    max_bytes: u64,
    max_object_bytes: u64,
    revalidate_after: Duration,
    inner: Mutex<Inner>,
}

/// What [`ArtifactCache::get`] found.
#[derive(Debug)]
pub struct Hit<'a> {
    /// The cached artifact.
    pub artifact: CachedArtifact,
    /// Present when this request should check with storage that the artifact still exists before answering.
    pub revalidation: Option<Revalidation<'a>>,
}

/// The claim, held by one request at a time per entry, to check an entry against storage. Settle it with
/// [`mark_checked`](Self::mark_checked) or [`evict`](Self::evict); dropping it unsettled (the request was cancelled)
/// releases the claim and leaves the entry due for the next hit.
#[derive(Debug)]
pub struct Revalidation<'a> {
    cache: &'a ArtifactCache,
    key: ArtifactKey,
    /// Which insertion of `key` was claimed: a settlement never touches an entry inserted after it.
    generation: u64,
    settled: bool,
}

#[derive(Debug, Default)]
struct Inner {
    entries: HashMap<ArtifactKey, Entry>,
    /// Last-use stamp → key; the first entry is the least recently used.
    by_use: BTreeMap<u64, ArtifactKey>,
    next_stamp: u64,
    used_bytes: u64,
}

#[derive(Debug)]
struct Entry {
    artifact: CachedArtifact,
    stamp: u64,
    generation: u64,
    /// When storage last confirmed the artifact (or last failed to answer, see [`Revalidation::mark_checked`]).
    checked_at: Instant,
    /// A request holds the [`Revalidation`] for this entry.
    revalidating: bool,
}

impl ArtifactCache {
    /// A cache holding at most `max_bytes` of bodies, none larger than `max_object_bytes`, whose hits ask for a
    /// revalidation once an entry was last checked `revalidate_after` ago (zero: on every hit). A budget of 0
    /// disables caching.
    pub fn new(max_bytes: u64, max_object_bytes: u64, revalidate_after: Duration) -> Self {
        let max_object_bytes = max_object_bytes.min(max_bytes);
        Self { max_bytes, max_object_bytes, revalidate_after, inner: Mutex::default() }
    }

    /// True when an artifact of `size` bytes would be kept by [`insert`](Self::insert).
    pub fn admits(&self, size: u64) -> bool {
        size <= self.max_object_bytes && self.max_bytes > 0
    }

    /// The artifact under `key`, marking it most recently used; with a [`Revalidation`] if the entry is due for a
    /// check and no other request is checking it.
    pub fn get(&self, key: &ArtifactKey) -> Option<Hit<'_>> {
        let mut inner = self.lock();
        let stamp = inner.take_stamp();
        let entry = inner.entries.get_mut(key)?;
        let previous = std::mem::replace(&mut entry.stamp, stamp);
        let artifact = entry.artifact.clone();
        let due = !entry.revalidating && entry.checked_at.elapsed() >= self.revalidate_after;
        entry.revalidating |= due;
        let generation = entry.generation;
        inner.by_use.remove(&previous);
        inner.by_use.insert(stamp, key.clone());
        let revalidation = due.then(|| Revalidation { cache: self, key: key.clone(), generation, settled: false });
        Some(Hit { artifact, revalidation })
    }

    /// Keeps `artifact` under `key` if it is admitted, evicting least recently used entries to make room.
    pub fn insert(&self, key: ArtifactKey, artifact: CachedArtifact) {
        let size = artifact.body.len() as u64;
        if !self.admits(size) {
            return;
        }
        let mut inner = self.lock();
        if let Some(old) = inner.entries.remove(&key) {
            inner.by_use.remove(&old.stamp);
            inner.used_bytes -= old.artifact.body.len() as u64;
        }
        while inner.used_bytes + size > self.max_bytes {
            let Some((_, oldest)) = inner.by_use.pop_first() else { break };
            if let Some(evicted) = inner.entries.remove(&oldest) {
                inner.used_bytes -= evicted.artifact.body.len() as u64;
            }
        }
        let stamp = inner.take_stamp();
        inner.by_use.insert(stamp, key.clone());
        // The bytes were just read from storage: that is as good as a check.
        let entry = Entry { artifact, stamp, generation: stamp, checked_at: Instant::now(), revalidating: false };
        inner.entries.insert(key, entry);
        inner.used_bytes += size;
    }

    /// Bytes of bodies held now.
    pub fn used_bytes(&self) -> u64 {
        self.lock().used_bytes
    }

    /// A panic while holding the lock cannot leave the maps inconsistent in a way that matters for a cache of
    /// immutable bytes, so a poisoned lock is simply taken over.
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Inner {
    fn take_stamp(&mut self) -> u64 {
        self.next_stamp += 1;
        self.next_stamp
    }

    /// The entry under `key` if it is still the insertion `generation`.
    fn claimed(&mut self, key: &ArtifactKey, generation: u64) -> Option<&mut Entry> {
        self.entries.get_mut(key).filter(|entry| entry.generation == generation)
    }
}

impl Revalidation<'_> {
    /// The artifact to check.
    pub fn key(&self) -> &ArtifactKey {
        &self.key
    }

    /// Storage answered for the artifact (or could not answer, and the entry is kept: stale-if-error); either way
    /// the next check is due `revalidate_after` from now, so an outage costs one slow check per entry and interval,
    /// not one per hit.
    pub fn mark_checked(mut self) {
        self.settled = true;
        if let Some(entry) = self.cache.lock().claimed(&self.key, self.generation) {
            entry.checked_at = Instant::now();
            entry.revalidating = false;
        }
    }

    /// Storage no longer has the artifact: drops the entry.
    pub fn evict(mut self) {
        self.settled = true;
        let mut inner = self.cache.lock();
        if inner.claimed(&self.key, self.generation).is_some()
            && let Some(entry) = inner.entries.remove(&self.key)
        {
            inner.by_use.remove(&entry.stamp);
            inner.used_bytes -= entry.artifact.body.len() as u64;
        }
    }
}

impl Drop for Revalidation<'_> {
    fn drop(&mut self) {
        if !self.settled
            && let Some(entry) = self.cache.lock().claimed(&self.key, self.generation)
        {
            entry.revalidating = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jaas_shared::Digest;

    const HOUR: Duration = Duration::from_hours(1);

    fn key(n: u8) -> ArtifactKey {
        ArtifactKey::new("ns", "name", Digest::of(&[n])).unwrap()
    }

    fn artifact(size: usize) -> CachedArtifact {
        CachedArtifact { body: Bytes::from(vec![7; size]), last_modified: SystemTime::UNIX_EPOCH }
    }

    #[test]
    fn evicts_the_least_recently_used_first() {
        let cache = ArtifactCache::new(300, 100, HOUR);
        cache.insert(key(1), artifact(100));
        cache.insert(key(2), artifact(100));
        cache.insert(key(3), artifact(100));
        assert!(cache.get(&key(1)).is_some(), "touching 1 makes 2 the oldest");
        cache.insert(key(4), artifact(100));
        assert!(cache.get(&key(2)).is_none());
        for kept in [1, 3, 4] {
            assert!(cache.get(&key(kept)).is_some(), "{kept} was evicted");
        }
        assert_eq!(cache.used_bytes(), 300);
    }

    #[test]
    fn a_large_entry_evicts_several_small_ones() {
        let cache = ArtifactCache::new(100, 100, HOUR);
        for n in 0..10 {
            cache.insert(key(n), artifact(10));
        }
        cache.insert(key(99), artifact(95));
        assert_eq!(cache.used_bytes(), 95);
        assert!(cache.get(&key(99)).is_some());
        assert!((0..10).all(|n| cache.get(&key(n)).is_none()));
    }

    #[test]
    fn oversized_entries_and_a_zero_budget_are_not_kept() {
        let cache = ArtifactCache::new(1000, 100, HOUR);
        cache.insert(key(1), artifact(101));
        assert!(cache.get(&key(1)).is_none());
        assert!(!cache.admits(101) && cache.admits(100));
        let disabled = ArtifactCache::new(0, 100, HOUR);
        disabled.insert(key(1), artifact(0));
        assert!(disabled.get(&key(1)).is_none());
        assert_eq!(disabled.used_bytes(), 0);
    }

    #[test]
    fn reinserting_a_key_does_not_double_count() {
        let cache = ArtifactCache::new(1000, 100, HOUR);
        cache.insert(key(1), artifact(50));
        cache.insert(key(1), artifact(50));
        assert_eq!(cache.used_bytes(), 50);
        cache.insert(key(2), artifact(50));
        assert_eq!(cache.used_bytes(), 100);
    }

    #[test]
    fn the_budget_is_never_exceeded() {
        let cache = ArtifactCache::new(1000, 300, HOUR);
        for n in 0..=255u8 {
            cache.insert(key(n), artifact(usize::from(n) % 7 * 43));
            assert!(cache.used_bytes() <= 1000);
        }
    }

    #[test]
    fn a_hit_asks_for_a_check_once_the_interval_has_passed() {
        let cache = ArtifactCache::new(1000, 100, Duration::from_millis(50));
        cache.insert(key(1), artifact(10));
        assert!(cache.get(&key(1)).unwrap().revalidation.is_none(), "just inserted, so just checked");
        std::thread::sleep(Duration::from_millis(60));
        let revalidation = cache.get(&key(1)).unwrap().revalidation.expect("due for a check");
        assert_eq!(revalidation.key(), &key(1));
        revalidation.mark_checked();
        assert!(cache.get(&key(1)).unwrap().revalidation.is_none(), "checked again just now");
    }

    #[test]
    fn only_one_request_at_a_time_holds_the_check_and_a_dropped_one_releases_it() {
        let cache = ArtifactCache::new(1000, 100, Duration::ZERO);
        cache.insert(key(1), artifact(10));
        let first = cache.get(&key(1)).unwrap().revalidation.expect("zero interval: every hit is due");
        let second = cache.get(&key(1)).unwrap();
        assert!(second.revalidation.is_none(), "a check is already in flight");
        assert_eq!(second.artifact.body.len(), 10, "the others are still served from memory");
        drop(first);
        let again = cache.get(&key(1)).unwrap().revalidation.expect("a cancelled check leaves the entry due");
        again.mark_checked();
        assert!(cache.get(&key(1)).unwrap().revalidation.is_some(), "zero interval: due again right away");
    }

    #[test]
    fn evicting_drops_the_entry_but_never_a_newer_insertion() {
        let cache = ArtifactCache::new(1000, 100, Duration::ZERO);
        cache.insert(key(1), artifact(10));
        cache.insert(key(2), artifact(20));
        let revalidation = cache.get(&key(1)).unwrap().revalidation.unwrap();
        revalidation.evict();
        assert!(cache.get(&key(1)).is_none());
        assert_eq!(cache.used_bytes(), 20);

        cache.insert(key(1), artifact(10));
        let stale_claim = cache.get(&key(1)).unwrap().revalidation.unwrap();
        cache.insert(key(1), artifact(10));
        stale_claim.evict();
        assert!(cache.get(&key(1)).is_some(), "the claim was for the previous insertion");
        assert_eq!(cache.used_bytes(), 30);
    }
}
