//! Crash consistency under kill -9 (issue 15, part 1), once on the local storage backend and once on S3: the real
//! `jaas` controller (leader election on) and `jaas-artifact-server` as host processes against a real API server;
//! [`snippets::COUNT`] snippets; [`READERS`] readers fetching every URL ever published, continuously, checking each
//! body against its digest; then `JAAS_FAULT_ROUNDS` rounds (default [`DEFAULT_ROUNDS`]) of edit, random wait,
//! SIGKILL of the controller and a new one started at once (see `kills.rs`). At the end: no bad read, every edit
//! published, every stored object a whole artifact that was published, no temp residue once the controller's sweep
//! ran, no evaluation worker of a killed controller left running, and deleting the snippets empties the store.
//! One summary line per backend (`SUMMARY ...`) goes to stderr, uncaptured, as the story test's lines do; on a
//! failure the work directory with every process's log is kept and named.
//! Needs `KUBECONFIG` (e2e/kube-start.sh) and, for S3, the variables of e2e/s3-start.sh; `e2e/reliability.sh` runs
//! it with 100 rounds. Env: `JAAS_FAULT_ROUNDS`, `JAAS_FAULT_SEED` (repeat a run's choices),
//! `JAAS_FAULT_LEASE_SECONDS` (see `lease.rs`), `JAAS_E2E_CONTROLLER_LOG` (the controller's `RUST_LOG`).

mod dice;
mod kills;
mod lease;
mod orphans;
mod readers;
mod snippets;
mod storage_audit;

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use jaas_e2e::cluster::{self, snippets as snippet_kind};
use jaas_e2e::stack::{Backend, Binaries, Stack};
use jaas_e2e::{processes, required_env};

use crate::dice::Dice;
use crate::kills::{Run, Tally};
use crate::readers::{ReadReport, Readers};
use crate::storage_audit::{Audit, Contents};

/// Rounds of a `cargo test` run; `JAAS_FAULT_ROUNDS` overrides it.
const DEFAULT_ROUNDS: u64 = 10;
/// Concurrent readers.
const READERS: usize = 4;
/// How long the evaluation workers of killed controllers may take to end, and the sweep to remove temp files.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(20);

/// One line on stderr, bypassing the test harness's capture.
pub(crate) fn say(backend: &Backend, line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "faults[{}]: {line}", backend.label());
}

/// What the end of the test found.
#[derive(Default)]
struct EndState {
    audit: Audit,
    unpublished: Vec<String>,
    left_after_delete: usize,
    orphaned_workers: Vec<u32>,
}

/// Creates the namespace, runs the test in it and removes it whatever happened.
async fn crash_consistency(backend: Backend) -> Result<()> {
    required_env("KUBECONFIG").context("start the API server with `eval \"$(bash e2e/kube-start.sh)\"`")?;
    let rounds = std::env::var("JAAS_FAULT_ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(DEFAULT_ROUNDS);
    let bins = Binaries { controller: processes::binary("jaas")?, server: processes::binary("jaas-artifact-server")? };
    let client = kube::Client::try_default().await.context("cannot build a client from KUBECONFIG")?;
    cluster::install_all_crds(&client, &bins.controller).await?;
    let namespace = cluster::create_test_namespace(&client, "faults", backend.label()).await?;
    let seed = Dice::seed_from_env();
    say(&backend, &format!("namespace {namespace}, {rounds} rounds, JAAS_FAULT_SEED={seed}"));
    let result = crash_consistency_in(&client, &namespace, &bins, &backend, rounds, seed).await;
    cluster::delete_namespace(&client, &namespace).await;
    if let Err(error) = &result {
        say(&backend, &format!("FAILED: {error:#}"));
    }
    result
}

async fn crash_consistency_in(
    client: &kube::Client,
    namespace: &str,
    bins: &Binaries,
    backend: &Backend,
    rounds: u64,
    seed: u64,
) -> Result<()> {
    let started = Instant::now();
    let work = tempfile::tempdir()?;
    let controller_args = [
        "--leader-election=true",
        "--leader-election-namespace",
        namespace,
        "--leader-election-id",
        lease::NAME,
        // Temp files of interrupted writes are swept once 3 s old, checked every second (defaults: 30m and 10m).
        "--storage-sweep-interval",
        "1s",
        "--storage-sweep-max-tmp-age",
        "3s",
    ];
    let mut stack = Stack::start(bins, backend, namespace, work.path(), &controller_args).await?;
    let readers = Readers::start(READERS, client, namespace)?;
    let scratch = work.path().join("expected");
    std::fs::create_dir_all(&scratch)?;
    let lease_seconds = lease::seconds_from_env();
    let run = Run { client, namespace, backend, jaas: &bins.controller, scratch, lease_seconds };
    let (mut tally, mut dice) = (Tally::default(), Dice::new(seed));

    let mut outcome = run.create_snippets(&mut stack, &readers, &mut tally).await;
    if outcome.is_ok() {
        say(backend, &format!("{} snippets published; {rounds} kills to go (lease {lease_seconds}s)", snippets::COUNT));
        outcome = run.rounds(rounds, &mut stack, &readers, &mut dice, &mut tally).await;
    }
    let reads = readers.stop().await;
    let (end, failure) = match outcome {
        Ok(()) => match end_state(client, namespace, backend, &stack, &tally, &reads).await {
            Ok(end) => (end, None),
            Err(error) => (EndState::default(), Some(error)),
        },
        Err(error) => (EndState::default(), Some(error)),
    };
    say(backend, &summary(backend, &tally, &reads, &end, started.elapsed()));
    let verdict = failure.map_or_else(|| verdict(&reads, &end), Err);
    drop(stack);
    if verdict.is_err() {
        say(backend, &format!("logs of every process kept in {}", work.keep().display()));
    }
    verdict
}

/// Every check of the end state.
fn verdict(reads: &ReadReport, end: &EndState) -> Result<()> {
    ensure!(reads.bad == 0, "{} bad reads, e.g. {:#?}", reads.bad, reads.examples);
    ensure!(end.audit.corrupt.is_empty(), "stored artifacts whose bytes do not match: {:?}", end.audit.corrupt);
    ensure!(end.audit.residue() == 0, "residue of interrupted writes: {:?}", end.audit);
    ensure!(end.audit.unrecorded.is_empty(), "stored artifacts without their record: {:?}", end.audit.unrecorded);
    ensure!(end.unpublished.is_empty(), "stored but never published: {:?}", end.unpublished);
    ensure!(end.left_after_delete == 0, "{} objects left after deleting every snippet", end.left_after_delete);
    ensure!(
        end.orphaned_workers.is_empty(),
        "evaluation workers outlived their killed controller: {:?}",
        end.orphaned_workers
    );
    Ok(())
}

/// After the last round: waits for the sweep, audits the store, checks the killed controllers' workers are gone,
/// then deletes every snippet and checks the store is empty.
async fn end_state(
    client: &kube::Client,
    namespace: &str,
    backend: &Backend,
    stack: &Stack,
    tally: &Tally,
    reads: &ReadReport,
) -> Result<EndState> {
    // The sweep removes local temp files, and retention the records a kill left without their tarball.
    let start = Instant::now();
    let audit = loop {
        let audit = Contents::read(backend, stack).await?.audit();
        if audit.residue() == 0 || start.elapsed() > SETTLE_TIMEOUT {
            break audit;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let unpublished = audit
        .artifacts
        .iter()
        .filter(|key| !reads.urls.contains_key(&format!("{}/{key}", stack.base_url)))
        .cloned()
        .collect();
    let orphaned_workers = orphans::survivors(&tally.killed_workers, SETTLE_TIMEOUT).await;

    for index in 0..snippets::COUNT {
        cluster::delete(client, &snippet_kind(), namespace, &snippets::name(index)).await?;
    }
    for index in 0..snippets::COUNT {
        let name = snippets::name(index);
        if let Err(error) = cluster::wait_gone(client, &snippet_kind(), namespace, &name, Duration::from_mins(1)).await
        {
            let metrics = kills::controller_metrics(&stack.controller_metrics).await;
            anyhow::bail!("{error:#}\n--- the controller's metrics:\n{metrics}\n{}", stack.logs());
        }
    }
    let left = Contents::read(backend, stack).await?.audit();
    let left_after_delete = left.artifacts.len() + left.records.len() + left.corrupt.len() + left.residue();
    Ok(EndState { audit, unpublished, left_after_delete, orphaned_workers })
}

/// The summary line: what was injected, what was read, what was lost or left behind.
fn summary(backend: &Backend, tally: &Tally, reads: &ReadReport, end: &EndState, took: Duration) -> String {
    let (mut takeovers, mut recoveries) = (tally.takeovers.clone(), tally.recoveries.clone());
    takeovers.sort();
    recoveries.sort();
    let seconds = |d: Option<&Duration>| d.map_or_else(|| "-".to_owned(), |d| format!("{:.1}s", d.as_secs_f64()));
    format!(
        "SUMMARY backend={} kills={} edits={} interrupted={} reads={} bad_reads={} lost_edits={} corrupt={} \
         stuck_reconciles={} residue={} records={} unrecorded={} temp_after_kills={} planted_temp={} unpublished={} left_after_delete={} \
         killed_workers={} orphaned_workers={} takeover_p50={} recovery_p50={} recovery_max={} urls={} time={:.1}s",
        backend.label(),
        tally.kills,
        tally.edits,
        tally.interrupted,
        reads.good + reads.bad,
        reads.bad,
        tally.edits - tally.published,
        end.audit.corrupt.len(),
        u8::from(tally.stuck_reconciles),
        end.audit.residue(),
        end.audit.records.len(),
        end.audit.unrecorded.len(),
        tally.temp_files_after_kills,
        tally.planted_temp_files,
        end.unpublished.len(),
        end.left_after_delete,
        tally.killed_workers.len(),
        end.orphaned_workers.len(),
        seconds(takeovers.get(takeovers.len() / 2)),
        seconds(recoveries.get(recoveries.len() / 2)),
        seconds(recoveries.last()),
        reads.urls.len(),
        took.as_secs_f64(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_on_local_storage() -> Result<()> {
    crash_consistency(Backend::Local).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_on_s3_storage() -> Result<()> {
    crash_consistency(Backend::s3_from_env()?).await
}
