//! The rounds of the test. Each one edits a random snippet, waits a random 0–1500 ms (so the kill lands before,
//! during or after its render, write or status update), kills the controller with SIGKILL and starts a new one at
//! once; then waits until the new one holds the Lease and every edit is published (each snippet Ready at its latest
//! generation, its ExternalArtifact naming the digest `jaas render` gives its latest spec), and fetches every
//! published artifact as Flux does.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use jaas_e2e::cluster::{self, snippets as snippet_kind};
use jaas_e2e::flux;
use jaas_e2e::stack::{Backend, Stack};

use crate::dice::Dice;
use crate::readers::Readers;
use crate::snippets::{self, COUNT};
use crate::{lease, orphans, storage_audit};

/// The longest a restarted controller may take to take the Lease over and publish every edit: far above the ~45 s
/// seen on a 2-core machine loaded 5-fold, so that only an edit that is stuck fails the test.
const RECOVERY_TIMEOUT: Duration = Duration::from_mins(2);
/// How long reconciles may still run once every edit is published (re-renders of the unchanged snippets).
const SETTLE_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest wait before a kill.
const MAX_DELAY_MS: u64 = 1500;
/// A progress line every this many rounds.
const PROGRESS_EVERY: u64 = 10;

/// What the rounds need.
pub struct Run<'a> {
    /// The API server.
    pub client: &'a kube::Client,
    /// The test's namespace.
    pub namespace: &'a str,
    /// Where the artifacts are stored.
    pub backend: &'a Backend,
    /// The `jaas` binary, for `jaas render`.
    pub jaas: &'a Path,
    /// Scratch space for the rendered documents.
    pub scratch: PathBuf,
    /// The lease duration written after each kill.
    pub lease_seconds: i32,
}

/// What the rounds did and saw.
#[derive(Default)]
pub struct Tally {
    /// Controllers killed.
    pub kills: u64,
    /// Snippet edits applied.
    pub edits: u64,
    /// Edits confirmed published, with the digest `jaas render` gives them.
    pub published: u64,
    /// Kills that landed before the edit of their round was published.
    pub interrupted: u64,
    /// Local temp files present right after a kill (left by a write it interrupted), summed over the kills.
    pub temp_files_after_kills: usize,
    /// Local temp files the test left after a kill, as a write the kill interrupted would have (see
    /// [`leave_interrupted_write`]).
    pub planted_temp_files: usize,
    /// Time from a kill until the new controller held the Lease.
    pub takeovers: Vec<Duration>,
    /// Time from a kill until the new controller held the Lease and every edit was published.
    pub recoveries: Vec<Duration>,
    /// A controller kept reconciles in flight long after every edit was published.
    pub stuck_reconciles: bool,
    /// The evaluation workers of the killed controllers.
    pub killed_workers: Vec<u32>,
    /// The edit count of each snippet.
    pub edits_of: [u64; COUNT],
    /// The digest each snippet must publish now.
    pub expected: Vec<String>,
}

impl Run<'_> {
    /// Creates the snippets and waits until the first controller published them all.
    pub async fn create_snippets(&self, stack: &mut Stack, readers: &Readers, tally: &mut Tally) -> Result<()> {
        for index in 0..COUNT {
            let document = snippets::document(index, 0);
            tally.expected.push(snippets::expected_digest(self.jaas, &document, &self.scratch).await?);
            cluster::apply(self.client, &snippet_kind(), self.namespace, document).await?;
        }
        self.wait_published(stack, readers, tally).await
    }

    /// Runs `rounds` rounds; stops at the first round whose edit is not published in time.
    pub async fn rounds(
        &self,
        rounds: u64,
        stack: &mut Stack,
        readers: &Readers,
        dice: &mut Dice,
        tally: &mut Tally,
    ) -> Result<()> {
        let (_, mut transitions) = lease::holder(self.client, self.namespace).await?;
        for round in 1..=rounds {
            let index = usize::try_from(dice.below(COUNT as u64))?;
            tally.edits_of[index] += 1;
            let document = snippets::document(index, tally.edits_of[index]);
            cluster::apply(self.client, &snippet_kind(), self.namespace, document.clone()).await?;
            tally.edits += 1;
            tokio::time::sleep(Duration::from_millis(dice.below(MAX_DELAY_MS + 1))).await;

            let killed = self.kill_and_restart(stack, index, round, tally).await?;
            tally.expected[index] = snippets::expected_digest(self.jaas, &document, &self.scratch).await?;
            let pid = stack.controller.pid();
            lease::wait_held_by(self.client, self.namespace, pid, RECOVERY_TIMEOUT)
                .await
                .map_err(|e| anyhow::anyhow!("round {round}: {e:#}\n{}", stack.logs()))?;
            tally.takeovers.push(killed.elapsed());
            let (_, now_transitions) = lease::holder(self.client, self.namespace).await?;
            if now_transitions != transitions + 1 {
                bail!("round {round}: leaseTransitions went from {transitions} to {now_transitions}, want 1 take-over");
            }
            transitions = now_transitions;
            self.wait_published(stack, readers, tally).await.with_context(|| format!("round {round}"))?;
            tally.recoveries.push(killed.elapsed());
            tally.published += 1;
            if let Err(error) = wait_settled(stack).await {
                tally.stuck_reconciles = true;
                return Err(error.context(format!("round {round}")));
            }
            if round % PROGRESS_EVERY == 0 {
                let line = format!(
                    "round {round}/{rounds}: {} kills before their edit was published, {} reads, recovered in {:.1?}",
                    tally.interrupted,
                    readers.reads(),
                    killed.elapsed()
                );
                crate::say(self.backend, &line);
            }
        }
        Ok(())
    }

    /// Kills the controller with SIGKILL and starts a new one at once, noting what the kill interrupted and, on the
    /// local backend, leaving the residue of an interrupted write of snippet `index`; returns when the kill was.
    async fn kill_and_restart(
        &self,
        stack: &mut Stack,
        index: usize,
        round: u64,
        tally: &mut Tally,
    ) -> Result<Instant> {
        let killed_pid = stack.controller.pid();
        tally.killed_workers.extend(orphans::workers_of(killed_pid));
        stack.controller.kill_now()?;
        let killed = Instant::now();
        tally.kills += 1;
        let name = snippets::name(index);
        if let Backend::Local = self.backend {
            tally.temp_files_after_kills += storage_audit::local_temp_files(&stack.local_root)?;
            leave_interrupted_write(&stack.local_root.join(self.namespace).join(&name), killed_pid, round)?;
            tally.planted_temp_files += 1;
        }
        let snippet = cluster::get(self.client, &snippet_kind(), self.namespace, &name).await?;
        tally.interrupted += u64::from(!snippet.as_ref().is_some_and(snippets::is_current));
        lease::shorten(self.client, self.namespace, self.lease_seconds).await?;
        stack.restart_controller()?;
        Ok(killed)
    }

    /// Waits until every snippet publishes its expected digest, then fetches each artifact as Flux would.
    async fn wait_published(&self, stack: &mut Stack, readers: &Readers, tally: &Tally) -> Result<()> {
        let start = Instant::now();
        let mut pending: Vec<usize> = (0..COUNT).collect();
        let mut found = Vec::new();
        loop {
            stack.controller.ensure_running()?;
            let mut still = Vec::new();
            for index in pending {
                let expected = &tally.expected[index];
                match jaas_e2e::published::published(
                    self.client,
                    self.namespace,
                    &snippets::name(index),
                    expected,
                    &stack.base_url,
                )
                .await?
                {
                    Some(publication) => found.push(publication),
                    None => still.push(index),
                }
            }
            pending = still;
            if pending.is_empty() {
                break;
            }
            if start.elapsed() > RECOVERY_TIMEOUT {
                let mut states = Vec::new();
                for &index in &pending {
                    states.push(
                        jaas_e2e::published::describe(
                            self.client,
                            self.namespace,
                            &snippets::name(index),
                            &tally.expected[index],
                        )
                        .await,
                    );
                }
                let metrics = controller_metrics(&stack.controller_metrics).await;
                bail!(
                    "edits not published after {RECOVERY_TIMEOUT:?}:\n{}\n--- the controller's metrics:\n{metrics}\n{}",
                    states.join("\n"),
                    stack.logs()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        for publication in found {
            readers.add(&publication.url, &publication.digest);
            flux::fetch(&publication.url, &publication.digest).await?;
        }
        Ok(())
    }
}

/// Leaves in `snippet_dir` what a write interrupted by the kill of controller `pid` would: a partly written temp
/// file named as the local store names them. Kills rarely land inside a write of a few kilobytes, so without these
/// the sweep of such leftovers by the next controller would go untested.
fn leave_interrupted_write(snippet_dir: &Path, pid: u32, round: u64) -> Result<()> {
    std::fs::create_dir_all(snippet_dir)?;
    let name = format!("sha256-{}.{pid}-{round}.tar.gz.tmp", "0".repeat(64));
    std::fs::write(snippet_dir.join(name), [0x1f, 0x8b, 0x08, 0x00])?;
    Ok(())
}

/// Waits until the controller has no reconcile in flight. One that never ends holds its snippet for good (the
/// controller starts no second reconcile of an object while one runs): the snippet's next edit or its deletion
/// would never be handled, though everything looks published now.
async fn wait_settled(stack: &Stack) -> Result<()> {
    let start = Instant::now();
    loop {
        let metrics = controller_metrics(&stack.controller_metrics).await;
        let in_flight = metrics.lines().find_map(|l| l.strip_prefix("jaas_reconciles_in_flight "));
        if in_flight == Some("0") {
            return Ok(());
        }
        if start.elapsed() > SETTLE_TIMEOUT {
            bail!(
                "reconciles still in flight {SETTLE_TIMEOUT:?} after every edit was published (stuck?)\n--- the \
                 controller's metrics:\n{metrics}\n{}",
                stack.logs()
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The controller's own metrics (`jaas_*`, histogram buckets left out), for checks and for the message of a stuck
/// recovery.
pub async fn controller_metrics(base_url: &str) -> String {
    let url = format!("{base_url}/metrics");
    let text = match reqwest::get(&url).await {
        Ok(response) => response.text().await.unwrap_or_else(|e| format!("reading {url}: {e}")),
        Err(error) => return format!("GET {url}: {error}"),
    };
    text.lines().filter(|l| l.starts_with("jaas_") && !l.contains("_bucket{")).collect::<Vec<_>>().join("\n")
}
