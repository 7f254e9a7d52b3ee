//! Tests of in-process evaluation: variables, imports, errors and their classification.

use std::collections::BTreeMap;

use serde_json::json;

use super::*;
use crate::{Library, OutputMode};

fn request(files: &[(&str, &str)]) -> RenderRequest {
    RenderRequest {
        entry_file: "main.jsonnet".to_owned(),
        files: files.iter().map(|(p, c)| ((*p).to_owned(), (*c).to_owned())).collect(),
        libraries: Vec::new(),
        ext_vars: Vec::new(),
        tlas: Vec::new(),
        output: OutputMode::Rendered,
    }
}

fn var(name: &str, value: &str, code: bool) -> Variable {
    Variable { name: name.to_owned(), value: value.to_owned(), code }
}

#[test]
fn evaluates_with_variables_and_tlas() {
    let mut req = request(&[(
        "main.jsonnet",
        "function(name, replicas=1, extra) { s: std.extVar('s'), c: std.extVar('c'), name: name, replicas: replicas, extra: extra }",
    )]);
    req.ext_vars = vec![var("s", "text", false), var("c", "{ n: 1 + 1 }", true)];
    req.tlas = vec![var("name", "web", false), var("replicas", "3", true), var("extra", "[1, 'two']", true)];
    let value = evaluate(&req, 500).unwrap();
    assert_eq!(value, json!({"s": "text", "c": {"n": 2}, "name": "web", "replicas": 3, "extra": [1, "two"]}));
}

#[test]
fn imports_resolve_through_the_tree_only() {
    let mut req = request(&[
        (
            "main.jsonnet",
            "{ a: import 'sub/a.libsonnet', k: (import 'k.libsonnet').k, txt: importstr 'data.txt', bin: importbin 'data.txt', file: std.thisFile }",
        ),
        ("sub/a.libsonnet", "{ b: (import 'b.libsonnet') }"),
        ("sub/b.libsonnet", "'b'"),
        ("data.txt", "hi\n"),
    ]);
    req.libraries = vec![Library {
        name: "lib".to_owned(),
        files: BTreeMap::from([
            ("k.libsonnet".to_owned(), "{ k: import 'lib/v.json' }".to_owned()),
            ("v.json".to_owned(), "42".to_owned()),
        ]),
    }];
    let value = evaluate(&req, 500).unwrap();
    assert_eq!(value, json!({"a": {"b": "b"}, "k": 42, "txt": "hi\n", "bin": [104, 105, 10], "file": "main.jsonnet"}));
}

#[test]
fn errors_are_classified_and_located() {
    let cases = [
        ("local x = 1;\n{ a: error 'boom' }", "EvaluationFailed", "main.jsonnet:2:"),
        ("{ a: }", "EvaluationFailed", "main.jsonnet:1:"),
        ("import '/etc/passwd'", "ImportForbidden", "\"/etc/passwd\": absolute"),
        ("importstr '../x'", "ImportForbidden", "\"../x\""),
        ("import 'http://example.com/a.libsonnet'", "ImportForbidden", "URLs"),
        ("import 'nope.libsonnet'", "EvaluationFailed", "import not found: \"nope.libsonnet\""),
        ("local f(n) = f(n + 1) + 1; f(0)", "StackOverflow", "stack overflow"),
        ("std.extVar('missing')", "EvaluationFailed", "missing"),
    ];
    for (code, reason, fragment) in cases {
        let error = evaluate(&request(&[("main.jsonnet", code)]), 100).unwrap_err();
        assert_eq!(error.reason(), reason, "{code}: {error}");
        assert!(error.to_string().contains(fragment), "{code}: {error} lacks {fragment:?}");
    }
}
