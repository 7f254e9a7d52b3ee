//! Status conditions, built in one place: the `Condition` type shared by our CRDs and Flux's `ExternalArtifact`,
//! the condition types, every reason we write (in conditions, Events and the `jaas_reconciles_total` metric), the
//! conditions each state of a snippet carries, and the merge rule that keeps `lastTransitionTime` stable.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `Ready`: the latest spec is rendered and published (True), or why not (False).
pub const READY: &str = "Ready";
/// `Reconciling`: a failed reconcile is being retried.
pub const RECONCILING: &str = "Reconciling";
/// `Stalled`: retrying cannot help until the spec changes (an invalid spec).
pub const STALLED: &str = "Stalled";

/// Reason for a Ready=True condition after a successful publish.
pub const REASON_SUCCEEDED: &str = "Succeeded";
/// Reason for a reconcile that rendered nothing, because the inputs did not change (or a retry is not due yet).
pub const REASON_UNCHANGED: &str = "Unchanged";
/// Reason for Ready=False while `spec.suspend` is true.
pub const REASON_SUSPENDED: &str = "Suspended";
/// Reason for Reconciling=True after a failure that a retry may fix.
pub const REASON_RETRYING: &str = "RetryingAfterFailure";
/// Reason for a spec the schema accepts but the controller cannot use (e.g. `spec.interval` out of range).
pub const REASON_INVALID_SPEC: &str = "InvalidSpec";
/// Reason used when the storage backend failed (not the snippet's fault).
pub const REASON_STORAGE_FAILED: &str = "StorageOperationFailed";
/// Reason used when writing the ExternalArtifact failed.
pub const REASON_PUBLISH_FAILED: &str = "PublishFailed";
/// Reason for a `spec.sourceRef` (or a library's) naming a source object that does not exist, a kind the cluster
/// does not serve (Flux not installed), or a `path` the source's tree does not have.
pub const REASON_SOURCE_NOT_FOUND: &str = "SourceNotFound";
/// Reason for a source that exists but has no artifact yet.
pub const REASON_SOURCE_NOT_READY: &str = "SourceNotReady";
/// Reason for a source artifact that cannot be downloaded, verified or extracted (the message says which).
pub const REASON_SOURCE_FETCH_FAILED: &str = "SourceFetchFailed";
/// Reason for a source in another namespace while `--no-cross-namespace-refs` is on.
pub const REASON_CROSS_NAMESPACE_REF_REJECTED: &str = "CrossNamespaceRefRejected";
/// Reason for snippets that source each other's ExternalArtifacts in a circle.
pub const REASON_DEPENDENCY_CYCLE: &str = "DependencyCycle";
/// Reason for a request the API server denied: the controller's ServiceAccount lacks a permission (the message
/// quotes the API server, which names the verb and the resource).
pub const REASON_FORBIDDEN: &str = "Forbidden";
/// Reason for a failure of the controller itself (configuration, start-up, a lost lease).
pub const REASON_INTERNAL: &str = "Internal";
/// Reason of the Normal Event announcing a newly published revision.
pub const REASON_ARTIFACT_PUBLISHED: &str = "ArtifactPublished";
/// Reason for a deleted snippet whose artifacts were withdrawn.
pub const REASON_DELETED: &str = "Deleted";
/// Reason for a deleted snippet released after `--max-withdraw-wait` with artifacts left in storage.
pub const REASON_WITHDRAW_TIMED_OUT: &str = "WithdrawTimedOut";
/// Reason of the Warning Event for a render put off by `--rerender-rate`/`--rerender-burst`.
pub const REASON_RERENDER_THROTTLED: &str = "RerenderThrottled";

/// A Kubernetes `metav1.Condition`, with the OpenAPI constraints the API server enforces on it upstream.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// The condition type in CamelCase, e.g. `Ready`.
    #[schemars(length(max = 316))]
    #[schemars(regex(
        pattern = r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$"
    ))]
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: ConditionStatus,
    /// The generation the condition was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub observed_generation: Option<i64>,
    /// When `status` last changed.
    pub last_transition_time: Time,
    /// A CamelCase machine-readable reason.
    #[schemars(length(min = 1, max = 1024), regex(pattern = r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"))]
    pub reason: String,
    /// A human-readable message; may be empty.
    #[schemars(length(max = 32768))]
    pub message: String,
}

/// The status of a condition.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum ConditionStatus {
    /// The condition holds.
    True,
    /// The condition does not hold.
    False,
    /// It is not known (yet).
    Unknown,
}

/// The longest message we write: the API server rejects longer ones.
const MAX_MESSAGE_LEN: usize = 32768;

impl Condition {
    /// A condition observed now for `generation`; the message is clipped to what the API server accepts.
    pub fn new(type_: &str, status: ConditionStatus, reason: &str, message: &str, generation: Option<i64>) -> Self {
        Self {
            type_: type_.to_owned(),
            status,
            observed_generation: generation,
            last_transition_time: Time(Timestamp::now()),
            reason: reason.to_owned(),
            message: clip(message, MAX_MESSAGE_LEN),
        }
    }
}

/// Cuts `text` to at most `max` bytes on a character boundary, ending a cut text with `...` so that readers see
/// it was cut. Condition messages and Event notes both have a length limit on the API server.
pub fn clip(text: &str, max: usize) -> String {
    const MARK: &str = "...";
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max.saturating_sub(MARK.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{MARK}", &text[..end])
}

/// Conditions to set on an object, and condition types to drop from it.
#[derive(Debug, Clone, PartialEq)]
pub struct ConditionUpdate {
    /// The conditions to set, replacing those of the same type.
    pub set: Vec<Condition>,
    /// The condition types that no longer hold.
    pub remove: &'static [&'static str],
}

/// A snippet that published a revision (`message` names it): Ready=True; nothing is retried or stalled.
pub fn published(message: &str, generation: Option<i64>) -> ConditionUpdate {
    let ready = Condition::new(READY, ConditionStatus::True, REASON_SUCCEEDED, message, generation);
    ConditionUpdate { set: vec![ready], remove: &[RECONCILING, STALLED] }
}

/// A suspended snippet: Ready=False; nothing is retried or stalled.
pub fn suspended(generation: Option<i64>) -> ConditionUpdate {
    let ready = Condition::new(READY, ConditionStatus::False, REASON_SUSPENDED, "spec.suspend is true", generation);
    ConditionUpdate { set: vec![ready], remove: &[RECONCILING, STALLED] }
}

/// A failed reconcile: Ready=False with the failure's `reason`, plus Stalled=True when only a spec change can
/// help (`stalled`), or else Reconciling=True while it is retried.
pub fn failed(reason: &str, message: &str, stalled: bool, generation: Option<i64>) -> ConditionUpdate {
    let ready = Condition::new(READY, ConditionStatus::False, reason, message, generation);
    if stalled {
        let stalled = Condition::new(STALLED, ConditionStatus::True, reason, message, generation);
        ConditionUpdate { set: vec![ready, stalled], remove: &[RECONCILING] }
    } else {
        let retrying = Condition::new(RECONCILING, ConditionStatus::True, REASON_RETRYING, message, generation);
        ConditionUpdate { set: vec![ready, retrying], remove: &[STALLED] }
    }
}

/// An ExternalArtifact that serves the revision `digest`: Ready=True (Flux sets no generation on it).
pub fn artifact_stored(digest: &str) -> ConditionUpdate {
    let message = format!("stored artifact for revision '{digest}'");
    let ready = Condition::new(READY, ConditionStatus::True, REASON_SUCCEEDED, &message, None);
    ConditionUpdate { set: vec![ready], remove: &[] }
}

/// Merges `update` into `existing`: one condition per type, sorted by type; set ones replace existing ones, but an
/// unchanged `status` keeps its old `lastTransitionTime`. Types listed in `update.remove` are dropped.
pub fn merge(existing: &[Condition], update: ConditionUpdate) -> Vec<Condition> {
    let ConditionUpdate { set, remove } = update;
    let mut merged: Vec<Condition> = existing
        .iter()
        .filter(|c| !remove.contains(&c.type_.as_str()) && !set.iter().any(|d| d.type_ == c.type_))
        .cloned()
        .collect();
    for mut condition in set {
        if let Some(old) = existing.iter().find(|c| c.type_ == condition.type_)
            && old.status == condition.status
        {
            condition.last_transition_time = old.last_transition_time.clone();
        }
        merged.push(condition);
    }
    merged.sort_by(|a, b| a.type_.cmp(&b.type_));
    merged
}

/// The condition of type `type_`, if present.
pub fn find<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Time {
        Time(Timestamp::from_second(seconds).unwrap())
    }

    fn types(conditions: &[Condition]) -> Vec<(&str, ConditionStatus, &str)> {
        conditions.iter().map(|c| (c.type_.as_str(), c.status, c.reason.as_str())).collect()
    }

    #[test]
    fn unchanged_status_keeps_its_transition_time() {
        let mut old = Condition::new(READY, ConditionStatus::True, REASON_SUCCEEDED, "a", Some(1));
        old.last_transition_time = at(100);
        let merged = merge(&[old], published("b", Some(2)));
        assert_eq!(merged.len(), 1);
        assert_eq!(merged[0].last_transition_time, at(100));
        assert_eq!(merged[0].message, "b");
        assert_eq!(merged[0].observed_generation, Some(2));
    }

    #[test]
    fn changed_status_moves_the_transition_time_and_removals_apply() {
        let mut ready = Condition::new(READY, ConditionStatus::True, REASON_SUCCEEDED, "", Some(1));
        ready.last_transition_time = at(100);
        let stalled = Condition::new(STALLED, ConditionStatus::True, REASON_INVALID_SPEC, "", Some(1));
        let merged = merge(&[ready, stalled], suspended(Some(2)));
        assert_eq!(types(&merged), [(READY, ConditionStatus::False, REASON_SUSPENDED)]);
        assert_ne!(merged[0].last_transition_time, at(100));
    }

    #[test]
    fn each_state_sets_its_conditions_and_clears_the_others() {
        let retrying = merge(&[], failed("EvaluationFailed", "boom", false, Some(3)));
        assert_eq!(
            types(&retrying),
            [
                (READY, ConditionStatus::False, "EvaluationFailed"),
                (RECONCILING, ConditionStatus::True, REASON_RETRYING)
            ]
        );
        let stalled = merge(&retrying, failed(REASON_INVALID_SPEC, "bad interval", true, Some(4)));
        assert_eq!(
            types(&stalled),
            [
                (READY, ConditionStatus::False, REASON_INVALID_SPEC),
                (STALLED, ConditionStatus::True, REASON_INVALID_SPEC)
            ]
        );
        assert!(stalled.iter().all(|c| c.message == "bad interval" && c.observed_generation == Some(4)));
        let ready = merge(&stalled, published("published revision sha256:ab", Some(5)));
        assert_eq!(types(&ready), [(READY, ConditionStatus::True, REASON_SUCCEEDED)]);
        let artifact = merge(&[], artifact_stored("sha256:ab"));
        assert_eq!(artifact[0].message, "stored artifact for revision 'sha256:ab'");
        assert_eq!(artifact[0].observed_generation, None);
    }

    #[test]
    fn long_messages_are_clipped_on_a_char_boundary() {
        assert_eq!(clip("short", 5), "short");
        let message = "é".repeat(MAX_MESSAGE_LEN);
        let condition = Condition::new(READY, ConditionStatus::False, "X", &message, None);
        assert!(condition.message.len() <= MAX_MESSAGE_LEN);
        let kept = condition.message.strip_suffix("...").unwrap();
        assert!(kept.chars().all(|c| c == 'é'));
        assert_eq!(clip("éééé", 6), "é...", "a cut never splits a character");
    }
}
