//! The API-server side of the e2e tests: installing the CRDs (ours from `charts/jaas/crds/`, Flux's
//! ExternalArtifact from `jaas crdgen --external-artifact`), a throw-away namespace, and the three kinds the tests
//! touch as dynamic objects, the way a user's `kubectl apply --server-side` would see them.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};

use crate::{repo_root, run};

/// The field manager of everything the tests apply.
pub const MANAGER: &str = "jaas-e2e";

/// `jaas.metio.wtf/v1` JsonnetSnippet.
pub fn snippets() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("jaas.metio.wtf", "v1", "JsonnetSnippet"),
        "jsonnetsnippets",
    )
}

/// `jaas.metio.wtf/v1` JsonnetLibrary.
pub fn libraries() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("jaas.metio.wtf", "v1", "JsonnetLibrary"),
        "jsonnetlibraries",
    )
}

/// Flux's `source.toolkit.fluxcd.io/v1` ExternalArtifact.
pub fn external_artifacts() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("source.toolkit.fluxcd.io", "v1", "ExternalArtifact"),
        "externalartifacts",
    )
}

/// Every non-empty document of a YAML stream, as JSON.
pub fn yaml_documents(text: &str, what: &str) -> Result<Vec<Value>> {
    let docs: Vec<Value> = serde_saphyr::from_multiple(text).with_context(|| format!("{what} is not YAML"))?;
    Ok(docs.into_iter().filter(|d| !d.is_null()).collect())
}

/// Server-side applies the CRDs in `crd_yaml` (one stream) and waits until each is Established.
pub async fn install_crds(client: &kube::Client, crd_yaml: &str, what: &str) -> Result<Vec<String>> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let mut names = Vec::new();
    for doc in yaml_documents(crd_yaml, what)? {
        let name = doc["metadata"]["name"].as_str().with_context(|| format!("{what}: a CRD without a name"))?;
        ensure!(doc["kind"] == "CustomResourceDefinition", "{what}: {name} is a {}, not a CRD", doc["kind"]);
        api.patch(name, &PatchParams::apply(MANAGER).force(), &Patch::Apply(&doc))
            .await
            .with_context(|| format!("applying the CRD {name} from {what}"))?;
        names.push(name.to_owned());
    }
    ensure!(!names.is_empty(), "{what} holds no CRD");
    for name in &names {
        wait_established(&api, name).await?;
    }
    Ok(names)
}

async fn wait_established(api: &Api<CustomResourceDefinition>, name: &str) -> Result<()> {
    let start = Instant::now();
    loop {
        let crd = api.get(name).await?;
        let established = crd
            .status
            .and_then(|s| s.conditions)
            .unwrap_or_default()
            .iter()
            .any(|c| c.type_ == "Established" && c.status == "True");
        if established {
            return Ok(());
        }
        ensure!(start.elapsed() < Duration::from_secs(30), "the CRD {name} is not Established after 30s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Our CRDs, as committed under `charts/jaas/crds/` (what `helm install` would apply).
pub fn committed_crds(repo: &Path) -> Result<String> {
    let dir = repo.join("charts/jaas/crds");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    paths.sort();
    ensure!(!paths.is_empty(), "no CRD in {}: run `jaas crdgen` and commit its output there", dir.display());
    let mut all = String::new();
    for path in paths {
        all.push_str(&std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?);
        all.push_str("\n---\n");
    }
    Ok(all)
}

/// Our committed CRDs and Flux's ExternalArtifact CRD (as `controller crdgen --external-artifact` prints it, with
/// `controller` the `jaas` binary), applied and Established.
pub async fn install_all_crds(client: &kube::Client, controller: &Path) -> Result<()> {
    install_crds(client, &committed_crds(&repo_root())?, "charts/jaas/crds").await?;
    let flux_crd = run(Command::new(controller).args(["crdgen", "--external-artifact"]), None)?.ok()?;
    install_crds(client, &flux_crd, "jaas crdgen --external-artifact").await?;
    Ok(())
}

/// Creates a namespace no other run uses, `jaas-<test>-<label>-<pid>-<nanos>`, and returns its name.
pub async fn create_test_namespace(client: &kube::Client, test: &str, label: &str) -> Result<String> {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.subsec_nanos();
    let name = format!("jaas-{test}-{label}-{}-{nanos:x}", std::process::id());
    create_namespace(client, &name).await?;
    Ok(name)
}

/// A namespace of its own for one run of a test.
pub async fn create_namespace(client: &kube::Client, name: &str) -> Result<()> {
    let api: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(
        json!({"metadata": {"name": name, "labels": {"app.kubernetes.io/part-of": "jaas-e2e"}}}),
    )?;
    api.create(&PostParams::default(), &ns).await.with_context(|| format!("creating the namespace {name}"))?;
    Ok(())
}

/// Deletes the namespace without waiting. A snippet whose finalizer nobody will remove any more (the controller
/// is gone after a failure) is released first, or the namespace would stay Terminating forever.
pub async fn delete_namespace(client: &kube::Client, name: &str) {
    let snippets: Api<DynamicObject> = Api::namespaced_with(client.clone(), name, &snippets());
    if let Ok(list) = snippets.list(&kube::api::ListParams::default()).await {
        for snippet in list {
            let Some(snippet_name) = snippet.metadata.name else { continue };
            let patch = json!({"metadata": {"finalizers": null}});
            let _ = snippets.patch(&snippet_name, &PatchParams::default(), &Patch::Merge(&patch)).await;
        }
    }
    let api: Api<Namespace> = Api::all(client.clone());
    let _ = api.delete(name, &DeleteParams::background()).await;
}

/// Applies `doc` (from a fixture) into `namespace` with our field manager, as `kubectl apply --server-side` would.
pub async fn apply(client: &kube::Client, resource: &ApiResource, namespace: &str, mut doc: Value) -> Result<()> {
    let name = doc["metadata"]["name"].as_str().context("a fixture without metadata.name")?.to_owned();
    doc["metadata"]["namespace"] = json!(namespace);
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, resource);
    api.patch(&name, &PatchParams::apply(MANAGER).force(), &Patch::Apply(&doc))
        .await
        .with_context(|| format!("applying {} {namespace}/{name}", resource.kind))?;
    Ok(())
}

/// Every object of the kind in `namespace`, as JSON.
pub async fn list(client: &kube::Client, resource: &ApiResource, namespace: &str) -> Result<Vec<Value>> {
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, resource);
    let objects = api
        .list(&kube::api::ListParams::default())
        .await
        .with_context(|| format!("listing {} in {namespace}", resource.kind))?;
    objects.items.into_iter().map(|o| serde_json::to_value(o).map_err(Into::into)).collect()
}

/// The object as JSON, or `None` when it does not exist.
pub async fn get(client: &kube::Client, resource: &ApiResource, namespace: &str, name: &str) -> Result<Option<Value>> {
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, resource);
    let object = api.get_opt(name).await.with_context(|| format!("reading {} {namespace}/{name}", resource.kind))?;
    object.map(serde_json::to_value).transpose().map_err(Into::into)
}

/// Deletes the object (background propagation); an error only if the API server refuses.
pub async fn delete(client: &kube::Client, resource: &ApiResource, namespace: &str, name: &str) -> Result<()> {
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, resource);
    match api.delete(name, &DeleteParams::background()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(error) => Err(error).with_context(|| format!("deleting {} {namespace}/{name}", resource.kind)),
    }
}

/// The status of the condition `type_` of `object`, e.g. `Some("True")`.
pub fn condition<'a>(object: &'a Value, type_: &str) -> Option<&'a Value> {
    object["status"]["conditions"].as_array()?.iter().find(|c| c["type"] == type_)
}

/// Polls until `name` is gone, within `timeout`; returns how long it took.
pub async fn wait_gone(
    client: &kube::Client,
    resource: &ApiResource,
    namespace: &str,
    name: &str,
    timeout: Duration,
) -> Result<Duration> {
    let start = Instant::now();
    while let Some(object) = get(client, resource, namespace, name).await? {
        if start.elapsed() > timeout {
            bail!(
                "{} {namespace}/{name} still exists after {timeout:?}: finalizers {}, deletionTimestamp {}",
                resource.kind,
                object["metadata"]["finalizers"],
                object["metadata"]["deletionTimestamp"]
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Ok(start.elapsed())
}
