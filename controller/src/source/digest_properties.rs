//! Property tests of the parser of Flux's artifact digests (issue 15 part 7): `status.artifact.digest` is written
//! by whoever can write a source object, and [`ArtifactDigest::file_name`] names a directory of the source cache.
//! Only the canonical `<sha256|sha384|sha512>:<lowercase hex of the right length>` is accepted, it prints back as
//! it was written, and its file name is one plain path segment.

#![allow(clippy::unwrap_used)]

use proptest::prelude::*;

use super::digest::{ArtifactDigest, DigestAlgorithm, DigestHasher};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_digest_is_accepted_exactly_in_its_canonical_spelling(
        algorithm in proptest::sample::select(
            &["sha256", "sha384", "sha512", "SHA256", "sha1", "md5", "sha256 ", "", "sha256:sha256", "../sha256"][..],
        ),
        separator in proptest::sample::select(&[":", "-", "::", ""][..]),
        hex in "[0-9a-fA-F]{0,130}",
        suffix in proptest::sample::select(&["", "/..", "/", "\0", "\n", " ", "g"][..]),
    ) {
        let text = format!("{algorithm}{separator}{hex}{suffix}");
        let hex_len = match algorithm {
            "sha256" => Some(64),
            "sha384" => Some(96),
            "sha512" => Some(128),
            _ => None,
        };
        let canonical = separator == ":"
            && suffix.is_empty()
            && hex_len == Some(hex.len())
            && !hex.bytes().any(|b| b.is_ascii_uppercase());
        match ArtifactDigest::parse(&text) {
            Ok(digest) => {
                prop_assert!(canonical, "{:?} was accepted", text);
                prop_assert_eq!(digest.to_string(), text);
            }
            Err(_) => prop_assert!(!canonical, "{:?} was rejected", text),
        }
    }

    #[test]
    fn whatever_is_accepted_names_one_plain_cache_directory(
        text in prop_oneof![any::<String>(), "sha(256|384|512):[0-9a-f./\\\\]{60,130}"],
    ) {
        if let Ok(digest) = ArtifactDigest::parse(&text) {
            prop_assert_eq!(digest.to_string(), text.clone());
            let file_name = digest.file_name();
            let plain = file_name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            prop_assert!(plain, "{}", file_name);
            prop_assert_eq!(file_name, text.replacen(':', "-", 1));
        }
    }

    #[test]
    fn a_computed_digest_round_trips(
        algorithm in
            proptest::sample::select(vec![DigestAlgorithm::Sha256, DigestAlgorithm::Sha384, DigestAlgorithm::Sha512]),
        bytes in proptest::collection::vec(any::<u8>(), 0..256),
    ) {
        let mut hasher = DigestHasher::new(algorithm);
        hasher.update(&bytes);
        let digest = hasher.finish();
        prop_assert_eq!(ArtifactDigest::parse(&digest.to_string()).unwrap(), digest.clone());
        prop_assert_eq!(digest.algorithm(), algorithm);
    }
}
