//! The server's view of storage: every call to the [`ArtifactStore`] goes through here, under an overall timeout
//! and timed into `jaas_server_backend_duration_seconds`, so that a slow or unreachable backend turns into a
//! retryable error instead of a hanging request.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures::stream::{self, BoxStream, StreamExt};
use jaas_shared::{ArtifactKey, ArtifactStore, ByteRange, GetResult, ObjectMeta, StoreError};
use prometheus::IntCounter;

use crate::metrics::ServerMetrics;

/// A body stream as the backend returns it.
pub type BodyStream = BoxStream<'static, Result<Bytes, StoreError>>;

/// Storage behind timeouts and metrics.
#[derive(Debug, Clone)]
pub struct Backend {
    store: Arc<dyn ArtifactStore>,
    timeout: Duration,
    metrics: ServerMetrics,
}

impl Backend {
    /// Wraps `store`; every call (and every wait for the next body chunk) gives up after `timeout`.
    pub fn new(store: Arc<dyn ArtifactStore>, timeout: Duration, metrics: ServerMetrics) -> Self {
        Self { store, timeout, metrics }
    }

    /// Starts reading the artifact (or a range of it); the returned body still has to be read.
    pub async fn get(&self, key: &ArtifactKey, range: Option<ByteRange>) -> Result<GetResult, StoreError> {
        self.timed("get", self.store.get(key, range)).await
    }

    /// The artifact's metadata.
    pub async fn head(&self, key: &ArtifactKey) -> Result<ObjectMeta, StoreError> {
        self.timed("head", self.store.head(key)).await
    }

    /// Whether the backend is reachable.
    pub async fn check(&self) -> Result<(), StoreError> {
        self.timed("check", self.store.check()).await
    }

    /// Reads a whole body of `size` bytes into memory, within one timeout. Only for bodies the cache admits, so the
    /// allocation is bounded by `--cache-max-object-bytes`.
    pub async fn read_all(&self, mut body: BodyStream, size: u64) -> Result<Bytes, StoreError> {
        let capacity = usize::try_from(size).map_err(|_| StoreError::Other(format!("{size} bytes is too large")))?;
        let read = async move {
            let mut buffer = BytesMut::with_capacity(capacity);
            while let Some(chunk) = body.next().await {
                buffer.extend_from_slice(&chunk?);
                if buffer.len() > capacity {
                    return Err(StoreError::Other(format!("body is longer than its announced {size} bytes")));
                }
            }
            if buffer.len() == capacity {
                Ok(buffer.freeze())
            } else {
                Err(StoreError::Other(format!("body has {} bytes, {size} announced", buffer.len())))
            }
        };
        tokio::time::timeout(self.timeout, read).await.unwrap_or_else(|_| Err(self.timed_out("reading a body")))
    }

    /// Passes a body through to the client chunk by chunk, counting bytes into
    /// `jaas_server_response_bytes_total`. If the backend stalls for longer than the timeout between two chunks
    /// the stream ends with an error, which makes the HTTP layer drop the connection rather than hang.
    pub fn relay(&self, body: BodyStream) -> BodyStream {
        struct State {
            body: BodyStream,
            idle: Duration,
            sent: IntCounter,
        }
        let state = State { body, idle: self.timeout, sent: self.metrics.response_bytes.clone() };
        stream::unfold(Some(state), |state| async move {
            let mut state = state?;
            match tokio::time::timeout(state.idle, state.body.next()).await {
                Ok(Some(Ok(chunk))) => {
                    state.sent.inc_by(chunk.len() as u64);
                    Some((Ok(chunk), Some(state)))
                }
                Ok(Some(Err(err))) => Some((Err(err), None)),
                Ok(None) => None,
                Err(_) => {
                    let err = StoreError::Unavailable(format!("no body data from storage for {:?}", state.idle));
                    Some((Err(err), None))
                }
            }
        })
        .boxed()
    }

    async fn timed<T>(
        &self,
        operation: &'static str,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        let started = Instant::now();
        let result = tokio::time::timeout(self.timeout, call).await.unwrap_or_else(|_| Err(self.timed_out(operation)));
        self.metrics.backend_duration.with_label_values(&[operation]).observe(started.elapsed().as_secs_f64());
        result
    }

    fn timed_out(&self, what: &str) -> StoreError {
        StoreError::Unavailable(format!("storage {what} took longer than {:?} (--backend-timeout)", self.timeout))
    }
}
