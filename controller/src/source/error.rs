//! The one error type of fetching a Flux source artifact. Every message names the artifact's URL or the limit,
//! path or digest involved, so a `SourceFetchFailed` condition tells the user what to change.

use std::io;
use std::sync::Arc;

/// Why a source artifact could not be downloaded, verified or extracted. `Clone` so that every caller waiting on
/// one coalesced download receives the same failure.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SourceError {
    /// The artifact's `url` is not an absolute http(s) URL, or `--source-controller-localhost` cannot replace its
    /// host.
    #[error("invalid artifact URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The artifact's `digest` is not `<algorithm>:<hex>` with sha256, sha384 or sha512.
    #[error("invalid artifact digest {0:?}: expected sha256:, sha384: or sha512: followed by lowercase hex")]
    InvalidDigest(String),
    /// The request failed before a response arrived (connection refused, DNS, TLS, timeout).
    #[error("downloading {url} failed: {reason}")]
    Request {
        /// The URL that was requested (after any localhost rewrite).
        url: String,
        /// The transport's explanation.
        reason: String,
    },
    /// The server answered with a status other than 200.
    #[error("downloading {url} failed: HTTP status {status}")]
    HttpStatus {
        /// The URL that was requested.
        url: String,
        /// The status code received.
        status: u16,
    },
    /// The archive is larger than `--source-max-archive-bytes`.
    #[error("archive {url} is larger than --source-max-archive-bytes={limit} ({size} bytes or more)")]
    ArchiveTooLarge {
        /// The URL that was requested.
        url: String,
        /// The size announced or read so far.
        size: u64,
        /// The configured limit.
        limit: u64,
    },
    /// The downloaded bytes do not hash to the artifact's digest.
    #[error("digest mismatch for {url}: expected {expected}, got {actual}")]
    DigestMismatch {
        /// The URL that was requested.
        url: String,
        /// The digest from the source's `status.artifact`.
        expected: String,
        /// The digest of the bytes received.
        actual: String,
    },
    /// The archive does not start with the gzip magic bytes, or its compressed stream is corrupt.
    #[error("archive is not a valid gzip stream: {0}")]
    NotGzip(String),
    /// The archive is not a valid tar stream.
    #[error("archive is not a valid tar stream: {0}")]
    InvalidTar(String),
    /// The archive decompresses to more than `--source-max-extracted-bytes` (a gzip bomb, or just too big).
    #[error("archive decompresses to more than --source-max-extracted-bytes={limit}")]
    ExtractedTooLarge {
        /// The configured limit.
        limit: u64,
    },
    /// One entry is larger than `--source-max-entry-bytes`.
    #[error("archive entry {path:?} is {size} bytes, more than --source-max-entry-bytes={limit}")]
    EntryTooLarge {
        /// The entry's name in the archive.
        path: String,
        /// Its size from the tar header.
        size: u64,
        /// The configured limit.
        limit: u64,
    },
    /// The archive holds more than `--source-max-files` entries.
    #[error("archive holds more than --source-max-files={limit} entries")]
    TooManyFiles {
        /// The configured limit.
        limit: u64,
    },
    /// An entry's name is absolute, has a `..` component, contains `\` or is not UTF-8.
    #[error("archive entry {path:?} has an unsafe path: {reason}")]
    UnsafePath {
        /// The entry's name in the archive (lossily decoded).
        path: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// Reading or writing local files failed (cache directory, temporary files).
    #[error("{context}: {source}")]
    Io {
        /// What was being done, naming the path.
        context: String,
        /// The underlying error.
        #[source]
        source: Arc<io::Error>,
    },
}

impl SourceError {
    /// An [`SourceError::Io`] saying what was being done when `source` happened.
    pub fn io(context: impl Into<String>, source: io::Error) -> Self {
        Self::Io { context: context.into(), source: Arc::new(source) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_limit_and_the_values() {
        let mismatch = SourceError::DigestMismatch {
            url: "http://src/a.tar.gz".into(),
            expected: "sha256:aa".into(),
            actual: "sha256:bb".into(),
        };
        assert_eq!(mismatch.to_string(), "digest mismatch for http://src/a.tar.gz: expected sha256:aa, got sha256:bb");
        let entry = SourceError::EntryTooLarge { path: "big.json".into(), size: 10, limit: 5 };
        assert_eq!(entry.to_string(), "archive entry \"big.json\" is 10 bytes, more than --source-max-entry-bytes=5");
        let io = SourceError::io("creating /cache", io::Error::other("disk full"));
        assert_eq!(io.to_string(), "creating /cache: disk full");
    }
}
