//! The cache of rendered responses: keyed by a hash of everything that determines the bytes (the snippet's name and
//! arguments as requested, the output format, the generation of the files on disk, the evaluator's version), bounded
//! in entries and bytes, least recently used first out. Each entry carries its `ETag`.

use std::num::NonZeroUsize;
use std::sync::{Mutex, PoisonError};

use bytes::Bytes;
use lru::LruCache;
use sha2::{Digest as _, Sha256};

/// One rendered response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The body.
    pub body: Bytes,
    /// Its media type.
    pub content_type: &'static str,
    /// Its entity tag, quoted: `"<hex>"`.
    pub etag: String,
}

impl Rendered {
    /// A response of `body`, tagged by its sha256.
    pub fn new(body: Bytes, content_type: &'static str) -> Self {
        let digest = Sha256::digest(&body);
        Self { etag: format!("\"{}\"", hex::encode(&digest[..16])), body, content_type }
    }

    /// Whether an `If-None-Match` header value names this response (or is `*`).
    pub fn matches(&self, if_none_match: &str) -> bool {
        if_none_match.split(',').map(str::trim).any(|tag| tag == "*" || tag.trim_start_matches("W/") == self.etag)
    }
}

/// The key of a response: a sha256 over its inputs, each length-prefixed so that no two lists collide.
pub fn cache_key(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// A bounded LRU of rendered responses. Shared by every request handler.
pub struct ResponseCache {
    state: Mutex<CacheState>,
    max_bytes: usize,
}

struct CacheState {
    entries: LruCache<[u8; 32], Rendered>,
    bytes: usize,
}

impl ResponseCache {
    /// A cache of at most `max_entries` responses and `max_bytes` of bodies; `max_entries == 0` caches nothing.
    pub fn new(max_entries: usize, max_bytes: usize) -> Self {
        let capacity = NonZeroUsize::new(max_entries.max(1)).unwrap_or(NonZeroUsize::MIN);
        let max_bytes = if max_entries == 0 { 0 } else { max_bytes };
        Self { state: Mutex::new(CacheState { entries: LruCache::new(capacity), bytes: 0 }), max_bytes }
    }

    /// The cached response for `key`, marked as recently used.
    pub fn get(&self, key: &[u8; 32]) -> Option<Rendered> {
        self.lock().entries.get(key).cloned()
    }

    /// Caches `rendered` under `key` unless it alone exceeds the byte bound; evicts the least recently used.
    pub fn insert(&self, key: [u8; 32], rendered: Rendered) {
        if rendered.body.len() > self.max_bytes {
            return;
        }
        let mut state = self.lock();
        state.bytes += rendered.body.len();
        if let Some((_, replaced)) = state.entries.push(key, rendered) {
            state.bytes -= replaced.body.len();
        }
        while state.bytes > self.max_bytes {
            let Some((_, evicted)) = state.entries.pop_lru() else { break };
            state.bytes -= evicted.body.len();
        }
    }

    /// Bodies held, in bytes.
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CacheState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn rendered(body: &str) -> Rendered {
        Rendered::new(Bytes::from(body.to_owned()), "application/json")
    }

    #[test]
    fn keys_separate_their_parts() {
        assert_ne!(cache_key(&[b"ab", b"c"]), cache_key(&[b"a", b"bc"]));
        assert_eq!(cache_key(&[b"a", b"b"]), cache_key(&[b"a", b"b"]));
    }

    #[test]
    fn the_cache_is_bounded_in_entries_and_bytes_and_evicts_the_least_recently_used() {
        let cache = ResponseCache::new(2, 10);
        cache.insert([1; 32], rendered("aaaa"));
        cache.insert([2; 32], rendered("bbbb"));
        assert!(cache.get(&[1; 32]).is_some());
        cache.insert([3; 32], rendered("cccc"));
        assert!(cache.get(&[2; 32]).is_none(), "2 was least recently used");
        assert_eq!(cache.bytes(), 8);
        cache.insert([4; 32], rendered("dddddddd"));
        assert_eq!(cache.bytes(), 8, "bytes bound: only 4 fits with it");
        assert!(cache.get(&[4; 32]).is_some());
        cache.insert([5; 32], rendered("too large for the cache"));
        assert!(cache.get(&[5; 32]).is_none());
        let off = ResponseCache::new(0, 10);
        off.insert([1; 32], rendered("a"));
        assert!(off.get(&[1; 32]).is_none());
    }

    #[test]
    fn etags_match_if_none_match_lists() {
        let response = rendered("{}");
        assert!(response.matches(&response.etag));
        assert!(response.matches(&format!("\"x\", W/{}", response.etag)));
        assert!(response.matches("*"));
        assert!(!response.matches("\"other\""));
    }
}
