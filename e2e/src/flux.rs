//! What a Flux consumer does with an `ExternalArtifact`'s `status.artifact`: download `url`, check that the body's
//! sha256 is `digest`, require gzip, cap the size at 100 MiB, untar with Flux's rules (names starting with `/` or
//! containing `../` or `\` are rejected, symlinks skipped), then apply every `.yaml`/`.yml` file, so each of their
//! documents needs `apiVersion`, `kind` and `metadata.name`.

use std::collections::BTreeMap;
use std::io::Read;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Flux's limit on an artifact's size.
pub const MAX_ARTIFACT_BYTES: u64 = 100 * 1024 * 1024;

/// A downloaded and unpacked artifact.
pub struct Artifact {
    /// The tarball's size in bytes.
    pub size: u64,
    /// Regular files by path, in tar order sorted by name.
    pub files: BTreeMap<String, Vec<u8>>,
}

impl Artifact {
    /// The YAML documents of every `.yaml`/`.yml` file, as kustomize-controller would apply them.
    pub fn manifests(&self) -> Result<Vec<Value>> {
        let mut all = Vec::new();
        for (path, bytes) in &self.files {
            // Case-sensitive, as kustomize's own check is.
            let extension = std::path::Path::new(path).extension();
            if !extension.is_some_and(|x| x == "yaml" || x == "yml") {
                continue;
            }
            let text = std::str::from_utf8(bytes).with_context(|| format!("{path} is not UTF-8"))?;
            let docs: Vec<Value> = serde_saphyr::from_multiple(text).with_context(|| format!("{path} is not YAML"))?;
            for doc in docs.into_iter().filter(|d| !d.is_null()) {
                for field in ["apiVersion", "kind"] {
                    ensure!(doc[field].as_str().is_some_and(|s| !s.is_empty()), "{path}: a document without {field}");
                }
                ensure!(
                    doc["metadata"]["name"].as_str().is_some_and(|s| !s.is_empty()),
                    "{path}: a document without metadata.name"
                );
                all.push(doc);
            }
        }
        ensure!(!all.is_empty(), "the artifact holds no .yaml document (files: {:?})", self.files.keys());
        Ok(all)
    }
}

fn http() -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?)
}

/// Downloads `url` and checks it as Flux does; `digest` is `sha256:<hex>`.
pub async fn fetch(url: &str, digest: &str) -> Result<Artifact> {
    let expected = digest.strip_prefix("sha256:").with_context(|| format!("digest {digest:?} is not sha256:<hex>"))?;
    let response = http()?.get(url).send().await.with_context(|| format!("GET {url}"))?;
    ensure!(response.status() == reqwest::StatusCode::OK, "GET {url}: HTTP {} (want 200)", response.status());
    if let Some(length) = response.content_length() {
        ensure!(length <= MAX_ARTIFACT_BYTES, "GET {url}: Content-Length {length} exceeds Flux's 100 MiB limit");
    }
    let mut body = Vec::new();
    let mut response = response;
    while let Some(chunk) = response.chunk().await.with_context(|| format!("reading {url}"))? {
        body.extend_from_slice(&chunk);
        ensure!(body.len() as u64 <= MAX_ARTIFACT_BYTES, "GET {url}: the body exceeds Flux's 100 MiB limit");
    }
    let actual = hex::encode(Sha256::digest(&body));
    ensure!(actual == expected, "GET {url}: sha256 of the body is {actual}, the ExternalArtifact says {expected}");
    ensure!(body.starts_with(&[0x1f, 0x8b]), "GET {url}: not gzip (first bytes {:02x?})", &body[..body.len().min(4)]);
    let files = untar(&body).with_context(|| format!("untar {url}"))?;
    Ok(Artifact { size: body.len() as u64, files })
}

/// Flux's untar rules (fluxcd/pkg/tar): unsafe names are an error, symlinks are skipped, directories created,
/// regular files kept; any other entry type is an error.
pub fn untar(gzipped: &[u8]) -> Result<BTreeMap<String, Vec<u8>>> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(gzipped));
    let mut files = BTreeMap::new();
    for entry in archive.entries()? {
        let mut entry = entry?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        if name.starts_with('/') || name.contains("../") || name.contains('\\') {
            bail!("unsafe entry name {name:?}");
        }
        match entry.header().entry_type() {
            tar::EntryType::Symlink | tar::EntryType::Directory => {}
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let mut bytes = Vec::new();
                entry.read_to_end(&mut bytes)?;
                files.insert(name, bytes);
            }
            other => bail!("entry {name:?} has an unsupported type {other:?}"),
        }
    }
    Ok(files)
}

/// The HTTP status `url` answers with, without reading the body.
pub async fn status_of(url: &str) -> Result<u16> {
    Ok(http()?.get(url).send().await.with_context(|| format!("GET {url}"))?.status().as_u16())
}

/// Polls `url` until it answers 404, within `timeout`; returns how long it took.
pub async fn wait_not_found(url: &str, timeout: Duration) -> Result<Duration> {
    let start = Instant::now();
    loop {
        let status = status_of(url).await?;
        if status == 404 {
            return Ok(start.elapsed());
        }
        ensure!(start.elapsed() < timeout, "GET {url} still answers {status} after {timeout:?} (want 404)");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn tarball(entries: &[(&str, tar::EntryType, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
        for (name, kind, body) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(*kind);
            header.set_size(body.len() as u64);
            header.set_mode(0o644);
            // set_path refuses `..`, so write the raw name as an attacker would.
            let raw = &mut header.as_old_mut().name;
            raw[..name.len()].copy_from_slice(name.as_bytes());
            if *kind == tar::EntryType::Symlink {
                header.set_link_name("/etc/passwd").unwrap();
            }
            header.set_cksum();
            builder.append(&header, *body).unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap()
    }

    #[test]
    fn untar_keeps_files_and_skips_symlinks() {
        let files =
            untar(&tarball(&[("a.yaml", tar::EntryType::Regular, b"x"), ("link", tar::EntryType::Symlink, b"")]))
                .unwrap();
        assert_eq!(files.keys().collect::<Vec<_>>(), ["a.yaml"]);
    }

    #[test]
    fn untar_rejects_what_flux_rejects() {
        for name in ["/etc/x.yaml", "a/../../x.yaml", "a\\b.yaml"] {
            let error = untar(&tarball(&[(name, tar::EntryType::Regular, b"x")])).unwrap_err().to_string();
            assert!(error.contains("unsafe"), "{name}: {error}");
        }
    }

    #[test]
    fn manifests_need_api_version_kind_and_name() {
        let artifact = |yaml: &str| Artifact {
            size: 0,
            files: BTreeMap::from([("m.yaml".to_owned(), yaml.as_bytes().to_vec()), ("x.json".into(), b"{".to_vec())]),
        };
        assert_eq!(artifact("apiVersion: v1\nkind: A\nmetadata: {name: a}\n---\n").manifests().unwrap().len(), 1);
        assert!(artifact("apiVersion: v1\nkind: A\nmetadata: {}\n").manifests().is_err());
        assert!(artifact("").manifests().is_err());
    }
}
