//! `jaas diff A B`: compares two rendered revisions object by object, to review a rollback (or any change) before
//! Flux applies it. Each side is a [`RevisionRef`] loaded through [`crate::revision_ref`]; [`unpack`] reads its
//! tarball, [`objects`] keys its documents by Kubernetes object and [`report`] compares them and prints the result.
//!
//! Exit status as diff(1): 0 no differences; 1 differences; 2 trouble (a bad reference, an unreadable artifact, a
//! storage error), named on stderr.

mod objects;
mod report;
mod unpack;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use jaas_shared::config::StorageArgs;

use crate::revision_ref::{DEFAULT_MAX_ARTIFACT_BYTES, RevisionRef, RevisionSources};
use objects::{Document, ObjectKey, objects};
use report::{Report, compare};
use unpack::unpack;

/// What `jaas diff --help` adds below the flags.
const AFTER_HELP: &str = "\
A and B are each one of:
  FILE.tar.gz                a JaaS artifact, e.g. written by `jaas render -o FILE.tar.gz`
  NAMESPACE/NAME@sha256:HEX  a revision in storage (`@HEX` works too), read with the --storage-* and --s3-* flags
                             `jaas run` takes (and their JAAS_* environment variables)
  http(s)://...              an artifact URL, e.g. an ExternalArtifact's status.artifact.url
  PATH                       a .jsonnet file, a directory or a JsonnetSnippet YAML, rendered as `jaas render PATH`

Objects are keyed by API group, kind, namespace and name, and compared as the YAML text the artifacts hold;
files that hold no manifests (the Jsonnet of an `output: source` artifact) are compared whole, by path.
`+` marks an object only in B, `-` one only in A, `~` one that changed (a unified diff from A to B follows).

Exit status: 0 no differences; 1 differences; 2 bad reference, unreadable artifact or storage error.";

/// Arguments of `jaas diff`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = AFTER_HELP)]
pub struct DiffArgs {
    /// The revision to compare from, e.g. the one served now.
    #[arg(value_name = "A")]
    from: String,
    /// The revision to compare with, e.g. the one to roll back to.
    #[arg(value_name = "B")]
    to: String,
    /// Print only the object headers and the summary line, no diffs.
    #[arg(long)]
    summary: bool,
    /// `text`: headers, unified diffs and a summary line; `json`: the same as one JSON object.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    output: OutputFormat,
    /// A YAML file of JsonnetLibrary documents for a JsonnetSnippet rendered locally (repeatable), as with
    /// `jaas render --library`.
    #[arg(long = "library", value_name = "FILE")]
    libraries: Vec<PathBuf>,
    /// Refuse an artifact whose tarball, or whose unpacked tar stream, is larger than this many bytes.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_ARTIFACT_BYTES)]
    max_artifact_bytes: u64,
    /// Give up downloading an artifact URL after this long (e.g. `30s`).
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = humantime::parse_duration)]
    http_timeout: Duration,
    #[command(flatten, next_help_heading = "Storage (for NAMESPACE/NAME@sha256:HEX)")]
    storage: StorageArgs,
}

/// How `jaas diff` writes its report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum OutputFormat {
    /// For people: `+`/`-`/`~` headers, unified diffs, a summary line.
    Text,
    /// For scripts: `{"added": [...], "removed": [...], "changed": [...], "unchanged": N}`.
    Json,
}

/// Runs `jaas diff`.
pub async fn run(args: DiffArgs) -> ExitCode {
    // Boxed: the future holds the state of two loads (renders included), ~25 KB better kept on the heap than moved.
    let report = match Box::pin(diff(&args)).await {
        Ok(report) => report,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    let text = match args.output {
        OutputFormat::Text => report.text(args.summary),
        OutputFormat::Json => report.json(args.summary),
    };
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Ok(()) => {}
        // The reader has seen enough (`| head`): the status still says whether there were differences.
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => {}
        Err(error) => {
            eprintln!("error: cannot write the report: {error}");
            return ExitCode::from(2);
        }
    }
    ExitCode::from(u8::from(report.has_differences()))
}

/// Loads both revisions (at the same time: each may be a download or a render) and compares them.
async fn diff(args: &DiffArgs) -> Result<Report, String> {
    let from = RevisionRef::parse(&args.from).map_err(|error| format!("A: {error}"))?;
    let to = RevisionRef::parse(&args.to).map_err(|error| format!("B: {error}"))?;
    let sources = RevisionSources::new(args.storage.clone())
        .with_libraries(args.libraries.clone())
        .with_max_bytes(args.max_artifact_bytes)
        .with_http_timeout(args.http_timeout);
    let (from, to) = tokio::join!(objects_of("A", &from, &sources), objects_of("B", &to, &sources));
    Ok(compare(&from?, &to?))
}

/// The keyed documents of one revision; an error names the side and the reference.
async fn objects_of(
    side: &str,
    reference: &RevisionRef,
    sources: &RevisionSources,
) -> Result<BTreeMap<ObjectKey, Document>, String> {
    let failed = |reason: String| format!("{side} ({reference}): {reason}");
    let tarball = reference.load(sources).await.map_err(|error| failed(error.to_string()))?;
    let max_bytes = sources.max_bytes();
    let files = tokio::task::spawn_blocking(move || unpack(&tarball, max_bytes))
        .await
        .map_err(|error| failed(format!("unpacking failed: {error}")))?
        .map_err(|error| failed(error.to_string()))?;
    Ok(objects(&files))
}
