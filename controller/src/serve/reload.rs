//! Hot reload: a poller that fingerprints the files under the snippet roots and library paths (names, sizes,
//! modification times, symlink targets) and bumps a generation counter when it changes. Files are read anew on
//! every evaluation anyway; the generation is what keeps the response cache from answering with stale renders,
//! e.g. after Kubernetes swapped a ConfigMap volume's `..data` link.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// At most this many directory entries are fingerprinted per poll; a larger tree is only partly watched (logged).
const MAX_ENTRIES: usize = 200_000;

/// The generation of the files on disk: changes whenever a poll sees a difference.
#[derive(Clone, Default)]
pub struct Generation(Arc<AtomicU64>);

impl Generation {
    /// The current generation.
    pub fn current(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }

    fn bump(&self) {
        self.0.fetch_add(1, Ordering::AcqRel);
    }
}

/// Polls `paths` every `interval` on a blocking thread and bumps `generation` on a change, until the process ends
/// or the returned task is aborted.
pub fn spawn_poller(paths: Vec<PathBuf>, interval: Duration, generation: Generation) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut last = fingerprint_in_background(paths.clone()).await;
        loop {
            tokio::time::sleep(interval).await;
            let now = fingerprint_in_background(paths.clone()).await;
            if now != last {
                generation.bump();
                tracing::info!(generation = generation.current(), "snippet files changed: cached renders dropped");
                last = now;
            }
        }
    })
}

async fn fingerprint_in_background(paths: Vec<PathBuf>) -> u64 {
    tokio::task::spawn_blocking(move || fingerprint(&paths)).await.unwrap_or_default()
}

/// A hash of every entry under `paths`: its path, kind, size, modification time and (for a symlink) target.
/// Symlinks are not followed (their targets are hashed), so a swapped link is a change.
pub fn fingerprint(paths: &[PathBuf]) -> u64 {
    let mut hasher = DefaultHasher::new();
    let mut seen = 0;
    for path in paths {
        walk(path, &mut hasher, &mut seen);
    }
    if seen >= MAX_ENTRIES {
        tracing::warn!(max = MAX_ENTRIES, "the snippet trees are larger than the reload poller looks at");
    }
    hasher.finish()
}

fn walk(path: &Path, hasher: &mut DefaultHasher, seen: &mut usize) {
    let Ok(entries) = std::fs::read_dir(path) else { return };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        *seen += 1;
        if *seen >= MAX_ENTRIES {
            return;
        }
        let Ok(metadata) = entry.path().symlink_metadata() else { continue };
        entry.path().hash(hasher);
        metadata.len().hash(hasher);
        metadata.modified().ok().hash(hasher);
        if metadata.file_type().is_symlink() {
            std::fs::read_link(entry.path()).ok().hash(hasher);
        } else if metadata.is_dir() {
            walk(&entry.path(), hasher, seen);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_fingerprint_sees_edits_new_files_and_swapped_links() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        std::fs::create_dir_all(root.join("v1")).unwrap();
        std::fs::create_dir_all(root.join("v2")).unwrap();
        std::fs::write(root.join("v1/main.jsonnet"), "{}").unwrap();
        std::fs::write(root.join("v2/main.jsonnet"), "{}").unwrap();
        std::os::unix::fs::symlink("v1", root.join("..data")).unwrap();
        let paths = [root.clone()];
        let base = fingerprint(&paths);
        assert_eq!(base, fingerprint(&paths));

        std::fs::remove_file(root.join("..data")).unwrap();
        std::os::unix::fs::symlink("v2", root.join("..data")).unwrap();
        let swapped = fingerprint(&paths);
        assert_ne!(base, swapped, "a ConfigMap-style link swap");
        std::fs::write(root.join("v2/extra.libsonnet"), "1").unwrap();
        let added = fingerprint(&paths);
        assert_ne!(swapped, added, "a new file");
        std::fs::write(root.join("v2/extra.libsonnet"), "12").unwrap();
        assert_ne!(added, fingerprint(&paths), "an edit that changes the size");
    }
}
