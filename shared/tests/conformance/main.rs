//! The one conformance suite every `ArtifactStore` backend must pass: each check below runs against the local
//! backend (a temp dir) and against a real S3 server configured by `JAAS_S3_ENDPOINT`, `JAAS_S3_BUCKET`,
//! `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_REGION` (`eval "$(bash e2e/s3-start.sh)"`). Without those the
//! S3 tests fail; they never skip. Backend-specific failure modes (a server that is down, a writer killed mid-write)
//! follow the shared checks.

#![allow(clippy::unwrap_used, clippy::missing_panics_doc)]

use std::collections::{BTreeSet, HashSet};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use clap::Parser;
use jaas_shared::gc::{Revision, plan_deletions, records_to_delete};
use jaas_shared::layout::ObjectKind;
use jaas_shared::{
    ArtifactKey, ArtifactStore, ByteRange, Digest, LocalStore, SnippetRef, StorageArgs, StoreError, etag_for,
};

/// A unique id for this test run, so runs against a shared bucket never see each other's objects.
fn run_id() -> &'static str {
    static ID: OnceLock<String> = OnceLock::new();
    ID.get_or_init(|| {
        let nanos = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_nanos();
        format!("r{}-{}", std::process::id(), nanos % 1_000_000_000_000)
    })
}

/// A namespace of its own for each check (a DNS-1123 label).
fn namespace(check: &str) -> String {
    let check: String = check.chars().map(|c| if c == '_' { '-' } else { c }).take(30).collect();
    format!("{}-{}", run_id(), check.trim_end_matches('-'))
}

/// Deterministic, incompressible-looking bytes.
fn payload(len: usize, seed: u64) -> Bytes {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect::<Vec<u8>>()
        .into()
}

fn key_for(ns: &str, name: &str, bytes: &[u8]) -> ArtifactKey {
    ArtifactKey::new(ns, name, Digest::of(bytes)).unwrap()
}

fn assert_recent(time: SystemTime) {
    let now = SystemTime::now();
    let skew = now.duration_since(time).unwrap_or_else(|e| e.duration());
    assert!(skew < Duration::from_mins(2), "last_modified {time:?} is {skew:?} away from now");
}

// ---------------------------------------------------------------------------------------------------------------
// The shared checks.

async fn round_trip(store: &dyn ArtifactStore, ns: &str) {
    let bytes = payload(300 * 1024, 1); // several 64 KiB chunks
    let key = key_for(ns, "app", &bytes);
    store.put(&key, bytes.clone()).await.unwrap();
    let got = store.get(&key, None).await.unwrap();
    assert_eq!(got.range, 0..bytes.len() as u64);
    assert_eq!(got.meta.size, bytes.len() as u64);
    assert_eq!(got.meta.etag, etag_for(&key));
    assert_eq!(got.meta.etag, format!("\"{}\"", key.digest().hex()));
    assert_eq!(got.meta.key, key);
    assert_recent(got.meta.last_modified);
    assert!(got.bytes().await.unwrap() == bytes, "body differs from what was put");
    let head = store.head(&key).await.unwrap();
    assert_eq!((head.size, head.etag.as_str()), (bytes.len() as u64, etag_for(&key).as_str()));
    store.delete(&key).await.unwrap();
}

async fn ranges(store: &dyn ArtifactStore, ns: &str) {
    let bytes = payload(1000, 2);
    let key = key_for(ns, "app", &bytes);
    store.put(&key, bytes.clone()).await.unwrap();
    let cases: &[(ByteRange, std::ops::Range<usize>)] = &[
        (ByteRange::FromTo { first: 0, last: 0 }, 0..1),
        (ByteRange::FromTo { first: 999, last: 999 }, 999..1000),
        (ByteRange::FromTo { first: 10, last: 19 }, 10..20),
        (ByteRange::FromTo { first: 990, last: 5000 }, 990..1000),
        (ByteRange::From(998), 998..1000),
        (ByteRange::Suffix(1), 999..1000),
        (ByteRange::Suffix(10), 990..1000),
        (ByteRange::Suffix(5000), 0..1000),
    ];
    for (range, expected) in cases {
        let got = store.get(&key, Some(*range)).await.unwrap_or_else(|e| panic!("{range:?}: {e}"));
        assert_eq!(got.range, expected.start as u64..expected.end as u64, "{range:?}");
        assert_eq!(got.meta.size, 1000, "{range:?}: size is the whole object's");
        assert!(got.bytes().await.unwrap() == bytes[expected.clone()], "{range:?}: wrong bytes");
    }
    for range in [
        ByteRange::From(1000),
        ByteRange::FromTo { first: 1000, last: 1001 },
        ByteRange::FromTo { first: 5, last: 2 },
        ByteRange::Suffix(0),
    ] {
        match store.get(&key, Some(range)).await {
            Err(StoreError::InvalidRange { size }) => assert_eq!(size, 1000, "{range:?}"),
            other => panic!("{range:?}: expected InvalidRange, got {other:?}"),
        }
    }
    store.delete(&key).await.unwrap();
}

async fn reput_is_idempotent_and_refreshes_last_modified(store: &dyn ArtifactStore, ns: &str) {
    let bytes = payload(4096, 3);
    let key = key_for(ns, "app", &bytes);
    store.put(&key, bytes.clone()).await.unwrap();
    let first = store.head(&key).await.unwrap().last_modified;
    // S3 times have one-second resolution.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    store.put(&key, bytes.clone()).await.unwrap();
    let second = store.head(&key).await.unwrap();
    assert!(second.last_modified > first, "re-put kept last_modified at {first:?}");
    let listed = store.list(key.snippet()).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].last_modified, second.last_modified, "list and head disagree on the time");
    assert!(store.get(&key, None).await.unwrap().bytes().await.unwrap() == bytes);
    store.delete(&key).await.unwrap();
}

async fn concurrent_puts_of_one_key(store: &dyn ArtifactStore, ns: &str) {
    let bytes = payload(256 * 1024, 4);
    let key = key_for(ns, "app", &bytes);
    let puts = (0..8).map(|_| store.put(&key, bytes.clone()));
    for result in futures::future::join_all(puts).await {
        result.unwrap();
    }
    assert!(store.get(&key, None).await.unwrap().bytes().await.unwrap() == bytes);
    let listed = store.list(key.snippet()).await.unwrap();
    assert_eq!(listed.iter().map(|m| m.key.clone()).collect::<Vec<_>>(), vec![key.clone()]);
    store.delete(&key).await.unwrap();
}

async fn list_returns_only_that_snippets_revisions(store: &dyn ArtifactStore, ns: &str) {
    let snippet = SnippetRef::new(ns, "app").unwrap();
    let mut expected = BTreeSet::new();
    for seed in 10..13 {
        let bytes = payload(100 + usize::try_from(seed).unwrap(), seed);
        let key = snippet.revision(Digest::of(&bytes));
        store.put(&key, bytes.clone()).await.unwrap();
        expected.insert((key, bytes.len() as u64));
    }
    // Neighbours whose paths share a prefix with it must not show up.
    let neighbours = [key_for(ns, "app-2", b"other"), key_for(ns, "ap", b"other"), key_for(ns, "app.x", b"other")];
    for key in &neighbours {
        store.put(key, Bytes::from_static(b"other")).await.unwrap();
    }
    let listed = store.list(&snippet).await.unwrap();
    let got: BTreeSet<(ArtifactKey, u64)> = listed.iter().map(|m| (m.key.clone(), m.size)).collect();
    assert_eq!(got, expected);
    for meta in &listed {
        assert_recent(meta.last_modified);
        assert_eq!(meta.etag, etag_for(&meta.key));
    }
    assert!(store.list(&SnippetRef::new(ns, "nothing-here").unwrap()).await.unwrap().is_empty());
    for (key, _) in &expected {
        store.delete(key).await.unwrap();
    }
    for key in &neighbours {
        store.delete(key).await.unwrap();
    }
    assert!(store.list(&snippet).await.unwrap().is_empty());
}

async fn delete_is_idempotent(store: &dyn ArtifactStore, ns: &str) {
    let bytes = payload(2048, 5);
    let key = key_for(ns, "app", &bytes);
    let sibling = key_for(ns, "app", b"sibling");
    store.put(&key, bytes).await.unwrap();
    store.put(&sibling, Bytes::from_static(b"sibling")).await.unwrap();
    store.delete(&key).await.unwrap();
    assert!(matches!(store.head(&key).await, Err(StoreError::NotFound(_))));
    assert!(store.head(&sibling).await.is_ok(), "deleting one revision touched another");
    store.delete(&key).await.unwrap();
    store.delete(&key_for(ns, "never-written", b"x")).await.unwrap();
    store.delete(&sibling).await.unwrap();
    assert!(store.list(key.snippet()).await.unwrap().is_empty());
}

async fn missing_objects_are_not_found(store: &dyn ArtifactStore, ns: &str) {
    let key = key_for(ns, "app", b"never stored");
    assert!(matches!(store.head(&key).await, Err(StoreError::NotFound(_))), "head");
    assert!(matches!(store.get(&key, None).await, Err(StoreError::NotFound(_))), "get");
    assert!(matches!(store.get(&key, Some(ByteRange::From(0))).await, Err(StoreError::NotFound(_))), "ranged get");
    assert!(store.list(key.snippet()).await.unwrap().is_empty());
    store.check().await.unwrap();
    store.sweep().await.unwrap();
}

// ---------------------------------------------------------------------------------------------------------------
// Revision records: a second object per revision, beside its tarball and named by the tarball's digest.

async fn record_round_trip(store: &dyn ArtifactStore, ns: &str) {
    let tarball_bytes = payload(5000, 20);
    let record = key_for(ns, "app", &tarball_bytes).record_key();
    let bytes = payload(70 * 1024, 21); // more than one 64 KiB chunk
    store.put(&record, bytes.clone()).await.unwrap();
    let got = store.get(&record, None).await.unwrap();
    assert_eq!((got.meta.key.kind(), got.meta.size), (ObjectKind::Record, bytes.len() as u64));
    assert_eq!(got.meta.key, record);
    assert_eq!(got.meta.etag, format!("\"{}.record\"", record.digest().hex()));
    assert_recent(got.meta.last_modified);
    assert!(got.bytes().await.unwrap() == bytes, "record body differs from what was put");
    let head = store.head(&record).await.unwrap();
    assert_eq!((head.size, head.etag.as_str(), &head.key), (bytes.len() as u64, etag_for(&record).as_str(), &record));
    assert!(matches!(store.head(&record.tarball_key()).await, Err(StoreError::NotFound(_))), "no tarball was put");
    // A record is rewritten when its revision becomes current again: the new bytes replace the old.
    let rewritten = payload(100, 22);
    store.put(&record, rewritten.clone()).await.unwrap();
    assert!(store.get(&record, None).await.unwrap().bytes().await.unwrap() == rewritten);
    store.delete(&record).await.unwrap();
    assert!(matches!(store.head(&record).await, Err(StoreError::NotFound(_))), "head after delete");
    assert!(matches!(store.get(&record, None).await, Err(StoreError::NotFound(_))), "get after delete");
    store.delete(&record).await.unwrap();
    assert!(store.list(record.snippet()).await.unwrap().is_empty());
}

async fn list_reports_a_tarball_and_its_record_as_two_objects(store: &dyn ArtifactStore, ns: &str) {
    let tarball_bytes = payload(3000, 23);
    let tarball = key_for(ns, "app", &tarball_bytes);
    let record_bytes = payload(300, 24);
    store.put(&tarball, tarball_bytes.clone()).await.unwrap();
    store.put(&tarball.record_key(), record_bytes.clone()).await.unwrap();
    let listed = store.list(tarball.snippet()).await.unwrap();
    let got: BTreeSet<(ObjectKind, Digest, u64, String)> =
        listed.iter().map(|m| (m.key.kind(), m.key.digest(), m.size, m.etag.clone())).collect();
    let expected = BTreeSet::from([
        (ObjectKind::Tarball, tarball.digest(), tarball_bytes.len() as u64, etag_for(&tarball)),
        (ObjectKind::Record, tarball.digest(), record_bytes.len() as u64, etag_for(&tarball.record_key())),
    ]);
    assert_eq!(got, expected);
    assert_ne!(etag_for(&tarball), etag_for(&tarball.record_key()));
    for meta in &listed {
        assert_recent(meta.last_modified);
    }
    store.delete(&tarball).await.unwrap();
    store.delete(&tarball.record_key()).await.unwrap();
    assert!(store.list(tarball.snippet()).await.unwrap().is_empty());
}

async fn deleting_one_object_of_a_revision_leaves_the_other(store: &dyn ArtifactStore, ns: &str) {
    let tarball_bytes = payload(2000, 25);
    let tarball = key_for(ns, "app", &tarball_bytes);
    let record = tarball.record_key();
    let record_bytes = Bytes::from_static(b"record");
    let keys_of = |listed: Vec<jaas_shared::ObjectMeta>| listed.into_iter().map(|m| m.key).collect::<Vec<_>>();

    store.put(&record, record_bytes.clone()).await.unwrap();
    store.put(&tarball, tarball_bytes.clone()).await.unwrap();
    store.delete(&tarball).await.unwrap();
    assert!(matches!(store.head(&tarball).await, Err(StoreError::NotFound(_))));
    assert!(store.get(&record, None).await.unwrap().bytes().await.unwrap() == record_bytes, "the record went too");
    assert_eq!(keys_of(store.list(tarball.snippet()).await.unwrap()), vec![record.clone()]);

    store.put(&tarball, tarball_bytes.clone()).await.unwrap();
    store.delete(&record).await.unwrap();
    assert!(matches!(store.head(&record).await, Err(StoreError::NotFound(_))));
    assert!(store.get(&tarball, None).await.unwrap().bytes().await.unwrap() == tarball_bytes, "the tarball went too");
    assert_eq!(keys_of(store.list(tarball.snippet()).await.unwrap()), vec![tarball.clone()]);
    store.delete(&tarball).await.unwrap();
    assert!(store.list(tarball.snippet()).await.unwrap().is_empty());
}

/// Retention as the controller runs it: plan on tarballs, follow with records, delete tarballs first, then records.
async fn retention_with_records(store: &dyn ArtifactStore, ns: &str) {
    let snippet = SnippetRef::new(ns, "app").unwrap();
    // A tarball from before records (no record), three revisions with both objects, the newest current, and an
    // orphan record whose tarball was never written (a crash between the two writes).
    let legacy = Digest::of(&payload(900, 37));
    store.put(&snippet.revision(legacy), payload(900, 37)).await.unwrap();
    let mut revisions = Vec::new();
    for seed in [31, 33, 35] {
        let bytes = payload(1000, seed);
        let digest = Digest::of(&bytes);
        store.put(&snippet.record(digest), payload(50, seed + 100)).await.unwrap();
        store.put(&snippet.revision(digest), bytes).await.unwrap();
        revisions.push(digest);
    }
    let orphan = Digest::of(b"never written");
    store.put(&snippet.record(orphan), Bytes::from_static(b"orphan record")).await.unwrap();
    let current = revisions[2];

    let listed = store.list(&snippet).await.unwrap();
    assert_eq!(listed.len(), 8, "{listed:?}");
    let tarballs: Vec<Revision> = listed
        .iter()
        .filter(|m| m.key.kind() == ObjectKind::Tarball)
        .map(|m| Revision { digest: m.key.digest(), written: m.last_modified })
        .collect();
    let records: Vec<Digest> =
        listed.iter().filter(|m| m.key.kind() == ObjectKind::Record).map(|m| m.key.digest()).collect();
    let doomed = plan_deletions(&tarballs, Some(current), 1, Duration::ZERO, SystemTime::now());
    let kept: HashSet<Digest> = tarballs.iter().map(|r| r.digest).filter(|d| !doomed.contains(d)).collect();
    let doomed_records = records_to_delete(&kept, &records);

    // History 1 keeps only the current revision: the legacy tarball is a superseded revision like the others.
    assert_eq!(doomed.iter().copied().collect::<BTreeSet<_>>(), BTreeSet::from([legacy, revisions[0], revisions[1]]));
    assert_eq!(kept, HashSet::from([current]));
    let mut expected_records = vec![revisions[0], revisions[1], orphan];
    expected_records.sort();
    assert_eq!(doomed_records, expected_records, "the legacy tarball has no record to delete");

    for digest in &doomed {
        store.delete(&snippet.revision(*digest)).await.unwrap();
    }
    for digest in &doomed_records {
        store.delete(&snippet.record(*digest)).await.unwrap();
    }
    let left: BTreeSet<ArtifactKey> = store.list(&snippet).await.unwrap().into_iter().map(|m| m.key).collect();
    assert_eq!(left, BTreeSet::from([snippet.revision(current), snippet.record(current)]));
    store.delete(&snippet.revision(current)).await.unwrap();
    store.delete(&snippet.record(current)).await.unwrap();
    assert!(store.list(&snippet).await.unwrap().is_empty());
}

/// Runs each named check against the local backend (module `local`) and against S3 (module `s3`).
macro_rules! conformance {
    ($($check:ident),* $(,)?) => {
        mod local {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let dir = tempfile::tempdir().unwrap();
                let store = super::LocalStore::new(dir.path().join("artifacts"), std::time::Duration::from_mins(30));
                super::$check(&store, &super::namespace(stringify!($check))).await;
            })*
        }
        mod s3 {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $check() {
                let store = super::s3_store().await;
                super::$check(store.as_ref(), &super::namespace(stringify!($check))).await;
            })*
        }
    };
}

conformance!(
    round_trip,
    ranges,
    reput_is_idempotent_and_refreshes_last_modified,
    concurrent_puts_of_one_key,
    list_returns_only_that_snippets_revisions,
    delete_is_idempotent,
    missing_objects_are_not_found,
    record_round_trip,
    list_reports_a_tarball_and_its_record_as_two_objects,
    deleting_one_object_of_a_revision_leaves_the_other,
    retention_with_records,
);

// ---------------------------------------------------------------------------------------------------------------
// S3: the real server from the environment.

/// The flags a binary would get, parsed by the real flag parser (so `JAAS_S3_ENDPOINT`/`JAAS_S3_BUCKET` are read
/// from the environment the way the binaries read them).
#[derive(Parser)]
struct Flags {
    #[command(flatten)]
    storage: StorageArgs,
}

fn s3_flags(extra: &[&str]) -> StorageArgs {
    let missing: Vec<&str> =
        ["JAAS_S3_ENDPOINT", "JAAS_S3_BUCKET", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"]
            .into_iter()
            .filter(|name| std::env::var(name).map_or(true, |v| v.is_empty()))
            .collect();
    assert!(
        missing.is_empty(),
        "the S3 conformance tests need a real S3 server, but these are not set: {}; start one with \
         `eval \"$(bash e2e/s3-start.sh)\"` (Ceph radosgw on 127.0.0.1) or point these at another server",
        missing.join(", ")
    );
    let var = |name: &str| std::env::var(name).unwrap();
    let (access, secret, region) = (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY"), var("AWS_REGION"));
    let prefix = format!("jaas-conformance/{}", run_id());
    let mut args = vec!["conformance", "--storage-backend=s3", "--s3-prefix", &prefix, "--s3-region", &region];
    args.extend(["--s3-access-key", &access, "--s3-secret-key", &secret]);
    args.extend(extra);
    Flags::try_parse_from(args).unwrap().storage
}

async fn s3_store() -> Arc<dyn ArtifactStore> {
    s3_flags(&[]).open().await.unwrap_or_else(|e| panic!("opening the S3 store from the environment: {e}"))
}

#[tokio::test]
async fn s3_missing_bucket_is_a_clear_start_up_error() {
    let bucket = format!("jaas-missing-{}", run_id());
    let err = s3_flags(&["--s3-bucket", &bucket]).open().await.unwrap_err().to_string();
    assert!(err.contains(&format!("bucket {bucket} does not exist")), "{err}");
}

#[tokio::test]
async fn s3_anonymous_requests_are_sent_unsigned_and_refused() {
    let mut flags = s3_flags(&[]);
    (flags.s3_access_key, flags.s3_secret_key, flags.s3_anonymous) = (None, None, true);
    let err = flags.open().await.unwrap_err().to_string();
    assert!(err.contains("denied"), "an unsigned HeadBucket on a private bucket should be denied: {err}");
}

#[tokio::test]
async fn s3_server_down_is_unavailable_within_a_bound() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port(); // closed on drop
    let flags = s3_flags(&["--s3-endpoint", &format!("127.0.0.1:{port}"), "--s3-use-ssl=false"]);
    let store = jaas_shared::S3Store::new(flags.s3_settings().unwrap()).await;
    let key = key_for("ns", "app", b"x");
    let started = Instant::now();
    let results = [
        store.check().await.map(drop),
        store.head(&key).await.map(drop),
        store.get(&key, None).await.map(drop),
        store.put(&key, Bytes::from_static(b"x")).await,
        store.list(key.snippet()).await.map(drop),
        store.delete(&key).await,
    ];
    let took = started.elapsed();
    for (i, result) in results.iter().enumerate() {
        assert!(matches!(result, Err(StoreError::Unavailable(_))), "call {i}: expected Unavailable, got {result:?}");
        assert!(result.as_ref().unwrap_err().is_retryable());
    }
    assert!(took < Duration::from_secs(20), "six calls to a down server took {took:?}");
}

mod local_only;
