//! `JsonnetSnippet` (`jaas.metio.wtf/v1`, short name `jsnip`): Jsonnet sources (inline or from a Flux source) and
//! inputs in, a published Flux `ExternalArtifact` out. The spec mirrors the rendering request; the status records
//! what was published.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::conditions::Condition;
use crate::crd::duration::{GO_DURATION_PATTERN, parse_go_duration};
use crate::crd::source_ref::{FluxSourceRef, RELATIVE_PATH_PATTERN, SourceChoice};

/// The shortest and longest `spec.interval` accepted.
pub const MIN_INTERVAL: Duration = Duration::from_secs(30);
/// See [`MIN_INTERVAL`].
pub const MAX_INTERVAL: Duration = Duration::from_hours(24);

/// The desired state of a JsonnetSnippet.
// printcolumn(...) repeats `type_ = "string"` by design.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "jaas.metio.wtf",
    version = "v1",
    kind = "JsonnetSnippet",
    namespaced,
    shortname = "jsnip",
    status = "JsonnetSnippetStatus",
    derive = "PartialEq",
    doc = "A Jsonnet program rendered by JaaS and published as a Flux ExternalArtifact of the same name.",
    printcolumn(name = "Ready", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].status"),
    printcolumn(name = "Revision", type_ = "string", json_path = ".status.revision"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
pub struct JsonnetSnippetSpec {
    /// The file that is evaluated: a key of `files`, or a path in the source's tree (relative to
    /// `sourceRef.path`).
    #[serde(default = "default_entry_file")]
    #[schemars(length(min = 1, max = 253))]
    pub entry_file: String,
    /// The snippet's own sources, file name to Jsonnet source. Files import each other by name. Exactly one of
    /// `files` and `sourceRef` must be set.
    #[serde(default)]
    pub files: BTreeMap<String, String>,
    /// The Flux source whose artifact holds the Jsonnet tree, instead of `files`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ref: Option<FluxSourceRef>,
    /// Directories of the source's tree searched for imports, in order, after the importing file's own
    /// (`jsonnet -J`); by default `vendor` and `lib` when the tree has them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64), inner(regex(pattern = RELATIVE_PATH_PATTERN)))]
    pub import_paths: Option<Vec<String>>,
    /// Names of `JsonnetLibrary` objects in the same namespace whose files may be imported as `<library>/<file>`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64))]
    pub libraries: Vec<String>,
    /// External variables (`std.extVar`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub external_variables: Vec<SnippetVariable>,
    /// Top-level arguments passed to the entry file's function.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tlas: Vec<SnippetVariable>,
    /// `rendered` evaluates the program into manifests; `source` publishes the sources unevaluated.
    #[serde(default)]
    pub output: OutputFormat,
    /// How many revisions stay in storage (the current one included).
    #[serde(default = "default_history")]
    #[schemars(range(min = 1, max = 50))]
    pub history: u32,
    /// Re-render this often even without changes (Go duration, 30s to 24h), e.g. to pick up a newer stdlib.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = GO_DURATION_PATTERN))]
    pub interval: Option<String>,
    /// When true, nothing is rendered, published or deleted (except on deletion of the snippet).
    #[serde(default)]
    pub suspend: bool,
    /// Reserved for impersonated rendering; ignored for now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
}

/// One external variable or top-level argument.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SnippetVariable {
    /// The variable's name.
    #[schemars(length(min = 1))]
    pub name: String,
    /// Its value: a string, or Jsonnet code when `code` is true. Required (no `default: ""`: a 1.20 API server
    /// reads an empty-string default as null and rejects the CRD).
    pub value: String,
    /// Whether `value` is Jsonnet code rather than a string.
    #[serde(default)]
    pub code: bool,
}

/// What the published artifact holds.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    /// The evaluated manifests.
    #[default]
    Rendered,
    /// The sources, unevaluated.
    Source,
}

fn default_entry_file() -> String {
    "main.jsonnet".to_owned()
}

fn default_history() -> u32 {
    1
}

/// What the controller last observed and published.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JsonnetSnippetStatus {
    /// The generation the status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready`, plus `Reconciling` or `Stalled` when they hold.
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// The published revision: the tarball's digest, `sha256:<hex>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// Where the published tarball can be downloaded.
    #[serde(default, rename = "artifactURL", skip_serializing_if = "Option::is_none")]
    pub artifact_url: Option<String>,
    /// When the snippet was last rendered successfully.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync_time: Option<Time>,
    /// The revisions kept in storage, newest first.
    #[serde(default)]
    pub history: Vec<HistoryEntry>,
    /// The last `reconcile.fluxcd.io/requestedAt` annotation value handled (`flux reconcile` sets it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

/// One revision kept in storage.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    /// The revision (equal to the digest).
    pub revision: String,
    /// The tarball's sha256, `sha256:<hex>`.
    pub digest: String,
    /// Its download URL.
    pub url: String,
    /// When it last became the current revision.
    pub time: Time,
}

impl JsonnetSnippetSpec {
    /// The re-render interval, if one is set; an error message when it cannot be parsed or is out of range.
    pub fn interval(&self) -> Result<Option<Duration>, String> {
        let Some(text) = &self.interval else { return Ok(None) };
        let interval = parse_go_duration(text).ok_or_else(|| format!("spec.interval {text:?} is not a duration"))?;
        if !(MIN_INTERVAL..=MAX_INTERVAL).contains(&interval) {
            return Err(format!("spec.interval {text:?} must be between 30s and 24h"));
        }
        Ok(Some(interval))
    }
}

impl SourceChoice for JsonnetSnippetSpec {
    fn files(&self) -> &BTreeMap<String, String> {
        &self.files
    }

    fn source_ref(&self) -> Option<&FluxSourceRef> {
        self.source_ref.as_ref()
    }

    fn paths_in_tree(&self) -> Vec<(String, &str)> {
        let import_paths = self.import_paths.iter().flatten().enumerate();
        let import_paths = import_paths.map(|(index, path)| (format!("spec.importPaths[{index}]"), path.as_str()));
        std::iter::once(("spec.entryFile".to_owned(), self.entry_file.as_str())).chain(import_paths).collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::crd::source_ref::validate_source_choice;
    use kube::CustomResourceExt;
    use serde_json::json;

    #[test]
    fn crd_generates_with_the_documented_names() {
        let crd = JsonnetSnippet::crd();
        assert_eq!(crd.spec.group, "jaas.metio.wtf");
        assert_eq!(crd.spec.names.short_names, Some(vec!["jsnip".to_owned()]));
        let yaml = serde_json::to_string(&crd).unwrap();
        assert!(!yaml.contains("x-kubernetes-validations"), "no CEL on a 1.20 API server");
        assert!(yaml.contains("\"artifactURL\""));
    }

    #[test]
    fn defaults_apply_to_an_empty_spec() {
        let spec: JsonnetSnippetSpec = serde_json::from_str("{}").unwrap();
        assert_eq!(spec.entry_file, "main.jsonnet");
        assert_eq!(spec.history, 1);
        assert_eq!(spec.output, OutputFormat::Rendered);
        assert_eq!(spec.interval(), Ok(None));
    }

    #[test]
    fn intervals_are_bounded() {
        let with = |s: &str| JsonnetSnippetSpec { interval: Some(s.to_owned()), ..serde_json::from_str("{}").unwrap() };
        assert_eq!(with("1m30s").interval(), Ok(Some(Duration::from_secs(90))));
        assert_eq!(with("24h").interval(), Ok(Some(MAX_INTERVAL)));
        assert!(with("29s").interval().is_err());
        assert!(with("25h").interval().is_err());
        assert!(with("soon").interval().is_err());
    }

    #[test]
    fn exactly_one_of_files_and_source_ref_with_paths_inside_the_tree() {
        let git = json!({"kind": "GitRepository", "name": "repo"});
        let inline = json!({"main.jsonnet": "{}"});
        let cases = [
            (json!({"files": inline}), Ok(())),
            (json!({"sourceRef": git, "importPaths": ["vendor", "./lib"]}), Ok(())),
            (json!({"sourceRef": {"kind": "Bucket", "name": "b", "path": "./apps/web"}}), Ok(())),
            (json!({"files": inline, "sourceRef": git}), Err("are both set")),
            (json!({}), Err("neither spec.files nor spec.sourceRef is set")),
            (
                json!({"sourceRef": {"kind": "Bucket", "name": "b", "path": "apps/../.."}}),
                Err(r#"spec.sourceRef.path "apps/../.." has a `..` component"#),
            ),
            (
                json!({"sourceRef": git, "entryFile": "/etc/main.jsonnet"}),
                Err(r#"spec.entryFile "/etc/main.jsonnet" is absolute"#),
            ),
            (
                json!({"sourceRef": git, "importPaths": ["vendor", "../lib"]}),
                Err(r#"spec.importPaths[1] "../lib" has a `..` component"#),
            ),
            (
                json!({"files": inline, "entryFile": "../main.jsonnet"}),
                Err(r#"spec.entryFile "../main.jsonnet" has a `..` component"#),
            ),
        ];
        for (document, expected) in cases {
            let spec: JsonnetSnippetSpec = serde_json::from_value(document.clone()).unwrap();
            match (validate_source_choice(&spec), expected) {
                (Ok(()), Ok(())) => {}
                (Err(message), Err(part)) => assert!(message.contains(part), "{document}: {message}"),
                (result, expected) => panic!("{document}: {result:?}, expected {expected:?}"),
            }
        }
    }
}
