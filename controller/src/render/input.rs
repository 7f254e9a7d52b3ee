//! Inputs of `jaas render`: JsonnetSnippet and JsonnetLibrary YAML files, or a plain Jsonnet entry file
//! with its directory and `-J` library directories, turned into a [`RenderRequest`].

use std::{
    collections::BTreeMap,
    fs,
    path::{Path, PathBuf},
};

use serde::Deserialize;

use super::{Library, OutputMode, RenderError, RenderRequest, Variable};

/// apiVersion of JsonnetSnippet and JsonnetLibrary.
const API_VERSION: &str = "jaas.metio.wtf/v1";
/// Loading a directory stops here: a plain entry file should live in a directory of its own.
const MAX_DIRECTORY_FILES: usize = 10_000;
const MAX_DIRECTORY_BYTES: u64 = 64 * 1024 * 1024;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Object<Spec> {
    api_version: String,
    kind: String,
    metadata: Metadata,
    spec: Spec,
}

#[derive(Deserialize)]
struct Metadata {
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SnippetSpec {
    #[serde(default = "default_entry_file")]
    entry_file: String,
    #[serde(default)]
    files: BTreeMap<String, String>,
    #[serde(default)]
    libraries: Vec<LibraryRef>,
    #[serde(default)]
    external_variables: Vec<Variable>,
    #[serde(default)]
    tlas: Vec<Variable>,
    #[serde(default)]
    output: OutputMode,
}

/// A library reference: its name, or an object with a `name`.
#[derive(Deserialize)]
#[serde(untagged)]
enum LibraryRef {
    Name(String),
    Object { name: String },
}

#[derive(Deserialize)]
struct LibrarySpec {
    #[serde(default)]
    files: BTreeMap<String, String>,
}

fn default_entry_file() -> String {
    "main.jsonnet".to_owned()
}

/// Builds the request a JsonnetSnippet YAML describes; the libraries it names are taken from the
/// JsonnetLibrary documents in `library_yamls` (`(source name, YAML text)`, several documents allowed).
pub fn snippet_request(snippet_yaml: &str, library_yamls: &[(String, String)]) -> Result<RenderRequest, RenderError> {
    let snippet: Object<SnippetSpec> = serde_saphyr::from_str(snippet_yaml)
        .map_err(|error| RenderError::InvalidSpec(format!("not a JsonnetSnippet: {error}")))?;
    check_type(&snippet.api_version, &snippet.kind, "JsonnetSnippet", &snippet.metadata.name)?;
    let mut available = BTreeMap::new();
    for (source, yaml) in library_yamls {
        let documents: Vec<Object<LibrarySpec>> = serde_saphyr::from_str_multiple(yaml)
            .map_err(|error| RenderError::InvalidSpec(format!("{source}: not JsonnetLibrary YAML: {error}")))?;
        for library in documents {
            check_type(&library.api_version, &library.kind, "JsonnetLibrary", &library.metadata.name)
                .map_err(|error| RenderError::InvalidSpec(format!("{source}: {error}")))?;
            available.insert(library.metadata.name, library.spec.files);
        }
    }
    let mut libraries = Vec::new();
    for reference in snippet.spec.libraries {
        let (LibraryRef::Name(name) | LibraryRef::Object { name }) = reference;
        let files = available.get(&name).cloned().ok_or_else(|| {
            RenderError::LibraryNotFound(format!("{name:?} (pass its JsonnetLibrary YAML with --library FILE)"))
        })?;
        libraries.push(Library { name, files });
    }
    Ok(RenderRequest {
        entry_file: snippet.spec.entry_file,
        files: snippet.spec.files,
        libraries,
        ext_vars: snippet.spec.external_variables,
        tlas: snippet.spec.tlas,
        output: snippet.spec.output,
    })
}

fn check_type(api_version: &str, kind: &str, expected_kind: &str, name: &str) -> Result<(), RenderError> {
    if api_version != API_VERSION || kind != expected_kind {
        return Err(RenderError::InvalidSpec(format!(
            "{name:?} is a {api_version}/{kind}, expected a {API_VERSION}/{expected_kind}"
        )));
    }
    Ok(())
}

/// Builds the request for a plain Jsonnet entry file: the files of its directory (recursively, hidden
/// entries skipped) form the snippet, and each `-J` directory becomes a library named after the directory.
pub fn plain_request(entry: &Path, jpaths: &[PathBuf]) -> Result<RenderRequest, RenderError> {
    let entry = fs::canonicalize(entry)
        .map_err(|error| RenderError::InvalidSpec(format!("cannot read {}: {error}", entry.display())))?;
    let (Some(directory), Some(entry_name)) = (entry.parent(), entry.file_name()) else {
        return Err(RenderError::InvalidSpec(format!("{} is not a file", entry.display())));
    };
    let mut libraries: Vec<Library> = Vec::new();
    for jpath in jpaths {
        let canonical = fs::canonicalize(jpath)
            .map_err(|error| RenderError::InvalidSpec(format!("-J {}: {error}", jpath.display())))?;
        let name = canonical.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if libraries.iter().any(|library| library.name == name) {
            return Err(RenderError::InvalidSpec(format!("two -J directories are named {name:?}")));
        }
        libraries.push(Library { name, files: load_directory(&canonical)? });
    }
    let mut files = load_directory(directory)?;
    // A -J directory inside the entry's directory is mounted as a library, not loaded twice.
    files.retain(|path, _| !libraries.iter().any(|library| path.starts_with(&format!("{}/", library.name))));
    Ok(RenderRequest {
        entry_file: entry_name.to_string_lossy().into_owned(),
        files,
        libraries,
        ext_vars: Vec::new(),
        tlas: Vec::new(),
        output: OutputMode::Rendered,
    })
}

/// All regular UTF-8 files below `root`, keyed by `/`-separated relative path; hidden entries are skipped.
fn load_directory(root: &Path) -> Result<BTreeMap<String, String>, RenderError> {
    let mut files = BTreeMap::new();
    let mut total_bytes = 0_u64;
    let mut pending = vec![(root.to_path_buf(), String::new())];
    let io_error =
        |path: &Path, error: std::io::Error| RenderError::InvalidSpec(format!("{}: {error}", path.display()));
    while let Some((directory, prefix)) = pending.pop() {
        for dir_entry in fs::read_dir(&directory).map_err(|e| io_error(&directory, e))? {
            let dir_entry = dir_entry.map_err(|e| io_error(&directory, e))?;
            let name = dir_entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let path = dir_entry.path();
            let relative = format!("{prefix}{name}");
            let metadata = fs::metadata(&path).map_err(|e| io_error(&path, e))?;
            if metadata.is_dir() {
                pending.push((path, format!("{relative}/")));
            } else if metadata.is_file() {
                total_bytes += metadata.len();
                if files.len() >= MAX_DIRECTORY_FILES || total_bytes > MAX_DIRECTORY_BYTES {
                    return Err(RenderError::InvalidSpec(format!(
                        "{} holds too many files to load; put the entry file in a directory of its own",
                        root.display()
                    )));
                }
                // Files that are not UTF-8 text cannot be imported as Jsonnet or strings; skip them.
                if let Ok(content) = fs::read_to_string(&path) {
                    files.insert(relative, content);
                }
            }
        }
    }
    Ok(files)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
#[path = "input_tests.rs"]
mod tests;
