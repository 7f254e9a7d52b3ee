//! API server outages mid-run (issue 15, part 3). On a control plane of its own (`own_apiserver.rs`: the shared
//! API server other tests use is never touched), two `jaas run` replicas with leader election on and an artifact
//! server on the local backend publish a few snippets; the snippets are edited every 0.5 s while the API server
//! goes away just after the leader renewed its Lease (the worst moment for the last check below) and comes back on
//! the same etcd: killed and restarted ([`Outage::Restart`]), or frozen and thawed ([`Outage::Freeze`]), one
//! test at a time (each starts a control plane). Then:
//! - every edit is eventually published: each snippet's newest generation is Ready with the digest `jaas render`
//!   gives it, and its URL serves those bytes;
//! - the Lease, read every 100 ms throughout, shows no two holders whose tenures overlap;
//! - no replica logged a write (a revision published or deleted) outside its own tenure;
//! - the leader, unable to renew, stopped leading before its Lease could be taken: the margins between its last
//!   `renewTime` + `leaseDurationSeconds` and its step-down line, and the last moment its `jaas_leader` gauge
//!   read 1, are printed and must be positive.
//!
//! One `SUMMARY part=apiserver_restart ...` line goes to stderr, uncaptured; on a failure (or with
//! `JAAS_E2E_KEEP_LOGS=1`) the work directory with every process's log is kept and named. Needs only the built
//! binaries and the API server binaries in the e2e cache (`e2e/kube-start.sh` builds them); about 90 s.

mod controller_logs;
mod edits;
mod lease_history;
mod outage;
mod own_apiserver;
mod ports;
mod replicas;

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use jaas_e2e::cluster::{self, snippets as snippet_kind};
use jaas_e2e::processes;
use jaas_e2e::rendered::expected_digest;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::Api;

use crate::controller_logs::Entry;
use crate::edits::{Editor, Tally};
use crate::lease_history::{History, Poller};
use crate::outage::Outage;
use crate::own_apiserver::OwnApiServer;
use crate::replicas::{LEASE_NAME, Replicas};

/// Edits before the restart.
const EDITS_BEFORE: Duration = Duration::from_secs(3);
/// Edits after the API server is back.
const EDITS_AFTER: Duration = Duration::from_secs(5);
/// How long the last edits may take to be published after the API server is back.
const PUBLISH_TIMEOUT: Duration = Duration::from_mins(1);

/// One line on stderr, bypassing the test harness's capture.
fn say(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "apiserver_restart: {line}");
}

/// What the run measured.
#[derive(Default)]
struct Findings {
    edits: Tally,
    lost_edits: usize,
    history: History,
    overlaps: usize,
    writes: usize,
    non_holder_writes: Vec<Entry>,
    outage: Duration,
    /// The leader's step-down line, before its Lease could be taken by this much (negative: after).
    stepdown_margin: Option<f64>,
    /// The last time the leader's gauge was seen 1, before its Lease could be taken by this much.
    gauge_margin: Option<f64>,
    /// From the kill of the API server until another holder acquired the Lease.
    takeover: Option<f64>,
    replica_restarts: usize,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apiserver_restart_mid_run() -> Result<()> {
    outage_mid_run(Outage::Restart).await
}

/// The leader's renewal hangs instead of failing (the API server is frozen, its connections stay open): the leader
/// must still stop writing before its Lease could be taken, at its renew deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apiserver_freeze_mid_run() -> Result<()> {
    outage_mid_run(Outage::Freeze).await
}

/// The tests take turns: each starts a control plane of its own, and two at once on a 2-core machine slow both.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn outage_mid_run(outage: Outage) -> Result<()> {
    let _turn = ONE_AT_A_TIME.lock().await;
    let started = Instant::now();
    let jaas = processes::binary("jaas")?;
    let server = processes::binary("jaas-artifact-server")?;
    let work = tempfile::tempdir()?;
    let apiserver = OwnApiServer::start(&work.path().join("kube"))?;
    say(&format!("own API server up after {:.1?}", started.elapsed()));
    let mut findings = Findings::default();
    let outcome = restart_run(outage, &apiserver, &jaas, &server, work.path(), &mut findings).await;
    drop(apiserver);
    say(&summary(outage, &findings, started.elapsed()));
    let verdict = outcome.and_then(|()| verdict(&findings));
    if let Err(error) = &verdict {
        say(&format!("FAILED: {error:#}"));
    }
    if verdict.is_err() || std::env::var_os("JAAS_E2E_KEEP_LOGS").is_some() {
        say(&format!("logs of every process kept in {}", work.keep().display()));
    }
    verdict
}

/// Publishes the snippets, then edits them across the outage, and gathers what the Lease, the replicas' gauges and
/// their logs say into `findings`.
async fn restart_run(
    outage: Outage,
    apiserver: &OwnApiServer,
    jaas: &Path,
    server: &Path,
    work: &Path,
    findings: &mut Findings,
) -> Result<()> {
    let client = apiserver.client().await?;
    cluster::install_all_crds(&client, jaas).await?;
    let namespace = cluster::create_test_namespace(&client, "apiserver-restart", "local").await?;
    let scratch = work.join("expected");
    std::fs::create_dir_all(&scratch)?;
    let mut replicas = Replicas::start(jaas, server, &apiserver.kubeconfig, &namespace, work).await?;

    let mut expected = Vec::new();
    for index in 0..edits::COUNT {
        let document = edits::document(index, 0);
        expected.push(expected_digest(jaas, &document, &scratch).await?);
        cluster::apply(&client, &snippet_kind(), &namespace, document).await?;
    }
    let unpublished =
        edits::wait_published(&client, &namespace, replicas.base_url(), &expected, PUBLISH_TIMEOUT).await?;
    ensure!(unpublished.is_empty(), "snippets {unpublished:?} never published\n{}", replicas.logs());

    let lease: Api<Lease> = Api::namespaced(client.clone(), &namespace);
    let poller = Poller::start(&client, &namespace, LEASE_NAME);
    let editor = Editor::start(&client, &namespace, Tally::default());
    tokio::time::sleep(EDITS_BEFORE).await;

    let (leader, renewed) = just_renewed(&lease).await?;
    let leader_metrics = replicas
        .by_identity(&leader)
        .map(|r| r.metrics_url.clone())
        .with_context(|| format!("the holder {leader} is none of the replicas"))?;
    let restart_args = match outage {
        Outage::Restart => Some(apiserver.kill_apiserver().await?),
        Outage::Freeze => apiserver.signal_apiserver("STOP").map(|()| None)?,
    };
    let (down, down_at) = (Instant::now(), Timestamp::now());
    say(&format!("{} just after {leader} renewed, for {:?}", outage.label(), outage.lasts()));
    let mut gauge_last_one = None;
    while down.elapsed() < outage.lasts() {
        if replicas::leader_gauge(&leader_metrics).await == Some(true) {
            gauge_last_one = Some(Timestamp::now());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    match restart_args {
        Some(args) => {
            let ready_after = apiserver.start_apiserver(&args).await?;
            say(&format!("API server ready {ready_after:.1?} after its start, {:.1?} after the kill", down.elapsed()));
        }
        None => apiserver.signal_apiserver("CONT")?,
    }
    findings.outage = down.elapsed();

    let back = Instant::now();
    while back.elapsed() < EDITS_AFTER {
        for name in replicas.restart_exited()? {
            say(&format!("{name} had exited: started again"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    findings.edits = editor.finish().await?;
    let mut expected = Vec::new();
    for (index, &edit) in findings.edits.last_edit.iter().enumerate() {
        expected.push(expected_digest(jaas, &edits::document(index, edit), &scratch).await?);
    }
    let unpublished =
        edits::wait_published(&client, &namespace, replicas.base_url(), &expected, PUBLISH_TIMEOUT).await?;
    findings.lost_edits = unpublished.len();
    // A last look at the Lease after everything was published, then the history.
    tokio::time::sleep(Duration::from_secs(1)).await;
    findings.history = poller.finish().await;
    findings.replica_restarts = replicas.restarts;

    let mut entries = Vec::new();
    for replica in &replicas.controllers {
        entries.extend(controller_logs::read(&replicas.log_path(&replica.name))?);
    }
    analyse(findings, &entries, &leader, (down_at, renewed), gauge_last_one);
    if findings.lost_edits > 0 {
        bail!("snippets {unpublished:?} did not publish their last edit\n{}", replicas.logs());
    }
    Ok(())
}

/// Waits (at most 5 s) until the Lease's `renewTime` changes; returns its holder and when its Lease could be taken
/// (that renewal plus the lease duration). The outage starts right after a renewal, so the leader's last one is
/// known and as late as it can be.
async fn just_renewed(lease: &Api<Lease>) -> Result<(String, Timestamp)> {
    let record = |l: Lease| {
        let spec = l.spec.unwrap_or_default();
        let lasts = SignedDuration::from_secs(spec.lease_duration_seconds.map_or(0, i64::from));
        (spec.holder_identity.unwrap_or_default(), spec.renew_time.map(|t| t.0 + lasts))
    };
    let first = lease.get(LEASE_NAME).await.map(record)?;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(5) {
        if let (holder, Some(expires)) = lease.get(LEASE_NAME).await.map(record)?
            && Some(expires) != first.1
        {
            return Ok((holder, expires));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    bail!("the Lease {LEASE_NAME} was not renewed within 5 s: {first:?}")
}

/// Reads the Lease history and the logs into the findings; `down` is when the outage began and when the leader's
/// Lease could be taken from then on.
fn analyse(
    findings: &mut Findings,
    entries: &[Entry],
    leader: &str,
    down: (Timestamp, Timestamp),
    gauge: Option<Timestamp>,
) {
    let (down_at, expires) = down;
    let tenures = findings.history.tenures();
    findings.overlaps = findings.history.overlaps().len();
    findings.writes = entries.iter().filter(|e| matches!(e.what, controller_logs::Happening::Wrote(_))).count();
    findings.non_holder_writes = controller_logs::writes_by_non_holder(entries, &tenures);
    let seconds = |later: Timestamp, earlier: Timestamp| later.duration_since(earlier).as_secs_f64();
    let stepdown = controller_logs::stopped_leading(entries, leader, down_at);
    findings.stepdown_margin = stepdown.map(|at| seconds(expires, at));
    findings.gauge_margin = gauge.map(|at| seconds(expires, at));
    let successor = tenures.iter().find(|t| t.acquired > down_at);
    findings.takeover = successor.map(|t| seconds(t.acquired, down_at));
}

fn verdict(findings: &Findings) -> Result<()> {
    ensure!(findings.lost_edits == 0, "{} snippets did not publish their last edit", findings.lost_edits);
    ensure!(findings.overlaps == 0, "overlapping Lease tenures: {:#?}", findings.history.overlaps());
    ensure!(
        findings.non_holder_writes.is_empty(),
        "writes outside the writer's tenure: {:#?}",
        findings.non_holder_writes
    );
    if let Some(margin) = findings.gauge_margin.filter(|&m| m <= 0.0) {
        bail!("the leader still reported jaas_leader 1 {:.2}s after its Lease could be taken", -margin);
    }
    let margin = findings.stepdown_margin.context("the leader never logged that it stopped leading")?;
    ensure!(margin > 0.0, "the leader stopped reconciling {:.2}s after its Lease could be taken", -margin);
    ensure!(findings.takeover.is_some(), "no replica took the Lease over after the outage");
    ensure!(findings.writes > 0, "no write was logged: the log audit saw nothing");
    Ok(())
}

fn summary(outage: Outage, findings: &Findings, took: Duration) -> String {
    let seconds = |s: Option<f64>| s.map_or_else(|| "-".to_owned(), |s| format!("{s:.2}"));
    format!(
        "SUMMARY part={} {}=1 edits={} lost_edits={} overlaps={} stepdown_margin_s={} \
         gauge_margin_s={} non_holder_writes={} writes={} refused_edits={} outage_s={:.1} takeover_s={} \
         lease_reads={} failed_lease_reads={} lease_blind_s={:.1} tenures={} transitions={} replica_restarts={} time={:.1}s",
        outage.label(),
        outage.fault(),
        findings.edits.accepted,
        findings.lost_edits,
        findings.overlaps,
        seconds(findings.stepdown_margin),
        seconds(findings.gauge_margin),
        findings.non_holder_writes.len(),
        findings.writes,
        findings.edits.refused,
        findings.outage.as_secs_f64(),
        seconds(findings.takeover),
        findings.history.samples.len(),
        findings.history.failed_reads,
        findings.history.longest_blind_spot().as_secs_f64(),
        findings.history.tenures().len(),
        findings.history.transitions(),
        findings.replica_restarts,
        took.as_secs_f64(),
    )
}
