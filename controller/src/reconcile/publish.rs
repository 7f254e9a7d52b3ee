//! The publish step of a snippet's reconcile: the `ExternalArtifact` that points Flux at the stored revision
//! (server-side apply of the object, then of its `/status`, the latter through the status field manager; see
//! `status`), and a Normal Event when the revision is new. Nothing is written when the desired state is already
//! there, so an unchanged render causes no API writes at all. A snippet rendered from a Flux source reports that
//! source and its revision in `status.artifact.metadata`, the way Flux's own producers do.

use std::collections::BTreeMap;

use jaas_shared::Digest;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::api::{ObjectMeta, Patch, PatchParams};
use kube::{Api, Resource, ResourceExt};
use serde_json::json;

use crate::conditions::{self, REASON_ARTIFACT_PUBLISHED};
use crate::crd::{
    Artifact, ExternalArtifact, ExternalArtifactSpec, ExternalArtifactStatus, JsonnetSnippet, SourceReference,
};
use crate::error::{Error, Result};
use crate::reconcile::artifact::{Published, Stored};
use crate::reconcile::context::Context;
use crate::reconcile::record::RecordSummary;
use crate::reconcile::sources::SourceOrigin;
use crate::reconcile::status::STATUS_FIELD_MANAGER;

/// The field manager of the objects we apply.
pub const FIELD_MANAGER: &str = "jaas-controller";

/// `status.artifact.metadata` key of the source revision the artifact was rendered from (the OCI annotation Flux
/// uses; kustomize-controller copies it into its events).
pub const METADATA_REVISION: &str = "org.opencontainers.image.revision";
/// `status.artifact.metadata` key of the source's kind.
pub const METADATA_SOURCE_KIND: &str = "jaas.metio.wtf/source-kind";
/// `status.artifact.metadata` key of the source's namespace.
pub const METADATA_SOURCE_NAMESPACE: &str = "jaas.metio.wtf/source-namespace";
/// `status.artifact.metadata` key of the source's name.
pub const METADATA_SOURCE_NAME: &str = "jaas.metio.wtf/source-name";

/// The ExternalArtifact object (without status) that publishes `snippet`.
pub fn desired_external_artifact(snippet: &JsonnetSnippet) -> ExternalArtifact {
    let name = snippet.name_any();
    let mut artifact = ExternalArtifact::new(
        &name,
        ExternalArtifactSpec {
            source_ref: Some(SourceReference {
                api_version: Some(JsonnetSnippet::api_version(&()).into_owned()),
                kind: JsonnetSnippet::kind(&()).into_owned(),
                name: name.clone(),
                namespace: None,
            }),
        },
    );
    artifact.metadata = ObjectMeta {
        name: Some(name),
        namespace: snippet.namespace(),
        owner_references: snippet.controller_owner_ref(&()).map(|owner| vec![owner]),
        ..ObjectMeta::default()
    };
    artifact
}

/// The revision the snippet's ExternalArtifact serves now, with what it says of its record (from the watch's cache).
pub async fn serving(ctx: &Context, snippet: &JsonnetSnippet) -> Result<Option<Published>> {
    let api: Api<ExternalArtifact> = Api::namespaced(ctx.client.clone(), &snippet.namespace().unwrap_or_default());
    let existing = ctx.artifacts.get_or_read(&api, &snippet.name_any()).await?;
    let artifact = existing.and_then(|ea| ea.status).and_then(|status| status.artifact);
    Ok(artifact.and_then(|artifact| {
        Some(Published {
            digest: artifact.digest.parse().ok()?,
            record: artifact.metadata.as_ref().and_then(RecordSummary::from_metadata),
        })
    }))
}

/// Publishes the stored revision as the snippet's ExternalArtifact, marked Ready, and announces a revision that
/// is new (stored by this reconcile and not the `published` one) with a Normal Event.
pub async fn publish(
    ctx: &Context,
    snippet: &JsonnetSnippet,
    stored: &Stored,
    published: Option<Digest>,
    origin: Option<&SourceOrigin>,
) -> Result<()> {
    let api: Api<ExternalArtifact> = Api::namespaced(ctx.client.clone(), &snippet.namespace().unwrap_or_default());
    let name = snippet.name_any();
    let existing = ctx.artifacts.get_or_read(&api, &name).await?;
    let old_status = existing.as_ref().and_then(|ea| ea.status.clone()).unwrap_or_default();
    apply_object(&api, snippet, existing).await?;
    apply_status(ctx, &api, snippet, stored, origin, old_status).await?;
    if stored.written && published != Some(stored.key.digest()) {
        let revision = stored.key.digest();
        let message = format!("published revision {revision}");
        ctx.events.info(snippet, REASON_ARTIFACT_PUBLISHED, "Publish", &message).await;
        tracing::info!(snippet = %stored.key.snippet(), %revision, "published a new revision");
    }
    Ok(())
}

/// Applies the ExternalArtifact object unless the `existing` one already is ours with the desired spec.
async fn apply_object(
    api: &Api<ExternalArtifact>,
    snippet: &JsonnetSnippet,
    existing: Option<ExternalArtifact>,
) -> Result<()> {
    let desired = desired_external_artifact(snippet);
    let owned = existing.is_some_and(|ea| {
        ea.spec == desired.spec
            && ea
                .owner_references()
                .iter()
                .any(|o| Some(&o.uid) == snippet.metadata.uid.as_ref() && o.controller == Some(true))
    });
    if !owned {
        api.patch(&snippet.name_any(), &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(&desired))
            .await
            .map_err(|error| Error::from_apply::<ExternalArtifact>(error, api.namespace().unwrap_or_default()))?;
    }
    Ok(())
}

/// The ExternalArtifact status that serves `stored`, rendered from `origin`; an unchanged digest keeps its
/// `lastUpdateTime`.
fn desired_status(
    stored: &Stored,
    base_url: &str,
    origin: Option<&SourceOrigin>,
    old_status: &ExternalArtifactStatus,
) -> ExternalArtifactStatus {
    let digest = stored.key.digest().to_string();
    let last_update_time = match &old_status.artifact {
        Some(old) if old.digest == digest => old.last_update_time.clone(),
        _ => Time(Timestamp::now()),
    };
    let old_conditions = old_status.conditions.as_deref().unwrap_or_default();
    ExternalArtifactStatus {
        conditions: Some(conditions::merge(old_conditions, conditions::artifact_stored(&digest))),
        artifact: Some(Artifact {
            digest: digest.clone(),
            last_update_time,
            metadata: Some(metadata(stored, origin)),
            path: stored.key.relative_path(),
            revision: digest,
            size: i64::try_from(stored.size).ok(),
            url: stored.key.url(base_url),
        }),
    }
}

/// `status.artifact.metadata`: the revision's record, and the source and revision it was rendered from.
fn metadata(stored: &Stored, origin: Option<&SourceOrigin>) -> BTreeMap<String, String> {
    let mut metadata = origin.map(provenance).unwrap_or_default();
    stored.record.add_to(&mut metadata);
    metadata
}

/// The `status.artifact.metadata` naming the source and revision an artifact was rendered from.
fn provenance(origin: &SourceOrigin) -> BTreeMap<String, String> {
    [
        (METADATA_REVISION, origin.revision.clone()),
        (METADATA_SOURCE_KIND, origin.kind.as_str().to_owned()),
        (METADATA_SOURCE_NAMESPACE, origin.namespace.clone()),
        (METADATA_SOURCE_NAME, origin.name.clone()),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_owned(), value))
    .collect()
}

/// Applies the ExternalArtifact's `/status` unless it already serves `stored`.
async fn apply_status(
    ctx: &Context,
    api: &Api<ExternalArtifact>,
    snippet: &JsonnetSnippet,
    stored: &Stored,
    origin: Option<&SourceOrigin>,
    old_status: ExternalArtifactStatus,
) -> Result<()> {
    let status = desired_status(stored, &ctx.base_url, origin, &old_status);
    if status != old_status {
        let patch = json!({
            "apiVersion": ExternalArtifact::api_version(&()),
            "kind": ExternalArtifact::kind(&()),
            "status": status,
        });
        let params = PatchParams::apply(STATUS_FIELD_MANAGER).force();
        api.patch_status(&snippet.name_any(), &params, &Patch::Apply(&patch)).await?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::crd::JsonnetSnippetSpec;

    #[test]
    fn the_artifact_points_back_at_its_snippet() {
        let mut snippet = JsonnetSnippet::new("web", serde_json::from_str::<JsonnetSnippetSpec>("{}").unwrap());
        snippet.metadata.namespace = Some("team".into());
        snippet.metadata.uid = Some("1234".into());
        let ea = desired_external_artifact(&snippet);
        let source = ea.spec.source_ref.unwrap();
        assert_eq!(source.api_version.as_deref(), Some("jaas.metio.wtf/v1"));
        assert_eq!(source.kind, "JsonnetSnippet");
        assert_eq!(source.name, "web");
        assert_eq!(ea.metadata.namespace.as_deref(), Some("team"));
        let owner = &ea.metadata.owner_references.unwrap()[0];
        assert_eq!((owner.uid.as_str(), owner.controller), ("1234", Some(true)));
        let json = serde_json::to_value(desired_external_artifact(&snippet)).unwrap();
        assert!(json.get("status").is_none(), "the object apply must not touch status");
    }

    #[test]
    fn the_artifact_status_serves_the_revision_and_is_stable_when_unchanged() {
        let key = jaas_shared::ArtifactKey::new("team", "web", Digest::from_sha256([3; 32])).unwrap();
        let stored = Stored { key: key.clone(), size: 42, written: true, record: RecordSummary::for_tests(9) };
        let first = desired_status(&stored, "http://srv", None, &ExternalArtifactStatus::default());
        let artifact = first.artifact.as_ref().unwrap();
        assert_eq!((artifact.digest.as_str(), artifact.size), (key.digest().to_string().as_str(), Some(42)));
        assert_eq!((artifact.url.clone(), artifact.path.clone()), (key.url("http://srv"), key.relative_path()));
        let ready = conditions::find(first.conditions.as_deref().unwrap(), conditions::READY).unwrap();
        assert_eq!(ready.status, conditions::ConditionStatus::True);
        assert_eq!(desired_status(&stored, "http://srv", None, &first), first, "an unchanged revision writes nothing");
        let metadata = artifact.metadata.as_ref().unwrap();
        assert!(!metadata.contains_key(METADATA_REVISION), "inline Jsonnet has no source to report");
        assert_eq!(RecordSummary::from_metadata(metadata), Some(RecordSummary::for_tests(9)), "{metadata:?}");
    }

    #[test]
    fn a_sourced_artifact_reports_its_source_and_revision() {
        let key = jaas_shared::ArtifactKey::new("team", "web", Digest::from_sha256([3; 32])).unwrap();
        let stored = Stored { key, size: 42, written: true, record: RecordSummary::for_tests(9) };
        let origin = SourceOrigin {
            kind: crate::crd::FluxSourceKind::OciRepository,
            namespace: "flux-system".into(),
            name: "manifests".into(),
            revision: "v1.2.0@sha256:abcd".into(),
            digest: "sha256:ef01".into(),
        };
        let status = desired_status(&stored, "http://srv", Some(&origin), &ExternalArtifactStatus::default());
        let metadata = status.artifact.unwrap().metadata.unwrap();
        let record_digest = Digest::from_sha256([9; 32]).to_string();
        let expected = [
            ("jaas.metio.wtf/evaluator", "jrsonnet test"),
            ("jaas.metio.wtf/objects", "3"),
            ("jaas.metio.wtf/record-digest", record_digest.as_str()),
            ("jaas.metio.wtf/source-kind", "OCIRepository"),
            ("jaas.metio.wtf/source-name", "manifests"),
            ("jaas.metio.wtf/source-namespace", "flux-system"),
            ("org.opencontainers.image.revision", "v1.2.0@sha256:abcd"),
        ];
        let actual: Vec<(&str, &str)> = metadata.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(actual, expected);
    }
}
