//! One case: the chart's RBAC for a release of its own, maybe without one permission, a controller running with just
//! that, driven through the [`scenario`](crate::scenario) stages while what it reports about the missing permission
//! is collected (log lines, conditions and Events that quote the API server's denial); then the permission is given
//! back and the same controller (restarted only if it exited) must finish the scenario.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kube::Client;

use crate::cluster::TestNamespace;
use crate::cluster::source_server::SourceServer;
use crate::controller::{Launch, log_lines};
use crate::driver::{Driver, POLL};
use crate::rbac::{ChartRbac, Permission};
use crate::scenario::{Objects, Snapshot, Stage};

/// How long a stage may make no progress before the case stops waiting.
const STALL: Duration = Duration::from_secs(25);
/// How long the scenario may take to finish once the permission is back.
const RECOVERY: Duration = Duration::from_secs(75);
/// How long to keep collecting reports after the ones waited for (or the first, when none is named) arrived.
const GRACE: Duration = Duration::from_secs(2);

/// What the cases share: the admin client, one storage, the source-controller stand-in, the release namespace.
pub struct Shared {
    pub client: Client,
    pub storage: crate::cluster::TestStorage,
    pub server: SourceServer,
    pub release_namespace: String,
    pub run: String,
    pub dir: tempfile::TempDir,
}

/// A way the controller reports a missing permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Report {
    /// A log line quoting the denial.
    Log,
    /// A snippet condition quoting it.
    Condition,
    /// An Event quoting it.
    Event,
}

/// One case to run.
#[derive(Debug, Clone)]
pub struct Case {
    /// Names the release (`lp-<run>-<index>`) and the namespace.
    pub index: usize,
    /// The permissions taken away; none: exactly the chart's RBAC.
    pub removed: Vec<Permission>,
    /// The chart's namespace-scoped mode (`controller.watchNamespaces`) instead of its default.
    pub namespaced: bool,
    /// The reports to wait for while the permission is missing.
    pub wait_for: Vec<Report>,
    /// The least level of a log line quoting the denial to wait for (`TRACE`: any).
    pub log_level: &'static str,
}

/// What was seen of the missing permission while it was missing.
#[derive(Debug, Default)]
pub struct Reports {
    /// Log lines quoting the denial, by level.
    pub log: BTreeMap<String, usize>,
    /// `Type=Status Reason` of conditions quoting it -> the snippets.
    pub conditions: BTreeMap<String, BTreeSet<String>>,
    /// `Type Reason` of Events quoting it -> the objects they regard.
    pub events: BTreeMap<String, BTreeSet<String>>,
    /// Exits of the controller while it was missing.
    pub exits: Vec<String>,
    /// The first log line quoting it.
    pub sample: Option<String>,
    /// The note of the first Event quoting it.
    pub event_sample: Option<String>,
}

impl Reports {
    fn has(&self, report: Report) -> bool {
        match report {
            Report::Log => !self.log.is_empty(),
            Report::Condition => !self.conditions.is_empty(),
            Report::Event => !self.events.is_empty(),
        }
    }

    fn any(&self) -> bool {
        [Report::Log, Report::Condition, Report::Event].into_iter().any(|r| self.has(r)) || !self.exits.is_empty()
    }

    /// The most severe level of the log lines quoting it (`ERROR` > `WARN` > `INFO` > `DEBUG`).
    pub fn log_level(&self) -> Option<&str> {
        LEVELS.into_iter().rev().find(|level| self.log.contains_key(*level))
    }

    /// Whether a log line at `level` or above quotes it.
    pub fn logged_at_least(&self, level: &str) -> bool {
        self.log_level().and_then(severity) >= severity(level)
    }

    /// Collects from `snapshot` and the log at `log` everything that contains one of `needles`.
    fn collect(&mut self, needles: &[String], snapshot: &Snapshot, log: &std::path::Path) {
        let quotes = |text: &str| needles.iter().any(|needle| text.contains(needle.as_str()));
        let mut levels = BTreeMap::new();
        for line in log_lines(log).into_iter().filter(|l| quotes(&l.text)) {
            *levels.entry(line.level).or_insert(0) += 1;
            self.sample.get_or_insert_with(|| line.text.chars().take(400).collect());
        }
        self.log = levels;
        for (snippet, type_, status, reason, message) in snapshot.conditions() {
            if quotes(message) {
                let key = format!("{type_}={status} {reason}");
                self.conditions.entry(key).or_default().insert(snippet.to_owned());
            }
        }
        for event in &snapshot.events {
            if let Some(note) = event.note.as_deref().filter(|note| quotes(note)) {
                self.event_sample.get_or_insert_with(|| note.to_owned());
                let key =
                    format!("{} {}", event.type_.as_deref().unwrap_or("?"), event.reason.as_deref().unwrap_or("?"));
                let regarding = event.regarding.as_ref().and_then(|r| r.name.clone()).unwrap_or_default();
                self.events.entry(key).or_default().insert(regarding);
            }
        }
    }
}

/// Log levels, least severe first.
const LEVELS: [&str; 5] = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"];

fn severity(level: &str) -> Option<usize> {
    LEVELS.iter().position(|l| *l == level)
}

/// How a case went.
#[derive(Debug)]
pub struct Outcome {
    pub case: Case,
    /// What quoted the denial while the permission was missing (for a baseline: any denial at all).
    pub reports: Reports,
    /// How far the scenario got without the permission.
    pub reached: Stage,
    /// How long the scenario took to finish once the permission was back.
    pub finished_after_restore: Option<Duration>,
    /// Controller restarts the test made after the permission was back (it had exited).
    pub restarts: usize,
    /// Why the case failed, if it did (beyond what the expectations judge).
    pub failure: Option<String>,
    /// How long the case ran, from the controller's start.
    pub took: Duration,
}

/// Runs `case`.
pub async fn run(shared: Arc<Shared>, case: Case) -> Outcome {
    let client = shared.client.clone();
    let release = format!("lp-{}-{}", shared.run, case.index);
    let namespace = TestNamespace::create(&client, &format!("lp{}", case.index)).await;
    let watch: Vec<&str> = if case.namespaced { vec![namespace.name.as_str()] } else { Vec::new() };
    let rbac = ChartRbac::render(&release, &shared.release_namespace, &watch, &shared.run);
    rbac.apply(&client, &case.removed).await;
    let kubeconfig = rbac.kubeconfig(&client, shared.dir.path()).await;
    let objects = Objects {
        client: client.clone(),
        namespace: namespace.name.clone(),
        label: release.clone(),
        lease_namespace: shared.release_namespace.clone(),
        lease_name: rbac.lease_name(),
    };
    objects.create(&shared.server).await;
    let launch = Launch {
        kubeconfig,
        storage_flags: shared.storage.flags.clone(),
        source_controller_flag: shared.server.localhost_flag(),
        lease_namespace: shared.release_namespace.clone(),
        lease_name: rbac.lease_name(),
        watch_namespaces: case.namespaced.then(|| namespace.name.clone()),
        label_selector: format!("{}={release}", crate::CASE_LABEL),
        log: shared.dir.path().join(format!("{release}.log")),
    };
    let started = Instant::now();
    let mut driver = Driver::start(shared.clone(), objects, launch);
    let reports = without_the_permission(&mut driver, &case).await;
    let reached = driver.stage;
    let mut outcome = Outcome {
        case: case.clone(),
        reports,
        reached,
        finished_after_restore: None,
        restarts: 0,
        failure: None,
        took: Duration::ZERO,
    };
    if reached == Stage::Done {
        // Nothing to give back.
    } else if case.removed.is_empty() {
        outcome.failure = Some(format!("with exactly the chart's RBAC the scenario stuck at {reached:?}"));
    } else {
        rbac.apply(&client, &[]).await;
        let restored = Instant::now();
        outcome.restarts = driver.finish(RECOVERY).await;
        if driver.stage == Stage::Done {
            outcome.finished_after_restore = Some(restored.elapsed());
        } else {
            let holder = driver.objects.snapshot().await.and_then(|snapshot| snapshot.lease_holder);
            let state = driver.describe(holder.as_deref());
            outcome.failure = Some(format!("did not recover within {RECOVERY:?} of the restore: {state}"));
        }
    }
    outcome.took = started.elapsed();
    if outcome.failure.is_none() {
        namespace.delete().await;
    } else {
        eprintln!("case {release}: namespace {} and log {} kept", namespace.name, driver.launch.log.display());
    }
    outcome
}

/// Drives the scenario while the case's permissions are missing, collecting what quotes their denial, until the
/// scenario is done, the controller exited, the reports the case waits for came (with no reports to wait for: a
/// grace after the first one), or a stage stalls.
async fn without_the_permission(driver: &mut Driver, case: &Case) -> Reports {
    // A baseline looks for any denial at all.
    let needles: Vec<String> = if case.removed.is_empty() {
        vec![" is forbidden".to_owned()]
    } else {
        case.removed.iter().map(Permission::denial).collect()
    };
    let mut reports = Reports::default();
    let mut first_report: Option<Instant> = None;
    while driver.stage != Stage::Done && driver.progressed.elapsed() < STALL {
        if let Some(snapshot) = driver.step().await {
            reports.collect(&needles, &snapshot, &driver.launch.log);
        }
        if let Some(exit) = driver.exited_early() {
            // What it logged just before it exited may have come after this poll's look at the log.
            if let Some(snapshot) = driver.objects.snapshot().await {
                reports.collect(&needles, &snapshot, &driver.launch.log);
            }
            reports.exits.push(exit);
            break;
        }
        if reports.any() && !case.removed.is_empty() {
            let since = *first_report.get_or_insert_with(Instant::now);
            if case.wait_for.is_empty() && since.elapsed() >= GRACE {
                break;
            }
            let all = case.wait_for.iter().all(|r| reports.has(*r)) && reports.logged_at_least(case.log_level);
            if all && !case.wait_for.is_empty() {
                tokio::time::sleep(GRACE / 2).await;
                if let Some(snapshot) = driver.objects.snapshot().await {
                    reports.collect(&needles, &snapshot, &driver.launch.log);
                }
                break;
            }
        }
        tokio::time::sleep(POLL).await;
    }
    reports
}
