//! Inputs of `jaas render`: JsonnetSnippet and JsonnetLibrary YAML files, or a plain Jsonnet entry file
//! with its directory and `-J` library directories, turned into a [`RenderRequest`].

use std::collections::BTreeMap;

use serde::Deserialize;

use jaas_render::{Library, OutputMode, RenderError, RenderRequest, Variable};

/// apiVersion of JsonnetSnippet and JsonnetLibrary.
const API_VERSION: &str = "jaas.metio.wtf/v1";

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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
#[path = "render_input_tests.rs"]
mod tests;
