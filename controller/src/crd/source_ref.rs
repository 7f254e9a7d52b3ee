//! `spec.sourceRef` of JsonnetSnippet and JsonnetLibrary: a Flux source (GitRepository, OCIRepository, Bucket or
//! ExternalArtifact) whose artifact holds the Jsonnet tree, and [`validate_source_choice`], the rule a 1.20 API
//! server cannot enforce for us (it has no CEL): exactly one of `files` and `sourceRef`, and every path the spec
//! names inside the tree relative and free of `..`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The API version `sourceRef.apiVersion` defaults to: Flux's source API.
pub const FLUX_SOURCE_API_VERSION: &str = "source.toolkit.fluxcd.io/v1";

/// A relative path of non-empty components, none of them `..`, optionally ending in `/` (`./deploy`,
/// `jsonnet/app/`). The schema carries it so that `kubectl apply` refuses what [`validate_source_choice`] would;
/// Go's RE2 has no look-ahead, hence the spelled-out "any component but `..`".
pub const RELATIVE_PATH_PATTERN: &str = r"^([^/]|[^/.][^/]|\.[^/.]|[^/]{3,})(/([^/]|[^/.][^/]|\.[^/.]|[^/]{3,}))*/?$";

/// The Flux source kinds a snippet or library can read its Jsonnet from.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, JsonSchema)]
pub enum FluxSourceKind {
    /// A Git repository (`GitRepository`).
    GitRepository,
    /// An OCI artifact (`OCIRepository`).
    #[serde(rename = "OCIRepository")]
    OciRepository,
    /// An S3-compatible bucket (`Bucket`).
    Bucket,
    /// An artifact published by another producer, e.g. another JsonnetSnippet (`ExternalArtifact`).
    ExternalArtifact,
}

impl FluxSourceKind {
    /// Every kind, in a fixed order.
    pub const ALL: [Self; 4] = [Self::GitRepository, Self::OciRepository, Self::Bucket, Self::ExternalArtifact];

    /// The kind as Kubernetes spells it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::GitRepository => "GitRepository",
            Self::OciRepository => "OCIRepository",
            Self::Bucket => "Bucket",
            Self::ExternalArtifact => "ExternalArtifact",
        }
    }

    /// The kind's resource name (plural).
    pub const fn plural(self) -> &'static str {
        match self {
            Self::GitRepository => "gitrepositories",
            Self::OciRepository => "ocirepositories",
            Self::Bucket => "buckets",
            Self::ExternalArtifact => "externalartifacts",
        }
    }
}

impl std::fmt::Display for FluxSourceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A reference to the Flux source whose artifact holds the Jsonnet tree.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FluxSourceRef {
    /// API version of the source.
    #[serde(default = "default_api_version")]
    #[schemars(length(min = 1))]
    pub api_version: String,
    /// Kind of the source.
    pub kind: FluxSourceKind,
    /// Name of the source.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Namespace of the source; the referring object's own when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The subdirectory of the artifact that holds the Jsonnet tree (relative, no `..`); the whole artifact when
    /// unset. `entryFile` and `importPaths` are relative to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = RELATIVE_PATH_PATTERN))]
    pub path: Option<String>,
}

fn default_api_version() -> String {
    FLUX_SOURCE_API_VERSION.to_owned()
}

/// A spec that takes its Jsonnet either inline (`files`) or from a Flux source (`sourceRef`).
pub trait SourceChoice {
    /// The inline sources (empty when unset: the schema defaults them to `{}`).
    fn files(&self) -> &BTreeMap<String, String>;
    /// The Flux source, if one is named.
    fn source_ref(&self) -> Option<&FluxSourceRef>;
    /// The other paths the spec names inside the tree, each with its field (`spec.entryFile`).
    fn paths_in_tree(&self) -> Vec<(String, &str)>;
}

/// Checks what the schema cannot: exactly one of `spec.files` and `spec.sourceRef`, and that every path the spec
/// names inside the tree is relative and has no `..` component. The error is the message of an `InvalidSpec`.
pub fn validate_source_choice(spec: &impl SourceChoice) -> Result<(), String> {
    let source_ref = spec.source_ref();
    match (spec.files().is_empty(), source_ref) {
        (false, Some(_)) => {
            return Err("spec.files and spec.sourceRef are both set: keep one of them (files for inline Jsonnet, \
                        sourceRef for Jsonnet in a Flux source)"
                .to_owned());
        }
        (true, None) => {
            return Err("neither spec.files nor spec.sourceRef is set: list the Jsonnet files inline in spec.files \
                        or name a Flux source in spec.sourceRef"
                .to_owned());
        }
        _ => {}
    }
    let source_path = source_ref.and_then(|r| r.path.as_deref()).map(|p| ("spec.sourceRef.path".to_owned(), p));
    for (field, path) in source_path.into_iter().chain(spec.paths_in_tree()) {
        if let Some(problem) = path_problem(path) {
            return Err(format!("{field} {path:?} {problem}"));
        }
    }
    Ok(())
}

/// Why `path` cannot name something inside a tree, if it cannot.
fn path_problem(path: &str) -> Option<&'static str> {
    if path.is_empty() {
        Some("is empty: name a file or directory relative to the tree's root")
    } else if path.starts_with('/') {
        Some("is absolute: paths are relative to the tree's root")
    } else if path.split('/').any(|component| component == "..") {
        Some("has a `..` component: paths must stay inside the tree")
    } else {
        None
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_pattern_refuses_every_path_the_function_refuses() {
        let pattern = regex::Regex::new(RELATIVE_PATH_PATTERN).unwrap();
        let cases = [
            ("deploy", true),
            ("./deploy", true),
            ("jsonnet/app/", true),
            ("a/.hidden/...", true),
            (".", true),
            ("..", false),
            ("../x", false),
            ("a/../b", false),
            ("a/..", false),
            ("/abs", false),
            ("", false),
        ];
        for (path, accepted) in cases {
            assert_eq!(path_problem(path).is_none(), accepted, "function on {path:?}");
            assert_eq!(pattern.is_match(path), accepted, "pattern on {path:?}");
        }
        assert!(!pattern.is_match("a//b"), "the schema is stricter about empty components");
    }

    #[test]
    fn the_kind_is_spelled_as_flux_spells_it() {
        let reference: FluxSourceRef = serde_json::from_str(r#"{"kind": "OCIRepository", "name": "x"}"#).unwrap();
        assert_eq!(reference.kind, FluxSourceKind::OciRepository);
        assert_eq!(reference.api_version, FLUX_SOURCE_API_VERSION);
        assert!(serde_json::from_str::<FluxSourceRef>(r#"{"kind": "HelmChart", "name": "x"}"#).is_err());
        for kind in FluxSourceKind::ALL {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str(), "serde and as_str agree");
            assert_eq!(kind.plural(), format!("{}s", kind.as_str().to_lowercase()).replace("ys", "ies"));
        }
    }
}
