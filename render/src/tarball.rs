//! Reproducible tar.gz: the same files always give the same bytes, so the digest names the content.
//!
//! Entries are sorted by path, regular files only, mode 0644, uid/gid 0, empty owner names, mtime 0;
//! the gzip header has mtime 0, no file name and a fixed OS byte; the compression level is fixed
//! (compression runs on all cores: [`super::gzip`]).

use std::io;

use super::gzip::reproducible_gzip;
use super::request::check_file_path;

/// One file of an artifact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TarEntry {
    /// Clean relative path inside the archive.
    pub path: String,
    /// File content.
    pub content: Vec<u8>,
}

/// Packs `entries` into a reproducible tar.gz. Paths must be unique clean relative paths (as a request's files are);
/// they are sorted here. Any other path is refused, never rewritten: the `tar` crate checks a name only as far as
/// its first 100 bytes fit the header, and would pack `<long name>/../x` as it is.
pub fn reproducible_tar_gz(mut entries: Vec<TarEntry>) -> io::Result<Vec<u8>> {
    if let Some((entry, why)) =
        entries.iter().find_map(|entry| check_file_path(&entry.path).err().map(|why| (entry, why)))
    {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("the artifact cannot contain {:?}: {why}", entry.path),
        ));
    }
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    if let Some(pair) = entries.windows(2).find(|pair| pair[0].path == pair[1].path) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("the artifact would contain {:?} twice", pair[0].path),
        ));
    }
    let mut archive = tar::Builder::new(Vec::new());
    archive.mode(tar::HeaderMode::Deterministic);
    for entry in &entries {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        header.set_username("")?;
        header.set_groupname("")?;
        header.set_size(entry.content.len() as u64);
        archive.append_data(&mut header, &entry.path, entry.content.as_slice())?;
    }
    reproducible_gzip(&archive.into_inner()?)
}

/// The files of a tar.gz, in archive order: how `jaas render` prints exactly the bytes it would ship.
pub fn read_tar_gz(tarball: &[u8]) -> io::Result<Vec<TarEntry>> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(tarball));
    let mut entries = Vec::new();
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.to_string_lossy().into_owned();
        let mut content = Vec::new();
        io::Read::read_to_end(&mut entry, &mut content)?;
        entries.push(TarEntry { path, content });
    }
    Ok(entries)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::io::Read;

    use flate2::read::GzDecoder;

    use super::*;
    use crate::gzip::GZIP_OS_UNKNOWN;

    fn entry(path: &str, content: &str) -> TarEntry {
        TarEntry { path: path.to_owned(), content: content.as_bytes().to_vec() }
    }

    #[test]
    fn same_files_in_any_order_give_the_same_bytes() {
        let a = reproducible_tar_gz(vec![entry("b.yaml", "b"), entry("a/x.yaml", "x")]).unwrap();
        let b = reproducible_tar_gz(vec![entry("a/x.yaml", "x"), entry("b.yaml", "b")]).unwrap();
        assert_eq!(a, b);
        let c = reproducible_tar_gz(vec![entry("a/x.yaml", "y"), entry("b.yaml", "b")]).unwrap();
        assert_ne!(a, c);
    }

    #[test]
    fn gzip_header_is_fixed() {
        let bytes = reproducible_tar_gz(vec![entry("a", "1")]).unwrap();
        // magic, deflate, flags (no FNAME), mtime 0, xfl, OS
        assert_eq!(&bytes[..4], &[0x1f, 0x8b, 8, 0]);
        assert_eq!(&bytes[4..8], &[0, 0, 0, 0]);
        assert_eq!(bytes[9], GZIP_OS_UNKNOWN);
    }

    #[test]
    fn entries_are_sorted_plain_files_with_fixed_metadata() {
        let long = format!("{}/deep.yaml", "d".repeat(120));
        let bytes = reproducible_tar_gz(vec![entry("z", "zz"), entry(&long, "l"), entry("a", "aa")]).unwrap();
        let mut archive = tar::Archive::new(GzDecoder::new(bytes.as_slice()));
        let mut seen = Vec::new();
        for file in archive.entries().unwrap() {
            let mut file = file.unwrap();
            let header = file.header().clone();
            assert_eq!(header.entry_type(), tar::EntryType::Regular);
            assert_eq!(header.mode().unwrap(), 0o644);
            assert_eq!((header.uid().unwrap(), header.gid().unwrap(), header.mtime().unwrap()), (0, 0, 0));
            assert_eq!(header.username().unwrap(), Some(""));
            assert_eq!(header.groupname().unwrap(), Some(""));
            let mut content = String::new();
            file.read_to_string(&mut content).unwrap();
            seen.push((file.path().unwrap().to_string_lossy().into_owned(), content));
        }
        let expected =
            vec![("a".to_owned(), "aa".to_owned()), (long, "l".to_owned()), ("z".to_owned(), "zz".to_owned())];
        assert_eq!(seen, expected);
    }

    #[test]
    fn duplicate_paths_are_rejected() {
        assert!(reproducible_tar_gz(vec![entry("a", "1"), entry("a", "2")]).is_err());
    }
}
