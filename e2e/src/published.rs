//! Whether the controller has published what a test expects for a snippet: its status Ready at its latest
//! generation, naming the expected revision, and its ExternalArtifact serving that digest at the URL the storage
//! layout gives it; and whether a URL serves an artifact's bytes.

use anyhow::{Context, Result, ensure};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::cluster::{self, external_artifacts, snippets};

/// What an ExternalArtifact publishes.
#[derive(Clone, Debug)]
pub struct Publication {
    /// `status.artifact.url`.
    pub url: String,
    /// `status.artifact.digest`.
    pub digest: String,
}

/// Whether the snippet's status is about its latest generation and Ready: the controller finished with that spec.
pub fn is_current(snippet: &Value) -> bool {
    let ready = cluster::condition(snippet, "Ready").is_some_and(|c| c["status"] == "True");
    ready && snippet["status"]["observedGeneration"] == snippet["metadata"]["generation"]
}

/// The publication of snippet `namespace/name` once it [`is_current`] and both its status and its ExternalArtifact
/// name `expected` (the artifact URL laid out under `base_url`); `None` while not yet.
pub async fn published(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    expected: &str,
    base_url: &str,
) -> Result<Option<Publication>> {
    let Some(snippet) = cluster::get(client, &snippets(), namespace, name).await? else { return Ok(None) };
    if !is_current(&snippet) || snippet["status"]["revision"] != expected {
        return Ok(None);
    }
    let Some(artifact) = cluster::get(client, &external_artifacts(), namespace, name).await? else {
        return Ok(None);
    };
    let artifact = &artifact["status"]["artifact"];
    if artifact["revision"] != expected || artifact["digest"] != expected {
        return Ok(None);
    }
    let url = artifact["url"].as_str().unwrap_or_default().to_owned();
    let hex = expected.trim_start_matches("sha256:");
    let want = format!("{base_url}/{namespace}/{name}/sha256-{hex}.tar.gz");
    ensure!(url == want, "{namespace}/{name}: status.artifact.url is {url:?}, want {want:?}");
    Ok(Some(Publication { url, digest: expected.to_owned() }))
}

/// What snippet `namespace/name` and its ExternalArtifact say, against `expected`: for the message of an edit not
/// published.
pub async fn describe(client: &kube::Client, namespace: &str, name: &str, expected: &str) -> String {
    let snippet = cluster::get(client, &snippets(), namespace, name).await.ok().flatten().unwrap_or_default();
    let artifact = cluster::get(client, &external_artifacts(), namespace, name).await.ok().flatten();
    let artifact = artifact.unwrap_or_default();
    format!(
        "{name}: want {expected}; generation {}, status {}; ExternalArtifact status {}",
        snippet["metadata"]["generation"],
        serde_json::to_string(&snippet["status"]).unwrap_or_default(),
        serde_json::to_string(&artifact["status"]).unwrap_or_default(),
    )
}

/// GET `url` with `http`: 200 and a body whose sha256 is `digest` (`sha256:<hex>`). The light check a reader makes
/// on every fetch; [`crate::flux::fetch`] also untars the body as Flux does.
pub async fn served(http: &reqwest::Client, url: &str, digest: &str) -> Result<()> {
    let response = http.get(url).send().await.with_context(|| format!("GET {url}"))?;
    let status = response.status();
    ensure!(status == reqwest::StatusCode::OK, "GET {url}: HTTP {status} (want 200)");
    let body = response.bytes().await.with_context(|| format!("reading the body of {url}"))?;
    let actual = format!("sha256:{}", hex::encode(Sha256::digest(&body)));
    ensure!(actual == digest, "GET {url}: {} bytes with {actual}, published {digest}", body.len());
    Ok(())
}
