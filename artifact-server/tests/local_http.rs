//! The real binary over the local backend: every status code, HEAD/GET agreement, ranges, ETag/304, caching and the
//! cache forgetting deleted artifacts, spoken as raw HTTP/1.1 so that nothing between the test and the server
//! rewrites the request.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{Server, request, seed_local};
use jaas_shared::{ArtifactStore, LocalStore};
use tempfile::TempDir;

const BODY: &[u8] = b"a tarball, as far as this test is concerned";

fn start() -> (TempDir, Server, String) {
    let dir = TempDir::new().unwrap();
    let root = dir.path().join("artifacts");
    let key = seed_local(&root, "team-a", "web", BODY);
    let server =
        Server::start(dir.path(), &["--storage-backend", "local", "--storage-path", root.to_str().unwrap()], &[]);
    (dir, server, key.url_path())
}

#[test]
fn get_returns_the_artifact_with_all_headers() {
    let (_dir, server, path) = start();
    let response = server.get(&path, &[]);
    assert_eq!(response.status, 200);
    assert_eq!(response.body, BODY);
    let etag = format!("\"{}\"", jaas_shared::Digest::of(BODY).hex());
    assert_eq!(response.header("etag"), Some(etag.as_str()));
    assert_eq!(response.header("content-type"), Some("application/gzip"));
    assert_eq!(response.header("content-length"), Some(BODY.len().to_string().as_str()));
    assert_eq!(response.header("cache-control"), Some("public, max-age=31536000, immutable"));
    assert_eq!(response.header("accept-ranges"), Some("bytes"));
    let last_modified = response.header("last-modified").unwrap();
    assert!(httpdate::parse_http_date(last_modified).is_ok(), "{last_modified}");
}

#[test]
fn head_and_get_send_the_same_headers() {
    let (_dir, server, path) = start();
    for headers in [vec![], vec![("Range", "bytes=3-7")], vec![("Range", "bytes=999-")]] {
        // The first HEAD is answered from storage, GET fills the cache, the second HEAD is a cache hit.
        let head = request(server.port, "HEAD", &path, &headers).unwrap();
        let get = request(server.port, "GET", &path, &headers).unwrap();
        let head_again = request(server.port, "HEAD", &path, &headers).unwrap();
        assert_eq!(head.status, get.status, "{headers:?}");
        assert_eq!(head.stable_headers(), get.stable_headers(), "{headers:?}");
        assert_eq!(head_again.stable_headers(), get.stable_headers(), "{headers:?}");
        assert!(head.body.is_empty() && head_again.body.is_empty());
    }
}

#[test]
fn ranges_are_206_416_or_the_whole_artifact() {
    let (_dir, server, path) = start();
    let size = BODY.len();
    for _ in 0..2 {
        // Once from storage, once from the cache.
        let partial = server.get(&path, &[("Range", "bytes=2-5")]);
        assert_eq!(partial.status, 206);
        assert_eq!(partial.body, &BODY[2..6]);
        assert_eq!(partial.header("content-range"), Some(format!("bytes 2-5/{size}").as_str()));
        assert_eq!(partial.header("content-length"), Some("4"));
        let suffix = server.get(&path, &[("Range", "bytes=-4")]);
        assert_eq!(suffix.body, &BODY[size - 4..]);
        let open = server.get(&path, &[("Range", "bytes=40-")]);
        assert_eq!(open.body, &BODY[40..]);
        let unsatisfiable = server.get(&path, &[("Range", format!("bytes={size}-").as_str())]);
        assert_eq!(unsatisfiable.status, 416);
        assert_eq!(unsatisfiable.header("content-range"), Some(format!("bytes */{size}").as_str()));
        let several = server.get(&path, &[("Range", "bytes=0-1,3-4")]);
        assert_eq!((several.status, several.body.as_slice()), (200, BODY));
        let malformed = server.get(&path, &[("Range", "bytes=5-2")]);
        assert_eq!((malformed.status, malformed.body.as_slice()), (200, BODY));
    }
}

#[test]
fn etags_make_conditional_requests_304() {
    let (_dir, server, path) = start();
    let etag = server.get(&path, &[]).header("etag").unwrap().to_owned();
    for value in [etag.clone(), format!("W/{etag}"), format!("\"nope\", {etag}"), "*".to_owned()] {
        let response = server.get(&path, &[("If-None-Match", value.as_str())]);
        assert_eq!(response.status, 304, "If-None-Match: {value}");
        assert!(response.body.is_empty());
        assert_eq!(response.header("etag"), Some(etag.as_str()));
    }
    assert_eq!(server.get(&path, &[("If-None-Match", "\"nope\"")]).status, 200);
}

#[test]
fn the_cache_answers_repeated_requests_without_storage() {
    let (_dir, server, path) = start();
    assert_eq!(server.get(&path, &[]).status, 200);
    let calls = server.backend_calls();
    for _ in 0..5 {
        assert_eq!(server.get(&path, &[]).body, BODY);
    }
    assert!(server.backend_calls() - calls < 0.5, "cache hits reached storage");
    assert!(server.metric("jaas_server_cache_hits_total") >= 5.0);
    assert!(server.metric("jaas_server_response_bytes_total") >= f64::from(u32::try_from(6 * BODY.len()).unwrap()));
}

#[test]
fn an_artifact_deleted_from_storage_stops_being_served_after_the_revalidation_interval() {
    let dir = TempDir::new().unwrap();
    let root = dir.path().join("artifacts");
    let key = seed_local(&root, "team-a", "web", BODY);
    let root_arg = root.to_str().unwrap();
    let args = ["--storage-backend", "local", "--storage-path", root_arg, "--cache-revalidate-after", "1s"];
    let server = Server::start(dir.path(), &args, &[]);
    let path = key.url_path();
    let etag = server.get(&path, &[]).header("etag").unwrap().to_owned();

    // Deleted the way the controller's garbage collection deletes it.
    let store = LocalStore::new(root.clone(), Duration::from_hours(1));
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(store.delete(&key)).unwrap();
    assert!(!root.join(key.relative_path()).exists());
    let cached = server.get(&path, &[]);
    assert_eq!((cached.status, cached.body.as_slice()), (200, BODY), "within the interval hits come from memory");

    std::thread::sleep(Duration::from_millis(1300));
    assert_eq!(server.get(&path, &[("If-None-Match", etag.as_str())]).status, 404, "revalidated, gone");
    assert_eq!(server.get(&path, &[]).status, 404, "evicted, so a miss");
    assert_eq!(request(server.port, "HEAD", &path, &[]).unwrap().status, 404);
    assert!(server.metric_with("jaas_server_cache_revalidations_total", "result=\"gone\"") > 0.5);
    assert!(server.metric("jaas_server_cache_bytes") < 0.5, "the evicted body is still counted");
}

#[test]
fn everything_but_an_artifact_is_404_and_other_methods_405() {
    let (_dir, server, path) = start();
    let missing = path.replace(&jaas_shared::Digest::of(BODY).hex(), &"0".repeat(64));
    for other in ["/", "/team-a", "/team-a/", "/team-a/web", "/team-a/web/", "/metrics", &missing] {
        assert_eq!(server.get(other, &[]).status, 404, "{other}");
    }
    assert_eq!(server.get(&format!("{path}?download=1"), &[]).status, 404);
    for method in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"] {
        let response = request(server.port, method, &path, &[("Content-Length", "0")]).unwrap();
        assert_eq!(response.status, 405, "{method}");
        assert_eq!(response.header("allow"), Some("GET, HEAD"), "{method}");
    }
    assert!(server.metric("jaas_server_requests_total") >= 13.0);
}

#[test]
fn probes_and_metrics_live_on_their_own_port_and_every_response_is_logged() {
    let (_dir, server, path) = start();
    assert_eq!(server.get(&path, &[]).status, 200);
    assert_eq!(request(server.metrics_port, "GET", "/readyz", &[]).unwrap().status, 200);
    assert_eq!(request(server.metrics_port, "GET", &path, &[]).unwrap().status, 404);
    assert_eq!(server.get("/healthz", &[]).status, 404);
    let text = String::from_utf8(request(server.metrics_port, "GET", "/metrics", &[]).unwrap().body).unwrap();
    for name in [
        "jaas_server_requests_total",
        "jaas_server_response_bytes_total",
        "jaas_server_cache_hits_total",
        "jaas_server_cache_misses_total",
        "jaas_server_cache_coalesced_misses_total",
        "jaas_server_cache_bytes",
        "jaas_server_backend_duration_seconds",
    ] {
        assert!(text.contains(name), "{name} missing");
    }
    let logs = server.logs();
    let access: Vec<serde_json::Value> = logs
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|line| line["target"] == "access")
        .collect();
    let line = access
        .iter()
        .find(|line| line["path"] == path.as_str())
        .unwrap_or_else(|| panic!("no JSON access log line for {path}:\n{logs}"));
    assert_eq!((line["method"].as_str(), line["status"].as_u64()), (Some("GET"), Some(200)), "{line}");
    assert!(matches!(line["source"].as_str(), Some("cache" | "backend")), "{line}");
    assert!(line["peer"].as_str().is_some_and(|peer| peer.starts_with("127.0.0.1:")), "{line}");
    assert!(line["elapsed_us"].is_u64() && line["length"].as_u64().is_some_and(|n| n > 0), "{line}");
}
