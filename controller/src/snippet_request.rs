//! The one way a JsonnetSnippet and its JsonnetLibraries become a [`RenderRequest`]: the controller's reconcile
//! and `jaas render` both call [`render_request`], so a snippet renders locally exactly as in the cluster, and both
//! report a missing library with [`library_not_found`].

use jaas_render::{Library, OutputMode, RenderError, RenderRequest, Variable};
use kube::ResourceExt;

use crate::crd::{JsonnetLibrary, JsonnetSnippet, OutputFormat, SnippetVariable};

/// The render request a snippet and its libraries describe.
pub fn render_request(snippet: &JsonnetSnippet, libraries: &[JsonnetLibrary]) -> RenderRequest {
    let variables = |list: &[SnippetVariable]| {
        list.iter().map(|v| Variable { name: v.name.clone(), value: v.value.clone(), code: v.code }).collect()
    };
    RenderRequest {
        entry_file: snippet.spec.entry_file.clone(),
        files: snippet.spec.files.clone(),
        libraries: libraries
            .iter()
            .map(|l| Library { name: l.name_any(), files: l.spec.files.clone(), ..Library::default() })
            .collect(),
        ext_vars: variables(&snippet.spec.external_variables),
        tlas: variables(&snippet.spec.tlas),
        output: match snippet.spec.output {
            OutputFormat::Rendered => OutputMode::Rendered,
            OutputFormat::Source => OutputMode::Source,
        },
        ..RenderRequest::default()
    }
}

/// The error for a library the snippet lists that its namespace does not hold.
pub fn library_not_found(name: &str, namespace: &str) -> RenderError {
    RenderError::LibraryNotFound(format!("JsonnetLibrary {name:?} does not exist in namespace {namespace:?}"))
}
