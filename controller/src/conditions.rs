//! Status conditions, built in one place: the `Condition` type shared by our CRDs and Flux's `ExternalArtifact`,
//! the condition types and reasons we use, and the merge rule that keeps `lastTransitionTime` stable.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `Ready`: the latest spec is rendered and published (True), or why not (False).
pub const READY: &str = "Ready";
/// `Reconciling`: a render of a newer generation is in progress or being retried.
pub const RECONCILING: &str = "Reconciling";
/// `Stalled`: retrying cannot help until the spec changes (an invalid spec).
pub const STALLED: &str = "Stalled";

/// Reason for a Ready=True condition after a successful publish.
pub const REASON_SUCCEEDED: &str = "Succeeded";
/// Reason for Ready=False while `spec.suspend` is true.
pub const REASON_SUSPENDED: &str = "Suspended";
/// Reason for a Reconciling=True condition.
pub const REASON_PROGRESSING: &str = "Progressing";
/// Reason used when storage or the API server failed (not the snippet's fault).
pub const REASON_STORAGE_FAILED: &str = "StorageOperationFailed";
/// Reason used when writing the ExternalArtifact failed.
pub const REASON_PUBLISH_FAILED: &str = "PublishFailed";

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
    /// A condition observed now for `generation`; the message is truncated to what the API server accepts.
    pub fn new(type_: &str, status: ConditionStatus, reason: &str, message: &str, generation: Option<i64>) -> Self {
        Self {
            type_: type_.to_owned(),
            status,
            observed_generation: generation,
            last_transition_time: Time(Timestamp::now()),
            reason: reason.to_owned(),
            message: truncate(message, MAX_MESSAGE_LEN),
        }
    }
}

/// Cuts `text` to at most `max` bytes on a character boundary.
fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// Merges `desired` into `existing`: one condition per type, desired ones replace existing ones, but an unchanged
/// `status` keeps its old `lastTransitionTime`. Types listed in `remove` are dropped.
pub fn merge(existing: &[Condition], desired: Vec<Condition>, remove: &[&str]) -> Vec<Condition> {
    let mut merged: Vec<Condition> = existing
        .iter()
        .filter(|c| !remove.contains(&c.type_.as_str()) && !desired.iter().any(|d| d.type_ == c.type_))
        .cloned()
        .collect();
    for mut condition in desired {
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

/// The `Ready` condition, if present.
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

    #[test]
    fn unchanged_status_keeps_its_transition_time() {
        let mut old = Condition::new(READY, ConditionStatus::True, REASON_SUCCEEDED, "a", Some(1));
        old.last_transition_time = at(100);
        let new = Condition::new(READY, ConditionStatus::True, REASON_SUCCEEDED, "b", Some(2));
        let merged = merge(&[old], vec![new], &[]);
        assert_eq!(merged.len(), 1);
        assert_eq!(merged[0].last_transition_time, at(100));
        assert_eq!(merged[0].message, "b");
        assert_eq!(merged[0].observed_generation, Some(2));
    }

    #[test]
    fn changed_status_moves_the_transition_time_and_removals_apply() {
        let mut ready = Condition::new(READY, ConditionStatus::True, REASON_SUCCEEDED, "", Some(1));
        ready.last_transition_time = at(100);
        let stalled = Condition::new(STALLED, ConditionStatus::True, "InvalidSpec", "", Some(1));
        let new = Condition::new(READY, ConditionStatus::False, "EvaluationFailed", "boom", Some(2));
        let merged = merge(&[ready, stalled], vec![new], &[STALLED]);
        assert_eq!(merged.len(), 1);
        assert_ne!(merged[0].last_transition_time, at(100));
        assert_eq!(merged[0].status, ConditionStatus::False);
    }

    #[test]
    fn long_messages_are_cut_on_a_char_boundary() {
        let message = "é".repeat(MAX_MESSAGE_LEN);
        let condition = Condition::new(READY, ConditionStatus::False, "X", &message, None);
        assert!(condition.message.len() <= MAX_MESSAGE_LEN);
        assert!(condition.message.chars().all(|c| c == 'é'));
    }
}
