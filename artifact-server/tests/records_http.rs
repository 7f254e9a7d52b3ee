//! The real binary over the local backend with revision records beside the tarballs: without `--serve-records` a
//! record path is answered exactly like an unknown path and never reaches storage; with it (flag or
//! `JAAS_SERVE_RECORDS`) the record is streamed from storage, whole, uncached and without validators; tarballs are
//! served the same either way.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use common::{Server, request, seed_local};
use jaas_shared::ArtifactKey;
use tempfile::TempDir;

const BODY: &[u8] = b"a tarball, as far as this test is concerned";
const RECORD: &[u8] = b"\x28\xb5\x2f\xfd a zstd frame, as far as this test is concerned";

/// Seeds a tarball and its record into `<dir>/artifacts` as the controller lays them out; returns the tarball key.
fn seed(dir: &Path) -> ArtifactKey {
    let root = dir.join("artifacts");
    let key = seed_local(&root, "team-a", "web", BODY);
    std::fs::write(root.join(key.record_key().relative_path()), RECORD).unwrap();
    key
}

fn start(dir: &TempDir, extra: &[&str], envs: &[(&str, &str)]) -> Server {
    let root = dir.path().join("artifacts");
    let args = [&["--storage-backend", "local", "--storage-path", root.to_str().unwrap()], extra].concat();
    Server::start(dir.path(), &args, envs)
}

#[test]
fn without_serve_records_a_record_path_is_an_unknown_path() {
    let dir = TempDir::new().unwrap();
    let record = seed(dir.path()).record_key().url_path();
    let server = start(&dir, &[], &[]);
    let calls = server.backend_calls();
    for method in ["GET", "HEAD", "POST"] {
        let answer = request(server.port, method, &record, &[("Content-Length", "0")]).unwrap();
        let unknown = request(server.port, method, "/team-a/web/unknown", &[("Content-Length", "0")]).unwrap();
        assert_eq!(answer.status, 404, "{method}");
        assert_eq!((answer.stable_headers(), &answer.body), (unknown.stable_headers(), &unknown.body), "{method}");
    }
    assert!(server.backend_calls() - calls < 0.5, "a hidden record reached storage");
}

#[test]
fn with_serve_records_a_record_is_streamed_whole_from_storage_every_time() {
    let dir = TempDir::new().unwrap();
    let key = seed(dir.path());
    let record = key.record_key();
    let server = start(&dir, &["--serve-records"], &[]);
    let path = record.url_path();
    let calls = server.backend_calls();
    for headers in [vec![], vec![("Range", "bytes=2-5")], vec![("If-None-Match", "*")]] {
        let get = server.get(&path, &headers);
        assert_eq!((get.status, get.body.as_slice()), (200, RECORD), "{headers:?}");
        assert_eq!(get.header("content-type"), Some("application/zstd"));
        assert_eq!(get.header("cache-control"), Some("no-cache"));
        assert_eq!(get.header("content-length"), Some(RECORD.len().to_string().as_str()));
        for absent in ["etag", "last-modified", "content-range"] {
            assert_eq!(get.header(absent), None, "{absent} on a record");
        }
        let head = request(server.port, "HEAD", &path, &headers).unwrap();
        assert_eq!((head.status, head.stable_headers()), (200, get.stable_headers()), "{headers:?}");
        assert!(head.body.is_empty());
    }
    assert!(server.backend_calls() - calls > 5.5, "every record GET and HEAD asks storage");
    assert!(server.metric("jaas_server_cache_bytes") < 0.5, "a record went into the cache");

    // The controller rewrites a record when its revision becomes current again: served at once.
    std::fs::write(dir.path().join("artifacts").join(record.relative_path()), b"rewritten").unwrap();
    assert_eq!(server.get(&path, &[]).body, b"rewritten");
    std::fs::remove_file(dir.path().join("artifacts").join(record.relative_path())).unwrap();
    assert_eq!(server.get(&path, &[]).status, 404);
    assert_eq!(request(server.port, "HEAD", &path, &[]).unwrap().status, 404);
    assert_eq!(request(server.port, "DELETE", &path, &[]).unwrap().status, 405);
}

#[test]
fn tarball_routes_are_the_same_with_records_on_or_off() {
    let dir = TempDir::new().unwrap();
    let key = seed(dir.path());
    let path = key.url_path();
    let off = start(&dir, &[], &[]);
    let on = start(&dir, &[], &[("JAAS_SERVE_RECORDS", "true")]);
    assert_eq!(on.get(&key.record_key().url_path(), &[]).status, 200, "JAAS_SERVE_RECORDS is read");
    let etag = off.get(&path, &[]).header("etag").unwrap().to_owned();
    assert_eq!(etag, format!("\"{}\"", jaas_shared::Digest::of(BODY).hex()));
    for headers in [vec![], vec![("Range", "bytes=2-5")], vec![("If-None-Match", etag.as_str())]] {
        for method in ["GET", "HEAD"] {
            let (a, b) = (
                request(off.port, method, &path, &headers).unwrap(),
                request(on.port, method, &path, &headers).unwrap(),
            );
            assert_eq!(
                (a.status, a.stable_headers(), a.body),
                (b.status, b.stable_headers(), b.body),
                "{method} {headers:?}"
            );
        }
    }
    let answer = on.get(&path, &[]);
    assert_eq!(answer.header("cache-control"), Some("public, max-age=31536000, immutable"));
    assert_eq!(answer.header("content-type"), Some("application/gzip"));
}
