//! A reference to one rendered revision as a command line names it ([`RevisionRef`]): a tarball on disk, a revision
//! in storage (`<namespace>/<name>@sha256:<hex>`), an artifact URL, or a local path rendered as `jaas render`
//! renders it; and reading its tarball's bytes, within a size bound, through [`RevisionSources`].

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt as _;
use jaas_shared::config::StorageArgs;
use jaas_shared::{ArtifactKey, ArtifactStore, ConfigError, Digest, StorageBackend, StoreError};
use reqwest::Url;
use tokio::sync::OnceCell;

use crate::render_command::{RenderArgs, render_artifact};
use crate::source::error_chain;

/// The largest artifact read unless told otherwise: far above real artifacts (the renderer bounds an evaluation's
/// value to 32 MiB of JSON by default), low enough that two of them fit in memory.
pub const DEFAULT_MAX_ARTIFACT_BYTES: u64 = 256 * 1024 * 1024;
/// How long an artifact download may take unless told otherwise.
pub const DEFAULT_HTTP_TIMEOUT: Duration = Duration::from_mins(1);

/// How the name of a tarball on disk ends (in any case).
const TARBALL_SUFFIXES: [&str; 2] = [".tar.gz", ".tgz"];

/// One rendered revision, as named on a command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevisionRef {
    /// A JaaS artifact (`.tar.gz`/`.tgz`) on disk.
    Tarball(PathBuf),
    /// A revision in storage: `<namespace>/<name>@sha256:<64 hex>` (or the bare hex after `@`).
    Stored(ArtifactKey),
    /// An artifact served over http or https, e.g. an ExternalArtifact's `status.artifact.url`.
    Url(Url),
    /// A JsonnetSnippet YAML file, a `.jsonnet` file or a directory, rendered as `jaas render <path>` renders it.
    Render(PathBuf),
}

/// Why a reference is malformed or its tarball cannot be read. Each message is written to follow the reference.
#[derive(Debug, thiserror::Error)]
pub enum RevisionError {
    /// The text is not a usable reference.
    #[error("invalid revision reference {text:?}: {reason}")]
    Invalid {
        /// The reference as given.
        text: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A tarball on disk cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The storage flags are wrong or storage cannot be opened.
    #[error("cannot open storage: {0}")]
    StorageConfig(#[from] ConfigError),
    /// Storage failed or does not hold the revision.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The download failed.
    #[error("GET {url}: {reason}")]
    Http {
        /// The URL.
        url: String,
        /// What went wrong (status, refused connection, timeout, ...).
        reason: String,
    },
    /// The tarball is larger than the bound.
    #[error("the artifact is {size} bytes or more, over --max-artifact-bytes={limit}")]
    TooLarge {
        /// Its size, or as much of it as was read.
        size: u64,
        /// The bound.
        limit: u64,
    },
    /// Rendering a local path failed.
    #[error("rendering failed: {0}")]
    Render(String),
}

impl RevisionRef {
    /// Reads a reference: an `http://` or `https://` URL (any other `<scheme>://` is refused);
    /// `<namespace>/<name>@sha256:<hex>` or `<namespace>/<name>@<hex>` (64 lowercase hex digits); a path ending in
    /// `.tar.gz` or `.tgz`; any other text is a path to render. Nothing is read from disk, storage or network.
    pub fn parse(text: &str) -> Result<Self, RevisionError> {
        let invalid = |reason: String| RevisionError::Invalid { text: text.to_owned(), reason };
        if text.is_empty() {
            return Err(invalid("it is empty".to_owned()));
        }
        if looks_like_url(text) {
            let url = crate::source::artifact_url(text, None).map_err(|error| invalid(error.to_string()))?;
            return Ok(Self::Url(url));
        }
        if let Some((snippet, digest)) = text.rsplit_once('@') {
            let hex_digits = digest.strip_prefix("sha256:");
            let bare_hex = digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit()) && snippet.contains('/');
            if let Some(hex_digits) = hex_digits.or(bare_hex.then_some(digest)) {
                let digest = Digest::from_hex(hex_digits).map_err(|error| invalid(error.to_string()))?;
                let Some((namespace, name)) = snippet.split_once('/') else {
                    return Err(invalid("expected <namespace>/<name>@sha256:<64 hex>".to_owned()));
                };
                let key = ArtifactKey::new(namespace, name, digest).map_err(|error| invalid(error.to_string()))?;
                return Ok(Self::Stored(key));
            }
        }
        let path = PathBuf::from(text);
        let lowercase = text.to_ascii_lowercase();
        if TARBALL_SUFFIXES.iter().any(|suffix| lowercase.ends_with(suffix)) {
            return Ok(Self::Tarball(path));
        }
        Ok(Self::Render(path))
    }

    /// The storage key of a [`RevisionRef::Stored`] reference; `None` for the other forms.
    pub fn storage_key(&self) -> Option<ArtifactKey> {
        match self {
            Self::Stored(key) => Some(key.clone()),
            _ => None,
        }
    }

    /// The tarball's bytes as stored, served, written or rendered, at most `sources`' bound. Checking them against
    /// a digest is the caller's business.
    pub async fn load(&self, sources: &RevisionSources) -> Result<Bytes, RevisionError> {
        let limit = sources.max_bytes;
        let bytes = match self {
            Self::Tarball(path) => read_file(path, limit).await?,
            Self::Stored(key) => read_stored(&*sources.store().await?, key, limit).await?,
            Self::Url(url) => download(url, limit, sources.http_timeout).await?,
            Self::Render(path) => {
                let args = RenderArgs::of_input(path.clone(), sources.libraries.clone());
                let rendered =
                    render_artifact(&args).await.map_err(|error| RevisionError::Render(error.to_string()))?;
                rendered.artifact.tarball
            }
        };
        let size = bytes.len() as u64;
        if size > limit {
            return Err(RevisionError::TooLarge { size, limit });
        }
        Ok(bytes)
    }
}

impl fmt::Display for RevisionRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tarball(path) | Self::Render(path) => write!(f, "{}", path.display()),
            Self::Stored(key) => write!(f, "{}@{}", key.snippet(), key.digest()),
            Self::Url(url) => write!(f, "{url}"),
        }
    }
}

/// Where revisions are read from: storage (opened on first use, so that comparing two files never touches it),
/// the network and local renders, with the bounds every read is held to.
#[derive(Debug)]
pub struct RevisionSources {
    storage: StorageArgs,
    store: OnceCell<Arc<dyn ArtifactStore>>,
    libraries: Vec<PathBuf>,
    max_bytes: u64,
    http_timeout: Duration,
}

impl RevisionSources {
    /// Sources reading stored revisions from the storage `storage` describes, with the default bounds and no
    /// `--library` files.
    pub fn new(storage: StorageArgs) -> Self {
        Self {
            storage,
            store: OnceCell::new(),
            libraries: Vec::new(),
            max_bytes: DEFAULT_MAX_ARTIFACT_BYTES,
            http_timeout: DEFAULT_HTTP_TIMEOUT,
        }
    }

    /// The same sources, rendering a JsonnetSnippet with the JsonnetLibrary files `libraries` (`--library`).
    #[must_use]
    pub fn with_libraries(self, libraries: Vec<PathBuf>) -> Self {
        Self { libraries, ..self }
    }

    /// The same sources, refusing a tarball larger than `max_bytes`.
    #[must_use]
    pub fn with_max_bytes(self, max_bytes: u64) -> Self {
        Self { max_bytes, ..self }
    }

    /// The same sources, giving up on a download after `timeout`.
    #[must_use]
    pub fn with_http_timeout(self, timeout: Duration) -> Self {
        Self { http_timeout: timeout, ..self }
    }

    /// The largest tarball read.
    pub fn max_bytes(&self) -> u64 {
        self.max_bytes
    }

    /// The store, opened and checked on the first call. A local storage path that does not exist is an error here
    /// rather than created, as opening it for the controller would.
    pub async fn store(&self) -> Result<Arc<dyn ArtifactStore>, RevisionError> {
        let open = || async {
            self.storage.validate()?;
            let root = &self.storage.storage_path;
            if self.storage.storage_backend == StorageBackend::Local && !root.is_dir() {
                let message = format!("--storage-path {} is not a directory", root.display());
                return Err(ConfigError::Invalid(message).into());
            }
            Ok::<_, RevisionError>(self.storage.open().await?)
        };
        self.store.get_or_try_init(open).await.cloned()
    }
}

/// True for `<scheme>://...`: a URL, even one whose scheme is not allowed (rather than a path of that name).
fn looks_like_url(text: &str) -> bool {
    text.split_once("://").is_some_and(|(scheme, _)| {
        scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme.bytes().all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
    })
}

async fn read_file(path: &Path, limit: u64) -> Result<Bytes, RevisionError> {
    let read_error = |source| RevisionError::Read { path: path.display().to_string(), source };
    let size = tokio::fs::metadata(path).await.map_err(read_error)?.len();
    if size > limit {
        return Err(RevisionError::TooLarge { size, limit });
    }
    Ok(tokio::fs::read(path).await.map_err(read_error)?.into())
}

async fn read_stored(store: &dyn ArtifactStore, key: &ArtifactKey, limit: u64) -> Result<Bytes, RevisionError> {
    let object = store.get(key, None).await?;
    if object.meta.size > limit {
        return Err(RevisionError::TooLarge { size: object.meta.size, limit });
    }
    Ok(object.bytes().await?)
}

/// One GET, refused as soon as the announced or received size passes `limit`.
async fn download(url: &Url, limit: u64, timeout: Duration) -> Result<Bytes, RevisionError> {
    let failed = |reason: String| RevisionError::Http { url: url.to_string(), reason };
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(|error| failed(format!("cannot build the HTTP client: {}", error_chain(&error))))?;
    let response = client.get(url.clone()).send().await.map_err(|error| failed(error_chain(&error)))?;
    if response.status() != reqwest::StatusCode::OK {
        return Err(failed(format!("HTTP status {}", response.status())));
    }
    if let Some(size) = response.content_length().filter(|size| *size > limit) {
        return Err(RevisionError::TooLarge { size, limit });
    }
    let mut received = Vec::new();
    let mut body = std::pin::pin!(response.bytes_stream());
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|error| failed(error_chain(&error)))?;
        let size = (received.len() + chunk.len()) as u64;
        if size > limit {
            return Err(RevisionError::TooLarge { size, limit });
        }
        received.extend_from_slice(&chunk);
    }
    Ok(received.into())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use super::*;

    const HEX: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn stored(namespace: &str, name: &str) -> RevisionRef {
        let digest = Digest::from_hex(HEX).unwrap();
        RevisionRef::Stored(ArtifactKey::new(namespace, name, digest).unwrap())
    }

    #[test]
    fn each_form_is_recognised() {
        let url = "https://srv.example/default/app/sha256-x.tar.gz";
        let cases: Vec<(String, RevisionRef)> = vec![
            (format!("team/web@sha256:{HEX}"), stored("team", "web")),
            (format!("team/web.v2@{HEX}"), stored("team", "web.v2")),
            ("out/a.tar.gz".to_owned(), RevisionRef::Tarball("out/a.tar.gz".into())),
            ("a.tgz".to_owned(), RevisionRef::Tarball("a.tgz".into())),
            (url.to_owned(), RevisionRef::Url(Url::parse(url).unwrap())),
            ("examples/app/snippet.yaml".to_owned(), RevisionRef::Render("examples/app/snippet.yaml".into())),
            ("project".to_owned(), RevisionRef::Render("project".into())),
            // Not 64 hex digits and no `sha256:`: an ordinary path.
            ("dir/x@1.2.jsonnet".to_owned(), RevisionRef::Render("dir/x@1.2.jsonnet".into())),
            (format!("nodir@{HEX}"), RevisionRef::Render(format!("nodir@{HEX}").into())),
        ];
        for (text, expected) in cases {
            assert_eq!(RevisionRef::parse(&text).unwrap(), expected, "{text}");
        }
    }

    #[test]
    fn malformed_references_say_what_is_wrong() {
        let cases = [
            ("team/web@sha256:abc", "invalid digest"),
            (&*format!("team/web@sha256:{}", HEX.to_uppercase()), "invalid digest"),
            (&*format!("web@sha256:{HEX}"), "<namespace>/<name>"),
            (&*format!("Team/web@sha256:{HEX}"), "invalid namespace"),
            (&*format!("team/a/b@sha256:{HEX}"), "invalid name"),
            ("ftp://srv/a.tar.gz", "must be http or https"),
            ("http://", "invalid revision reference"),
            ("", "empty"),
        ];
        for (text, fragment) in cases {
            let error = RevisionRef::parse(text).unwrap_err().to_string();
            assert!(error.contains(fragment), "{text}: {error}");
        }
    }

    #[test]
    fn only_stored_references_have_a_storage_key_and_display_round_trips() {
        let text = format!("team/web@sha256:{HEX}");
        let reference = RevisionRef::parse(&text).unwrap();
        assert_eq!(reference.storage_key().unwrap().relative_path(), format!("team/web/sha256-{HEX}.tar.gz"));
        assert_eq!(reference.to_string(), text);
        assert_eq!(RevisionRef::parse(&format!("team/web@{HEX}")).unwrap().to_string(), text);
        for other in ["a.tar.gz", "main.jsonnet", "http://srv/a.tar.gz"] {
            assert!(RevisionRef::parse(other).unwrap().storage_key().is_none(), "{other}");
        }
    }

    fn local_storage(root: &Path) -> StorageArgs {
        use clap::Parser as _;
        #[derive(clap::Parser)]
        struct Flags {
            #[command(flatten)]
            storage: StorageArgs,
        }
        Flags::parse_from(["test", "--storage-path", root.to_str().unwrap()]).storage
    }

    #[tokio::test]
    async fn files_and_stored_revisions_are_read_within_the_bound() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = b"not really a tarball".to_vec();
        let key = ArtifactKey::new("team", "web", Digest::of(&bytes)).unwrap();
        let path = dir.path().join(key.relative_path());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &bytes).unwrap();
        let sources = RevisionSources::new(local_storage(dir.path()));
        assert_eq!(RevisionRef::Stored(key.clone()).load(&sources).await.unwrap(), bytes);
        assert_eq!(RevisionRef::Tarball(path.clone()).load(&sources).await.unwrap(), bytes);

        let small = RevisionSources::new(local_storage(dir.path())).with_max_bytes(5);
        for reference in [RevisionRef::Stored(key.clone()), RevisionRef::Tarball(path)] {
            let error = reference.load(&small).await.unwrap_err();
            assert!(matches!(error, RevisionError::TooLarge { size: 20, limit: 5 }), "{error}");
        }
        let missing = ArtifactKey::new("team", "web", Digest::of(b"other")).unwrap();
        let error = RevisionRef::Stored(missing).load(&sources).await.unwrap_err();
        assert!(matches!(error, RevisionError::Store(StoreError::NotFound(_))), "{error}");
        let error = RevisionRef::Tarball(dir.path().join("none.tar.gz")).load(&sources).await.unwrap_err();
        assert!(error.to_string().starts_with("cannot read "), "{error}");
    }

    #[tokio::test]
    async fn a_missing_storage_path_is_reported_not_created() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("nowhere");
        let sources = RevisionSources::new(local_storage(&root));
        let error = stored("team", "web").load(&sources).await.unwrap_err().to_string();
        assert!(error.contains("--storage-path") && error.contains("is not a directory"), "{error}");
        assert!(!root.exists());
    }

    /// Serves the same HTTP response to each connection on 127.0.0.1; the URL of an artifact on it.
    async fn serve(status: &'static str, body: Vec<u8>) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut request = [0u8; 1024];
                let _ = socket.read(&mut request).await;
                let head = format!("HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", body.len());
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(&body).await;
            }
        });
        format!("http://{address}/team/web/sha256-{HEX}.tar.gz")
    }

    #[tokio::test]
    async fn urls_are_downloaded_within_the_bound() {
        let sources = || RevisionSources::new(local_storage(Path::new("/nonexistent")));
        let url = serve("200 OK", b"tarball bytes".to_vec()).await;
        let reference = RevisionRef::parse(&url).unwrap();
        assert_eq!(reference.load(&sources()).await.unwrap(), &b"tarball bytes"[..]);
        let error = reference.load(&sources().with_max_bytes(4)).await.unwrap_err();
        assert!(matches!(error, RevisionError::TooLarge { size: 13, limit: 4 }), "{error}");

        let gone = RevisionRef::parse(&serve("404 Not Found", Vec::new()).await).unwrap();
        let error = gone.load(&sources()).await.unwrap_err().to_string();
        assert!(error.starts_with("GET http://127.0.0.1:") && error.contains("404"), "{error}");
    }
}
