//! The cleanup half of a reconcile, run while a deleted snippet still carries our finalizer: withdraw the
//! ExternalArtifact and every stored revision. If storage keeps failing, the finalizer is released anyway after
//! `--max-withdraw-wait`, with a Warning Event naming what was left behind. Either way the snippet's render memo
//! and failure backoff are forgotten.

use std::time::Duration;

use jaas_shared::SnippetRef;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams};
use kube::runtime::controller::Action;

use crate::conditions::{REASON_DELETED, REASON_WITHDRAW_TIMED_OUT};
use crate::crd::{ExternalArtifact, JsonnetSnippet};
use crate::error::Result;
use crate::reconcile::context::{Context, snippet_key};
use crate::time::elapsed_since;

/// Deletes every stored revision of the snippet: the tarballs, then the records (so an interrupted withdrawal never
/// leaves a tarball without its record).
async fn delete_revisions(ctx: &Context, at: &SnippetRef) -> Result<usize> {
    let mut stored = ctx.metrics.storage_op("list", ctx.store.list(at)).await?;
    stored.sort_by_key(|meta| meta.key.kind());
    for meta in &stored {
        ctx.metrics.storage_op("delete", ctx.store.delete(&meta.key)).await?;
    }
    Ok(stored.len())
}

/// How long ago the snippet was marked for deletion.
fn deleting_for(snippet: &JsonnetSnippet) -> Duration {
    snippet.metadata.deletion_timestamp.as_ref().map_or(Duration::ZERO, elapsed_since)
}

/// Forgets a snippet whose finalizer is released, and counts the reconcile under `reason`.
fn released(ctx: &Context, snippet: &JsonnetSnippet, reason: &str) -> Action {
    let key = snippet_key(snippet);
    ctx.memo.forget(&key);
    ctx.retention.forget(&key);
    ctx.rerenders.forget(&key);
    ctx.backoff.succeeded(&key);
    ctx.metrics.reconciles.with_label_values(&["success", reason]).inc();
    Action::await_change()
}

/// Withdraws what the snippet published; `Ok` releases the finalizer.
pub async fn cleanup(snippet: &JsonnetSnippet, ctx: &Context) -> Result<Action> {
    let (namespace, name) = (snippet.namespace().unwrap_or_default(), snippet.name_any());
    let at = SnippetRef::new(&namespace, &name)?;
    let artifacts: Api<ExternalArtifact> = Api::namespaced(ctx.client.clone(), &namespace);
    match artifacts.delete(&name, &DeleteParams::background()).await {
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.code == 404 => {}
        Err(error) => return Err(error.into()),
    }
    match delete_revisions(ctx, &at).await {
        Ok(count) => {
            tracing::info!(snippet = %at, revisions = count, "withdrew the snippet's artifacts");
            Ok(released(ctx, snippet, REASON_DELETED))
        }
        Err(error) if deleting_for(snippet) >= ctx.max_withdraw_wait => {
            let note = format!(
                "gave up withdrawing the artifacts of {at} after --max-withdraw-wait={}: {error}; \
                 they stay in storage until removed by hand",
                humantime::format_duration(ctx.max_withdraw_wait)
            );
            tracing::warn!(snippet = %at, %error, "releasing the finalizer with artifacts left in storage");
            ctx.events.warn(snippet, REASON_WITHDRAW_TIMED_OUT, "Delete", &note).await;
            Ok(released(ctx, snippet, REASON_WITHDRAW_TIMED_OUT))
        }
        Err(error) => Err(error),
    }
}
