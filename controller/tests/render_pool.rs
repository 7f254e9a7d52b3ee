//! The warm worker pool behind [`Renderer`], with real `jaas eval-worker` processes: workers are reused across
//! renders, recycled after N evaluations or above an RSS limit, killed alone on timeout, replaced after a crash,
//! flat in memory over many evaluations, and ended with the renderer. Also [`Renderer::evaluate`], the value
//! before manifest shaping.

#![allow(clippy::unwrap_used)]

mod render_support;

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use jaas_render::{Limits, PoolStats, Recycling, RenderError, RenderRequest, Renderer, WorkerCommand};
use serde_json::json;

/// Runs (practically) forever without hitting --max-stack: 2^64 calls at a shallow depth.
const ENDLESS: &str = "local f(n) = if n == 0 then 0 else f(n - 1) + f(n - 1); f(64)";

fn limits(evaluation_timeout: Duration) -> Limits {
    Limits { evaluation_timeout, max_stack: 500, max_artifact_bytes: 0 }
}

fn renderer(slots: usize, recycling: Recycling) -> Renderer {
    let worker = WorkerCommand { program: env!("CARGO_BIN_EXE_jaas").into(), args: vec!["eval-worker".to_owned()] };
    Renderer::new(limits(Duration::from_secs(20)), slots, worker).with_recycling(recycling)
}

fn never_recycle() -> Recycling {
    Recycling { max_evaluations: 0, max_rss_bytes: 0 }
}

fn request(code: &str) -> RenderRequest {
    RenderRequest {
        entry_file: "main.jsonnet".to_owned(),
        files: BTreeMap::from([("main.jsonnet".to_owned(), code.to_owned())]),
        ..RenderRequest::default()
    }
}

/// A ConfigMap named after `n`, so each render differs.
fn config_map(n: usize) -> RenderRequest {
    request(&format!("{{ apiVersion: 'v1', kind: 'ConfigMap', metadata: {{ name: 'cm-{n}' }} }}"))
}

/// Whether `pid` is a running process (not gone, not a zombie) whose parent is this test.
fn is_our_running_child(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return false };
    // pid (comm) state ppid ...: comm may hold spaces, so split after its closing parenthesis.
    let mut fields = stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace()).into_iter().flatten();
    let (state, parent) = (fields.next(), fields.next());
    state != Some("Z") && parent == Some(std::process::id().to_string().as_str())
}

/// VmRSS of `pid` in KiB.
fn resident_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find_map(|line| line.strip_prefix("VmRSS:")).unwrap();
    line.trim().trim_end_matches("kB").trim().parse().unwrap()
}

#[tokio::test]
async fn sequential_renders_reuse_one_warm_worker() {
    let renderer = renderer(1, Recycling::default());
    assert_eq!(renderer.worker_pids(), Vec::<u32>::new(), "workers start lazily");
    renderer.render(&config_map(0)).await.unwrap();
    let pids = renderer.worker_pids();
    assert_eq!(pids.len(), 1);
    for n in 1..20 {
        let artifact = renderer.render(&config_map(n)).await.unwrap();
        let manifests = &render_support::untar(&artifact.tarball)[0].1;
        assert!(manifests.contains(&format!("name: cm-{n}")), "{manifests}");
        assert_eq!(renderer.worker_pids(), pids, "render {n} ran on another worker");
    }
    assert!(is_our_running_child(pids[0]), "the warm worker is alive between renders");
    assert_eq!(renderer.pool_stats(), PoolStats { started: 1, ..PoolStats::default() });
    assert_eq!(renderer.in_flight(), 0);
}

#[tokio::test]
async fn concurrent_renders_keep_one_worker_per_slot() {
    let renderer = renderer(2, Recycling::default());
    for round in 0..3 {
        let requests = [config_map(round * 2), config_map(round * 2 + 1)];
        let results = futures::future::join_all(requests.iter().map(|request| renderer.render(request))).await;
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        assert_eq!(renderer.worker_pids().len(), 2);
    }
    assert_eq!(renderer.pool_stats().started, 2);
}

#[tokio::test]
async fn evaluate_returns_any_value_before_manifest_shaping() {
    let renderer = renderer(1, Recycling::default());
    let value = renderer.evaluate(&request("{ a: [1, 'x'], b: true, c: null }")).await.unwrap();
    assert_eq!(value, json!({"a": [1, "x"], "b": true, "c": null}));
    assert_eq!(renderer.evaluate(&request("'text'")).await.unwrap(), json!("text"));
    // What render would reject as a manifest evaluates fine.
    assert_eq!(renderer.render(&request("true")).await.unwrap_err().reason(), "InvalidOutput");
    assert_eq!(renderer.evaluate(&request("true")).await.unwrap(), json!(true));
    // Requests are checked before they reach a worker.
    let mut invalid = request("{}");
    invalid.entry_file = "absent.jsonnet".to_owned();
    assert_eq!(renderer.evaluate(&invalid).await.unwrap_err().reason(), "InvalidSpec");
    assert_eq!(renderer.evaluate(&request("error 'no'")).await.unwrap_err().reason(), "EvaluationFailed");
    assert_eq!(renderer.pool_stats().started, 1, "evaluation errors do not cost the worker");
}

#[tokio::test]
async fn a_timeout_kills_only_its_worker_and_the_next_render_succeeds() {
    let worker = WorkerCommand { program: env!("CARGO_BIN_EXE_jaas").into(), args: vec!["eval-worker".to_owned()] };
    let renderer = Arc::new(Renderer::new(limits(Duration::from_secs(2)), 2, worker));
    let requests = [config_map(0), config_map(1)];
    let warm = futures::future::join_all(requests.iter().map(|request| renderer.render(request))).await;
    assert!(warm.iter().all(Result::is_ok), "{warm:?}");
    let both = renderer.worker_pids();
    assert_eq!(both.len(), 2);

    let runaway = tokio::spawn({
        let renderer = renderer.clone();
        async move { renderer.render(&request(ENDLESS)).await }
    });
    // Meanwhile the other worker keeps rendering.
    for n in 0..5 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        renderer.render(&config_map(n)).await.unwrap();
    }
    let error = runaway.await.unwrap().unwrap_err();
    assert_eq!(error, RenderError::EvaluationTimeout(Duration::from_secs(2)));
    let survivors = renderer.worker_pids();
    assert_eq!(survivors.len(), 1, "{survivors:?}");
    let killed = both.iter().find(|pid| !survivors.contains(pid)).copied().unwrap();
    assert!(!is_our_running_child(killed), "the timed-out worker {killed} is still running");
    assert!(is_our_running_child(survivors[0]));

    renderer.render(&config_map(99)).await.unwrap();
    assert_eq!(renderer.worker_pids(), survivors, "the next render ran on the surviving worker");
    let stats = renderer.pool_stats();
    assert_eq!((stats.started, stats.killed_timeout, stats.discarded), (2, 1, 0), "{stats:?}");
}

#[tokio::test]
async fn a_native_stack_overflow_loses_only_its_worker() {
    let renderer = renderer(1, Recycling::default());
    renderer.render(&config_map(0)).await.unwrap();
    let before = renderer.worker_pids();

    // jrsonnet grows its stack while evaluating, but its parser recurses on the native stack: 100,000 nested
    // brackets overflow the worker's 256 MiB.
    let deep = request(&format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000)));
    let error = renderer.render(&deep).await.unwrap_err();
    let RenderError::StackOverflow(message) = &error else { panic!("{error:?}") };
    assert!(message.contains("native stack"), "{message}");
    assert_eq!(renderer.worker_pids(), Vec::<u32>::new());
    assert!(!is_our_running_child(before[0]));

    renderer.render(&config_map(1)).await.unwrap();
    let after = renderer.worker_pids();
    assert_eq!(after.len(), 1);
    assert_ne!(after, before);
    let stats = renderer.pool_stats();
    assert_eq!((stats.started, stats.discarded), (2, 1), "{stats:?}");
}

#[tokio::test]
async fn workers_are_recycled_after_max_evaluations() {
    let renderer = renderer(1, Recycling { max_evaluations: 3, max_rss_bytes: 0 });
    let mut seen = Vec::new();
    for n in 1..=7 {
        let before = renderer.worker_pids();
        renderer.render(&config_map(n)).await.unwrap();
        let pids = renderer.worker_pids();
        assert_eq!(pids.len(), 1, "one worker at a time outside a last job (render {n}): {pids:?}");
        if n % 3 == 0 {
            // Its successor was started while it did its last job, and waits idle.
            assert!(!before.contains(&pids[0]), "render {n} leaves a fresh spare worker");
        }
        if n % 3 == 1 {
            assert!(!seen.contains(&pids[0]), "render {n} runs on a fresh worker");
            seen.push(pids[0]);
        }
        if n > 1 && n % 3 != 0 {
            assert_eq!(pids[0], *seen.last().unwrap(), "render {n}");
        }
    }
    let stats = renderer.pool_stats();
    assert_eq!((stats.started, stats.recycled_max_evaluations, stats.recycled_max_rss), (3, 2, 0), "{stats:?}");
}

#[tokio::test]
async fn workers_are_recycled_above_the_rss_limit() {
    // Every worker is larger than 1 MiB: each leaves after its render.
    let tiny = renderer(1, Recycling { max_evaluations: 0, max_rss_bytes: 1 << 20 });
    for n in 0..3 {
        tiny.render(&config_map(n)).await.unwrap();
        assert_eq!(tiny.worker_pids(), Vec::<u32>::new());
    }
    let stats = tiny.pool_stats();
    assert_eq!((stats.started, stats.recycled_max_rss), (3, 3), "{stats:?}");

    // None is near 4 GiB: one worker serves all.
    let roomy = renderer(1, Recycling { max_evaluations: 0, max_rss_bytes: 4 << 30 });
    for n in 0..3 {
        roomy.render(&config_map(n)).await.unwrap();
    }
    assert_eq!(roomy.pool_stats(), PoolStats { started: 1, ..PoolStats::default() });
}

#[tokio::test]
async fn worker_memory_stays_flat_over_500_evaluations() {
    // Objects with `self` and closures (reference cycles only the cycle collector frees), strings and arrays.
    let code = "local item(i) = { id: i, name: 'item-%d' % i, double: self.id * 2, tags: [std.toString(j) for j in std.range(0, i % 7)] };
                local items = [item(i) for i in std.range(1, 300)];
                { total: std.foldl(function(sum, it) sum + it.double, items, 0), names: std.join(',', [it.name for it in items]), items: items }";
    let renderer = renderer(1, never_recycle());
    let request = request(code);
    let mut samples = Vec::new();
    for n in 1..=500 {
        let value = renderer.evaluate(&request).await.unwrap();
        assert_eq!(value["total"], 90300);
        if [50, 250, 500].contains(&n) {
            let pids = renderer.worker_pids();
            assert_eq!(pids.len(), 1, "one worker for all evaluations");
            samples.push(resident_kib(pids[0]));
        }
    }
    let (early, middle, end) = (samples[0], samples[1], samples[2]);
    println!("worker RSS after 50 / 250 / 500 evaluations: {early} / {middle} / {end} KiB");
    // Flat: the last 250 evaluations may not add more than 5% (allocator noise), and nothing near a leak of even
    // a few bytes per object (each evaluation makes some 4,000 values).
    let allowance = middle / 20;
    assert!(end <= middle + allowance, "worker RSS grew from {middle} KiB to {end} KiB over 250 evaluations");
    assert!(end <= early * 2, "worker RSS doubled from {early} KiB to {end} KiB");
    assert_eq!(renderer.pool_stats().started, 1);
}

#[tokio::test]
async fn dropping_the_renderer_ends_its_workers() {
    let renderer = renderer(1, Recycling::default());
    renderer.render(&config_map(0)).await.unwrap();
    let pid = renderer.worker_pids()[0];
    assert!(is_our_running_child(pid));
    drop(renderer);
    let mut waited = Duration::ZERO;
    while is_our_running_child(pid) && waited < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += Duration::from_millis(50);
    }
    assert!(!is_our_running_child(pid), "the worker {pid} outlived its renderer by {waited:?}");
}

/// The benchmark of issue 13: the bench fixture's full render (evaluation, manifests, YAML, tar.gz) through a warm
/// pool, against the jrsonnet CLI of the same jrsonnet version evaluating it, interleaved in the same run. Prints
/// the means and the ratio (target <= 1.3). Needs `JRSONNET` (the CLI's path); `BENCH_RUNS` (default 10).
///
/// `JRSONNET=$(cd e2e && SCRIPT=bench bash -c '. ./env.sh; jrsonnet_cli') cargo test --release -p jaas-controller
/// --test render_pool -- --ignored --nocapture fixture_through_the_warm_pool`
#[tokio::test]
#[ignore = "benchmark: run in release with JRSONNET set"]
async fn fixture_through_the_warm_pool_vs_the_jrsonnet_cli() {
    let Some(jrsonnet) = std::env::var_os("JRSONNET") else {
        panic!(
            "set JRSONNET to the jrsonnet 0.5.0-pre98 CLI: `. e2e/env.sh; jrsonnet_cli` installs it and prints its path"
        );
    };
    let runs: u32 = std::env::var("BENCH_RUNS").ok().and_then(|runs| runs.parse().ok()).unwrap_or(10);
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../e2e/fixtures/bench/main.jsonnet");
    let request = jaas_render::plain_request(&fixture, &[]).unwrap();
    let renderer = renderer(1, Recycling::default());
    let jrsonnet_cli = || {
        let mut command = tokio::process::Command::new(&jrsonnet);
        command.arg(&fixture).stderr(std::process::Stdio::inherit());
        command
    };

    // Both must agree on the value before timing means anything.
    let ours = renderer.evaluate(&request).await.unwrap();
    let theirs = jrsonnet_cli().output().await.unwrap();
    assert!(theirs.status.success(), "{theirs:?}");
    assert_eq!(ours, serde_json::from_slice::<serde_json::Value>(&theirs.stdout).unwrap());
    renderer.render(&request).await.unwrap();

    let (mut pool, mut evaluate_only, mut cli) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    for _ in 0..runs {
        let started = std::time::Instant::now();
        let artifact = renderer.render(&request).await.unwrap();
        pool += started.elapsed();
        assert!(artifact.files.len() > 1);
        let started = std::time::Instant::now();
        renderer.evaluate(&request).await.unwrap();
        evaluate_only += started.elapsed();
        let started = std::time::Instant::now();
        let status = jrsonnet_cli().stdout(std::process::Stdio::null()).status().await.unwrap();
        cli += started.elapsed();
        assert!(status.success());
    }
    let stats = renderer.pool_stats();
    assert_eq!(stats.started, 1, "one warm worker for all renders: {stats:?}");
    let mean_ms = |total: Duration| total.as_secs_f64() * 1000.0 / f64::from(runs);
    let ratio = pool.as_secs_f64() / cli.as_secs_f64();
    println!(
        "bench fixture, {runs} runs interleaved: full render through the warm pool {:.0} ms (evaluation only {:.0} \
         ms) | jrsonnet CLI {:.0} ms | ratio pool / jrsonnet CLI {ratio:.2} (target <= 1.3) {}",
        mean_ms(pool),
        mean_ms(evaluate_only),
        mean_ms(cli),
        if ratio <= 1.3 { "PASS" } else { "FAIL" }
    );
}
