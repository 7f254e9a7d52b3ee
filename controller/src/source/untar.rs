//! Extracts a downloaded `.tar.gz` into a directory with Flux's rules: names that are absolute, have a `..`
//! component or contain `\` are rejected; only regular files, directories and symlinks are written; a symlink is
//! kept only when it resolves inside the tree (else skipped and logged). Extraction happens in a temporary
//! directory next to the target, renamed into place at the end, so readers never see half a tree.

use std::fs::{self, File};
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;
use tar::EntryType;

use super::args::SourceLimits;
use super::error::SourceError;
use super::symlink::{parents_are_real_dirs, resolve_inside};

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// What an extraction wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtractedTree {
    /// Bytes of file contents.
    pub bytes: u64,
    /// Number of archive entries read.
    pub entries: u64,
}

/// Extracts the gzip'd tar `archive` into `target` (which must not be in use; an old one is replaced) within
/// `limits`. Either the whole tree appears at `target` or nothing does.
pub fn extract_archive(archive: &Path, target: &Path, limits: &SourceLimits) -> Result<ExtractedTree, SourceError> {
    let mut file = File::open(archive).map_err(|e| SourceError::io(format!("opening {}", archive.display()), e))?;
    let mut magic = [0u8; 2];
    if file.read_exact(&mut magic).is_err() || magic != GZIP_MAGIC {
        return Err(SourceError::NotGzip("it does not start with the gzip magic bytes 1f 8b".into()));
    }
    let file = File::open(archive).map_err(|e| SourceError::io(format!("opening {}", archive.display()), e))?;
    let parent = target.parent().unwrap_or(Path::new("."));
    let mut staging = tempfile::Builder::new()
        .prefix(".extract-")
        .tempdir_in(parent)
        .map_err(|e| SourceError::io(format!("creating a temporary directory in {}", parent.display()), e))?;
    let tree = extract_stream(BufReader::new(file), staging.path(), limits)?;
    if target.exists() {
        fs::remove_dir_all(target).map_err(|e| SourceError::io(format!("replacing {}", target.display()), e))?;
    }
    fs::rename(staging.path(), target)
        .map_err(|e| SourceError::io(format!("moving the extracted tree to {}", target.display()), e))?;
    // The directory now lives at `target`; nothing is left for the guard to clean up.
    staging.disable_cleanup(true);
    Ok(tree)
}

/// Extracts a gzip'd tar stream into the empty directory `root`.
fn extract_stream(compressed: impl Read, root: &Path, limits: &SourceLimits) -> Result<ExtractedTree, SourceError> {
    let decompressed = BoundedReader::new(GzDecoder::new(compressed), limits.max_extracted_bytes);
    let mut archive = tar::Archive::new(decompressed);
    let result = extract_entries(&mut archive, root, limits);
    let reader = archive.into_inner();
    match result {
        Err(StreamError::Read(_)) if reader.exceeded => {
            Err(SourceError::ExtractedTooLarge { limit: limits.max_extracted_bytes })
        }
        Err(StreamError::Read(error)) => match reader.decompression_error {
            Some(gzip_error) => Err(SourceError::NotGzip(gzip_error)),
            None => Err(SourceError::InvalidTar(error.to_string())),
        },
        Err(StreamError::Source(error)) => Err(error),
        Ok(tree) => Ok(tree),
    }
}

/// A failure while walking the entries: reading the stream (classified afterwards by [`BoundedReader`]'s state)
/// or anything already classified.
enum StreamError {
    Read(io::Error),
    Source(SourceError),
}

impl From<SourceError> for StreamError {
    fn from(error: SourceError) -> Self {
        Self::Source(error)
    }
}

/// Writes files and directories as they come and symlinks at the end, once the tree they point into exists.
fn extract_entries<R: Read>(
    archive: &mut tar::Archive<R>,
    root: &Path,
    limits: &SourceLimits,
) -> Result<ExtractedTree, StreamError> {
    let mut tree = ExtractedTree { bytes: 0, entries: 0 };
    let mut symlinks = Vec::new();
    for entry in archive.entries().map_err(StreamError::Read)? {
        let mut entry = entry.map_err(StreamError::Read)?;
        tree.entries += 1;
        if tree.entries > limits.max_files {
            return Err(SourceError::TooManyFiles { limit: limits.max_files }.into());
        }
        let name = entry.path_bytes().into_owned();
        let relative = safe_relative_path(&name)?;
        let on_disk = root.join(&relative);
        match entry.header().entry_type() {
            EntryType::Directory => create_dir_all(&on_disk)?,
            EntryType::Regular | EntryType::Continuous => {
                let size = entry.size();
                if relative.as_os_str().is_empty() {
                    return Err(unsafe_path(&name, "is empty").into());
                }
                if size > limits.max_entry_bytes {
                    let path = String::from_utf8_lossy(&name).into_owned();
                    return Err(SourceError::EntryTooLarge { path, size, limit: limits.max_entry_bytes }.into());
                }
                if tree.bytes.saturating_add(size) > limits.max_extracted_bytes {
                    return Err(SourceError::ExtractedTooLarge { limit: limits.max_extracted_bytes }.into());
                }
                if let Some(parent) = on_disk.parent() {
                    create_dir_all(parent)?;
                }
                write_file(&mut entry, &on_disk)?;
                tree.bytes += size;
            }
            EntryType::Symlink => {
                if let Some(target) = entry.link_name_bytes() {
                    symlinks.push((relative, target.into_owned()));
                } else {
                    tracing::warn!(entry = %String::from_utf8_lossy(&name), "skipping a symlink without target");
                }
            }
            other => tracing::warn!(
                entry = %String::from_utf8_lossy(&name),
                kind = ?other,
                "skipping an archive entry that is neither a file, a directory nor a symlink"
            ),
        }
    }
    create_symlinks(root, symlinks)?;
    Ok(tree)
}

/// Copies an entry's contents into a new file, keeping read errors (the archive's fault) apart from write errors.
fn write_file(entry: &mut impl Read, on_disk: &Path) -> Result<(), StreamError> {
    let write_error = |e| SourceError::io(format!("writing {}", on_disk.display()), e);
    let mut file = File::create(on_disk).map_err(write_error)?;
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let count = entry.read(&mut buffer).map_err(StreamError::Read)?;
        if count == 0 {
            return Ok(());
        }
        file.write_all(&buffer[..count]).map_err(write_error)?;
    }
}

/// Creates each symlink that resolves inside `root`, then removes any that a later link made escape.
fn create_symlinks(root: &Path, symlinks: Vec<(PathBuf, Vec<u8>)>) -> Result<(), SourceError> {
    let mut created = Vec::new();
    for (link, target_bytes) in symlinks {
        let target = PathBuf::from(String::from_utf8_lossy(&target_bytes).into_owned());
        let stays_inside = !target_bytes.contains(&b'\\')
            && parents_are_real_dirs(root, &link)
            && link.parent().is_some_and(|parent| resolve_inside(root, &parent.join(&target)).is_some());
        if !stays_inside {
            tracing::warn!(link = %link.display(), target = %target.display(), "skipping a symlink that leaves the tree");
            continue;
        }
        let on_disk = root.join(&link);
        if let Some(parent) = on_disk.parent() {
            create_dir_all(parent)?;
        }
        match std::os::unix::fs::symlink(&target, &on_disk) {
            Ok(()) => created.push(link),
            Err(error) => tracing::warn!(link = %link.display(), %error, "skipping a symlink that cannot be created"),
        }
    }
    // A link checked early can escape through one created after it (`a -> b/..`, then `b -> .`); repeat until
    // every link left resolves inside.
    loop {
        let (inside, escaping): (Vec<PathBuf>, Vec<PathBuf>) =
            created.into_iter().partition(|link| resolve_inside(root, link).is_some());
        if escaping.is_empty() {
            return Ok(());
        }
        for link in &escaping {
            tracing::warn!(link = %link.display(), "removing a symlink that leaves the tree through another link");
            let on_disk = root.join(link);
            fs::remove_file(&on_disk).map_err(|e| SourceError::io(format!("removing {}", on_disk.display()), e))?;
        }
        created = inside;
    }
}

/// The entry name as a relative path, or why Flux's rules reject it. `.` components and empty segments are dropped,
/// so `./a//b` is `a/b` and `./` is the root.
fn safe_relative_path(name: &[u8]) -> Result<PathBuf, SourceError> {
    clean_entry_name(name).map(PathBuf::from).map_err(|reason| unsafe_path(name, reason))
}

/// A tar entry's name as a clean `/`-separated relative path (`.` components and empty segments dropped, so `./a//b`
/// is `a/b` and `./` is the root, `""`), or why it is unsafe: not UTF-8, a backslash, absolute, or a `..`
/// component. Every archive JaaS unpacks (Flux sources, `jaas diff`'s artifacts) is read through it.
pub(crate) fn clean_entry_name(name: &[u8]) -> Result<String, &'static str> {
    let text = std::str::from_utf8(name).map_err(|_| "is not UTF-8")?;
    if text.contains('\\') {
        return Err("contains a backslash");
    }
    if text.starts_with('/') {
        return Err("is absolute");
    }
    let mut segments = Vec::new();
    for segment in text.split('/') {
        match segment {
            "" | "." => {}
            ".." => return Err("has a `..` component"),
            _ => segments.push(segment),
        }
    }
    Ok(segments.join("/"))
}

fn unsafe_path(name: &[u8], reason: &'static str) -> SourceError {
    SourceError::UnsafePath { path: String::from_utf8_lossy(name).into_owned(), reason }
}

fn create_dir_all(path: &Path) -> Result<(), SourceError> {
    fs::create_dir_all(path).map_err(|e| SourceError::io(format!("creating directory {}", path.display()), e))
}

/// Counts the decompressed bytes and fails once they pass the limit, remembering why it failed so that the error
/// can be told apart from a malformed tar.
struct BoundedReader<R> {
    inner: R,
    read: u64,
    limit: u64,
    exceeded: bool,
    decompression_error: Option<String>,
}

impl<R> BoundedReader<R> {
    fn new(inner: R, limit: u64) -> Self {
        Self { inner, read: 0, limit, exceeded: false, decompression_error: None }
    }
}

impl<R: Read> Read for BoundedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // One byte past the limit is enough to know the stream is too large.
        let allowed = usize::try_from((self.limit - self.read.min(self.limit)).saturating_add(1)).unwrap_or(usize::MAX);
        let len = buf.len().min(allowed);
        let count = self.inner.read(&mut buf[..len]).inspect_err(|error| {
            self.decompression_error = Some(error.to_string());
        })?;
        self.read += count as u64;
        if self.read > self.limit {
            self.exceeded = true;
            return Err(io::Error::other("decompressed size limit exceeded"));
        }
        Ok(count)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::testing::{LIMITS, TestEntry, gzip, tar_gz};
    use super::*;

    /// Extracts `tarball` to `<dir>/tree`; the archive itself is `<dir>/archive.tar.gz`.
    fn extract(tarball: &[u8], limits: SourceLimits) -> (tempfile::TempDir, Result<ExtractedTree, SourceError>) {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("archive.tar.gz");
        fs::write(&archive, tarball).unwrap();
        let result = extract_archive(&archive, &dir.path().join("tree"), &limits);
        (dir, result)
    }

    fn names_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> =
            fs::read_dir(dir).unwrap().map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        names
    }

    #[test]
    fn unsafe_names_are_rejected_by_name_and_nothing_is_written() {
        for (name, reason) in [
            ("../evil.jsonnet", "`..`"),
            ("lib/../../evil.jsonnet", "`..`"),
            ("/tmp/evil.jsonnet", "absolute"),
            ("lib\\evil.jsonnet", "backslash"),
        ] {
            let tarball =
                tar_gz(&[TestEntry::File("ok.jsonnet", b"{}".to_vec()), TestEntry::File(name, b"{}".to_vec())]);
            let (dir, result) = extract(&tarball, LIMITS);
            let error = result.unwrap_err();
            assert!(matches!(error, SourceError::UnsafePath { .. }), "{name}: {error}");
            let message = error.to_string();
            assert!(message.contains(name.replace('\\', "\\\\").as_str()) && message.contains(reason), "{message}");
            assert_eq!(names_in(dir.path()), ["archive.tar.gz"], "{name}: no tree, no staging directory");
        }
    }

    #[test]
    fn symlinks_are_kept_only_when_they_resolve_inside_the_tree() {
        let tarball = tar_gz(&[
            TestEntry::File("lib/k.libsonnet", b"{ k: 1 }".to_vec()),
            TestEntry::Symlink("vendor/k", "../lib"),
            TestEntry::Symlink("escape", "../../etc"),
            TestEntry::Symlink("absolute", "/etc/passwd"),
            TestEntry::Symlink("later", "here/.."),
            TestEntry::Symlink("here", "."),
            TestEntry::Symlink("through-here", "here/.."),
        ]);
        let (dir, result) = extract(&tarball, LIMITS);
        result.unwrap();
        let tree = dir.path().join("tree");
        assert_eq!(fs::read_to_string(tree.join("vendor/k/k.libsonnet")).unwrap(), "{ k: 1 }");
        assert_eq!(names_in(&tree), ["here", "lib", "vendor"]);
    }

    #[test]
    fn a_gzip_bomb_stops_at_the_decompressed_limit() {
        let limits = SourceLimits { max_extracted_bytes: 1 << 20, max_entry_bytes: 64 << 20, ..LIMITS };
        let long_name_bomb = tar_gz(&[TestEntry::LongName(32 << 20), TestEntry::File("a", Vec::new())]);
        assert!(long_name_bomb.len() < 100 << 10, "the bomb is small compressed: {}", long_name_bomb.len());
        let (_dir, result) = extract(&long_name_bomb, limits);
        assert!(matches!(result, Err(SourceError::ExtractedTooLarge { limit: 1_048_576 })), "{result:?}");

        let zeros = tar_gz(&[TestEntry::File("zeros.json", vec![0; 4 << 20])]);
        let (_dir, result) = extract(&zeros, limits);
        assert!(matches!(result, Err(SourceError::ExtractedTooLarge { .. })), "{result:?}");
    }

    #[test]
    fn entry_and_file_count_limits_name_what_they_stopped() {
        let tarball =
            tar_gz(&[TestEntry::File("small", vec![1; 10]), TestEntry::File("dashboards/big.json", vec![1; 11])]);
        let (_dir, result) = extract(&tarball, SourceLimits { max_entry_bytes: 10, ..LIMITS });
        let error = result.unwrap_err();
        assert!(matches!(error, SourceError::EntryTooLarge { size: 11, limit: 10, .. }), "{error}");
        assert!(error.to_string().contains("dashboards/big.json"), "{error}");

        let (_dir, result) = extract(&tarball, SourceLimits { max_files: 1, ..LIMITS });
        assert!(matches!(result, Err(SourceError::TooManyFiles { limit: 1 })), "{result:?}");
    }

    #[test]
    fn archives_that_are_not_gzip_or_not_tar_are_named_as_such() {
        let (_dir, result) = extract(b"plain text, no gzip", LIMITS);
        assert!(matches!(result, Err(SourceError::NotGzip(_))), "{result:?}");
        let (_dir, result) = extract(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255, 1, 2, 3, 4, 5, 6, 7], LIMITS);
        assert!(matches!(result, Err(SourceError::NotGzip(_))), "{result:?}");
        let (_dir, result) = extract(&gzip(&[7; 1024]), LIMITS);
        assert!(matches!(result, Err(SourceError::InvalidTar(_))), "{result:?}");
    }

    #[test]
    fn a_new_tree_replaces_an_old_one_whole() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("tree");
        fs::create_dir_all(target.join("stale")).unwrap();
        let archive = dir.path().join("archive.tar.gz");
        fs::write(&archive, tar_gz(&[TestEntry::Dir("./"), TestEntry::File("./main.jsonnet", b"{}".to_vec())]))
            .unwrap();
        let tree = extract_archive(&archive, &target, &LIMITS).unwrap();
        assert_eq!(tree, ExtractedTree { bytes: 2, entries: 2 });
        assert_eq!(names_in(&target), ["main.jsonnet"]);
        assert_eq!(names_in(dir.path()), ["archive.tar.gz", "tree"]);
    }
}
