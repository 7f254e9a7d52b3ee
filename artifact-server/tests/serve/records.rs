//! Revision records through the handler: hidden by default (a record path is answered like any unknown path and
//! storage is never asked), and with `--serve-records` streamed from storage on every request, never cached, with
//! no ETag and no range or conditional handling, while tarballs are served exactly as without it.

use super::*;
use jaas_artifact_server::routing::Records;

const RECORD: &[u8] = b"a zstd record of the SMALL revision";

/// [`fixture`] serving records or not, with the record of `SMALL` stored beside it.
fn fixture_with(records: Records) -> (Arc<FakeStore>, web::Data<ArtifactService>, ServerMetrics) {
    let store = Arc::new(FakeStore::default());
    store.insert(&key(SMALL), SMALL);
    store.insert(&key(SMALL).record_key(), RECORD);
    let metrics = ServerMetrics::new().unwrap();
    let backend = Backend::new(store.clone(), TIMEOUT, metrics.clone());
    let cache = ArtifactCache::new(1024, 64, Duration::from_hours(1));
    let service = ArtifactService::new(backend, cache, metrics.clone(), Duration::from_secs(7)).with_records(records);
    (store, web::Data::new(service), metrics)
}

fn record_path() -> String {
    key(SMALL).record_key().url_path()
}

#[actix_web::test]
async fn hidden_records_are_answered_like_unknown_paths_without_asking_storage() {
    let (store, service, _) = fixture_with(Records::Hidden);
    for method in [Method::GET, Method::HEAD, Method::POST, Method::DELETE] {
        let record = call(&service, method.clone(), &record_path(), &[]).await;
        let unknown = call(&service, method.clone(), "/team-a/web/unknown", &[]).await;
        assert_eq!(record.status(), StatusCode::NOT_FOUND, "{method}");
        assert_eq!(sorted_headers(&record), sorted_headers(&unknown), "{method}");
        assert_eq!(test::read_body(record).await, test::read_body(unknown).await, "{method}");
    }
    assert_eq!(store.calls(), 0, "a hidden record reached storage");
}

#[actix_web::test]
async fn served_records_come_from_storage_every_time_whole_and_without_validators() {
    let (store, service, metrics) = fixture_with(Records::Served);
    let path = record_path();
    let ignored = [
        vec![],
        vec![(header::RANGE, "bytes=2-4")],
        vec![(header::IF_NONE_MATCH, "*")],
        vec![(header::RANGE, "bytes=1000-"), (header::IF_RANGE, "\"x\"")],
    ];
    for headers in &ignored {
        let get = call(&service, Method::GET, &path, headers).await;
        assert_eq!(get.status(), StatusCode::OK, "{headers:?}");
        assert_eq!(header_of(&get, &header::CONTENT_TYPE), "application/zstd");
        assert_eq!(header_of(&get, &header::CACHE_CONTROL), "no-cache");
        for absent in [header::ETAG, header::LAST_MODIFIED, header::CONTENT_RANGE] {
            assert!(get.headers().get(&absent).is_none(), "{absent} on a record");
        }
        let head = call(&service, Method::HEAD, &path, headers).await;
        assert_eq!((head.status(), sorted_headers(&head)), (get.status(), sorted_headers(&get)), "{headers:?}");
        assert_eq!(body_size(&head), BodySize::Sized(RECORD.len() as u64));
        assert_eq!(test::read_body(get).await, RECORD, "{headers:?}");
    }
    assert_eq!(store.calls(), 2 * ignored.len(), "every GET and HEAD asks storage");
    assert_eq!((metrics.cache_bytes.get(), metrics.cache_hits.get(), metrics.cache_misses.get()), (0, 0, 0));

    // Rewritten when its revision becomes current again: the next request sees the new bytes.
    store.insert(&key(SMALL).record_key(), b"rewritten");
    assert_eq!(test::read_body(call(&service, Method::GET, &path, &[]).await).await, &b"rewritten"[..]);
}

#[actix_web::test]
async fn served_records_answer_404_405_and_503_like_tarballs() {
    let (store, service, _) = fixture_with(Records::Served);
    let missing = key(b"no such revision").record_key().url_path();
    assert_eq!(call(&service, Method::GET, &missing, &[]).await.status(), StatusCode::NOT_FOUND);
    assert_eq!(call(&service, Method::HEAD, &missing, &[]).await.status(), StatusCode::NOT_FOUND);
    let post = call(&service, Method::POST, &record_path(), &[]).await;
    assert_eq!((post.status(), header_of(&post, &header::ALLOW)), (StatusCode::METHOD_NOT_ALLOWED, "GET, HEAD"));
    store.down.store(true, Ordering::SeqCst);
    for method in [Method::GET, Method::HEAD] {
        let response = call(&service, method.clone(), &record_path(), &[]).await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE, "{method}");
        assert_eq!(header_of(&response, &header::RETRY_AFTER), "7", "{method}");
    }
}

#[actix_web::test]
async fn tarballs_are_served_the_same_with_records_on_or_off() {
    let (_, hidden, _) = fixture_with(Records::Hidden);
    let (_, served, _) = fixture_with(Records::Served);
    let path = key(SMALL).url_path();
    let etag = format!("\"{}\"", Digest::of(SMALL).hex());
    for headers in [vec![], vec![(header::RANGE, "bytes=2-4")], vec![(header::IF_NONE_MATCH, etag.as_str())]] {
        for method in [Method::GET, Method::HEAD] {
            let off = call(&hidden, method.clone(), &path, &headers).await;
            let on = call(&served, method.clone(), &path, &headers).await;
            assert_eq!(
                (off.status(), sorted_headers(&off)),
                (on.status(), sorted_headers(&on)),
                "{method} {headers:?}"
            );
            assert_eq!(test::read_body(off).await, test::read_body(on).await, "{method} {headers:?}");
        }
    }
}
