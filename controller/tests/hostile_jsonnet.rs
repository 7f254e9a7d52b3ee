//! Hostile Jsonnet at a real controller (issue 15 part 4), against a real kube-apiserver (`KUBECONFIG`, required):
//! one `jaas run` process with small limits, one snippet per program of `tests/hostile/`, each published healthy
//! first and then edited to its hostile program. Each must end Ready=False with its own reason and a readable
//! message while its last good artifact stays published and downloadable (or, for the numbers at the edges of the
//! double range, Ready=True with the exact text). Meanwhile a healthy snippet is edited again and again and its
//! edit-to-published latency printed against a baseline measured before; afterwards the controller's memory, CPU
//! and evaluation workers must be back near where they were. Run with `-- --nocapture` to see the figures.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod cluster;

use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use cluster::probes::{ProcessTreeSample, mib, sample_tree};
use cluster::snippets::{
    READY_TIMEOUT, Readiness, assert_published, configmap, create_snippet, edit_snippet, external_artifact,
    readiness_of, start_with_controller, wait_for_readiness, wait_ready_revision,
};
use cluster::{ControllerProcess, TestStorage, eventually};
use jaas_controller::crd::JsonnetSnippet;
use kube::Client;
use kube::api::{Api, DeleteParams, ListParams};
use serde_json::json;

/// Small limits, so that every runaway program ends within seconds. `--max-concurrent-evals=2` comes from the
/// helper; a worker above 256 MiB after a job is replaced.
const FLAGS: &[&str] = &[
    "--leader-election=false",
    "--evaluation-timeout=2s",
    "--max-stack=200",
    "--max-evaluation-output-bytes=1048576",
    "--worker-max-rss-bytes=268435456",
];
/// `--max-concurrent-evals` as the helper sets it: at most this many workers live.
const MAX_CONCURRENT_EVALS: usize = 2;
const WORKER_MAX_RSS: u64 = 256 << 20;
/// The generous bounds asserted: every edit of the healthy snippet published within this, ...
const PUBLISH_BOUND: Duration = Duration::from_mins(1);
/// ... the controller's resident memory afterwards at most this much above its baseline, ...
const RSS_GROWTH_BOUND: u64 = 200 << 20;
/// ... and, once idle again, the controller and its workers using less than this share of one core.
const IDLE_CPU_BOUND: f64 = 0.5;
/// Edits of the healthy snippet before the hostile ones start (the baseline), and at most during them.
const BASELINE_EDITS: usize = 5;
const MAX_EDITS_DURING: usize = 200;

/// The largest finite double as `std.toString` writes it: go-jsonnet's `%.0f` of an integral number.
const LARGEST_DOUBLE_TEXT: &str = "179769313486231570814527423731704356798070567525844996598917476803157260780028538760589\
558632766878171540458953514382464234321326889464182768467546703537516986049910576551282076245490090389328944075868\
508455133942304583236903222948165808559332123348274797826204144723168738177180919299881250404026184124858368";

/// What a hostile program must come to.
enum Expected {
    /// Ready=False with one of these (reason, phrase of the message) pairs: some programs end either way, by how
    /// far they get before the evaluation timeout.
    Fails(&'static [(&'static str, &'static str)]),
    /// Ready=True; the artifact's `manifests.yaml` and `rendered.json` hold `text` (what `std.toString` wrote, as
    /// go-jsonnet writes it) exactly, and `value` as a plain number equal to this double (how many digits the
    /// writers use is theirs to choose: docs/fidelity.md compares numbers as doubles).
    Renders { text: &'static str, value: f64 },
}

/// One program of `tests/hostile/` (the snippet is named after its file) and what it must come to.
struct Case {
    name: &'static str,
    expected: Expected,
}

const TIMED_OUT: (&str, &str) = ("EvaluationTimeout", "timed out after 2s");
const TOO_LARGE: (&str, &str) = ("OutputTooLarge", "more than the limit of 1048576 bytes");
const TOO_DEEP: (&str, &str) = ("StackOverflow", "stack overflow");

fn cases() -> Vec<Case> {
    let fails = |name, expected| Case { name, expected: Expected::Fails(expected) };
    let renders = |name, text, value| Case { name, expected: Expected::Renders { text, value } };
    vec![
        fails("syntax-error", &[("EvaluationFailed", "syntax error: expected '}', got end of file")]),
        fails("runtime-error", &[("EvaluationFailed", "runtime error: hostile runtime error")]),
        fails("failed-assert", &[("EvaluationFailed", "assert failed: hostile assertion")]),
        fails("infinite-recursion", &[TOO_DEEP]),
        fails("exponential-string", &[("EvaluationFailed", "a value too large for memory")]),
        fails("exponential-string-slow", &[TIMED_OUT, ("EvaluationFailed", "a value too large for memory")]),
        fails("string-times-huge", &[("EvaluationFailed", "too large for memory (capacity overflow)")]),
        fails("gigabyte-output", &[TIMED_OUT, TOO_LARGE]),
        fails("output-over-limit", &[("OutputTooLarge", "bytes of JSON, more than the limit of 1048576")]),
        fails("deep-nesting", &[TOO_DEEP]),
        fails("deep-value", &[("InvalidOutput", "152 levels deep; at most 125 levels are supported")]),
        fails("huge-array", &[TIMED_OUT, TOO_LARGE]),
        fails("huge-manifest-list", &[TIMED_OUT, TOO_LARGE]),
        fails("import-etc-passwd", &[("ImportForbidden", "\"/etc/passwd\": absolute paths are not allowed")]),
        fails("importstr-parent-dirs", &[("ImportForbidden", "'..' climbs above the snippet's root")]),
        fails(
            "importbin-proc-environ",
            &[("ImportForbidden", "\"/proc/self/environ\": absolute paths are not allowed")],
        ),
        fails("import-http-url", &[("ImportForbidden", "URLs are not allowed")]),
        fails("importstr-file-url", &[("ImportForbidden", "\"file:///etc/passwd\": URLs are not allowed")]),
        fails("undefined-ext-var", &[("EvaluationFailed", "external variable is not defined: hostile_undefined")]),
        fails("double-overflow", &[("EvaluationFailed", "non-finite")]),
        renders("largest-double", LARGEST_DOUBLE_TEXT, f64::MAX),
        renders("smallest-double", "4.9406564584124654e-324", f64::from_bits(1)),
        renders("negative-zero", "-0", -0.0),
    ]
}

fn program(name: &str) -> String {
    let path = format!("{}/tests/hostile/{name}.jsonnet", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

fn files(code: &str) -> serde_json::Value {
    json!({"files": {"main.jsonnet": code}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_snippets_fail_alone_and_leave_the_controller_as_it_was() {
    let started = Instant::now();
    let (client, ns, storage, mut controller) = start_with_controller("hostile", false, FLAGS).await;
    let cases = cases();
    for case in &cases {
        create_snippet(&client, &ns.name, case.name, files(&configmap(case.name, "healthy"))).await;
    }
    create_snippet(&client, &ns.name, STEADY, files(&configmap(STEADY, "0"))).await;
    let mut healthy = Vec::new();
    for case in &cases {
        healthy.push(wait_ready_revision(&client, &ns.name, case.name, None).await);
    }
    println!("hostile-jsonnet: {} snippets published healthy after {:.1?}", cases.len() + 1, started.elapsed());
    // For e2e/reliability.sh's totals; stderr itself, past the test harness's capture.
    let _ = writeln!(std::io::stderr().lock(), "SUMMARY part=hostile_jsonnet bad_inputs={}", cases.len());
    let steady = Steady { client: client.clone(), ns: ns.name.clone() };
    let (baseline_latencies, mut next) = steady.edit_until(1, Some(BASELINE_EDITS), &AtomicBool::new(false)).await;
    let baseline = settle(&controller).await;

    let stop = Arc::new(AtomicBool::new(false));
    let during = tokio::spawn({
        let (steady, stop) = (Steady { client: client.clone(), ns: ns.name.clone() }, stop.clone());
        async move { steady.edit_until(next, Some(MAX_EDITS_DURING), &stop).await }
    });
    let hostile_sent = Instant::now();
    for case in &cases {
        edit_snippet(&client, &ns.name, case.name, files(&program(case.name))).await;
    }
    for (case, previous) in cases.iter().zip(&healthy) {
        check(&client, &storage, &ns.name, case, previous).await;
    }
    println!("hostile-jsonnet: {} hostile programs reached their state in {:.1?}", cases.len(), hostile_sent.elapsed());
    stop.store(true, Ordering::Relaxed);
    let (during_latencies, after_edits) = during.await.unwrap();
    next = after_edits;
    report_latencies(&baseline_latencies, &during_latencies);

    // The failing programs are retried with backoff for as long as they stay; suspending them ends that.
    for case in &cases {
        edit_snippet(&client, &ns.name, case.name, json!({"suspend": true})).await;
    }
    for case in &cases {
        wait_for_readiness(&client, &ns.name, case.name, "Suspended", |r| r.reason == "Suspended").await;
    }
    let (after_latencies, _) = steady.edit_until(next, Some(1), &AtomicBool::new(false)).await;
    assert_eq!(after_latencies.len(), 1, "the healthy snippet still publishes afterwards");
    let after = settle(&controller).await;
    report_and_check_resources(&controller, &baseline, &after).await;

    // Deleted here, while the controller runs to withdraw them, rather than through the namespace: the namespace
    // controller of a busy test cluster can take minutes to get to them.
    let snippets = Api::<JsonnetSnippet>::namespaced(client.clone(), &ns.name);
    snippets.delete_collection(&DeleteParams::default(), &ListParams::default()).await.unwrap();
    eventually("every snippet to be withdrawn", READY_TIMEOUT, || async {
        snippets.list(&ListParams::default()).await.ok()?.items.is_empty().then_some(())
    })
    .await;
    ns.delete().await;
    controller.terminate();
    assert!(controller.wait_exit(Duration::from_secs(30)).await.success(), "{}", controller.logs());
    println!("hostile-jsonnet: whole test {:.1?}", started.elapsed());
}

/// Waits for `case`'s hostile edit to settle and checks it, and that `previous` (its healthy revision) or the new
/// one is what is published and downloadable.
async fn check(client: &Client, storage: &TestStorage, ns: &str, case: &Case, previous: &str) {
    match &case.expected {
        Expected::Fails(expected) => {
            let ready = wait_for_readiness(client, ns, case.name, "Ready=False", |r| r.status == "False").await;
            let Readiness { reason, message, revision, .. } = &ready;
            assert!(
                expected.iter().any(|(r, phrase)| reason == r && message.contains(phrase)),
                "{}: expected one of {expected:?}, got {reason}: {message}",
                case.name
            );
            assert_eq!(revision.as_deref(), Some(previous), "{}: status.revision moved", case.name);
            assert_published(client, storage, ns, case.name, previous).await;
            let first_line: String = message.lines().next().unwrap_or_default().chars().take(140).collect();
            println!("hostile-jsonnet: {:<24} Ready=False {reason:<17} {first_line}", case.name);
        }
        Expected::Renders { text, value } => {
            let revision = wait_ready_revision(client, ns, case.name, Some(previous)).await;
            assert_published(client, storage, ns, case.name, &revision).await;
            let ea = external_artifact(client, ns, case.name).await.unwrap();
            let url = ea.status.unwrap().artifact.unwrap().url;
            let tarball = storage.bytes_at(&url).await.expect("the published artifact exists");
            let entries = jaas_render::read_tar_gz(&tarball).unwrap();
            let file = |path: &str| {
                let entry = entries.iter().find(|e| e.path == path).unwrap_or_else(|| panic!("{path} in the artifact"));
                String::from_utf8(entry.content.clone()).unwrap()
            };
            let yaml = file("manifests.yaml");
            let head = format!(
                "apiVersion: jaas.test/v1\nkind: Numbers\nmetadata:\n  name: {}\ntext: \"{text}\"\n",
                case.name
            );
            let scalar = yaml.strip_prefix(&head).and_then(|rest| rest.strip_prefix("value: ")?.strip_suffix('\n'));
            let read = scalar.and_then(|scalar| scalar.parse::<f64>().ok());
            assert!(read == Some(*value), "{}: manifests.yaml does not hold {value:e} as a number:\n{yaml}", case.name);
            let rendered: serde_json::Value = serde_json::from_str(&file("rendered.json")).unwrap();
            assert_eq!(rendered["text"], *text, "{}: rendered.json", case.name);
            assert_eq!(rendered["value"].as_f64(), Some(*value), "{}: rendered.json {}", case.name, rendered["value"]);
            let shown: String = scalar.unwrap_or_default().chars().take(40).collect();
            println!(
                "hostile-jsonnet: {:<24} Ready=True  value: {shown} (std.toString: {} chars)",
                case.name,
                text.len()
            );
        }
    }
}

/// The healthy snippet edited during the test.
const STEADY: &str = "steady";

struct Steady {
    client: Client,
    ns: String,
}

impl Steady {
    /// Edits the snippet to values `first`, `first + 1`, ... one at a time, each waited for until published, until
    /// `stop` is set (checked before each edit) or `max` edits were made; returns the edit-to-published latencies
    /// and the next value.
    async fn edit_until(&self, first: usize, max: Option<usize>, stop: &AtomicBool) -> (Vec<Duration>, usize) {
        let api = Api::<JsonnetSnippet>::namespaced(self.client.clone(), &self.ns);
        let mut latencies = Vec::new();
        let mut value = first;
        while !stop.load(Ordering::Relaxed) && max.is_none_or(|max| latencies.len() < max) {
            let previous = readiness_of(&api.get(STEADY).await.unwrap()).and_then(|r| r.revision);
            let sent = Instant::now();
            edit_snippet(&self.client, &self.ns, STEADY, files(&configmap(STEADY, &value.to_string()))).await;
            loop {
                let snippet = api.get(STEADY).await.unwrap();
                let published = readiness_of(&snippet)
                    .is_some_and(|r| r.status == "True" && r.revision.is_some() && r.revision != previous);
                if published {
                    break;
                }
                assert!(
                    sent.elapsed() < PUBLISH_BOUND,
                    "edit {value} of {STEADY} not published within {PUBLISH_BOUND:?}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            latencies.push(sent.elapsed());
            value += 1;
        }
        (latencies, value)
    }
}

/// Milliseconds at the `percent` percentile of `latencies` (nearest rank below).
fn percentile_ms(latencies: &[Duration], percent: usize) -> f64 {
    let mut sorted = latencies.to_vec();
    sorted.sort();
    sorted[(sorted.len() - 1) * percent / 100].as_secs_f64() * 1000.0
}

fn report_latencies(baseline: &[Duration], during: &[Duration]) {
    assert!(!during.is_empty(), "the healthy snippet was never edited while the hostile ones ran");
    for (label, latencies) in [("baseline", baseline), ("during hostile", during)] {
        println!(
            "hostile-jsonnet: healthy edit -> published, {label}: {} edits, p50 {:.0} ms, p90 {:.0} ms, max {:.0} ms",
            latencies.len(),
            percentile_ms(latencies, 50),
            percentile_ms(latencies, 90),
            percentile_ms(latencies, 100)
        );
    }
    println!(
        "hostile-jsonnet: latency ratio during/baseline: p50 {:.2}x, max {:.2}x",
        percentile_ms(during, 50) / percentile_ms(baseline, 50),
        percentile_ms(during, 100) / percentile_ms(baseline, 100)
    );
}

/// The controller once no evaluation runs: its process tree sampled, and the CPU it and its workers used over a
/// quiet window, as a share of one core.
struct Settled {
    sample: ProcessTreeSample,
    idle_cpu: f64,
}

const QUIET_WINDOW: Duration = Duration::from_secs(3);

async fn settle(controller: &ControllerProcess) -> Settled {
    eventually("no evaluation in flight", Duration::from_mins(1), || async {
        (controller.metric("jaas_evaluations_in_flight").await? == 0.0).then_some(())
    })
    .await;
    let pid = controller.pid();
    let before = sample_tree(pid).expect("the controller runs");
    tokio::time::sleep(QUIET_WINDOW).await;
    let sample = sample_tree(pid).expect("the controller runs");
    let used = (sample.cpu + sample.children_cpu).saturating_sub(before.cpu + before.children_cpu);
    Settled { sample, idle_cpu: used.as_secs_f64() / QUIET_WINDOW.as_secs_f64() }
}

async fn report_and_check_resources(controller: &ControllerProcess, baseline: &Settled, after: &Settled) {
    for (label, settled) in [("baseline", baseline), ("after", after)] {
        let s = &settled.sample;
        println!(
            "hostile-jsonnet: {label:<8} controller RSS {:.1} MiB, {} workers RSS {:.1} MiB, CPU when idle {:.3} cores \
             (controller {:.1?}, live workers {:.1?} so far)",
            mib(s.resident),
            s.children,
            mib(s.children_resident),
            settled.idle_cpu,
            s.cpu,
            s.children_cpu
        );
    }
    let workers = controller.metric("jaas_eval_workers").await.unwrap();
    let in_flight = controller.metric("jaas_evaluations_in_flight").await.unwrap();
    println!("hostile-jsonnet: after: jaas_eval_workers {workers}, jaas_evaluations_in_flight {in_flight}");
    let url = format!("http://127.0.0.1:{}/metrics", controller.metrics_port);
    let text = reqwest::get(url).await.unwrap().text().await.unwrap();
    for line in text.lines().filter(|l| l.starts_with("jaas_eval_workers_") || l.starts_with("jaas_reconciles_total")) {
        println!("hostile-jsonnet: {line}");
    }
    let grown = after.sample.resident.saturating_sub(baseline.sample.resident);
    assert!(grown < RSS_GROWTH_BOUND, "the controller's RSS grew by {:.1} MiB", mib(grown));
    assert!(workers <= 2.0 && in_flight == 0.0, "workers {workers}, in flight {in_flight} (--max-concurrent-evals=2)");
    assert!(after.sample.children <= MAX_CONCURRENT_EVALS, "{} live workers", after.sample.children);
    assert!(
        after.sample.children_resident <= 2 * WORKER_MAX_RSS,
        "workers hold {} bytes",
        after.sample.children_resident
    );
    assert!(after.idle_cpu < IDLE_CPU_BOUND, "idle controller and workers used {:.3} cores", after.idle_cpu);
}
