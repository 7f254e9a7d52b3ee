//! A fuzz corpus through the real evaluation worker (issue 15 part 4): generated Jsonnet programs ([`grammar`]) and
//! mutants of real ones ([`mutations`]) rendered by a [`Renderer`] whose pool runs real `jaas eval-worker`
//! processes, as the controller does. Every job must end in a structured outcome, an artifact or a [`RenderError`]
//! the worker (or the pool, for a timeout or an oversized reply) explains; never a worker that ended without a
//! reply. The outcomes are counted by kind and printed (`-- --nocapture`). Deterministic for a seed
//! (`JAAS_FUZZ_SEED`, default below); programs that broke a worker or panicked are written to a directory for replay.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod grammar;
mod mutations;
mod typed;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use jaas_render::{Limits, Recycling, RenderError, RenderRequest, Renderer, Variable, WorkerCommand};
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

/// Programs generated, half from the grammar and half mutants.
const PROGRAMS: usize = 2000;
/// No job starts after this; the test stays under a minute on a slow machine.
const BUDGET: Duration = Duration::from_secs(45);
/// Fewer programs than this within the budget would make the run meaningless.
const MIN_PROGRAMS: usize = 200;
const DEFAULT_SEED: u64 = 0x15_0004;
/// Jobs in flight at once: twice the workers, so a worker never waits for the next job.
const WORKERS: usize = 2;

/// Where a program came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Origin {
    Grammar,
    Mutant,
}

fn seed() -> u64 {
    std::env::var("JAAS_FUZZ_SEED").ok().map_or(DEFAULT_SEED, |s| s.parse().expect("JAAS_FUZZ_SEED is a u64"))
}

/// The programs of one seed, alternating grammar and mutant.
fn programs(seed: u64) -> Vec<(Origin, String)> {
    let mut seed_bytes = [0_u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let mut runner = TestRunner::new_with_rng(Config::default(), TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes));
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut corpus = mutations::programs_in(&tests.join("differential/corpus"));
    corpus.extend(mutations::programs_in(&tests.join("hostile")));
    assert!(corpus.len() > 100, "the corpus went missing: {} programs", corpus.len());
    let generated = grammar::program();
    let mutant = mutations::mutant(corpus);
    (0..PROGRAMS)
        .map(|i| {
            if i % 2 == 0 {
                (Origin::Grammar, generated.new_tree(&mut runner).unwrap().current())
            } else {
                (Origin::Mutant, mutant.new_tree(&mut runner).unwrap().current())
            }
        })
        .collect()
}

fn request(code: &str) -> RenderRequest {
    RenderRequest {
        entry_file: "main.jsonnet".to_owned(),
        files: BTreeMap::from([("main.jsonnet".to_owned(), code.to_owned())]),
        ext_vars: vec![Variable { name: "ext".to_owned(), value: "{ n: 1 }".to_owned(), code: true }],
        ..RenderRequest::default()
    }
}

/// The kind of an outcome, as counted: `Ok`, or the reason, with what became of the worker where it did not
/// simply go back to the pool.
fn kind(outcome: &Result<jaas_render::RenderedArtifact, RenderError>) -> String {
    let Err(error) = outcome else { return "Ok".to_owned() };
    let message = error.to_string();
    let fate = match error {
        RenderError::Internal(_) if message.contains("evaluation worker ended") => ENDED,
        RenderError::Internal(_) if message.contains("panicked") => ": evaluator panicked, worker exited",
        RenderError::EvaluationFailed(_) if message.contains("too large for memory") => TOO_LARGE_FOR_MEMORY,
        RenderError::StackOverflow(_) if message.contains("native stack") => ": worker's native stack overflowed",
        RenderError::OutputTooLarge { .. } => ": reply left unread, worker discarded",
        _ => "",
    };
    format!("{}{fate}", error.reason())
}

const ENDED: &str = ": worker ended without a reply";
/// A value larger than memory: the worker aborted on the failed allocation, or panicked on a size that overflows.
const TOO_LARGE_FOR_MEMORY: &str = ": value too large for memory, worker discarded";

/// Whether an outcome of this kind costs the pool its worker (every other kind leaves it in the pool, except the
/// timeouts, counted apart).
fn discards_worker(kind: &str) -> bool {
    kind.contains(": ")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_generated_program_gets_a_structured_reply() {
    let seed = seed();
    let programs = programs(seed);
    let limits = Limits { evaluation_timeout: Duration::from_secs(2), max_stack: 500, max_artifact_bytes: 0 };
    let worker = WorkerCommand { program: env!("CARGO_BIN_EXE_jaas").into(), args: vec!["eval-worker".to_owned()] };
    let recycling = Recycling { max_evaluations: 1000, max_rss_bytes: 256 << 20 };
    let renderer =
        Arc::new(Renderer::new(limits, WORKERS, worker).with_recycling(recycling).with_max_output_bytes(4 << 20));

    let started = Instant::now();
    let outcomes: Vec<_> = futures::stream::iter(programs.into_iter().enumerate())
        .take_while(|_| std::future::ready(started.elapsed() < BUDGET))
        .map(|(index, (origin, code))| {
            let renderer = renderer.clone();
            async move {
                let outcome = renderer.render(&request(&code)).await;
                (index, origin, code, outcome)
            }
        })
        .buffer_unordered(2 * WORKERS)
        .collect()
        .await;
    let elapsed = started.elapsed();

    let mut counts: BTreeMap<(String, Origin), usize> = BTreeMap::new();
    let mut examples: BTreeMap<String, String> = BTreeMap::new();
    let mut broken = Vec::new();
    for (index, origin, code, outcome) in &outcomes {
        let kind = kind(outcome);
        if let Err(error) = outcome {
            let first_line = error.to_string().lines().next().unwrap_or_default().chars().take(110).collect();
            examples.entry(kind.clone()).or_insert(first_line);
        }
        if discards_worker(&kind) && !kind.starts_with("OutputTooLarge") {
            broken.push((*index, kind.clone(), code.clone(), outcome.as_ref().unwrap_err().to_string()));
        }
        *counts.entry((kind, *origin)).or_default() += 1;
    }
    println!(
        "worker-fuzz: seed {seed}: {} programs ({} from the grammar, {} mutants) in {elapsed:.1?}",
        outcomes.len(),
        outcomes.iter().filter(|o| o.1 == Origin::Grammar).count(),
        outcomes.iter().filter(|o| o.1 == Origin::Mutant).count()
    );
    let kinds: BTreeSet<&String> = counts.keys().map(|(kind, _)| kind).collect();
    for kind in kinds {
        let of = |origin| counts.get(&(kind.clone(), origin)).copied().unwrap_or(0);
        let (grammar, mutant) = (of(Origin::Grammar), of(Origin::Mutant));
        let example = examples.get(kind).map_or(String::new(), |e| format!("  e.g. {e}"));
        println!("worker-fuzz: {kind:<58} {:>5} (grammar {grammar:>4}, mutant {mutant:>4}){example}", grammar + mutant);
    }
    // For e2e/reliability.sh's totals; stderr itself, past the test harness's capture.
    let _ = writeln!(std::io::stderr().lock(), "SUMMARY part=worker_fuzz bad_inputs={}", outcomes.len());
    let stats = renderer.pool_stats();
    println!("worker-fuzz: pool: {stats:?}, live workers {}", renderer.worker_pids().len());
    report_broken(seed, &broken);

    assert!(outcomes.len() >= MIN_PROGRAMS, "only {} programs ran within {BUDGET:?}", outcomes.len());
    let ended: Vec<_> = broken.iter().filter(|b| b.1.ends_with(ENDED)).collect();
    assert!(ended.is_empty(), "{} jobs got no reply from their worker; first: {:?}", ended.len(), ended.first());
    let count = |wanted: fn(&str) -> bool| -> u64 {
        counts.iter().filter(|((kind, _), _)| wanted(kind)).map(|(_, n)| *n as u64).sum()
    };
    assert_eq!(stats.killed_timeout, count(|k| k == "EvaluationTimeout"), "a timeout kill no job reported");
    assert_eq!(stats.discarded, count(discards_worker), "a worker was discarded that no job's outcome explains");
    assert_eq!(renderer.in_flight(), 0);
}

/// Prints the programs that cost a worker (other than by a timeout or an oversized reply) and writes them to a
/// directory, for replay with
/// `jaas render FILE` or `jaas eval FILE`.
fn report_broken(seed: u64, broken: &[(usize, String, String, String)]) {
    if broken.is_empty() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("jaas-worker-fuzz-{seed}"));
    std::fs::create_dir_all(&dir).unwrap();
    for (index, kind, code, message) in broken {
        let path = dir.join(format!("{index:04}.jsonnet"));
        std::fs::write(&path, code).unwrap();
        let message: String = message.chars().take(200).collect();
        println!("worker-fuzz: {kind}: {} -> {message}", path.display());
    }
}
