//! The artifact handler: routes a request, answers a tarball from the cache when it can (checking now and then that
//! storage still has the artifact), otherwise from the backend, streams a revision record (when `--serve-records`
//! lets routing through) straight from the backend, and writes one access-log line and the request metrics for
//! every response. Its tests are in `tests/serve/`: they drive [`handle`] in process over a fake store.

use std::ops::Range;
use std::time::{Duration, Instant};

use actix_web::body::{BodySize, MessageBody};
use actix_web::http::header::{self, HeaderMap, HeaderName};
use actix_web::{HttpRequest, HttpResponse, web};
use jaas_shared::layout::ObjectKind;
use jaas_shared::store::etag_for;
use jaas_shared::{ArtifactKey, ByteRange, GetResult, ObjectMeta, StoreError};

use crate::backend::Backend;
use crate::cache::{ArtifactCache, CachedArtifact, Hit, Revalidation};
use crate::coalesce::{Lead, MissCoalescer, MissOutcome, Role};
use crate::conditional::{RangeRequest, if_none_match_matches, parse_range};
use crate::metrics::ServerMetrics;
use crate::response::{self, Payload, Representation};
use crate::routing::{ArtifactRequest, Records, Rejection, route};

/// Everything the artifact handler needs, shared by all workers.
#[derive(Debug)]
pub struct ArtifactService {
    backend: Backend,
    cache: ArtifactCache,
    misses: MissCoalescer,
    metrics: ServerMetrics,
    retry_after: Duration,
    records: Records,
}

/// Where an answer came from, for the access log.
#[derive(Debug, Clone, Copy)]
enum Source {
    Rejected,
    Cache,
    Backend,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Self::Rejected => "rejected",
            Self::Cache => "cache",
            Self::Backend => "backend",
        }
    }
}

/// The longest part of a request path written to the access log; hostile paths can be kilobytes long.
const MAX_LOGGED_PATH: usize = 512;

impl ArtifactService {
    /// A service over `backend`, caching small artifacts in `cache`; 503s ask clients to come back after
    /// `retry_after`. Records are not served (see [`Self::with_records`]).
    pub fn new(backend: Backend, cache: ArtifactCache, metrics: ServerMetrics, retry_after: Duration) -> Self {
        Self { backend, cache, misses: MissCoalescer::default(), metrics, retry_after, records: Records::Hidden }
    }

    /// The same service, serving revision records or not (`--serve-records`).
    #[must_use]
    pub fn with_records(mut self, records: Records) -> Self {
        self.records = records;
        self
    }

    /// Whole-artifact storage reads in flight that concurrent misses on the same artifact can join; 0 when idle.
    pub fn misses_in_flight(&self) -> usize {
        self.misses.in_flight()
    }

    /// Answers one request from what is known about the artifact: a cache hit or a backend call.
    async fn serve(&self, request: &ArtifactRequest, headers: &HeaderMap) -> (HttpResponse, Source) {
        if request.key.kind() == ObjectKind::Record {
            return (self.serve_record(request).await, Source::Backend);
        }
        let key = &request.key;
        let etag = etag_for(key);
        let not_modified = header_str(headers, &header::IF_NONE_MATCH).is_some_and(|v| if_none_match_matches(v, &etag));
        let range = parse_range(header_str(headers, &header::RANGE), header_str(headers, &header::IF_RANGE), &etag);
        if let Some(Hit { artifact, revalidation }) = self.cache.get(key) {
            let still_stored = match revalidation {
                Some(revalidation) => self.still_stored(revalidation).await,
                None => true,
            };
            if still_stored {
                self.metrics.cache_hits.inc();
                let response = self.answer_from_memory(request.head_only, &artifact, etag, not_modified, range);
                return (response, Source::Cache);
            }
            // Deleted from storage: the same answer a miss on a missing artifact gets, `If-None-Match: *` included.
            self.metrics.cache_misses.inc();
            return (response::not_found(), Source::Backend);
        }
        self.metrics.cache_misses.inc();
        let response = match self.answer_from_backend(request, etag, not_modified, range).await {
            Ok(response) => response,
            Err(err) => self.storage_error(key, err),
        };
        (response, Source::Backend)
    }

    /// Answers a record request from storage alone: the whole record (or its headers), never from or into the cache,
    /// with no ETag, range or conditional handling, because a record can be rewritten under its URL.
    async fn serve_record(&self, request: &ArtifactRequest) -> HttpResponse {
        let key = &request.key;
        let answer = if request.head_only {
            self.backend.head(key).await.map(|meta| response::record(meta.size, Payload::Headers))
        } else {
            let stream =
                |got: GetResult| response::record(got.meta.size, Payload::Stream(self.backend.relay(got.body)));
            self.backend.get(key, None).await.map(stream)
        };
        answer.unwrap_or_else(|err| self.storage_error(key, err))
    }

    /// The answer to a failed storage call: 404, 416, 503 (retry later) or 500 (logged).
    fn storage_error(&self, key: &ArtifactKey, err: StoreError) -> HttpResponse {
        match err {
            StoreError::NotFound(_) => response::not_found(),
            StoreError::InvalidRange { size } => response::range_not_satisfiable(size),
            err @ StoreError::Unavailable(_) => {
                tracing::warn!(artifact = %key, error = %err, "storage unavailable, answering 503");
                response::unavailable(self.retry_after)
            }
            err @ StoreError::Other(_) => {
                tracing::error!(artifact = %key, error = %err, "storage failed, answering 500");
                response::internal_error()
            }
        }
    }

    /// Checks a cached artifact against storage; false when storage no longer has it, and then the entry is evicted.
    /// When storage cannot answer (unreachable, slower than `--backend-timeout`, failing), the cached copy is served
    /// anyway: stale-if-error. Artifacts are only ever deleted on purpose, so keeping known revisions served through
    /// an outage matters more than noticing a deletion a little late.
    async fn still_stored(&self, revalidation: Revalidation<'_>) -> bool {
        let checked = self.backend.head(revalidation.key()).await;
        let (outcome, still_stored) = match checked {
            Ok(_) => {
                revalidation.mark_checked();
                ("present", true)
            }
            Err(StoreError::NotFound(_)) => {
                tracing::info!(artifact = %revalidation.key(), "storage no longer has the artifact, evicted it");
                revalidation.evict();
                self.record_cache_bytes();
                ("gone", false)
            }
            Err(err) => {
                tracing::debug!(
                    artifact = %revalidation.key(),
                    error = %err,
                    "cannot revalidate a cached artifact, serving it from memory"
                );
                revalidation.mark_checked();
                ("error", true)
            }
        };
        self.metrics.cache_revalidations.with_label_values(&[outcome]).inc();
        still_stored
    }

    fn record_cache_bytes(&self) {
        self.metrics.cache_bytes.set(i64::try_from(self.cache.used_bytes()).unwrap_or(i64::MAX));
    }

    fn answer_from_memory(
        &self,
        head_only: bool,
        hit: &CachedArtifact,
        etag: String,
        not_modified: bool,
        range: RangeRequest,
    ) -> HttpResponse {
        let repr = Representation { etag, size: hit.body.len() as u64, last_modified: hit.last_modified };
        if not_modified {
            return response::not_modified(&repr);
        }
        let Ok(partial) = plan(range, repr.size) else {
            return response::range_not_satisfiable(repr.size);
        };
        if head_only {
            return response::artifact(&repr, partial.as_ref(), Payload::Headers);
        }
        let sent = partial.clone().unwrap_or(0..repr.size);
        // Both ends are within the body: `plan` resolved them against its length.
        #[allow(clippy::cast_possible_truncation)]
        let body = hit.body.slice(sent.start as usize..sent.end as usize);
        self.metrics.response_bytes.inc_by(body.len() as u64);
        response::artifact(&repr, partial.as_ref(), Payload::Memory(body))
    }

    async fn answer_from_backend(
        &self,
        request: &ArtifactRequest,
        etag: String,
        not_modified: bool,
        range: RangeRequest,
    ) -> Result<HttpResponse, StoreError> {
        let key = &request.key;
        if request.head_only || not_modified {
            let repr = representation(etag, &self.backend.head(key).await?);
            if not_modified {
                return Ok(response::not_modified(&repr));
            }
            return Ok(match plan(range, repr.size) {
                Ok(partial) => response::artifact(&repr, partial.as_ref(), Payload::Headers),
                Err(_) => response::range_not_satisfiable(repr.size),
            });
        }
        if let RangeRequest::Single(byte_range) = range {
            let got = self.backend.get(key, Some(byte_range)).await?;
            let repr = representation(etag, &got.meta);
            return Ok(response::artifact(&repr, Some(&got.range), Payload::Stream(self.backend.relay(got.body))));
        }
        // The whole artifact: concurrent misses on one key share one storage read.
        match self.misses.join(key) {
            Role::Leader(lead) => self.read_whole(lead, key, etag).await,
            Role::Follower(follow) => match follow.await {
                Ok(MissOutcome::Cached(artifact)) => {
                    self.metrics.coalesced_misses.inc();
                    Ok(self.answer_from_memory(false, &artifact, etag, false, RangeRequest::Whole))
                }
                Ok(MissOutcome::Failed(err)) => {
                    self.metrics.coalesced_misses.inc();
                    Err(err)
                }
                // Too large to share through the cache, or the leader's client went away: read it ourselves.
                Ok(MissOutcome::NotCacheable) | Err(_) => self.stream_whole(key, etag).await,
            },
        }
    }

    /// Reads the whole artifact as the leader of its misses: caches it when it fits and tells the followers.
    async fn read_whole(&self, lead: Lead<'_>, key: &ArtifactKey, etag: String) -> Result<HttpResponse, StoreError> {
        let got = match self.backend.get(key, None).await {
            Ok(got) => got,
            Err(err) => {
                lead.finish(MissOutcome::Failed(err.clone()));
                return Err(err);
            }
        };
        let repr = representation(etag, &got.meta);
        if !self.cache.admits(repr.size) {
            lead.finish(MissOutcome::NotCacheable);
            return Ok(response::artifact(&repr, None, Payload::Stream(self.backend.relay(got.body))));
        }
        let body = match self.backend.read_all(got.body, repr.size).await {
            Ok(body) => body,
            Err(err) => {
                lead.finish(MissOutcome::Failed(err.clone()));
                return Err(err);
            }
        };
        let artifact = CachedArtifact { body, last_modified: repr.last_modified };
        self.cache.insert(key.clone(), artifact.clone());
        self.record_cache_bytes();
        let response = self.answer_from_memory(false, &artifact, repr.etag, false, RangeRequest::Whole);
        lead.finish(MissOutcome::Cached(artifact));
        Ok(response)
    }

    /// Streams the whole artifact from storage, without caching it.
    async fn stream_whole(&self, key: &ArtifactKey, etag: String) -> Result<HttpResponse, StoreError> {
        let got = self.backend.get(key, None).await?;
        let repr = representation(etag, &got.meta);
        Ok(response::artifact(&repr, None, Payload::Stream(self.backend.relay(got.body))))
    }
}

/// The actix handler for every request on the artifact port.
pub async fn handle(request: HttpRequest, service: web::Data<ArtifactService>) -> HttpResponse {
    let started = Instant::now();
    let uri = request.uri();
    let (response, source) = match route(request.method(), uri.path(), uri.query(), service.records) {
        Ok(artifact) => service.serve(&artifact, request.headers()).await,
        Err(Rejection::NotFound) => (response::not_found(), Source::Rejected),
        Err(Rejection::MethodNotAllowed) => (response::method_not_allowed(), Source::Rejected),
    };
    let status = response.status().as_u16();
    service.metrics.count_response(request.method(), status);
    let length = match response.body().size() {
        BodySize::Sized(n) => n,
        BodySize::None | BodySize::Stream => 0,
    };
    let path = uri.path();
    let peer = request.peer_addr();
    tracing::info!(
        target: "access",
        method = %request.method(),
        path = %path.get(..MAX_LOGGED_PATH).unwrap_or(path),
        query = uri.query().is_some(),
        status,
        length,
        source = source.as_str(),
        peer = %peer.map_or_else(|| "-".to_owned(), |addr| addr.to_string()),
        elapsed_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
    );
    response
}

/// The header as text, if present and visible ASCII.
fn header_str<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// Decides between the whole artifact (`Ok(None)`), one range of it (`Ok(Some(range))`) and a 416 (`Err`).
fn plan(range: RangeRequest, size: u64) -> Result<Option<Range<u64>>, StoreError> {
    match range {
        RangeRequest::Whole | RangeRequest::Multiple => Ok(None),
        RangeRequest::Single(byte_range) => ByteRange::resolve(byte_range, size).map(Some),
    }
}

fn representation(etag: String, meta: &ObjectMeta) -> Representation {
    Representation { etag, size: meta.size, last_modified: meta.last_modified }
}
