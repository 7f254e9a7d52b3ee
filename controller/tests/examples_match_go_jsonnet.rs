//! The examples agree with go-jsonnet: every `jaas render` command line in examples/README.md is run with
//! `--format json`, go-jsonnet evaluates the same sources with the same imports, external variables and top-level
//! arguments, and the values must be equal (strings byte for byte, numbers as doubles). No allowlist: an example
//! is what users copy, so it has to render the same under both implementations.

mod render_support;

use std::path::{Path, PathBuf};

use jaas_controller::crd::{JsonnetLibrary, JsonnetSnippet, SnippetVariable};
use render_support::go_jsonnet::{self, GoJob, Outcome};
use serde_json::Value;

/// Fewer command lines than this means the README's table went missing, not that every example agrees.
const MIN_EXAMPLES: usize = 3;

/// What one README command line asks `jaas render` for, read as controller/src/render_command.rs reads it.
#[derive(Debug, Default)]
struct Invocation {
    /// The command line after `jaas render`, as written in the README.
    args: Vec<String>,
    /// The input file: JsonnetSnippet YAML or a plain Jsonnet entry file.
    input: PathBuf,
    /// `--library` JsonnetLibrary YAML files.
    libraries: Vec<PathBuf>,
    /// `--ext-str` / `--ext-code`.
    ext_vars: Vec<SnippetVariable>,
    /// `--tla-str` / `--tla-code`.
    tlas: Vec<SnippetVariable>,
}

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A path of a command line (relative to the repository root, where the README's commands run), canonical.
fn existing(path: &str) -> PathBuf {
    std::fs::canonicalize(repository().join(path))
        .unwrap_or_else(|e| panic!("examples/README.md names {path}, which cannot be read: {e}"))
}

/// The `jaas render …` code spans of the README's table rows.
fn readme_invocations() -> Vec<Invocation> {
    let readme_path = render_support::examples().join("README.md");
    let readme =
        std::fs::read_to_string(&readme_path).unwrap_or_else(|e| panic!("cannot read {}: {e}", readme_path.display()));
    readme
        .lines()
        .filter(|line| line.starts_with('|'))
        .flat_map(|row| row.split('`').skip(1).step_by(2))
        .filter_map(|span| span.strip_prefix("jaas render "))
        .map(|command| {
            assert!(
                !command.contains(['\'', '"', '\\', '$']),
                "`jaas render {command}`: this test splits command lines at spaces and cannot follow quoting"
            );
            parse_invocation(command.split_whitespace().map(str::to_owned).collect())
        })
        .collect()
}

fn parse_invocation(args: Vec<String>) -> Invocation {
    let mut invocation = Invocation::default();
    let mut input = None;
    let mut words = args.iter();
    while let Some(word) = words.next() {
        if !word.starts_with('-') {
            assert!(input.replace(existing(word)).is_none(), "two input files in `jaas render {}`", args.join(" "));
            continue;
        }
        let (flag, inline) = match word.split_once('=') {
            Some((flag, value)) => (flag, Some(value.to_owned())),
            None => (word.as_str(), None),
        };
        let value = inline.or_else(|| words.next().cloned()).unwrap_or_else(|| panic!("{flag} lacks its value"));
        let variable = |code| {
            let (name, value) = value.split_once('=').unwrap_or_else(|| panic!("{flag} {value}: expected NAME=VALUE"));
            SnippetVariable { name: name.to_owned(), value: value.to_owned(), code }
        };
        match flag {
            "--library" => invocation.libraries.push(existing(&value)),
            "--ext-str" => invocation.ext_vars.push(variable(false)),
            "--ext-code" => invocation.ext_vars.push(variable(true)),
            "--tla-str" => invocation.tlas.push(variable(false)),
            "--tla-code" => invocation.tlas.push(variable(true)),
            other => panic!("examples/README.md uses `{other}`: teach this test how to hand it to go-jsonnet"),
        }
    }
    invocation.input = input.unwrap_or_else(|| panic!("no input file in `jaas render {}`", args.join(" ")));
    invocation.args = args;
    invocation
}

/// The same evaluation for go-jsonnet, and the scratch directory it reads (kept until go-jsonnet has run).
///
/// Imports must resolve as render/src/resolver.rs resolves them: next to the importing file, then in
/// each library in the order listed, then from the snippet's root. So a JsonnetSnippet's files are written at the
/// root of a scratch directory, each library's under `<library>/`, and the search path is the libraries and then
/// the root. A plain entry file stays where it is: its directory is the root.
fn go_job(invocation: &Invocation) -> (GoJob, Option<tempfile::TempDir>) {
    let is_yaml = invocation.input.extension().is_some_and(|ext| ext == "yaml" || ext == "yml");
    let (file, search, ext_vars, tlas, scratch) = if is_yaml {
        let snippet: JsonnetSnippet = serde_saphyr::from_str(&read(&invocation.input))
            .unwrap_or_else(|e| panic!("{} is not a JsonnetSnippet: {e}", invocation.input.display()));
        let libraries: Vec<JsonnetLibrary> = invocation
            .libraries
            .iter()
            .flat_map(|path| {
                serde_saphyr::from_str_multiple::<JsonnetLibrary, Vec<_>>(&read(path))
                    .unwrap_or_else(|e| panic!("{} is not JsonnetLibrary YAML: {e}", path.display()))
            })
            .collect();
        let mut files: Vec<(String, &str)> =
            snippet.spec.files.iter().map(|(path, content)| (path.clone(), content.as_str())).collect();
        for name in &snippet.spec.libraries {
            let library = libraries
                .iter()
                .find(|library| library.metadata.name.as_ref() == Some(name))
                .unwrap_or_else(|| panic!("{name:?} is in none of the --library files"));
            files.extend(library.spec.files.iter().map(|(path, content)| (format!("{name}/{path}"), content.as_str())));
        }
        let files: Vec<(&str, &str)> = files.iter().map(|(path, content)| (path.as_str(), *content)).collect();
        let dir = render_support::tree(&files);
        let mut search: Vec<PathBuf> = snippet.spec.libraries.iter().map(|name| dir.path().join(name)).collect();
        search.push(dir.path().to_path_buf());
        let spec = &snippet.spec;
        (dir.path().join(&spec.entry_file), search, spec.external_variables.clone(), spec.tlas.clone(), Some(dir))
    } else {
        let root = invocation.input.parent().expect("a file has a directory").to_path_buf();
        (invocation.input.clone(), vec![root], invocation.ext_vars.clone(), invocation.tlas.clone(), None)
    };
    let mut job = GoJob {
        file: file.to_string_lossy().into_owned(),
        // go-jsonnet searches its jpath right-most first.
        jpathdir: search.iter().rev().map(|dir| dir.to_string_lossy().into_owned()).collect(),
        ..GoJob::default()
    };
    for variable in ext_vars {
        let target = if variable.code { &mut job.ext_codes } else { &mut job.ext_vars };
        target.insert(variable.name, variable.value);
    }
    for variable in tlas {
        let target = if variable.code { &mut job.tla_codes } else { &mut job.tla_vars };
        target.insert(variable.name, variable.value);
    }
    (job, scratch)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Example directories `jaas render` cannot run from the README alone, each covered by another test:
/// `flux-source/` needs its Git trees ([`flux_source_examples_are_admitted_and_ask_for_their_trees`]), `serve/` is
/// a `jaas serve` tree of values, not manifests (tests/serve_http and tests/eval_cli evaluate it).
const COVERED_ELSEWHERE: [&str; 2] = ["flux-source", "serve"];

/// Every example directory and every YAML file in one is named by some README command line, so an example added
/// without its line in the README fails here instead of going untested.
fn assert_readme_covers_every_example(invocations: &[Invocation]) {
    let named: Vec<&PathBuf> = invocations
        .iter()
        .flat_map(|invocation| std::iter::once(&invocation.input).chain(&invocation.libraries))
        .collect();
    let examples = std::fs::canonicalize(render_support::examples()).expect("examples/ exists");
    for entry in std::fs::read_dir(&examples).expect("read examples/") {
        let dir = entry.expect("entry of examples/").path();
        let covered_elsewhere = dir.file_name().is_some_and(|name| COVERED_ELSEWHERE.iter().any(|c| name == *c));
        if !dir.is_dir() || covered_elsewhere {
            continue;
        }
        assert!(
            named.iter().any(|path| path.starts_with(&dir)),
            "examples/README.md runs nothing in {}",
            dir.display()
        );
        for file in std::fs::read_dir(&dir).expect("read an example directory") {
            let file = file.expect("entry of an example directory").path();
            if file.extension().is_some_and(|ext| ext == "yaml" || ext == "yml") {
                assert!(named.contains(&&file), "no command line of examples/README.md uses {}", file.display());
            }
        }
    }
}

/// Whether `value` holds a Kubernetes object somewhere: an example that renders nothing proves nothing.
fn holds_a_manifest(value: &Value) -> bool {
    match value {
        Value::Object(object)
            if object.get("apiVersion").is_some_and(Value::is_string) && object.contains_key("kind") =>
        {
            true
        }
        Value::Object(object) => object.values().any(holds_a_manifest),
        Value::Array(items) => items.iter().any(holds_a_manifest),
        _ => false,
    }
}

#[test]
fn readme_examples_render_as_go_jsonnet_evaluates_them() {
    let invocations = readme_invocations();
    assert!(
        invocations.len() >= MIN_EXAMPLES,
        "expected at least {MIN_EXAMPLES} `jaas render` command lines in examples/README.md, found {}",
        invocations.len()
    );
    assert_readme_covers_every_example(&invocations);
    let (jobs, _scratch): (Vec<GoJob>, Vec<_>) = invocations.iter().map(go_job).unzip();
    let reference = go_jsonnet::evaluate(&jobs);
    let mut failures = Vec::new();
    for (invocation, expected) in invocations.iter().zip(&reference) {
        let command = format!("jaas render {}", invocation.args.join(" "));
        let output = render_support::jaas()
            .current_dir(repository())
            .arg("render")
            .args(&invocation.args)
            // The test checks results, not speed: a debug build on a busy CI machine may need longer than 5 s.
            .args(["--format", "json", "--evaluation-timeout", "120s"])
            .output()
            .expect("run jaas render");
        match (Outcome::of_jaas_json(&output), expected) {
            (Outcome::Value(ours), Outcome::Value(reference)) => {
                if let Some(difference) = go_jsonnet::first_difference(&ours, reference) {
                    failures.push(format!("--- `{command}` differs from go-jsonnet {difference}"));
                } else if !holds_a_manifest(&ours) {
                    failures.push(format!("--- `{command}` renders no Kubernetes object:\n{ours}"));
                }
            }
            (ours, expected) => failures.push(format!(
                "--- `{command}` must evaluate under both\ngo-jsonnet: {}\njaas: {}",
                expected.describe(),
                ours.describe()
            )),
        }
    }
    println!(
        "examples: {}/{} command lines of examples/README.md agree with go-jsonnet",
        invocations.len() - failures.len(),
        invocations.len()
    );
    assert!(failures.is_empty(), "{} examples are wrong:\n{}", failures.len(), failures.join("\n"));
}

/// The Flux-sourced examples pass the API server's admission (a rejected manifest exits 1) and then ask for the
/// local copy of their source's tree (a usage error, exit 2), naming the flag; the GitRepositories parse as Flux's.
#[test]
fn flux_source_examples_are_admitted_and_ask_for_their_trees() {
    let dir = render_support::examples().join("flux-source");
    let path = |file: &str| dir.join(file).to_string_lossy().into_owned();
    let snippet = render_support::render(&[&path("snippet.yaml")]);
    assert_eq!(snippet.status.code(), Some(2), "{snippet:?}");
    assert!(render_support::stderr(&snippet).contains("--source-dir DIR"), "{snippet:?}");
    let with_library =
        render_support::render(&[&path("snippet-with-library.yaml"), "--library", &path("library.yaml")]);
    assert_eq!(with_library.status.code(), Some(2), "{with_library:?}");
    assert!(render_support::stderr(&with_library).contains("--library-dir"), "{with_library:?}");
    let sources: Vec<jaas_controller::crd::GitRepository> =
        serde_saphyr::from_multiple(&read(&dir.join("gitrepositories.yaml"))).expect("the GitRepositories parse");
    assert!(!sources.is_empty() && sources.iter().all(|source| source.spec.url.starts_with("https://")));
}
