//! A runaway evaluation is killed on timeout: the worker process is gone (killed and reaped) when
//! [`Renderer::render`] returns, and the next render gets a fresh worker. Alone in its binary so that no other
//! test's workers are around.

#![allow(clippy::unwrap_used)]

use std::{collections::BTreeMap, time::Duration};

use jaas_render::{Limits, OutputMode, RenderError, RenderRequest, Renderer, WorkerCommand};

/// Processes whose parent is this test process and whose command line mentions `eval-worker`.
fn eval_worker_children() -> Vec<u32> {
    let me = std::process::id().to_string();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(status) = std::fs::read_to_string(entry.path().join("status")) else { continue };
        let parent = status.lines().find_map(|line| line.strip_prefix("PPid:")).map(str::trim);
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        if parent == Some(me.as_str()) && String::from_utf8_lossy(&cmdline).contains("eval-worker") {
            found.push(pid);
        }
    }
    found
}

#[tokio::test]
async fn timed_out_worker_is_killed_and_reaped() {
    let limits = Limits { evaluation_timeout: Duration::from_secs(2), max_stack: 500, max_artifact_bytes: 0 };
    let worker = WorkerCommand { program: env!("CARGO_BIN_EXE_jaas").into(), args: vec!["eval-worker".to_owned()] };
    let renderer = std::sync::Arc::new(Renderer::new(limits, 1, worker));
    // 2^64 calls at a shallow depth: runs (practically) forever without hitting --max-stack.
    let runaway_request = request("local f(n) = if n == 0 then 0 else f(n - 1) + f(n - 1); f(64)");
    let task = tokio::spawn({
        let renderer = renderer.clone();
        async move { renderer.render(&runaway_request).await }
    });
    tokio::time::sleep(Duration::from_millis(800)).await;
    let runaway = eval_worker_children();
    assert_eq!(runaway.len(), 1, "the worker should be running");
    assert_eq!(renderer.worker_pids(), runaway);
    assert_eq!(renderer.in_flight(), 1);

    let error = task.await.unwrap().unwrap_err();
    assert_eq!(error, RenderError::EvaluationTimeout(Duration::from_secs(2)));
    assert_eq!(eval_worker_children(), Vec::<u32>::new(), "the worker should be gone");
    assert_eq!(renderer.worker_pids(), Vec::<u32>::new());
    assert_eq!(renderer.in_flight(), 0);

    // The pool recovers: the next render runs on a new worker, which stays warm.
    let artifact = renderer.render(&request("{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' } }")).await;
    assert_eq!(artifact.unwrap().files, ["manifests.yaml", "rendered.json"]);
    let fresh = eval_worker_children();
    assert_eq!(fresh.len(), 1, "one warm worker after the render");
    assert_ne!(fresh, runaway);
    let stats = renderer.pool_stats();
    assert_eq!((stats.started, stats.killed_timeout), (2, 1), "{stats:?}");
}

fn request(code: &str) -> RenderRequest {
    RenderRequest {
        entry_file: "main.jsonnet".to_owned(),
        files: BTreeMap::from([("main.jsonnet".to_owned(), code.to_owned())]),
        output: OutputMode::Rendered,
        ..RenderRequest::default()
    }
}
