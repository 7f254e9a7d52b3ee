//! The apply half of a reconcile: libraries → render → store → publish → snippet status → retention, plus the
//! `suspend` and failure paths. A failed render leaves the last good artifact published.

use std::time::Instant;

use jaas_shared::{ArtifactKey, Digest, SnippetRef};
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::controller::Action;

use crate::conditions::{
    self, Condition, ConditionStatus, READY, REASON_SUCCEEDED, REASON_SUSPENDED, RECONCILING, STALLED,
};
use crate::crd::{JsonnetLibrary, JsonnetSnippet, JsonnetSnippetStatus};
use crate::error::{Error, Result};
use crate::reconcile::Context;
use crate::reconcile::memo::{Decision, fingerprint};
use crate::reconcile::publish::{publish_artifact, write_snippet_status};
use jaas_render::RenderedArtifact;

use crate::retention::{self, to_time};
use crate::snippet_request::render_request;

/// Reads the libraries a snippet lists, in the order it lists them.
async fn fetch_libraries(ctx: &Context, snippet: &JsonnetSnippet) -> Result<Vec<JsonnetLibrary>> {
    let api: Api<JsonnetLibrary> = Api::namespaced(ctx.client.clone(), &snippet.namespace().unwrap_or_default());
    let mut libraries = Vec::with_capacity(snippet.spec.libraries.len());
    for name in &snippet.spec.libraries {
        let library = api.get_opt(name).await?.ok_or_else(|| {
            jaas_render::RenderError::LibraryNotFound(format!(
                "JsonnetLibrary {name:?} does not exist in namespace {:?}",
                snippet.namespace().unwrap_or_default()
            ))
        })?;
        libraries.push(library);
    }
    Ok(libraries)
}

/// The snippet's status with `desired` conditions merged in and the rest kept.
fn status_with(snippet: &JsonnetSnippet, desired: Vec<Condition>, remove: &[&str]) -> JsonnetSnippetStatus {
    let mut status = snippet.status.clone().unwrap_or_default();
    status.conditions = conditions::merge(&status.conditions, desired, remove);
    status.observed_generation = snippet.metadata.generation;
    status
}

/// Records a failed reconcile: Ready=False with the error's reason, a Warning Event; returns the error.
pub async fn report_failure(ctx: &Context, snippet: &JsonnetSnippet, error: Error) -> Error {
    let generation = snippet.metadata.generation;
    let reason = error.reason();
    let message = error.to_string();
    let mut desired = vec![Condition::new(READY, ConditionStatus::False, reason, &message, generation)];
    let remove: &[&str] = if error.is_stalled() {
        desired.push(Condition::new(STALLED, ConditionStatus::True, reason, &message, generation));
        &[RECONCILING]
    } else {
        desired.push(Condition::new(RECONCILING, ConditionStatus::True, "RetryingAfterFailure", &message, generation));
        &[STALLED]
    };
    if let Err(status_error) = write_snippet_status(ctx, snippet, status_with(snippet, desired, remove)).await {
        tracing::warn!(error = %status_error, "cannot record the failure in the snippet's status");
    }
    ctx.events.warn(snippet, reason, "Reconcile", &message).await;
    error
}

/// Renders, timing it and sampling the artifact size.
async fn render(ctx: &Context, snippet: &JsonnetSnippet, libraries: &[JsonnetLibrary]) -> Result<RenderedArtifact> {
    let started = Instant::now();
    let result = ctx.renderer.render(&render_request(snippet, libraries)).await;
    ctx.metrics.render_duration.observe(started.elapsed().as_secs_f64());
    let artifact = result?;
    #[allow(clippy::cast_precision_loss)] // a histogram of sizes does not need exact bytes
    ctx.metrics.artifact_bytes.observe(artifact.tarball.len() as f64);
    Ok(artifact)
}

/// Stores the artifact unless it already is the stored current revision (a re-put would refresh its time).
async fn store(ctx: &Context, snippet: &JsonnetSnippet, key: &ArtifactKey, tarball: bytes::Bytes) -> Result<bool> {
    let current = snippet.status.as_ref().and_then(|s| s.revision.as_deref());
    if current == Some(key.digest().to_string().as_str())
        && ctx.metrics.storage_op("head", ctx.store.head(key)).await.is_ok()
    {
        return Ok(false);
    }
    ctx.metrics.storage_op("put", ctx.store.put(key, tarball)).await?;
    Ok(true)
}

/// Renders, stores and publishes; returns the published key and whether storage was written.
async fn render_and_publish(
    ctx: &Context,
    snippet: &JsonnetSnippet,
    at: &SnippetRef,
    libraries: &[JsonnetLibrary],
) -> Result<(ArtifactKey, bool)> {
    let artifact = render(ctx, snippet, libraries).await?;
    let key = at.revision(Digest::from_sha256(artifact.sha256));
    let size = u64::try_from(artifact.tarball.len()).unwrap_or(u64::MAX);
    let written = store(ctx, snippet, &key, artifact.tarball).await?;
    publish_artifact(ctx, snippet, &key, size).await?;
    Ok((key, written))
}

/// Marks the snippet suspended; nothing is rendered, published or deleted.
async fn suspend(ctx: &Context, snippet: &JsonnetSnippet) -> Result<Action> {
    let generation = snippet.metadata.generation;
    let suspended = Condition::new(READY, ConditionStatus::False, REASON_SUSPENDED, "spec.suspend is true", generation);
    write_snippet_status(ctx, snippet, status_with(snippet, vec![suspended], &[RECONCILING, STALLED])).await?;
    ctx.metrics.reconciles.with_label_values(&["success", REASON_SUSPENDED]).inc();
    Ok(Action::await_change())
}

/// The apply half of a reconcile.
pub async fn apply(snippet: &JsonnetSnippet, ctx: &Context) -> Result<Action> {
    let at = SnippetRef::new(&snippet.namespace().unwrap_or_default(), &snippet.name_any())?;
    let memo_key = at.to_string();
    let interval = snippet.spec.interval().map_err(Error::InvalidSpec)?;
    if snippet.spec.suspend {
        return suspend(ctx, snippet).await;
    }
    let libraries = fetch_libraries(ctx, snippet).await?;
    let inputs = fingerprint(snippet, &libraries);
    let published: Option<Digest> =
        snippet.status.as_ref().and_then(|s| s.revision.as_deref()).and_then(|r| r.parse().ok());
    let history = usize::try_from(snippet.spec.history).unwrap_or(1);

    let mut status = snippet.status.clone().unwrap_or_default();
    let (current, mut next, reason) = match ctx.memo.decide(&memo_key, inputs, interval, Instant::now()) {
        Decision::Wait(wait) => (published, wait, "Unchanged"),
        Decision::Render => {
            let outcome = render_and_publish(ctx, snippet, &at, &libraries).await;
            ctx.memo.record(&memo_key, inputs, outcome.is_ok(), Instant::now());
            let (key, written) = outcome?;
            let revision = key.digest().to_string();
            let message = format!("published revision {revision}");
            let ready =
                Condition::new(READY, ConditionStatus::True, REASON_SUCCEEDED, &message, snippet.metadata.generation);
            status = status_with(snippet, vec![ready], &[RECONCILING, STALLED]);
            status.revision = Some(revision.clone());
            status.artifact_url = Some(key.url(&ctx.base_url));
            status.last_sync_time = Some(to_time(std::time::SystemTime::now()));
            if written && published != Some(key.digest()) {
                ctx.events.info(snippet, "ArtifactPublished", "Publish", &message).await;
                tracing::info!(snippet = %at, %revision, "published a new revision");
            }
            (Some(key.digest()), interval, REASON_SUCCEEDED)
        }
    };
    let retained = retention::enforce(ctx, &at, current, history).await?;
    status.history = retained.history;
    if retained.pending {
        let recheck = retention::recheck_after(ctx.gc_grace);
        next = Some(next.map_or(recheck, |n| n.min(recheck)));
    }
    write_snippet_status(ctx, snippet, status).await?;
    ctx.metrics.reconciles.with_label_values(&["success", reason]).inc();
    Ok(next.map_or_else(Action::await_change, Action::requeue))
}
