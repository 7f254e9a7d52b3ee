//! Snippets on the API server, as the cluster tests create, edit and watch them: a ConfigMap snippet's Jsonnet,
//! readiness of the current generation, waiting for a new revision, checking what is published, and a test's
//! start (CRDs, namespace, storage, one controller) and end (the namespace withdrawn while the controller runs).

use std::time::Duration;

use jaas_controller::crd::{ExternalArtifact, JsonnetSnippet};
use kube::Client;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

use super::{ControllerProcess, TestNamespace, TestStorage, client, eventually, install_crds};

pub const READY_TIMEOUT: Duration = Duration::from_secs(90);

pub fn configmap(name: &str, value: &str) -> String {
    format!("{{ apiVersion: 'v1', kind: 'ConfigMap', metadata: {{ name: '{name}' }}, data: {{ value: '{value}' }} }}")
}

pub async fn create_snippet(client: &Client, ns: &str, name: &str, spec: serde_json::Value) {
    let snippet: JsonnetSnippet = serde_json::from_value(
        json!({"apiVersion": "jaas.metio.wtf/v1", "kind": "JsonnetSnippet", "metadata": {"name": name}, "spec": spec}),
    )
    .unwrap();
    Api::<JsonnetSnippet>::namespaced(client.clone(), ns).create(&PostParams::default(), &snippet).await.unwrap();
}

pub async fn edit_snippet(client: &Client, ns: &str, name: &str, spec: serde_json::Value) {
    let patch = Patch::Merge(json!({"spec": spec}));
    Api::<JsonnetSnippet>::namespaced(client.clone(), ns).patch(name, &PatchParams::default(), &patch).await.unwrap();
}

/// The Ready condition's (status, reason) and the published revision, for the current generation only.
pub async fn readiness(client: &Client, ns: &str, name: &str) -> Option<(String, String, Option<String>)> {
    let snippet = match Api::<JsonnetSnippet>::namespaced(client.clone(), ns).get(name).await {
        Ok(snippet) => snippet,
        Err(error) => {
            eprintln!("cannot read {ns}/{name}: {error}");
            return None;
        }
    };
    let status = snippet.status?;
    if status.observed_generation != snippet.metadata.generation {
        return None;
    }
    let ready = status.conditions.iter().find(|c| c.type_ == "Ready")?;
    Some((format!("{:?}", ready.status), ready.reason.clone(), status.revision))
}

/// Waits until the snippet is Ready with a revision other than `not`, and returns it.
pub async fn wait_ready_revision(client: &Client, ns: &str, name: &str, not: Option<&str>) -> String {
    eventually(&format!("{ns}/{name} to be Ready with a new revision"), READY_TIMEOUT, || async {
        match readiness(client, ns, name).await? {
            (status, _, Some(revision)) if status == "True" && Some(revision.as_str()) != not => Some(revision),
            _ => None,
        }
    })
    .await
}

pub async fn external_artifact(client: &Client, ns: &str, name: &str) -> Option<ExternalArtifact> {
    Api::<ExternalArtifact>::namespaced(client.clone(), ns).get_opt(name).await.unwrap()
}

/// Checks the ExternalArtifact publishes `revision` and that its URL maps to bytes with that digest.
pub async fn assert_published(client: &Client, storage: &TestStorage, ns: &str, name: &str, revision: &str) {
    let ea = external_artifact(client, ns, name).await.expect("the ExternalArtifact exists");
    let source = ea.spec.source_ref.as_ref().unwrap();
    assert_eq!(
        (source.api_version.as_deref(), source.kind.as_str(), source.name.as_str()),
        (Some("jaas.metio.wtf/v1"), "JsonnetSnippet", name)
    );
    assert!(
        ea.metadata
            .owner_references
            .as_ref()
            .is_some_and(|o| o.iter().any(|o| o.kind == "JsonnetSnippet" && o.name == name))
    );
    let status = ea.status.as_ref().unwrap();
    let artifact = status.artifact.as_ref().unwrap();
    assert_eq!(artifact.digest, revision);
    assert_eq!(artifact.revision, revision);
    assert!(artifact.size.unwrap() > 0);
    assert!(
        status.conditions.as_ref().unwrap().iter().any(|c| c.type_ == "Ready" && format!("{:?}", c.status) == "True")
    );
    assert_eq!(storage.digest_at(&artifact.url).await.as_deref(), Some(revision), "bytes behind {}", artifact.url);
}

/// A test's start: a client with the CRDs installed, a fresh namespace named after `prefix`, its storage (S3 when
/// `prefer_s3` and one is configured) and one `jaas run` process "a" with `flags`.
pub async fn start_with_controller(
    prefix: &str,
    prefer_s3: bool,
    flags: &[&str],
) -> (Client, TestNamespace, TestStorage, ControllerProcess) {
    let client = client().await;
    install_crds(&client).await;
    let ns = TestNamespace::create(&client, prefix).await;
    let storage = TestStorage::new(&ns.name, prefer_s3).await;
    let controller = ControllerProcess::start("a", &ns.name, &storage.flags, flags);
    (client, ns, storage, controller)
}

/// Deletes the test's namespace while a controller still runs, and waits until its snippets are withdrawn (so no
/// finalizer keeps the namespace, and no artifact stays in storage).
pub async fn delete_namespace_with_controller(client: &Client, ns: TestNamespace) {
    let name = ns.name.clone();
    ns.delete().await;
    let snippets = Api::<JsonnetSnippet>::namespaced(client.clone(), &name);
    eventually("the namespace's snippets to be withdrawn", READY_TIMEOUT, || async {
        snippets.list(&ListParams::default()).await.ok()?.items.is_empty().then_some(())
    })
    .await;
}
