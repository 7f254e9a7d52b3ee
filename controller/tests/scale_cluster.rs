//! The controller's scale path and its knobs against a real kube-apiserver (`KUBECONFIG`, required) with real
//! `jaas run` processes: a thousand snippets created before the controller starts all publish, each rendered
//! exactly once, with nothing left in the work queue (the path, with a generous bound; e2e/bench-scale.sh measures
//! the speed); a `flux reconcile` request (`reconcile.fluxcd.io/requestedAt`) renders at once and is recorded; a
//! snippet rendering faster than `--rerender-rate` waits for its token with a Warning Event and a metric.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test
#![allow(clippy::float_cmp)] // metric counts are whole numbers, exact in an f64

mod cluster;

use std::time::{Duration, Instant};

use cluster::snippets::{
    READY_TIMEOUT, assert_published, configmap, create_snippet, delete_namespace_with_controller, edit_snippet,
    start_with_controller, wait_ready_revision,
};
use cluster::{ControllerProcess, TestNamespace, TestStorage, client, eventually, install_crds};
use futures::StreamExt;
use jaas_controller::crd::JsonnetSnippet;
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, ListParams, Patch, PatchParams};
use serde_json::json;

/// How many snippets the scale test creates.
const SNIPPETS: u32 = 1000;
/// Far more than the ~25 s a thousand snippets take on a 2-core machine: this proves the path, not the speed.
const ALL_READY_TIMEOUT: Duration = Duration::from_mins(5);

/// Renders so far: the render-duration histogram's count.
async fn renders(controller: &ControllerProcess) -> f64 {
    controller.metric("jaas_render_duration_seconds_count").await.unwrap_or_default()
}

/// How many snippets of the namespace are Ready for their current generation (one LIST).
async fn ready_count(snippets: &Api<JsonnetSnippet>) -> usize {
    let Ok(list) = snippets.list(&ListParams::default()).await else { return 0 };
    list.items
        .iter()
        .filter(|snippet| {
            snippet.status.as_ref().is_some_and(|status| {
                status.observed_generation == snippet.metadata.generation
                    && status.revision.is_some()
                    && status.conditions.iter().any(|c| c.type_ == "Ready" && format!("{:?}", c.status) == "True")
            })
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_snippets_publish_with_one_render_each() {
    let client = client().await;
    install_crds(&client).await;
    let ns = TestNamespace::create(&client, "scale").await;
    let storage = TestStorage::new(&ns.name, false).await;
    let names: Vec<String> = (0..SNIPPETS).map(|n| format!("app-{n:04}")).collect();
    futures::stream::iter(&names)
        .for_each_concurrent(16, |name| {
            let (client, ns) = (client.clone(), ns.name.clone());
            async move {
                create_snippet(&client, &ns, name, json!({"files": {"main.jsonnet": configmap(name, name)}})).await;
            }
        })
        .await;

    let started = Instant::now();
    let controller = ControllerProcess::start("a", &ns.name, &storage.flags, &["--leader-election=false"]);
    let snippets = Api::<JsonnetSnippet>::namespaced(client.clone(), &ns.name);
    eventually(&format!("all {SNIPPETS} snippets to be Ready"), ALL_READY_TIMEOUT, || async {
        (ready_count(&snippets).await == SNIPPETS as usize).then_some(())
    })
    .await;
    eprintln!("{SNIPPETS} snippets Ready {:?} after the controller started", started.elapsed());

    for name in [&names[0], &names[names.len() / 2], &names[names.len() - 1]] {
        let revision = wait_ready_revision(&client, &ns.name, name, None).await;
        assert_published(&client, &storage, &ns.name, name, &revision).await;
    }
    // Our own writes (finalizer, ExternalArtifact, statuses) trigger no render: exactly one per snippet, also once
    // the events they caused have settled.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(renders(&controller).await, f64::from(SNIPPETS), "one render per snippet\n{}", controller.logs());
    eventually("an empty work queue", Duration::from_secs(10), || async {
        controller.metric("jaas_workqueue_depth").await.filter(|depth| *depth == 0.0)
    })
    .await;
    delete_namespace_with_controller(&client, ns).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flux_reconcile_request_renders_at_once_and_is_recorded() {
    let (client, ns, _storage, controller) =
        start_with_controller("request", false, &["--leader-election=false"]).await;
    create_snippet(&client, &ns.name, "web", json!({"files": {"main.jsonnet": configmap("web", "one")}})).await;
    wait_ready_revision(&client, &ns.name, "web", None).await;
    let before = renders(&controller).await;

    let snippets = Api::<JsonnetSnippet>::namespaced(client.clone(), &ns.name);
    let requested = "2026-12-03T10:00:00Z";
    let annotate = Patch::Merge(json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": requested}}}));
    snippets.patch("web", &PatchParams::default(), &annotate).await.unwrap();
    eventually("status.lastHandledReconcileAt to record the request", READY_TIMEOUT, || async {
        let snippet = snippets.get("web").await.ok()?;
        (snippet.status?.last_handled_reconcile_at.as_deref() == Some(requested)).then_some(())
    })
    .await;
    assert_eq!(renders(&controller).await, before + 1.0, "the request rendered once more\n{}", controller.logs());

    // Handled requests are not handled again: nothing renders without a new one.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(renders(&controller).await, before + 1.0);
    delete_namespace_with_controller(&client, ns).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renders_beyond_the_rerender_rate_wait_with_a_warning() {
    let flags = ["--leader-election=false", "--rerender-rate=0.2", "--rerender-burst=1"];
    let (client, ns, _storage, controller) = start_with_controller("throttle", false, &flags).await;
    create_snippet(&client, &ns.name, "web", json!({"files": {"main.jsonnet": configmap("web", "one")}})).await;
    let first = wait_ready_revision(&client, &ns.name, "web", None).await;

    // The first render took the only token; the edit's render waits ~5 s for the next.
    let edited = Instant::now();
    edit_snippet(&client, &ns.name, "web", json!({"files": {"main.jsonnet": configmap("web", "two")}})).await;
    let events = Api::<Event>::namespaced(client.clone(), &ns.name);
    let note = eventually("a Warning Event RerenderThrottled", Duration::from_secs(30), || async {
        let list = events.list(&ListParams::default()).await.ok()?;
        list.items.into_iter().find(|e| e.reason.as_deref() == Some("RerenderThrottled"))?.note
    })
    .await;
    assert!(note.contains("--rerender-rate"), "{note}");
    assert!(controller.metric("jaas_rerenders_throttled_total").await >= Some(1.0));
    let second = wait_ready_revision(&client, &ns.name, "web", Some(&first)).await;
    assert!(edited.elapsed() >= Duration::from_secs(3), "published only after the wait: {:?}", edited.elapsed());
    assert_ne!(first, second);
    delete_namespace_with_controller(&client, ns).await;
}
