//! `JsonnetLibrary` (`jaas.metio.wtf/v1`, short name `jlib`): shared Jsonnet files that snippets in the same
//! namespace import as `<library name>/<file>`. Editing one re-renders every snippet that lists it.

use std::collections::BTreeMap;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

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
    /// File name to Jsonnet (or libsonnet, or data) source.
    #[serde(default)]
    pub files: BTreeMap<String, String>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use kube::CustomResourceExt;

    #[test]
    fn crd_generates_with_the_documented_names() {
        let crd = JsonnetLibrary::crd();
        assert_eq!(crd.spec.names.short_names, Some(vec!["jlib".to_owned()]));
        assert_eq!(crd.spec.scope, "Namespaced");
    }
}
