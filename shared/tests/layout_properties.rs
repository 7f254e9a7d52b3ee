//! Property tests of the storage layout's parsers, the code that meets untrusted input first (issue 15 part 7):
//! [`ArtifactKey::parse_url_path`], which turns an HTTP request path into a storage key, and the [`Digest`]
//! parsers. Whatever string comes in, a parser either rejects it or returns a key that stays inside the store's
//! `<namespace>/<name>/sha256-<hex>.tar.gz` (tarball) or `….record.zst` (record) layout, and only the exact
//! canonical spelling of a key, file name or digest is ever accepted.

#![allow(clippy::unwrap_used)]

use std::path::{Component, Path};

use jaas_shared::layout::ObjectKind;
use jaas_shared::{ArtifactKey, Digest, SnippetRef};
use proptest::prelude::*;
use proptest::sample::Index;

/// Pieces that attackers put into request paths: traversal in every encoding we know of, separators, NUL,
/// overlong UTF-8 in percent form, look-alike Unicode dots and slashes, whitespace, and the layout's own parts.
const HOSTILE_PIECES: &[&str] = &[
    "..",
    ".",
    "/",
    "//",
    "\\",
    "\0",
    "%",
    "%2e%2e",
    "%2E%2E",
    ".%2e",
    "%2f",
    "%2F",
    "%5c",
    "%00",
    "%252e%252e",
    "%252f",
    "%c0%ae%c0%ae",
    "%c0%af",
    "%e0%80%ae",
    "..;",
    ";",
    "?",
    "#",
    "\u{ff0e}\u{ff0e}",
    "\u{2215}",
    "\u{2044}",
    "\u{fffd}",
    " ",
    "\t",
    "\r\n",
    "A",
    "-",
    "sha256-",
    ".tar.gz",
    ".record.zst",
    ".tmp",
    ".RECORD.ZST",
    "SHA256-",
];

/// Edits that often keep a path valid, so that accepted paths are common enough to check what they give.
const BENIGN_PIECES: &[&str] = &[".", "-", "a", "0", "x.y", "/"];

/// A DNS-1123 label of any length the layout allows (1 to 63).
fn label() -> impl Strategy<Value = String> {
    "[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
}

/// A DNS-1123 subdomain: dot-separated labels, cut to the 253 characters a name may have (and kept valid).
fn subdomain() -> impl Strategy<Value = String> {
    proptest::collection::vec(label(), 1..6).prop_map(|labels| {
        let mut name = labels.join(".");
        name.truncate(253);
        name.trim_end_matches(['.', '-']).to_owned()
    })
}

fn digest() -> impl Strategy<Value = Digest> {
    any::<[u8; 32]>().prop_map(Digest::from_sha256)
}

fn kind() -> impl Strategy<Value = ObjectKind> {
    proptest::sample::select(&ObjectKind::ALL[..])
}

/// A valid key of either kind.
fn key(ns: &str, name: &str, kind: ObjectKind, digest: Digest) -> ArtifactKey {
    SnippetRef::new(ns, name).unwrap().object(kind, digest)
}

/// A path segment: valid names and file names, hostile pieces, or any character.
fn segment_piece() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => label(),
        1 => (kind(), digest()).prop_map(|(kind, digest)| kind.file_name(digest)),
        3 => proptest::sample::select(HOSTILE_PIECES).prop_map(str::to_owned),
        1 => any::<char>().prop_map(String::from),
    ]
}

/// Paths made of the pieces above, in any order and number.
fn piece_path() -> impl Strategy<Value = String> {
    proptest::collection::vec(segment_piece(), 0..10).prop_map(|pieces| pieces.concat())
}

/// Paths of the right shape, `/<a>/<b>/<c>`, where each part is a run of pieces: these get past the segment count
/// and test the checks of each segment.
fn three_segment_path() -> impl Strategy<Value = String> {
    let part = || proptest::collection::vec(segment_piece(), 1..4).prop_map(|pieces| pieces.concat());
    (part(), part(), part()).prop_map(|(a, b, c)| format!("/{a}/{b}/{c}"))
}

/// A valid path with a few pieces written into it, over it or cut out of it.
fn mutated_valid_path() -> impl Strategy<Value = String> {
    let piece = prop_oneof![proptest::sample::select(HOSTILE_PIECES), proptest::sample::select(BENIGN_PIECES)];
    let edit = (any::<Index>(), 0..3_u8, piece);
    let valid =
        (label(), subdomain(), kind(), digest()).prop_map(|(ns, name, kind, digest)| key(&ns, &name, kind, digest));
    (valid, proptest::collection::vec(edit, 1..4)).prop_map(|(key, edits)| {
        let mut path: Vec<char> = key.url_path().chars().collect();
        for (at, kind, piece) in edits {
            let at = at.index(path.len() + 1);
            match kind {
                0 => drop(path.splice(at..at, piece.chars())),
                1 if at < path.len() => drop(path.splice(at..=at, piece.chars())),
                _ if at < path.len() => drop(path.remove(at)),
                _ => {}
            }
        }
        path.into_iter().collect()
    })
}

/// Any bytes as the artifact server could see them: invalid UTF-8 (overlong encodings included) becomes U+FFFD.
fn byte_path() -> impl Strategy<Value = String> {
    proptest::collection::vec(any::<u8>(), 0..120).prop_map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
}

fn any_request_path() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => piece_path(),
        1 => three_segment_path(),
        4 => mutated_valid_path(),
        1 => byte_path(),
        1 => any::<String>(),
    ]
}

/// What an accepted path must give: a key that names a file inside the store, spelled exactly as the request was.
fn assert_key_stays_inside(path: &str, key: &ArtifactKey) -> Result<(), TestCaseError> {
    prop_assert_eq!(key.url_path(), path, "only the canonical spelling is accepted");
    let relative = key.relative_path();
    prop_assert!(!relative.starts_with('/'));
    let segments: Vec<&str> = relative.split('/').collect();
    prop_assert_eq!(segments.len(), 3, "{}", relative);
    for segment in &segments {
        prop_assert!(!segment.is_empty() && *segment != "." && *segment != "..", "{relative}");
        prop_assert!(
            segment.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.'),
            "{relative}"
        );
    }
    prop_assert_eq!(segments[0], key.snippet().namespace());
    prop_assert_eq!(segments[1], key.snippet().name());
    prop_assert_eq!(segments[2], key.kind().file_name(key.digest()));
    // The local backend joins it to its root, the S3 backend to its prefix: both stay below.
    let root = Path::new("/srv/jaas-artifacts");
    let on_disk = root.join(&relative);
    prop_assert!(on_disk.starts_with(root));
    prop_assert!(on_disk.strip_prefix(root).unwrap().components().all(|c| matches!(c, Component::Normal(_))));
    prop_assert_eq!(key.object_key("/prefix/"), format!("prefix/{relative}"));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn a_request_path_is_rejected_or_names_a_file_inside_the_store(path in any_request_path()) {
        if let Ok(key) = ArtifactKey::parse_url_path(&path) {
            assert_key_stays_inside(&path, &key)?;
        }
        if let Ok(key) = ArtifactKey::parse_relative_path(&path) {
            prop_assert_eq!(key.relative_path(), path);
        }
    }

    #[test]
    fn a_traversal_or_foreign_piece_anywhere_in_a_valid_path_is_rejected(
        ns in label(),
        name in subdomain(),
        kind in kind(),
        digest in digest(),
        at in any::<Index>(),
        piece in proptest::sample::select(&["%", "\\", "\0", "/..", "/.", "//", "..", "?", "#", "A"][..]),
    ) {
        let valid = key(&ns, &name, kind, digest).url_path();
        let at = at.index(valid.len() + 1);
        let hostile = format!("{}{piece}{}", &valid[..at], &valid[at..]);
        // Each piece either adds a segment, empties a DNS label, or is a character no key ever contains.
        prop_assert!(ArtifactKey::parse_url_path(&hostile).is_err(), "{hostile:?} was accepted");
    }

    #[test]
    fn every_key_of_the_layout_round_trips(ns in label(), name in subdomain(), kind in kind(), digest in digest()) {
        let key = key(&ns, &name, kind, digest);
        prop_assert_eq!(key.kind(), kind);
        let path = key.url_path();
        let parsed = ArtifactKey::parse_url_path(&path).unwrap();
        assert_key_stays_inside(&path, &parsed)?;
        prop_assert_eq!(&parsed, &key);
        prop_assert_eq!(ArtifactKey::parse_relative_path(&key.relative_path()).unwrap(), key.clone());
        // The tarball and its record: same snippet and digest, different objects.
        let (tarball, record) = (key.tarball_key(), key.record_key());
        prop_assert_eq!((tarball.kind(), record.kind()), (ObjectKind::Tarball, ObjectKind::Record));
        prop_assert_eq!((tarball.snippet(), tarball.digest()), (record.snippet(), record.digest()));
        prop_assert_eq!(&tarball, &ArtifactKey::new(&ns, &name, digest).unwrap());
        prop_assert_ne!(tarball.url_path(), record.url_path());
    }

    #[test]
    fn a_digest_round_trips_through_every_spelling_the_layout_writes(digest in digest()) {
        prop_assert_eq!(digest.to_string().parse::<Digest>().unwrap(), digest);
        prop_assert_eq!(Digest::from_hex(&digest.hex()).unwrap(), digest);
        prop_assert_eq!(Digest::from_file_name(&digest.file_name()).unwrap(), digest);
        let json = serde_json::to_string(&digest).unwrap();
        prop_assert_eq!(&json, &format!("\"{digest}\""));
        prop_assert_eq!(serde_json::from_str::<Digest>(&json).unwrap(), digest);
    }

    #[test]
    fn a_digest_is_accepted_exactly_in_its_canonical_spelling(
        prefix in proptest::sample::select(&[
            "sha256:", "sha384:", "sha512:", "md5:", "SHA256:", "sha256-", "sha-256:", "sha256::", " sha256:", "",
        ][..]),
        hex in "[0-9a-fA-F]{0,130}",
        suffix in proptest::sample::select(&[
            "", " ", "\n", "\0", ".tar.gz", ":", "g", ".record.zst", ".tar.gz.tmp", ".record.zst.tmp", ".record",
        ][..]),
    ) {
        let text = format!("{prefix}{hex}{suffix}");
        let lowercase_64 = hex.len() == 64 && !hex.bytes().any(|b| b.is_ascii_uppercase());
        let canonical = prefix == "sha256:" && suffix.is_empty() && lowercase_64;
        match text.parse::<Digest>() {
            Ok(digest) => {
                prop_assert!(canonical, "{text:?} was accepted");
                prop_assert_eq!(digest.to_string(), text);
            }
            Err(_) => prop_assert!(!canonical, "{text:?} was rejected"),
        }
        let file_name = format!("{}{hex}{}", prefix.replace(':', "-"), suffix);
        let canonical_file = prefix == "sha256:" && suffix == ".tar.gz" && lowercase_64;
        match Digest::from_file_name(&file_name) {
            Ok(digest) => {
                prop_assert!(canonical_file, "{file_name:?} was accepted");
                prop_assert_eq!(digest.file_name(), file_name.clone());
            }
            Err(_) => prop_assert!(!canonical_file, "{file_name:?} was rejected"),
        }
        let canonical_kind = match suffix {
            ".tar.gz" => Some(ObjectKind::Tarball),
            ".record.zst" => Some(ObjectKind::Record),
            _ => None,
        }
        .filter(|_| prefix == "sha256:" && lowercase_64);
        match ObjectKind::parse_file_name(&file_name) {
            Ok((kind, digest)) => {
                prop_assert_eq!(Some(kind), canonical_kind, "{:?} was accepted", file_name);
                prop_assert_eq!(kind.file_name(digest), file_name);
            }
            Err(_) => prop_assert!(canonical_kind.is_none(), "{file_name:?} was rejected"),
        }
    }

    #[test]
    fn no_other_string_parses_as_a_digest(text in prop_oneof![any::<String>(), "sha256:[0-9a-f\u{0}-\u{ff}]{60,68}"]) {
        if let Ok(digest) = text.parse::<Digest>() {
            prop_assert_eq!(digest.to_string(), text.clone());
        }
        if let Ok(digest) = Digest::from_hex(&text) {
            prop_assert_eq!(digest.hex(), text.clone());
        }
        if let Ok(digest) = Digest::from_file_name(&text) {
            prop_assert_eq!(digest.file_name(), text.clone());
        }
        if let Ok((kind, digest)) = ObjectKind::parse_file_name(&text) {
            prop_assert_eq!(kind.file_name(digest), text);
        }
    }
}
