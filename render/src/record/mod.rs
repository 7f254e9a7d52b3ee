//! The revision record: everything that determined one rendered tarball's bytes, stored beside it so that anyone
//! can see what produced a revision and render it again bit for bit (`jaas verify`).
//!
//! A record holds the request's files the evaluation actually read (not the whole tree: a jsonnet-bundler checkout
//! of a thousand files contributes the hundred it imports), the rest of the request (entry file, import paths,
//! library mounts, external variables, top-level arguments, output mode), where the inputs came from (the snippet,
//! its libraries, its Flux sources with their revisions: [`Origin`], filled in by the controller), the limits that
//! bear on the result, the product and evaluator versions, and the render's start time, duration and object count.
//! It is a zstd-compressed tar ([`codec`]): `record.json` first (this module's types, camelCase; `schema` names its
//! version and a reader refuses a schema it does not know), then each file read, as it was, under `files/<tree
//! path>`, so `zstd -d | tar x` gives back the exact input tree. The files come packed from the worker that read
//! them ([`inputs`]). The format is documented in docs/provenance.md.

mod codec;
mod inputs;
mod replay;
#[cfg(test)]
mod tests;

use std::{
    borrow::Cow,
    collections::BTreeMap,
    time::{Duration, SystemTime},
};

use serde::{Deserialize, Serialize};

pub use codec::{MAX_DECODED_RECORD_BYTES, RecordError};
pub use inputs::PackedInputs;

use crate::{Limits, OutputMode, RenderError, RenderRequest, RenderedArtifact, Variable};

/// The schema of the records this version writes and reads.
pub const RECORD_SCHEMA: &str = "jaas.metio.wtf/revision-record/v1";

/// The evaluator that renders, as records and `status.artifact.metadata` name it: the published jrsonnet crate
/// and that it is carried with our patches (third_party/).
pub const EVALUATOR_VERSION: &str = "jrsonnet-evaluator 0.5.0-pre98+jaas-patches";

/// One revision's record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RevisionRecord {
    /// [`RECORD_SCHEMA`].
    pub schema: String,
    /// The tarball it describes.
    pub revision: RecordedRevision,
    /// The snippet it was rendered for; `None` for a render outside a cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snippet: Option<RecordedSnippet>,
    /// What was rendered: enough to render it again with nothing else.
    pub request: RecordedRequest,
    /// Where the inputs came from: the snippet, its libraries and its sources, with their revisions.
    #[serde(default)]
    pub origins: Vec<Origin>,
    /// The limits the render ran under.
    pub limits: RecordedLimits,
    /// What rendered it.
    pub versions: Versions,
    /// When and how long.
    pub render: RenderFacts,
    /// The bytes of every file in `request.files`: the tar entries after `record.json`.
    #[serde(skip)]
    pub inputs: RecordedFiles,
}

/// The bytes of the files a record lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordedFiles {
    /// By tree path, as a record read back holds them (or as a test makes them).
    Unpacked(BTreeMap<String, Vec<u8>>),
    /// As the render packed them, ready to be written.
    Packed(PackedInputs),
}

impl Default for RecordedFiles {
    fn default() -> Self {
        Self::Unpacked(BTreeMap::new())
    }
}

impl RecordedFiles {
    /// The files by tree path (packed ones are decompressed, at most [`MAX_DECODED_RECORD_BYTES`]).
    pub fn contents(&self) -> Result<Cow<'_, BTreeMap<String, Vec<u8>>>, RecordError> {
        match self {
            Self::Unpacked(files) => Ok(Cow::Borrowed(files)),
            Self::Packed(inputs) => inputs.unpack(MAX_DECODED_RECORD_BYTES).map(Cow::Owned),
        }
    }
}

/// The tarball a record describes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordedRevision {
    /// `sha256:<hex>` of the tarball: the revision.
    pub digest: String,
    /// The tarball's size in bytes.
    pub size: u64,
    /// Kubernetes objects in its manifests.
    pub objects: usize,
    /// The files in the tarball, sorted.
    pub files: Vec<String>,
}

/// The snippet object a revision was rendered for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordedSnippet {
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// Its UID.
    pub uid: String,
    /// `metadata.generation` rendered.
    pub generation: i64,
}

/// The request, with its tree reduced to the files read and held in the record itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordedRequest {
    /// The tree path of the file rendered.
    pub entry_file: String,
    /// Tree directories searched for imports, in order (`-J`).
    #[serde(default)]
    pub import_paths: Vec<String>,
    /// The libraries, in search order, by name and the tree directory each is mounted under.
    #[serde(default)]
    pub libraries: Vec<RecordedLibrary>,
    /// External variables.
    #[serde(default)]
    pub ext_vars: Vec<Variable>,
    /// Top-level arguments.
    #[serde(default)]
    pub tlas: Vec<Variable>,
    /// Evaluated manifests or the sources.
    #[serde(default)]
    pub output: OutputMode,
    /// Every file the render read, by tree path (library files under their mount directory), sorted; their bytes
    /// are [`RevisionRecord::contents`].
    pub files: Vec<String>,
}

/// A library's place in the tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordedLibrary {
    /// Its name.
    pub name: String,
    /// The tree directory it is mounted under.
    pub mounted_at: String,
}

/// One input's identity, as the controller knew it when it rendered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Origin {
    /// Its role: `snippet`, `library` or `source`.
    pub role: String,
    /// `apiVersion` of the object (e.g. `jaas.metio.wtf/v1`, `source.toolkit.fluxcd.io/v1`).
    pub api_version: String,
    /// Its kind (`JsonnetSnippet`, `JsonnetLibrary`, `GitRepository`, ...).
    pub kind: String,
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// The tree directory its files are mounted under (`""`: the root).
    pub mounted_at: String,
    /// `metadata.generation` (for our own objects).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<i64>,
    /// The source's `status.artifact.revision` (e.g. `main@sha1:...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// The source artifact's digest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

/// The limits of the render that bear on its result: a render again under smaller ones may fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordedLimits {
    /// `--max-stack`.
    pub max_stack: usize,
    /// `--max-artifact-bytes` (0: none).
    pub max_artifact_bytes: u64,
    /// `--evaluation-timeout`, in milliseconds.
    pub evaluation_timeout_millis: u64,
}

impl From<Limits> for RecordedLimits {
    fn from(limits: Limits) -> Self {
        Self {
            max_stack: limits.max_stack,
            max_artifact_bytes: limits.max_artifact_bytes,
            evaluation_timeout_millis: u64::try_from(limits.evaluation_timeout.as_millis()).unwrap_or(u64::MAX),
        }
    }
}

/// What rendered a revision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Versions {
    /// JaaS's version.
    pub jaas: String,
    /// [`EVALUATOR_VERSION`].
    pub evaluator: String,
}

impl Versions {
    /// This build's versions.
    pub fn current() -> Self {
        Self { jaas: env!("CARGO_PKG_VERSION").to_owned(), evaluator: EVALUATOR_VERSION.to_owned() }
    }
}

/// When a render started and how long it took (evaluation, shaping and packing).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RenderFacts {
    /// RFC 3339, UTC.
    pub started_at: String,
    /// Seconds.
    pub duration_seconds: f64,
}

impl RevisionRecord {
    /// The record of `artifact`, rendered from `request` under `limits`, started at `started_at` and taking
    /// `duration`, with the inputs its renderer packed ([`crate::Renderer::recording_inputs`]; a renderer that did
    /// not is an internal error). `snippet` and `origins` are left for the caller.
    pub fn of(
        request: &RenderRequest,
        artifact: &RenderedArtifact,
        limits: Limits,
        started_at: SystemTime,
        duration: Duration,
    ) -> Result<Self, RenderError> {
        let inputs = artifact.inputs.clone().ok_or_else(|| {
            RenderError::Internal("the render's inputs were not packed: its renderer does not record them".to_owned())
        })?;
        let mut files = artifact.files_read.clone();
        files.sort();
        Ok(Self {
            schema: RECORD_SCHEMA.to_owned(),
            revision: RecordedRevision {
                digest: format!("sha256:{}", hex::encode(artifact.sha256)),
                size: artifact.tarball.len() as u64,
                objects: artifact.objects,
                files: artifact.files.clone(),
            },
            snippet: None,
            request: RecordedRequest {
                entry_file: request.entry_file.clone(),
                import_paths: request.import_paths.clone(),
                libraries: request
                    .libraries
                    .iter()
                    .map(|library| RecordedLibrary {
                        name: library.name.clone(),
                        mounted_at: library.mount_directory().to_owned(),
                    })
                    .collect(),
                ext_vars: request.ext_vars.clone(),
                tlas: request.tlas.clone(),
                output: request.output,
                files,
            },
            origins: Vec::new(),
            limits: limits.into(),
            versions: Versions::current(),
            render: RenderFacts {
                started_at: humantime::format_rfc3339_millis(started_at).to_string(),
                duration_seconds: duration.as_secs_f64(),
            },
            inputs: RecordedFiles::Packed(inputs),
        })
    }

    /// The limits recorded, as a renderer takes them.
    pub fn limits(&self) -> Limits {
        Limits {
            evaluation_timeout: Duration::from_millis(self.limits.evaluation_timeout_millis),
            max_stack: self.limits.max_stack,
            max_artifact_bytes: self.limits.max_artifact_bytes,
        }
    }
}
