//! The [`Renderer`]: runs each evaluation in a warm worker process of its pool (bounded in number, killed on
//! timeout), then shapes the value into manifests and packs the reproducible tarball.

use std::sync::Arc;

use bytes::Bytes;
use sha2::{Digest as _, Sha256};
use tokio::sync::Semaphore;

use crate::{
    Limits, OutputMode, RenderError, RenderRequest, WorkerCommand,
    limits::Recycling,
    output::{RENDERED_JSON, shape_manifests},
    pool::{PoolStats, WorkerPool},
    protocol::{Evaluation, WorkerReply, WorkerTask},
    record::PackedInputs,
    source_tree::source_entries,
    tarball::{TarEntry, reproducible_tar_gz},
    yaml::{pretty_json, yaml_documents},
};

/// A rendered artifact: the tarball, its digest and the paths it contains (sorted), with what a revision record
/// needs to know of how it was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedArtifact {
    /// The reproducible tar.gz.
    pub tarball: Bytes,
    /// sha256 of `tarball`.
    pub sha256: [u8; 32],
    /// Paths of the files in the tarball, sorted.
    pub files: Vec<String>,
    /// The tree paths of the request's files that determined the tarball: those the evaluation read, in the order
    /// first read (`output: source`: every file packed).
    pub files_read: Vec<String>,
    /// Those files' bytes, packed for the revision record, when the renderer records inputs
    /// ([`Renderer::recording_inputs`]).
    pub inputs: Option<PackedInputs>,
    /// The Kubernetes objects (YAML documents) in the manifests; 0 for `output: source`.
    pub objects: usize,
}

/// Renders requests; cheap to share behind an `Arc`, safe to call concurrently. Its worker processes live as long
/// as it does.
#[derive(Debug)]
pub struct Renderer {
    limits: Limits,
    record_inputs: bool,
    max_concurrent: usize,
    permits: Arc<Semaphore>,
    pool: WorkerPool,
}

impl Renderer {
    /// A renderer that runs at most `max_concurrent_evals` evaluations at a time (at least one), each in a worker
    /// process started with `worker` and kept warm for the next; workers are replaced as [`Recycling::default`]
    /// says until [`Renderer::with_recycling`] says otherwise.
    pub fn new(limits: Limits, max_concurrent_evals: usize, worker: WorkerCommand) -> Self {
        let max_concurrent = max_concurrent_evals.max(1);
        Self {
            limits,
            record_inputs: false,
            max_concurrent,
            permits: Arc::new(Semaphore::new(max_concurrent)),
            pool: WorkerPool::new(worker, Recycling::default()),
        }
    }

    /// The same renderer, replacing its workers as `recycling` says (`LimitArgs::recycling` reads the flags). A
    /// renderer that runs one job in its life (`jaas render`) does best with `max_evaluations: 1`: the worker then
    /// answers and exits without freeing its heap first.
    #[must_use]
    pub fn with_recycling(self, recycling: Recycling) -> Self {
        Self { pool: self.pool.with_recycling(recycling), ..self }
    }

    /// The same renderer, failing an evaluation whose value is more than `max_bytes` of JSON with
    /// [`RenderError::OutputTooLarge`] (`--max-evaluation-output-bytes`; 32 MiB until this is called).
    #[must_use]
    pub fn with_max_output_bytes(self, max_bytes: u64) -> Self {
        Self { pool: self.pool.with_max_reply_bytes(max_bytes), ..self }
    }

    /// The same renderer, packing the files each render read into [`RenderedArtifact::inputs`], as a revision
    /// record holds them ([`crate::record`]): the worker packs them from its evaluator's file cache after sending the
    /// value, and sends back kilobytes.
    #[must_use]
    pub fn recording_inputs(self) -> Self {
        Self { record_inputs: true, ..self }
    }

    /// Number of evaluations running right now.
    pub fn in_flight(&self) -> usize {
        self.max_concurrent - self.permits.available_permits()
    }

    /// What happened to the worker processes so far: started, recycled, killed, discarded.
    pub fn pool_stats(&self) -> PoolStats {
        self.pool.stats()
    }

    /// The process ids of the live worker processes (idle or busy), in ascending order.
    pub fn worker_pids(&self) -> Vec<u32> {
        self.pool.worker_pids()
    }

    /// Renders `request` into a reproducible tarball.
    ///
    /// `Rendered` output evaluates the entry file as [`Renderer::evaluate`] does; `Source` output packs the files
    /// unevaluated.
    pub async fn render(&self, request: &RenderRequest) -> Result<RenderedArtifact, RenderError> {
        let (entries, files_read, inputs, objects) = match request.output {
            OutputMode::Source => {
                request.validate()?;
                let (request, record_inputs) = (request.clone(), self.record_inputs);
                let collected = tokio::task::spawn_blocking(move || {
                    let entries = source_entries(&request)?;
                    let files = entries.iter().map(|entry| (entry.path.as_str(), entry.content.as_slice()));
                    let inputs = record_inputs.then(|| PackedInputs::pack(files));
                    Ok::<_, RenderError>((entries, inputs.transpose()?))
                });
                let (entries, inputs) = collected
                    .await
                    .map_err(|error| RenderError::Internal(format!("collecting the sources failed: {error}")))??;
                let packed = entries.iter().map(|entry| entry.path.clone()).collect();
                (entries, packed, inputs, 0)
            }
            OutputMode::Rendered => {
                let Evaluation { files_read, value, inputs } = self.evaluation(request).await?;
                if self.record_inputs && inputs.is_none() {
                    return Err(RenderError::Internal(
                        "the evaluation worker sent no packed inputs for the record (its stderr says why)".to_owned(),
                    ));
                }
                let (entries, objects) = tokio::task::spawn_blocking(move || {
                    let entries = rendered_entries(&value);
                    drop_in_background(value);
                    entries
                })
                .await
                .map_err(|error| RenderError::Internal(format!("shaping the output failed: {error}")))??;
                (entries, files_read, inputs, objects)
            }
        };
        let limit = self.limits.max_artifact_bytes;
        let packed = tokio::task::spawn_blocking(move || pack(entries, limit))
            .await
            .map_err(|error| RenderError::Internal(format!("packing the artifact failed: {error}")))??;
        Ok(RenderedArtifact { files_read, inputs, objects, ..packed })
    }

    /// Evaluates the request's entry file (top-level arguments applied) to its JSON value, before any manifest
    /// shaping, in a worker process: waits for a free slot first, and fails with
    /// [`RenderError::EvaluationTimeout`] when the evaluation outruns the limit (its worker is killed). The
    /// request's output mode is not looked at.
    pub async fn evaluate(&self, request: &RenderRequest) -> Result<serde_json::Value, RenderError> {
        Ok(self.evaluation(request).await?.value)
    }

    /// [`Self::evaluate`], with the files the evaluation read.
    async fn evaluation(&self, request: &RenderRequest) -> Result<Evaluation, RenderError> {
        request.validate()?;
        let task = WorkerTask::Evaluate {
            request: request.clone(),
            max_stack: self.limits.max_stack,
            record_inputs: self.record_inputs,
        };
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| RenderError::Internal("the renderer is shutting down".to_owned()))?;
        match self.pool.run(task, self.limits.evaluation_timeout).await? {
            WorkerReply::Evaluated(evaluation) => Ok(evaluation),
            WorkerReply::Failed(error) => Err(error),
        }
    }

    /// The limits every render of this renderer obeys.
    pub fn limits(&self) -> Limits {
        self.limits
    }
}

/// The manifest files and `rendered.json`, and how many objects the manifests hold; the JSON is encoded on a
/// thread of its own meanwhile.
fn rendered_entries(value: &serde_json::Value) -> Result<(Vec<TarEntry>, usize), RenderError> {
    let files = shape_manifests(value)?;
    let objects = files.iter().map(|file| file.documents.len()).sum();
    std::thread::scope(|scope| {
        let json = scope.spawn(|| pretty_json(value));
        let mut entries = Vec::with_capacity(files.len() + 1);
        for file in files {
            entries.push(TarEntry { path: file.name, content: yaml_documents(&file.documents)?.into_bytes() });
        }
        let json = json.join().unwrap_or_else(|_| Err(RenderError::Internal("the JSON encoder panicked".to_owned())));
        entries.push(TarEntry { path: RENDERED_JSON.to_owned(), content: json?.into_bytes() });
        Ok((entries, objects))
    })
}

/// Frees a large value on a thread of its own, so the render does not wait for it (a thousand manifests take
/// milliseconds to free node by node).
fn drop_in_background(value: serde_json::Value) {
    let dropped = std::thread::Builder::new().name("drop-rendered".to_owned()).spawn(move || drop(value));
    if let Err(error) = dropped {
        tracing::debug!(%error, "no thread to free the rendered value; it was freed in line");
    }
}

fn pack(entries: Vec<TarEntry>, max_bytes: u64) -> Result<RenderedArtifact, RenderError> {
    let mut files: Vec<String> = entries.iter().map(|entry| entry.path.clone()).collect();
    files.sort();
    let tarball = reproducible_tar_gz(entries)
        .map_err(|error| RenderError::Internal(format!("cannot pack the artifact: {error}")))?;
    let size = tarball.len() as u64;
    if max_bytes > 0 && size > max_bytes {
        return Err(RenderError::ArtifactTooLarge { size, limit: max_bytes });
    }
    Ok(RenderedArtifact {
        sha256: Sha256::digest(&tarball).into(),
        tarball: Bytes::from(tarball),
        files,
        files_read: Vec::new(),
        inputs: None,
        objects: 0,
    })
}
