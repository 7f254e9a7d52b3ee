//! Storage outage (issue 15, part 2): the real `jaas` controller and `jaas-artifact-server` as host processes
//! against a real API server and the real S3 server, both reaching S3 only through a proxy this test controls
//! (`s3_switch.rs`; the shared S3 server is never stopped). [`snippets::COUNT`] snippets are published, one
//! artifact is fetched once through the artifact server (so it is cached) and one never; then S3 goes down for
//! `JAAS_OUTAGE_SECONDS` (default [`DEFAULT_OUTAGE`]) and every snippet is edited. Within the outage each edit must
//! report Ready=False with the storage reason, the controller's storage attempts must stay within what its backoff
//! allows (`retry_budget.rs`), the cached artifact must be served (200, right sha256) and the uncached one answered
//! 503 with Retry-After (`artifact_reads.rs`). Once S3 is back every edit must be published, digest and bytes, within
//! the longest backoff delay the outage reached plus [`RECOVERY_MARGIN`]; then the snippets are deleted, so the
//! controller withdraws their objects from the shared bucket. Every HTTP call has a timeout and every wait a
//! bound. One `SUMMARY part=outage ...` line goes to stderr, uncaptured; on a failure the work directory with both
//! processes' logs is kept and named. Needs `KUBECONFIG` (e2e/kube-start.sh) and the variables of
//! e2e/s3-start.sh. Env: `JAAS_OUTAGE_SECONDS`, `JAAS_E2E_CONTROLLER_LOG` (the controller's `RUST_LOG`).

mod artifact_reads;
mod retry_budget;
mod s3_switch;
mod snippets;
mod storage_attempts;

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use jaas_e2e::cluster::{self, snippets as snippet_kind};
use jaas_e2e::stack::{Backend, Binaries, Stack};
use jaas_e2e::{flux, processes, required_env};

use crate::artifact_reads::ArtifactReads;
use crate::s3_switch::S3Switch;
use crate::snippets::Publication;
use crate::storage_attempts::{STORAGE_REASON, StorageCounters};

/// How long S3 stays down in a `cargo test` run; `JAAS_OUTAGE_SECONDS` overrides it.
const DEFAULT_OUTAGE: Duration = Duration::from_mins(1);
/// How long the snippets may take to be published before the outage.
const PUBLISH_TIMEOUT: Duration = Duration::from_mins(1);
/// Added to the longest backoff delay for the publication of every edit once S3 is back: the storage calls and
/// API writes of the attempt that succeeds.
const RECOVERY_MARGIN: Duration = Duration::from_secs(30);
/// How long the controller may take to withdraw a deleted snippet at the end.
const WITHDRAW_TIMEOUT: Duration = Duration::from_secs(30);
/// Pause between two rounds of reads and status checks.
const POLL: Duration = Duration::from_secs(1);

/// One line on stderr, bypassing the test harness's capture.
fn say(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "outage: {line}");
}

fn outage_from_env() -> Duration {
    let seconds = std::env::var("JAAS_OUTAGE_SECONDS").ok().and_then(|s| s.parse().ok());
    seconds.map_or(DEFAULT_OUTAGE, Duration::from_secs)
}

/// What the run saw.
#[derive(Default)]
struct Tally {
    edits: u64,
    /// Per snippet, the reason of its Ready=False during the outage and how long after its edit it appeared.
    not_ready: Vec<Option<(String, Duration)>>,
    /// The controller's storage failures during the outage.
    attempts: StorageCounters,
    /// Connections the proxy closed unanswered during the outage (both processes, SDK retries included).
    refused: u64,
    /// Connections the proxy forwarded to S3 over the whole run.
    forwarded: u64,
    /// Edits published after S3 came back, and the longest it took.
    published: u64,
    recovery: Duration,
    /// Edits not published within the bound, described.
    lost: Vec<String>,
}

/// Creates the namespace, runs the test in it and removes it whatever happened.
async fn storage_outage() -> Result<()> {
    required_env("KUBECONFIG").context("start the API server with `eval \"$(bash e2e/kube-start.sh)\"`")?;
    let outage = outage_from_env();
    let bins = Binaries { controller: processes::binary("jaas")?, server: processes::binary("jaas-artifact-server")? };
    let backend = Backend::s3_from_env()?;
    let client = kube::Client::try_default().await.context("cannot build a client from KUBECONFIG")?;
    cluster::install_all_crds(&client, &bins.controller).await?;
    let namespace = cluster::create_test_namespace(&client, "outage", "s3").await?;
    say(&format!("namespace {namespace}, S3 down for {}s (JAAS_OUTAGE_SECONDS)", outage.as_secs()));
    let result = outage_in(&client, &namespace, &bins, &backend, outage).await;
    cluster::delete_namespace(&client, &namespace).await;
    if let Err(error) = &result {
        say(&format!("FAILED: {error:#}"));
    }
    result
}

/// `backend` with its endpoint replaced by the switch's.
fn through(switch: &S3Switch, backend: &Backend) -> Result<Backend> {
    let Backend::S3 { bucket, region, access_key, secret_key, .. } = backend.clone() else {
        bail!("the outage test needs the S3 backend")
    };
    Ok(Backend::S3 { endpoint: switch.url(), bucket, region, access_key, secret_key })
}

async fn outage_in(
    client: &kube::Client,
    namespace: &str,
    bins: &Binaries,
    backend: &Backend,
    outage: Duration,
) -> Result<()> {
    let started = Instant::now();
    let work = tempfile::tempdir()?;
    let scratch = work.path().join("expected");
    std::fs::create_dir_all(&scratch)?;
    let Backend::S3 { endpoint, .. } = backend else { bail!("the outage test needs the S3 backend") };
    let switch = S3Switch::start(endpoint)?;
    let stack =
        Stack::start(bins, &through(&switch, backend)?, namespace, work.path(), &["--leader-election=false"]).await?;
    let run = Run { client, namespace, stack: &stack, switch: &switch, jaas: &bins.controller, scratch: &scratch };
    let mut tally = Tally { not_ready: vec![None; snippets::COUNT], ..Tally::default() };
    let mut reads = ArtifactReads::new()?;
    let outcome = run.outage(outage, &mut tally, &mut reads).await;
    tally.forwarded = switch.forwarded();
    let budget = attempt_budget(outage);
    say(&summary(outage, &tally, &reads, budget, started.elapsed()));
    let verdict = outcome.and_then(|()| verdict(&tally, &reads, budget));
    if let Err(error) = &verdict {
        let logs = stack.logs();
        drop(stack);
        say(&format!("logs of both processes kept in {}", work.keep().display()));
        bail!("{error:#}\n{logs}");
    }
    verdict
}

/// The most failed storage attempts the backoff allows during `outage`: each snippet is edited once, at the
/// start, so it runs one failure streak; one attempt more per snippet leaves room for a reconcile that was already
/// running when S3 went down. A controller retrying every second would make about `outage` seconds' worth each.
fn attempt_budget(outage: Duration) -> u64 {
    let per_snippet = u64::from(retry_budget::attempts_within(outage)) + 1;
    per_snippet * snippets::COUNT as u64
}

/// Every check of what the outage and the recovery showed.
fn verdict(tally: &Tally, reads: &ArtifactReads, budget: u64) -> Result<()> {
    for (index, seen) in tally.not_ready.iter().enumerate() {
        let name = snippets::name(index);
        let Some((reason, _)) = seen else { bail!("{name} never reported Ready=False during the outage") };
        ensure!(reason == STORAGE_REASON, "{name} reported Ready=False with {reason:?}, want {STORAGE_REASON:?}");
    }
    let attempts = tally.attempts.failed_reconciles;
    ensure!(
        attempts >= tally.edits,
        "{attempts} failed storage attempts for {} edits: the count is wrong",
        tally.edits
    );
    ensure!(attempts <= budget, "{attempts} storage attempts during the outage, the backoff allows {budget}");
    ensure!(reads.bad == 0, "{} bad reads, e.g. {:#?}", reads.bad, reads.examples);
    ensure!(reads.served_cached > 0 && reads.unavailable > 0, "the outage was too short for a read of each kind");
    ensure!(tally.lost.is_empty(), "edits not published once S3 came back:\n{}", tally.lost.join("\n"));
    Ok(())
}

/// What the phases of the run share.
struct Run<'a> {
    client: &'a kube::Client,
    namespace: &'a str,
    stack: &'a Stack,
    switch: &'a S3Switch,
    jaas: &'a Path,
    scratch: &'a Path,
}

impl Run<'_> {
    /// Publishes, takes S3 away, edits, watches, brings S3 back and waits for every edit.
    async fn outage(&self, outage: Duration, tally: &mut Tally, reads: &mut ArtifactReads) -> Result<()> {
        let first = self.publish_all(0, PUBLISH_TIMEOUT).await?;
        // Cached: fetched once through the server, as Flux would; the other one is never fetched before the outage.
        let (cached, uncached) = (&first[0], &first[1]);
        flux::fetch(&cached.url, &cached.digest).await.context("priming the artifact server's cache")?;
        let mut expected = Vec::new();
        for index in 0..snippets::COUNT {
            expected.push(snippets::expected_digest(self.jaas, &snippets::document(index, 1), self.scratch).await?);
        }
        say(&format!("{} snippets published, {} cached; S3 goes down now", snippets::COUNT, cached.url));

        let before = StorageCounters::scrape(&self.stack.controller_metrics).await?;
        let (refused_before, down_at) = (self.switch.refused(), Instant::now());
        self.switch.go_down();
        let mut edited_at = Vec::new();
        for index in 0..snippets::COUNT {
            cluster::apply(self.client, &snippet_kind(), self.namespace, snippets::document(index, 1)).await?;
            edited_at.push(Instant::now());
            tally.edits += 1;
        }
        while down_at.elapsed() < outage {
            reads.read_cached(&cached.url, &cached.digest).await;
            reads.read_uncached(&uncached.url).await;
            for (index, seen) in tally.not_ready.iter_mut().enumerate() {
                if seen.is_none()
                    && let Some(reason) = snippets::not_ready_reason(self.client, self.namespace, index).await?
                {
                    *seen = Some((reason, edited_at[index].elapsed()));
                }
            }
            tokio::time::sleep(POLL.min(outage.saturating_sub(down_at.elapsed()))).await;
        }
        let after = StorageCounters::scrape(&self.stack.controller_metrics).await?;
        tally.attempts = after.since(before);
        tally.refused = self.switch.refused() - refused_before;
        self.switch.come_back();
        let back_at = Instant::now();
        say(&format!(
            "S3 back after {:.1}s: {} failed storage attempts, {} connections refused; waiting for the edits",
            down_at.elapsed().as_secs_f64(),
            tally.attempts.failed_reconciles,
            tally.refused
        ));

        self.wait_recovered(&expected, retry_budget::longest_wait_after(outage) + RECOVERY_MARGIN, tally).await?;
        tally.recovery = back_at.elapsed();
        // The revision that was never fetched is served from S3 again.
        let http = reqwest::Client::builder().timeout(artifact_reads::REQUEST_TIMEOUT).build()?;
        jaas_e2e::published::served(&http, &uncached.url, &uncached.digest).await.context("after the outage")?;
        self.withdraw_all().await
    }

    /// Deletes every snippet and waits until the controller has withdrawn it, so that no object of this run stays
    /// in the shared bucket.
    async fn withdraw_all(&self) -> Result<()> {
        for index in 0..snippets::COUNT {
            cluster::delete(self.client, &snippet_kind(), self.namespace, &snippets::name(index)).await?;
        }
        for index in 0..snippets::COUNT {
            let name = snippets::name(index);
            cluster::wait_gone(self.client, &snippet_kind(), self.namespace, &name, WITHDRAW_TIMEOUT).await?;
        }
        Ok(())
    }

    /// Applies edit `edit` of every snippet and waits until each is published; returns the publications.
    async fn publish_all(&self, edit: u64, timeout: Duration) -> Result<Vec<Publication>> {
        let mut expected = Vec::new();
        for index in 0..snippets::COUNT {
            let document = snippets::document(index, edit);
            expected.push(snippets::expected_digest(self.jaas, &document, self.scratch).await?);
            cluster::apply(self.client, &snippet_kind(), self.namespace, document).await?;
        }
        let mut tally = Tally::default();
        let publications = self.wait_published(&expected, timeout, &mut tally).await?;
        ensure!(tally.lost.is_empty(), "not published before the outage:\n{}", tally.lost.join("\n"));
        Ok(publications)
    }

    /// Waits until every edit is published and its URL serves the published bytes (as Flux fetches them).
    async fn wait_recovered(&self, expected: &[String], bound: Duration, tally: &mut Tally) -> Result<()> {
        for publication in self.wait_published(expected, bound, tally).await? {
            flux::fetch(&publication.url, &publication.digest).await?;
            tally.published += 1;
        }
        Ok(())
    }

    /// Polls until snippet `i` is published at `expected[i]`, for every `i`, within `timeout`, without fetching
    /// anything (the artifact server must not cache what the test means to be uncached); what is not published in
    /// time goes to `tally.lost`.
    async fn wait_published(
        &self,
        expected: &[String],
        timeout: Duration,
        tally: &mut Tally,
    ) -> Result<Vec<Publication>> {
        let start = Instant::now();
        let mut found: Vec<Option<Publication>> = vec![None; expected.len()];
        while found.iter().any(Option::is_none) && start.elapsed() < timeout {
            for (index, slot) in found.iter_mut().enumerate() {
                if slot.is_none() {
                    let base = &self.stack.base_url;
                    *slot = jaas_e2e::published::published(
                        self.client,
                        self.namespace,
                        &snippets::name(index),
                        &expected[index],
                        base,
                    )
                    .await?;
                }
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        let mut publications = Vec::new();
        for (index, slot) in found.into_iter().enumerate() {
            if let Some(publication) = slot {
                publications.push(publication);
            } else {
                let what = jaas_e2e::published::describe(
                    self.client,
                    self.namespace,
                    &snippets::name(index),
                    &expected[index],
                )
                .await;
                tally.lost.push(format!("after {timeout:?}: {what}"));
            }
        }
        Ok(publications)
    }
}

/// The summary line: the fault, what the controller tried, what readers got, what was lost.
fn summary(outage: Duration, tally: &Tally, reads: &ArtifactReads, budget: u64, took: Duration) -> String {
    let reasons: Vec<&str> = tally.not_ready.iter().flatten().map(|(reason, _)| reason.as_str()).collect();
    let mut noticed: Vec<Duration> = tally.not_ready.iter().flatten().map(|(_, after)| *after).collect();
    noticed.sort();
    let mut distinct = reasons.clone();
    distinct.sort_unstable();
    distinct.dedup();
    let seconds = |d: Option<&Duration>| d.map_or_else(|| "-".to_owned(), |d| format!("{:.1}s", d.as_secs_f64()));
    let retry_after = reads.retry_after.map_or_else(|| "-".to_owned(), |(low, high)| format!("{low}-{high}s"));
    format!(
        "SUMMARY part=outage outages=1 outage_s={} edits={} attempts={} attempt_budget={} failed_storage_calls={} \
         s3_refused={} s3_forwarded={} reads={} cached_200={} uncached_503={} retry_after={} bad_reads={} slowest_read={} \
         not_ready={}/{} reason={} not_ready_max={} lost_edits={} recovery={} recovery_bound={} time={:.1}s",
        outage.as_secs(),
        tally.edits,
        tally.attempts.failed_reconciles,
        budget,
        tally.attempts.failed_calls,
        tally.refused,
        tally.forwarded,
        reads.served_cached + reads.unavailable + reads.bad,
        reads.served_cached,
        reads.unavailable,
        retry_after,
        reads.bad,
        seconds(Some(&reads.slowest)),
        reasons.len(),
        snippets::COUNT,
        if distinct.is_empty() { "-".to_owned() } else { distinct.join(",") },
        seconds(noticed.last()),
        tally.edits - tally.published.min(tally.edits),
        seconds(Some(&tally.recovery)),
        seconds(Some(&(retry_budget::longest_wait_after(outage) + RECOVERY_MARGIN))),
        took.as_secs_f64(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_outage_while_snippets_are_edited() -> Result<()> {
    storage_outage().await
}
