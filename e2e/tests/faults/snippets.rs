//! The snippets the controller is killed under: [`COUNT`] of them, each rendering a few hundred ConfigMaps from an
//! external variable `edit` that every edit bumps, so a render takes long enough (a few hundred milliseconds in a
//! debug build) for kills to land inside it. What the controller must publish for an edit is what `jaas render`
//! gives for the same document: the same code path, and the tarball is reproducible.

use serde_json::{Value, json};

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

pub use jaas_e2e::rendered::expected_digest;

pub use jaas_e2e::published::is_current;
