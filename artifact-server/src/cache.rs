//! A bounded in-memory cache of small artifacts, evicting the least recently used first.
//!
//! Artifacts are content-addressed and immutable, so an entry never needs invalidation: the bytes under a key can
//! only ever be the bytes whose sha256 is in the key. (A re-put refreshes only the object's modification time; a
//! cached entry keeps the time it was read with, which is harmless for `Last-Modified`.) Hits never touch the
//! backend, which is what keeps known revisions served while storage is down.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, PoisonError};
use std::time::SystemTime;

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
    inner: Mutex<Inner>,
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
}

impl ArtifactCache {
    /// A cache holding at most `max_bytes` of bodies, none larger than `max_object_bytes`. A budget of 0 disables
    /// caching.
    pub fn new(max_bytes: u64, max_object_bytes: u64) -> Self {
        Self { max_bytes, max_object_bytes: max_object_bytes.min(max_bytes), inner: Mutex::default() }
    }

    /// True when an artifact of `size` bytes would be kept by [`insert`](Self::insert).
    pub fn admits(&self, size: u64) -> bool {
        size <= self.max_object_bytes && self.max_bytes > 0
    }

    /// The artifact under `key`, marking it most recently used.
    pub fn get(&self, key: &ArtifactKey) -> Option<CachedArtifact> {
        let mut inner = self.lock();
        let stamp = inner.take_stamp();
        let entry = inner.entries.get_mut(key)?;
        let previous = std::mem::replace(&mut entry.stamp, stamp);
        let artifact = entry.artifact.clone();
        inner.by_use.remove(&previous);
        inner.by_use.insert(stamp, key.clone());
        Some(artifact)
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
        inner.entries.insert(key, Entry { artifact, stamp });
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use jaas_shared::Digest;

    fn key(n: u8) -> ArtifactKey {
        ArtifactKey::new("ns", "name", Digest::of(&[n])).unwrap()
    }

    fn artifact(size: usize) -> CachedArtifact {
        CachedArtifact { body: Bytes::from(vec![7; size]), last_modified: SystemTime::UNIX_EPOCH }
    }

    #[test]
    fn evicts_the_least_recently_used_first() {
        let cache = ArtifactCache::new(300, 100);
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
        let cache = ArtifactCache::new(100, 100);
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
        let cache = ArtifactCache::new(1000, 100);
        cache.insert(key(1), artifact(101));
        assert!(cache.get(&key(1)).is_none());
        assert!(!cache.admits(101) && cache.admits(100));
        let disabled = ArtifactCache::new(0, 100);
        disabled.insert(key(1), artifact(0));
        assert!(disabled.get(&key(1)).is_none());
        assert_eq!(disabled.used_bytes(), 0);
    }

    #[test]
    fn reinserting_a_key_does_not_double_count() {
        let cache = ArtifactCache::new(1000, 100);
        cache.insert(key(1), artifact(50));
        cache.insert(key(1), artifact(50));
        assert_eq!(cache.used_bytes(), 50);
        cache.insert(key(2), artifact(50));
        assert_eq!(cache.used_bytes(), 100);
    }

    #[test]
    fn the_budget_is_never_exceeded() {
        let cache = ArtifactCache::new(1000, 300);
        for n in 0..=255u8 {
            cache.insert(key(n), artifact(usize::from(n) % 7 * 43));
            assert!(cache.used_bytes() <= 1000);
        }
    }
}
