//! `jaas verify`: renders a revision again from its record alone (`jaas_render::record`) and checks that the
//! tarball comes out with the recorded digest, bit for bit. For a revision in storage it also checks the stored
//! tarball against its name and the record against the revision it sits beside.

use std::path::PathBuf;
use std::process::ExitCode;

use futures::StreamExt as _;
use jaas_render::record::{RecordError, RevisionRecord};
use jaas_render::{LimitArgs, Renderer, WorkerCommand};
use jaas_shared::config::StorageArgs;
use jaas_shared::{ArtifactKey, Digest, ObjectKind, SnippetRef};

use crate::revision_ref::{RevisionError, RevisionRef, RevisionSources};

const AFTER_HELP: &str = "\
Each RECORD is a record file (`<digest>.record.zst`, as stored beside each tarball), one stored revision
`<namespace>/<name>@sha256:<hex>`, or `<namespace>/<name>` for every stored revision of a snippet that has a record.
Stored revisions are read with the storage flags `jaas run` takes (--storage-path, or --storage-backend s3 and
--s3-*). Nothing but the record is rendered: no cluster, library or source is read.

Exit status: 0 every revision rendered to its recorded digest; 1 a revision did not (or its stored tarball does not
match its name); 2 a record could not be read or rendered.";

/// Arguments of `jaas verify`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = AFTER_HELP)]
pub struct VerifyArgs {
    /// Record files, stored revisions (`<namespace>/<name>@sha256:<hex>`) or snippets (`<namespace>/<name>`).
    #[arg(required = true, value_name = "RECORD")]
    records: Vec<String>,
    /// How many revisions to render at once.
    #[arg(long, default_value_t = 2)]
    jobs: usize,
    #[command(flatten)]
    storage: StorageArgs,
}

/// One revision to verify.
#[derive(Debug, Clone)]
enum Target {
    /// A record file on disk.
    File(PathBuf),
    /// A revision in storage (its tarball's key).
    Stored(ArtifactKey),
}

/// What verifying one revision found.
enum Outcome {
    /// Rendered to the recorded digest.
    Match(String),
    /// Rendered to something else, or the stored bytes do not match their names.
    Mismatch(String),
    /// Could not be checked.
    Failed(String),
}

/// Runs `jaas verify`.
pub async fn run(args: VerifyArgs) -> ExitCode {
    let sources = RevisionSources::new(args.storage.clone());
    let targets = match targets(&args.records, &sources).await {
        Ok(targets) => targets,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    let worker = match WorkerCommand::current_exe() {
        Ok(worker) => worker,
        Err(error) => {
            eprintln!("error: cannot find the jaas binary to start evaluation workers: {error}");
            return ExitCode::from(2);
        }
    };
    let (mut matched, mut mismatched, mut failed) = (0, 0, 0);
    let outcomes = futures::stream::iter(targets)
        .map(|target| verify(target, &sources, worker.clone()))
        .buffered(args.jobs.max(1));
    futures::pin_mut!(outcomes);
    while let Some(outcome) = outcomes.next().await {
        match outcome {
            Outcome::Match(line) => {
                matched += 1;
                println!("ok        {line}");
            }
            Outcome::Mismatch(line) => {
                mismatched += 1;
                println!("MISMATCH  {line}");
            }
            Outcome::Failed(line) => {
                failed += 1;
                println!("ERROR     {line}");
            }
        }
    }
    println!("{matched} verified, {mismatched} mismatched, {failed} not verifiable");
    match (mismatched, failed) {
        (0, 0) => ExitCode::SUCCESS,
        (0, _) => ExitCode::from(2),
        _ => ExitCode::FAILURE,
    }
}

/// The revisions the command line names, a snippet expanded to its stored records.
async fn targets(texts: &[String], sources: &RevisionSources) -> Result<Vec<Target>, String> {
    let mut targets = Vec::new();
    for text in texts {
        if text.ends_with(ObjectKind::Record.suffix()) {
            targets.push(Target::File(PathBuf::from(text)));
        } else if text.contains('@') {
            match RevisionRef::parse(text).map_err(|error| error.to_string())? {
                RevisionRef::Stored(key) => targets.push(Target::Stored(key)),
                _ => return Err(format!("{text:?} is not <namespace>/<name>@sha256:<hex>")),
            }
        } else {
            let snippet = snippet_of(text)?;
            let store = sources.store().await.map_err(|error| error.to_string())?;
            let mut stored = store.list(&snippet).await.map_err(|error| format!("{text}: {error}"))?;
            stored.retain(|meta| meta.key.kind() == ObjectKind::Record);
            if stored.is_empty() {
                return Err(format!("storage holds no revision record of {snippet}"));
            }
            stored.sort_by_key(|meta| std::cmp::Reverse(meta.last_modified));
            targets.extend(stored.into_iter().map(|meta| Target::Stored(meta.key.tarball_key())));
        }
    }
    Ok(targets)
}

fn snippet_of(text: &str) -> Result<SnippetRef, String> {
    let (namespace, name) = text.split_once('/').ok_or_else(|| {
        format!("{text:?} is not a record file, <namespace>/<name>@sha256:<hex> or <namespace>/<name>")
    })?;
    SnippetRef::new(namespace, name).map_err(|error| format!("{text:?}: {error}"))
}

/// Verifies one revision.
async fn verify(target: Target, sources: &RevisionSources, worker: WorkerCommand) -> Outcome {
    let (name, bytes) = match read_record(&target, sources).await {
        Ok(read) => read,
        Err(message) => return Outcome::Failed(message),
    };
    let record = match RevisionRecord::decode(&bytes) {
        Ok(record) => record,
        Err(error) => return Outcome::Failed(format!("{name}: {error}")),
    };
    if let Target::Stored(key) = &target {
        if record.revision.digest != key.digest().to_string() {
            let recorded = &record.revision.digest;
            return Outcome::Mismatch(format!(
                "{name}: the record describes {recorded}, not the revision it is stored as"
            ));
        }
        if let Err(outcome) = check_stored_tarball(key, sources, &name).await {
            return outcome;
        }
    }
    match render_again(&record, worker).await {
        Ok(rendered) if rendered == record.revision.digest => {
            let (files, objects) = (record.request.files.len(), record.revision.objects);
            let evaluator = &record.versions.evaluator;
            Outcome::Match(format!(
                "{name}: {rendered} ({files} files read, {objects} objects; recorded by {evaluator})"
            ))
        }
        Ok(rendered) => Outcome::Mismatch(format!("{name}: recorded {}, rendered {rendered}", record.revision.digest)),
        Err(message) => Outcome::Failed(format!("{name}: {message}")),
    }
}

/// The record's name for messages and its bytes.
async fn read_record(target: &Target, sources: &RevisionSources) -> Result<(String, Vec<u8>), String> {
    match target {
        Target::File(path) => {
            let bytes = tokio::fs::read(path).await.map_err(|error| format!("{}: {error}", path.display()))?;
            Ok((path.display().to_string(), bytes))
        }
        Target::Stored(key) => {
            let name = format!("{}@{}", key.snippet(), key.digest());
            let store = sources.store().await.map_err(|error| format!("{name}: {error}"))?;
            let read = async { store.get(&key.record_key(), None).await?.bytes().await };
            let bytes = read.await.map_err(|error| format!("{name}: the record: {error}"))?;
            Ok((name, bytes.to_vec()))
        }
    }
}

/// Checks that the stored tarball's bytes hash to the digest it is named by.
async fn check_stored_tarball(key: &ArtifactKey, sources: &RevisionSources, name: &str) -> Result<(), Outcome> {
    let bytes = RevisionRef::Stored(key.clone())
        .load(sources)
        .await
        .map_err(|error: RevisionError| Outcome::Failed(format!("{name}: the stored tarball: {error}")))?;
    let stored = Digest::of(&bytes);
    if stored == key.digest() {
        Ok(())
    } else {
        Err(Outcome::Mismatch(format!("{name}: the stored tarball's bytes hash to {stored}")))
    }
}

/// Renders the record's request under its limits; the tarball's digest.
async fn render_again(record: &RevisionRecord, worker: WorkerCommand) -> Result<String, String> {
    let scratch = tempfile::tempdir().map_err(|error| format!("no scratch directory: {error}"))?;
    let request = record.replay_request(scratch.path()).map_err(|error: RecordError| error.to_string())?;
    let defaults = LimitArgs::default();
    let renderer = Renderer::new(record.limits(), 1, worker)
        .with_recycling(jaas_render::Recycling { max_evaluations: 1, ..defaults.recycling() })
        .with_max_output_bytes(defaults.max_evaluation_output_bytes);
    let artifact = renderer.render(&request).await.map_err(|error| format!("the render failed: {error}"))?;
    Ok(Digest::from_sha256(artifact.sha256).to_string())
}
