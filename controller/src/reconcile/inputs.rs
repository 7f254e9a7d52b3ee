//! The first step of a snippet's reconcile: everything its render depends on. The libraries it lists are read
//! (in the order it lists them), the render request is built from them exactly as `jaas render` builds it, and a
//! fingerprint of the inputs lets the render memo tell a change from our own status write.

use std::hash::{DefaultHasher, Hash, Hasher};

use jaas_render::RenderRequest;
use kube::ResourceExt;
use kube::api::Api;

use crate::crd::{JsonnetLibrary, JsonnetSnippet};
use crate::error::Result;
use crate::reconcile::context::Context;
use crate::snippet_request::{library_not_found, render_request};

/// What a snippet's render depends on.
#[derive(Debug, Clone)]
pub struct Inputs {
    /// The request to render.
    pub request: RenderRequest,
    /// A hash of the snippet's generation and the content of its libraries: equal inputs, equal fingerprint.
    pub fingerprint: u64,
}

/// Reads the snippet's libraries and builds its render request.
pub async fn gather(ctx: &Context, snippet: &JsonnetSnippet) -> Result<Inputs> {
    let libraries = fetch_libraries(ctx, snippet).await?;
    Ok(Inputs { request: render_request(snippet, &libraries), fingerprint: fingerprint(snippet, &libraries) })
}

/// Reads the libraries a snippet lists, in the order it lists them; a missing one is a `LibraryNotFound` failure.
async fn fetch_libraries(ctx: &Context, snippet: &JsonnetSnippet) -> Result<Vec<JsonnetLibrary>> {
    let namespace = snippet.namespace().unwrap_or_default();
    let api: Api<JsonnetLibrary> = Api::namespaced(ctx.client.clone(), &namespace);
    let mut libraries = Vec::with_capacity(snippet.spec.libraries.len());
    for name in &snippet.spec.libraries {
        let library = api.get_opt(name).await?.ok_or_else(|| library_not_found(name, &namespace))?;
        libraries.push(library);
    }
    Ok(libraries)
}

/// A hash of everything a render depends on: the snippet (its uid and generation) and its libraries' content.
fn fingerprint(snippet: &JsonnetSnippet, libraries: &[JsonnetLibrary]) -> u64 {
    let mut hasher = DefaultHasher::new();
    snippet.metadata.uid.hash(&mut hasher);
    snippet.metadata.generation.hash(&mut hasher);
    for library in libraries {
        library.metadata.name.hash(&mut hasher);
        library.spec.files.hash(&mut hasher);
    }
    hasher.finish()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::crd::{JsonnetLibrarySpec, JsonnetSnippetSpec};

    fn snippet(generation: i64) -> JsonnetSnippet {
        let mut snippet = JsonnetSnippet::new("web", serde_json::from_str::<JsonnetSnippetSpec>("{}").unwrap());
        snippet.metadata.uid = Some("1234".into());
        snippet.metadata.generation = Some(generation);
        snippet
    }

    fn library(source: &str) -> JsonnetLibrary {
        JsonnetLibrary::new(
            "lib",
            JsonnetLibrarySpec { files: [("a.libsonnet".to_owned(), source.to_owned())].into(), ..Default::default() },
        )
    }

    #[test]
    fn the_fingerprint_changes_with_the_generation_and_library_content_only() {
        let base = fingerprint(&snippet(1), &[library("{}")]);
        assert_eq!(base, fingerprint(&snippet(1), &[library("{}")]));
        assert_ne!(base, fingerprint(&snippet(2), &[library("{}")]), "a new generation");
        assert_ne!(base, fingerprint(&snippet(1), &[library("{ a: 1 }")]), "a library edit");
        assert_ne!(base, fingerprint(&snippet(1), &[]), "a library less");
        let mut status_only = snippet(1);
        status_only.status =
            Some(crate::crd::JsonnetSnippetStatus { revision: Some("x".into()), ..Default::default() });
        assert_eq!(base, fingerprint(&status_only, &[library("{}")]), "our own status write");
    }
}
