//! Building every response the artifact port sends, so that status codes and headers are decided in one place and
//! `HEAD` and `GET` cannot drift apart: both go through [`artifact`] (or [`record`]) with the same metadata, only
//! the body differs.

use std::ops::Range;
use std::time::{Duration, SystemTime};

use actix_web::HttpResponse;
use actix_web::body::SizedStream;
use actix_web::http::{StatusCode, header};
use bytes::Bytes;
use futures::stream::{self, BoxStream};
use jaas_shared::StoreError;
use jaas_shared::layout::ObjectKind;

use crate::routing::ALLOWED_METHODS;

/// Artifacts never change under their URL (the URL holds their sha256), so caches may keep them forever.
pub const CACHE_CONTROL: &str = "public, max-age=31536000, immutable";
/// Flux fetches `.tar.gz`; `application/gzip` is the registered type (RFC 6713).
pub const CONTENT_TYPE: &str = ObjectKind::Tarball.content_type();
/// A record is rewritten under its URL when its revision becomes current again: caches must not reuse it without
/// asking, and with no validator sent, asking means fetching it again.
pub const RECORD_CACHE_CONTROL: &str = "no-cache";
/// `application/zstd` (RFC 8878).
pub const RECORD_CONTENT_TYPE: &str = ObjectKind::Record.content_type();
/// In-memory bodies are handed to the HTTP layer in slices of this size (zero-copy `Bytes` views): the HTTP/1
/// encoder copies each chunk into its write buffer, and one 1 MiB chunk would make that buffer grow to 1 MiB per
/// connection instead of staying around the socket's send size.
pub const MEMORY_CHUNK: usize = 256 << 10;

/// What identifies the served artifact in headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Representation {
    /// The quoted digest hex.
    pub etag: String,
    /// The whole artifact's size in bytes.
    pub size: u64,
    /// The object's modification time.
    pub last_modified: SystemTime,
}

/// The bytes of a 200 or 206, already cut to the range being sent.
pub enum Payload {
    /// Bytes in memory (a cache hit).
    Memory(Bytes),
    /// A stream from the backend of exactly the announced length.
    Stream(BoxStream<'static, Result<Bytes, StoreError>>),
    /// No bytes (`HEAD`); `Content-Length` still announces what `GET` would send.
    Headers,
}

/// A 200 (`range` = `None`) or 206 (`range` = the half-open range being sent) for the artifact.
pub fn artifact(repr: &Representation, range: Option<&Range<u64>>, payload: Payload) -> HttpResponse {
    let (status, sent) = match range {
        Some(range) => (StatusCode::PARTIAL_CONTENT, range.clone()),
        None => (StatusCode::OK, 0..repr.size),
    };
    let mut builder = HttpResponse::build(status);
    builder
        .insert_header((header::CONTENT_TYPE, CONTENT_TYPE))
        .insert_header((header::ETAG, repr.etag.as_str()))
        .insert_header((header::LAST_MODIFIED, httpdate::fmt_http_date(repr.last_modified)))
        .insert_header((header::CACHE_CONTROL, CACHE_CONTROL))
        .insert_header((header::ACCEPT_RANGES, "bytes"));
    if range.is_some() {
        builder.insert_header((
            header::CONTENT_RANGE,
            format!("bytes {}-{}/{}", sent.start, sent.end.saturating_sub(1), repr.size),
        ));
    }
    with_body(&mut builder, sent.end - sent.start, payload)
}

/// A 200 for a whole revision record of `size` bytes: no validators (`ETag`, `Last-Modified`), no ranges, never to
/// be reused by a cache without asking (see [`RECORD_CACHE_CONTROL`]).
pub fn record(size: u64, payload: Payload) -> HttpResponse {
    let mut builder = HttpResponse::Ok();
    builder
        .insert_header((header::CONTENT_TYPE, RECORD_CONTENT_TYPE))
        .insert_header((header::CACHE_CONTROL, RECORD_CACHE_CONTROL))
        .insert_header((header::ACCEPT_RANGES, "none"));
    with_body(&mut builder, size, payload)
}

/// Finishes a 200 or 206 with `payload`, announcing `length` bytes (also for `HEAD`).
fn with_body(builder: &mut actix_web::HttpResponseBuilder, length: u64, payload: Payload) -> HttpResponse {
    match payload {
        Payload::Memory(bytes) if bytes.len() <= MEMORY_CHUNK => builder.body(bytes),
        Payload::Memory(bytes) => builder.body(SizedStream::new(length, memory_chunks(bytes))),
        Payload::Stream(body) => builder.body(SizedStream::new(length, body)),
        Payload::Headers => builder.body(SizedStream::new(length, stream::empty::<Result<Bytes, StoreError>>())),
    }
}

/// Zero-copy slices of `bytes`, at most [`MEMORY_CHUNK`] long.
fn memory_chunks(bytes: Bytes) -> impl futures::Stream<Item = Result<Bytes, StoreError>> {
    let starts = (0..bytes.len()).step_by(MEMORY_CHUNK);
    stream::iter(starts.map(move |start| Ok(bytes.slice(start..bytes.len().min(start + MEMORY_CHUNK)))))
}

/// A 304: validators and caching headers, no body. `Content-Length` is what a 200 would announce (RFC 9110 §15.4.5
/// allows it, and it keeps `HEAD` and conditional `GET` alike).
pub fn not_modified(repr: &Representation) -> HttpResponse {
    HttpResponse::NotModified()
        .insert_header((header::ETAG, repr.etag.as_str()))
        .insert_header((header::LAST_MODIFIED, httpdate::fmt_http_date(repr.last_modified)))
        .insert_header((header::CACHE_CONTROL, CACHE_CONTROL))
        .insert_header((header::CONTENT_LENGTH, repr.size))
        .body(actix_web::body::None::new())
}

/// A 416 naming the artifact's size.
pub fn range_not_satisfiable(size: u64) -> HttpResponse {
    HttpResponse::RangeNotSatisfiable()
        .insert_header((header::CONTENT_RANGE, format!("bytes */{size}")))
        .insert_header((header::ACCEPT_RANGES, "bytes"))
        .finish()
}

/// A 404 that reveals nothing about what exists.
pub fn not_found() -> HttpResponse {
    text(StatusCode::NOT_FOUND, "not found\n")
}

/// A 405 for an artifact path with another method.
pub fn method_not_allowed() -> HttpResponse {
    let mut response = text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
    response.headers_mut().insert(header::ALLOW, header::HeaderValue::from_static(ALLOWED_METHODS));
    response
}

/// A 503 telling the client when to retry: storage is unreachable or too slow and the artifact is not cached.
pub fn unavailable(retry_after: Duration) -> HttpResponse {
    let mut response = text(StatusCode::SERVICE_UNAVAILABLE, "storage unavailable, retry later\n");
    response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from(retry_after.as_secs().max(1)));
    response
}

/// A 500 for a storage failure that retrying will not fix; the details go to the log, not to the client.
pub fn internal_error() -> HttpResponse {
    text(StatusCode::INTERNAL_SERVER_ERROR, "internal error\n")
}

fn text(status: StatusCode, body: &'static str) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "text/plain; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repr() -> Representation {
        Representation { etag: "\"abc\"".into(), size: 10, last_modified: SystemTime::UNIX_EPOCH }
    }

    fn header<'a>(response: &'a HttpResponse, name: &header::HeaderName) -> &'a str {
        response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }

    #[test]
    fn a_partial_response_names_its_range() {
        let response = artifact(&repr(), Some(&(2..5)), Payload::Headers);
        assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(header(&response, &header::CONTENT_RANGE), "bytes 2-4/10");
        assert_eq!(header(&response, &header::ETAG), "\"abc\"");
        assert_eq!(header(&response, &header::LAST_MODIFIED), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(header(&response, &header::CACHE_CONTROL), CACHE_CONTROL);
        assert_eq!(header(&response, &header::CONTENT_TYPE), CONTENT_TYPE);
    }

    #[test]
    fn a_record_has_no_validators_and_no_ranges() {
        let response = record(10, Payload::Headers);
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(header(&response, &header::CONTENT_TYPE), "application/zstd");
        assert_eq!(header(&response, &header::CACHE_CONTROL), "no-cache");
        assert_eq!(header(&response, &header::ACCEPT_RANGES), "none");
        for absent in [header::ETAG, header::LAST_MODIFIED, header::CONTENT_RANGE] {
            assert!(response.headers().get(&absent).is_none(), "{absent}");
        }
        assert_eq!(actix_web::body::MessageBody::size(response.body()), actix_web::body::BodySize::Sized(10));
    }

    #[actix_web::test]
    async fn large_memory_bodies_go_out_in_bounded_zero_copy_slices() {
        use actix_web::body::MessageBody;
        use futures::StreamExt;
        let body = Bytes::from((0..=255u8).cycle().take(3 * MEMORY_CHUNK + 1).collect::<Vec<_>>());
        let chunks: Vec<Bytes> = memory_chunks(body.clone()).map(Result::unwrap).collect().await;
        assert_eq!(chunks.len(), 4);
        assert!(chunks.iter().all(|c| c.len() <= MEMORY_CHUNK));
        assert_eq!(chunks.concat(), body);
        let whole = Representation { size: body.len() as u64, ..repr() };
        let response = artifact(&whole, None, Payload::Memory(body.clone()));
        assert_eq!(response.body().size(), actix_web::body::BodySize::Sized(body.len() as u64));
        let sent = actix_web::body::to_bytes(response.into_body()).await.unwrap();
        assert_eq!(sent, body);
    }

    #[test]
    fn error_responses_carry_their_required_headers() {
        assert_eq!(header(&range_not_satisfiable(10), &header::CONTENT_RANGE), "bytes */10");
        assert_eq!(header(&method_not_allowed(), &header::ALLOW), "GET, HEAD");
        assert_eq!(header(&unavailable(Duration::from_secs(5)), &header::RETRY_AFTER), "5");
        assert_eq!(header(&unavailable(Duration::ZERO), &header::RETRY_AFTER), "1");
        assert_eq!(header(&not_modified(&repr()), &header::CONTENT_LENGTH), "10");
    }
}
