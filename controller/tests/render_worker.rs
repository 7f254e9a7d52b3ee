//! The [`Renderer`] with real and fake worker processes: the worker protocol (length-prefixed JSON frames on
//! stdio), crashes, concurrency, determinism across processes, and the examples. The pool's reuse and recycling of
//! workers is tested in `render_pool.rs`.

#![allow(clippy::unwrap_used)]

mod render_support;

use std::{
    collections::BTreeMap,
    io::{BufRead, BufReader, Read, Write},
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

/// Shell that reads one job frame (its length line, then that many bytes) from stdin.
const READ_JOB: &str = "read -r n; head -c \"$n\" >/dev/null";

/// One frame: the payload's length, a newline, the payload.
fn frame(payload: &str) -> String {
    format!("{}\n{payload}", payload.len())
}

/// Reads one frame's payload, or `None` at the end of the stream.
fn read_frame(input: &mut impl BufRead) -> Option<serde_json::Value> {
    let mut header = String::new();
    if input.read_line(&mut header).unwrap() == 0 {
        return None;
    }
    let length: u64 = header.trim_end_matches('\n').parse().unwrap();
    let mut payload = Vec::new();
    input.take(length).read_to_end(&mut payload).unwrap();
    Some(serde_json::from_slice(&payload).unwrap())
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

#[tokio::test]
async fn a_recording_renderer_gets_the_files_read_packed_by_the_worker() {
    let mut request = request("(import 'lib/a.libsonnet') + { metadata: { name: importstr 'name.txt' } }");
    request.files.insert("lib/a.libsonnet".to_owned(), "{ apiVersion: 'v1', kind: 'ConfigMap' }".to_owned());
    request.files.insert("name.txt".to_owned(), "from-a-file".to_owned());
    request.files.insert("unused.jsonnet".to_owned(), "error 'never read'".to_owned());
    let recording = Renderer::new(limits(), 1, real_worker()).recording_inputs();
    let failed = recording.render(&RenderRequest { entry_file: "unused.jsonnet".to_owned(), ..request.clone() }).await;
    assert_eq!(failed.unwrap_err().reason(), "EvaluationFailed");
    for _ in 0..2 {
        // Through the same warm worker as the failed render: each render's log starts empty.
        let artifact = recording.render(&request).await.unwrap();
        assert_eq!(artifact.files_read, ["main.jsonnet", "lib/a.libsonnet", "name.txt"]);
        let packed = artifact.inputs.unwrap().unpack(1 << 20).unwrap();
        let expected: BTreeMap<String, Vec<u8>> =
            artifact.files_read.iter().map(|path| (path.clone(), request.files[path].clone().into_bytes())).collect();
        assert_eq!(packed, expected);
    }
    assert_eq!(recording.pool_stats().started, 1);

    let plain = Renderer::new(limits(), 1, real_worker()).render(&request).await.unwrap();
    assert_eq!(plain.inputs, None, "a renderer that does not record packs nothing");

    let source = RenderRequest { output: OutputMode::Source, ..request.clone() };
    let artifact = recording.render(&source).await.unwrap();
    let packed = artifact.inputs.unwrap().unpack(1 << 20).unwrap();
    assert_eq!(packed.len(), 4, "output: source records every file it packs");
}

#[tokio::test]
async fn a_value_too_deep_to_decode_leaves_the_recording_worker_ready_for_the_next_job() {
    // The worker succeeded, so it sends the files read after its reply, though the renderer refuses the value.
    let deep = "local deep(n) = if n == 0 then 1 else [deep(n - 1)]; { apiVersion: 'v1', kind: 'K', metadata: { name: 'n' }, deep: deep(150) }";
    let renderer = Renderer::new(limits(), 1, real_worker()).recording_inputs();
    let error = renderer.render(&request(deep)).await.unwrap_err();
    assert_eq!(error.reason(), "InvalidOutput", "{error}");
    let next = renderer.render(&request(CONFIG_MAP)).await.unwrap();
    assert_eq!(next.files_read, ["main.jsonnet"]);
    assert_eq!(renderer.pool_stats().started, 1, "the same worker answered both");
}

#[tokio::test]
async fn inputs_too_large_to_record_are_named_as_such() {
    // 64 KiB of hex from a simple generator: zstd packs it to about half, far above the 8 KiB allowed.
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let blob: String = (0..65_536)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            char::from_digit(u32::try_from(state % 16).unwrap(), 16).unwrap()
        })
        .collect();
    let mut request =
        request("{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'n' + std.length(importstr 'blob.txt') } }");
    request.files.insert("blob.txt".to_owned(), blob);
    let renderer = Renderer::new(limits(), 1, real_worker()).with_max_output_bytes(8192);
    assert!(renderer.render(&request).await.is_ok(), "the value itself is small");
    let error = renderer.recording_inputs().render(&request).await.unwrap_err();
    let RenderError::InvalidSpec(message) = &error else { panic!("{error:?}") };
    assert!(message.contains("more than the 8192 bytes a revision record may hold"), "{message}");
}

#[tokio::test]
async fn a_worker_that_sends_no_packed_inputs_fails_the_recording_render() {
    let reply =
        r#"{"evaluated": {"filesRead": [], "value": {"apiVersion": "v1", "kind": "K", "metadata": {"name": "n"}}}}"#;
    let script = format!("{READ_JOB}; echo 'no inputs today' >&2; printf '%s\\n%s0\\n' {} '{reply}'", reply.len());
    let renderer = Renderer::new(limits(), 1, fake_worker(&script)).recording_inputs();
    let error = renderer.render(&request(CONFIG_MAP)).await.unwrap_err();
    let RenderError::Internal(message) = &error else { panic!("{error:?}") };
    assert!(message.contains("sent no packed inputs"), "{message}");
}

#[test]
fn eval_worker_answers_framed_jobs_until_stdin_ends() {
    let job = |x: &str, last: bool| {
        serde_json::json!({
            "task": {"evaluate": {
                "request": {"entryFile": "main.jsonnet", "files": {"main.jsonnet": "{ a: std.extVar('x') }"},
                            "extVars": [{"name": "x", "value": x, "code": true}]},
                "maxStack": 500,
            }},
            "last": last,
        })
        .to_string()
    };
    let mut child =
        jaas().arg("eval-worker").stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    // One job at a time: the worker answers each before reading the next.
    for (x, expected) in [
        ("1", serde_json::json!({"evaluated": {"filesRead": ["main.jsonnet"], "value": {"a": 1}}})),
        ("'two\\n'", serde_json::json!({"evaluated": {"filesRead": ["main.jsonnet"], "value": {"a": "two\n"}}})),
    ] {
        stdin.write_all(frame(&job(x, false)).as_bytes()).unwrap();
        assert_eq!(read_frame(&mut stdout).unwrap(), expected);
    }
    stdin.write_all(frame(&job("error 'no'", false)).as_bytes()).unwrap();
    let failed = read_frame(&mut stdout).unwrap();
    assert!(failed["failed"]["EvaluationFailed"].as_str().unwrap().contains("no"), "{failed}");
    drop(stdin);
    assert_eq!(read_frame(&mut stdout), None);
    assert!(child.wait().unwrap().success());
}

#[test]
fn eval_worker_exits_after_a_last_job_or_garbage() {
    let last = serde_json::json!({
        "task": {"evaluate": {"request": {"entryFile": "m", "files": {"m": "[]"}}, "maxStack": 500}},
        "last": true,
    });
    let output = run_eval_worker(&frame(&last.to_string()));
    assert_eq!(
        read_frame(&mut output.stdout.as_slice()).unwrap(),
        serde_json::json!({"evaluated": {"filesRead": ["m"], "value": []}})
    );
    assert!(output.status.success());

    let output = run_eval_worker("{\"unframed\": 1}\n");
    let reply = read_frame(&mut output.stdout.as_slice()).unwrap();
    let message = reply["failed"]["Internal"].as_str().unwrap();
    assert!(message.contains("the evaluation worker got no valid job: expected a frame length"), "{message}");
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn eval_worker_stops_mid_evaluation_when_stdin_ends() {
    // What a worker sees when its parent dies, even by SIGKILL: a runaway job must not outlive it.
    let endless = serde_json::json!({
        "task": {"evaluate": {
            "request": {"entryFile": "m", "files": {"m": "local f(n) = if n == 0 then 0 else f(n - 1) + f(n - 1); f(64)"}},
            "maxStack": 500,
        }},
    });
    let mut child = jaas().arg("eval-worker").stdin(Stdio::piped()).stdout(Stdio::null()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(frame(&endless.to_string()).as_bytes()).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert!(child.try_wait().unwrap().is_none(), "the worker should be evaluating");
    drop(stdin);
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() && started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = child.try_wait().unwrap();
    if status.is_none() {
        child.kill().unwrap();
    }
    assert!(status.is_some_and(|status| status.success()), "{status:?} after {:?}", started.elapsed());
}

#[cfg(target_os = "linux")]
#[test]
fn jaas_processes_keep_their_memory_in_small_pages() {
    // mimalloc madvises huge pages; a 2 MiB page stays resident while one object in it lives, which made the
    // controller's RSS at 10,000 snippets 77 MiB larger. `jaas` opts out at start, and its workers inherit that.
    let mut child = jaas().arg("eval-worker").stdin(Stdio::piped()).stdout(Stdio::null()).spawn().unwrap();
    let status_file = format!("/proc/{}/status", child.id());
    let started = Instant::now();
    let thp = loop {
        let status = std::fs::read_to_string(&status_file).unwrap();
        let line = status.lines().find(|line| line.starts_with("THP_enabled:")).map(str::to_owned);
        // The flag is set by main(); until then the process may still be starting.
        if line.as_deref() != Some("THP_enabled:\t1") || started.elapsed() > Duration::from_secs(5) {
            break line;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    drop(child.stdin.take());
    child.wait().unwrap();
    let thp = thp.expect("this kernel reports THP_enabled in /proc/<pid>/status (Linux 5.0+)");
    assert_eq!(thp.split_whitespace().nth(1), Some("0"), "{thp}");
}

/// Runs `jaas eval-worker` with `input` on stdin (stdin kept open: the worker must end on its own).
fn run_eval_worker(input: &str) -> std::process::Output {
    let mut child =
        jaas().arg("eval-worker").stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    drop(stdin);
    output
}

#[tokio::test]
async fn a_native_stack_overflow_in_the_worker_is_reported_as_such() {
    let script = format!("{READ_JOB}; echo \"thread 'jsonnet-eval' has overflowed its stack\" >&2; kill -ABRT $$");
    let renderer = Renderer::new(limits(), 1, fake_worker(&script));
    let error = renderer.render(&request(CONFIG_MAP)).await.unwrap_err();
    assert!(matches!(error, RenderError::StackOverflow(_)), "{error:?}");
    assert_eq!(renderer.worker_pids(), Vec::<u32>::new(), "the crashed worker left the pool");
}

#[tokio::test]
async fn a_crashed_worker_is_an_internal_error() {
    let renderer = Renderer::new(limits(), 1, fake_worker(&format!("{READ_JOB}; echo dying >&2; kill -SEGV $$")));
    let error = renderer.render(&request(CONFIG_MAP)).await.unwrap_err();
    let RenderError::Internal(message) = &error else { panic!("{error:?}") };
    assert!(message.contains("signal") && message.contains("dying"), "{message}");
    assert_eq!(renderer.pool_stats().discarded, 1);
}

#[tokio::test]
async fn a_worker_that_answers_garbage_is_discarded_with_its_stderr() {
    let script = format!("{READ_JOB}; echo 'about to misbehave' >&2; echo 'hello, world'; sleep 30");
    let renderer = Renderer::new(limits(), 1, fake_worker(&script));
    let started = Instant::now();
    let error = renderer.render(&request(CONFIG_MAP)).await.unwrap_err();
    let RenderError::Internal(message) = &error else { panic!("{error:?}") };
    assert!(message.contains("unreadable reply (expected a frame length, got \"hello, world\\n\")"), "{message}");
    assert!(message.contains("about to misbehave"), "{message}");
    // The worker went on running after its garbage: it was killed, not waited for.
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    assert_eq!(renderer.worker_pids(), Vec::<u32>::new());
}

#[tokio::test]
async fn std_trace_output_does_not_block_the_worker() {
    // 4 MiB of std.trace output per render, far beyond a pipe's buffer: the parent must keep reading stderr.
    let code = "local big = std.repeat('x', 4096); local traced = [std.trace(big, i) for i in std.range(1, 1024)]; { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'n' + std.length(std.filter(function(i) i > 0, traced)) } }";
    let renderer = Renderer::new(limits(), 1, real_worker());
    for _ in 0..2 {
        let artifact = renderer.render(&request(code)).await.unwrap();
        assert!(untar(&artifact.tarball)[0].1.contains("name: n1024"));
    }
    assert_eq!(renderer.pool_stats().started, 1);
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
    let reply =
        r#"{"evaluated": {"filesRead": [], "value": {"apiVersion": "v1", "kind": "K", "metadata": {"name": "n"}}}}"#;
    let script = format!("while {READ_JOB}; do sleep 0.3; printf '%s\\n%s' {} '{reply}'; done", reply.len());
    let renderer = std::sync::Arc::new(Renderer::new(limits(), 1, fake_worker(&script)));
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
    assert_eq!(renderer.pool_stats().started, 1, "one slot, one warm worker for all three");
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
