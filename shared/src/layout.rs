//! The storage layout: how a rendered tarball is named (`Digest`), which objects a revision has (`ObjectKind`: the
//! tarball and its revision record), where each lives (`ArtifactKey`) and the one strict parser that turns an HTTP
//! path back into a key. Nothing else in the workspace builds a key or a path by hand.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// Why a digest, a name or a path was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    /// The digest is not `sha256:` followed by 64 lowercase hex digits.
    #[error("invalid digest {0:?}: expected sha256:<64 lowercase hex digits>")]
    InvalidDigest(String),
    /// A namespace or name is not a DNS-1123 label/subdomain.
    #[error("invalid {what} {value:?}: must be a lowercase DNS-1123 name of at most {max} characters")]
    InvalidName {
        /// `namespace` or `name`.
        what: &'static str,
        /// The rejected value.
        value: String,
        /// The maximum length allowed for it.
        max: usize,
    },
    /// A URL path does not have the exact shape `/<namespace>/<name>/sha256-<hex>.tar.gz` (or `.record.zst`).
    #[error("invalid artifact path: {0}")]
    InvalidPath(&'static str),
}

/// The sha256 of a tarball's bytes, written `sha256:<64 lowercase hex>`; it names the artifact.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest([u8; 32]);

impl Digest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }

    /// Wraps raw sha256 output.
    pub fn from_sha256(raw: [u8; 32]) -> Self {
        Self(raw)
    }

    /// The 64 lowercase hex digits, without the `sha256:` prefix.
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The file name this digest's tarball has in storage: `sha256-<hex>.tar.gz`.
    pub fn file_name(&self) -> String {
        format!("sha256-{}.tar.gz", self.hex())
    }

    /// Parses exactly 64 lowercase hex digits (no prefix).
    pub fn from_hex(hex_digits: &str) -> Result<Self, LayoutError> {
        let invalid = || LayoutError::InvalidDigest(hex_digits.to_owned());
        if hex_digits.len() != 64 || !hex_digits.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return Err(invalid());
        }
        let mut raw = [0u8; 32];
        hex::decode_to_slice(hex_digits, &mut raw).map_err(|_| invalid())?;
        Ok(Self(raw))
    }

    /// Parses a tarball's storage file name `sha256-<hex>.tar.gz` (and nothing else: not a record's name either).
    pub fn from_file_name(file_name: &str) -> Result<Self, LayoutError> {
        match ObjectKind::parse_file_name(file_name) {
            Ok((ObjectKind::Tarball, digest)) => Ok(digest),
            _ => Err(LayoutError::InvalidPath("file name must be sha256-<64 hex>.tar.gz")),
        }
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for Digest {
    type Err = LayoutError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let hex_digits = s.strip_prefix("sha256:").ok_or_else(|| LayoutError::InvalidDigest(s.to_owned()))?;
        Self::from_hex(hex_digits).map_err(|_| LayoutError::InvalidDigest(s.to_owned()))
    }
}

impl Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The objects stored for one revision, both named by the digest of the revision's tarball: the tarball itself and
/// its revision record (provenance), which lives beside it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum ObjectKind {
    /// The rendered tarball: `sha256-<hex>.tar.gz`, immutable (its name is the digest of its bytes).
    Tarball,
    /// The revision record: `sha256-<hex>.record.zst`, where `<hex>` is the tarball's digest. It may be rewritten
    /// (when its revision becomes current again), so it is not immutable.
    Record,
}

/// Every file name of the layout starts with this.
const FILE_NAME_PREFIX: &str = "sha256-";
/// The longest file name of the layout: a record's.
const MAX_FILE_NAME_LEN: usize = FILE_NAME_PREFIX.len() + 64 + ObjectKind::Record.suffix().len();

impl ObjectKind {
    /// Both kinds, tarball first.
    pub const ALL: [Self; 2] = [Self::Tarball, Self::Record];

    /// How this kind's file names end: `.tar.gz` or `.record.zst`.
    pub const fn suffix(self) -> &'static str {
        match self {
            Self::Tarball => ".tar.gz",
            Self::Record => ".record.zst",
        }
    }

    /// The media type of this kind's bytes: `application/gzip` (RFC 6713) or `application/zstd` (RFC 8878).
    pub const fn content_type(self) -> &'static str {
        match self {
            Self::Tarball => "application/gzip",
            Self::Record => "application/zstd",
        }
    }

    /// The file name of this kind of object of the revision `digest`: `sha256-<hex><suffix>`.
    pub fn file_name(self, digest: Digest) -> String {
        format!("{FILE_NAME_PREFIX}{}{}", digest.hex(), self.suffix())
    }

    /// Parses exactly `sha256-<64 lowercase hex>.tar.gz` or `sha256-<64 lowercase hex>.record.zst`: no other
    /// suffix (a temp file's `.tmp` included), no uppercase, nothing around it.
    pub fn parse_file_name(name: &str) -> Result<(Self, Digest), LayoutError> {
        let invalid = || LayoutError::InvalidPath("file name must be sha256-<64 hex>.tar.gz or .record.zst");
        let rest = name.strip_prefix(FILE_NAME_PREFIX).ok_or_else(invalid)?;
        Self::ALL
            .into_iter()
            .find_map(|kind| Some((kind, rest.strip_suffix(kind.suffix())?)))
            .and_then(|(kind, hex_digits)| Some((kind, Digest::from_hex(hex_digits).ok()?)))
            .ok_or_else(invalid)
    }
}

/// Kubernetes limits a namespace to a DNS-1123 label and an object name to a DNS-1123 subdomain.
const MAX_NAMESPACE_LEN: usize = 63;
const MAX_NAME_LEN: usize = 253;

/// True for a lowercase DNS-1123 label: `[a-z0-9]([-a-z0-9]*[a-z0-9])?`.
fn is_dns1123_label(s: &str) -> bool {
    let bytes = s.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_NAMESPACE_LEN
        && bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes[0] != b'-'
        && bytes[bytes.len() - 1] != b'-'
}

/// True for a lowercase DNS-1123 subdomain: dot-separated labels, at most 253 characters.
fn is_dns1123_subdomain(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_NAME_LEN && s.split('.').all(is_dns1123_label)
}

/// One snippet's place in storage: its namespace and name, both validated.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Serialize, Deserialize)]
pub struct SnippetRef {
    namespace: String,
    name: String,
}

impl SnippetRef {
    /// Validates a namespace (DNS-1123 label) and a name (DNS-1123 subdomain).
    pub fn new(namespace: &str, name: &str) -> Result<Self, LayoutError> {
        if !is_dns1123_label(namespace) {
            return Err(LayoutError::InvalidName {
                what: "namespace",
                value: namespace.to_owned(),
                max: MAX_NAMESPACE_LEN,
            });
        }
        if !is_dns1123_subdomain(name) {
            return Err(LayoutError::InvalidName { what: "name", value: name.to_owned(), max: MAX_NAME_LEN });
        }
        Ok(Self { namespace: namespace.to_owned(), name: name.to_owned() })
    }

    /// The snippet's namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The snippet's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The directory of this snippet's revisions relative to the storage root: `<namespace>/<name>`.
    pub fn relative_dir(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// The key of one revision's tarball.
    pub fn revision(&self, digest: Digest) -> ArtifactKey {
        self.object(ObjectKind::Tarball, digest)
    }

    /// The key of one revision's record (`digest` is the revision's, i.e. its tarball's).
    pub fn record(&self, digest: Digest) -> ArtifactKey {
        self.object(ObjectKind::Record, digest)
    }

    /// The key of one object of one revision.
    pub fn object(&self, kind: ObjectKind, digest: Digest) -> ArtifactKey {
        ArtifactKey { snippet: self.clone(), digest, kind }
    }
}

impl fmt::Display for SnippetRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// Where one object of one revision lives: `<namespace>/<name>/sha256-<hex><suffix>` relative to the storage root
/// (the local directory, or the S3 prefix), and `/<namespace>/<name>/sha256-<hex><suffix>` under the base URL, with
/// `<suffix>` `.tar.gz` for the tarball and `.record.zst` for its record ([`ObjectKind`]).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct ArtifactKey {
    snippet: SnippetRef,
    digest: Digest,
    kind: ObjectKind,
}

impl ArtifactKey {
    /// Validates the names and builds the key of the revision's tarball.
    pub fn new(namespace: &str, name: &str, digest: Digest) -> Result<Self, LayoutError> {
        Ok(SnippetRef::new(namespace, name)?.revision(digest))
    }

    /// The snippet this revision belongs to.
    pub fn snippet(&self) -> &SnippetRef {
        &self.snippet
    }

    /// The revision's digest: the tarball's, for a record too.
    pub fn digest(&self) -> Digest {
        self.digest
    }

    /// Which object of the revision this is.
    pub fn kind(&self) -> ObjectKind {
        self.kind
    }

    /// The key of the same revision's record.
    #[must_use]
    pub fn record_key(&self) -> Self {
        self.snippet.record(self.digest)
    }

    /// The key of the same revision's tarball.
    #[must_use]
    pub fn tarball_key(&self) -> Self {
        self.snippet.revision(self.digest)
    }

    /// The path relative to the storage root: `<namespace>/<name>/sha256-<hex><suffix>`. It never starts with `/`
    /// and never contains `..`, because both names are DNS-1123.
    pub fn relative_path(&self) -> String {
        format!("{}/{}", self.snippet.relative_dir(), self.kind.file_name(self.digest))
    }

    /// The S3 object key under an optional prefix (leading and trailing slashes of the prefix are ignored).
    pub fn object_key(&self, prefix: &str) -> String {
        join_prefix(prefix, &self.relative_path())
    }

    /// The absolute URL path: `/<namespace>/<name>/sha256-<hex><suffix>`.
    pub fn url_path(&self) -> String {
        format!("/{}", self.relative_path())
    }

    /// The full URL under a base URL such as `http://jaas-artifacts.flux-system.svc:8082`.
    pub fn url(&self, base_url: &str) -> String {
        format!("{}{}", base_url.trim_end_matches('/'), self.url_path())
    }

    /// The only way to turn an HTTP request path into a key. Accepts exactly
    /// `/<dns-1123 namespace>/<dns-1123 name>/sha256-<64 lowercase hex>.tar.gz` (a tarball) or
    /// `/<dns-1123 namespace>/<dns-1123 name>/sha256-<64 lowercase hex>.record.zst` (its record) and nothing else:
    /// no percent encoding (a `%` is never valid in any segment), no empty, `.` or `..` segments, no backslash, no
    /// NUL, no query, no trailing slash, no extra segments, no other suffix (`.tmp` included).
    pub fn parse_url_path(path: &str) -> Result<Self, LayoutError> {
        const MAX_PATH_LEN: usize = 1 + MAX_NAMESPACE_LEN + 1 + MAX_NAME_LEN + 1 + MAX_FILE_NAME_LEN;
        if path.len() > MAX_PATH_LEN {
            return Err(LayoutError::InvalidPath("path too long"));
        }
        let rest = path.strip_prefix('/').ok_or(LayoutError::InvalidPath("path must start with /"))?;
        let mut segments = rest.split('/');
        let (Some(namespace), Some(name), Some(file), None) =
            (segments.next(), segments.next(), segments.next(), segments.next())
        else {
            return Err(LayoutError::InvalidPath("path must have exactly three segments"));
        };
        let (kind, digest) = ObjectKind::parse_file_name(file)?;
        let snippet =
            SnippetRef::new(namespace, name).map_err(|_| LayoutError::InvalidPath("invalid namespace or name"))?;
        Ok(snippet.object(kind, digest))
    }

    /// Parses a path relative to the storage root (`<namespace>/<name>/sha256-<hex>.tar.gz` or `.record.zst`), as
    /// listed by a backend; it accepts exactly what [`Self::parse_url_path`] accepts, without the leading `/`.
    pub fn parse_relative_path(path: &str) -> Result<Self, LayoutError> {
        Self::parse_url_path(&format!("/{path}"))
    }
}

impl fmt::Display for ArtifactKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.relative_path())
    }
}

/// Joins an S3 prefix and a relative path with exactly one `/` between them.
pub fn join_prefix(prefix: &str, relative: &str) -> String {
    let prefix = prefix.trim_matches('/');
    if prefix.is_empty() { relative.to_owned() } else { format!("{prefix}/{relative}") }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const HEX: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn digest_round_trips_through_display_and_parse() {
        let digest = Digest::of(b"hello");
        assert_eq!(digest.to_string().parse::<Digest>().unwrap(), digest);
        assert_eq!(digest.to_string(), "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
    }

    #[test]
    fn digest_rejects_everything_else() {
        for bad in [
            "",
            "sha256:",
            HEX,
            &format!("sha512:{HEX}"),
            &format!("sha256:{}", HEX.to_uppercase()),
            &format!("sha256:{HEX}0"),
            &format!("sha256:{}", &HEX[1..]),
            &format!("sha256:{}g", &HEX[1..]),
            &format!(" sha256:{HEX}"),
        ] {
            assert!(bad.parse::<Digest>().is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn key_paths_have_the_documented_shape() {
        let key = ArtifactKey::new("team-a", "app.web", Digest::from_hex(HEX).unwrap()).unwrap();
        assert_eq!(key.relative_path(), format!("team-a/app.web/sha256-{HEX}.tar.gz"));
        assert_eq!(key.url_path(), format!("/team-a/app.web/sha256-{HEX}.tar.gz"));
        assert_eq!(key.object_key(""), key.relative_path());
        assert_eq!(key.object_key("/jaas/"), format!("jaas/team-a/app.web/sha256-{HEX}.tar.gz"));
        assert_eq!(key.url("http://srv:8082/"), format!("http://srv:8082/team-a/app.web/sha256-{HEX}.tar.gz"));
        assert_eq!(key.kind(), ObjectKind::Tarball);

        let record = key.record_key();
        assert_eq!(record.kind(), ObjectKind::Record);
        assert_eq!((record.snippet(), record.digest()), (key.snippet(), key.digest()));
        assert_eq!(record.relative_path(), format!("team-a/app.web/sha256-{HEX}.record.zst"));
        assert_eq!(record.url_path(), format!("/team-a/app.web/sha256-{HEX}.record.zst"));
        assert_eq!(record.object_key("/jaas/"), format!("jaas/team-a/app.web/sha256-{HEX}.record.zst"));
        assert_eq!(record.url("http://srv:8082"), format!("http://srv:8082/team-a/app.web/sha256-{HEX}.record.zst"));
        assert_eq!(record, key.snippet().record(key.digest()));
        assert_eq!(record.tarball_key(), key);
        assert_eq!(key.tarball_key(), key);
        assert_eq!(record.record_key(), record);
        assert_ne!(record, key);
    }

    #[test]
    fn file_names_parse_exactly() {
        let digest = Digest::from_hex(HEX).unwrap();
        for kind in ObjectKind::ALL {
            let name = kind.file_name(digest);
            assert!(name.starts_with("sha256-") && name.ends_with(kind.suffix()), "{name}");
            assert_eq!(ObjectKind::parse_file_name(&name).unwrap(), (kind, digest));
        }
        assert_eq!(Digest::from_file_name(&ObjectKind::Tarball.file_name(digest)).unwrap(), digest);
        assert_eq!(digest.file_name(), ObjectKind::Tarball.file_name(digest));
        assert!(Digest::from_file_name(&ObjectKind::Record.file_name(digest)).is_err(), "tarball names only");
        for bad in [
            format!("sha256-{HEX}"),
            format!("sha256-{HEX}.tar.gz.tmp"),
            format!("sha256-{HEX}.record.zst.tmp"),
            format!("sha256-{HEX}.4242-0.record.zst.tmp"),
            format!("sha256-{HEX}.record"),
            format!("sha256-{HEX}.zst"),
            format!("sha256-{HEX}.RECORD.ZST"),
            format!("sha256-{HEX}.tar.gz.record.zst"),
            format!("sha256-{HEX}.record.zst.tar.gz"),
            format!("sha256-{}.record.zst", HEX.to_uppercase()),
            format!("sha256-{}.record.zst", &HEX[1..]),
            format!("sha512-{HEX}.record.zst"),
            format!(" sha256-{HEX}.record.zst"),
        ] {
            assert!(ObjectKind::parse_file_name(&bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn parser_accepts_a_canonical_path_of_each_kind() {
        for (suffix, kind) in [(".tar.gz", ObjectKind::Tarball), (".record.zst", ObjectKind::Record)] {
            let path = format!("/ns/name/sha256-{HEX}{suffix}");
            let key = ArtifactKey::parse_url_path(&path).unwrap();
            assert_eq!(key.url_path(), path);
            assert_eq!(key.kind(), kind);
            assert_eq!(ArtifactKey::parse_relative_path(&path[1..]).unwrap(), key);
        }
        let (label, last) = ("b".repeat(63), "c".repeat(61));
        let longest = format!("/{}/{label}.{label}.{label}.{last}/sha256-{HEX}.record.zst", "a".repeat(63));
        assert_eq!(ArtifactKey::parse_url_path(&longest).unwrap().url_path(), longest);
    }

    #[test]
    fn parser_rejects_hostile_paths() {
        let file = format!("sha256-{HEX}.tar.gz");
        let hostile = [
            String::new(),
            "/".into(),
            "/ns".into(),
            "/ns/name".into(),
            "/ns/name/".into(),
            format!("ns/name/{file}"),
            format!("//ns/name/{file}"),
            format!("/ns//name/{file}"),
            format!("/ns/name/{file}/"),
            format!("/ns/name/x/{file}"),
            format!("/../name/{file}"),
            format!("/ns/../{file}"),
            format!("/ns/./{file}"),
            format!("/ns/%2e%2e/{file}"),
            format!("/ns/name%2f..%2f/{file}"),
            format!("/ns/%252e%252e/{file}"),
            format!("/ns\\..\\name/{file}"),
            format!("/ns/name\0/{file}"),
            format!("/NS/name/{file}"),
            format!("/ns/name/{file}?x=1"),
            format!("/ns/name/{}", file.to_uppercase()),
            format!("/ns/name/sha256-{HEX}.tar"),
            format!("/ns/name/sha256-{HEX}.tar.gz.tmp"),
            format!("/ns/name/sha256-{HEX}.record.zst.tmp"),
            format!("/ns/name/sha256-{HEX}.record.zst/"),
            format!("/ns/name/sha256-{HEX}.RECORD.ZST"),
            format!("/ns/name/sha256-{}.record.zst", HEX.to_uppercase()),
            format!("/ns/name/sha256-{HEX}.record%2ezst"),
            format!("/ns/name/sha256-{HEX}.record.zst?x=1"),
            format!("/ns/name/sha256-{HEX}.record"),
            format!("/ns/../sha256-{HEX}.record.zst"),
            format!("/{}/name/{file}", "a".repeat(64)),
            format!("/ns/{}/{file}", "a".repeat(16 * 1024)),
        ];
        for path in &hostile {
            assert!(ArtifactKey::parse_url_path(path).is_err(), "{path:?} was accepted");
        }
    }

    fn label() -> impl Strategy<Value = String> {
        "[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?"
    }

    fn kind() -> impl Strategy<Value = ObjectKind> {
        proptest::sample::select(&ObjectKind::ALL[..])
    }

    proptest! {
        #[test]
        fn every_valid_key_round_trips(ns in label(), name in label(), raw in any::<[u8; 32]>(), kind in kind()) {
            let key = SnippetRef::new(&ns, &name).unwrap().object(kind, Digest::from_sha256(raw));
            prop_assert_eq!(ArtifactKey::parse_url_path(&key.url_path()).unwrap(), key.clone());
            prop_assert_eq!(ArtifactKey::parse_relative_path(&key.relative_path()).unwrap(), key.clone());
            prop_assert_eq!(ObjectKind::parse_file_name(&kind.file_name(key.digest())).unwrap(), (kind, key.digest()));
            prop_assert_eq!(key.record_key().tarball_key(), key.tarball_key());
        }

        #[test]
        fn no_accepted_path_escapes_its_root(
            path in "[/a-z0-9.%\\\\-]{0,40}(sha256-[0-9a-f]{64}\\.(tar\\.gz|record\\.zst)(\\.tmp)?)?"
        ) {
            if let Ok(key) = ArtifactKey::parse_url_path(&path) {
                let relative = key.relative_path();
                prop_assert!(!relative.starts_with('/'));
                prop_assert!(relative.split('/').all(|s| !s.is_empty() && s != "." && s != ".."));
                prop_assert!(!relative.contains('\\') && !relative.contains('%'));
                prop_assert_eq!(key.url_path(), path);
            }
        }
    }
}
