//! Concurrent misses on one artifact share one storage read (its result or its failure) when the artifact fits the
//! cache and each stream it otherwise; a hanging backend becomes 503 within the timeout.

use super::*;

/// `count` GETs of `path` at once, against a store that takes 100 ms per call so that they overlap.
async fn concurrent_gets(
    store: &FakeStore,
    service: &web::Data<ArtifactService>,
    path: &str,
    count: usize,
) -> Vec<ServiceResponse> {
    store.delay_ms.store(100, Ordering::SeqCst);
    futures::future::join_all((0..count).map(|_| call(service, Method::GET, path, &[]))).await
}

#[actix_web::test]
async fn concurrent_misses_on_one_artifact_share_one_storage_read() {
    let (store, service, metrics) = fixture();
    let responses = concurrent_gets(&store, &service, &key(SMALL).url_path(), 5).await;
    for response in responses {
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(body_size(&response), BodySize::Sized(SMALL.len() as u64));
        assert_eq!(test::read_body(response).await, SMALL);
    }
    assert_eq!(store.calls(), 1, "five concurrent misses, one storage read");
    assert_eq!(metrics.coalesced_misses.get(), 4);
    assert_eq!(service.misses_in_flight(), 0);
}

#[actix_web::test]
async fn concurrent_misses_during_an_outage_share_the_one_failure() {
    let (store, service, _) = fixture();
    store.down.store(true, Ordering::SeqCst);
    let started = std::time::Instant::now();
    let responses = concurrent_gets(&store, &service, &key(SMALL).url_path(), 5).await;
    for response in &responses {
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(header_of(response, &header::RETRY_AFTER), "7");
    }
    assert_eq!(store.calls(), 1, "the waiting requests got the leader's error instead of asking again");
    assert!(started.elapsed() < Duration::from_millis(400), "answered together, not one after another");
}

#[actix_web::test]
async fn concurrent_misses_on_an_uncacheable_artifact_each_stream_it() {
    let (store, service, metrics) = fixture();
    let responses = concurrent_gets(&store, &service, &key(&large()).url_path(), 3).await;
    for response in responses {
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(test::read_body(response).await, large());
    }
    assert_eq!(store.calls(), 3, "too large to share through the cache: one read per request");
    assert_eq!(metrics.coalesced_misses.get(), 0);
}

#[actix_web::test]
async fn a_hanging_backend_becomes_503_within_the_timeout() {
    let (store, service, _) = fixture();
    store.hang.store(true, Ordering::SeqCst);
    let started = std::time::Instant::now();
    let response = call(&service, Method::GET, &key(SMALL).url_path(), &[]).await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(started.elapsed() < TIMEOUT * 3, "took {:?}", started.elapsed());
}
