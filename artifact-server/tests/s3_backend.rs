//! The real binary against a real S3 server (Ceph radosgw in CI), configured by `JAAS_S3_ENDPOINT`,
//! `JAAS_S3_BUCKET`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_REGION`. Without them these tests fail:
//! an S3 path that silently never runs is worse than a red test. Start radosgw with
//! `eval "$(bash e2e/s3-start.sh)"`.
//!
//! Outages are real: the server talks to S3 through a TCP proxy the test switches to refusing or black-holing
//! connections (cutting the open ones), so cached revisions must come from memory (also when their revalidation
//! cannot reach S3) and the rest must get 503. The same proxy makes S3 slow, so that concurrent misses on one
//! artifact overlap and must share one S3 read. Revision records (`--serve-records`) are never served from memory,
//! so an outage answers them 503.

#![allow(clippy::unwrap_used)]

mod common;

use std::net::{SocketAddr, ToSocketAddrs};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::proxy::{Mode, Proxy};
use common::{Server, request};
use jaas_shared::{ArtifactKey, ArtifactStore, ChecksumMode, Digest, S3Credentials, S3Settings, S3Store};
use tempfile::TempDir;

/// The S3 server the tests use.
struct S3Env {
    endpoint: String,
    bucket: String,
    access_key: String,
    secret_key: String,
    region: String,
}

fn s3_env() -> S3Env {
    let names = ["JAAS_S3_ENDPOINT", "JAAS_S3_BUCKET", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"];
    let values: Vec<Option<String>> = names.iter().map(|n| std::env::var(n).ok().filter(|v| !v.is_empty())).collect();
    let missing: Vec<&str> = names.iter().zip(&values).filter(|(_, v)| v.is_none()).map(|(n, _)| *n).collect();
    assert!(
        missing.is_empty(),
        "the S3 tests need a real S3 server, but {} not set; start one with `eval \"$(bash e2e/s3-start.sh)\"`",
        missing.join(", ")
    );
    let [endpoint, bucket, access_key, secret_key, region] =
        <[String; 5]>::try_from(values.into_iter().map(Option::unwrap_or_default).collect::<Vec<_>>()).unwrap();
    S3Env { endpoint, bucket, access_key, secret_key, region }
}

impl S3Env {
    /// The endpoint's socket address, for the proxy.
    fn socket_addr(&self) -> SocketAddr {
        let authority = self.endpoint.split_once("://").map_or(self.endpoint.as_str(), |(_, rest)| rest);
        authority.trim_end_matches('/').to_socket_addrs().unwrap().next().unwrap()
    }

    /// A prefix no other test run uses.
    fn unique_prefix(test: &str) -> String {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        format!("artifact-server-tests/{test}-{}-{nanos}", std::process::id())
    }

    /// Writes artifacts straight to S3 with the shared backend, as the controller would.
    fn seed(&self, prefix: &str, bodies: &[&[u8]]) -> Vec<ArtifactKey> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let store = self.store(prefix).await;
            let mut keys = Vec::new();
            for body in bodies {
                let key = ArtifactKey::new("team-a", "web", Digest::of(body)).unwrap();
                store.put(&key, Bytes::copy_from_slice(body)).await.unwrap();
                keys.push(key);
            }
            keys
        })
    }

    /// Deletes an artifact straight from S3, as the controller's garbage collection would.
    fn delete(&self, prefix: &str, key: &ArtifactKey) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async { self.store(prefix).await.delete(key).await.unwrap() });
    }

    /// The shared S3 backend under `prefix`, talking to S3 directly.
    async fn store(&self, prefix: &str) -> S3Store {
        let settings = S3Settings {
            endpoint_url: self.endpoint.clone(),
            force_path_style: true,
            bucket: self.bucket.clone(),
            prefix: prefix.to_owned(),
            region: self.region.clone(),
            credentials: S3Credentials::Static {
                access_key: self.access_key.clone(),
                secret_key: self.secret_key.clone(),
                session_token: None,
            },
            checksum: ChecksumMode::WhenRequired,
        };
        S3Store::new(settings).await
    }

    /// Starts the server on `endpoint` (the real one or a proxy) with extra flags.
    fn server(&self, dir: &TempDir, endpoint: &str, prefix: &str, extra: &[&str]) -> Server {
        let mut args = vec!["--storage-backend", "s3", "--s3-endpoint", endpoint, "--s3-bucket", &self.bucket];
        args.extend(["--s3-prefix", prefix, "--s3-region", &self.region]);
        args.extend(extra);
        let envs = [("JAAS_S3_ACCESS_KEY", self.access_key.as_str()), ("JAAS_S3_SECRET_KEY", self.secret_key.as_str())];
        Server::start(dir.path(), &args, &envs)
    }
}

#[test]
fn s3_artifacts_are_served_with_ranges_etags_and_errors() {
    let env = s3_env();
    let prefix = S3Env::unique_prefix("statuses");
    let large = common::pseudo_random(3 << 20, 3);
    let keys = env.seed(&prefix, &[b"small artifact on s3", &large]);
    let dir = TempDir::new().unwrap();
    let server = env.server(&dir, &env.endpoint, &prefix, &[]);
    for (key, body) in keys.iter().zip([&b"small artifact on s3"[..], &large]) {
        let path = key.url_path();
        for _ in 0..2 {
            let get = server.get(&path, &[]);
            assert_eq!((get.status, get.body.len()), (200, body.len()));
            assert!(get.body == body, "{path}: wrong bytes");
            let head = request(server.port, "HEAD", &path, &[]).unwrap();
            assert_eq!(head.stable_headers(), get.stable_headers());
            let partial = server.get(&path, &[("Range", "bytes=4-9")]);
            assert_eq!((partial.status, partial.body.as_slice()), (206, &body[4..10]));
            let partial_head = request(server.port, "HEAD", &path, &[("Range", "bytes=4-9")]).unwrap();
            assert_eq!(partial_head.stable_headers(), partial.stable_headers());
            let beyond = server.get(&path, &[("Range", &format!("bytes={}-", body.len()))]);
            assert_eq!(beyond.status, 416);
            assert_eq!(beyond.header("content-range"), Some(format!("bytes */{}", body.len()).as_str()));
            let etag = get.header("etag").unwrap();
            assert_eq!(server.get(&path, &[("If-None-Match", etag)]).status, 304);
        }
    }
    let missing = ArtifactKey::new("team-a", "web", Digest::of(b"never stored")).unwrap();
    assert_eq!(server.get(&missing.url_path(), &[]).status, 404);
    assert_eq!(request(server.port, "DELETE", &keys[0].url_path(), &[]).unwrap().status, 405);
    let calls = server.backend_calls();
    let file = keys[0].digest().file_name();
    for hostile in
        [format!("/team-a/%2e%2e/{file}"), format!("/team-a/web%2f/{file}"), format!("/team-a/web/{file}%00")]
    {
        assert_eq!(server.get(&hostile, &[]).status, 404, "{hostile}");
    }
    assert!(server.backend_calls() - calls < 0.5, "a hostile path reached S3");
    assert_eq!(request(server.metrics_port, "GET", "/readyz", &[]).unwrap().status, 200);
}

#[test]
fn concurrent_misses_on_a_new_revision_make_one_s3_read() {
    let env = s3_env();
    let prefix = S3Env::unique_prefix("coalesce");
    let body = common::pseudo_random(200 << 10, 5);
    let keys = env.seed(&prefix, &[&body]);
    let path = keys[0].url_path();
    let proxy = Proxy::start(env.socket_addr());
    let dir = TempDir::new().unwrap();
    let server = env.server(&dir, &proxy.url(), &prefix, &[]);
    // S3 answers slowly, so the eight requests below arrive while the first one is still reading.
    proxy.set_delay(Duration::from_millis(300));
    let gets_before = server.metric_with("jaas_server_backend_duration_seconds_count", "operation=\"get\"");
    let port = server.port;
    let clients: Vec<_> = (0..8)
        .map(|_| {
            let path = path.clone();
            std::thread::spawn(move || request(port, "GET", &path, &[]).unwrap())
        })
        .collect();
    for client in clients {
        let response = client.join().unwrap();
        assert_eq!(response.status, 200);
        assert!(response.body == body, "wrong bytes");
    }
    let gets = server.metric_with("jaas_server_backend_duration_seconds_count", "operation=\"get\"") - gets_before;
    assert!((gets - 1.0).abs() < f64::EPSILON, "eight concurrent misses made {gets} S3 GETs, want 1");
    let coalesced = server.metric("jaas_server_cache_coalesced_misses_total");
    assert!(coalesced >= 1.0, "no request waited for the first one's read: {coalesced}");
    eprintln!("8 concurrent requests: 1 S3 GET, {coalesced} waited for it, the rest hit the cache");
}

#[test]
fn during_an_s3_outage_cached_revisions_are_served_and_others_get_503() {
    let env = s3_env();
    let prefix = S3Env::unique_prefix("outage");
    let keys = env.seed(&prefix, &[b"cached revision", b"uncached revision"]);
    let (cached, uncached) = (keys[0].url_path(), keys[1].url_path());
    let proxy = Proxy::start(env.socket_addr());
    let dir = TempDir::new().unwrap();
    let server = env.server(&dir, &proxy.url(), &prefix, &["--backend-timeout", "2s", "--retry-after", "9s"]);
    assert_eq!(server.get(&cached, &[]).body, b"cached revision");

    for mode in [Mode::Reject, Mode::Blackhole] {
        proxy.set_mode(mode);
        let started = Instant::now();
        let hit = server.get(&cached, &[]);
        assert_eq!((hit.status, hit.body.as_slice()), (200, &b"cached revision"[..]), "{mode:?}");
        assert!(started.elapsed() < Duration::from_millis(500), "{mode:?}: a cache hit waited for S3");
        let started = Instant::now();
        let miss = server.get(&uncached, &[]);
        let waited = started.elapsed();
        assert_eq!(miss.status, 503, "{mode:?}");
        assert_eq!(miss.header("retry-after"), Some("9"), "{mode:?}");
        assert!(waited < Duration::from_secs(4), "{mode:?}: 503 took {waited:?} with --backend-timeout 2s");
        assert_eq!(request(server.metrics_port, "GET", "/readyz", &[]).unwrap().status, 503, "{mode:?}");
    }

    proxy.set_mode(Mode::Forward);
    let recovered = server.get(&uncached, &[]);
    assert_eq!((recovered.status, recovered.body.as_slice()), (200, &b"uncached revision"[..]), "after the outage");
    assert_eq!(request(server.metrics_port, "GET", "/readyz", &[]).unwrap().status, 200);
}

#[test]
fn s3_records_are_served_when_enabled_never_from_memory() {
    let env = s3_env();
    let prefix = S3Env::unique_prefix("records");
    let keys = env.seed(&prefix, &[b"revision with a record"]);
    let record = keys[0].record_key();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime
        .block_on(async { env.store(&prefix).await.put(&record, Bytes::from_static(b"zstd record")).await.unwrap() });
    let proxy = Proxy::start(env.socket_addr());
    let dir = TempDir::new().unwrap();
    let flags = ["--serve-records", "--backend-timeout", "2s", "--retry-after", "9s"];
    let server = env.server(&dir, &proxy.url(), &prefix, &flags);
    let (tarball_path, record_path) = (keys[0].url_path(), record.url_path());

    let get = server.get(&record_path, &[]);
    assert_eq!((get.status, get.body.as_slice()), (200, &b"zstd record"[..]));
    assert_eq!((get.header("content-type"), get.header("cache-control")), (Some("application/zstd"), Some("no-cache")));
    assert_eq!(get.header("etag"), None);
    let head = request(server.port, "HEAD", &record_path, &[]).unwrap();
    assert_eq!(head.stable_headers(), get.stable_headers());
    let missing = ArtifactKey::new("team-a", "web", Digest::of(b"never stored")).unwrap().record_key();
    assert_eq!(server.get(&missing.url_path(), &[]).status, 404);
    assert_eq!(server.get(&tarball_path, &[]).status, 200);

    proxy.set_mode(Mode::Reject);
    let tarball = server.get(&tarball_path, &[]);
    assert_eq!((tarball.status, tarball.body.as_slice()), (200, &b"revision with a record"[..]), "a cached tarball");
    let outage = server.get(&record_path, &[]);
    assert_eq!((outage.status, outage.header("retry-after")), (503, Some("9")), "a record is never served from memory");
    assert_eq!(request(server.port, "HEAD", &record_path, &[]).unwrap().status, 503);
    proxy.set_mode(Mode::Forward);
    assert_eq!(server.get(&record_path, &[]).body, b"zstd record");
}

#[test]
fn revalidation_serves_cached_revisions_through_an_outage_and_forgets_deleted_ones() {
    let env = s3_env();
    let prefix = S3Env::unique_prefix("revalidate");
    let keys = env.seed(&prefix, &[b"revision to delete"]);
    let path = keys[0].url_path();
    let proxy = Proxy::start(env.socket_addr());
    let dir = TempDir::new().unwrap();
    // Every hit revalidates, so every hit during the outage meets the outage.
    let flags = ["--cache-revalidate-after", "0s", "--backend-timeout", "1s"];
    let server = env.server(&dir, &proxy.url(), &prefix, &flags);
    assert_eq!(server.get(&path, &[]).body, b"revision to delete");

    for mode in [Mode::Reject, Mode::Blackhole] {
        proxy.set_mode(mode);
        let started = Instant::now();
        let hit = server.get(&path, &[]);
        assert_eq!((hit.status, hit.body.as_slice()), (200, &b"revision to delete"[..]), "{mode:?}: stale-if-error");
        let waited = started.elapsed();
        assert!(waited < Duration::from_secs(3), "{mode:?}: a hit took {waited:?} with --backend-timeout 1s");
    }
    assert!(server.metric_with("jaas_server_cache_revalidations_total", "result=\"error\"") > 1.5);

    proxy.set_mode(Mode::Forward);
    env.delete(&prefix, &keys[0]);
    assert_eq!(server.get(&path, &[]).status, 404, "deleted from S3, so gone from the cache");
    assert!(server.metric_with("jaas_server_cache_revalidations_total", "result=\"gone\"") > 0.5);
}

#[test]
fn memory_stays_bounded_while_streaming_from_s3() {
    let env = s3_env();
    let prefix = S3Env::unique_prefix("memory");
    let body = common::pseudo_random(1 << 20, 11).repeat(48);
    let keys = env.seed(&prefix, &[&body]);
    let dir = TempDir::new().unwrap();
    let server = env.server(&dir, &env.endpoint, &prefix, &[]);
    let baseline = server.rss_kib();
    let path = keys[0].url_path();
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let port = server.port;
            let path = path.clone();
            std::thread::spawn(move || request(port, "GET", &path, &[]).unwrap())
        })
        .collect();
    let peak = server.peak_rss_kib_while(&readers).max(baseline);
    for reader in readers {
        let response = reader.join().unwrap();
        assert_eq!(response.status, 200);
        assert!(response.body == body, "corrupt download");
    }
    eprintln!("RSS baseline {baseline} KiB, peak {peak} KiB while sending 4 x 48 MiB from S3");
    assert!(peak < baseline + 64 * 1024, "RSS grew from {baseline} KiB to {peak} KiB");
}
