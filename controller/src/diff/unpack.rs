//! Reads an artifact's tar.gz into memory: its regular files by path, with the same name rules as extracting a Flux
//! source (no absolute names, no `..`, no `\`), no name twice, and the unpacked stream bounded, so a hostile or
//! corrupt tarball can neither name a file outside the artifact nor exhaust memory.

use std::collections::BTreeSet;
use std::io::Read;

use flate2::read::GzDecoder;
use tar::EntryType;

/// One regular file of an artifact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactFile {
    /// Its path inside the artifact, `./` and empty segments removed.
    pub path: String,
    /// Its bytes.
    pub content: Vec<u8>,
}

/// Why a tarball cannot be read as an artifact.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnpackError {
    /// It is not a gzip'd tar archive, or it is truncated.
    #[error("not a readable tar.gz: {0}")]
    Malformed(String),
    /// An entry name that could reach outside the artifact, or that is ambiguous.
    #[error("refusing the archive entry {name:?}: the name {reason}")]
    UnsafeName {
        /// The name as stored.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The unpacked archive is larger than the bound.
    #[error("the unpacked archive is over {limit} bytes (--max-artifact-bytes)")]
    TooLarge {
        /// The bound.
        limit: u64,
    },
}

/// The regular files of the gzip'd tar `tarball`, in archive order, reading at most `max_bytes` of unpacked tar
/// stream (headers included). Directories and other entry types (links, devices) carry no manifests and are
/// skipped.
pub fn unpack(tarball: &[u8], max_bytes: u64) -> Result<Vec<ArtifactFile>, UnpackError> {
    // One byte past the bound tells a stream that is too large from one that ends exactly there.
    let mut archive = tar::Archive::new(GzDecoder::new(tarball).take(max_bytes.saturating_add(1)));
    let result = read_files(&mut archive);
    if archive.into_inner().limit() == 0 {
        return Err(UnpackError::TooLarge { limit: max_bytes });
    }
    result
}

fn read_files<R: Read>(archive: &mut tar::Archive<R>) -> Result<Vec<ArtifactFile>, UnpackError> {
    let malformed = |error: std::io::Error| UnpackError::Malformed(error.to_string());
    let mut files = Vec::new();
    let mut seen = BTreeSet::new();
    for entry in archive.entries().map_err(malformed)? {
        let mut entry = entry.map_err(malformed)?;
        let name = entry.path_bytes().into_owned();
        let path = safe_path(&name)?;
        if !matches!(entry.header().entry_type(), EntryType::Regular | EntryType::Continuous) {
            continue;
        }
        if path.is_empty() {
            return Err(unsafe_name(&name, "is empty"));
        }
        if !seen.insert(path.clone()) {
            return Err(unsafe_name(&name, "occurs twice"));
        }
        let mut content = Vec::new();
        entry.read_to_end(&mut content).map_err(malformed)?;
        files.push(ArtifactFile { path, content });
    }
    Ok(files)
}

/// The entry name as a relative path, or why it is refused (the rule Flux sources are unpacked by).
fn safe_path(name: &[u8]) -> Result<String, UnpackError> {
    crate::source::clean_entry_name(name).map_err(|reason| unsafe_name(name, reason))
}

fn unsafe_name(name: &[u8], reason: &'static str) -> UnpackError {
    UnpackError::UnsafeName { name: String::from_utf8_lossy(name).into_owned(), reason }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::io::Write as _;

    use super::*;

    /// A tar.gz of `(name, kind, content)` entries, names written byte for byte (the `tar` crate's own setters
    /// refuse the hostile ones).
    fn tar_gz(entries: &[(&str, EntryType, &str)]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, kind, content) in entries {
            let mut header = tar::Header::new_gnu();
            header.as_gnu_mut().unwrap().name[..name.len()].copy_from_slice(name.as_bytes());
            header.set_entry_type(*kind);
            header.set_mode(0o644);
            header.set_size(content.len() as u64);
            header.set_cksum();
            builder.append(&header, content.as_bytes()).unwrap();
        }
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gzip.write_all(&builder.into_inner().unwrap()).unwrap();
        gzip.finish().unwrap()
    }

    #[test]
    fn regular_files_are_read_with_clean_names_and_the_rest_skipped() {
        let tarball = tar_gz(&[
            ("./", EntryType::Directory, ""),
            ("./a.yaml", EntryType::Regular, "a: 1\n"),
            ("dir//b.yaml", EntryType::Regular, "b: 2\n"),
            ("link.yaml", EntryType::Symlink, ""),
        ]);
        let files = unpack(&tarball, 1 << 20).unwrap();
        let read: Vec<(String, String)> =
            files.into_iter().map(|f| (f.path, String::from_utf8(f.content).unwrap())).collect();
        let expected = [("a.yaml", "a: 1\n"), ("dir/b.yaml", "b: 2\n")].map(|(p, c)| (p.to_owned(), c.to_owned()));
        assert_eq!(read, expected);
    }

    #[test]
    fn hostile_names_are_refused() {
        let cases = [
            ("/etc/passwd", "is absolute"),
            ("../outside.yaml", "has a `..` component"),
            ("a/../../b.yaml", "has a `..` component"),
            ("a\\..\\b.yaml", "contains a backslash"),
            ("./", "is empty"),
        ];
        for (name, reason) in cases {
            let error = unpack(&tar_gz(&[(name, EntryType::Regular, "x")]), 1 << 20).unwrap_err();
            assert_eq!(error, UnpackError::UnsafeName { name: name.to_owned(), reason }, "{name}");
        }
        let twice = tar_gz(&[("a.yaml", EntryType::Regular, "1"), ("./a.yaml", EntryType::Regular, "2")]);
        let error = unpack(&twice, 1 << 20).unwrap_err();
        assert_eq!(error, UnpackError::UnsafeName { name: "./a.yaml".to_owned(), reason: "occurs twice" });
        // A hostile name is refused whatever the entry is.
        let link = tar_gz(&[("../x", EntryType::Symlink, "")]);
        assert!(matches!(unpack(&link, 1 << 20), Err(UnpackError::UnsafeName { .. })));
    }

    #[test]
    fn the_unpacked_size_is_bounded_and_garbage_is_malformed() {
        let big = "x".repeat(10_000);
        let tarball = tar_gz(&[("a.yaml", EntryType::Regular, &big)]);
        assert_eq!(unpack(&tarball, 4096).unwrap_err(), UnpackError::TooLarge { limit: 4096 });
        // A 512-byte header, 10,000 bytes padded to 10,240, and the two zero blocks that end the archive.
        assert!(unpack(&tarball, 20_000).is_ok());
        let error = unpack(b"not gzip at all", 1 << 20).unwrap_err();
        assert!(matches!(error, UnpackError::Malformed(_)), "{error}");
        let truncated = &tarball[..tarball.len() / 2];
        assert!(matches!(unpack(truncated, 1 << 20), Err(UnpackError::Malformed(_))));
    }
}
