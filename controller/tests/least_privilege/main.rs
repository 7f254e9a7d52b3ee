//! Least privilege (issue 15 part 8), against a real kube-apiserver (`KUBECONFIG`, required) with RBAC on: the
//! controller runs as the chart's ServiceAccount, with a TokenRequest token bound to exactly the chart's roles
//! (rendered by `helm template`, `JAAS_HELM`, required), in the chart's default cluster-wide mode and in its
//! namespace-scoped mode, and publishes. Then every permission the chart grants (each verb on each resource) that
//! the controller uses is taken away in turn: the controller must say which one is missing (a log line always, a
//! condition and an Event where it can: [`NEEDED`]) and finish the scenario once it is given back. The chart grants
//! nothing it does not use: every permission it grants must be in [`NEEDED`], and none in [`NOT_GRANTED`] (those
//! left out on purpose, each with what the controller does instead). Prints a table: permission removed -> what the
//! controller did.
//! `JAAS_LEAST_PRIVILEGE_ONLY=<text>` runs only the cases whose permissions contain the text;
//! `JAAS_LEAST_PRIVILEGE_RUST_LOG` sets the controllers' `RUST_LOG`.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

#[path = "../cluster/mod.rs"]
mod cluster;

mod case;
mod controller;
mod driver;
mod rbac;
mod report;
mod scenario;

use std::io::Write as _;
use std::sync::Arc;
use std::time::Instant;

use case::{Case, Outcome, Report, Shared};
use cluster::source_server::SourceServer;
use cluster::{TestNamespace, TestStorage, client, install_crds, install_flux_source_crds};
use rbac::{ChartRbac, Permission};

/// The label a case's snippets carry (value: the release), which its controller's `--label-selector` selects.
pub const CASE_LABEL: &str = "jaas.metio.wtf/least-privilege-case";

/// Cases run at once (each is one `jaas run` and its evaluation worker).
const CONCURRENCY: usize = 8;

const JAAS: &str = "jaas.metio.wtf";
const FLUX: &str = "source.toolkit.fluxcd.io";
const EVENTS: &str = "events.k8s.io";
const LEASES: &str = "coordination.k8s.io";

/// (group, resource, verbs, least log level, other reports): see [`NEEDED`].
type Needed = (&'static str, &'static str, &'static [&'static str], &'static str, &'static [Report]);

/// The permissions the controller uses: (group, resource, verbs, the least log level that must quote the API
/// server's denial, the other reports it must give). A watch the API server denies is an ERROR (once per backoff
/// cycle); a failed reconcile a WARN plus the snippet's condition and a Warning Event, unless the denied request is
/// the one that writes them.
const NEEDED: &[Needed] = &[
    (JAAS, "jsonnetsnippets", &["get", "patch"], "WARN", &[Report::Condition, Report::Event]),
    (JAAS, "jsonnetsnippets", &["list", "watch"], "ERROR", &[]),
    (JAAS, "jsonnetlibraries", &["list"], "ERROR", &[Report::Condition, Report::Event]),
    (JAAS, "jsonnetlibraries", &["watch"], "ERROR", &[]),
    (JAAS, "jsonnetsnippets/status", &["patch"], "WARN", &[Report::Event]),
    (FLUX, "externalartifacts", &["get", "create", "patch", "delete"], "WARN", &[Report::Condition, Report::Event]),
    (FLUX, "externalartifacts", &["list"], "ERROR", &[Report::Condition, Report::Event]),
    (FLUX, "externalartifacts", &["watch"], "ERROR", &[]),
    (FLUX, "externalartifacts/status", &["patch"], "WARN", &[Report::Condition, Report::Event]),
    (FLUX, "gitrepositories", &["get"], "WARN", &[Report::Condition, Report::Event]),
    (FLUX, "ocirepositories", &["get"], "WARN", &[Report::Condition, Report::Event]),
    (FLUX, "buckets", &["get"], "WARN", &[Report::Condition, Report::Event]),
    (FLUX, "gitrepositories", &["list", "watch"], "ERROR", &[]),
    (FLUX, "ocirepositories", &["list", "watch"], "ERROR", &[]),
    (FLUX, "buckets", &["list", "watch"], "ERROR", &[]),
    (EVENTS, "events", &["create", "patch"], "WARN", &[]),
    (LEASES, "leases", &["get", "create"], "ERROR", &[]),
    // A renewal that fails is retried (WARN) until the renew deadline, then the leader stops with an ERROR.
    (LEASES, "leases", &["update"], "WARN", &[]),
];

/// Permissions the chart leaves out on purpose, though a controller like ours might be expected to have them:
/// (group, resource, verbs, what it does instead). The chart granting one of them is a failure.
const NOT_GRANTED: &[(&str, &str, &[&str], &str)] = &[
    (JAAS, "jsonnetsnippets", &["update"], "finalizers are added and removed by merge patch, status by apply (patch)"),
    (JAAS, "jsonnetlibraries", &["get"], "libraries are read from the watch's cache (list, watch)"),
    (JAAS, "jsonnetlibraries", &["patch", "update"], "a library is never written"),
    (JAAS, "jsonnetsnippets/status", &["get", "update"], "status is written by server-side apply (patch)"),
    (JAAS, "jsonnetlibraries/status", &["get", "patch", "update"], "a library's status is never written"),
    (
        JAAS,
        "jsonnetsnippets/finalizers",
        &["update"],
        "needed only to set blockOwnerDeletion on an owner reference (OwnerReferencesPermissionEnforcement); the \
         ExternalArtifact's owner reference does not set it",
    ),
    (JAAS, "jsonnetlibraries/finalizers", &["update"], "nothing names a library as its owner"),
    (FLUX, "externalartifacts", &["update"], "ExternalArtifacts are written by server-side apply (patch, create)"),
    (FLUX, "externalartifacts/status", &["get", "update"], "status is written by server-side apply (patch)"),
    ("", "events", &["create", "patch"], "kube-runtime's Recorder writes events.k8s.io/v1 Events only"),
    (LEASES, "leases", &["list", "watch", "patch", "delete"], "leader election gets, creates and updates one Lease"),
];

fn lookup<'a, T>(table: &'a [(&str, &str, &[&str], T)], permission: &Permission) -> Option<&'a T> {
    table
        .iter()
        .find(|(g, r, verbs, _)| {
            *g == permission.group && *r == permission.resource && verbs.contains(&permission.verb.as_str())
        })
        .map(|(_, _, _, value)| value)
}

/// The least log level and the reports a needed permission's absence must produce.
fn expected(permission: &Permission) -> Option<(&'static str, &'static [Report])> {
    NEEDED
        .iter()
        .find(|(g, r, verbs, _, _)| {
            *g == permission.group && *r == permission.resource && verbs.contains(&permission.verb.as_str())
        })
        .map(|(_, _, _, level, reports)| (*level, *reports))
}

/// What the controller does instead of using a permission the chart leaves out.
fn not_granted_because(permission: &Permission) -> Option<&'static str> {
    lookup(NOT_GRANTED, permission).copied()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_controller_needs_exactly_the_charts_rbac_and_says_which_permission_is_missing() {
    let started = Instant::now();
    let client = client().await;
    install_crds(&client).await;
    install_flux_source_crds(&client).await;
    let release_namespace = TestNamespace::create(&client, "lp-system").await;
    let run = release_namespace.name.rsplit('-').next().unwrap().to_owned();
    let storage = TestStorage::new(&release_namespace.name, false).await;
    let server = SourceServer::start(storage.store.clone()).await;
    let shared = Arc::new(Shared {
        client: client.clone(),
        storage,
        server,
        release_namespace: release_namespace.name.clone(),
        run: run.clone(),
        dir: tempfile::tempdir().unwrap(),
    });
    let permissions = ChartRbac::render("probe", "probe", &[], &run).permissions();
    let mut unclassified: Vec<String> = permissions
        .iter()
        .filter(|p| expected(p).is_none())
        .map(|p| format!("{p}: a permission of the chart not in NEEDED"))
        .collect();
    unclassified.extend(
        permissions
            .iter()
            .filter_map(|p| not_granted_because(p).map(|why| format!("{p}: granted, though NOT_GRANTED says {why}"))),
    );
    let cases = cases(&permissions);

    let limit = Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
    let tasks: Vec<_> = cases
        .into_iter()
        .map(|case| {
            let (shared, limit) = (shared.clone(), limit.clone());
            tokio::spawn(async move {
                let _slot = limit.acquire().await.unwrap();
                case::run(shared, case).await
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.expect("a case panicked"));
    }
    println!("{}", report::table(&outcomes));
    println!("\nWhat the controller said about each missing permission:\n{}", report::denials(&outcomes));
    println!("{} cases, {} permissions, in {:.0?}", outcomes.len(), permissions.len(), started.elapsed());
    // For e2e/reliability.sh's totals; stderr itself, past the test harness's capture.
    let _ =
        writeln!(std::io::stderr().lock(), "SUMMARY part=least_privilege permissions_removed={}", permissions.len());

    let mut problems: Vec<String> = outcomes.iter().filter_map(judge).collect();
    problems.extend(unclassified);
    rbac::delete_cluster_objects(&client, &run).await;
    if problems.is_empty() {
        release_namespace.delete().await;
    } else {
        eprintln!("logs kept in {}", shared.dir.path().display());
        let _kept = Arc::try_unwrap(shared).ok().map(|s| s.dir.keep());
    }
    assert!(problems.is_empty(), "least privilege:\n{}", problems.join("\n"));
}

/// The cases: exactly the chart's RBAC in both modes, then every permission of it removed alone.
/// Permission cases are namespace-scoped, so that a case lists only its own namespace (a cluster-wide list on a
/// shared test API server reads every other test's objects too); the controller's code paths are the same.
fn cases(permissions: &[Permission]) -> Vec<Case> {
    let case = |index, removed: Vec<Permission>, namespaced, wait_for: Vec<Report>, log_level| Case {
        index,
        removed,
        namespaced,
        wait_for,
        log_level,
    };
    let mut cases =
        vec![case(0, Vec::new(), false, Vec::new(), "TRACE"), case(1, Vec::new(), true, Vec::new(), "TRACE")];
    for permission in permissions {
        let (level, reports) = expected(permission).unwrap_or(("TRACE", &[]));
        let wait_for = [&[Report::Log][..], reports].concat();
        cases.push(case(cases.len(), vec![permission.clone()], true, wait_for, level));
    }
    if let Ok(only) = std::env::var("JAAS_LEAST_PRIVILEGE_ONLY") {
        cases.retain(|c| c.removed.iter().any(|p| p.to_string().contains(&only)));
    }
    cases
}

/// What is wrong with an outcome, if anything.
fn judge(outcome: &Outcome) -> Option<String> {
    let reports = &outcome.reports;
    let quoted = reports.log_level().is_some() || !reports.conditions.is_empty() || !reports.events.is_empty();
    let removed = &outcome.case.removed;
    let Some(first) = removed.first() else {
        let mode = if outcome.case.namespaced { "namespace-scoped" } else { "cluster-wide" };
        return match &outcome.failure {
            Some(failure) => Some(format!("exactly the chart's RBAC ({mode}): {failure}")),
            None if quoted => Some(format!("exactly the chart's RBAC ({mode}): a request was denied: {reports:?}")),
            None => None,
        };
    };
    if let Some(failure) = &outcome.failure {
        return Some(format!("without {}: {failure}; saw {reports:?}", names(removed)));
    }
    let (level, wanted) = expected(first)?;
    let mut missing: Vec<String> = wanted
        .iter()
        .filter(|report| match report {
            Report::Log => reports.log.is_empty(),
            Report::Condition => reports.conditions.is_empty(),
            Report::Event => reports.events.is_empty(),
        })
        .map(|report| format!("{report:?}"))
        .collect();
    if !reports.logged_at_least(level) {
        missing.push(format!("a log line at {level} or above"));
    }
    (!missing.is_empty())
        .then(|| format!("without {first}: no {} quoting the denial; saw {reports:?}", missing.join(", ")))
}

fn names(permissions: &[Permission]) -> String {
    permissions.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}
