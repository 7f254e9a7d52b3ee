//! Snippets (and libraries) on the API server, as the cluster tests create, edit and watch them: a ConfigMap
//! snippet's Jsonnet, readiness of the current generation, waiting for a Ready condition or a new revision, checking
//! what is published, and a test's start (CRDs, namespace, storage, one controller) and end (the namespace withdrawn
//! while the controller runs).

use std::fmt::Debug;
use std::sync::Mutex;
use std::time::Duration;

use jaas_controller::crd::{ExternalArtifact, JsonnetLibrary, JsonnetSnippet};
use k8s_openapi::NamespaceResourceScope;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::{Client, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::{ControllerProcess, TestNamespace, TestStorage, client, eventually, install_crds};

pub const READY_TIMEOUT: Duration = Duration::from_secs(90);

pub fn configmap(name: &str, value: &str) -> String {
    format!("{{ apiVersion: 'v1', kind: 'ConfigMap', metadata: {{ name: '{name}' }}, data: {{ value: '{value}' }} }}")
}

pub async fn create_snippet(client: &Client, ns: &str, name: &str, spec: serde_json::Value) {
    create_named::<JsonnetSnippet>(client, ns, name, spec).await;
}

pub async fn create_library(client: &Client, ns: &str, name: &str, spec: serde_json::Value) {
    create_named::<JsonnetLibrary>(client, ns, name, spec).await;
}

/// Creates one of our namespaced kinds, `K`, named `name` with `spec`.
async fn create_named<K>(client: &Client, ns: &str, name: &str, spec: serde_json::Value)
where
    K: Resource<Scope = NamespaceResourceScope, DynamicType = ()> + Clone + Debug + Serialize + DeserializeOwned,
{
    let object =
        json!({"apiVersion": K::api_version(&()), "kind": K::kind(&()), "metadata": {"name": name}, "spec": spec});
    let object: K = serde_json::from_value(object).unwrap();
    Api::<K>::namespaced(client.clone(), ns).create(&PostParams::default(), &object).await.unwrap();
}

pub async fn edit_snippet(client: &Client, ns: &str, name: &str, spec: serde_json::Value) {
    let patch = Patch::Merge(json!({"spec": spec}));
    Api::<JsonnetSnippet>::namespaced(client.clone(), ns).patch(name, &PatchParams::default(), &patch).await.unwrap();
}

/// A snippet's Ready condition and published revision, as of its current generation.
#[derive(Debug, Clone, PartialEq)]
pub struct Readiness {
    pub status: String,
    pub reason: String,
    pub message: String,
    pub revision: Option<String>,
}

/// The readiness of `snippet`, or `None` while its status describes an older generation.
pub fn readiness_of(snippet: &JsonnetSnippet) -> Option<Readiness> {
    let status = snippet.status.as_ref()?;
    if status.observed_generation != snippet.metadata.generation {
        return None;
    }
    let ready = status.conditions.iter().find(|c| c.type_ == "Ready")?;
    Some(Readiness {
        status: format!("{:?}", ready.status),
        reason: ready.reason.clone(),
        message: ready.message.clone(),
        revision: status.revision.clone(),
    })
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
    let Readiness { status, reason, revision, .. } = readiness_of(&snippet)?;
    Some((status, reason, revision))
}

/// Waits until the snippet's readiness for its current generation satisfies `wanted` (`what` says what that is,
/// for the timeout's message), printing each state it passes through so a timeout shows where it stuck.
pub async fn wait_for_readiness(
    client: &Client,
    ns: &str,
    name: &str,
    what: &str,
    wanted: impl Fn(&Readiness) -> bool,
) -> Readiness {
    let api = Api::<JsonnetSnippet>::namespaced(client.clone(), ns);
    let last_seen: Mutex<Option<Readiness>> = Mutex::default();
    eventually(&format!("{ns}/{name} to be {what}"), READY_TIMEOUT, || async {
        let readiness = readiness_of(&api.get(name).await.ok()?)?;
        let mut last = last_seen.lock().unwrap();
        if last.as_ref() != Some(&readiness) {
            eprintln!("{ns}/{name}: {readiness:?}");
            *last = Some(readiness.clone());
        }
        wanted(&readiness).then_some(readiness)
    })
    .await
}

/// Waits until the snippet is Ready with a revision other than `not`, and returns it.
pub async fn wait_ready_revision(client: &Client, ns: &str, name: &str, not: Option<&str>) -> String {
    let is_new = |r: &Readiness| r.status == "True" && r.revision.is_some() && r.revision.as_deref() != not;
    let ready = wait_for_readiness(client, ns, name, "Ready with a new revision", is_new).await;
    ready.revision.unwrap()
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
