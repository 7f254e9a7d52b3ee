//! The snippets and their edits: [`COUNT`] small snippets whose external variable `edit` each edit bumps, edited
//! in turn every [`EDIT_EVERY`] by a background task until told to stop. An edit the API server refuses (it is
//! down) is tried again at the next tick; only accepted edits count. An edit is published when its snippet is
//! Ready at the generation it created and its ExternalArtifact names the digest `jaas render` gives its document.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use jaas_e2e::cluster::{self, snippets};
use jaas_e2e::flux;
use jaas_e2e::published::published;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

/// Snippets in the namespace.
pub const COUNT: usize = 3;
/// One edit every this long.
pub const EDIT_EVERY: Duration = Duration::from_millis(500);
/// A bound on the edits of one run.
const MAX_EDITS: u64 = 200;
/// How long one edit may take before it counts as refused.
const EDIT_TIMEOUT: Duration = Duration::from_secs(2);

/// The name of snippet `index`.
pub fn name(index: usize) -> String {
    format!("restart-{index}")
}

/// Snippet `index` after `edit` edits.
pub fn document(index: usize, edit: u64) -> Value {
    json!({
        "apiVersion": "jaas.metio.wtf/v1",
        "kind": "JsonnetSnippet",
        "metadata": {"name": name(index)},
        "spec": {
            "history": 50,
            "externalVariables": [{"name": "edit", "value": edit.to_string(), "code": true}],
            "files": {"main.jsonnet": MAIN},
        },
    })
}

const MAIN: &str = "local edit = std.extVar('edit');
[
  { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'restart-%d' % i }, data: { edit: std.toString(edit) } }
  for i in std.range(1, 20)
]
";

/// What the editor did.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    /// Edits the API server accepted.
    pub accepted: u64,
    /// Attempts it refused or did not answer in time.
    pub refused: u64,
    /// The last accepted edit number of each snippet.
    pub last_edit: [u64; COUNT],
}

/// The background editor.
pub struct Editor {
    stop: Arc<AtomicBool>,
    task: JoinHandle<Tally>,
}

impl Editor {
    /// Starts editing the snippets in turn, from the state in `tally`.
    pub fn start(client: &kube::Client, namespace: &str, mut tally: Tally) -> Self {
        let (client, namespace) = (client.clone(), namespace.to_owned());
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let task = tokio::spawn(async move {
            let kind = snippets();
            let mut index = 0;
            while !stopped.load(Ordering::Relaxed) && tally.accepted < MAX_EDITS {
                let edit = tally.last_edit[index] + 1;
                let apply = cluster::apply(&client, &kind, &namespace, document(index, edit));
                if let Ok(Ok(())) = tokio::time::timeout(EDIT_TIMEOUT, apply).await {
                    tally.accepted += 1;
                    tally.last_edit[index] = edit;
                    index = (index + 1) % COUNT;
                } else {
                    tally.refused += 1;
                }
                tokio::time::sleep(EDIT_EVERY).await;
            }
            tally
        });
        Self { stop, task }
    }

    /// Stops editing and returns what was done.
    pub async fn finish(self) -> Result<Tally> {
        self.stop.store(true, Ordering::Relaxed);
        Ok(self.task.await?)
    }
}

/// Waits until every snippet publishes its `expected` digest, then fetches each URL as Flux would and checks the
/// bytes against the digest. Returns the snippets not published within `timeout` (empty when all were).
pub async fn wait_published(
    client: &kube::Client,
    namespace: &str,
    base_url: &str,
    expected: &[String],
    timeout: Duration,
) -> Result<Vec<usize>> {
    let start = Instant::now();
    let mut pending: Vec<usize> = (0..expected.len()).collect();
    let mut urls = Vec::new();
    while !pending.is_empty() && start.elapsed() < timeout {
        let mut still = Vec::new();
        for index in pending {
            match published(client, namespace, &name(index), &expected[index], base_url).await {
                Ok(Some(publication)) => urls.push((publication.url, index)),
                _ => still.push(index),
            }
        }
        pending = still;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for (url, index) in urls {
        if let Err(error) = flux::fetch(&url, &expected[index]).await {
            bail!("{}: the published {url} does not serve its digest: {error:#}", name(index));
        }
    }
    Ok(pending)
}
