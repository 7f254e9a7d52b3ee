//! Property tests of the tarball builder (issue 15 part 7): [`reproducible_tar_gz`] gives the same bytes for the
//! same files in any order, reads back (with the `tar` and `flate2` crates, as Flux's consumers would) to exactly
//! the files it was given, and never writes an unsafe name into an archive, whatever names it is handed: a name
//! that is empty, absolute, or has an empty, `.` or `..` segment, a backslash or a NUL is refused with an error,
//! never cleaned up or passed through.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io::Read;

use flate2::read::GzDecoder;
use jaas_render::{TarEntry, read_tar_gz, reproducible_tar_gz};
use proptest::prelude::*;

/// One path segment: file-name characters, sometimes non-ASCII, sometimes long enough that the whole path needs the
/// GNU long-name extension (over 100 bytes).
fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => "[a-zA-Z0-9_.-]{1,12}",
        1 => "[a-z\u{e9}\u{4e2d}\u{1f600} ]{1,6}",
        1 => "[a-z0-9]{60,120}",
    ]
    .prop_filter("a segment is never `.` or `..`", |segment| segment != "." && segment != "..")
}

/// A clean relative path, as the renderer and the source packer hand the builder.
fn clean_path() -> impl Strategy<Value = String> {
    proptest::collection::vec(segment(), 1..5).prop_map(|segments| segments.join("/"))
}

/// `len` bytes from `seed`: runs of repeated text (which deflate finds matches in) between random bytes. Made from a
/// seed rather than drawn byte by byte, so that large contents cost little to generate.
fn content(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut bytes = Vec::with_capacity(len);
    while bytes.len() < len {
        let word = next();
        if word % 4 == 0 {
            bytes.extend_from_slice(b"kind: ConfigMap\n");
        } else {
            bytes.extend_from_slice(&word.to_le_bytes());
        }
    }
    bytes.truncate(len);
    bytes
}

/// Files with unique clean paths and contents of up to `max_content` bytes.
fn files(count: std::ops::Range<usize>, max_content: usize) -> impl Strategy<Value = BTreeMap<String, Vec<u8>>> {
    let file_content = (any::<u64>(), 0..=max_content).prop_map(|(seed, len)| content(seed, len));
    proptest::collection::btree_map(clean_path(), file_content, count)
}

fn entries(files: &BTreeMap<String, Vec<u8>>) -> Vec<TarEntry> {
    files.iter().map(|(path, content)| TarEntry { path: path.clone(), content: content.clone() }).collect()
}

/// Every entry of a tar.gz as the `tar` crate reads it, checking the fixed metadata on the way, and that the gzip
/// stream is one member with nothing after it.
fn read_back(tarball: &[u8]) -> Result<Vec<(String, Vec<u8>)>, TestCaseError> {
    let mut archive = tar::Archive::new(GzDecoder::new(tarball));
    let mut read = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let header = entry.header().clone();
        prop_assert_eq!(header.entry_type(), tar::EntryType::Regular);
        prop_assert_eq!(header.mode().unwrap(), 0o644);
        prop_assert_eq!((header.uid().unwrap(), header.gid().unwrap(), header.mtime().unwrap()), (0, 0, 0));
        prop_assert_eq!((header.username().unwrap(), header.groupname().unwrap()), (Some(""), Some("")));
        let path = String::from_utf8(entry.path_bytes().into_owned()).unwrap();
        let mut content = Vec::new();
        entry.read_to_end(&mut content).unwrap();
        read.push((path, content));
    }
    let mut decoder = archive.into_inner();
    let mut rest = Vec::new();
    decoder.read_to_end(&mut rest).unwrap();
    prop_assert!(rest.iter().all(|byte| *byte == 0), "only the tar end-of-archive padding follows the entries");
    prop_assert!(decoder.into_inner().is_empty(), "one gzip member, nothing after it");
    Ok(read)
}

/// What the builder must refuse: the names `check_file_path` refuses in a request.
fn is_clean(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && !path.contains(['\\', '\0'])
        && path.split('/').all(|segment| !segment.is_empty() && segment != "." && segment != "..")
}

/// Names an attacker (or a bug upstream) could hand the builder: traversal, absolute paths, empty segments, and all
/// of them behind 100 bytes, where the `tar` crate moves the name into a GNU long-name entry.
fn hostile_path() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        3 => "[a-z]{1,8}",
        2 => proptest::sample::select(&["..", ".", "/", "//", "\\", "\0", "./", "../", "/..", "a/..", ""][..])
            .prop_map(str::to_owned),
        1 => "a{90,110}",
        1 => any::<char>().prop_map(String::from),
    ];
    prop_oneof![
        4 => proptest::collection::vec(piece, 0..8).prop_map(|pieces| pieces.concat()),
        1 => (90..110_usize, proptest::sample::select(&["/../x", "/../../../etc/x", "/./x", "//x", "/.."][..]))
            .prop_map(|(len, tail)| format!("{}{tail}", "a".repeat(len))),
        1 => (90..110_usize).prop_map(|len| format!("/{}", "a".repeat(len))),
        1 => any::<String>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn an_unsafe_name_is_refused_and_a_clean_one_kept_as_given(path in hostile_path(), content in ".{0,20}") {
        let given = vec![
            TarEntry { path: "ok.yaml".to_owned(), content: b"a: 1\n".to_vec() },
            TarEntry { path: path.clone(), content: content.clone().into_bytes() },
        ];
        match reproducible_tar_gz(given) {
            Ok(tarball) => {
                prop_assert!(is_clean(&path), "{:?} was packed", path);
                let names: Vec<String> = read_back(&tarball)?.into_iter().map(|(name, _)| name).collect();
                prop_assert!(names.contains(&path), "{:?} was renamed: {:?}", path, names);
                prop_assert!(names.iter().all(|name| is_clean(name)), "{:?}", names);
            }
            Err(error) => {
                prop_assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput, "{}", error);
                prop_assert!(!is_clean(&path) || path == "ok.yaml", "{:?} was refused: {}", path, error);
            }
        }
    }
}

proptest! {
    // Each case compresses, and zlib-rs is slow in a debug build: a quarter of the default count.
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn the_same_files_in_any_order_give_identical_bytes(
        (files, shuffled) in files(0..12, 2048).prop_flat_map(|files| {
            let shuffled = Just(entries(&files)).prop_shuffle();
            (Just(files), shuffled)
        }),
    ) {
        prop_assert_eq!(reproducible_tar_gz(shuffled).unwrap(), reproducible_tar_gz(entries(&files)).unwrap());
    }

    #[test]
    fn an_archive_reads_back_to_exactly_its_files_sorted_by_path(files in files(0..12, 2048)) {
        let tarball = reproducible_tar_gz(entries(&files)).unwrap();
        let expected: Vec<(String, Vec<u8>)> = files.into_iter().collect();
        prop_assert_eq!(read_back(&tarball)?, expected.clone());
        let through_our_reader: Vec<(String, Vec<u8>)> =
            read_tar_gz(&tarball).unwrap().into_iter().map(|entry| (entry.path, entry.content)).collect();
        prop_assert_eq!(through_our_reader, expected);
    }
}

proptest! {
    // Large enough to cross the 256 KiB slices the gzip is compressed in; debug builds compress slowly.
    #![proptest_config(ProptestConfig::with_cases(4))]

    #[test]
    fn large_archives_round_trip_and_repeat(files in files(1..4, 300 * 1024)) {
        let tarball = reproducible_tar_gz(entries(&files)).unwrap();
        prop_assert_eq!(&tarball, &reproducible_tar_gz(entries(&files).into_iter().rev().collect()).unwrap());
        prop_assert_eq!(read_back(&tarball)?, files.into_iter().collect::<Vec<_>>());
    }
}

/// The case the property found: past 100 bytes the `tar` crate checked only the name's first 100, so these were
/// packed as they are.
#[test]
fn a_long_name_with_a_parent_segment_is_refused() {
    for tail in ["/../x", "/../../../etc/passwd", "/./x", "//x", "/.."] {
        let path = format!("{}{tail}", "a".repeat(100));
        let error = reproducible_tar_gz(vec![TarEntry { path: path.clone(), content: Vec::new() }]).unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput, "{path}: {error}");
    }
}
