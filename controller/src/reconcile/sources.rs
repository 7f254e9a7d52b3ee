//! Resolving a `spec.sourceRef` (a snippet's or one of its libraries') into an extracted tree on disk: the policy
//! checks (cross-namespace references, snippets that source each other's ExternalArtifacts in a circle), the source
//! object's `status.artifact`, the download through the shared [`SourceCache`](crate::source::SourceCache), and
//! the tree narrowed to `sourceRef.path`. Every failure is a [`SourceFailure`] naming the source.

use std::path::PathBuf;

use kube::ResourceExt;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind};

use crate::crd::external_artifact::Artifact;
use crate::crd::{ExternalArtifact, FluxSourceKind, FluxSourceRef, JsonnetSnippet};
use crate::error::{Result, SourceFailure};
use crate::reconcile::context::Context;
use crate::snippet_request::narrow_to_source_path;
use crate::source::{SourceArtifact, SourceTree};

/// How many snippets a chain of ExternalArtifact references is followed through before it counts as a cycle.
const MAX_CHAIN: usize = 32;

/// The source a tree came from, and its revision: what the snippet's ExternalArtifact reports as provenance.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SourceOrigin {
    /// The source's kind.
    pub kind: FluxSourceKind,
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// `status.artifact.revision`, e.g. `main@sha1:<commit>`.
    pub revision: String,
    /// `status.artifact.digest` of the tarball the tree was extracted from.
    pub digest: String,
}

/// A source's tree on disk, narrowed to `sourceRef.path`.
pub struct ResolvedSource {
    /// Keeps the extracted tree on disk: hold it until the render has finished.
    pub tree: SourceTree,
    /// The directory to render from: the tree's root joined with `sourceRef.path`.
    pub root: PathBuf,
    /// Which source and revision.
    pub origin: SourceOrigin,
}

/// Who refers to a source: the snippet being reconciled (a library's reference is resolved for the snippet that
/// lists it), and the field that holds the reference, for messages.
pub struct Referrer<'a> {
    /// The snippet being reconciled.
    pub snippet: &'a JsonnetSnippet,
    /// `spec.sourceRef`, or `JsonnetLibrary "x" spec.sourceRef`.
    pub field: String,
}

/// Resolves `reference` for `referrer`: policy checks, the source's artifact, the download, the narrowed tree.
pub async fn resolve(ctx: &Context, referrer: &Referrer<'_>, reference: &FluxSourceRef) -> Result<ResolvedSource> {
    let own_namespace = referrer.snippet.namespace().unwrap_or_default();
    let namespace = reference.namespace.clone().filter(|ns| !ns.is_empty()).unwrap_or_else(|| own_namespace.clone());
    let described = format!("{} {namespace}/{}", reference.kind, reference.name);
    if namespace != own_namespace && ctx.no_cross_namespace_refs {
        return Err(SourceFailure::CrossNamespaceRefRejected(format!(
            "{} names {described} in another namespace, and cross-namespace references are disabled \
             (--no-cross-namespace-refs); move the source to namespace {own_namespace:?} or start the controller \
             with --no-cross-namespace-refs=false",
            referrer.field
        ))
        .into());
    }
    if reference.kind == FluxSourceKind::ExternalArtifact {
        check_for_cycle(ctx, referrer.snippet, &namespace, &reference.name).await?;
    }
    let artifact = read_artifact(ctx, reference, &namespace, &described).await?;
    let source_artifact = SourceArtifact {
        url: artifact.url.clone(),
        digest: artifact.digest.clone(),
        revision: artifact.revision.clone(),
        size: artifact.size.and_then(|size| u64::try_from(size).ok()),
    };
    let tree =
        ctx.sources.get(&source_artifact).await.map_err(|error| {
            SourceFailure::FetchFailed(format!("{described} revision {}: {error}", artifact.revision))
        })?;
    let root = narrow_to_source_path(tree.path(), reference.path.as_deref())
        .map_err(|why| SourceFailure::NotFound(format!("{described} revision {}: {}", artifact.revision, why)))?;
    let origin = SourceOrigin {
        kind: reference.kind,
        namespace,
        name: reference.name.clone(),
        revision: artifact.revision,
        digest: artifact.digest,
    };
    Ok(ResolvedSource { tree, root, origin })
}

/// The source object's `status.artifact`: `SourceNotFound` without the object, `SourceNotReady` without an artifact.
async fn read_artifact(ctx: &Context, reference: &FluxSourceRef, namespace: &str, described: &str) -> Result<Artifact> {
    let Some((group, version)) = reference.api_version.split_once('/') else {
        return Err(SourceFailure::NotFound(format!(
            "{described}: apiVersion {:?} is not <group>/<version>",
            reference.api_version
        ))
        .into());
    };
    let kind = GroupVersionKind::gvk(group, version, reference.kind.as_str());
    let resource = ApiResource::from_gvk_with_plural(&kind, reference.kind.plural());
    let api: Api<DynamicObject> = Api::namespaced_with(ctx.client.clone(), namespace, &resource);
    let Some(source) = api.get_opt(&reference.name).await? else {
        let hint = if ctx.served_source_kinds.contains(&reference.kind) {
            String::new()
        } else {
            format!(
                " (the API server did not serve {} in {} when the controller started: is Flux's source-controller \
                 installed?)",
                reference.kind, reference.api_version
            )
        };
        return Err(SourceFailure::NotFound(format!("{described} does not exist{hint}")).into());
    };
    let status = source.data.get("status");
    let artifact = status.and_then(|status| status.get("artifact")).filter(|artifact| !artifact.is_null());
    let Some(artifact) = artifact else {
        let ready = status
            .and_then(|status| status.get("conditions"))
            .and_then(serde_json::Value::as_array)
            .and_then(|conditions| conditions.iter().find(|c| c.get("type").and_then(|t| t.as_str()) == Some("Ready")))
            .and_then(|ready| ready.get("message"))
            .and_then(serde_json::Value::as_str)
            .map(|message| format!(" (its Ready condition says: {message})"))
            .unwrap_or_default();
        return Err(SourceFailure::NotReady(format!("{described} has no artifact yet{ready}")).into());
    };
    serde_json::from_value(artifact.clone()).map_err(|error| {
        SourceFailure::FetchFailed(format!("{described} has an unreadable status.artifact: {error}")).into()
    })
}

/// Follows the chain of snippets that source each other's ExternalArtifacts, starting at the one `snippet` names
/// (`namespace`/`name`): reaching `snippet` again is a `DependencyCycle`. An ExternalArtifact's producer is the
/// object its `spec.sourceRef` names; one that does not exist yet is taken to be the snippet of its name (ours are
/// named after their snippets), so that snippets that never published still see their cycle. A link that leaves the
/// chain (an ExternalArtifact another producer writes, a snippet with inline files or a Git source) ends the walk.
async fn check_for_cycle(ctx: &Context, snippet: &JsonnetSnippet, namespace: &str, name: &str) -> Result<()> {
    let start = (snippet.namespace().unwrap_or_default(), snippet.name_any());
    let mut chain = vec![format!("{}/{}", start.0, start.1)];
    let mut next = (namespace.to_owned(), name.to_owned());
    for _ in 0..MAX_CHAIN {
        let artifacts: Api<ExternalArtifact> = Api::namespaced(ctx.client.clone(), &next.0);
        let producer = match artifacts.get_opt(&next.1).await? {
            Some(artifact) => match artifact.spec.source_ref {
                Some(producer) if producer.kind == "JsonnetSnippet" => {
                    (producer.namespace.unwrap_or_else(|| next.0.clone()), producer.name)
                }
                _ => return Ok(()),
            },
            None => next.clone(),
        };
        chain.push(format!("{}/{}", producer.0, producer.1));
        if producer == start {
            return Err(SourceFailure::DependencyCycle(format!(
                "snippets source each other's ExternalArtifacts in a circle: {}",
                chain.join(" -> ")
            ))
            .into());
        }
        let snippets: Api<JsonnetSnippet> = Api::namespaced(ctx.client.clone(), &producer.0);
        let Some(producer_snippet) = snippets.get_opt(&producer.1).await? else { return Ok(()) };
        let Some(reference) =
            producer_snippet.spec.source_ref.filter(|reference| reference.kind == FluxSourceKind::ExternalArtifact)
        else {
            return Ok(());
        };
        next = (reference.namespace.filter(|ns| !ns.is_empty()).unwrap_or(producer.0), reference.name);
    }
    Err(SourceFailure::DependencyCycle(format!(
        "the chain of snippets sourcing each other's ExternalArtifacts is longer than {MAX_CHAIN}: {} -> ...",
        chain.join(" -> ")
    ))
    .into())
}
