//! The `ArtifactStore` trait: a narrow, object-store shaped interface that both backends implement and the one
//! conformance suite (`tests/conformance/`) checks. Callers never see whether the bytes live on disk or in S3.

use std::ops::Range;
use std::time::SystemTime;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;

use crate::layout::{ArtifactKey, ObjectKind, SnippetRef};

/// What can go wrong talking to storage. `NotFound`, `InvalidRange` and `Unavailable` are distinct so that callers
/// can answer 404, 416 and 503 (or retry) without looking at messages.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The object does not exist.
    #[error("artifact {0} not found")]
    NotFound(String),
    /// The requested byte range cannot be satisfied for an object of `size` bytes.
    #[error("range not satisfiable for an object of {size} bytes")]
    InvalidRange {
        /// The object's size, for a `Content-Range: bytes */size` reply.
        size: u64,
    },
    /// The backend could not be reached or timed out; retrying later may succeed.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// Any other failure (permissions, corrupt data, a bad configuration).
    #[error("storage error: {0}")]
    Other(String),
}

impl StoreError {
    /// True when a retry may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

/// A byte range as an HTTP `Range` header asks for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// `bytes=first-last`, both inclusive; `last` may exceed the size (it is clamped).
    FromTo {
        /// First byte offset.
        first: u64,
        /// Last byte offset, inclusive.
        last: u64,
    },
    /// `bytes=first-`: from `first` to the end.
    From(u64),
    /// `bytes=-n`: the last `n` bytes.
    Suffix(u64),
}

impl ByteRange {
    /// Resolves the range against an object of `size` bytes into a half-open byte range, following RFC 9110:
    /// a range starting at or past the end, an empty suffix, or `first > last` is unsatisfiable.
    pub fn resolve(self, size: u64) -> Result<Range<u64>, StoreError> {
        let unsatisfiable = StoreError::InvalidRange { size };
        match self {
            Self::FromTo { first, last } if first <= last && first < size => Ok(first..last.min(size - 1) + 1),
            Self::From(first) if first < size => Ok(first..size),
            Self::Suffix(n) if n > 0 && size > 0 => Ok(size.saturating_sub(n)..size),
            _ => Err(unsatisfiable),
        }
    }
}

/// What storage knows about one stored artifact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    /// Where it lives.
    pub key: ArtifactKey,
    /// Its size in bytes.
    pub size: u64,
    /// When it was last written. A re-put of the same key refreshes it: this is the time the revision last became
    /// current, which retention uses (see the crate docs).
    pub last_modified: SystemTime,
    /// A strong entity tag: always [`etag_for`] the key, so every backend and every server replica agree.
    pub etag: String,
}

/// A streaming read: the object's metadata, the byte range being returned and the body in bounded chunks.
pub struct GetResult {
    /// The whole object's metadata.
    pub meta: ObjectMeta,
    /// The half-open byte range the body covers (`0..size` without a range).
    pub range: Range<u64>,
    /// The bytes, in chunks of bounded size.
    pub body: BoxStream<'static, Result<Bytes, StoreError>>,
}

impl std::fmt::Debug for GetResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GetResult").field("meta", &self.meta).field("range", &self.range).finish_non_exhaustive()
    }
}

impl GetResult {
    /// Collects the body into memory (tests and small artifacts only).
    pub async fn bytes(self) -> Result<Bytes, StoreError> {
        use futures::TryStreamExt;
        let chunks: Vec<Bytes> = self.body.try_collect().await?;
        Ok(chunks.concat().into())
    }
}

/// What an orphan sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Temporary files removed.
    pub removed: usize,
}

/// Storage for rendered revisions (each a tarball and, beside it, its record), keyed by [`ArtifactKey`]. Every
/// method works the same for both kinds of object.
#[async_trait]
pub trait ArtifactStore: Send + Sync + std::fmt::Debug {
    /// Stores `bytes` under `key` atomically: readers see the whole object or nothing. Putting the same bytes
    /// under the same key again succeeds and refreshes `last_modified`.
    async fn put(&self, key: &ArtifactKey, bytes: Bytes) -> Result<(), StoreError>;

    /// Streams the object, or the given byte range of it.
    async fn get(&self, key: &ArtifactKey, range: Option<ByteRange>) -> Result<GetResult, StoreError>;

    /// The object's metadata without its body.
    async fn head(&self, key: &ArtifactKey) -> Result<ObjectMeta, StoreError>;

    /// Every stored object of one snippet, tarballs and records alike (each key says which), in no particular order.
    async fn list(&self, snippet: &SnippetRef) -> Result<Vec<ObjectMeta>, StoreError>;

    /// Deletes the object; deleting a missing object succeeds.
    async fn delete(&self, key: &ArtifactKey) -> Result<(), StoreError>;

    /// Removes residue of interrupted writes that is older than the configured age. A no-op where the backend
    /// leaves none (S3).
    async fn sweep(&self) -> Result<SweepReport, StoreError>;

    /// Checks that the backend is reachable (for `/readyz` and start-up).
    async fn check(&self) -> Result<(), StoreError>;
}

/// The entity tag every backend reports for a key: the quoted digest hex for a tarball (its bytes never change), and
/// `"<hex>.record"` for a record, which differs from its tarball's and, unlike it, does not promise immutability:
/// a record is rewritten when its revision becomes current again.
pub fn etag_for(key: &ArtifactKey) -> String {
    match key.kind() {
        ObjectKind::Tarball => format!("\"{}\"", key.digest().hex()),
        ObjectKind::Record => format!("\"{}.record\"", key.digest().hex()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn etags_name_the_digest_and_tell_records_apart() {
        let key = ArtifactKey::new("ns", "app", crate::layout::Digest::from_sha256([0xab; 32])).unwrap();
        let hex = "ab".repeat(32);
        assert_eq!(etag_for(&key), format!("\"{hex}\""));
        assert_eq!(etag_for(&key.record_key()), format!("\"{hex}.record\""));
    }

    #[test]
    fn ranges_resolve_like_rfc_9110() {
        let cases: &[(ByteRange, u64, Option<Range<u64>>)] = &[
            (ByteRange::FromTo { first: 0, last: 0 }, 10, Some(0..1)),
            (ByteRange::FromTo { first: 9, last: 9 }, 10, Some(9..10)),
            (ByteRange::FromTo { first: 5, last: 100 }, 10, Some(5..10)),
            (ByteRange::FromTo { first: 10, last: 12 }, 10, None),
            (ByteRange::FromTo { first: 3, last: 2 }, 10, None),
            (ByteRange::From(0), 10, Some(0..10)),
            (ByteRange::From(10), 10, None),
            (ByteRange::Suffix(1), 10, Some(9..10)),
            (ByteRange::Suffix(100), 10, Some(0..10)),
            (ByteRange::Suffix(0), 10, None),
            (ByteRange::Suffix(5), 0, None),
            (ByteRange::From(0), 0, None),
        ];
        for (range, size, expected) in cases {
            let got = range.resolve(*size).ok();
            assert_eq!(&got, expected, "{range:?} of {size}");
        }
    }
}
