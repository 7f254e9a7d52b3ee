//! The cleanup half of a reconcile, run while a deleted snippet still carries our finalizer: withdraw the
//! ExternalArtifact and every stored revision. If storage keeps failing, the finalizer is released anyway after
//! `--max-withdraw-wait`, with a Warning Event naming what was left behind.

use std::time::Duration;

use jaas_shared::SnippetRef;
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams};
use kube::runtime::controller::Action;

use crate::crd::{ExternalArtifact, JsonnetSnippet};
use crate::error::Result;
use crate::reconcile::Context;

/// Deletes every stored revision of the snippet.
async fn delete_revisions(ctx: &Context, at: &SnippetRef) -> Result<usize> {
    let stored = ctx.metrics.storage_op("list", ctx.store.list(at)).await?;
    for meta in &stored {
        ctx.metrics.storage_op("delete", ctx.store.delete(&meta.key)).await?;
    }
    Ok(stored.len())
}

/// How long ago the snippet was marked for deletion.
fn deleting_for(snippet: &JsonnetSnippet) -> Duration {
    snippet.metadata.deletion_timestamp.as_ref().map_or(Duration::ZERO, |t| {
        let seconds = Timestamp::now().as_second().saturating_sub(t.0.as_second());
        Duration::from_secs(u64::try_from(seconds).unwrap_or(0))
    })
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
            ctx.memo.forget(&at.to_string());
            ctx.metrics.reconciles.with_label_values(&["success", "Deleted"]).inc();
            Ok(Action::await_change())
        }
        Err(error) if deleting_for(snippet) >= ctx.max_withdraw_wait => {
            let note = format!(
                "gave up withdrawing the artifacts of {at} after --max-withdraw-wait={}: {error}; \
                 they stay in storage until removed by hand",
                humantime::format_duration(ctx.max_withdraw_wait)
            );
            tracing::warn!(snippet = %at, %error, "releasing the finalizer with artifacts left in storage");
            ctx.events.warn(snippet, "WithdrawTimedOut", "Delete", &note).await;
            ctx.memo.forget(&at.to_string());
            ctx.metrics.reconciles.with_label_values(&["success", "WithdrawTimedOut"]).inc();
            Ok(Action::await_change())
        }
        Err(error) => Err(error),
    }
}
