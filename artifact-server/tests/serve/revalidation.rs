//! The cache against storage: cached revisions stay served while storage is down or slow (stale-if-error), while
//! an artifact storage no longer has stops being served once its revalidation interval has passed.

use super::*;

#[actix_web::test]
async fn cached_artifacts_survive_an_outage_and_uncached_ones_get_503() {
    let (store, service, _) = fixture();
    let cached = key(SMALL).url_path();
    assert_eq!(call(&service, Method::GET, &cached, &[]).await.status(), StatusCode::OK);
    store.down.store(true, Ordering::SeqCst);
    let hit = call(&service, Method::GET, &cached, &[]).await;
    assert_eq!(test::read_body(hit).await, SMALL);
    let miss = call(&service, Method::GET, &key(&large()).url_path(), &[]).await;
    assert_eq!(miss.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(header_of(&miss, &header::RETRY_AFTER), "7");
}

#[actix_web::test]
async fn a_deleted_artifact_stops_being_served_from_the_cache_once_the_interval_has_passed() {
    let interval = Duration::from_millis(250);
    let (store, service, metrics) = fixture_revalidating_after(interval);
    let path = key(SMALL).url_path();
    assert_eq!(call(&service, Method::GET, &path, &[]).await.status(), StatusCode::OK);
    store.remove(&key(SMALL));
    let within = call(&service, Method::GET, &path, &[]).await;
    assert_eq!(test::read_body(within).await, SMALL, "within the interval a hit is served without asking storage");
    assert_eq!(store.calls(), 1);
    tokio::time::sleep(interval + Duration::from_millis(20)).await;
    let after = call(&service, Method::GET, &path, &[]).await;
    assert_eq!(after.status(), StatusCode::NOT_FOUND);
    assert_eq!(store.calls(), 2, "one HEAD to revalidate");
    assert_eq!(metrics.cache_bytes.get(), 0, "the entry was evicted");
    assert_eq!(metrics.cache_revalidations.with_label_values(&["gone"]).get(), 1);
    let head = call(&service, Method::HEAD, &path, &[]).await;
    assert_eq!(head.status(), StatusCode::NOT_FOUND, "a miss now");
    assert_eq!(store.calls(), 3);
}

#[actix_web::test]
async fn a_revalidated_hit_that_storage_confirms_is_served_and_not_checked_again_for_an_interval() {
    let interval = Duration::from_millis(250);
    let (store, service, metrics) = fixture_revalidating_after(interval);
    let path = key(SMALL).url_path();
    assert_eq!(call(&service, Method::GET, &path, &[]).await.status(), StatusCode::OK);
    tokio::time::sleep(interval + Duration::from_millis(20)).await;
    for _ in 0..3 {
        let hit = call(&service, Method::GET, &path, &[(header::RANGE, "bytes=2-4")]).await;
        assert_eq!(hit.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(test::read_body(hit).await, &SMALL[2..5]);
    }
    assert_eq!(store.calls(), 2, "one GET, then one HEAD for the three hits");
    assert_eq!(metrics.cache_revalidations.with_label_values(&["present"]).get(), 1);
    assert_eq!(metrics.cache_hits.get(), 3);
}

#[actix_web::test]
async fn if_none_match_on_a_deleted_cached_artifact_is_404_not_304() {
    let (store, service, _) = fixture_revalidating_after(Duration::ZERO);
    let path = key(SMALL).url_path();
    let etag = format!("\"{}\"", Digest::of(SMALL).hex());
    assert_eq!(call(&service, Method::GET, &path, &[]).await.status(), StatusCode::OK);
    let cached = call(&service, Method::GET, &path, &[(header::IF_NONE_MATCH, &etag)]).await;
    assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(store.calls(), 2, "an interval of 0 revalidates every hit, 304s included");
    store.remove(&key(SMALL));
    for value in [etag.as_str(), "*"] {
        let response = call(&service, Method::GET, &path, &[(header::IF_NONE_MATCH, value)]).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "If-None-Match: {value}");
    }
}

#[actix_web::test]
async fn when_storage_cannot_answer_a_revalidation_the_cached_copy_is_served() {
    let (store, service, metrics) = fixture_revalidating_after(Duration::ZERO);
    let path = key(SMALL).url_path();
    let etag = format!("\"{}\"", Digest::of(SMALL).hex());
    assert_eq!(call(&service, Method::GET, &path, &[]).await.status(), StatusCode::OK);
    store.down.store(true, Ordering::SeqCst);
    let hit = call(&service, Method::GET, &path, &[]).await;
    assert_eq!(test::read_body(hit).await, SMALL);
    let not_modified = call(&service, Method::GET, &path, &[(header::IF_NONE_MATCH, &etag)]).await;
    assert_eq!(not_modified.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(store.calls(), 3, "both hits tried to revalidate");
    assert_eq!(metrics.cache_revalidations.with_label_values(&["error"]).get(), 2);
}

#[actix_web::test]
async fn a_hanging_revalidation_delays_one_hit_per_interval_and_no_concurrent_one() {
    let interval = Duration::from_millis(150);
    let (store, service, _) = fixture_revalidating_after(interval);
    let path = key(SMALL).url_path();
    assert_eq!(call(&service, Method::GET, &path, &[]).await.status(), StatusCode::OK);
    tokio::time::sleep(interval + Duration::from_millis(20)).await;
    store.hang.store(true, Ordering::SeqCst);
    let started = std::time::Instant::now();
    let checking = async {
        let response = call(&service, Method::GET, &path, &[]).await;
        (response.status(), started.elapsed())
    };
    let others = async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        for _ in 0..5 {
            let hit = call(&service, Method::GET, &path, &[]).await;
            assert_eq!(hit.status(), StatusCode::OK);
        }
        (store.calls(), started.elapsed())
    };
    let ((status, checked_in), (calls, others_in)) = futures::join!(checking, others);
    assert_eq!(status, StatusCode::OK, "stale-if-error after the timeout");
    assert!(checked_in >= TIMEOUT && checked_in < TIMEOUT * 3, "took {checked_in:?}");
    assert!(others_in < TIMEOUT, "concurrent hits waited for the revalidation: {others_in:?}");
    assert_eq!(calls, 2, "concurrent hits did not start revalidations of their own");
    let started = std::time::Instant::now();
    assert_eq!(call(&service, Method::GET, &path, &[]).await.status(), StatusCode::OK);
    assert!(started.elapsed() < TIMEOUT, "a failed check still counts for an interval");
    assert_eq!(store.calls(), 2);
}
