//! The snippets edited through the outage: [`COUNT`] small ones, each a list of ConfigMaps from two external
//! variables, `snippet` (its index, so no two snippets share a revision) and `edit`, which every edit bumps, so
//! each edit is a new revision. What the controller must publish for an
//! edit is what `jaas render` gives for the same document (the same code path; the tarball is reproducible); what
//! the controller says about an edit it could not store is read from the snippet's Ready condition.

use anyhow::Result;
use jaas_e2e::cluster::{self, snippets};
use serde_json::{Value, json};

/// How many snippets the namespace holds.
pub const COUNT: usize = 5;
/// Revisions kept per snippet: the pre-outage revisions stay stored (and served) after the edits.
const HISTORY: u64 = 5;

/// The name of snippet `index`.
pub fn name(index: usize) -> String {
    format!("outage-{index}")
}

/// Snippet `index` as it is after `edit` edits.
pub fn document(index: usize, edit: u64) -> Value {
    json!({
        "apiVersion": "jaas.metio.wtf/v1",
        "kind": "JsonnetSnippet",
        "metadata": {"name": name(index)},
        "spec": {
            "history": HISTORY,
            "externalVariables": [
                {"name": "snippet", "value": index.to_string(), "code": true},
                {"name": "edit", "value": edit.to_string(), "code": true},
            ],
            "files": {"main.jsonnet": MAIN},
        },
    })
}

const MAIN: &str = "local snippet = std.extVar('snippet'), edit = std.extVar('edit');
[
  {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'outage-%d' % i },
    data: { snippet: std.toString(snippet), edit: std.toString(edit), digest: std.md5('%d-%d-%d' % [snippet, edit, i]) },
  }
  for i in std.range(1, 20)
]
";

pub use jaas_e2e::rendered::expected_digest;

pub use jaas_e2e::published::Publication;

/// The reason of snippet `index`'s Ready=False condition when it is about the snippet's latest generation, e.g.
/// `StorageOperationFailed`; `None` while it is Ready, or the condition is about an older generation.
pub async fn not_ready_reason(client: &kube::Client, namespace: &str, index: usize) -> Result<Option<String>> {
    let Some(snippet) = cluster::get(client, &snippets(), namespace, &name(index)).await? else { return Ok(None) };
    let Some(ready) = cluster::condition(&snippet, "Ready") else { return Ok(None) };
    let current = ready["observedGeneration"] == snippet["metadata"]["generation"];
    if ready["status"] != "False" || !current {
        return Ok(None);
    }
    Ok(ready["reason"].as_str().map(str::to_owned))
}
