//! Flux's source kinds that a snippet or library can read Jsonnet from (`GitRepository`, `OCIRepository`,
//! `Bucket`; group `source.toolkit.fluxcd.io/v1`), as kube types holding only what we read: `status.artifact`
//! and `status.conditions`, and the spec's required fields (the rest of the spec is kept, not declared). Their CRDs
//! belong to Flux; we generate ours (`jaas crdgen --flux-sources`) only so that tests can install them on a
//! cluster without Flux, and a test keeps every field we declare in line with Flux's own CRDs.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::conditions::Condition;
use crate::crd::duration::GO_DURATION_PATTERN;
use crate::crd::external_artifact::Artifact;

/// The observed state every Flux source reports, as far as we read it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FluxSourceStatus {
    /// The generation source-controller last reconciled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The latest artifact; unset until the source has produced one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<Artifact>,
    /// The source's conditions (`Ready` among them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

/// The desired state of a GitRepository: its URL and polling interval; other fields are kept, not declared.
// printcolumn(...) repeats `type_ = "string"` by design.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "source.toolkit.fluxcd.io",
    version = "v1",
    kind = "GitRepository",
    namespaced,
    shortname = "gitrepo",
    status = "FluxSourceStatus",
    derive = "PartialEq",
    doc = "GitRepository is the Schema for the gitrepositories API.",
    printcolumn(name = "URL", type_ = "string", json_path = ".spec.url"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    printcolumn(name = "Ready", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].status"),
    printcolumn(name = "Status", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].message")
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct GitRepositorySpec {
    /// The repository URL (`http`, `https` or `ssh`).
    #[schemars(regex(pattern = r"^(http|https|ssh)://.*$"))]
    pub url: String,
    /// How often source-controller checks for a new revision (Go duration).
    #[schemars(regex(pattern = GO_DURATION_PATTERN))]
    pub interval: String,
}

/// The desired state of an OCIRepository: its URL and polling interval; other fields are kept, not declared.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "source.toolkit.fluxcd.io",
    version = "v1",
    kind = "OCIRepository",
    plural = "ocirepositories",
    namespaced,
    shortname = "ocirepo",
    status = "FluxSourceStatus",
    derive = "PartialEq",
    doc = "OCIRepository is the Schema for the ocirepositories API",
    printcolumn(name = "URL", type_ = "string", json_path = ".spec.url"),
    printcolumn(name = "Ready", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].status"),
    printcolumn(name = "Status", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].message"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct OciRepositorySpec {
    /// The artifact's URL, `oci://<registry>/<repository>`.
    #[schemars(regex(pattern = r"^oci://.*$"))]
    pub url: String,
    /// How often source-controller checks for a new revision (Go duration).
    #[schemars(regex(pattern = GO_DURATION_PATTERN))]
    pub interval: String,
}

/// The desired state of a Bucket: where it is and the polling interval; other fields are kept, not declared.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "source.toolkit.fluxcd.io",
    version = "v1",
    kind = "Bucket",
    namespaced,
    status = "FluxSourceStatus",
    derive = "PartialEq",
    doc = "Bucket is the Schema for the buckets API.",
    printcolumn(name = "Endpoint", type_ = "string", json_path = ".spec.endpoint"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    printcolumn(name = "Ready", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].status"),
    printcolumn(name = "Status", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].message")
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-preserve-unknown-fields" = true))]
pub struct BucketSpec {
    /// The bucket's name.
    pub bucket_name: String,
    /// The object storage endpoint (host, optionally with a port).
    pub endpoint: String,
    /// How often source-controller checks for a new revision (Go duration).
    #[schemars(regex(pattern = GO_DURATION_PATTERN))]
    pub interval: String,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use kube::CustomResourceExt;

    #[test]
    fn a_source_with_an_artifact_reads_as_flux_writes_it() {
        let document = serde_json::json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": "repo", "namespace": "flux-system"},
            "spec": {"url": "https://example.com/repo.git", "interval": "1m", "ref": {"branch": "main"}},
            "status": {"observedGeneration": 1, "artifact": {
                "digest": "sha256:0123", "lastUpdateTime": "2025-01-01T00:00:00Z", "path": "gitrepository/x.tar.gz",
                "revision": "main@sha1:abc", "size": 10, "url": "http://source-controller/x.tar.gz"}},
        });
        let repository: GitRepository = serde_json::from_value(document).unwrap();
        let artifact = repository.status.unwrap().artifact.unwrap();
        assert_eq!((artifact.revision.as_str(), artifact.size), ("main@sha1:abc", Some(10)));
    }

    #[test]
    fn crds_keep_the_undeclared_spec_and_name_the_kinds_as_flux_does() {
        for (crd, plural) in [
            (GitRepository::crd(), "gitrepositories"),
            (OCIRepository::crd(), "ocirepositories"),
            (Bucket::crd(), "buckets"),
        ] {
            assert_eq!(crd.spec.names.plural, plural);
            let schema = crd.spec.versions[0].schema.clone().unwrap().open_api_v3_schema.unwrap();
            let spec = &schema.properties.unwrap()["spec"];
            assert_eq!(spec.x_kubernetes_preserve_unknown_fields, Some(true), "{plural}");
        }
    }
}
