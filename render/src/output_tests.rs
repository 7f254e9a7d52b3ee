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
