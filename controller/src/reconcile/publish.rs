//! Writing what a reconcile produced: the `ExternalArtifact` (server-side apply of the object, then of its
//! `/status`) and the snippet's own `/status`. Status goes through a different field manager than the object,
//! because a 1.20 API server has no `subresource` in managedFields and one manager's status apply would replace
//! its ownership of the main resource. Nothing is written when the desired state is already there, so an
//! unchanged render causes no API writes at all.

use jaas_shared::ArtifactKey;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::api::{ObjectMeta, Patch, PatchParams};
use kube::{Api, Resource, ResourceExt};
use serde_json::json;

use crate::conditions::{self, Condition, ConditionStatus, READY, REASON_SUCCEEDED};
use crate::crd::{
    Artifact, ExternalArtifact, ExternalArtifactSpec, ExternalArtifactStatus, JsonnetSnippet, JsonnetSnippetStatus,
    SourceReference,
};
use crate::error::Result;
use crate::reconcile::Context;

/// The field manager of the objects we apply.
pub const FIELD_MANAGER: &str = "jaas-controller";
/// The field manager of the status we apply (see the module docs for why it differs).
pub const STATUS_FIELD_MANAGER: &str = "jaas-controller-status";

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

/// Publishes `key` (of `size` bytes) as the snippet's ExternalArtifact and marks it Ready.
pub async fn publish_artifact(ctx: &Context, snippet: &JsonnetSnippet, key: &ArtifactKey, size: u64) -> Result<()> {
    let namespace = snippet.namespace().unwrap_or_default();
    let api: Api<ExternalArtifact> = Api::namespaced(ctx.client.clone(), &namespace);
    let name = snippet.name_any();
    let existing = api.get_opt(&name).await?;
    let desired = desired_external_artifact(snippet);
    let owned = existing.as_ref().is_some_and(|ea| {
        ea.spec == desired.spec
            && ea
                .owner_references()
                .iter()
                .any(|o| Some(&o.uid) == snippet.metadata.uid.as_ref() && o.controller == Some(true))
    });
    if !owned {
        api.patch(&name, &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(&desired)).await?;
    }

    let digest = key.digest().to_string();
    let old_status = existing.and_then(|ea| ea.status).unwrap_or_default();
    let last_update_time = match &old_status.artifact {
        Some(old) if old.digest == digest => old.last_update_time.clone(),
        _ => Time(Timestamp::now()),
    };
    let ready = Condition::new(
        READY,
        ConditionStatus::True,
        REASON_SUCCEEDED,
        &format!("stored artifact for revision '{digest}'"),
        None,
    );
    let status = ExternalArtifactStatus {
        artifact: Some(Artifact {
            digest: digest.clone(),
            last_update_time,
            metadata: None,
            path: key.relative_path(),
            revision: digest,
            size: i64::try_from(size).ok(),
            url: key.url(&ctx.base_url),
        }),
        conditions: Some(conditions::merge(old_status.conditions.as_deref().unwrap_or_default(), vec![ready], &[])),
    };
    if status != old_status {
        let patch = json!({
            "apiVersion": ExternalArtifact::api_version(&()),
            "kind": ExternalArtifact::kind(&()),
            "status": status,
        });
        api.patch_status(&name, &PatchParams::apply(STATUS_FIELD_MANAGER).force(), &Patch::Apply(&patch)).await?;
    }
    Ok(())
}

/// Applies `status` to the snippet's `/status` unless it already is the current status.
pub async fn write_snippet_status(ctx: &Context, snippet: &JsonnetSnippet, status: JsonnetSnippetStatus) -> Result<()> {
    if snippet.status.as_ref() == Some(&status) {
        return Ok(());
    }
    let api: Api<JsonnetSnippet> = Api::namespaced(ctx.client.clone(), &snippet.namespace().unwrap_or_default());
    let patch = json!({
        "apiVersion": JsonnetSnippet::api_version(&()),
        "kind": JsonnetSnippet::kind(&()),
        "status": status,
    });
    api.patch_status(&snippet.name_any(), &PatchParams::apply(STATUS_FIELD_MANAGER).force(), &Patch::Apply(&patch))
        .await?;
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
}
