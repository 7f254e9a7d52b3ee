//! The S3 backend on aws-sdk-s3 (rustls with ring, no aws-lc): objects at
//! `<prefix>/<namespace>/<name>/sha256-<hex>.tar.gz` (tarballs) and `….record.zst` (their records) in one bucket.
//! Every call is bounded by timeouts and a few retries, so a down server gives [`StoreError::Unavailable`] within
//! seconds, never a hang.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::{Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::{ByteStream, DateTime};
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use bytes::Bytes;

use crate::layout::{ArtifactKey, SnippetRef, join_prefix};
use crate::store::{ArtifactStore, ByteRange, GetResult, ObjectMeta, StoreError, SweepReport, etag_for};

mod settings;
pub use settings::{ChecksumMode, S3Credentials, S3Settings};

/// Time allowed to open a TCP (and TLS) connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Time allowed for one attempt of a call, up to the response headers.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed for a whole call, retries included.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(30);
/// Attempts per call (the first one included), with exponential backoff between them.
const MAX_ATTEMPTS: u32 = 3;

/// Artifacts stored as S3 objects. Writes are atomic on the server side; there is no residue to sweep.
#[derive(Debug, Clone)]
pub struct S3Store {
    client: Client,
    bucket: String,
    prefix: String,
    endpoint_url: String,
}

impl S3Store {
    /// Builds the client; talks to nobody yet (see [`ArtifactStore::check`]).
    pub async fn new(settings: S3Settings) -> Self {
        let http_client =
            aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https();
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .operation_attempt_timeout(ATTEMPT_TIMEOUT)
            .operation_timeout(OPERATION_TIMEOUT)
            .build();
        let retries = RetryConfig::standard()
            .with_max_attempts(MAX_ATTEMPTS)
            .with_initial_backoff(Duration::from_millis(200))
            .with_max_backoff(Duration::from_secs(2));
        // An explicit region keeps the loader from asking instance metadata for one.
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http_client)
            .region(Region::new(settings.region.clone()))
            .timeout_config(timeouts)
            .retry_config(retries);
        loader = match settings.credentials {
            S3Credentials::Static { access_key, secret_key, session_token } => {
                loader.credentials_provider(Credentials::new(access_key, secret_key, session_token, None, "jaas-flags"))
            }
            S3Credentials::Anonymous => loader.no_credentials(),
            S3Credentials::DefaultChain => loader,
        };
        let shared = loader.load().await;
        let (request_checksums, response_checksums) = match settings.checksum {
            ChecksumMode::WhenRequired => {
                (RequestChecksumCalculation::WhenRequired, ResponseChecksumValidation::WhenRequired)
            }
            ChecksumMode::WhenSupported => {
                (RequestChecksumCalculation::WhenSupported, ResponseChecksumValidation::WhenSupported)
            }
        };
        let config = aws_sdk_s3::config::Builder::from(&shared)
            .endpoint_url(&settings.endpoint_url)
            .force_path_style(settings.force_path_style)
            .request_checksum_calculation(request_checksums)
            .response_checksum_validation(response_checksums)
            .build();
        Self {
            client: Client::from_conf(config),
            bucket: settings.bucket,
            prefix: settings.prefix,
            endpoint_url: settings.endpoint_url,
        }
    }

    fn object_key(&self, key: &ArtifactKey) -> String {
        key.object_key(&self.prefix)
    }

    /// Maps an SDK failure: 404 is `NotFound`, no answer (refused, timed out, cut off) or 5xx/429 is `Unavailable`.
    fn error<E>(
        &self,
        action: &str,
        what: &str,
        err: &SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
    ) -> StoreError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let status = err.raw_response().map(|r| r.status().as_u16());
        let message = format!("{action} {what} at {}/{}: {}", self.endpoint_url, self.bucket, DisplayErrorContext(err));
        match (err, status) {
            (_, Some(404)) => StoreError::NotFound(what.to_owned()),
            (SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_), _) => {
                StoreError::Unavailable(message)
            }
            (_, Some(code)) if code >= 500 || code == 429 => StoreError::Unavailable(message),
            _ => StoreError::Other(message),
        }
    }
}

/// S3 times in whole seconds: HEAD and GET carry `Last-Modified` in seconds while LIST has milliseconds, and every
/// call must report the same time for the same object.
fn system_time(time: Option<&DateTime>) -> SystemTime {
    let secs = time.and_then(|t| u64::try_from(t.secs()).ok()).unwrap_or(0);
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

fn size_of(length: Option<i64>) -> u64 {
    length.and_then(|n| u64::try_from(n).ok()).unwrap_or(0)
}

/// Parses `bytes <first>-<last>/<size>` into the half-open range and the object's size.
fn parse_content_range(header: &str) -> Option<(std::ops::Range<u64>, u64)> {
    let (span, size) = header.strip_prefix("bytes ")?.split_once('/')?;
    let (first, last) = span.split_once('-')?;
    let (first, last, size): (u64, u64, u64) = (first.parse().ok()?, last.parse().ok()?, size.parse().ok()?);
    (first <= last && last < size).then_some((first..last + 1, size))
}

fn range_header(range: ByteRange) -> String {
    match range {
        ByteRange::FromTo { first, last } => format!("bytes={first}-{last}"),
        ByteRange::From(first) => format!("bytes={first}-"),
        ByteRange::Suffix(n) => format!("bytes=-{n}"),
    }
}

#[async_trait]
impl ArtifactStore for S3Store {
    async fn put(&self, key: &ArtifactKey, bytes: Bytes) -> Result<(), StoreError> {
        // An in-memory body: radosgw rejects streamed `aws-chunked` bodies with trailing checksums.
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(self.object_key(key))
            .content_type(key.kind().content_type())
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map(drop)
            .map_err(|e| self.error("writing", &key.to_string(), &e))
    }

    async fn get(&self, key: &ArtifactKey, range: Option<ByteRange>) -> Result<GetResult, StoreError> {
        // Forms RFC 9110 calls unsatisfiable but S3 would answer with the whole object.
        if let Some(range @ (ByteRange::FromTo { .. } | ByteRange::Suffix(0))) = range
            && range.resolve(u64::MAX).is_err()
        {
            return Err(StoreError::InvalidRange { size: self.head(key).await?.size });
        }
        let response = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.object_key(key))
            .set_range(range.map(range_header))
            .send()
            .await
        {
            Ok(response) => response,
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 416) => {
                return Err(StoreError::InvalidRange { size: self.head(key).await?.size });
            }
            Err(e) => return Err(self.error("reading", &key.to_string(), &e)),
        };
        let length = size_of(response.content_length());
        let (span, size) = match response.content_range().and_then(parse_content_range) {
            Some(parsed) => parsed,
            // No Content-Range: the whole object, which is only right if that is what was asked for.
            None => match range.map(|r| r.resolve(length)).transpose()? {
                Some(span) if span != (0..length) => {
                    return Err(StoreError::Other(format!("{} ignored the Range header of a GET", self.endpoint_url)));
                }
                _ => (0..length, length),
            },
        };
        let meta = ObjectMeta {
            key: key.clone(),
            size,
            last_modified: system_time(response.last_modified()),
            etag: etag_for(key),
        };
        let what = key.to_string();
        let body = futures::stream::unfold(response.body, move |mut body| {
            let what = what.clone();
            async move {
                let next = body.next().await?;
                Some((next.map_err(|e| StoreError::Unavailable(format!("reading {what}: {e}"))), body))
            }
        });
        Ok(GetResult { meta, range: span, body: Box::pin(body) })
    }

    async fn head(&self, key: &ArtifactKey) -> Result<ObjectMeta, StoreError> {
        let response = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(self.object_key(key))
            .send()
            .await
            .map_err(|e| self.error("reading", &key.to_string(), &e))?;
        Ok(ObjectMeta {
            key: key.clone(),
            size: size_of(response.content_length()),
            last_modified: system_time(response.last_modified()),
            etag: etag_for(key),
        })
    }

    async fn list(&self, snippet: &SnippetRef) -> Result<Vec<ObjectMeta>, StoreError> {
        let root = join_prefix(&self.prefix, "");
        let dir = format!("{}/", join_prefix(&self.prefix, &snippet.relative_dir()));
        let mut found = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(&dir)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| self.error("listing", &dir, &e))?;
            for object in page.contents() {
                // Anything that is not exactly a tarball or record of this snippet fails the strict parser and is
                // skipped.
                let Some(relative) = object.key().and_then(|k| k.strip_prefix(&root)) else { continue };
                let Ok(key) = ArtifactKey::parse_relative_path(relative) else { continue };
                if key.snippet() != snippet {
                    continue;
                }
                let (size, last_modified) = (size_of(object.size()), system_time(object.last_modified()));
                found.push(ObjectMeta { etag: etag_for(&key), key, size, last_modified });
            }
            match page.next_continuation_token() {
                Some(next) if page.is_truncated() == Some(true) => token = Some(next.to_owned()),
                _ => return Ok(found),
            }
        }
    }

    async fn delete(&self, key: &ArtifactKey) -> Result<(), StoreError> {
        match self.client.delete_object().bucket(&self.bucket).key(self.object_key(key)).send().await {
            Ok(_) => Ok(()),
            Err(e) => match self.error("deleting", &key.to_string(), &e) {
                StoreError::NotFound(_) => Ok(()),
                other => Err(other),
            },
        }
    }

    async fn sweep(&self) -> Result<SweepReport, StoreError> {
        Ok(SweepReport::default())
    }

    async fn check(&self) -> Result<(), StoreError> {
        match self.client.head_bucket().bucket(&self.bucket).send().await {
            Ok(_) => Ok(()),
            Err(e) => Err(match self.error("checking bucket", &self.bucket, &e) {
                StoreError::NotFound(_) => {
                    StoreError::Other(format!("bucket {} does not exist at {}", self.bucket, self.endpoint_url))
                }
                StoreError::Other(_) if e.raw_response().is_some_and(|r| r.status().as_u16() == 403) => {
                    StoreError::Other(format!(
                        "access to bucket {} at {} denied: check the S3 credentials",
                        self.bucket, self.endpoint_url
                    ))
                }
                other => other,
            }),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn content_ranges_parse_strictly() {
        assert_eq!(parse_content_range("bytes 0-0/10"), Some((0..1, 10)));
        assert_eq!(parse_content_range("bytes 5-9/10"), Some((5..10, 10)));
        for bad in ["bytes */10", "bytes 5-4/10", "bytes 0-10/10", "0-1/10", "bytes 0-1/x", ""] {
            assert_eq!(parse_content_range(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn range_headers_follow_rfc_9110() {
        assert_eq!(range_header(ByteRange::FromTo { first: 0, last: 0 }), "bytes=0-0");
        assert_eq!(range_header(ByteRange::From(7)), "bytes=7-");
        assert_eq!(range_header(ByteRange::Suffix(3)), "bytes=-3");
    }
}
