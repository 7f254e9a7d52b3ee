//! The artifact handler through its public API, in process, against [`FakeStore`]: every status code, HEAD/GET
//! agreement, ranges, `If-None-Match` and hostile paths never reaching storage here; the cache through outages and
//! deletions in [`revalidation`]; concurrent misses and a hanging backend in [`coalescing`]; revision records, hidden
//! or served (`--serve-records`), in [`records`].

#![allow(clippy::unwrap_used)]

mod coalescing;
mod fake_store;
mod records;
mod revalidation;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use actix_web::body::{BodySize, MessageBody};
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::{App, test, web};
use fake_store::FakeStore;
use jaas_artifact_server::backend::Backend;
use jaas_artifact_server::cache::ArtifactCache;
use jaas_artifact_server::metrics::ServerMetrics;
use jaas_artifact_server::serve::{ArtifactService, handle};
use jaas_shared::{ArtifactKey, Digest};

const SMALL: &[u8] = b"0123456789";
const TIMEOUT: Duration = Duration::from_millis(300);

fn key(body: &[u8]) -> ArtifactKey {
    ArtifactKey::new("team-a", "web", Digest::of(body)).unwrap()
}

fn large() -> Vec<u8> {
    (0..100u8).collect()
}

/// A store holding `SMALL` (cacheable) and `large()` (over the 32-byte object limit), a service over it whose
/// cache entries are not revalidated within a test's lifetime, and the service's metrics.
fn fixture() -> (Arc<FakeStore>, web::Data<ArtifactService>, ServerMetrics) {
    fixture_revalidating_after(Duration::from_hours(1))
}

/// [`fixture`] with cache hits revalidated once an entry was checked `revalidate_after` ago.
fn fixture_revalidating_after(
    revalidate_after: Duration,
) -> (Arc<FakeStore>, web::Data<ArtifactService>, ServerMetrics) {
    let store = Arc::new(FakeStore::default());
    store.insert(&key(SMALL), SMALL);
    store.insert(&key(&large()), &large());
    let metrics = ServerMetrics::new().unwrap();
    let backend = Backend::new(store.clone(), TIMEOUT, metrics.clone());
    let cache = ArtifactCache::new(1024, 32, revalidate_after);
    let service = ArtifactService::new(backend, cache, metrics.clone(), Duration::from_secs(7));
    (store, web::Data::new(service), metrics)
}

async fn call(
    service: &web::Data<ArtifactService>,
    method: Method,
    path: &str,
    headers: &[(header::HeaderName, &str)],
) -> ServiceResponse {
    let app = test::init_service(App::new().app_data(service.clone()).default_service(web::to(handle))).await;
    let mut request = test::TestRequest::default().method(method).uri(path);
    for (name, value) in headers {
        request = request.insert_header((name.clone(), *value));
    }
    app.call(request.to_request()).await.unwrap()
}

fn header_of<'a>(response: &'a ServiceResponse, name: &header::HeaderName) -> &'a str {
    response.headers().get(name).map(|v| v.to_str().unwrap()).unwrap_or_default()
}

fn sorted_headers(response: &ServiceResponse) -> Vec<(String, String)> {
    let mut headers: Vec<_> =
        response.headers().iter().map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_owned())).collect();
    headers.sort();
    headers
}

fn body_size(response: &ServiceResponse) -> BodySize {
    response.response().body().size()
}

#[actix_web::test]
async fn get_serves_the_artifact_with_immutable_caching_headers_then_from_memory() {
    let (store, service, _) = fixture();
    let path = key(SMALL).url_path();
    let response = call(&service, Method::GET, &path, &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header_of(&response, &header::CONTENT_TYPE), "application/gzip");
    assert_eq!(header_of(&response, &header::ETAG), format!("\"{}\"", Digest::of(SMALL).hex()));
    assert_eq!(header_of(&response, &header::CACHE_CONTROL), "public, max-age=31536000, immutable");
    assert_eq!(header_of(&response, &header::ACCEPT_RANGES), "bytes");
    assert_eq!(header_of(&response, &header::LAST_MODIFIED), "Thu, 01 Jan 1970 00:00:00 GMT");
    assert_eq!(test::read_body(response).await, SMALL);
    assert_eq!(store.calls(), 1);
    let again = call(&service, Method::GET, &path, &[]).await;
    assert_eq!(test::read_body(again).await, SMALL);
    assert_eq!(store.calls(), 1, "the second GET must be a cache hit");
}

#[actix_web::test]
async fn head_and_get_agree_on_status_and_headers() {
    let (_store, service, _) = fixture();
    for body in [SMALL.to_vec(), large()] {
        let path = key(&body).url_path();
        for headers in [vec![], vec![(header::RANGE, "bytes=2-4")], vec![(header::RANGE, "bytes=500-")]] {
            // HEAD first (a miss), then GET, then HEAD again (a hit for the small artifact).
            let head = call(&service, Method::HEAD, &path, &headers).await;
            let get = call(&service, Method::GET, &path, &headers).await;
            let head_again = call(&service, Method::HEAD, &path, &headers).await;
            for other in [&head, &head_again] {
                assert_eq!(other.status(), get.status(), "{path} {headers:?}");
                assert_eq!(sorted_headers(other), sorted_headers(&get), "{path} {headers:?}");
                assert_eq!(body_size(other), body_size(&get), "{path} {headers:?}");
            }
        }
    }
}

#[actix_web::test]
async fn a_single_range_is_206_several_are_200_and_an_impossible_one_is_416() {
    let (_store, service, _) = fixture();
    for body in [SMALL.to_vec(), large()] {
        let path = key(&body).url_path();
        let partial = call(&service, Method::GET, &path, &[(header::RANGE, "bytes=2-4")]).await;
        assert_eq!(partial.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(header_of(&partial, &header::CONTENT_RANGE), format!("bytes 2-4/{}", body.len()));
        assert_eq!(test::read_body(partial).await, &body[2..5]);
        let suffix = call(&service, Method::GET, &path, &[(header::RANGE, "bytes=-3")]).await;
        assert_eq!(test::read_body(suffix).await, &body[body.len() - 3..]);
        let several = call(&service, Method::GET, &path, &[(header::RANGE, "bytes=0-1,4-5")]).await;
        assert_eq!(several.status(), StatusCode::OK);
        assert_eq!(test::read_body(several).await, body);
        let impossible = call(&service, Method::GET, &path, &[(header::RANGE, "bytes=1000-")]).await;
        assert_eq!(impossible.status(), StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(header_of(&impossible, &header::CONTENT_RANGE), format!("bytes */{}", body.len()));
    }
}

#[actix_web::test]
async fn a_matching_if_none_match_is_304_and_another_one_is_200() {
    let (_store, service, _) = fixture();
    let etag = format!("\"{}\"", Digest::of(SMALL).hex());
    let path = key(SMALL).url_path();
    for _ in 0..2 {
        // The first round is a miss (answered after a HEAD to the backend), the second a hit.
        for value in [etag.as_str(), "*", &format!("\"x\", W/{etag}")] {
            let response = call(&service, Method::GET, &path, &[(header::IF_NONE_MATCH, value)]).await;
            assert_eq!(response.status(), StatusCode::NOT_MODIFIED, "If-None-Match: {value}");
            assert_eq!(header_of(&response, &header::ETAG), etag);
            assert_eq!(body_size(&response), BodySize::None);
        }
        let changed = call(&service, Method::GET, &path, &[(header::IF_NONE_MATCH, "\"other\"")]).await;
        assert_eq!(changed.status(), StatusCode::OK);
    }
    let missing = key(b"missing").url_path();
    let response = call(&service, Method::GET, &missing, &[(header::IF_NONE_MATCH, "*")]).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND, "`*` only matches an existing artifact");
}

#[actix_web::test]
async fn unknown_artifacts_and_other_paths_are_404_other_methods_405() {
    let (_store, service, _) = fixture();
    assert_eq!(call(&service, Method::GET, &key(b"nope").url_path(), &[]).await.status(), StatusCode::NOT_FOUND);
    for path in ["/", "/team-a", "/team-a/web", "/team-a/web/", "/metrics", "/healthz"] {
        assert_eq!(call(&service, Method::GET, path, &[]).await.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let response = call(&service, Method::DELETE, &key(SMALL).url_path(), &[]).await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(header_of(&response, &header::ALLOW), "GET, HEAD");
}

#[actix_web::test]
async fn hostile_paths_never_reach_storage() {
    let (store, service, _) = fixture();
    let file = format!("sha256-{}.tar.gz", Digest::of(SMALL).hex());
    let long = format!("/team-a/{}/{file}", "a".repeat(16 * 1024));
    for path in [
        format!("/team-a/../{file}"),
        format!("/team-a/%2e%2e/{file}"),
        format!("/team-a/web%2f..%2f/{file}"),
        format!("/team-a/%252e%252e/{file}"),
        format!("/team-a/web/{file}?x=1"),
        format!("/team-a/web/{file}%00"),
        long,
    ] {
        let response = call(&service, Method::GET, &path, &[]).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
    assert_eq!(store.calls(), 0);
}
