//! The render and store steps of a snippet's reconcile: evaluating its request into a tarball (timed, its size
//! sampled), then storing that tarball under its digest, the revision it is published as.

use std::time::Instant;

use jaas_render::{RenderRequest, RenderedArtifact};
use jaas_shared::{ArtifactKey, Digest, SnippetRef};

use crate::error::Result;
use crate::reconcile::context::Context;

/// A rendered tarball in storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Where it is stored; its digest is the revision.
    pub key: ArtifactKey,
    /// Its size in bytes.
    pub size: u64,
    /// Whether this reconcile wrote it (false: it already was the stored current revision).
    pub written: bool,
}

/// Renders `request`, timing it and sampling the tarball's size.
pub async fn render(ctx: &Context, request: &RenderRequest) -> Result<RenderedArtifact> {
    let started = Instant::now();
    let result = ctx.renderer.render(request).await;
    ctx.metrics.render_duration.observe(started.elapsed().as_secs_f64());
    let artifact = result?;
    #[allow(clippy::cast_precision_loss)] // a histogram of sizes does not need exact bytes
    ctx.metrics.artifact_bytes.observe(artifact.tarball.len() as f64);
    Ok(artifact)
}

/// Stores the tarball under its digest, unless it already is the `published` revision and still stored (a re-put
/// would refresh its time, which retention reads).
pub async fn store(
    ctx: &Context,
    at: &SnippetRef,
    artifact: RenderedArtifact,
    published: Option<Digest>,
) -> Result<Stored> {
    let key = at.revision(Digest::from_sha256(artifact.sha256));
    let size = u64::try_from(artifact.tarball.len()).unwrap_or(u64::MAX);
    let already_stored =
        published == Some(key.digest()) && ctx.metrics.storage_op("head", ctx.store.head(&key)).await.is_ok();
    if !already_stored {
        ctx.metrics.storage_op("put", ctx.store.put(&key, artifact.tarball)).await?;
    }
    Ok(Stored { key, size, written: !already_stored })
}
