//! The first step of a snippet's reconcile: everything its render depends on. The libraries it lists are read
//! (in the order it lists them), the Flux sources of the snippet and its libraries are resolved into trees on disk,
//! the render request is built from them exactly as `jaas render` builds it, and a fingerprint of the inputs lets
//! the render memo tell a change from our own status write.

use std::hash::{DefaultHasher, Hash, Hasher};

use jaas_render::RenderRequest;
use jaas_render::record::Origin;
use kube::ResourceExt;
use kube::api::Api;

use crate::crd::{JsonnetLibrary, JsonnetSnippet, validate_source_choice};
use crate::error::{Error, Result};
use crate::reconcile::context::Context;
use crate::reconcile::sources::{self, Referrer, SourceOrigin};
use crate::snippet_request::{SourceDirectories, library_not_found, render_request};
use crate::source::SourceTree;

/// What a snippet's render depends on.
pub struct Inputs {
    /// The request to render.
    pub request: RenderRequest,
    /// A hash of the snippet's generation, its libraries' content and the digests of every source tree: equal
    /// inputs, equal fingerprint.
    pub fingerprint: u64,
    /// The snippet's own Flux source and revision, when it has one.
    pub origin: Option<SourceOrigin>,
    /// Where every input came from, for the revision record: the snippet, its libraries, their sources.
    pub origins: Vec<Origin>,
    /// Keeps the source trees the request reads on disk until the inputs are dropped (after the render).
    _trees: Vec<SourceTree>,
}

/// Reads the snippet's libraries, resolves every Flux source, and builds its render request.
pub async fn gather(ctx: &Context, snippet: &JsonnetSnippet) -> Result<Inputs> {
    let libraries = fetch_libraries(ctx, snippet).await?;
    let mut directories = SourceDirectories::default();
    let mut trees = Vec::new();
    let mut origins = Vec::new();
    let mut origin = None;
    let mut recorded = vec![object_origin(snippet, "snippet", String::new())];
    if let Some(reference) = &snippet.spec.source_ref {
        let referrer = Referrer { snippet, field: "spec.sourceRef".to_owned() };
        let resolved = sources::resolve(ctx, &referrer, reference).await?;
        directories.snippet = Some(resolved.root);
        recorded.push(source_origin(&reference.api_version, &resolved.origin, String::new()));
        origins.push(resolved.origin.clone());
        origin = Some(resolved.origin);
        trees.push(resolved.tree);
    }
    for library in &libraries {
        let mounted_at = library.spec.import_path.clone().unwrap_or_else(|| library.name_any());
        recorded.push(object_origin(library, "library", mounted_at.clone()));
        let Some(reference) = &library.spec.source_ref else { continue };
        let name = library.name_any();
        validate_source_choice(&library.spec)
            .map_err(|message| Error::InvalidSpec(format!("JsonnetLibrary {name:?}: {message}")))?;
        let referrer = Referrer { snippet, field: format!("JsonnetLibrary {name:?} spec.sourceRef") };
        let resolved = sources::resolve(ctx, &referrer, reference).await?;
        directories.libraries.insert(name, resolved.root);
        recorded.push(source_origin(&reference.api_version, &resolved.origin, mounted_at));
        origins.push(resolved.origin);
        trees.push(resolved.tree);
    }
    Ok(Inputs {
        request: render_request(snippet, &libraries, &directories),
        fingerprint: fingerprint(snippet, &libraries, &origins),
        origin,
        origins: recorded,
        _trees: trees,
    })
}

/// One of our objects as an input of a render, mounted at `mounted_at`.
fn object_origin<K: kube::Resource<DynamicType = ()>>(object: &K, role: &str, mounted_at: String) -> Origin {
    Origin {
        role: role.to_owned(),
        api_version: K::api_version(&()).into_owned(),
        kind: K::kind(&()).into_owned(),
        namespace: object.meta().namespace.clone().unwrap_or_default(),
        name: object.meta().name.clone().unwrap_or_default(),
        mounted_at,
        generation: object.meta().generation,
        revision: None,
        digest: None,
    }
}

/// A Flux source as an input of a render, with the revision and digest of the tree rendered.
fn source_origin(api_version: &str, source: &SourceOrigin, mounted_at: String) -> Origin {
    Origin {
        role: "source".to_owned(),
        api_version: api_version.to_owned(),
        kind: source.kind.as_str().to_owned(),
        namespace: source.namespace.clone(),
        name: source.name.clone(),
        mounted_at,
        generation: None,
        revision: Some(source.revision.clone()),
        digest: Some(source.digest.clone()),
    }
}

/// Reads the libraries a snippet lists (from the watch's cache when the controllers run), in the order it lists
/// them; a missing one is a `LibraryNotFound` failure.
async fn fetch_libraries(ctx: &Context, snippet: &JsonnetSnippet) -> Result<Vec<JsonnetLibrary>> {
    let namespace = snippet.namespace().unwrap_or_default();
    let api: Api<JsonnetLibrary> = Api::namespaced(ctx.client.clone(), &namespace);
    let mut libraries = Vec::with_capacity(snippet.spec.libraries.len());
    for name in &snippet.spec.libraries {
        let library = ctx.libraries.get_or_read(&api, name).await?;
        let library = library.ok_or_else(|| library_not_found(name, &namespace))?;
        libraries.push(library);
    }
    Ok(libraries)
}

/// A hash of everything a render depends on: the snippet (its uid and generation), its libraries' specs, and the
/// digest and revision of every source tree read.
fn fingerprint(snippet: &JsonnetSnippet, libraries: &[JsonnetLibrary], origins: &[SourceOrigin]) -> u64 {
    let mut hasher = DefaultHasher::new();
    snippet.metadata.uid.hash(&mut hasher);
    snippet.metadata.generation.hash(&mut hasher);
    for library in libraries {
        library.metadata.name.hash(&mut hasher);
        library.spec.files.hash(&mut hasher);
        library.spec.import_path.hash(&mut hasher);
        serde_json::to_string(&library.spec.source_ref).unwrap_or_default().hash(&mut hasher);
    }
    for origin in origins {
        // The revision too: the ExternalArtifact reports it, even when a new commit leaves the tarball as it was.
        origin.digest.hash(&mut hasher);
        origin.revision.hash(&mut hasher);
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

    fn origin(digest: &str, revision: &str) -> SourceOrigin {
        SourceOrigin {
            kind: crate::crd::FluxSourceKind::GitRepository,
            namespace: "team".into(),
            name: "repo".into(),
            revision: revision.into(),
            digest: digest.into(),
        }
    }

    #[test]
    fn the_fingerprint_changes_with_the_generation_library_content_and_source_digests_only() {
        let base = fingerprint(&snippet(1), &[library("{}")], &[]);
        assert_eq!(base, fingerprint(&snippet(1), &[library("{}")], &[]));
        assert_ne!(base, fingerprint(&snippet(2), &[library("{}")], &[]), "a new generation");
        assert_ne!(base, fingerprint(&snippet(1), &[library("{ a: 1 }")], &[]), "a library edit");
        assert_ne!(base, fingerprint(&snippet(1), &[], &[]), "a library less");
        let mut aliased = library("{}");
        aliased.spec.import_path = Some("github.com/x/lib".into());
        assert_ne!(base, fingerprint(&snippet(1), &[aliased], &[]), "a library import path");
        let mut status_only = snippet(1);
        status_only.status =
            Some(crate::crd::JsonnetSnippetStatus { revision: Some("x".into()), ..Default::default() });
        assert_eq!(base, fingerprint(&status_only, &[library("{}")], &[]), "our own status write");

        let sourced = fingerprint(&snippet(1), &[], &[origin("sha256:aa", "main@sha1:1")]);
        assert_ne!(sourced, fingerprint(&snippet(1), &[], &[origin("sha256:bb", "main@sha1:2")]), "a new artifact");
        assert_ne!(
            sourced,
            fingerprint(&snippet(1), &[], &[origin("sha256:aa", "main@sha1:3")]),
            "a new commit with the same tarball is a new revision to report"
        );
    }
}
