//! The local-filesystem backend: one file per object (a revision's tarball, its record) under the storage root,
//! written atomically (unique temp file next to the target, fsync, rename, fsync of the directory) so readers see a
//! whole file or none.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use bytes::Bytes;
use futures::TryStreamExt;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

use crate::layout::{ArtifactKey, ObjectKind, SnippetRef};
use crate::store::{ArtifactStore, ByteRange, GetResult, ObjectMeta, StoreError, SweepReport, etag_for};

/// Suffix of a tarball's temporary file. The sweep removes old files with it; nothing else ever ends in it.
pub const TMP_SUFFIX: &str = ".tar.gz.tmp";
/// Suffix of a record's temporary file, swept like [`TMP_SUFFIX`].
pub const RECORD_TMP_SUFFIX: &str = ".record.zst.tmp";

/// The suffix of the temporary files `put` writes for objects of `kind`.
pub fn tmp_suffix(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::Tarball => TMP_SUFFIX,
        ObjectKind::Record => RECORD_TMP_SUFFIX,
    }
}

/// True for the name of a temporary file of either kind: what the sweep may remove once it is old enough.
pub fn is_tmp_file_name(name: &str) -> bool {
    ObjectKind::ALL.into_iter().any(|kind| name.ends_with(tmp_suffix(kind)))
}

/// Reads are streamed in chunks of at most this many bytes.
const CHUNK: usize = 64 * 1024;

/// Makes temp names unique within the process; the pid makes them unique across replicas sharing a volume.
static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Artifacts stored as files under a root directory, at [`ArtifactKey::relative_path`].
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
    sweep_max_tmp_age: Duration,
    write_pause: Option<Duration>,
}

impl LocalStore {
    /// A store rooted at `root` (created by [`ArtifactStore::check`] if missing) whose sweep removes temp files at
    /// least `sweep_max_tmp_age` old. Keep that age well above the longest write: a live writer's temp file younger
    /// than it is never touched (`--storage-sweep-max-tmp-age` refuses 0). Nothing is touched on disk here.
    pub fn new(root: PathBuf, sweep_max_tmp_age: Duration) -> Self {
        Self { root, sweep_max_tmp_age, write_pause: None }
    }

    /// The storage root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Test hook: pause this long after each 64 KiB written by `put`, so a test can kill a writer mid-write.
    #[doc(hidden)]
    #[must_use]
    pub fn with_write_pause(mut self, pause: Duration) -> Self {
        self.write_pause = Some(pause);
        self
    }

    fn path_of(&self, key: &ArtifactKey) -> PathBuf {
        self.root.join(key.relative_path())
    }

    fn dir_of(&self, snippet: &SnippetRef) -> PathBuf {
        self.root.join(snippet.relative_dir())
    }
}

fn other(action: &str, path: &Path, err: &io::Error) -> StoreError {
    StoreError::Other(format!("{action} {}: {err}", path.display()))
}

fn not_found_or(key: &ArtifactKey, action: &str, path: &Path, err: &io::Error) -> StoreError {
    if err.kind() == io::ErrorKind::NotFound { StoreError::NotFound(key.to_string()) } else { other(action, path, err) }
}

fn meta_of(key: &ArtifactKey, metadata: &fs::Metadata, path: &Path) -> Result<ObjectMeta, StoreError> {
    let last_modified = metadata.modified().map_err(|e| other("reading the mtime of", path, &e))?;
    Ok(ObjectMeta { key: key.clone(), size: metadata.len(), last_modified, etag: etag_for(key) })
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(work).await.map_err(|e| StoreError::Other(format!("storage task failed: {e}")))?
}

/// A fresh temp file name for `key`: `sha256-<hex>.<pid>-<n>` and the kind's [`tmp_suffix`]. The strict parser
/// never takes it for an object.
fn tmp_file_name(key: &ArtifactKey) -> String {
    let (pid, n) = (std::process::id(), TMP_COUNTER.fetch_add(1, Ordering::Relaxed));
    format!("sha256-{}.{pid}-{n}{}", key.digest().hex(), tmp_suffix(key.kind()))
}

/// Writes `bytes` to the temp file `tmp` in `dir` and renames it over `target`, with the fsyncs that make the
/// rename durable. The temp file is removed if anything fails before the rename.
fn write_atomically(dir: &Path, tmp: &Path, target: &Path, bytes: &[u8], pause: Option<Duration>) -> io::Result<()> {
    let write = || -> io::Result<()> {
        let mut file = File::create_new(tmp)?;
        for chunk in bytes.chunks(CHUNK) {
            file.write_all(chunk)?;
            if let Some(pause) = pause {
                std::thread::sleep(pause);
            }
        }
        file.sync_all()?;
        fs::rename(tmp, target)
    };
    if let Err(err) = write() {
        let _ = fs::remove_file(tmp);
        return Err(err);
    }
    File::open(dir)?.sync_all()
}

#[async_trait]
impl ArtifactStore for LocalStore {
    async fn put(&self, key: &ArtifactKey, bytes: Bytes) -> Result<(), StoreError> {
        let (dir, target, pause) = (self.dir_of(key.snippet()), self.path_of(key), self.write_pause);
        let key = key.clone();
        blocking(move || {
            // A concurrent delete may remove the (empty) snippet directory between create_dir_all and the write:
            // try again then.
            let mut attempt = 0;
            loop {
                attempt += 1;
                fs::create_dir_all(&dir).map_err(|e| other("creating directory", &dir, &e))?;
                let tmp = dir.join(tmp_file_name(&key));
                match write_atomically(&dir, &tmp, &target, &bytes, pause) {
                    Err(e) if e.kind() == io::ErrorKind::NotFound && attempt < 3 => {}
                    result => return result.map_err(|e| other("writing", &target, &e)),
                }
            }
        })
        .await
    }

    async fn get(&self, key: &ArtifactKey, range: Option<ByteRange>) -> Result<GetResult, StoreError> {
        let path = self.path_of(key);
        let mut file = tokio::fs::File::open(&path).await.map_err(|e| not_found_or(key, "opening", &path, &e))?;
        let metadata = file.metadata().await.map_err(|e| other("reading metadata of", &path, &e))?;
        let meta = meta_of(key, &metadata, &path)?;
        let range = match range {
            Some(range) => range.resolve(meta.size)?,
            None => 0..meta.size,
        };
        if range.start > 0 {
            file.seek(io::SeekFrom::Start(range.start)).await.map_err(|e| other("seeking in", &path, &e))?;
        }
        let body = ReaderStream::with_capacity(file.take(range.end - range.start), CHUNK)
            .map_err(move |e| StoreError::Other(format!("reading {}: {e}", path.display())));
        Ok(GetResult { meta, range, body: Box::pin(body) })
    }

    async fn head(&self, key: &ArtifactKey) -> Result<ObjectMeta, StoreError> {
        let path = self.path_of(key);
        let metadata = tokio::fs::metadata(&path).await.map_err(|e| not_found_or(key, "reading", &path, &e))?;
        meta_of(key, &metadata, &path)
    }

    async fn list(&self, snippet: &SnippetRef) -> Result<Vec<ObjectMeta>, StoreError> {
        let (dir, snippet) = (self.dir_of(snippet), snippet.clone());
        blocking(move || {
            let entries = match fs::read_dir(&dir) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
                entries => entries.map_err(|e| other("listing", &dir, &e))?,
            };
            let mut found = Vec::new();
            for entry in entries {
                let entry = entry.map_err(|e| other("listing", &dir, &e))?;
                // Temp files, stray files and directories fail the strict parser and are skipped.
                let Some((kind, digest)) =
                    entry.file_name().to_str().and_then(|name| ObjectKind::parse_file_name(name).ok())
                else {
                    continue;
                };
                let key = snippet.object(kind, digest);
                let path = entry.path();
                match entry.metadata() {
                    Ok(metadata) if metadata.is_file() => found.push(meta_of(&key, &metadata, &path)?),
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {} // deleted while listing
                    Err(e) => return Err(other("reading", &path, &e)),
                }
            }
            Ok(found)
        })
        .await
    }

    async fn delete(&self, key: &ArtifactKey) -> Result<(), StoreError> {
        let (path, dir) = (self.path_of(key), self.dir_of(key.snippet()));
        blocking(move || {
            match fs::remove_file(&path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(other("deleting", &path, &e)),
                _ => {}
            }
            // Tidy up: an empty snippet directory, then an empty namespace directory. Fails harmlessly when not empty.
            if fs::remove_dir(&dir).is_ok()
                && let Some(namespace_dir) = dir.parent()
            {
                let _ = fs::remove_dir(namespace_dir);
            }
            Ok(())
        })
        .await
    }

    async fn sweep(&self) -> Result<SweepReport, StoreError> {
        let (root, max_age) = (self.root.clone(), self.sweep_max_tmp_age);
        blocking(move || sweep_tmp_files(&root, max_age)).await
    }

    async fn check(&self) -> Result<(), StoreError> {
        let root = self.root.clone();
        blocking(move || {
            fs::create_dir_all(&root).map_err(|e| other("storage path cannot be created:", &root, &e))?;
            fs::read_dir(&root).map(drop).map_err(|e| other("storage path is not a readable directory:", &root, &e))
        })
        .await
    }
}

/// Removes `<root>/<namespace>/<name>/*.tar.gz.tmp` and `*.record.zst.tmp` files last modified at least `max_age`
/// ago. A live writer's file
/// is younger than that (it is modified while written), so it is never touched.
fn sweep_tmp_files(root: &Path, max_age: Duration) -> Result<SweepReport, StoreError> {
    let now = SystemTime::now();
    let mut report = SweepReport::default();
    let subdirs = |dir: &Path| -> Result<Vec<PathBuf>, StoreError> {
        match fs::read_dir(dir) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(other("sweeping", dir, &e)),
            Ok(entries) => Ok(entries
                .filter_map(Result::ok)
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .map(|e| e.path())
                .collect()),
        }
    };
    for namespace_dir in subdirs(root)? {
        for snippet_dir in subdirs(&namespace_dir)? {
            let Ok(entries) = fs::read_dir(&snippet_dir) else { continue };
            for entry in entries.filter_map(Result::ok) {
                let is_tmp = entry.file_name().to_str().is_some_and(is_tmp_file_name);
                let Ok(metadata) = entry.metadata() else { continue };
                let age = metadata.modified().ok().and_then(|m| now.duration_since(m).ok()).unwrap_or(Duration::ZERO);
                if is_tmp && metadata.is_file() && age >= max_age {
                    match fs::remove_file(entry.path()) {
                        Ok(()) => report.removed += 1,
                        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                        Err(e) => return Err(other("removing", &entry.path(), &e)),
                    }
                }
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_of_both_kinds_are_swept_and_never_parsed_as_objects() {
        let key = ArtifactKey::new("ns", "app", crate::layout::Digest::of(b"x")).unwrap();
        for key in [key.clone(), key.record_key()] {
            let name = tmp_file_name(&key);
            assert!(name.ends_with(tmp_suffix(key.kind())), "{name}");
            assert!(is_tmp_file_name(&name), "{name}");
            assert!(ObjectKind::parse_file_name(&name).is_err(), "{name}");
        }
        for name in [key.relative_path(), key.record_key().relative_path(), "notes.tmp".to_owned(), ".zst.tmp".into()] {
            assert!(!is_tmp_file_name(&name), "{name}");
        }
    }
}
