//! An in-process [`ArtifactStore`] for the handler tests: objects in a map, a call counter, and switches that make it
//! unreachable, slow or hang, so the handler's error paths can be driven without a real backend.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use jaas_shared::store::etag_for;
use jaas_shared::{ArtifactKey, ArtifactStore, ByteRange, GetResult, ObjectMeta, SnippetRef, StoreError, SweepReport};

/// Bodies are returned in chunks of this many bytes, so streaming is exercised even for tiny test artifacts.
const CHUNK: usize = 3;

/// A map-backed store with failure switches.
#[derive(Debug, Default)]
pub struct FakeStore {
    objects: Mutex<HashMap<ArtifactKey, Bytes>>,
    /// Number of `get`/`head`/`check` calls so far.
    pub calls: AtomicUsize,
    /// When set, every call fails with `Unavailable`.
    pub down: AtomicBool,
    /// When set, every call waits forever.
    pub hang: AtomicBool,
    /// Milliseconds every call takes before it answers (0: at once).
    pub delay_ms: AtomicU64,
}

impl FakeStore {
    /// Stores `body` under `key`.
    pub fn insert(&self, key: &ArtifactKey, body: &[u8]) {
        self.objects.lock().unwrap().insert(key.clone(), Bytes::copy_from_slice(body));
    }

    /// Removes the object under `key`, as the controller's garbage collection would.
    pub fn remove(&self, key: &ArtifactKey) {
        self.objects.lock().unwrap().remove(key);
    }

    /// Calls made so far.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    async fn enter(&self) -> Result<(), StoreError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if self.hang.load(Ordering::SeqCst) {
            futures::future::pending::<()>().await;
        }
        let delay = self.delay_ms.load(Ordering::SeqCst);
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        if self.down.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable("fake store is down".into()));
        }
        Ok(())
    }

    fn lookup(&self, key: &ArtifactKey) -> Result<(Bytes, ObjectMeta), StoreError> {
        let body =
            self.objects.lock().unwrap().get(key).cloned().ok_or_else(|| StoreError::NotFound(key.to_string()))?;
        let meta = ObjectMeta {
            key: key.clone(),
            size: body.len() as u64,
            last_modified: SystemTime::UNIX_EPOCH,
            etag: etag_for(key),
        };
        Ok((body, meta))
    }
}

#[async_trait]
impl ArtifactStore for FakeStore {
    async fn put(&self, key: &ArtifactKey, bytes: Bytes) -> Result<(), StoreError> {
        self.insert(key, &bytes);
        Ok(())
    }

    async fn get(&self, key: &ArtifactKey, range: Option<ByteRange>) -> Result<GetResult, StoreError> {
        self.enter().await?;
        let (body, meta) = self.lookup(key)?;
        let range = match range {
            Some(range) => range.resolve(meta.size)?,
            None => 0..meta.size,
        };
        let part = body.slice(usize::try_from(range.start).unwrap()..usize::try_from(range.end).unwrap());
        let chunks: Vec<Result<Bytes, StoreError>> =
            part.chunks(CHUNK).map(|chunk| Ok(Bytes::copy_from_slice(chunk))).collect();
        Ok(GetResult { meta, range, body: futures::stream::iter(chunks).boxed() })
    }

    async fn head(&self, key: &ArtifactKey) -> Result<ObjectMeta, StoreError> {
        self.enter().await?;
        Ok(self.lookup(key)?.1)
    }

    async fn list(&self, _snippet: &SnippetRef) -> Result<Vec<ObjectMeta>, StoreError> {
        Err(StoreError::Other("the fake store does not list: the artifact server never lists".into()))
    }

    async fn delete(&self, _key: &ArtifactKey) -> Result<(), StoreError> {
        Err(StoreError::Other("the fake store does not delete: the artifact server never deletes".into()))
    }

    async fn sweep(&self) -> Result<SweepReport, StoreError> {
        Err(StoreError::Other("the fake store does not sweep: the artifact server never sweeps".into()))
    }

    async fn check(&self) -> Result<(), StoreError> {
        self.enter().await
    }
}
