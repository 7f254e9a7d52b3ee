//! The [`Renderer`]: runs each evaluation in a worker process (bounded in number, killed on timeout),
//! then shapes the value into manifests and packs the reproducible tarball.

use std::{process::Stdio, sync::Arc};

use bytes::Bytes;
use sha2::{Digest as _, Sha256};
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWriteExt},
    process::Command,
    sync::Semaphore,
};

use crate::{
    Limits, OutputMode, RenderError, RenderRequest, WorkerCommand,
    output::{RENDERED_JSON, shape_manifests},
    protocol::{WorkerJob, WorkerReply},
    source_tree::source_entries,
    tarball::{TarEntry, reproducible_tar_gz},
    yaml::{pretty_json, yaml_documents},
};

/// Text the Rust runtime prints when a thread overflows its native stack, just before aborting.
const NATIVE_STACK_OVERFLOW: &str = "has overflowed its stack";
/// How much of a crashed worker's stderr is quoted in the error.
const STDERR_TAIL_CHARS: usize = 2000;
/// How much of a worker's stderr (e.g. `std.trace` output) is kept in memory; older output is dropped.
const STDERR_KEEP_BYTES: usize = 64 * 1024;

/// A rendered artifact: the tarball, its digest and the paths it contains (sorted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedArtifact {
    /// The reproducible tar.gz.
    pub tarball: Bytes,
    /// sha256 of `tarball`.
    pub sha256: [u8; 32],
    /// Paths of the files in the tarball, sorted.
    pub files: Vec<String>,
}

/// Renders requests; cheap to share behind an `Arc`, safe to call concurrently.
#[derive(Debug)]
pub struct Renderer {
    limits: Limits,
    max_concurrent: usize,
    permits: Arc<Semaphore>,
    worker: WorkerCommand,
}

impl Renderer {
    /// A renderer that runs at most `max_concurrent_evals` workers at a time (at least one), each started
    /// with `worker`.
    pub fn new(limits: Limits, max_concurrent_evals: usize, worker: WorkerCommand) -> Self {
        let max_concurrent = max_concurrent_evals.max(1);
        Self { limits, max_concurrent, permits: Arc::new(Semaphore::new(max_concurrent)), worker }
    }

    /// Number of evaluations running right now.
    pub fn in_flight(&self) -> usize {
        self.max_concurrent - self.permits.available_permits()
    }

    /// Renders `request` into a reproducible tarball.
    ///
    /// `Rendered` output evaluates the entry file in a worker process (waiting for a free slot first);
    /// `Source` output packs the files unevaluated.
    pub async fn render(&self, request: &RenderRequest) -> Result<RenderedArtifact, RenderError> {
        request.validate()?;
        let entries = match request.output {
            OutputMode::Source => {
                let request = request.clone();
                tokio::task::spawn_blocking(move || source_entries(&request))
                    .await
                    .map_err(|error| RenderError::Internal(format!("collecting the sources failed: {error}")))??
            }
            OutputMode::Rendered => {
                let value = self.evaluate_in_worker(request).await?;
                tokio::task::spawn_blocking(move || {
                    let entries = rendered_entries(&value);
                    drop_in_background(value);
                    entries
                })
                .await
                .map_err(|error| RenderError::Internal(format!("shaping the output failed: {error}")))??
            }
        };
        let limit = self.limits.max_artifact_bytes;
        tokio::task::spawn_blocking(move || pack(entries, limit))
            .await
            .map_err(|error| RenderError::Internal(format!("packing the artifact failed: {error}")))?
    }

    async fn evaluate_in_worker(&self, request: &RenderRequest) -> Result<serde_json::Value, RenderError> {
        let job = serde_json::to_vec(&WorkerJob { request: request.clone(), max_stack: self.limits.max_stack })
            .map_err(|error| RenderError::Internal(format!("cannot encode the evaluation job: {error}")))?;
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| RenderError::Internal("the renderer is shutting down".to_owned()))?;
        let program = self.worker.program.display().to_string();
        let mut child = Command::new(&self.worker.program)
            .args(&self.worker.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|error| RenderError::Internal(format!("cannot start the evaluation worker {program}: {error}")))?;
        let (Some(mut stdin), Some(mut stdout), Some(mut stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(RenderError::Internal("the evaluation worker has no stdio pipes".to_owned()));
        };
        let exchange = async {
            let write = async {
                // A worker that dies early closes its stdin; its exit status explains why.
                let _ = stdin.write_all(&job).await;
                drop(stdin);
            };
            let mut reply = Vec::new();
            let ((), read_reply, diagnostics) =
                tokio::join!(write, stdout.read_to_end(&mut reply), read_tail(&mut stderr, STDERR_KEEP_BYTES));
            let status = child.wait().await;
            (read_reply.map(|_| reply), String::from_utf8_lossy(&diagnostics).into_owned(), status)
        };
        let outcome = tokio::time::timeout(self.limits.evaluation_timeout, exchange).await;
        let Ok((reply, diagnostics, status)) = outcome else {
            // Kill and reap, so a runaway evaluation stops burning a core and leaves no zombie.
            if let Err(error) = child.kill().await {
                tracing::warn!(%error, "cannot kill a timed-out evaluation worker");
            }
            return Err(RenderError::EvaluationTimeout(self.limits.evaluation_timeout));
        };
        if !diagnostics.is_empty() {
            tracing::debug!(output = %diagnostics, "evaluation worker stderr");
        }
        match reply.ok().and_then(|reply| serde_json::from_slice::<WorkerReply>(&reply).ok()) {
            Some(WorkerReply::Evaluated(value)) => Ok(value),
            Some(WorkerReply::Failed(error)) => Err(error),
            None => Err(crashed(&status.map_or_else(|e| e.to_string(), |s| s.to_string()), &diagnostics)),
        }
    }
}

/// Reads `pipe` to its end (so the writer never blocks on a full pipe), keeping only the last `keep` bytes.
async fn read_tail(pipe: &mut (impl AsyncRead + Unpin), keep: usize) -> Vec<u8> {
    let mut tail = Vec::new();
    let mut chunk = [0_u8; 8192];
    while let Ok(read @ 1..) = pipe.read(&mut chunk).await {
        tail.extend_from_slice(&chunk[..read]);
        if tail.len() > 2 * keep {
            tail.drain(..tail.len() - keep);
        }
    }
    if tail.len() > keep {
        tail.drain(..tail.len() - keep);
    }
    tail
}

/// The error for a worker that ended without a reply.
fn crashed(status: &str, diagnostics: &str) -> RenderError {
    if diagnostics.contains(NATIVE_STACK_OVERFLOW) {
        return RenderError::StackOverflow(
            "the evaluation overflowed the worker's native stack; reduce recursion depth".to_owned(),
        );
    }
    let tail: String = {
        let chars: Vec<char> = diagnostics.trim().chars().collect();
        chars[chars.len().saturating_sub(STDERR_TAIL_CHARS)..].iter().collect()
    };
    RenderError::Internal(format!("the evaluation worker ended ({status}) without a reply: {tail}"))
}

/// The manifest files and `rendered.json`; the JSON is encoded on a thread of its own meanwhile.
fn rendered_entries(value: &serde_json::Value) -> Result<Vec<TarEntry>, RenderError> {
    let files = shape_manifests(value)?;
    std::thread::scope(|scope| {
        let json = scope.spawn(|| pretty_json(value));
        let mut entries = Vec::with_capacity(files.len() + 1);
        for file in files {
            entries.push(TarEntry { path: file.name, content: yaml_documents(&file.documents)?.into_bytes() });
        }
        let json = json.join().unwrap_or_else(|_| Err(RenderError::Internal("the JSON encoder panicked".to_owned())));
        entries.push(TarEntry { path: RENDERED_JSON.to_owned(), content: json?.into_bytes() });
        Ok(entries)
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
    Ok(RenderedArtifact { sha256: Sha256::digest(&tarball).into(), tarball: Bytes::from(tarball), files })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn read_tail_keeps_the_end_of_long_output() {
        let text: Vec<u8> = (0..100_000_u32).flat_map(|i| (i % 251).to_le_bytes()).collect();
        let tail = read_tail(&mut text.as_slice(), 1000).await;
        assert_eq!(tail, text[text.len() - 1000..]);
        assert_eq!(read_tail(&mut &b"short"[..], 1000).await, b"short");
    }

    #[test]
    fn crash_messages_distinguish_native_stack_overflow() {
        let overflow = crashed("signal: 6", "thread 'jsonnet-eval' has overflowed its stack\nfatal runtime error");
        assert_eq!(overflow.reason(), "StackOverflow");
        let other = crashed("signal: 11 (SIGSEGV)", "boom");
        assert_eq!(
            other,
            RenderError::Internal(
                "the evaluation worker ended (signal: 11 (SIGSEGV)) without a reply: boom".to_owned()
            )
        );
    }
}
