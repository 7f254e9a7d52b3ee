//! The printed table: one row per permission removed (and one per baseline) -> what the controller did without it
//! (how far the scenario got, the log lines, conditions and Events quoting the API server's denial) and how it
//! finished once the permission was back; then what the controller said about each: an Event's note, or a log line
//! where it could write no Event.

use std::collections::{BTreeMap, BTreeSet};

use crate::case::Outcome;
use crate::scenario::Stage;

const HEADER: [&str; 6] =
    ["permission removed", "without it", "log lines quoting the denial", "Ready condition", "Events", "after restore"];

/// `Key (a,b); Key (c)`.
fn listed(map: &BTreeMap<String, BTreeSet<String>>) -> String {
    map.iter()
        .map(|(key, names)| format!("{key} ({})", names.iter().cloned().collect::<Vec<_>>().join(",")))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The cells after the first of `outcome`'s rows.
fn cells(outcome: &Outcome) -> [String; 5] {
    let r = &outcome.reports;
    let took = format!("{:.0}s", outcome.took.as_secs_f64());
    let reached = match (outcome.reached, r.exits.first()) {
        (Stage::Done, _) if outcome.case.removed.len() > 1 => format!("all stages done, all removed at once ({took})"),
        (Stage::Done, _) => format!("all stages done ({took})"),
        (stage, Some(exit)) => format!("exited ({exit}) at {stage:?}"),
        (stage, None) => format!("held at {stage:?}"),
    };
    let log = r.log.iter().rev().map(|(level, count)| format!("{level} x{count}")).collect::<Vec<_>>().join(", ");
    let after = match (&outcome.failure, outcome.finished_after_restore) {
        (Some(failure), _) => format!("FAILED: {failure}"),
        (None, Some(took)) => {
            let restarts = if outcome.restarts > 0 { format!(", {} restart", outcome.restarts) } else { String::new() };
            format!("recovered: all stages done in {:.0}s{restarts}", took.as_secs_f64())
        }
        (None, None) => "-".to_owned(),
    };
    // The Ready condition; Reconciling repeats its message.
    let ready: BTreeMap<String, BTreeSet<String>> =
        r.conditions.iter().filter(|(key, _)| key.starts_with("Ready=")).map(|(k, v)| (k.clone(), v.clone())).collect();
    [reached, log, listed(&ready), listed(&r.events), after]
}

/// The table of `outcomes`, columns aligned.
pub fn table(outcomes: &[Outcome]) -> String {
    let mut rows: Vec<Vec<String>> = vec![HEADER.iter().map(|h| (*h).to_owned()).collect()];
    for outcome in outcomes {
        let cells = cells(outcome);
        if outcome.case.removed.is_empty() {
            let mode = if outcome.case.namespaced { "namespace-scoped" } else { "cluster-wide, the default" };
            rows.push([vec![format!("none: the chart's RBAC ({mode})")], cells.to_vec()].concat());
        }
        for permission in &outcome.case.removed {
            rows.push([vec![permission.to_string()], cells.to_vec()].concat());
        }
    }
    let widths: Vec<usize> =
        (0..HEADER.len()).map(|i| rows.iter().map(|row| row[i].chars().count()).max().unwrap_or(0)).collect();
    rows.iter()
        .map(|row| {
            let cells: Vec<String> = row.iter().zip(&widths).map(|(cell, width)| format!("{cell:<width$}")).collect();
            cells.join(" | ").trim_end().to_owned()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// One line per case that removed a permission: the first Event's note quoting the denial or, where no Event could
/// be written (the denied request was not a snippet's, or was the Event's own), the first log line quoting it.
pub fn denials(outcomes: &[Outcome]) -> String {
    outcomes
        .iter()
        .filter(|outcome| outcome.case.removed.len() == 1)
        .filter_map(|outcome| {
            let reports = &outcome.reports;
            let said = match (&reports.event_sample, &reports.sample) {
                (Some(note), _) => format!("Event: {note}"),
                (None, Some(line)) => format!("log only: {line}"),
                (None, None) => return None,
            };
            Some(format!("{}: {said}", outcome.case.removed[0]))
        })
        .collect::<Vec<_>>()
        .join("\n")
}
