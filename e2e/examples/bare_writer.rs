//! The physical limit of publishing, for `e2e/bench-scale.sh`: a bare kube client that does, for every
//! JsonnetSnippet of a namespace, exactly the 4 writes the controller does to publish one (no reads, no render, no
//! storage), as fast as the API server takes them with a bounded number of objects in flight:
//! 1. the finalizer, as kube-runtime's `finalizer()` adds it: a JSON patch (`test` that there is none, then `add`);
//! 2. the ExternalArtifact, server-side applied (field manager `jaas-controller`, forced), owned by the snippet;
//! 3. the ExternalArtifact's `/status`, server-side applied (`jaas-controller-status`): Ready and the artifact;
//! 4. the snippet's `/status`, server-side applied (`jaas-controller-status`): Ready, revision, URL and history.
//!
//! The bodies have the shape and about the size of the controller's (see controller/src/reconcile/{publish,status}.rs).
//! It also creates the objects a benchmark starts from and strips finalizers when one cleans up, both concurrently,
//! which `kubectl` (one request at a time) cannot do for 10,000 objects in reasonable time.
//!
//! Usage (`KUBECONFIG` names the cluster):
//! - `bare_writer create FILE [CONCURRENCY]`: creates every object of FILE, one JSON object per line, each in its
//!   `metadata.namespace`; prints `{"objects", "seconds"}` on stdout.
//! - `bare_writer publish NAMESPACE [CONCURRENCY]`: lists the snippets of NAMESPACE (not timed), then times the 4
//!   writes for each; prints `{"objects", "writes", "seconds", "objects_per_second", "writes_per_second",
//!   "concurrency"}` on stdout.
//! - `bare_writer unfinalize NAMESPACE [CONCURRENCY]`: removes the finalizers of every snippet of NAMESPACE.
//!
//! CONCURRENCY (default 32) is how many objects are in flight at once; one object's writes are sequential, as in
//! the controller. A progress line and the summary go to stderr.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// How many objects are in flight at once unless the command line says otherwise.
const DEFAULT_CONCURRENCY: usize = 32;
/// The controller's finalizer.
const FINALIZER: &str = "jaas.metio.wtf/finalizer";
/// The field managers the controller applies with (objects, and status).
const FIELD_MANAGER: &str = "jaas-controller";
const STATUS_FIELD_MANAGER: &str = "jaas-controller-status";
/// Where the written statuses say the artifacts are (nothing fetches them).
const BASE_URL: &str = "http://127.0.0.1:9";
/// The page size of the listing that precedes `publish` and `unfinalize`.
const PAGE: u32 = 500;

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (command, target) = match args.as_slice() {
        [command, target, ..] => (command.as_str(), target.as_str()),
        _ => bail!("usage: bare_writer create FILE | publish NAMESPACE | unfinalize NAMESPACE [CONCURRENCY]"),
    };
    let concurrency = match args.get(2) {
        Some(n) => n.parse().with_context(|| format!("CONCURRENCY must be a number, not {n}"))?,
        None => DEFAULT_CONCURRENCY,
    };
    let client = Client::try_default().await.context("no usable kubeconfig (set KUBECONFIG)")?;
    match command {
        "create" => create(client, target, concurrency).await,
        "publish" => publish(client, target, concurrency).await,
        "unfinalize" => unfinalize(client, target, concurrency).await,
        other => bail!("unknown command {other}: create, publish or unfinalize"),
    }
}

/// The API resource of JsonnetSnippets.
fn snippets() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("jaas.metio.wtf", "v1", "JsonnetSnippet"),
        "jsonnetsnippets",
    )
}

/// The API resource of Flux's ExternalArtifacts.
fn external_artifacts() -> ApiResource {
    let gvk = GroupVersionKind::gvk("source.toolkit.fluxcd.io", "v1", "ExternalArtifact");
    ApiResource::from_gvk_with_plural(&gvk, "externalartifacts")
}

/// Runs `work` on every item with at most `concurrency` at once; the first error ends the run. Logs progress
/// every 10 s and returns the seconds it took.
async fn for_each<T, F, Fut>(items: Vec<T>, concurrency: usize, what: &str, work: F) -> Result<f64>
where
    T: Send + Sync + 'static,
    F: Fn(Arc<T>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<()>> + Send,
{
    let total = items.len();
    let items: Arc<Vec<Arc<T>>> = Arc::new(items.into_iter().map(Arc::new).collect());
    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let work = Arc::new(work);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..concurrency.clamp(1, total.max(1)) {
        let (items, next, done, work) = (items.clone(), next.clone(), done.clone(), work.clone());
        tasks.spawn(async move {
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(index) else { return Ok::<_, anyhow::Error>(()) };
                work(item.clone()).await?;
                done.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    let mut progress = tokio::time::interval(Duration::from_secs(10));
    progress.tick().await;
    loop {
        tokio::select! {
            finished = tasks.join_next() => match finished {
                None => break,
                Some(result) => {
                    if let Err(error) = result.context("a worker task panicked").and_then(|r| r) {
                        tasks.abort_all();
                        return Err(error);
                    }
                }
            },
            _ = progress.tick() => {
                let (count, seconds) = (done.load(Ordering::Relaxed), started.elapsed().as_secs_f64());
                eprintln!("bare_writer: {what}: {count} of {total} after {seconds:.0} s");
            }
        }
    }
    Ok(started.elapsed().as_secs_f64())
}

/// Creates every object of the JSON-lines `file`.
async fn create(client: Client, file: &str, concurrency: usize) -> Result<()> {
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {file}"))?;
    let objects = text
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(serde_json::from_str::<DynamicObject>)
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("{file} holds a line that is no Kubernetes object"))?;
    let count = objects.len();
    let seconds = for_each(objects, concurrency, "created", move |object| {
        let client = client.clone();
        async move {
            let types = object.types.clone().context("an object without apiVersion and kind")?;
            let resource = ApiResource::from_gvk(&GroupVersionKind::try_from(&types)?);
            let namespace = object.namespace().context("an object without metadata.namespace")?;
            let api: Api<DynamicObject> = Api::namespaced_with(client, &namespace, &resource);
            api.create(&PostParams::default(), &object)
                .await
                .with_context(|| format!("creating {} {namespace}/{}", types.kind, object.name_any()))?;
            Ok(())
        }
    })
    .await?;
    eprintln!("bare_writer: created {count} objects in {seconds:.2} s ({:.0}/s)", rate(count, seconds));
    println!("{}", json!({"objects": count, "seconds": seconds}));
    Ok(())
}

/// One snippet as the listing found it.
struct Listed {
    name: String,
    uid: String,
    finalizers: Vec<String>,
}

/// Every snippet of `namespace`, listed in pages (metadata only).
async fn list_snippets(client: &Client, namespace: &str) -> Result<Vec<Listed>> {
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &snippets());
    let mut listed = Vec::new();
    let mut params = ListParams::default().limit(PAGE);
    loop {
        let page = api.list_metadata(&params).await.with_context(|| format!("listing the snippets of {namespace}"))?;
        listed.extend(page.items.iter().map(|meta| Listed {
            name: meta.name_any(),
            uid: meta.uid().unwrap_or_default(),
            finalizers: meta.finalizers().to_vec(),
        }));
        match page.metadata.continue_.filter(|token| !token.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => return Ok(listed),
        }
    }
}

/// The 4 publishing writes for every snippet of `namespace`, timed.
async fn publish(client: Client, namespace: &str, concurrency: usize) -> Result<()> {
    let listed = list_snippets(&client, namespace).await?;
    if let Some(done) = listed.iter().find(|snippet| !snippet.finalizers.is_empty()) {
        bail!("snippet {namespace}/{} already has finalizers: publish needs fresh snippets", done.name);
    }
    let count = listed.len();
    let snippet_api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &snippets());
    let artifact_api: Api<DynamicObject> = Api::namespaced_with(client, namespace, &external_artifacts());
    let ns = namespace.to_owned();
    let seconds = for_each(listed, concurrency, "published", move |snippet| {
        let (snippet_api, artifact_api, ns) = (snippet_api.clone(), artifact_api.clone(), ns.clone());
        async move { publish_one(&snippet_api, &artifact_api, &ns, &snippet).await }
    })
    .await?;
    let writes = count * 4;
    eprintln!(
        "bare_writer: {count} objects, {writes} writes in {seconds:.2} s: {:.1} objects/s, {:.1} writes/s \
         ({concurrency} in flight)",
        rate(count, seconds),
        rate(writes, seconds)
    );
    println!(
        "{}",
        json!({"objects": count, "writes": writes, "seconds": seconds, "objects_per_second": rate(count, seconds),
               "writes_per_second": rate(writes, seconds), "concurrency": concurrency})
    );
    Ok(())
}

/// The controller's 4 writes for one snippet, in its order.
async fn publish_one(
    snippet_api: &Api<DynamicObject>,
    artifact_api: &Api<DynamicObject>,
    namespace: &str,
    snippet: &Listed,
) -> Result<()> {
    let name = snippet.name.as_str();
    let finalizer = json!([
        {"op": "test", "path": "/metadata/finalizers", "value": null},
        {"op": "add", "path": "/metadata/finalizers", "value": [FINALIZER]},
    ]);
    snippet_api
        .patch(name, &PatchParams::default(), &Patch::Json::<()>(serde_json::from_value(finalizer)?))
        .await
        .with_context(|| format!("adding the finalizer to {namespace}/{name}"))?;

    let source_ref = json!({"apiVersion": "jaas.metio.wtf/v1", "kind": "JsonnetSnippet", "name": name});
    let artifact = json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "ExternalArtifact",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "ownerReferences": [{
                "apiVersion": "jaas.metio.wtf/v1", "kind": "JsonnetSnippet", "name": name, "uid": snippet.uid,
                "controller": true, "blockOwnerDeletion": true,
            }],
        },
        "spec": {"sourceRef": source_ref},
    });
    let apply = PatchParams::apply(FIELD_MANAGER).force();
    artifact_api
        .patch(name, &apply, &Patch::Apply(&artifact))
        .await
        .with_context(|| format!("applying the ExternalArtifact {namespace}/{name}"))?;

    let hex = hex::encode(Sha256::digest(format!("{namespace}/{name}")));
    let digest = format!("sha256:{hex}");
    let path = format!("{namespace}/{name}/sha256-{hex}.tar.gz");
    let url = format!("{BASE_URL}/{path}");
    let now = serde_json::to_value(Time(Timestamp::now()))?;
    let message = format!("published revision {digest}");
    let ready = |generation: Option<i64>| {
        json!([{"type": "Ready", "status": "True", "reason": "Succeeded", "message": message,
                "lastTransitionTime": now, "observedGeneration": generation}])
    };
    let artifact_status = json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "ExternalArtifact",
        "status": {
            "conditions": ready(None),
            "artifact": {"digest": digest, "lastUpdateTime": now, "path": path, "revision": digest, "size": 512,
                         "url": url},
        },
    });
    let status_apply = PatchParams::apply(STATUS_FIELD_MANAGER).force();
    artifact_api
        .patch_status(name, &status_apply, &Patch::Apply(&artifact_status))
        .await
        .with_context(|| format!("applying the status of the ExternalArtifact {namespace}/{name}"))?;

    let snippet_status = json!({
        "apiVersion": "jaas.metio.wtf/v1",
        "kind": "JsonnetSnippet",
        "status": {
            "conditions": ready(Some(1)),
            "observedGeneration": 1,
            "revision": digest,
            "artifactURL": url,
            "lastSyncTime": now,
            "history": [{"revision": digest, "digest": digest, "url": url, "time": now}],
        },
    });
    snippet_api
        .patch_status(name, &status_apply, &Patch::Apply(&snippet_status))
        .await
        .with_context(|| format!("applying the status of {namespace}/{name}"))?;
    Ok(())
}

/// Removes the finalizers of every snippet of `namespace` that has some.
async fn unfinalize(client: Client, namespace: &str, concurrency: usize) -> Result<()> {
    let held: Vec<Listed> =
        list_snippets(&client, namespace).await?.into_iter().filter(|s| !s.finalizers.is_empty()).collect();
    let count = held.len();
    let api: Api<DynamicObject> = Api::namespaced_with(client, namespace, &snippets());
    let patch: Value = json!({"metadata": {"finalizers": null}});
    let seconds = for_each(held, concurrency, "unfinalized", move |snippet| {
        let (api, patch) = (api.clone(), patch.clone());
        async move {
            match api.patch(&snippet.name, &PatchParams::default(), &Patch::Merge(&patch)).await {
                Ok(_) => Ok(()),
                Err(kube::Error::Api(status)) if status.code == 404 => Ok(()), // gone meanwhile
                Err(error) => Err(error.into()),
            }
        }
    })
    .await?;
    eprintln!("bare_writer: removed the finalizers of {count} snippets in {namespace} in {seconds:.1} s");
    Ok(())
}

/// `count` per second of `seconds`.
#[allow(clippy::cast_precision_loss)] // counts far below 2^52
fn rate(count: usize, seconds: f64) -> f64 {
    if seconds > 0.0 { count as f64 / seconds } else { 0.0 }
}
