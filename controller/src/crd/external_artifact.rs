//! Flux's `ExternalArtifact` (`source.toolkit.fluxcd.io/v1`) as a kube type: what we publish for each snippet so
//! that Flux Kustomizations and HelmReleases can consume it. Its CRD belongs to Flux; we generate ours only so that
//! tests can install it, and a test keeps the schema in line with Flux's own CRD.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::conditions::Condition;

/// The pattern Flux enforces on `status.artifact.digest`.
pub const FLUX_DIGEST_PATTERN: &str = r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$";

/// The desired state of an ExternalArtifact: which object the artifact was generated for.
// printcolumn(...) repeats `type_ = "string"` by design.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "source.toolkit.fluxcd.io",
    version = "v1",
    kind = "ExternalArtifact",
    namespaced,
    status = "ExternalArtifactStatus",
    derive = "PartialEq",
    doc = "ExternalArtifact is the Schema for the external artifacts API",
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    printcolumn(name = "Ready", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].status"),
    printcolumn(name = "Status", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].message"),
    printcolumn(name = "Source", type_ = "string", json_path = ".spec.sourceRef.name")
)]
#[serde(rename_all = "camelCase")]
pub struct ExternalArtifactSpec {
    /// The custom resource the artifact is generated for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_ref: Option<SourceReference>,
}

/// A reference to the object that produced the artifact.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SourceReference {
    /// API version of the referent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Kind of the referent.
    pub kind: String,
    /// Name of the referent.
    pub name: String,
    /// Namespace of the referent; the ExternalArtifact's own when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// The observed state of an ExternalArtifact.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalArtifactStatus {
    /// The published artifact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifact: Option<Artifact>,
    /// The conditions of the ExternalArtifact (we set `Ready`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
}

/// One downloadable artifact, as every Flux source reports it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Artifact {
    /// `<algorithm>:<checksum>` of the file.
    #[schemars(regex(pattern = FLUX_DIGEST_PATTERN))]
    pub digest: String,
    /// When the artifact last changed.
    pub last_update_time: Time,
    /// Upstream metadata.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
    /// The file's path relative to the storage root.
    pub path: String,
    /// A human-readable revision identifier.
    pub revision: String,
    /// The file's size in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<i64>,
    /// Where the artifact can be downloaded.
    pub url: String,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use kube::CustomResourceExt;
    use serde_json::Value;

    /// Drops what does not change validation: descriptions, `nullable` (our optional fields are omitted,
    /// never sent as null) and the float spelling of integral bounds.
    #[allow(clippy::float_cmp, clippy::cast_possible_truncation)]
    fn normalise(value: &mut Value) {
        match value {
            Value::Object(map) => {
                map.remove("description");
                map.remove("nullable");
                if let Some(Value::Array(required)) = map.get_mut("required") {
                    required.sort_by_key(ToString::to_string);
                }
                map.values_mut().for_each(normalise);
            }
            Value::Array(items) => items.iter_mut().for_each(normalise),
            // schemars writes `minimum: 0.0` where Flux writes `0`: the same bound.
            Value::Number(number) if number.is_f64() => {
                let float = number.as_f64().unwrap();
                if float.fract() == 0.0 {
                    *value = serde_json::json!(float as i64);
                }
            }
            _ => {}
        }
    }

    fn version_of(crd: &Value) -> Value {
        crd["spec"]["versions"][0].clone()
    }

    #[test]
    fn schema_matches_flux_where_it_matters() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/fixtures/flux-externalartifact-crd.yaml");
        let Ok(text) = std::fs::read_to_string(path) else {
            eprintln!("{path} not present: comparing our CRD against itself only");
            assert!(ExternalArtifact::crd().spec.versions[0].subresources.is_some());
            return;
        };
        let flux: Value = serde_saphyr::from_str(&text).unwrap();
        let ours = serde_json::to_value(ExternalArtifact::crd()).unwrap();
        assert_eq!(ours["spec"]["group"], flux["spec"]["group"]);
        for field in ["kind", "plural", "singular"] {
            assert_eq!(ours["spec"]["names"][field], flux["spec"]["names"][field], "names.{field}");
        }
        // The API server defaults listKind to `<kind>List`, which is what Flux's CRD spells out.
        assert_eq!(flux["spec"]["names"]["listKind"], "ExternalArtifactList");
        assert_eq!(ours["spec"]["scope"], flux["spec"]["scope"]);
        let (mut ours, mut flux) = (version_of(&ours), version_of(&flux));
        normalise(&mut ours);
        normalise(&mut flux);
        for field in ["name", "served", "storage", "subresources"] {
            assert_eq!(ours[field], flux[field], "versions[0].{field}");
        }
        let columns = |v: &Value| -> Vec<(Value, Value)> {
            v["additionalPrinterColumns"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| (c["name"].clone(), c["jsonPath"].clone()))
                .collect()
        };
        assert_eq!(columns(&ours), columns(&flux));
        for part in ["spec", "status"] {
            let ours = &ours["schema"]["openAPIV3Schema"]["properties"][part];
            let flux = &flux["schema"]["openAPIV3Schema"]["properties"][part];
            assert_eq!(ours, flux, "schema of .{part} differs:\nours: {ours:#}\nflux: {flux:#}");
        }
    }
}
