//! Which snippets an event on another object concerns: a library they list, a Flux source they or their libraries
//! read, an ExternalArtifact they publish or source. The mapping functions are pure; [`LibrarySources`] is the one
//! piece of state, kept by the library watch so that a source event reaches the snippets of the libraries that
//! read it. [`served_source_kinds`] asks the API server which Flux kinds exist, so that only those are watched.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, ListParams};
use kube::runtime::reflector::ObjectRef;
use kube::{Client, Resource, ResourceExt};

use crate::crd::source_ref::FLUX_SOURCE_API_VERSION;
use crate::crd::{ExternalArtifact, FluxSourceKind, FluxSourceRef, JsonnetLibrary, JsonnetSnippet};

/// One source object: what a `sourceRef` resolves to and what a watch event names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SourceKey {
    /// The source's kind.
    pub kind: FluxSourceKind,
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
}

impl SourceKey {
    /// The source `reference` names for an object in `referrer_namespace`.
    pub fn of(reference: &FluxSourceRef, referrer_namespace: &str) -> Self {
        let namespace = reference.namespace.clone().filter(|ns| !ns.is_empty());
        Self {
            kind: reference.kind,
            namespace: namespace.unwrap_or_else(|| referrer_namespace.to_owned()),
            name: reference.name.clone(),
        }
    }

    /// The source `object` of `kind` is.
    pub fn for_object(kind: FluxSourceKind, object: &impl Resource) -> Self {
        Self { kind, namespace: object.namespace().unwrap_or_default(), name: object.name_any() }
    }
}

/// Which libraries read which source (`namespace`, `name` → source), as the library watch last saw them. Cloning
/// is cheap; clones share the map.
#[derive(Clone, Default)]
pub struct LibrarySources {
    sources: Arc<Mutex<HashMap<(String, String), SourceKey>>>,
}

impl LibrarySources {
    /// Records the source `library` reads now (or that it reads none).
    pub fn observe(&self, library: &JsonnetLibrary) {
        let namespace = library.namespace().unwrap_or_default();
        let key = (namespace.clone(), library.name_any());
        let mut sources = self.sources.lock().unwrap_or_else(PoisonError::into_inner);
        match &library.spec.source_ref {
            Some(reference) if library.metadata.deletion_timestamp.is_none() => {
                sources.insert(key, SourceKey::of(reference, &namespace));
            }
            _ => {
                sources.remove(&key);
            }
        }
    }

    /// The libraries (`namespace`, `name`) that read `source`.
    pub fn libraries_reading(&self, source: &SourceKey) -> Vec<(String, String)> {
        let sources = self.sources.lock().unwrap_or_else(PoisonError::into_inner);
        sources.iter().filter(|(_, read)| *read == source).map(|(library, _)| library.clone()).collect()
    }
}

/// The snippets in `snippets` that list `library` (in its namespace).
pub fn snippets_listing(snippets: &[Arc<JsonnetSnippet>], library: &JsonnetLibrary) -> Vec<ObjectRef<JsonnetSnippet>> {
    let (namespace, name) = (library.namespace(), library.name_any());
    snippets
        .iter()
        .filter(|snippet| snippet.namespace() == namespace && snippet.spec.libraries.contains(&name))
        .map(|snippet| ObjectRef::from_obj(&**snippet))
        .collect()
}

/// The snippets in `snippets` that read `source`, themselves or through a library they list.
pub fn snippets_reading(
    snippets: &[Arc<JsonnetSnippet>],
    libraries: &LibrarySources,
    source: &SourceKey,
) -> Vec<ObjectRef<JsonnetSnippet>> {
    let reading_libraries = libraries.libraries_reading(source);
    snippets
        .iter()
        .filter(|snippet| {
            let namespace = snippet.namespace().unwrap_or_default();
            let direct = snippet.spec.source_ref.as_ref().is_some_and(|r| SourceKey::of(r, &namespace) == *source);
            direct
                || snippet
                    .spec
                    .libraries
                    .iter()
                    .any(|library| reading_libraries.iter().any(|(ns, name)| *ns == namespace && name == library))
        })
        .map(|snippet| ObjectRef::from_obj(&**snippet))
        .collect()
}

/// The snippets an ExternalArtifact event concerns: the snippet that publishes it (its controller owner) and those
/// that read it as their source.
pub fn snippets_of_artifact(
    snippets: &[Arc<JsonnetSnippet>],
    libraries: &LibrarySources,
    artifact: &ExternalArtifact,
) -> Vec<ObjectRef<JsonnetSnippet>> {
    let namespace = artifact.namespace().unwrap_or_default();
    let snippet_kind = JsonnetSnippet::kind(&());
    let owner = artifact
        .owner_references()
        .iter()
        .filter(|owner| owner.controller == Some(true) && owner.kind == snippet_kind)
        .map(|owner| ObjectRef::new(&owner.name).within(&namespace));
    let source = SourceKey::for_object(FluxSourceKind::ExternalArtifact, artifact);
    let mut concerned: Vec<ObjectRef<JsonnetSnippet>> = owner.collect();
    for reader in snippets_reading(snippets, libraries, &source) {
        if !concerned.contains(&reader) {
            concerned.push(reader);
        }
    }
    concerned
}

/// The Flux source kinds the API server serves in `namespace` (or the cluster), in `source.toolkit.fluxcd.io/v1`. A
/// kind it does not serve (404: Flux not installed) is left out and logged: snippets naming it report `SourceNotFound`,
/// and nothing watches it. Any other failure (a 403 above all) keeps the kind: its watch reports the failure and
/// recovers by itself once the list works, where leaving it out would stop source events until a restart.
pub async fn served_source_kinds(client: &Client, namespace: Option<&str>) -> BTreeSet<FluxSourceKind> {
    let mut served = BTreeSet::new();
    let Some((group, version)) = FLUX_SOURCE_API_VERSION.split_once('/') else { return served };
    for kind in FluxSourceKind::ALL {
        let resource =
            ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind.as_str()), kind.plural());
        let api: Api<DynamicObject> = match namespace {
            Some(namespace) => Api::namespaced_with(client.clone(), namespace, &resource),
            None => Api::all_with(client.clone(), &resource),
        };
        match api.list_metadata(&ListParams::default().limit(1)).await {
            Ok(_) => {
                served.insert(kind);
            }
            Err(kube::Error::Api(status)) if status.code == 404 => {
                tracing::info!(%kind, "Flux source kind not served (is Flux installed?): snippets naming it report SourceNotFound");
            }
            Err(error) => {
                // A denial is quoted as the API server words it, without the debug dump of its Status.
                let error = crate::error::Error::from(error);
                tracing::error!(%kind, %error, "cannot list a Flux source kind: watching it anyway, until it works");
                served.insert(kind);
            }
        }
    }
    served
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    #[allow(clippy::needless_pass_by_value)] // callers write json!(...) inline
    fn snippet(name: &str, spec: serde_json::Value) -> Arc<JsonnetSnippet> {
        let mut snippet: JsonnetSnippet = serde_json::from_value(json!({
            "apiVersion": "jaas.metio.wtf/v1", "kind": "JsonnetSnippet",
            "metadata": {"name": name, "namespace": "team"}, "spec": spec,
        }))
        .unwrap();
        snippet.metadata.uid = Some(format!("uid-{name}"));
        Arc::new(snippet)
    }

    #[allow(clippy::needless_pass_by_value)] // callers write json!(...) inline
    fn library(name: &str, spec: serde_json::Value) -> JsonnetLibrary {
        serde_json::from_value(json!({
            "apiVersion": "jaas.metio.wtf/v1", "kind": "JsonnetLibrary",
            "metadata": {"name": name, "namespace": "team"}, "spec": spec,
        }))
        .unwrap()
    }

    fn names(refs: &[ObjectRef<JsonnetSnippet>]) -> Vec<&str> {
        let mut names: Vec<&str> = refs.iter().map(|r| r.name.as_str()).collect();
        names.sort_unstable();
        names
    }

    fn git(name: &str, namespace: &str) -> SourceKey {
        SourceKey { kind: FluxSourceKind::GitRepository, namespace: namespace.into(), name: name.into() }
    }

    #[test]
    fn a_source_event_reaches_the_snippets_that_read_it_directly_or_through_a_library() {
        let snippets = [
            snippet("direct", json!({"sourceRef": {"kind": "GitRepository", "name": "repo"}})),
            snippet("elsewhere", json!({"sourceRef": {"kind": "GitRepository", "name": "repo", "namespace": "ops"}})),
            snippet("bucket", json!({"sourceRef": {"kind": "Bucket", "name": "repo"}})),
            snippet("via-library", json!({"files": {"main.jsonnet": "{}"}, "libraries": ["vendor"]})),
            snippet("unrelated", json!({"files": {"main.jsonnet": "{}"}, "libraries": ["inline"]})),
        ];
        let libraries = LibrarySources::default();
        libraries.observe(&library("vendor", json!({"sourceRef": {"kind": "GitRepository", "name": "repo"}})));
        libraries.observe(&library("inline", json!({"files": {"a.libsonnet": "{}"}})));

        assert_eq!(names(&snippets_reading(&snippets, &libraries, &git("repo", "team"))), ["direct", "via-library"]);
        assert_eq!(names(&snippets_reading(&snippets, &libraries, &git("repo", "ops"))), ["elsewhere"]);
        assert!(snippets_reading(&snippets, &libraries, &git("other", "team")).is_empty());

        libraries.observe(&library("vendor", json!({"files": {"a.libsonnet": "{}"}})));
        assert_eq!(names(&snippets_reading(&snippets, &libraries, &git("repo", "team"))), ["direct"], "edited away");
    }

    #[test]
    fn a_library_event_reaches_the_snippets_that_list_it() {
        let snippets = [
            snippet("a", json!({"files": {"main.jsonnet": "{}"}, "libraries": ["lib"]})),
            snippet("b", json!({"files": {"main.jsonnet": "{}"}})),
        ];
        assert_eq!(names(&snippets_listing(&snippets, &library("lib", json!({})))), ["a"]);
    }

    #[test]
    fn an_artifact_event_reaches_its_producer_and_its_readers() {
        let producer = snippet("producer", json!({"files": {"main.jsonnet": "{}"}}));
        let snippets = [
            producer.clone(),
            snippet("reader", json!({"sourceRef": {"kind": "ExternalArtifact", "name": "producer"}})),
            snippet("git-reader", json!({"sourceRef": {"kind": "GitRepository", "name": "producer"}})),
        ];
        let artifact = crate::reconcile::publish::desired_external_artifact(&producer);
        let concerned = snippets_of_artifact(&snippets, &LibrarySources::default(), &artifact);
        assert_eq!(names(&concerned), ["producer", "reader"]);
        assert!(concerned.iter().all(|r| r.namespace.as_deref() == Some("team")));
    }
}
