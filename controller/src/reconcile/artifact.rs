//! The render and store steps of a snippet's reconcile: evaluating its request into a tarball (timed, its size
//! sampled), then storing its revision record and the tarball under the tarball's digest, the revision it is
//! published as. The record goes first, so a tarball in storage always has its record beside it; a crash between
//! the two leaves only a record without a tarball, which retention deletes.

use std::time::{Instant, SystemTime};

use jaas_render::{RenderRequest, RenderedArtifact};
use jaas_shared::{ArtifactKey, Digest, SnippetRef};

use crate::error::Result;
use crate::reconcile::context::Context;
use crate::reconcile::record::{EncodedRecord, RecordSummary, RenderTiming};

/// A rendered tarball in storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Where it is stored; its digest is the revision.
    pub key: ArtifactKey,
    /// Its size in bytes.
    pub size: u64,
    /// Whether this reconcile wrote it (false: it already was the stored current revision).
    pub written: bool,
    /// Its record, as the ExternalArtifact shows it.
    pub record: RecordSummary,
}

/// The revision an ExternalArtifact serves now, and what it says of its record (nothing, if a version before
/// records published it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// The revision.
    pub digest: Digest,
    /// Its record's summary.
    pub record: Option<RecordSummary>,
}

/// Renders `request`, timing it and sampling the tarball's size.
pub async fn render(ctx: &Context, request: &RenderRequest) -> Result<(RenderedArtifact, RenderTiming)> {
    let (started_at, started) = (SystemTime::now(), Instant::now());
    let result = ctx.renderer.render(request).await;
    let duration = started.elapsed();
    ctx.metrics.render_duration.observe(duration.as_secs_f64());
    let artifact = result?;
    #[allow(clippy::cast_precision_loss)] // a histogram of sizes does not need exact bytes
    ctx.metrics.artifact_bytes.observe(artifact.tarball.len() as f64);
    Ok((artifact, RenderTiming { started_at, duration }))
}

/// The rendered revision as stored already, when it is the `published` one with its record and still stored: then
/// nothing is written (a re-put would refresh its time, which retention reads), and its record stays the one
/// published.
pub async fn already_stored(
    ctx: &Context,
    at: &SnippetRef,
    artifact: &RenderedArtifact,
    published: Option<&Published>,
) -> Option<Stored> {
    let key = at.revision(Digest::from_sha256(artifact.sha256));
    let record = published.filter(|published| published.digest == key.digest())?.record.clone()?;
    ctx.metrics.storage_op("head", ctx.store.head(&key)).await.ok()?;
    Some(Stored { key, size: size_of(artifact), written: false, record })
}

/// Stores the record, then the tarball, under the tarball's digest.
pub async fn store(
    ctx: &Context,
    at: &SnippetRef,
    artifact: RenderedArtifact,
    record: EncodedRecord,
) -> Result<Stored> {
    let key = at.revision(Digest::from_sha256(artifact.sha256));
    let size = size_of(&artifact);
    ctx.metrics.storage_op("put", ctx.store.put(&key.record_key(), record.bytes)).await?;
    ctx.metrics.storage_op("put", ctx.store.put(&key, artifact.tarball)).await?;
    Ok(Stored { key, size, written: true, record: record.summary })
}

fn size_of(artifact: &RenderedArtifact) -> u64 {
    u64::try_from(artifact.tarball.len()).unwrap_or(u64::MAX)
}
