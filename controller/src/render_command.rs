//! `jaas render`: renders a JsonnetSnippet YAML file, or a plain Jsonnet entry file, locally with exactly
//! the controller's code path: the manifests are judged as the API server judges them (schema, defaults, pruning;
//! see [`crate::crd::admission`]), turned into a request by [`render_request`] and rendered by a [`Renderer`] with
//! `jaas eval-worker` processes.
//!
//! Exit status: 0 on success; 1 when the API server would reject a manifest or rendering fails (the error on
//! stderr, for a rejection the API server's own message); 2 for bad flags or unreadable files.

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
    time::{Duration, Instant, SystemTime},
};

use jaas_render::record::RevisionRecord;
use jaas_render::{
    LimitArgs, OutputMode, RENDERED_JSON, RenderError, RenderRequest, RenderedArtifact, Renderer, Variable,
    WorkerCommand, plain_request, read_tar_gz,
};

use kube::ResourceExt;

use crate::crd::{JsonnetLibrary, JsonnetSnippet};
use crate::render_input::{ManifestError, libraries_for, read_libraries, read_snippet};
use crate::snippet_request::{SourceDirectories, narrow_to_source_path, render_request};

/// What `jaas render --help` adds below the flags.
const AFTER_HELP: &str = "\
A JsonnetSnippet (and each JsonnetLibrary) is first judged as a Kubernetes 1.20 API server judges it on
`kubectl apply`: a manifest it would reject fails here with its message (exit status 1); its defaults apply;
fields its schema does not declare are dropped, with a warning. The libraries the snippet lists are taken from
the --library files, from the snippet's namespace (a library without one is in the snippet's).

Exit status: 0 rendered; 1 rejected manifest or failed render; 2 bad flags or unreadable file.";

/// Arguments of `jaas render`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = AFTER_HELP)]
pub struct RenderArgs {
    /// A JsonnetSnippet YAML file (`.yaml`/`.yml`), a Jsonnet entry file (its directory is the import tree), or a
    /// directory holding `main.jsonnet` (a jsonnet-bundler project: searches `lib` and `vendor` unless -J is given).
    /// Files are read when an import names them.
    input: PathBuf,
    /// A YAML file of JsonnetLibrary documents providing libraries the snippet lists (repeatable).
    #[arg(long = "library", value_name = "FILE")]
    libraries: Vec<PathBuf>,
    /// The tree of the snippet's `spec.sourceRef` (e.g. a checkout of the GitRepository): rendered as the controller
    /// renders the source's artifact, narrowed to `sourceRef.path`.
    #[arg(long = "source-dir", value_name = "DIR")]
    source_dir: Option<PathBuf>,
    /// The tree of a library's `spec.sourceRef`, `NAME=DIR` (repeatable), narrowed to the library's `sourceRef.path`.
    #[arg(long = "library-dir", value_name = "NAME=DIR", value_parser = parse_assignment)]
    library_dirs: Vec<(String, String)>,
    /// External string variable, `NAME=VALUE` or `NAME` to read the environment (plain entry files only).
    #[arg(long, value_name = "NAME=VALUE", value_parser = parse_assignment)]
    ext_str: Vec<(String, String)>,
    /// External variable as Jsonnet code, `NAME=CODE` (plain entry files only).
    #[arg(long, value_name = "NAME=CODE", value_parser = parse_assignment)]
    ext_code: Vec<(String, String)>,
    /// Top-level string argument, `NAME=VALUE` (plain entry files only).
    #[arg(long, value_name = "NAME=VALUE", value_parser = parse_assignment)]
    tla_str: Vec<(String, String)>,
    /// Top-level argument as Jsonnet code, `NAME=CODE` (plain entry files only).
    #[arg(long, value_name = "NAME=CODE", value_parser = parse_assignment)]
    tla_code: Vec<(String, String)>,
    /// A directory searched by imports, as `jsonnet -J` (the right-most first); one outside the entry's directory is
    /// also mounted under its name (plain Jsonnet only).
    #[arg(short = 'J', long = "jpath", value_name = "DIR")]
    jpaths: Vec<PathBuf>,
    /// Write the artifact (tar.gz) here instead of printing the manifests.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
    /// What to print when no `-o` is given: the YAML documents or the whole value as JSON.
    #[arg(long, value_enum, default_value_t = PrintFormat::Yaml, conflicts_with = "output")]
    format: PrintFormat,
    /// Also write the revision record (what `jaas verify` renders again from) here, as the controller stores it
    /// beside each artifact: the files the render read, the variables, limits and versions, zstd-compressed.
    #[arg(long = "record", value_name = "FILE")]
    record: Option<PathBuf>,
    #[command(flatten)]
    limits: LimitArgs,
}

/// What `jaas render` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum PrintFormat {
    /// All manifest files, `---` between documents.
    Yaml,
    /// `rendered.json`: the whole evaluated value.
    Json,
}

fn parse_assignment(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_owned(), value.to_owned())),
        Some(_) => Err("the variable name is empty".to_owned()),
        None => std::env::var(text)
            .map(|value| (text.to_owned(), value))
            .map_err(|_| format!("expected NAME=VALUE, or NAME of a set environment variable: {text:?}")),
    }
}

/// Runs `jaas render`.
pub async fn run(args: RenderArgs) -> ExitCode {
    let rendered = match render_artifact(&args).await {
        Ok(rendered) => rendered,
        Err(Failure::Usage(message)) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
        Err(Failure::Render(error)) => return fail(&error),
        Err(Failure::Manifest(error)) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    let written = emit(&args, rendered.request.output, &rendered.artifact)
        .and_then(|()| args.record.as_deref().map_or(Ok(()), |path| write_record(path, &args, &rendered)));
    match written {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(&error),
    }
}

/// Writes the render's revision record to `path` (the render packed its inputs), and says on stderr what it holds.
fn write_record(path: &Path, args: &RenderArgs, rendered: &LocalRender) -> Result<(), RenderError> {
    let limits = args.limits.limits();
    let record = RevisionRecord::of(&rendered.request, &rendered.artifact, limits, rendered.started_at, rendered.took)?;
    let bytes = record.encode()?;
    std::fs::write(path, &bytes)
        .map_err(|error| RenderError::Internal(format!("cannot write {}: {error}", path.display())))?;
    eprintln!("wrote {} ({} bytes: {} files read)", path.display(), bytes.len(), record.request.files.len());
    Ok(())
}

impl RenderArgs {
    /// `jaas render INPUT --library FILE...` with every other flag at its default: how `jaas diff` renders a local
    /// path.
    pub(crate) fn of_input(input: PathBuf, libraries: Vec<PathBuf>) -> Self {
        Self {
            input,
            libraries,
            source_dir: None,
            library_dirs: Vec::new(),
            ext_str: Vec::new(),
            ext_code: Vec::new(),
            tla_str: Vec::new(),
            tla_code: Vec::new(),
            jpaths: Vec::new(),
            output: None,
            format: PrintFormat::Yaml,
            record: None,
            limits: LimitArgs::default(),
        }
    }
}

/// A local render: the artifact, the request it was rendered from, when it started and how long it took.
pub(crate) struct LocalRender {
    /// The artifact `jaas render -o FILE` writes.
    pub artifact: RenderedArtifact,
    /// The request rendered.
    pub request: RenderRequest,
    /// When the render started.
    pub started_at: SystemTime,
    /// How long it took.
    pub took: Duration,
}

/// Renders the input `args` names into the artifact `jaas render -o FILE` writes, in `jaas eval-worker` processes
/// of this binary. `jaas render` and `jaas diff` (for a local path) both render through this.
pub(crate) async fn render_artifact(args: &RenderArgs) -> Result<LocalRender, Failure> {
    let request = build_request(args)?;
    let (started_at, started) = (SystemTime::now(), Instant::now());
    let worker = WorkerCommand::current_exe()
        .map_err(|error| Failure::Render(RenderError::Internal(format!("cannot locate the jaas binary: {error}"))))?;
    let renderer = Renderer::new(args.limits.limits(), args.limits.max_concurrent_evals, worker)
        .with_recycling(args.limits.recycling())
        .with_max_output_bytes(args.limits.max_evaluation_output_bytes);
    let renderer = if args.record.is_some() { renderer.recording_inputs() } else { renderer };
    let artifact = renderer.render(&request).await.map_err(Failure::Render)?;
    Ok(LocalRender { artifact, request, started_at, took: started.elapsed() })
}

/// Why a local render failed: `jaas render` exits 2 for [`Failure::Usage`] and 1 for the others.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Failure {
    /// Bad flags or an unreadable file.
    #[error("{0}")]
    Usage(String),
    /// A manifest the API server would reject.
    #[error(transparent)]
    Manifest(ManifestError),
    /// The render itself failed.
    #[error(transparent)]
    Render(RenderError),
}

fn build_request(args: &RenderArgs) -> Result<RenderRequest, Failure> {
    let is_yaml = args.input.extension().is_some_and(|ext| ext == "yaml" || ext == "yml");
    if is_yaml {
        let plain_only = !args.ext_str.is_empty()
            || !args.ext_code.is_empty()
            || !args.tla_str.is_empty()
            || !args.tla_code.is_empty()
            || !args.jpaths.is_empty();
        if plain_only {
            return Err(Failure::Usage(
                "--ext-*, --tla-* and -J apply to plain Jsonnet entry files; a JsonnetSnippet carries its own"
                    .to_owned(),
            ));
        }
        return snippet_request_from_files(args);
    }
    if !args.libraries.is_empty() || args.source_dir.is_some() || !args.library_dirs.is_empty() {
        return Err(Failure::Usage(
            "--library, --source-dir and --library-dir apply to JsonnetSnippet YAML input; use -J DIR with Jsonnet \
             files"
                .to_owned(),
        ));
    }
    let mut request = plain_request(&args.input, &args.jpaths).map_err(Failure::Render)?;
    request.ext_vars = variables(&args.ext_str, false).chain(variables(&args.ext_code, true)).collect();
    request.tlas = variables(&args.tla_str, false).chain(variables(&args.tla_code, true)).collect();
    Ok(request)
}

/// The request of a JsonnetSnippet YAML file and its `--library` files, each manifest admitted as the API server
/// would admit it; what the API server would drop is named on stderr.
fn snippet_request_from_files(args: &RenderArgs) -> Result<RenderRequest, Failure> {
    let snippet_origin = args.input.display().to_string();
    let snippet = read_snippet(&snippet_origin, &read(&args.input)?).map_err(Failure::Manifest)?;
    warn_pruned(&snippet_origin, &snippet.pruned_fields);
    let mut available = Vec::new();
    for path in &args.libraries {
        let origin = path.display().to_string();
        for library in read_libraries(&origin, &read(path)?).map_err(Failure::Manifest)? {
            warn_pruned(&origin, &library.pruned_fields);
            available.push(library.object);
        }
    }
    let libraries = libraries_for(&snippet.object, &available).map_err(|error| {
        eprintln!("hint: pass the file that defines each library the snippet lists with --library FILE");
        Failure::Render(error)
    })?;
    let directories = source_directories(args, &snippet.object, &libraries)?;
    Ok(render_request(&snippet.object, &libraries, &directories))
}

/// The local trees standing in for the Flux sources of the snippet and its libraries (`--source-dir`,
/// `--library-dir`), each narrowed to its `sourceRef.path` as the controller narrows a source's artifact.
fn source_directories(
    args: &RenderArgs,
    snippet: &JsonnetSnippet,
    libraries: &[JsonnetLibrary],
) -> Result<SourceDirectories, Failure> {
    let mut directories = SourceDirectories::default();
    match (&snippet.spec.source_ref, &args.source_dir) {
        (Some(reference), Some(dir)) => {
            let root = narrow_to_source_path(dir, reference.path.as_deref())
                .map_err(|why| Failure::Usage(format!("--source-dir {}: {why}", dir.display())))?;
            directories.snippet = Some(root);
        }
        (Some(reference), None) => {
            return Err(Failure::Usage(format!(
                "the snippet reads its Jsonnet from {} {:?} (spec.sourceRef): pass a local copy of that tree with \
                 --source-dir DIR",
                reference.kind, reference.name
            )));
        }
        (None, Some(_)) => return Err(Failure::Usage("--source-dir: the snippet has no spec.sourceRef".to_owned())),
        (None, None) => {}
    }
    for library in libraries {
        let name = library.name_any();
        let given = args.library_dirs.iter().find(|(library_name, _)| *library_name == name);
        match (&library.spec.source_ref, given) {
            (Some(reference), Some((_, dir))) => {
                let root = narrow_to_source_path(Path::new(dir), reference.path.as_deref())
                    .map_err(|why| Failure::Usage(format!("--library-dir {name}={dir}: {why}")))?;
                directories.libraries.insert(name, root);
            }
            (Some(reference), None) => {
                return Err(Failure::Usage(format!(
                    "JsonnetLibrary {name:?} reads its files from {} {:?} (spec.sourceRef): pass a local copy of \
                     that tree with --library-dir {name}=DIR",
                    reference.kind, reference.name
                )));
            }
            (None, _) => {}
        }
    }
    if let Some((name, _)) = args.library_dirs.iter().find(|(name, _)| !directories.libraries.contains_key(name)) {
        return Err(Failure::Usage(format!(
            "--library-dir {name}=...: the snippet lists no library {name:?} with a spec.sourceRef"
        )));
    }
    Ok(directories)
}

/// Warns of fields the API server would drop silently: most often a misspelt field name.
fn warn_pruned(origin: &str, pruned_fields: &[String]) {
    for field in pruned_fields {
        eprintln!("warning: {origin}: unknown field {field:?}, which the API server drops");
    }
}

fn variables(pairs: &[(String, String)], code: bool) -> impl Iterator<Item = Variable> + '_ {
    pairs.iter().map(move |(name, value)| Variable { name: name.clone(), value: value.clone(), code })
}

fn read(path: &Path) -> Result<String, Failure> {
    std::fs::read_to_string(path).map_err(|error| Failure::Usage(format!("cannot read {}: {error}", path.display())))
}

fn emit(args: &RenderArgs, mode: OutputMode, artifact: &RenderedArtifact) -> Result<(), RenderError> {
    if let Some(path) = &args.output {
        std::fs::write(path, &artifact.tarball)
            .map_err(|error| RenderError::Internal(format!("cannot write {}: {error}", path.display())))?;
        eprintln!(
            "wrote {} ({}, {} files)",
            path.display(),
            jaas_shared::Digest::from_sha256(artifact.sha256),
            artifact.files.len()
        );
        return Ok(());
    }
    let files = unpack(artifact)?;
    let text = match (mode, args.format) {
        (OutputMode::Source, _) => files.iter().fold(String::new(), |mut list, (path, _)| {
            list.push_str(path);
            list.push('\n');
            list
        }),
        (OutputMode::Rendered, PrintFormat::Json) => {
            files.into_iter().find(|(path, _)| path == RENDERED_JSON).map(|(_, content)| content).unwrap_or_default()
        }
        (OutputMode::Rendered, PrintFormat::Yaml) => files
            .into_iter()
            .filter(|(path, _)| Path::new(path).extension().is_some_and(|ext| ext == "yaml"))
            .map(|(_, content)| content)
            .collect::<Vec<_>>()
            .join("---\n"),
    };
    print!("{text}");
    Ok(())
}

/// The artifact's files, read back from the tarball so that what is printed is exactly what is shipped.
fn unpack(artifact: &RenderedArtifact) -> Result<Vec<(String, String)>, RenderError> {
    let entries = read_tar_gz(&artifact.tarball)
        .map_err(|error| RenderError::Internal(format!("cannot read back the artifact: {error}")))?;
    Ok(entries.into_iter().map(|entry| (entry.path, String::from_utf8_lossy(&entry.content).into_owned())).collect())
}

fn fail(error: &RenderError) -> ExitCode {
    eprintln!("error: {error}");
    ExitCode::FAILURE
}
