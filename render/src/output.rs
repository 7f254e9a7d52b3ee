//! Output shaping: the evaluated JSON value becomes files of Kubernetes manifests that Flux can apply.
//!
//! - a manifest object ⇒ one document in `manifests.yaml`;
//! - an array ⇒ one document per element in `manifests.yaml` (nested arrays and list objects flattened: `kind: List`,
//!   and, as kubectl and kustomize do, any object with an `items` array whose kind ends in `List`, such as
//!   `ConfigMapList`);
//! - any other object ⇒ one file per key (`<sanitised key>.yaml`), each value a manifest or an array of them.
//!
//! Every document must have a non-empty `apiVersion`, `kind` and `metadata.name`.

use serde_json::{Map, Value};

use super::RenderError;

/// The file holding the whole evaluated value, pretty-printed with sorted keys.
pub const RENDERED_JSON: &str = "rendered.json";
/// The file holding the documents when the value is a manifest or an array of manifests.
pub const SINGLE_FILE: &str = "manifests.yaml";
/// Longest file stem kept from an object key, so names stay well below file-system limits.
const MAX_STEM_CHARS: usize = 200;

/// One YAML file of the artifact: its name and its documents, in order, borrowed from the evaluated value.
#[derive(Debug, Clone, PartialEq)]
pub struct ManifestFile<'v> {
    /// File name (`manifests.yaml` or `<sanitised key>.yaml`).
    pub name: String,
    /// The documents, each a validated manifest object.
    pub documents: Vec<&'v Value>,
}

/// Splits an evaluated value into manifest files, sorted by name. Files without documents are left out.
pub fn shape_manifests(value: &Value) -> Result<Vec<ManifestFile<'_>>, RenderError> {
    let files = match value {
        Value::Array(_) => vec![collect_file(SINGLE_FILE, value, "$")?],
        Value::Object(map) if looks_like_manifest(map) => vec![collect_file(SINGLE_FILE, value, "$")?],
        Value::Object(map) => {
            let mut files: Vec<(ManifestFile<'_>, &str)> = Vec::with_capacity(map.len());
            for (key, value) in map {
                let location = format!("$[{}]", Value::String(key.clone()));
                if !value.is_array() && !value.is_object() {
                    return Err(RenderError::InvalidOutput(format!(
                        "{location}: the value of key {key:?} must be a manifest or an array of manifests, got {}",
                        type_name(value)
                    )));
                }
                files.push((collect_file(&file_name_for_key(key), value, &location)?, key));
            }
            files.sort_by(|a, b| a.0.name.cmp(&b.0.name));
            if let Some(pair) = files.windows(2).find(|pair| pair[0].0.name == pair[1].0.name) {
                return Err(RenderError::InvalidOutput(format!(
                    "keys {:?} and {:?} both become the file name {:?}",
                    pair[0].1, pair[1].1, pair[0].0.name
                )));
            }
            files.into_iter().map(|(file, _)| file).collect()
        }
        other => {
            return Err(RenderError::InvalidOutput(format!(
                "the entry file must evaluate to an object or an array of manifests, got {}",
                type_name(other)
            )));
        }
    };
    Ok(files.into_iter().filter(|file| !file.documents.is_empty()).collect())
}

/// A file name for an object key: unsafe characters replaced by `-`, no leading dots, `.yaml` appended
/// (a `.yaml`/`.yml` the key already ends with is not doubled).
pub fn file_name_for_key(key: &str) -> String {
    let stem = key.strip_suffix(".yaml").or_else(|| key.strip_suffix(".yml")).unwrap_or(key);
    let cleaned: String =
        stem.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '-' }).collect();
    let cleaned: String = cleaned.trim_start_matches('.').chars().take(MAX_STEM_CHARS).collect();
    if cleaned.is_empty() { "_.yaml".to_owned() } else { format!("{cleaned}.yaml") }
}

fn looks_like_manifest(map: &Map<String, Value>) -> bool {
    map.contains_key("apiVersion") || map.contains_key("kind")
}

fn collect_file<'v>(name: &str, value: &'v Value, location: &str) -> Result<ManifestFile<'v>, RenderError> {
    let mut documents = Vec::new();
    flatten(value, location, &mut documents)?;
    for (index, (document, location)) in documents.iter().enumerate() {
        if let Err(problem) = check_manifest(document) {
            return Err(RenderError::InvalidOutput(format!(
                "{name} document {} (at {location}): {problem}",
                index + 1
            )));
        }
    }
    Ok(ManifestFile { name: name.to_owned(), documents: documents.into_iter().map(|(doc, _)| doc).collect() })
}

fn flatten<'v>(value: &'v Value, location: &str, out: &mut Vec<(&'v Value, String)>) -> Result<(), RenderError> {
    match value {
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                flatten(item, &format!("{location}[{index}]"), out)?;
            }
            Ok(())
        }
        Value::Object(map) if is_typed_list(map) => flatten(&map["items"], &format!("{location}.items"), out),
        Value::Object(map) if map.get("kind").and_then(Value::as_str) == Some("List") => match map.get("items") {
            Some(items @ Value::Array(_)) => flatten(items, &format!("{location}.items"), out),
            Some(Value::Null) | None => Ok(()),
            Some(other) => Err(RenderError::InvalidOutput(format!(
                "{location}: the items of a List must be an array, got {}",
                type_name(other)
            ))),
        },
        Value::Object(_) => {
            out.push((value, location.to_owned()));
            Ok(())
        }
        other => {
            Err(RenderError::InvalidOutput(format!("{location}: expected a manifest object, got {}", type_name(other))))
        }
    }
}

/// A typed list such as `ConfigMapList` or `RoleBindingList`: a kind ending in `List` and an `items` array.
/// kube-prometheus returns these; kubectl and kustomize apply their items.
fn is_typed_list(map: &Map<String, Value>) -> bool {
    map.get("kind").and_then(Value::as_str).is_some_and(|kind| kind.ends_with("List"))
        && map.get("items").is_some_and(Value::is_array)
}

fn check_manifest(document: &Value) -> Result<(), &'static str> {
    let non_empty = |value: Option<&Value>| value.and_then(Value::as_str).is_some_and(|s| !s.is_empty());
    if !non_empty(document.get("apiVersion")) {
        return Err("missing apiVersion (a non-empty string)");
    }
    if !non_empty(document.get("kind")) {
        return Err("missing kind (a non-empty string)");
    }
    if !non_empty(document.get("metadata").and_then(|metadata| metadata.get("name"))) {
        return Err("missing metadata.name (a non-empty string)");
    }
    Ok(())
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    //! Table-driven tests of output shaping.

    use serde_json::{Value, json};

    use super::*;

    fn cm(name: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}})
    }

    /// Expected files as (name, document names).
    type Files = Vec<(&'static str, Vec<&'static str>)>;

    /// (what, value, expected files) for the accepted shapes.
    fn accepted() -> Vec<(&'static str, Value, Files)> {
        vec![
            ("single manifest", cm("a"), vec![("manifests.yaml", vec!["a"])]),
            ("array", json!([cm("a"), cm("b")]), vec![("manifests.yaml", vec!["a", "b"])]),
            ("nested arrays", json!([[cm("a")], [[cm("b")], cm("c")]]), vec![("manifests.yaml", vec!["a", "b", "c"])]),
            (
                "List flattened",
                json!({"apiVersion": "v1", "kind": "List", "items": [cm("a"), {"apiVersion": "v1", "kind": "List", "items": [cm("b")]}]}),
                vec![("manifests.yaml", vec!["a", "b"])],
            ),
            (
                "typed lists flattened",
                json!([
                    {"apiVersion": "v1", "kind": "ConfigMapList", "items": [cm("a"), cm("b")]},
                    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBindingList", "items": []},
                    {"apiVersion": "v1", "kind": "RoleList", "items": [{"apiVersion": "v1", "kind": "List", "items": [cm("c")]}]},
                ]),
                vec![("manifests.yaml", vec!["a", "b", "c"])],
            ),
            (
                "a typed list as the whole value",
                json!({"apiVersion": "v1", "kind": "ConfigMapList", "items": [cm("a")]}),
                vec![("manifests.yaml", vec!["a"])],
            ),
            (
                "a typed list as the value of a key",
                json!({"rbac": {"apiVersion": "v1", "kind": "RoleBindingList", "items": [cm("r")]}}),
                vec![("rbac.yaml", vec!["r"])],
            ),
            (
                "a kind ending in List without an items array is a manifest",
                json!({"apiVersion": "example.com/v1", "kind": "AllowList", "metadata": {"name": "allow"}}),
                vec![("manifests.yaml", vec!["allow"])],
            ),
            ("empty array", json!([]), vec![]),
            (
                "object of files",
                json!({"web": [cm("a"), cm("b")], "db.yaml": cm("c"), "x/y z": [[cm("d")]]}),
                vec![("db.yaml", vec!["c"]), ("web.yaml", vec!["a", "b"]), ("x-y-z.yaml", vec!["d"])],
            ),
            ("object with an empty file", json!({"a": [], "b": cm("b")}), vec![("b.yaml", vec!["b"])]),
        ]
    }

    #[test]
    fn accepted_shapes() {
        for (what, value, expected) in accepted() {
            let files = shape_manifests(&value).unwrap_or_else(|e| panic!("{what}: {e}"));
            let got: Vec<(&str, Vec<&str>)> = files
                .iter()
                .map(|file| {
                    let names = file.documents.iter().map(|d| d["metadata"]["name"].as_str().unwrap()).collect();
                    (file.name.as_str(), names)
                })
                .collect();
            assert_eq!(got, expected, "{what}");
        }
    }

    #[test]
    fn rejected_shapes_name_the_culprit() {
        let cases = [
            ("string", json!("hello"), "got a string"),
            ("null", Value::Null, "got null"),
            (
                "no name",
                json!({"apiVersion": "v1", "kind": "ConfigMap"}),
                "manifests.yaml document 1 (at $): missing metadata.name",
            ),
            (
                "empty kind",
                json!([cm("a"), {"apiVersion": "v1", "kind": "", "metadata": {"name": "b"}}]),
                "document 2 (at $[1]): missing kind",
            ),
            ("no apiVersion", json!({"kind": "Pod", "metadata": {"name": "p"}}), "missing apiVersion"),
            ("scalar in array", json!([cm("a"), 3]), "$[1]: expected a manifest object, got a number"),
            ("scalar value of key", json!({"web": "x"}), "the value of key \"web\" must be a manifest"),
            ("bad document in key", json!({"web": [cm("a"), {"kind": "X"}]}), "web.yaml document 2 (at $[\"web\"][1])"),
            ("colliding keys", json!({"a/b": cm("x"), "a b": cm("y")}), "both become the file name \"a-b.yaml\""),
            (
                "typed list whose items are not an array stays a manifest",
                json!({"apiVersion": "v1", "kind": "ConfigMapList", "items": {"a": 1}}),
                "document 1 (at $): missing metadata.name",
            ),
            (
                "item of a typed list",
                json!({"apiVersion": "v1", "kind": "RoleList", "items": [cm("a"), {"kind": "Role"}]}),
                "document 2 (at $.items[1]): missing apiVersion",
            ),
            (
                "List with bad items",
                json!({"apiVersion": "v1", "kind": "List", "items": 1}),
                "items of a List must be an array",
            ),
        ];
        for (what, value, fragment) in cases {
            match shape_manifests(&value) {
                Err(RenderError::InvalidOutput(message)) => {
                    assert!(message.contains(fragment), "{what}: {message:?} should contain {fragment:?}");
                }
                other => panic!("{what}: expected InvalidOutput, got {other:?}"),
            }
        }
    }

    #[test]
    fn file_names_are_safe() {
        let cases = [
            ("web", "web.yaml"),
            ("web.yaml", "web.yaml"),
            ("web.yml", "web.yaml"),
            ("../../etc/passwd", "-..-etc-passwd.yaml"),
            ("..", "_.yaml"),
            (".hidden", "hidden.yaml"),
            ("", "_.yaml"),
            ("Grüße", "Gr--e.yaml"),
            ("a_b-c.d", "a_b-c.d.yaml"),
        ];
        for (key, expected) in cases {
            let name = file_name_for_key(key);
            assert_eq!(name, expected, "key {key:?}");
            assert!(!name.contains('/') && !name.starts_with('.'));
        }
        assert_eq!(file_name_for_key(&"x".repeat(500)).len(), MAX_STEM_CHARS + ".yaml".len());
    }
}
