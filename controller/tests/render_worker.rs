//! The [`Renderer`] with real and fake worker processes: the worker protocol, crashes, concurrency,
//! determinism across processes, and the examples.

#![allow(clippy::unwrap_used)]

mod render_support;

use std::{
    collections::BTreeMap,
    io::Write,
    process::Stdio,
    time::{Duration, Instant},
};

use jaas_render::{Limits, OutputMode, RenderError, RenderRequest, Renderer, WorkerCommand};
use render_support::{examples, jaas, render, stdout, untar};

fn limits() -> Limits {
    Limits { evaluation_timeout: Duration::from_secs(20), max_stack: 500, max_artifact_bytes: 0 }
}

fn real_worker() -> WorkerCommand {
    WorkerCommand { program: env!("CARGO_BIN_EXE_jaas").into(), args: vec!["eval-worker".to_owned()] }
}

fn fake_worker(script: &str) -> WorkerCommand {
    WorkerCommand { program: "/bin/sh".into(), args: vec!["-c".to_owned(), script.to_owned()] }
}

fn request(code: &str) -> RenderRequest {
    RenderRequest {
        entry_file: "main.jsonnet".to_owned(),
        files: BTreeMap::from([("main.jsonnet".to_owned(), code.to_owned())]),
        libraries: Vec::new(),
        ext_vars: Vec::new(),
        tlas: Vec::new(),
        output: OutputMode::Rendered,
        ..RenderRequest::default()
    }
}

const CONFIG_MAP: &str = "{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' } }";

#[tokio::test]
async fn renders_through_the_worker_process() {
    let renderer = Renderer::new(limits(), 2, real_worker());
    let artifact = renderer.render(&request(CONFIG_MAP)).await.unwrap();
    assert_eq!(artifact.files, ["manifests.yaml", "rendered.json"]);
    assert_eq!(jaas_shared::Digest::from_sha256(artifact.sha256), jaas_shared::Digest::of(&artifact.tarball));
    let files = untar(&artifact.tarball);
    assert_eq!(files[0].1, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n");
    assert_eq!(renderer.in_flight(), 0);
}

#[test]
fn eval_worker_speaks_json_on_stdio() {
    let job = serde_json::json!({
        "request": {"entryFile": "main.jsonnet", "files": {"main.jsonnet": "{ a: std.extVar('x') }"},
                    "extVars": [{"name": "x", "value": "1", "code": true}]},
        "maxStack": 500,
    });
    let mut child = jaas().arg("eval-worker").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(job.to_string().as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let reply: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(reply, serde_json::json!({"evaluated": {"a": 1}}));
}

#[tokio::test]
async fn a_native_stack_overflow_in_the_worker_is_reported_as_such() {
    let script = "cat >/dev/null; echo \"thread 'jsonnet-eval' has overflowed its stack\" >&2; kill -ABRT $$";
    let renderer = Renderer::new(limits(), 1, fake_worker(script));
    let error = renderer.render(&request(CONFIG_MAP)).await.unwrap_err();
    assert!(matches!(error, RenderError::StackOverflow(_)), "{error:?}");
}

#[tokio::test]
async fn a_crashed_worker_is_an_internal_error() {
    let renderer = Renderer::new(limits(), 1, fake_worker("cat >/dev/null; echo dying >&2; kill -SEGV $$"));
    let error = renderer.render(&request(CONFIG_MAP)).await.unwrap_err();
    let RenderError::Internal(message) = &error else { panic!("{error:?}") };
    assert!(message.contains("signal") && message.contains("dying"), "{message}");
}

#[tokio::test]
async fn a_missing_worker_program_is_an_internal_error() {
    let worker = WorkerCommand { program: "/nonexistent/jaas".into(), args: Vec::new() };
    let error = Renderer::new(limits(), 1, worker).render(&request(CONFIG_MAP)).await.unwrap_err();
    assert_eq!(error.reason(), "Internal");
}

#[tokio::test]
async fn concurrent_evaluations_are_bounded() {
    // Each fake evaluation takes 300ms; with one slot, three take at least 900ms.
    let script = "cat >/dev/null; sleep 0.3; printf '{\"evaluated\": {\"apiVersion\": \"v1\", \"kind\": \"K\", \"metadata\": {\"name\": \"n\"}}}'";
    let renderer = std::sync::Arc::new(Renderer::new(limits(), 1, fake_worker(script)));
    let started = Instant::now();
    let request = request(CONFIG_MAP);
    let mut max_seen = 0;
    let renders = futures::future::join_all((0..3).map(|_| renderer.render(&request)));
    tokio::pin!(renders);
    let results = loop {
        tokio::select! {
            results = &mut renders => break results,
            () = tokio::time::sleep(Duration::from_millis(20)) => max_seen = max_seen.max(renderer.in_flight()),
        }
    };
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert!(started.elapsed() >= Duration::from_millis(900), "{:?}", started.elapsed());
    assert_eq!(max_seen, 1);
    assert_eq!(renderer.in_flight(), 0);
}

#[test]
fn separate_processes_produce_identical_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let snippet = examples().join("app/snippet.yaml");
    let mut tarballs = Vec::new();
    for name in ["first.tar.gz", "second.tar.gz"] {
        let out = dir.path().join(name);
        let output = render(&[snippet.to_str().unwrap(), "-o", out.to_str().unwrap()]);
        assert!(output.status.success(), "{output:?}");
        tarballs.push(std::fs::read(out).unwrap());
    }
    assert_eq!(tarballs[0], tarballs[1]);
}

#[test]
fn examples_render() {
    let app = render(&[examples().join("app/snippet.yaml").to_str().unwrap()]);
    assert!(app.status.success(), "{app:?}");
    let text = stdout(&app);
    for fragment in
        ["kind: Deployment", "kind: Service", "replicas: 2", "image: ghcr.io/example/hello:1.2.3", "value: staging"]
    {
        assert!(text.contains(fragment), "{fragment:?} missing in\n{text}");
    }

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("mixin.tar.gz");
    let mixin = render(&[
        examples().join("mixin/snippet.yaml").to_str().unwrap(),
        "--library",
        examples().join("mixin/library.yaml").to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(mixin.status.success(), "{mixin:?}");
    let files = untar(&std::fs::read(&out).unwrap());
    let names: Vec<&str> = files.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["dashboards.yaml", "prometheus-rules.yaml", "rendered.json"]);
    assert!(files[1].1.contains("alert: HighErrorRate"), "{}", files[1].1);

    let plain = render(&[
        examples().join("plain/main.jsonnet").to_str().unwrap(),
        "--ext-str",
        "env=dev",
        "--tla-code",
        "shards=2",
    ]);
    assert!(plain.status.success(), "{plain:?}");
    let text = stdout(&plain);
    assert_eq!(text.matches("kind: ConfigMap").count(), 2, "{text}");
    assert!(text.contains("debug: \"yes\"") && text.contains("version: \"1.0\""), "{text}");
}
