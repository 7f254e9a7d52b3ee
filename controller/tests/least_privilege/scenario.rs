//! What every case asks of the controller, in four stages, each checked on the API server: **published** (a snippet
//! with a library, one from each Flux source kind, one chained to another's ExternalArtifact: Ready=True with a
//! verified ExternalArtifact; a broken one: Ready=False and a repeated Warning Event), **edited** (a library edit and
//! a new commit of each source re-render through the watches), **withdrawn** (all deleted: finalizers released) and
//! **stopped** (SIGTERM: exit 0 with the Lease released). Each stage's test action runs once, when it is entered.

use std::collections::BTreeMap;

use jaas_controller::crd::{ExternalArtifact, FluxSourceKind, JsonnetLibrary, JsonnetSnippet};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::events::v1::Event;
use kube::Client;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::cluster::snippets::readiness_of;
use crate::cluster::source_server::{SourceServer, TarEntry, tar_gz};

/// The snippets that must publish.
pub const PUBLISHING: [&str; 5] = ["app", "git", "oci", "bucket", "chained"];
/// The snippet whose render always fails.
pub const BROKEN: &str = "broken";
/// The sources, one per kind, all named `src`.
const SOURCES: [(FluxSourceKind, &str); 3] = [
    (FluxSourceKind::GitRepository, "git"),
    (FluxSourceKind::OciRepository, "oci"),
    (FluxSourceKind::Bucket, "bucket"),
];

/// How far a case got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stage {
    /// Waiting for the first publish.
    Published,
    /// Waiting for the edits to be published.
    Edited,
    /// Waiting for every snippet to be withdrawn.
    Withdrawn,
    /// Waiting for the controller to exit after SIGTERM, with the Lease released.
    Stopped,
    /// Everything done.
    Done,
}

/// One case's objects on the API server: its namespace, the label its snippets carry, its Lease.
pub struct Objects {
    pub client: Client,
    pub namespace: String,
    pub label: String,
    pub lease_namespace: String,
    pub lease_name: String,
}

/// What the API server shows of a case at one moment.
pub struct Snapshot {
    pub snippets: BTreeMap<String, JsonnetSnippet>,
    pub artifacts: BTreeMap<String, ExternalArtifact>,
    pub events: Vec<Event>,
    pub lease_holder: Option<String>,
}

/// Objects by name.
fn by_name<K: kube::ResourceExt>(items: Vec<K>) -> BTreeMap<String, K> {
    items.into_iter().map(|object| (object.name_any(), object)).collect()
}

/// A ConfigMap in Jsonnet whose data carries `value`.
fn configmap(name: &str, value: &str) -> String {
    format!("{{ apiVersion: 'v1', kind: 'ConfigMap', metadata: {{ name: '{name}' }}, data: {{ value: {value} }} }}")
}

impl Objects {
    /// Creates the sources (served by `server`), the library and the snippets.
    pub async fn create(&self, server: &SourceServer) {
        self.commit(server, "one").await;
        let library: JsonnetLibrary = serde_json::from_value(json!({
            "apiVersion": "jaas.metio.wtf/v1", "kind": "JsonnetLibrary", "metadata": {"name": "lib"},
            "spec": {"files": {"value.libsonnet": "'one'"}}}))
        .unwrap();
        Api::<JsonnetLibrary>::namespaced(self.client.clone(), &self.namespace)
            .create(&PostParams::default(), &library)
            .await
            .unwrap();
        let app = configmap("app", "import 'lib/value.libsonnet'");
        let mut specs = vec![
            ("app", json!({"libraries": ["lib"], "files": {"main.jsonnet": app}})),
            (
                "chained",
                json!({"sourceRef": {"kind": "ExternalArtifact", "name": "app"}, "entryFile": "rendered.json"}),
            ),
            (BROKEN, json!({"files": {"main.jsonnet": "error 'broken on purpose'"}})),
        ];
        for (kind, name) in SOURCES {
            specs.push((name, json!({"sourceRef": {"kind": kind.as_str(), "name": "src"}})));
        }
        let api = Api::<JsonnetSnippet>::namespaced(self.client.clone(), &self.namespace);
        for (name, spec) in specs {
            let snippet: JsonnetSnippet = serde_json::from_value(json!({
                "apiVersion": "jaas.metio.wtf/v1", "kind": "JsonnetSnippet",
                "metadata": {"name": name, "labels": {crate::CASE_LABEL: self.label}}, "spec": spec}))
            .unwrap();
            api.create(&PostParams::default(), &snippet).await.unwrap();
        }
    }

    /// A new commit of every source, whose output carries `value`.
    async fn commit(&self, server: &SourceServer, value: &str) {
        for (kind, name) in SOURCES {
            let tree = [TarEntry::file("main.jsonnet", &configmap(name, &format!("'{value}'")))];
            server.publish(&self.client, kind, &self.namespace, "src", tar_gz(&tree)).await;
        }
    }

    /// The edits of stage [`Stage::Edited`]: the library and every source change.
    pub async fn edit(&self, server: &SourceServer) {
        let patch = Patch::Merge(json!({"spec": {"files": {"value.libsonnet": "'two'"}}}));
        Api::<JsonnetLibrary>::namespaced(self.client.clone(), &self.namespace)
            .patch("lib", &PatchParams::default(), &patch)
            .await
            .unwrap();
        self.commit(server, "two").await;
    }

    /// Deletes every snippet (stage [`Stage::Withdrawn`]).
    pub async fn delete_snippets(&self) {
        let api = Api::<JsonnetSnippet>::namespaced(self.client.clone(), &self.namespace);
        api.delete_collection(&DeleteParams::default(), &ListParams::default()).await.unwrap();
    }

    /// What the API server shows now; `None` when a read failed (the next poll tries again).
    pub async fn snapshot(&self) -> Option<Snapshot> {
        let list = ListParams::default();
        let snippets =
            Api::<JsonnetSnippet>::namespaced(self.client.clone(), &self.namespace).list(&list).await.ok()?;
        let artifacts =
            Api::<ExternalArtifact>::namespaced(self.client.clone(), &self.namespace).list(&list).await.ok()?;
        let events = Api::<Event>::namespaced(self.client.clone(), &self.namespace).list(&list).await.ok()?;
        let lease = Api::<Lease>::namespaced(self.client.clone(), &self.lease_namespace)
            .get_opt(&self.lease_name)
            .await
            .ok()?;
        Some(Snapshot {
            snippets: by_name(snippets.items),
            artifacts: by_name(artifacts.items),
            events: events.items,
            lease_holder: lease.and_then(|l| l.spec?.holder_identity).filter(|h| !h.is_empty()),
        })
    }
}

impl Snapshot {
    /// The published revision of each publishing snippet, when every one is Ready=True with that revision on its
    /// ExternalArtifact (the revisions `not` lists excluded); `None` otherwise.
    pub fn published(&self, not: &BTreeMap<String, String>) -> Option<BTreeMap<String, String>> {
        let mut revisions = BTreeMap::new();
        for name in PUBLISHING {
            let readiness = readiness_of(self.snippets.get(name)?)?;
            let revision = readiness.revision.filter(|_| readiness.status == "True")?;
            let artifact = self.artifacts.get(name)?.status.as_ref()?.artifact.as_ref()?;
            if artifact.digest != revision || not.get(name) == Some(&revision) {
                return None;
            }
            revisions.insert(name.to_owned(), revision);
        }
        Some(revisions)
    }

    /// Whether the broken snippet reports its failure: Ready=False, and its Warning Event seen twice (created, then
    /// patched as a series).
    pub fn broken_reported(&self) -> bool {
        let failed = self
            .snippets
            .get(BROKEN)
            .and_then(readiness_of)
            .is_some_and(|r| r.status == "False" && r.reason == "EvaluationFailed");
        let repeated = self.events.iter().any(|e| {
            e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(BROKEN)
                && e.reason.as_deref() == Some("EvaluationFailed")
                && e.series.as_ref().is_some_and(|s| s.count >= 2)
        });
        failed && repeated
    }

    /// Every condition of every snippet: (snippet, type, status, reason, message).
    pub fn conditions(&self) -> impl Iterator<Item = (&str, &str, String, &str, &str)> {
        self.snippets.iter().flat_map(|(name, snippet)| {
            snippet.status.iter().flat_map(|s| s.conditions.iter()).map(move |c| {
                (name.as_str(), c.type_.as_str(), format!("{:?}", c.status), c.reason.as_str(), c.message.as_str())
            })
        })
    }
}
