//! Revision records on real stored revisions (issue 17): the controller (a real `jaas run` against the real API
//! server) writes a record beside each tarball, names it in `status.artifact.metadata`, deletes it with its
//! revision, removes a record a crash left without a tarball; `jaas verify` renders stored revisions again from
//! their records alone and catches a tampered record; `jaas diff` compares two stored revisions object by object.
//! Once on local storage, once on S3 (`JAAS_S3_ENDPOINT`, required).

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod cluster;

use std::process::Output;

use cluster::snippets::{
    READY_TIMEOUT, create_library, create_snippet, edit_snippet, external_artifact, start_with_controller,
    wait_ready_revision,
};
use cluster::{JAAS, TestStorage, eventually};
use jaas_render::record::{RecordedFiles, RevisionRecord};
use jaas_shared::{ArtifactKey, Digest, SnippetRef};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_on_local_storage() {
    provenance("prov-local", false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_on_s3() {
    assert!(
        std::env::var("JAAS_S3_ENDPOINT").is_ok_and(|e| !e.is_empty()),
        "JAAS_S3_ENDPOINT must be set (e2e/s3-start.sh)"
    );
    provenance("prov-s3", true).await;
}

fn main_jsonnet(data: &str) -> String {
    format!(
        "local k = import 'kube/k.libsonnet';\n[k.configmap('settings', {{ value: std.extVar('env') + '{data}' }}), \
         k.configmap('static', {{ a: '1' }})]"
    )
}

async fn provenance(prefix: &str, s3: bool) {
    let flags = ["--artifact-gc-grace=0s", "--leader-election=false"];
    let (client, ns, storage, mut controller) = start_with_controller(prefix, s3, &flags).await;
    let library =
        "{ configmap(name, data):: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: name }, data: data } }";
    create_library(&client, &ns.name, "kube", json!({"files": {"k.libsonnet": library, "unused.libsonnet": "{}"}}))
        .await;
    let spec = |data: &str| {
        json!({"history": 2, "libraries": ["kube"], "externalVariables": [{"name": "env", "value": "prod-"}],
               "files": {"main.jsonnet": main_jsonnet(data), "notes.txt": "not imported"}})
    };
    create_snippet(&client, &ns.name, "app", spec("one")).await;
    let first = wait_ready_revision(&client, &ns.name, "app", None).await;
    let record = stored_record(&storage, &ns.name, &first).await;
    assert_eq!(record.revision.digest, first);
    assert_eq!(record.revision.objects, 2);
    let read: Vec<&String> = record.request.files.iter().collect();
    assert_eq!(read, ["kube/k.libsonnet", "main.jsonnet"], "only the files the evaluation read");
    assert_eq!(record.request.ext_vars[0].value, "prod-");
    let snippet = record.snippet.as_ref().unwrap();
    assert_eq!((snippet.namespace.as_str(), snippet.name.as_str(), snippet.generation), (ns.name.as_str(), "app", 1));
    let roles: Vec<(&str, &str)> = record.origins.iter().map(|o| (o.role.as_str(), o.kind.as_str())).collect();
    assert_eq!(roles, [("snippet", "JsonnetSnippet"), ("library", "JsonnetLibrary")]);

    let metadata =
        external_artifact(&client, &ns.name, "app").await.unwrap().status.unwrap().artifact.unwrap().metadata;
    let metadata = metadata.expect("status.artifact.metadata");
    let record_bytes = storage_bytes(&storage, &ns.name, &first, true).await;
    assert_eq!(metadata["jaas.metio.wtf/record-digest"], Digest::of(&record_bytes).to_string());
    assert_eq!(metadata["jaas.metio.wtf/objects"], "2");
    assert!(metadata["jaas.metio.wtf/evaluator"].starts_with("jrsonnet-evaluator 0.5.0-pre98"), "{metadata:?}");

    // S3 keeps whole seconds: revisions written within one second tie, and retention would then keep one by digest.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    edit_snippet(&client, &ns.name, "app", spec("two")).await;
    let second = wait_ready_revision(&client, &ns.name, "app", Some(&first)).await;
    // A record left without its tarball, as a crash between the two writes of a store leaves it.
    let orphan = SnippetRef::new(&ns.name, "app").unwrap().record(Digest::of(b"never stored"));
    storage.store.put(&orphan, record_bytes.clone().into()).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    edit_snippet(&client, &ns.name, "app", spec("three")).await;
    let third = wait_ready_revision(&client, &ns.name, "app", Some(&second)).await;
    let mut kept = vec![second.clone(), third.clone()];
    kept.sort();
    eventually("history 2 to keep two revisions, each with its record, and no orphan", READY_TIMEOUT, || async {
        let tarballs = storage.stored(&ns.name, "app").await;
        (tarballs == kept && storage.stored_records(&ns.name, "app").await == kept).then_some(())
    })
    .await;

    let target = format!("{}/app", ns.name);
    let verified = jaas(&["verify", &target], &storage);
    assert_eq!(verified.status.code(), Some(0), "{}", text(&verified));
    assert!(text(&verified).contains("2 verified, 0 mismatched, 0 not verifiable"), "{}", text(&verified));
    let one = format!("{target}@{third}");
    assert_eq!(jaas(&["verify", &one], &storage).status.code(), Some(0));

    let diff = jaas(&["diff", &format!("{target}@{second}"), &one], &storage);
    assert_eq!(diff.status.code(), Some(1), "{}", text(&diff));
    let shown = text(&diff);
    assert!(shown.contains("ConfigMap") && shown.contains("settings"), "{shown}");
    assert!(shown.contains("-  value: prod-two") && shown.contains("+  value: prod-three"), "{shown}");
    assert!(shown.contains("0 added, 0 removed, 1 changed, 1 unchanged"), "{shown}");

    // A record whose inputs were changed after the render no longer renders to its revision.
    let mut tampered = stored_record(&storage, &ns.name, &third).await;
    let mut files = tampered.inputs.contents().unwrap().into_owned();
    files.insert("main.jsonnet".to_owned(), main_jsonnet("forged").into_bytes());
    tampered.inputs = RecordedFiles::Unpacked(files);
    let key = ArtifactKey::new(&ns.name, "app", third.parse().unwrap()).unwrap().record_key();
    storage.store.put(&key, tampered.encode().unwrap().into()).await.unwrap();
    let caught = jaas(&["verify", &one], &storage);
    assert_eq!(caught.status.code(), Some(1), "{}", text(&caught));
    assert!(text(&caught).contains("MISMATCH"), "{}", text(&caught));

    kube::Api::<jaas_controller::crd::JsonnetSnippet>::namespaced(client.clone(), &ns.name)
        .delete("app", &kube::api::DeleteParams::default())
        .await
        .unwrap();
    eventually("every tarball and record of the deleted snippet to be gone", READY_TIMEOUT, || async {
        let gone = storage.stored(&ns.name, "app").await.is_empty()
            && storage.stored_records(&ns.name, "app").await.is_empty();
        gone.then_some(())
    })
    .await;
    controller.terminate();
    assert!(controller.wait_exit(std::time::Duration::from_secs(30)).await.success(), "{}", controller.logs());
    ns.delete().await;
}

/// The stored record of revision `digest` (`sha256:<hex>`) of `<ns>/app`, decoded.
async fn stored_record(storage: &TestStorage, ns: &str, digest: &str) -> RevisionRecord {
    RevisionRecord::decode(&storage_bytes(storage, ns, digest, true).await).unwrap()
}

/// The stored bytes of revision `digest` of `<ns>/app`: its record, or its tarball.
async fn storage_bytes(storage: &TestStorage, ns: &str, digest: &str, record: bool) -> Vec<u8> {
    let key = ArtifactKey::new(ns, "app", digest.parse().unwrap()).unwrap();
    let key = if record { key.record_key() } else { key };
    storage.store.get(&key, None).await.unwrap().bytes().await.unwrap().to_vec()
}

/// Runs `jaas ARGS` with the test storage's flags.
fn jaas(args: &[&str], storage: &TestStorage) -> Output {
    std::process::Command::new(JAAS).args(args).args(&storage.flags).output().unwrap()
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}
