//! The snippets the controller is killed under: [`COUNT`] of them, each rendering a few hundred ConfigMaps from an
//! external variable `edit` that every edit bumps, so a render takes long enough (a few hundred milliseconds in a
//! debug build) for kills to land inside it. What the controller must publish for an edit is what `jaas render`
//! gives for the same document: the same code path, and the tarball is reproducible.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, ensure};
use jaas_e2e::cluster::{self, external_artifacts, snippets};
use jaas_e2e::run;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// How many snippets the namespace holds.
pub const COUNT: usize = 5;
/// Revisions kept per snippet: more than any snippet is edited in a run, so no published URL is ever retired.
pub const HISTORY: u64 = 50;

/// The name of snippet `index`.
pub fn name(index: usize) -> String {
    format!("fault-{index}")
}

/// Snippet `index` as it is after `edit` edits.
pub fn document(index: usize, edit: u64) -> Value {
    json!({
        "apiVersion": "jaas.metio.wtf/v1",
        "kind": "JsonnetSnippet",
        "metadata": {"name": name(index)},
        "spec": {
            "history": HISTORY,
            "externalVariables": [{"name": "edit", "value": edit.to_string(), "code": true}],
            "files": {"main.jsonnet": MAIN},
        },
    })
}

const MAIN: &str = "local edit = std.extVar('edit');
[
  {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'fault-%d' % i },
    data: { edit: std.toString(edit), digest: std.md5('%d-%d' % [edit, i]) },
  }
  for i in std.range(1, 400)
]
";

/// The digest (`sha256:<hex>`) of `jaas render` of `document`: what the controller must publish for it. `scratch`
/// holds the files it needs.
pub async fn expected_digest(jaas: &Path, document: &Value, scratch: &Path) -> Result<String> {
    let (jaas, scratch) = (jaas.to_owned(), scratch.to_owned());
    let name = document["metadata"]["name"].as_str().unwrap_or("snippet").to_owned();
    // JSON is YAML; `jaas render` takes a snippet file by its .yaml extension.
    let (input, output) = (scratch.join(format!("{name}.yaml")), scratch.join(format!("{name}.tar.gz")));
    std::fs::write(&input, serde_json::to_vec(document)?)?;
    let tarball = tokio::task::spawn_blocking(move || -> Result<Vec<u8>> {
        run(Command::new(&jaas).arg("render").arg(&input).arg("-o").arg(&output), None)?.ok()?;
        std::fs::read(&output).with_context(|| format!("reading {}", output.display()))
    })
    .await??;
    Ok(format!("sha256:{}", hex::encode(Sha256::digest(&tarball))))
}

/// What an ExternalArtifact publishes.
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

/// The publication of snippet `index` once it is [`is_current`] and both its status and its ExternalArtifact name
/// `expected` (the artifact URL laid out under `base_url`); `None` while not yet.
pub async fn published(
    client: &kube::Client,
    namespace: &str,
    index: usize,
    expected: &str,
    base_url: &str,
) -> Result<Option<Publication>> {
    let name = name(index);
    let Some(snippet) = cluster::get(client, &snippets(), namespace, &name).await? else { return Ok(None) };
    if !is_current(&snippet) || snippet["status"]["revision"] != expected {
        return Ok(None);
    }
    let Some(artifact) = cluster::get(client, &external_artifacts(), namespace, &name).await? else {
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

/// What snippet `index` and its ExternalArtifact say, against `expected`: for the message of an edit not published.
pub async fn describe(client: &kube::Client, namespace: &str, index: usize, expected: &str) -> String {
    let name = name(index);
    let snippet = cluster::get(client, &snippets(), namespace, &name).await.ok().flatten().unwrap_or_default();
    let artifact = cluster::get(client, &external_artifacts(), namespace, &name).await.ok().flatten();
    let artifact = artifact.unwrap_or_default();
    format!(
        "{name}: want {expected}; generation {}, status {}; ExternalArtifact status {}",
        snippet["metadata"]["generation"],
        serde_json::to_string(&snippet["status"]).unwrap_or_default(),
        serde_json::to_string(&artifact["status"]).unwrap_or_default(),
    )
}
