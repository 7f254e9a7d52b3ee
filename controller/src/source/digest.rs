//! A Flux artifact digest as go-digest writes it (`sha256:<hex>`, also `sha384:` and `sha512:`), and the hasher
//! that checks downloaded bytes against it while they stream in. The storage `Digest` in jaas-shared names our own
//! artifacts and is sha256 only; this type describes someone else's.

use std::fmt;

use sha2::{Digest as _, Sha256, Sha384, Sha512};

use super::error::SourceError;

/// The hash algorithms go-digest (and so Flux) accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DigestAlgorithm {
    /// SHA-256, Flux's default.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl DigestAlgorithm {
    /// The name used before the colon.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::Sha384 => "sha384",
            Self::Sha512 => "sha512",
        }
    }

    /// How many hex digits a digest of this algorithm has.
    fn hex_len(self) -> usize {
        match self {
            Self::Sha256 => 64,
            Self::Sha384 => 96,
            Self::Sha512 => 128,
        }
    }
}

/// A validated `<algorithm>:<lowercase hex>` digest; it also names the artifact's directory in the cache.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ArtifactDigest {
    algorithm: DigestAlgorithm,
    hex: String,
}

impl ArtifactDigest {
    /// Parses a digest from a source's `status.artifact.digest`.
    pub fn parse(text: &str) -> Result<Self, SourceError> {
        let invalid = || SourceError::InvalidDigest(text.to_owned());
        let (name, hex) = text.split_once(':').ok_or_else(invalid)?;
        let algorithm = match name {
            "sha256" => DigestAlgorithm::Sha256,
            "sha384" => DigestAlgorithm::Sha384,
            "sha512" => DigestAlgorithm::Sha512,
            _ => return Err(invalid()),
        };
        let lowercase_hex = hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if hex.len() != algorithm.hex_len() || !lowercase_hex {
            return Err(invalid());
        }
        Ok(Self { algorithm, hex: hex.to_owned() })
    }

    /// The algorithm.
    pub fn algorithm(&self) -> DigestAlgorithm {
        self.algorithm
    }

    /// A file name for this digest, `<algorithm>-<hex>`: safe on every file system, unique per digest.
    pub fn file_name(&self) -> String {
        format!("{}-{}", self.algorithm.name(), self.hex)
    }
}

impl fmt::Display for ArtifactDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm.name(), self.hex)
    }
}

/// Hashes bytes as they arrive with the algorithm of an expected digest.
pub enum DigestHasher {
    /// SHA-256 state.
    Sha256(Sha256),
    /// SHA-384 state.
    Sha384(Sha384),
    /// SHA-512 state.
    Sha512(Sha512),
}

impl DigestHasher {
    /// A hasher for `algorithm`.
    pub fn new(algorithm: DigestAlgorithm) -> Self {
        match algorithm {
            DigestAlgorithm::Sha256 => Self::Sha256(Sha256::new()),
            DigestAlgorithm::Sha384 => Self::Sha384(Sha384::new()),
            DigestAlgorithm::Sha512 => Self::Sha512(Sha512::new()),
        }
    }

    /// Feeds the next bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        match self {
            Self::Sha256(hasher) => hasher.update(bytes),
            Self::Sha384(hasher) => hasher.update(bytes),
            Self::Sha512(hasher) => hasher.update(bytes),
        }
    }

    /// The digest of everything fed.
    pub fn finish(self) -> ArtifactDigest {
        let (algorithm, hex) = match self {
            Self::Sha256(hasher) => (DigestAlgorithm::Sha256, hex::encode(hasher.finalize())),
            Self::Sha384(hasher) => (DigestAlgorithm::Sha384, hex::encode(hasher.finalize())),
            Self::Sha512(hasher) => (DigestAlgorithm::Sha512, hex::encode(hasher.finalize())),
        };
        ArtifactDigest { algorithm, hex }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn digest_of(algorithm: DigestAlgorithm, bytes: &[u8]) -> ArtifactDigest {
        let mut hasher = DigestHasher::new(algorithm);
        hasher.update(bytes);
        hasher.finish()
    }

    #[test]
    fn hashes_with_each_algorithm_and_round_trips_through_text() {
        let sha256 = digest_of(DigestAlgorithm::Sha256, b"abc");
        assert_eq!(sha256.to_string(), "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        for algorithm in [DigestAlgorithm::Sha256, DigestAlgorithm::Sha384, DigestAlgorithm::Sha512] {
            let digest = digest_of(algorithm, b"abc");
            assert_eq!(ArtifactDigest::parse(&digest.to_string()).unwrap(), digest);
            assert_eq!(digest.algorithm(), algorithm);
            assert!(digest.file_name().starts_with(&format!("{}-", algorithm.name())));
        }
    }

    #[test]
    fn rejects_malformed_digests() {
        let sha256_hex = "a".repeat(64);
        for bad in [
            String::new(),
            sha256_hex.clone(),
            format!("md5:{sha256_hex}"),
            format!("sha256:{}", "A".repeat(64)),
            format!("sha256:{}", "a".repeat(63)),
            format!("sha512:{sha256_hex}"),
            format!("sha256:{}/..", "a".repeat(61)),
        ] {
            assert!(matches!(ArtifactDigest::parse(&bad), Err(SourceError::InvalidDigest(_))), "{bad:?}");
        }
    }
}
