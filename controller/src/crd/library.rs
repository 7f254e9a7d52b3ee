//! `JsonnetLibrary` (`jaas.metio.wtf/v1`, short name `jlib`): shared Jsonnet files, inline or from a Flux source,
//! that snippets in the same namespace import as `<importPath>/<file>`. Editing one re-renders every snippet that
//! lists it.

use std::collections::BTreeMap;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::crd::source_ref::{FluxSourceRef, RELATIVE_PATH_PATTERN, SourceChoice};

/// A set of Jsonnet files shared by snippets.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[kube(
    group = "jaas.metio.wtf",
    version = "v1",
    kind = "JsonnetLibrary",
    namespaced,
    shortname = "jlib",
    derive = "PartialEq",
    doc = "Jsonnet files that JsonnetSnippets in the same namespace can import as <library>/<file>.",
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
pub struct JsonnetLibrarySpec {
    /// File name to Jsonnet (or libsonnet, or data) source. Exactly one of `files` and `sourceRef` must be set.
    #[serde(default)]
    pub files: BTreeMap<String, String>,
    /// The Flux source whose artifact holds the library's files, instead of `files` (e.g. a jsonnet-bundler
    /// `vendor/` tree, narrowed with `path`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ref: Option<FluxSourceRef>,
    /// The prefix snippets import the library's files under (`<importPath>/<file>`); the library's name when
    /// unset. A relative path without `..`, e.g. `github.com/grafana/grafonnet`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = RELATIVE_PATH_PATTERN))]
    pub import_path: Option<String>,
}

impl SourceChoice for JsonnetLibrarySpec {
    fn files(&self) -> &BTreeMap<String, String> {
        &self.files
    }

    fn source_ref(&self) -> Option<&FluxSourceRef> {
        self.source_ref.as_ref()
    }

    fn paths_in_tree(&self) -> Vec<(String, &str)> {
        self.import_path.iter().map(|path| ("spec.importPath".to_owned(), path.as_str())).collect()
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
        let crd = JsonnetLibrary::crd();
        assert_eq!(crd.spec.names.short_names, Some(vec!["jlib".to_owned()]));
        assert_eq!(crd.spec.scope, "Namespaced");
    }

    #[test]
    fn exactly_one_of_files_and_source_ref_and_a_relative_import_path() {
        let git = json!({"kind": "GitRepository", "name": "repo", "path": "vendor/grafonnet"});
        let cases = [
            (json!({"files": {"a.libsonnet": "{}"}}), Ok(())),
            (json!({"sourceRef": git, "importPath": "github.com/grafana/grafonnet"}), Ok(())),
            (json!({"files": {"a.libsonnet": "{}"}, "sourceRef": git}), Err("are both set")),
            (json!({"files": {}}), Err("neither spec.files nor spec.sourceRef is set")),
            (json!({"sourceRef": git, "importPath": "/abs"}), Err(r#"spec.importPath "/abs" is absolute"#)),
            (json!({"sourceRef": git, "importPath": ""}), Err(r#"spec.importPath "" is empty"#)),
        ];
        for (document, expected) in cases {
            let spec: JsonnetLibrarySpec = serde_json::from_value(document.clone()).unwrap();
            match (validate_source_choice(&spec), expected) {
                (Ok(()), Ok(())) => {}
                (Err(message), Err(part)) => assert!(message.contains(part), "{document}: {message}"),
                (result, expected) => panic!("{document}: {result:?}, expected {expected:?}"),
            }
        }
    }
}
