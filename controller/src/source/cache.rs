//! Extracted source trees on disk, one per digest, shared by every render that needs them. Concurrent requests
//! for one digest share one download; a [`SourceTree`] guard keeps its tree on disk while a render reads it; once
//! no guard holds a tree and the cache is over `--source-cache-max-bytes`, the least recently used trees go.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use futures::FutureExt as _;
use futures::future::{BoxFuture, Shared};

use super::digest::ArtifactDigest;
use super::error::SourceError;
use super::fetch::{Fetcher, SourceArtifact};

/// A download in progress; every caller waiting for the digest awaits the same one.
type PendingFetch = Shared<BoxFuture<'static, Result<(), SourceError>>>;

/// The shared cache of extracted source trees. Cloning is cheap; clones share the trees.
#[derive(Clone)]
pub struct SourceCache {
    inner: Arc<CacheInner>,
}

struct CacheInner {
    trees_dir: PathBuf,
    downloads_dir: PathBuf,
    max_bytes: u64,
    fetcher: Fetcher,
    state: Mutex<CacheState>,
}

#[derive(Default)]
struct CacheState {
    entries: HashMap<ArtifactDigest, CacheEntry>,
    /// Counts requests; an entry's `last_used` is the count at its last request (LRU order).
    clock: u64,
    /// Tells an entry apart from a later one for the same digest, so a stale guard releases nothing.
    next_id: u64,
}

struct CacheEntry {
    id: u64,
    holders: usize,
    last_used: u64,
    /// `None` while downloading, then the tree's size in bytes.
    ready_bytes: Option<u64>,
    pending: Option<PendingFetch>,
}

/// An extracted tree, kept on disk for as long as this guard lives. Hold it for the whole render.
pub struct SourceTree {
    cache: Arc<CacheInner>,
    digest: ArtifactDigest,
    id: u64,
    path: PathBuf,
}

impl SourceTree {
    /// The root of the extracted tree; read-only by convention, shared with other renders.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The digest the tree was verified against.
    pub fn digest(&self) -> &ArtifactDigest {
        &self.digest
    }
}

impl Drop for SourceTree {
    fn drop(&mut self) {
        self.cache.release(&self.digest, self.id);
    }
}

impl SourceCache {
    /// A cache under `dir` holding up to `max_bytes` of unheld trees. Empties `dir/trees` and `dir/downloads`,
    /// which only this cache writes, so a restart starts clean.
    pub async fn open(dir: &Path, max_bytes: u64, fetcher: Fetcher) -> Result<Self, SourceError> {
        let trees_dir = dir.join("trees");
        let downloads_dir = dir.join("downloads");
        for owned in [&trees_dir, &downloads_dir] {
            if tokio::fs::try_exists(owned).await.unwrap_or(false) {
                tokio::fs::remove_dir_all(owned)
                    .await
                    .map_err(|e| SourceError::io(format!("emptying the source cache {}", owned.display()), e))?;
            }
            tokio::fs::create_dir_all(owned)
                .await
                .map_err(|e| SourceError::io(format!("creating the source cache {}", owned.display()), e))?;
        }
        let state = Mutex::new(CacheState::default());
        Ok(Self { inner: Arc::new(CacheInner { trees_dir, downloads_dir, max_bytes, fetcher, state }) })
    }

    /// The extracted tree of `artifact`, downloaded unless already cached or being downloaded for another caller.
    /// A failed download is not cached: the next request tries again.
    pub async fn get(&self, artifact: &SourceArtifact) -> Result<SourceTree, SourceError> {
        let digest = ArtifactDigest::parse(&artifact.digest)?;
        let (id, pending) = {
            let mut state = self.inner.lock();
            state.clock += 1;
            let now = state.clock;
            if let Some(entry) = state.entries.get_mut(&digest) {
                entry.holders += 1;
                entry.last_used = now;
                (entry.id, entry.pending.clone())
            } else {
                state.next_id += 1;
                let id = state.next_id;
                let pending = self.start_fetch(artifact.clone(), digest.clone(), id);
                let entry =
                    CacheEntry { id, holders: 1, last_used: now, ready_bytes: None, pending: Some(pending.clone()) };
                state.entries.insert(digest.clone(), entry);
                (id, Some(pending))
            }
        };
        // The guard exists before the wait, so a cancelled or failed caller still releases its hold.
        let path = self.inner.tree_path(&digest);
        let tree = SourceTree { cache: self.inner.clone(), digest, id, path };
        if let Some(pending) = pending {
            pending.await?;
        }
        Ok(tree)
    }

    /// Bytes of the trees on disk (held or not).
    pub fn cached_bytes(&self) -> u64 {
        self.inner.lock().entries.values().filter_map(|entry| entry.ready_bytes).sum()
    }

    /// Spawns the download, so that it finishes even when every caller waiting for it gives up.
    fn start_fetch(&self, artifact: SourceArtifact, digest: ArtifactDigest, id: u64) -> PendingFetch {
        let inner = self.inner.clone();
        let task = tokio::spawn(async move {
            let target = inner.tree_path(&digest);
            let result = inner.fetcher.fetch_tree(&artifact, &inner.downloads_dir, &target).await;
            let mut state = inner.lock();
            let current = state.entries.get(&digest).is_some_and(|entry| entry.id == id);
            match &result {
                Ok(tree) if current => {
                    if let Some(entry) = state.entries.get_mut(&digest) {
                        entry.ready_bytes = Some(tree.bytes);
                        entry.pending = None;
                    }
                    inner.evict_over_bound(&mut state);
                }
                Err(error) if current => {
                    tracing::warn!(url = %artifact.url, %error, "fetching a source artifact failed");
                    state.entries.remove(&digest);
                }
                _ => {}
            }
            result.map(|_| ())
        });
        async move {
            task.await.unwrap_or_else(|join_error| {
                Err(SourceError::io("fetching a source artifact", std::io::Error::other(join_error.to_string())))
            })
        }
        .boxed()
        .shared()
    }
}

impl CacheInner {
    fn lock(&self) -> MutexGuard<'_, CacheState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn tree_path(&self, digest: &ArtifactDigest) -> PathBuf {
        self.trees_dir.join(digest.file_name())
    }

    /// Drops one hold on the entry `id` of `digest` (nothing if that entry is gone), then evicts if over the bound.
    fn release(&self, digest: &ArtifactDigest, id: u64) {
        let mut state = self.lock();
        if let Some(entry) = state.entries.get_mut(digest).filter(|entry| entry.id == id) {
            entry.holders -= 1;
            if entry.holders == 0 {
                self.evict_over_bound(&mut state);
            }
        }
    }

    /// Removes unheld trees, least recently used first, until the cache fits its bound or only held trees remain.
    /// Each tree is renamed away at once (so a new download of the digest never meets it) and deleted in the
    /// background.
    fn evict_over_bound(&self, state: &mut CacheState) {
        let mut total: u64 = state.entries.values().filter_map(|entry| entry.ready_bytes).sum();
        while total > self.max_bytes {
            let victim = state
                .entries
                .iter()
                .filter(|(_, entry)| entry.holders == 0 && entry.ready_bytes.is_some())
                .min_by_key(|(_, entry)| entry.last_used)
                .map(|(digest, _)| digest.clone());
            let Some(digest) = victim else { return };
            let Some(entry) = state.entries.remove(&digest) else { return };
            total -= entry.ready_bytes.unwrap_or(0);
            let tree = self.tree_path(&digest);
            let doomed = self.downloads_dir.join(format!(".evicted-{}", entry.id));
            match std::fs::rename(&tree, &doomed) {
                Ok(()) => delete_in_background(doomed),
                Err(error) => tracing::warn!(tree = %tree.display(), %error, "cannot evict a source tree"),
            }
            tracing::debug!(%digest, "evicted a source tree");
        }
    }
}

/// Deletes `dir` on a blocking thread when a runtime is running, else right away.
fn delete_in_background(dir: PathBuf) {
    let delete = move || {
        if let Err(error) = std::fs::remove_dir_all(&dir) {
            tracing::warn!(dir = %dir.display(), %error, "cannot delete an evicted source tree");
        }
    };
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => {
            runtime.spawn_blocking(delete);
        }
        Err(_) => delete(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Duration;

    use super::super::testing::{LIMITS, TestEntry, TestServer, sha256_digest, tar_gz};
    use super::*;

    async fn cache(max_bytes: u64) -> (tempfile::TempDir, SourceCache) {
        let dir = tempfile::tempdir().unwrap();
        let fetcher = Fetcher::new(LIMITS, Duration::from_secs(5), None).unwrap();
        let cache = SourceCache::open(&dir.path().join("cache"), max_bytes, fetcher).await.unwrap();
        (dir, cache)
    }

    /// Serves a tarball of one 100-byte file named `name` at `/<name>.tar.gz` and describes it.
    fn publish(server: &TestServer, name: &'static str) -> SourceArtifact {
        let tarball = tar_gz(&[TestEntry::File(name, vec![b'x'; 100])]);
        let path = format!("/{name}.tar.gz");
        let artifact = SourceArtifact {
            url: server.url(&path),
            digest: sha256_digest(&tarball),
            revision: format!("main@sha1:{name}"),
            size: Some(tarball.len() as u64),
        };
        server.serve(&path, tarball);
        artifact
    }

    #[tokio::test]
    async fn concurrent_requests_for_one_digest_share_one_download() {
        let server = TestServer::start(Duration::from_millis(300)).await;
        let artifact = publish(&server, "main.jsonnet");
        let (_dir, cache) = cache(1 << 20).await;
        let trees = futures::future::join_all((0..8).map(|_| cache.get(&artifact))).await;
        let trees: Vec<SourceTree> = trees.into_iter().map(Result::unwrap).collect();
        assert_eq!(server.requests(), 1);
        assert!(trees.iter().all(|tree| tree.path() == trees[0].path()));
        assert_eq!(std::fs::read(trees[0].path().join("main.jsonnet")).unwrap().len(), 100);
        assert_eq!(trees[0].digest().to_string(), artifact.digest);
        drop(trees);

        let again = cache.get(&artifact).await.unwrap();
        assert_eq!(server.requests(), 1, "an unheld tree within the bound stays cached");
        assert!(again.path().join("main.jsonnet").exists());
        assert_eq!(cache.cached_bytes(), 100);
    }

    #[tokio::test]
    async fn a_failed_download_is_reported_to_every_waiter_and_not_cached() {
        let server = TestServer::start(Duration::from_millis(100)).await;
        let mut artifact = publish(&server, "main.jsonnet");
        artifact.digest = sha256_digest(b"a different tarball");
        let (_dir, cache) = cache(1 << 20).await;
        let results = futures::future::join_all((0..3).map(|_| cache.get(&artifact))).await;
        assert!(results.iter().all(|result| matches!(result, Err(SourceError::DigestMismatch { .. }))));
        assert_eq!(server.requests(), 1);
        assert!(cache.get(&artifact).await.is_err());
        assert_eq!(server.requests(), 2, "a failure is retried on the next request");
        assert_eq!(cache.cached_bytes(), 0);
    }

    #[tokio::test]
    async fn unheld_trees_are_evicted_over_the_bound_least_recently_used_first() {
        let server = TestServer::start(Duration::ZERO).await;
        let (a, b, c) = (publish(&server, "a"), publish(&server, "b"), publish(&server, "c"));
        let (dir, cache) = cache(250).await;

        let (tree_a, tree_b, tree_c) =
            (cache.get(&a).await.unwrap(), cache.get(&b).await.unwrap(), cache.get(&c).await.unwrap());
        let (path_a, path_b, path_c) = (tree_a.path().to_owned(), tree_b.path().to_owned(), tree_c.path().to_owned());
        assert_eq!(cache.cached_bytes(), 300, "held trees stay even over the bound");
        drop(tree_c);
        assert!(!path_c.exists(), "the only unheld tree goes once the cache is over its bound");
        drop(tree_a);
        assert!(path_a.exists(), "within the bound an unheld tree stays");

        let tree_c = cache.get(&c).await.unwrap();
        assert_eq!(server.requests(), 4, "an evicted tree is downloaded again");
        assert!(!path_a.exists() && path_b.exists() && path_c.exists());
        drop((tree_b, tree_c));
        assert_eq!(cache.cached_bytes(), 200);

        // b was requested before c: it is the least recently used.
        drop(cache.get(&a).await.unwrap());
        assert!(!path_b.exists() && path_c.exists() && path_a.exists());

        let downloads = dir.path().join("cache/downloads");
        for _ in 0..50 {
            if std::fs::read_dir(&downloads).unwrap().next().is_none() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("evicted trees were not deleted from {}", downloads.display());
    }
}
