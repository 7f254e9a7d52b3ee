//! Memory soak for the evaluation function (issue 4 item 7): renders the benchmark snippet at a mid size
//! 10,000 times on ONE long-lived thread through `render::evaluate::evaluate` — the very function the
//! `eval-worker` runs, including its `collect_thread_cycles()` after each render — and prints the resident
//! set size at the start, middle and end. Production workers are warm and evaluate many jobs each, so this
//! guards what they do: many evaluations sharing a thread, kept flat by the cycle collector.
//!
//! Run it with `cargo test -p jaas-render --test soak -- --ignored --nocapture` (or `e2e/bench-render.sh`).

use std::path::Path;

use jaas_render::{Variable, evaluate, plain_request};

/// Evaluation thread stack, as the worker's.
const STACK_BYTES: usize = 256 * 1024 * 1024;

fn resident_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status")
}

#[test]
#[ignore = "soak: thousands of evaluations; run by e2e/bench-render.sh"]
fn resident_memory_stays_flat_over_many_evaluations() {
    let runs: usize = std::env::var("JAAS_SOAK_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let components = std::env::var("JAAS_SOAK_COMPONENTS").unwrap_or_else(|_| "4".to_owned());
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../e2e/fixtures/bench/main.jsonnet");
    let mut request = plain_request(&fixture, &[]).expect("load the benchmark fixture");
    request.tlas = vec![Variable { name: "components".to_owned(), value: components.clone(), code: true }];
    let handle = std::thread::Builder::new()
        .stack_size(STACK_BYTES)
        .spawn(move || {
            let objects = evaluate(&request, 500).expect("evaluate").as_array().map_or(0, Vec::len);
            let start = resident_kib();
            let mut middle = start;
            let began = std::time::Instant::now();
            for run in 1..runs {
                evaluate(&request, 500).expect("evaluate");
                if run == runs / 2 {
                    middle = resident_kib();
                }
            }
            let end = resident_kib();
            println!(
                "soak: {runs} evaluations of {objects} objects (components={components}) in one thread, {:.1} ms each; \
                 RSS start {start} KiB, middle {middle} KiB, end {end} KiB",
                began.elapsed().as_secs_f64() * 1000.0 / f64::from(u32::try_from(runs.max(1)).unwrap_or(u32::MAX))
            );
            (start, middle, end)
        })
        .expect("spawn the evaluation thread");
    let (start, middle, end) = handle.join().expect("the soak thread panicked");
    // Flat: the second half of the run may not grow by more than 5% of the start (allocator noise).
    let allowance = start / 20;
    assert!(end <= middle + allowance, "RSS grew from {middle} KiB to {end} KiB over the second half: a leak");
}
