//! Checks of the local backend's own failure modes (a writer killed mid-write, foreign files in the tree) and of
//! the key layout that keeps every backend inside its root.

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use jaas_shared::layout::ObjectKind;
use jaas_shared::{ArtifactKey, ArtifactStore, Digest, LocalStore, SnippetRef, StoreError};

use super::{key_for, payload};

const CHILD_ROOT: &str = "JAAS_CONFORMANCE_KILLED_WRITER_ROOT";
const PAYLOAD: usize = 8 * 1024 * 1024;

fn tmp_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .filter(|p| p.to_str().is_some_and(|s| s.ends_with(".tar.gz.tmp")))
        .collect()
}

/// The writer that gets killed: a slow put (a pause after each 64 KiB) into the root named by the parent.
#[tokio::test]
#[ignore = "run as a child process by writer_killed_mid_put_leaves_only_sweepable_residue"]
async fn killed_writer_child() {
    let Ok(root) = std::env::var(CHILD_ROOT) else { return };
    let store = LocalStore::new(root.into(), Duration::from_hours(1)).with_write_pause(Duration::from_millis(20));
    let bytes = payload(PAYLOAD, 7);
    store.put(&key_for("killed", "app", &bytes), bytes).await.unwrap();
}

#[tokio::test]
async fn writer_killed_mid_put_leaves_only_sweepable_residue() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("artifacts");
    let bytes = payload(PAYLOAD, 7);
    let key = key_for("killed", "app", &bytes);
    let snippet_dir = root.join(key.snippet().relative_dir());

    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "local_only::killed_writer_child", "--nocapture"])
        .env(CHILD_ROOT, &root)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_mins(1);
    let seen = loop {
        let partial = tmp_files(&snippet_dir)
            .into_iter()
            .find(|p| std::fs::metadata(p).is_ok_and(|m| m.len() > 0 && m.len() < PAYLOAD as u64));
        if let Some(path) = partial {
            break path;
        }
        assert!(child.try_wait().unwrap().is_none(), "the writer finished before it could be killed");
        assert!(Instant::now() < deadline, "the writer never started writing");
        std::thread::sleep(Duration::from_millis(5));
    };
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(9), "the writer was not killed by SIGKILL: {status:?}");

    assert!(seen.exists(), "the partial temp file should remain as residue");
    let written = std::fs::metadata(&seen).unwrap().len();
    assert!(written > 0 && written < PAYLOAD as u64, "killed after {written} bytes");
    let store = LocalStore::new(root.clone(), Duration::from_hours(1));
    assert!(!root.join(key.relative_path()).exists(), "a partial object became visible");
    assert!(matches!(store.head(&key).await, Err(StoreError::NotFound(_))));
    assert!(matches!(store.get(&key, None).await, Err(StoreError::NotFound(_))));
    assert!(store.list(key.snippet()).await.unwrap().is_empty());

    // Too young for the configured age: untouched (a live writer's file looks like this).
    assert_eq!(store.sweep().await.unwrap().removed, 0);
    assert_eq!(tmp_files(&snippet_dir), vec![seen.clone()]);
    // Old enough: removed, and nothing else with it.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let sweeper = LocalStore::new(root.clone(), Duration::from_millis(10));
    assert_eq!(sweeper.sweep().await.unwrap().removed, 1);
    assert!(tmp_files(&snippet_dir).is_empty());
    let payload_again = payload(1024, 8);
    let survivor = key_for("killed", "app", &payload_again);
    store.put(&survivor, payload_again).await.unwrap();
    assert_eq!(sweeper.sweep().await.unwrap().removed, 0, "a finished object is never swept");
    assert!(store.head(&survivor).await.is_ok());
}

#[tokio::test]
async fn sweep_removes_old_residue_of_both_kinds_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("artifacts");
    let store = LocalStore::new(root.clone(), Duration::from_hours(1));
    let tarball = key_for("ns", "app", b"real");
    store.put(&tarball, bytes::Bytes::from_static(b"real")).await.unwrap();
    store.put(&tarball.record_key(), bytes::Bytes::from_static(b"record")).await.unwrap();
    let snippet_dir = root.join("ns/app");
    let hex = Digest::of(b"interrupted").hex();
    let residue = [format!("sha256-{hex}.4242-0.record.zst.tmp"), format!("sha256-{hex}.4242-1.tar.gz.tmp")];
    let foreign = ["notes.tmp".to_owned(), format!("sha256-{hex}.zst.tmp"), format!("sha256-{hex}.record.tmp")];
    for name in residue.iter().chain(&foreign) {
        std::fs::write(snippet_dir.join(name), b"partial").unwrap();
    }

    // Too young for the configured age: untouched (a live writer's file looks like this).
    assert_eq!(store.sweep().await.unwrap().removed, 0);
    tokio::time::sleep(Duration::from_millis(20)).await;
    let sweeper = LocalStore::new(root.clone(), Duration::from_millis(10));
    assert_eq!(sweeper.sweep().await.unwrap().removed, 2);
    for name in &residue {
        assert!(!snippet_dir.join(name).exists(), "{name} was not swept");
    }
    for name in &foreign {
        assert!(snippet_dir.join(name).exists(), "{name} is not ours and was swept");
    }
    assert_eq!(store.list(tarball.snippet()).await.unwrap().len(), 2, "a finished object was swept");
    assert!(store.head(&tarball.record_key()).await.is_ok());
}

#[tokio::test]
async fn list_ignores_temp_files_and_foreign_entries() {
    let dir = tempfile::tempdir().unwrap();
    let store = LocalStore::new(dir.path().to_path_buf(), Duration::from_mins(30));
    let key = key_for("ns", "app", b"real");
    store.put(&key, bytes::Bytes::from_static(b"real")).await.unwrap();
    store.put(&key.record_key(), bytes::Bytes::from_static(b"record")).await.unwrap();
    let snippet_dir = dir.path().join("ns/app");
    let hex = Digest::of(b"other").hex();
    for junk in [
        format!("sha256-{hex}.4242-0.tar.gz.tmp"),
        format!("sha256-{hex}.4242-1.record.zst.tmp"),
        "notes.txt".to_owned(),
        format!("sha256-{}.tar.gz", hex.to_uppercase()),
        format!("sha256-{}.record.zst", hex.to_uppercase()),
        format!("sha256-{hex}.tar"),
        format!("sha256-{hex}.record"),
        format!("sha256-{hex}.zst"),
    ] {
        std::fs::write(snippet_dir.join(junk), b"junk").unwrap();
    }
    std::fs::create_dir(snippet_dir.join(format!("sha256-{hex}.tar.gz"))).unwrap();
    std::fs::create_dir(snippet_dir.join(format!("sha256-{hex}.record.zst"))).unwrap();
    let mut listed: Vec<ArtifactKey> = store.list(key.snippet()).await.unwrap().into_iter().map(|m| m.key).collect();
    listed.sort();
    assert_eq!(listed, vec![key.clone(), key.record_key()]);
    assert_eq!(listed.iter().map(ArtifactKey::kind).collect::<Vec<_>>(), [ObjectKind::Tarball, ObjectKind::Record]);
}

#[tokio::test]
async fn hostile_keys_cannot_be_built_and_stored_keys_stay_under_the_root() {
    let file = Digest::of(b"x").file_name();
    for hostile in [
        format!("/../etc/{file}"),
        format!("/ns/../../{file}"),
        format!("/ns/%2e%2e/{file}"),
        format!("/ns/a\\..\\b/{file}"),
        format!("//etc/{file}"),
        format!("/ns/name/{file}/../../x"),
        "/ns/name/sha256-../../../etc/passwd.tar.gz".to_owned(),
    ] {
        assert!(ArtifactKey::parse_url_path(&hostile).is_err(), "{hostile:?} was accepted");
    }
    for (ns, name) in [("..", "x"), ("ns", ".."), ("ns", "a/b"), ("/", "x"), ("ns", ""), ("NS", "x")] {
        assert!(SnippetRef::new(ns, name).is_err(), "{ns:?}/{name:?} was accepted");
    }

    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("artifacts");
    let store = LocalStore::new(root.clone(), Duration::from_mins(30));
    let key = key_for("ns", "a.b", b"x");
    store.put(&key, bytes::Bytes::from_static(b"x")).await.unwrap();
    assert!(root.join("ns/a.b").join(&file).is_file());
    store.put(&key.record_key(), bytes::Bytes::from_static(b"record")).await.unwrap();
    assert!(root.join("ns/a.b").join(ObjectKind::Record.file_name(key.digest())).is_file());
    store.delete(&key.record_key()).await.unwrap();
    let outside: Vec<_> =
        std::fs::read_dir(dir.path()).unwrap().filter_map(Result::ok).map(|e| e.file_name()).collect();
    assert_eq!(outside, vec![std::ffi::OsString::from("artifacts")], "something was written outside the root");
    store.delete(&key).await.unwrap();
    assert!(!root.join("ns").exists(), "empty snippet directories are removed on delete");
}
