//! The controller against a real kube-apiserver (`KUBECONFIG`, required) with real `jaas run` processes: publishing
//! verifiable artifacts, re-rendering on snippet and library edits, failures that keep the last good artifact,
//! `spec.interval` re-renders, deletion (and giving up on storage that keeps failing it), history with a grace period
//! that survives a restart, and leader hand-over on SIGTERM.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod cluster;

use std::time::{Duration, Instant};

use cluster::snippets::{
    READY_TIMEOUT, assert_published, configmap, create_snippet, delete_namespace_with_controller, edit_snippet,
    external_artifact, readiness, start_with_controller, wait_ready_revision,
};
use cluster::{ControllerProcess, eventually};
use jaas_controller::crd::{JsonnetLibrary, JsonnetSnippet};
use jaas_shared::ArtifactKey;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishes_rerenders_reports_failures_and_withdraws() {
    let flags = ["--artifact-gc-grace=0s", "--leader-election=false"];
    let (client, ns, storage, mut controller) = start_with_controller("life", false, &flags).await;

    let library: JsonnetLibrary =
        serde_json::from_value(json!({"apiVersion": "jaas.metio.wtf/v1", "kind": "JsonnetLibrary",
        "metadata": {"name": "lib"}, "spec": {"files": {"util.libsonnet": "{ value: 'one' }"}}}))
        .unwrap();
    let libraries = Api::<JsonnetLibrary>::namespaced(client.clone(), &ns.name);
    libraries.create(&PostParams::default(), &library).await.unwrap();
    let main = "local util = import 'lib/util.libsonnet';\n{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app' }, data: { value: util.value } }";
    create_snippet(&client, &ns.name, "app", json!({"libraries": ["lib"], "files": {"main.jsonnet": main}})).await;
    let first = wait_ready_revision(&client, &ns.name, "app", None).await;
    assert_published(&client, &storage, &ns.name, "app", &first).await;

    let patch = Patch::Merge(json!({"spec": {"files": {"util.libsonnet": "{ value: 'two' }"}}}));
    libraries.patch("lib", &PatchParams::default(), &patch).await.unwrap();
    let second = wait_ready_revision(&client, &ns.name, "app", Some(&first)).await;
    assert_published(&client, &storage, &ns.name, "app", &second).await;
    eventually("the superseded revision to be deleted (history 1, grace 0)", READY_TIMEOUT, || async {
        (storage.stored(&ns.name, "app").await == [second.clone()]).then_some(())
    })
    .await;

    edit_snippet(&client, &ns.name, "app", json!({"suspend": true, "files": {"main.jsonnet": configmap("app", "x")}}))
        .await;
    let reason = eventually("Ready=False while suspended", READY_TIMEOUT, || async {
        let (status, reason, revision) = readiness(&client, &ns.name, "app").await?;
        (status == "False").then_some((reason, revision))
    })
    .await;
    assert_eq!(reason, ("Suspended".to_owned(), Some(second.clone())), "a suspended snippet renders nothing");
    assert_eq!(storage.stored(&ns.name, "app").await, std::slice::from_ref(&second));
    assert_published(&client, &storage, &ns.name, "app", &second).await;

    let broken = json!({"suspend": false, "files": {"main.jsonnet": "{ a: error 'boom from the test' }"}});
    edit_snippet(&client, &ns.name, "app", broken).await;
    let reason = eventually("Ready=False after a broken edit", READY_TIMEOUT, || async {
        let (status, reason, _) = readiness(&client, &ns.name, "app").await?;
        (status == "False").then_some(reason)
    })
    .await;
    assert_eq!(reason, "EvaluationFailed");
    assert_published(&client, &storage, &ns.name, "app", &second).await;
    let events = Api::<Event>::namespaced(client.clone(), &ns.name);
    eventually("a Warning Event with the Jsonnet error", Duration::from_secs(30), || async {
        let list = events.list(&ListParams::default()).await.ok()?;
        list.items
            .iter()
            .any(|e| {
                e.type_.as_deref() == Some("Warning")
                    && e.note.as_deref().is_some_and(|n| n.contains("boom from the test"))
            })
            .then_some(())
    })
    .await;

    Api::<JsonnetSnippet>::namespaced(client.clone(), &ns.name).delete("app", &DeleteParams::default()).await.unwrap();
    eventually("the snippet, its ExternalArtifact and its artifacts to be gone", READY_TIMEOUT, || async {
        let gone = Api::<JsonnetSnippet>::namespaced(client.clone(), &ns.name).get_opt("app").await.unwrap().is_none()
            && external_artifact(&client, &ns.name, "app").await.is_none()
            && storage.stored(&ns.name, "app").await.is_empty();
        gone.then_some(())
    })
    .await;
    controller.terminate();
    assert!(controller.wait_exit(Duration::from_secs(30)).await.success(), "{}", controller.logs());
    ns.delete().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deletion_storage_keeps_failing_is_released_after_max_withdraw_wait() {
    const MAX_WAIT: Duration = Duration::from_secs(8);
    let flags = ["--max-withdraw-wait=8s", "--leader-election=false"];
    let (client, ns, storage, mut controller) = start_with_controller("withdraw", false, &flags).await;
    create_snippet(&client, &ns.name, "stuck", json!({"files": {"main.jsonnet": configmap("stuck", "1")}})).await;
    let revision = wait_ready_revision(&client, &ns.name, "stuck", None).await;

    // Storage breaks under the snippet: its directory is moved away and a file takes its place, so listing the
    // snippet's revisions fails on every attempt.
    let root = storage.local_root().expect("local storage");
    let (dir, moved) = (root.join(&ns.name).join("stuck"), root.join(&ns.name).join("stuck.moved"));
    std::fs::rename(&dir, &moved).unwrap();
    std::fs::write(&dir, b"not a directory").unwrap();
    let snippets = Api::<JsonnetSnippet>::namespaced(client.clone(), &ns.name);
    let deleted_at = Instant::now();
    snippets.delete("stuck", &DeleteParams::default()).await.unwrap();

    tokio::time::sleep(Duration::from_secs(3)).await;
    let held = snippets.get_opt("stuck").await.unwrap();
    assert!(
        held.is_some_and(|s| s.metadata.deletion_timestamp.is_some()),
        "within --max-withdraw-wait the finalizer holds while storage fails"
    );
    eventually("the finalizer to be released after --max-withdraw-wait", READY_TIMEOUT, || async {
        snippets.get_opt("stuck").await.ok()?.is_none().then_some(())
    })
    .await;
    let waited = deleted_at.elapsed();
    assert!(waited >= MAX_WAIT, "released after {waited:?}, before --max-withdraw-wait");
    let events = Api::<Event>::namespaced(client.clone(), &ns.name);
    let note = eventually("a Warning Event WithdrawTimedOut", Duration::from_secs(30), || async {
        let list = events.list(&ListParams::default()).await.ok()?;
        list.items.into_iter().find(|e| e.reason.as_deref() == Some("WithdrawTimedOut"))?.note
    })
    .await;
    assert!(note.contains("they stay in storage"), "the Event says what was left behind: {note}");
    assert!(external_artifact(&client, &ns.name, "stuck").await.is_none(), "the ExternalArtifact was withdrawn");
    let file = format!("{}.tar.gz", revision.replace(':', "-"));
    assert!(moved.join(&file).is_file(), "the artifact is left where it was, as the Event says");
    controller.terminate();
    assert!(controller.wait_exit(Duration::from_secs(30)).await.success(), "{}", controller.logs());
    ns.delete().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spec_interval_rerenders_and_puts_back_an_artifact_storage_lost() {
    let (client, ns, storage, mut controller) =
        start_with_controller("interval", true, &["--leader-election=false"]).await;
    let spec = json!({"interval": "30s", "files": {"main.jsonnet": configmap("every", "1")}});
    create_snippet(&client, &ns.name, "every", spec).await;
    let revision = wait_ready_revision(&client, &ns.name, "every", None).await;
    let published_at = Instant::now();

    // Nothing about the snippet changes; only the interval can bring the object back.
    let key = ArtifactKey::new(&ns.name, "every", revision.parse().unwrap()).unwrap();
    storage.store.delete(&key).await.unwrap();
    assert!(storage.stored(&ns.name, "every").await.is_empty());
    eventually(
        "the interval's re-render to put the artifact back",
        Duration::from_secs(30) + READY_TIMEOUT,
        || async { (storage.stored(&ns.name, "every").await == [revision.clone()]).then_some(()) },
    )
    .await;
    let after = published_at.elapsed();
    eprintln!("the artifact was back {after:?} after it was published (interval 30s)");
    let (status, _, still) = readiness(&client, &ns.name, "every").await.unwrap();
    assert_eq!((status.as_str(), still.as_deref()), ("True", Some(revision.as_str())), "same inputs, same revision");
    assert_published(&client, &storage, &ns.name, "every", &revision).await;
    delete_namespace_with_controller(&client, ns).await;
    controller.terminate();
    assert!(controller.wait_exit(Duration::from_secs(30)).await.success(), "{}", controller.logs());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_and_grace_survive_a_restart() {
    const GRACE: Duration = Duration::from_secs(12);
    let flags = ["--artifact-gc-grace=12s", "--leader-election=false"];
    let (client, ns, storage, mut controller) = start_with_controller("history", true, &flags).await;

    let spec = |v: &str| json!({"history": 2, "files": {"main.jsonnet": configmap("h", v)}});
    create_snippet(&client, &ns.name, "h", spec("1")).await;
    let r1 = wait_ready_revision(&client, &ns.name, "h", None).await;
    edit_snippet(&client, &ns.name, "h", spec("2")).await;
    let r2 = wait_ready_revision(&client, &ns.name, "h", Some(&r1)).await;
    let mut both = vec![r1.clone(), r2.clone()];
    both.sort();
    assert_eq!(storage.stored(&ns.name, "h").await, both, "history 2 keeps both revisions");

    let third_sent = Instant::now();
    edit_snippet(&client, &ns.name, "h", spec("3")).await;
    let r3 = wait_ready_revision(&client, &ns.name, "h", Some(&r2)).await;
    controller.terminate();
    assert!(controller.wait_exit(Duration::from_secs(30)).await.success(), "{}", controller.logs());
    assert!(third_sent.elapsed() < GRACE, "the machine is too slow for this test's grace period");
    assert_eq!(storage.stored(&ns.name, "h").await.len(), 3, "r1 waits out its grace period");
    let published = external_artifact(&client, &ns.name, "h").await.unwrap();

    let mut restarted = ControllerProcess::start("b", &ns.name, &storage.flags, &flags);
    let mut kept = vec![r2.clone(), r3.clone()];
    kept.sort();
    eventually("r1 to be deleted after the grace period", GRACE + READY_TIMEOUT, || async {
        (storage.stored(&ns.name, "h").await == kept).then_some(())
    })
    .await;
    let waited = third_sent.elapsed();
    eprintln!("r1 deleted {waited:?} after r3 was requested (grace {GRACE:?})");
    assert!(waited >= GRACE, "r1 was deleted before its grace period ended ({waited:?})");
    eventually("status.history to list r3 then r2", READY_TIMEOUT, || async {
        let snippet = Api::<JsonnetSnippet>::namespaced(client.clone(), &ns.name).get("h").await.ok()?;
        let history: Vec<String> = snippet.status?.history.iter().map(|h| h.digest.clone()).collect();
        (history == [r3.clone(), r2.clone()]).then_some(())
    })
    .await;
    let after = external_artifact(&client, &ns.name, "h").await.unwrap();
    assert_eq!(
        after.metadata.resource_version, published.metadata.resource_version,
        "an unchanged render rewrote the ExternalArtifact"
    );
    delete_namespace_with_controller(&client, ns).await;
    assert!(storage.stored(&after.metadata.namespace.clone().unwrap(), "h").await.is_empty());
    restarted.terminate();
    assert!(restarted.wait_exit(Duration::from_secs(30)).await.success(), "{}", restarted.logs());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_leader_writes_and_sigterm_hands_over_quickly() {
    let (client, ns, storage, mut first) = start_with_controller("leader", true, &[]).await;
    eventually("controller a to lead", Duration::from_secs(30), || async { first.is_leader().await.then_some(()) })
        .await;
    let mut second = ControllerProcess::start("b", &ns.name, &storage.flags, &[]);
    eventually("controller b to serve metrics", Duration::from_secs(30), || async {
        second.metric("jaas_leader").await
    })
    .await;

    create_snippet(&client, &ns.name, "l", json!({"files": {"main.jsonnet": configmap("l", "1")}})).await;
    let r1 = wait_ready_revision(&client, &ns.name, "l", None).await;
    assert!(!second.is_leader().await, "two leaders at once");
    assert_eq!(second.metric("jaas_reconciles_total").await, Some(0.0), "the standby reconciled");
    assert!(first.metric("jaas_reconciles_total").await.unwrap_or(0.0) >= 1.0);

    let sent = Instant::now();
    first.terminate();
    eventually("controller b to take over", Duration::from_secs(30), || async {
        second.is_leader().await.then_some(())
    })
    .await;
    let handover = sent.elapsed();
    println!("leader hand-over after SIGTERM took {} ms", handover.as_millis());
    eprintln!("leader hand-over after SIGTERM took {} ms", handover.as_millis());
    assert!(first.wait_exit(Duration::from_secs(30)).await.success(), "{}", first.logs());
    assert!(first.logs().contains("released the leader lease"), "{}", first.logs());
    assert!(handover <= Duration::from_secs(2), "hand-over took {handover:?}");

    let lease = Api::<Lease>::namespaced(client.clone(), &ns.name).get(&format!("jaas-{}", ns.name)).await.unwrap();
    assert!(lease.spec.unwrap().holder_identity.is_some());
    edit_snippet(&client, &ns.name, "l", json!({"files": {"main.jsonnet": configmap("l", "2")}})).await;
    let r2 = wait_ready_revision(&client, &ns.name, "l", Some(&r1)).await;
    assert_published(&client, &storage, &ns.name, "l", &r2).await;
    assert!(second.metric("jaas_reconciles_total").await.unwrap_or(0.0) >= 1.0, "the new leader did not reconcile");
    delete_namespace_with_controller(&client, ns).await;
    second.terminate();
    assert!(second.wait_exit(Duration::from_secs(30)).await.success(), "{}", second.logs());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_that_loses_its_lease_stops_and_exits() {
    let (client, ns, _storage, mut leader) = start_with_controller("lost", false, &[]).await;
    eventually("controller a to lead", Duration::from_secs(30), || async { leader.is_leader().await.then_some(()) })
        .await;

    let leases = Api::<Lease>::namespaced(client.clone(), &ns.name);
    let name = format!("jaas-{}", ns.name);
    let mut lease = leases.get(&name).await.unwrap();
    let spec = lease.spec.as_mut().unwrap();
    spec.holder_identity = Some("another-replica".to_owned());
    spec.renew_time =
        Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime(k8s_openapi::jiff::Timestamp::now()));
    leases.replace(&name, &PostParams::default(), &lease).await.unwrap();
    let stolen = Instant::now();

    let status = leader.wait_exit(Duration::from_secs(15)).await;
    println!("a leader noticed its lost lease and exited after {} ms", stolen.elapsed().as_millis());
    assert!(!status.success(), "losing the lease must exit non-zero");
    assert!(leader.logs().contains("lost the leader lease"), "{}", leader.logs());
    ns.delete().await;
}
