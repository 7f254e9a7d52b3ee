//! Downloads a Flux source artifact as Flux's own consumers do: one streamed GET of `status.artifact.url`, hashed
//! while it streams and bounded by `--source-max-archive-bytes`, then verified against `status.artifact.digest`
//! and extracted by [`extract_archive`]. Only bytes that match the digest are ever extracted.

use std::error::Error as _;
use std::path::Path;
use std::time::Duration;

use futures::StreamExt as _;
use reqwest::Url;
use tokio::io::AsyncWriteExt as _;

use super::args::SourceLimits;
use super::digest::{ArtifactDigest, DigestHasher};
use super::error::SourceError;
use super::untar::{ExtractedTree, extract_archive};

/// How long establishing a connection may take, within the whole download's timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A source's `status.artifact`, as far as fetching needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceArtifact {
    /// Where source-controller serves the tarball.
    pub url: String,
    /// `<algorithm>:<hex>` of the tarball's bytes.
    pub digest: String,
    /// The source revision (e.g. `main@sha1:<commit>`), for logs and provenance.
    pub revision: String,
    /// The tarball's size in bytes, when the source reports it.
    pub size: Option<u64>,
}

/// Downloads, verifies and extracts source artifacts within the configured limits.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    limits: SourceLimits,
    localhost: Option<String>,
}

impl Fetcher {
    /// A fetcher whose downloads each give up after `timeout`; with `localhost` (`HOST[:PORT]`), every artifact
    /// URL's host and port are replaced by it (Flux's `SOURCE_CONTROLLER_LOCALHOST`).
    pub fn new(limits: SourceLimits, timeout: Duration, localhost: Option<String>) -> Result<Self, SourceError> {
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT.min(timeout))
            .timeout(timeout)
            .build()
            .map_err(|e| SourceError::io("building the HTTP client", std::io::Error::other(error_chain(&e))))?;
        Ok(Self { client, limits, localhost: localhost.filter(|host| !host.is_empty()) })
    }

    /// The limits every download and extraction is held to.
    pub fn limits(&self) -> &SourceLimits {
        &self.limits
    }

    /// Downloads `artifact` into a temporary file in `downloads_dir`, verifies it, and extracts it to `target`.
    pub async fn fetch_tree(
        &self,
        artifact: &SourceArtifact,
        downloads_dir: &Path,
        target: &Path,
    ) -> Result<ExtractedTree, SourceError> {
        let digest = ArtifactDigest::parse(&artifact.digest)?;
        let download = tempfile::Builder::new()
            .prefix(".download-")
            .tempfile_in(downloads_dir)
            .map_err(|e| SourceError::io(format!("creating a download file in {}", downloads_dir.display()), e))?;
        self.download(artifact, &digest, download.path()).await?;
        let (archive, target, limits) = (download.path().to_path_buf(), target.to_path_buf(), self.limits);
        let tree = tokio::task::spawn_blocking(move || extract_archive(&archive, &target, &limits))
            .await
            .map_err(|e| SourceError::io("extracting the archive", std::io::Error::other(e.to_string())))??;
        tracing::debug!(url = %artifact.url, revision = %artifact.revision, bytes = tree.bytes, "extracted a source artifact");
        Ok(tree)
    }

    /// Streams `artifact` into `file`, failing as soon as it passes the size limit, then checks the digest.
    async fn download(
        &self,
        artifact: &SourceArtifact,
        digest: &ArtifactDigest,
        file: &Path,
    ) -> Result<(), SourceError> {
        let url = artifact_url(&artifact.url, self.localhost.as_deref())?;
        let limit = self.limits.max_archive_bytes;
        let too_large = |size| SourceError::ArchiveTooLarge { url: url.to_string(), size, limit };
        if let Some(size) = artifact.size.filter(|size| *size > limit) {
            return Err(too_large(size));
        }
        let request_failed = |e: reqwest::Error| SourceError::Request { url: url.to_string(), reason: error_chain(&e) };
        let response = self.client.get(url.clone()).send().await.map_err(request_failed)?;
        if response.status() != reqwest::StatusCode::OK {
            return Err(SourceError::HttpStatus { url: url.to_string(), status: response.status().as_u16() });
        }
        if let Some(size) = response.content_length().filter(|size| *size > limit) {
            return Err(too_large(size));
        }
        let write_error = |e| SourceError::io(format!("writing the download to {}", file.display()), e);
        let mut output = tokio::fs::File::create(file).await.map_err(write_error)?;
        let mut hasher = DigestHasher::new(digest.algorithm());
        let mut received: u64 = 0;
        let mut body = std::pin::pin!(response.bytes_stream());
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(request_failed)?;
            received += chunk.len() as u64;
            if received > limit {
                return Err(too_large(received));
            }
            hasher.update(&chunk);
            output.write_all(&chunk).await.map_err(write_error)?;
        }
        output.flush().await.map_err(write_error)?;
        let actual = hasher.finish();
        if actual != *digest {
            return Err(SourceError::DigestMismatch {
                url: url.to_string(),
                expected: digest.to_string(),
                actual: actual.to_string(),
            });
        }
        Ok(())
    }
}

/// Parses an artifact URL (http or https only) and, with `localhost`, replaces its host and port by it.
pub fn artifact_url(url: &str, localhost: Option<&str>) -> Result<Url, SourceError> {
    let invalid = |reason: String| SourceError::InvalidUrl { url: url.to_owned(), reason };
    let mut parsed = Url::parse(url).map_err(|e| invalid(e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(invalid("the scheme must be http or https".into()));
    }
    if let Some(localhost) = localhost {
        let bad_localhost = || invalid(format!("--source-controller-localhost {localhost:?} is not HOST[:PORT]"));
        let authority = Url::parse(&format!("{}://{localhost}", parsed.scheme())).map_err(|_| bad_localhost())?;
        if authority.path() != "/" || authority.query().is_some() {
            return Err(bad_localhost());
        }
        parsed.set_host(authority.host_str()).map_err(|_| bad_localhost())?;
        parsed.set_port(authority.port()).map_err(|()| bad_localhost())?;
    }
    Ok(parsed)
}

/// An error and its causes on one line, as reqwest's own message omits the cause (refused, timed out, ...).
pub(crate) fn error_chain(error: &reqwest::Error) -> String {
    let mut message = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        message.push_str(": ");
        message.push_str(&inner.to_string());
        cause = inner.source();
    }
    message
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use sha2::{Digest as _, Sha512};

    use super::super::testing::{LIMITS, TestEntry, TestServer, sha256_digest, tar_gz};
    use super::*;

    fn fetcher(limits: SourceLimits, localhost: Option<&str>) -> Fetcher {
        Fetcher::new(limits, Duration::from_secs(5), localhost.map(str::to_owned)).unwrap()
    }

    fn artifact(url: String, digest: String) -> SourceArtifact {
        SourceArtifact { url, digest, revision: "main@sha1:0123".into(), size: None }
    }

    async fn fetch(
        fetcher: &Fetcher,
        artifact: &SourceArtifact,
    ) -> (tempfile::TempDir, Result<ExtractedTree, SourceError>) {
        let dir = tempfile::tempdir().unwrap();
        let result = fetcher.fetch_tree(artifact, dir.path(), &dir.path().join("tree")).await;
        (dir, result)
    }

    fn jb_tree() -> Vec<u8> {
        tar_gz(&[
            TestEntry::Dir("./"),
            TestEntry::File("./main.jsonnet", b"import 'vendor/lib.libsonnet'".to_vec()),
            TestEntry::File("./vendor/lib.libsonnet", b"{ a: 1 }".to_vec()),
        ])
    }

    #[tokio::test]
    async fn downloads_verifies_and_extracts_a_good_archive() {
        let server = TestServer::start(Duration::ZERO).await;
        let tarball = jb_tree();
        server.serve("/gitrepository/default/app/abc.tar.gz", tarball.clone());
        let good = artifact(server.url("/gitrepository/default/app/abc.tar.gz"), sha256_digest(&tarball));
        let (dir, result) = fetch(&fetcher(LIMITS, None), &good).await;
        assert_eq!(result.unwrap(), ExtractedTree { bytes: 37, entries: 3 });
        let tree = dir.path().join("tree");
        assert_eq!(std::fs::read_to_string(tree.join("vendor/lib.libsonnet")).unwrap(), "{ a: 1 }");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "the download and staging files are gone");

        let sha512 = format!("sha512:{}", hex::encode(Sha512::digest(&tarball)));
        let (_dir, result) = fetch(&fetcher(LIMITS, None), &artifact(good.url.clone(), sha512)).await;
        assert!(result.is_ok(), "{result:?}");
    }

    #[tokio::test]
    async fn a_digest_mismatch_names_both_digests_and_extracts_nothing() {
        let server = TestServer::start(Duration::ZERO).await;
        let tarball = jb_tree();
        server.serve("/a.tar.gz", tarball.clone());
        let expected = sha256_digest(b"another commit");
        let (dir, result) = fetch(&fetcher(LIMITS, None), &artifact(server.url("/a.tar.gz"), expected.clone())).await;
        match result.unwrap_err() {
            SourceError::DigestMismatch { expected: wanted, actual, .. } => {
                assert_eq!(wanted, expected);
                assert_eq!(actual, sha256_digest(&tarball));
            }
            other => panic!("expected a digest mismatch, got {other}"),
        }
        assert!(!dir.path().join("tree").exists());
    }

    #[tokio::test]
    async fn an_oversized_archive_is_refused_by_announced_and_by_streamed_size() {
        let server = TestServer::start(Duration::ZERO).await;
        let tarball = jb_tree();
        server.serve("/big.tar.gz", tarball.clone());
        let limits = SourceLimits { max_archive_bytes: 50, ..LIMITS };
        let mut big = artifact(server.url("/big.tar.gz"), sha256_digest(&tarball));
        let (_dir, result) = fetch(&fetcher(limits, None), &big).await;
        let error = result.unwrap_err();
        assert!(matches!(error, SourceError::ArchiveTooLarge { limit: 50, .. }), "{error}");
        assert!(error.to_string().contains("--source-max-archive-bytes=50"), "{error}");

        server.serve_unannounced("/unannounced.tar.gz", tarball.clone());
        let unannounced = artifact(server.url("/unannounced.tar.gz"), sha256_digest(&tarball));
        let (_dir, result) = fetch(&fetcher(limits, None), &unannounced).await;
        assert!(matches!(result, Err(SourceError::ArchiveTooLarge { size, .. }) if size > 50), "{result:?}");
        let (_dir, result) = fetch(&fetcher(LIMITS, None), &unannounced).await;
        assert!(result.is_ok(), "without a length the body is read to its end: {result:?}");

        big.size = Some(51);
        let before = server.requests();
        let (_dir, result) = fetch(&fetcher(limits, None), &big).await;
        assert!(matches!(result, Err(SourceError::ArchiveTooLarge { size: 51, .. })), "{result:?}");
        assert_eq!(server.requests(), before, "a too large status.artifact.size is refused without a request");
    }

    #[tokio::test]
    async fn http_errors_and_refused_connections_name_the_url() {
        let server = TestServer::start(Duration::ZERO).await;
        server.fail("/gone.tar.gz", 410);
        let gone = artifact(server.url("/gone.tar.gz"), sha256_digest(b""));
        let (_dir, result) = fetch(&fetcher(LIMITS, None), &gone).await;
        let error = result.unwrap_err();
        assert!(matches!(error, SourceError::HttpStatus { status: 410, .. }), "{error}");
        assert!(error.to_string().contains("/gone.tar.gz"), "{error}");

        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let refused = artifact(format!("http://{closed}/x.tar.gz"), sha256_digest(b""));
        let (_dir, result) = fetch(&fetcher(LIMITS, None), &refused).await;
        assert!(matches!(result, Err(SourceError::Request { ref url, .. }) if url.contains(&closed.to_string())));
    }

    #[tokio::test]
    async fn the_localhost_flag_reaches_source_controller_from_outside_the_cluster() {
        let server = TestServer::start(Duration::ZERO).await;
        let tarball = jb_tree();
        server.serve("/gitrepository/flux-system/app/abc.tar.gz", tarball.clone());
        let in_cluster = artifact(
            "http://source-controller.flux-system.svc.cluster.local./gitrepository/flux-system/app/abc.tar.gz".into(),
            sha256_digest(&tarball),
        );
        let (_dir, result) = fetch(&fetcher(LIMITS, Some(server.address())), &in_cluster).await;
        assert!(result.is_ok(), "{result:?}");
    }

    #[test]
    fn artifact_urls_are_checked_and_rewritten() {
        let url = "http://source-controller.flux-system.svc:80/a/b.tar.gz?x=1";
        assert_eq!(
            artifact_url(url, None).unwrap().as_str(),
            "http://source-controller.flux-system.svc/a/b.tar.gz?x=1"
        );
        assert_eq!(artifact_url(url, Some("localhost:9090")).unwrap().as_str(), "http://localhost:9090/a/b.tar.gz?x=1");
        assert_eq!(artifact_url(url, Some("127.0.0.1")).unwrap().as_str(), "http://127.0.0.1/a/b.tar.gz?x=1");
        for (bad_url, localhost) in [("file:///etc/passwd", None), ("not a url", None), (url, Some("host/path"))] {
            assert!(matches!(artifact_url(bad_url, localhost), Err(SourceError::InvalidUrl { .. })), "{bad_url}");
        }
    }
}
