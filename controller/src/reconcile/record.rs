//! The revision record of a render (`jaas_render::record`): built from the request and what the render read, with
//! the snippet and the origins of its inputs, encoded off the async threads; and the part of it the
//! ExternalArtifact's `status.artifact.metadata` shows (the record's digest, the evaluator, the object count).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use jaas_render::record::RevisionRecord;
use jaas_render::record::{Origin, RecordedSnippet};
use jaas_render::{Limits, RenderRequest, RenderedArtifact};
use jaas_shared::Digest;
use kube::ResourceExt;

use crate::crd::JsonnetSnippet;
use crate::error::Result;

/// `status.artifact.metadata` key of the sha256 of the revision's record (`<path>` with `.record.zst` in place of
/// `.tar.gz`, beside the tarball in storage).
pub const METADATA_RECORD_DIGEST: &str = "jaas.metio.wtf/record-digest";
/// `status.artifact.metadata` key of the evaluator that rendered the revision.
pub const METADATA_EVALUATOR: &str = "jaas.metio.wtf/evaluator";
/// `status.artifact.metadata` key of the number of Kubernetes objects in the revision.
pub const METADATA_OBJECTS: &str = "jaas.metio.wtf/objects";

/// What the ExternalArtifact says of a revision's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordSummary {
    /// sha256 of the stored record.
    pub digest: Digest,
    /// The evaluator the record names.
    pub evaluator: String,
    /// Objects in the revision.
    pub objects: usize,
}

impl RecordSummary {
    /// The summary an ExternalArtifact's `status.artifact.metadata` holds, if it holds one.
    pub fn from_metadata(metadata: &BTreeMap<String, String>) -> Option<Self> {
        Some(Self {
            digest: metadata.get(METADATA_RECORD_DIGEST)?.parse().ok()?,
            evaluator: metadata.get(METADATA_EVALUATOR)?.clone(),
            objects: metadata.get(METADATA_OBJECTS)?.parse().ok()?,
        })
    }

    /// Adds this summary to `metadata`.
    pub fn add_to(&self, metadata: &mut BTreeMap<String, String>) {
        metadata.insert(METADATA_RECORD_DIGEST.to_owned(), self.digest.to_string());
        metadata.insert(METADATA_EVALUATOR.to_owned(), self.evaluator.clone());
        metadata.insert(METADATA_OBJECTS.to_owned(), self.objects.to_string());
    }
}

#[cfg(test)]
impl RecordSummary {
    /// A summary for tests: the record's digest made of `byte`.
    pub fn for_tests(byte: u8) -> Self {
        Self { digest: Digest::from_sha256([byte; 32]), evaluator: "jrsonnet test".to_owned(), objects: 3 }
    }
}

/// A record ready to store: its bytes and its summary.
#[derive(Debug, Clone)]
pub struct EncodedRecord {
    /// The zstd bytes.
    pub bytes: bytes::Bytes,
    /// What the ExternalArtifact will say of it.
    pub summary: RecordSummary,
}

/// When and how long a render ran.
#[derive(Debug, Clone, Copy)]
pub struct RenderTiming {
    /// Wall-clock start.
    pub started_at: SystemTime,
    /// Evaluation, shaping and packing.
    pub duration: Duration,
}

/// Builds and encodes the record of `artifact`, rendered for `snippet` from `request` with inputs from `origins`.
/// Cheap enough for an async thread: the render packed the files it read already, so this encodes `record.json`
/// and appends them.
pub fn encode(
    snippet: &JsonnetSnippet,
    request: &RenderRequest,
    artifact: &RenderedArtifact,
    origins: Vec<Origin>,
    limits: Limits,
    timing: RenderTiming,
) -> Result<EncodedRecord> {
    let mut record = RevisionRecord::of(request, artifact, limits, timing.started_at, timing.duration)?;
    record.snippet = Some(RecordedSnippet {
        namespace: snippet.namespace().unwrap_or_default(),
        name: snippet.name_any(),
        uid: snippet.metadata.uid.clone().unwrap_or_default(),
        generation: snippet.metadata.generation.unwrap_or_default(),
    });
    record.origins = origins;
    let bytes = record.encode()?;
    let summary = RecordSummary {
        digest: Digest::of(&bytes),
        evaluator: record.versions.evaluator.clone(),
        objects: record.revision.objects,
    };
    Ok(EncodedRecord { bytes: bytes.into(), summary })
}
