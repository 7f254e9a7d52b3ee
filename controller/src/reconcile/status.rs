//! The last step of a snippet's reconcile: its `/status`. What a reconcile found (published, suspended, failed)
//! becomes conditions (built in `conditions`), the published revision and the retained history, and is applied
//! only when it differs from the status the snippet already has, so an unchanged reconcile writes nothing.
//! Status goes through its own field manager, because a 1.20 API server has no `subresource` in managedFields
//! and one manager's status apply would replace its ownership of the main resource.

use std::time::SystemTime;

use jaas_shared::Digest;
use kube::api::{Api, Patch, PatchParams};
use kube::{Resource, ResourceExt};
use serde_json::json;

use crate::conditions::{self, ConditionUpdate};
use crate::crd::{HistoryEntry, JsonnetSnippet, JsonnetSnippetStatus};
use crate::error::{Error, Result};
use crate::reconcile::artifact::Stored;
use crate::reconcile::context::Context;
use crate::time::to_metav1;

/// The field manager of the status we apply (see the module docs for why it differs from the objects').
pub const STATUS_FIELD_MANAGER: &str = "jaas-controller-status";

/// The revision the snippet's status says is published.
pub fn published_revision(snippet: &JsonnetSnippet) -> Option<Digest> {
    snippet.status.as_ref().and_then(|s| s.revision.as_deref()).and_then(|r| r.parse().ok())
}

/// The snippet's status with `update` merged into its conditions, the rest kept, for the current generation.
pub fn with_conditions(snippet: &JsonnetSnippet, update: ConditionUpdate) -> JsonnetSnippetStatus {
    let mut status = snippet.status.clone().unwrap_or_default();
    status.conditions = conditions::merge(&status.conditions, update);
    status.observed_generation = snippet.metadata.generation;
    status
}

/// The status after a successful apply: Ready with the revision `published` now (synced at `now`), or the status
/// as it was when nothing was rendered; either way with the `history` retention left.
pub fn applied(
    snippet: &JsonnetSnippet,
    published: Option<&Stored>,
    history: Vec<HistoryEntry>,
    base_url: &str,
    now: SystemTime,
) -> JsonnetSnippetStatus {
    let mut status = match published {
        Some(stored) => {
            let revision = stored.key.digest().to_string();
            let message = format!("published revision {revision}");
            let mut status = with_conditions(snippet, conditions::published(&message, snippet.metadata.generation));
            status.revision = Some(revision);
            status.artifact_url = Some(stored.key.url(base_url));
            status.last_sync_time = Some(to_metav1(now));
            status
        }
        None => snippet.status.clone().unwrap_or_default(),
    };
    status.history = history;
    status
}

/// Applies `status` to the snippet's `/status` unless it already is the current status.
pub async fn write(ctx: &Context, snippet: &JsonnetSnippet, status: JsonnetSnippetStatus) -> Result<()> {
    if snippet.status.as_ref() == Some(&status) {
        return Ok(());
    }
    let api: Api<JsonnetSnippet> = Api::namespaced(ctx.client.clone(), &snippet.namespace().unwrap_or_default());
    let patch = json!({
        "apiVersion": JsonnetSnippet::api_version(&()),
        "kind": JsonnetSnippet::kind(&()),
        "status": status,
    });
    let written = api
        .patch_status(&snippet.name_any(), &PatchParams::apply(STATUS_FIELD_MANAGER).force(), &Patch::Apply(&patch))
        .await?;
    // As the API server stored it, which is what the watch will bring back.
    ctx.own_writes.wrote_status(snippet, written.status.as_ref().unwrap_or(&status));
    Ok(())
}

/// Records a failed reconcile on the snippet: Ready=False with the error's reason (and Stalled or Reconciling),
/// and a Warning Event with the error text. Returns the error; failing to record it is only logged.
pub async fn record_failure(ctx: &Context, snippet: &JsonnetSnippet, error: Error) -> Error {
    let (reason, message) = (error.reason(), error.to_string());
    let update = conditions::failed(reason, &message, error.is_stalled(), snippet.metadata.generation);
    if let Err(status_error) = write(ctx, snippet, with_conditions(snippet, update)).await {
        tracing::warn!(error = %status_error, "cannot record the failure in the snippet's status");
    }
    ctx.events.warn(snippet, reason, "Reconcile", &message).await;
    error
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::conditions::{READY, REASON_SUCCEEDED, STALLED};
    use crate::crd::JsonnetSnippetSpec;

    fn snippet(status: Option<JsonnetSnippetStatus>) -> JsonnetSnippet {
        let mut snippet = JsonnetSnippet::new("web", serde_json::from_str::<JsonnetSnippetSpec>("{}").unwrap());
        snippet.metadata.namespace = Some("team".into());
        snippet.metadata.generation = Some(7);
        snippet.status = status;
        snippet
    }

    fn entry(revision: &str) -> HistoryEntry {
        HistoryEntry {
            revision: revision.into(),
            digest: revision.into(),
            url: String::new(),
            time: to_metav1(SystemTime::UNIX_EPOCH),
        }
    }

    #[test]
    fn a_publish_sets_the_revision_url_sync_time_and_ready() {
        let stalled = conditions::failed(conditions::REASON_INVALID_SPEC, "bad", true, Some(6));
        let before = with_conditions(&snippet(None), stalled);
        let key = jaas_shared::ArtifactKey::new("team", "web", Digest::from_sha256([7; 32])).unwrap();
        let stored = Stored {
            key: key.clone(),
            size: 1,
            written: true,
            record: crate::reconcile::record::RecordSummary::for_tests(9),
        };
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let status = applied(&snippet(Some(before)), Some(&stored), vec![entry("r")], "http://srv", now);
        assert_eq!(status.revision, Some(key.digest().to_string()));
        assert_eq!(status.artifact_url, Some(key.url("http://srv")));
        assert_eq!(status.last_sync_time.unwrap().0.as_second(), 1_700_000_000);
        assert_eq!(status.observed_generation, Some(7));
        assert_eq!(status.history, [entry("r")]);
        let ready = conditions::find(&status.conditions, READY).unwrap();
        assert_eq!(ready.reason, REASON_SUCCEEDED);
        assert!(conditions::find(&status.conditions, STALLED).is_none());
    }

    #[test]
    fn nothing_rendered_keeps_the_status_but_the_history() {
        let before =
            JsonnetSnippetStatus { revision: Some("old".into()), history: vec![entry("a")], ..Default::default() };
        let status = applied(&snippet(Some(before.clone())), None, vec![entry("b")], "http://srv", SystemTime::now());
        assert_eq!(status, JsonnetSnippetStatus { history: vec![entry("b")], ..before });
    }
}
