//! `jaas render` end to end with the real binary (and so the real `eval-worker`): output shapes, variables,
//! libraries and imports, checked against expected output written by hand.

#![allow(clippy::unwrap_used)]

mod render_support;

use render_support::{at, render, stderr, stdout, tree, untar};

const CONFIG_MAP: &str = "{
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'a' },
  data: { flag: 'yes', switch: 'on', version: '1.0', empty: '', number: '1', multi: 'a\\nb\\n' },
}";

#[test]
fn single_manifest_becomes_one_document_with_strings_quoted() {
    let dir = tree(&[("main.jsonnet", CONFIG_MAP)]);
    let output = render(&[&at(&dir, "main.jsonnet")]);
    assert!(output.status.success(), "{output:?}");
    let expected = "\
apiVersion: v1
data:
  empty: \"\"
  flag: \"yes\"
  multi: |
    a
    b
  number: \"1\"
  switch: \"on\"
  version: \"1.0\"
kind: ConfigMap
metadata:
  name: a
";
    assert_eq!(stdout(&output), expected);
}

#[test]
fn arrays_nested_arrays_and_lists_are_flattened_into_documents() {
    let code = "local cm(n) = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: n } };
      [cm('a'), [cm('b'), [cm('c')]], { apiVersion: 'v1', kind: 'List', items: [cm('d')] }]";
    let dir = tree(&[("main.jsonnet", code)]);
    let output = render(&[&at(&dir, "main.jsonnet")]);
    assert!(output.status.success(), "{output:?}");
    let document = |name: &str| format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n");
    let expected = ["a", "b", "c", "d"].map(document).join("---\n");
    assert_eq!(stdout(&output), expected);
}

#[test]
fn object_of_manifests_becomes_one_file_per_key() {
    let code = "local cm(n) = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: n } };
      { web: [cm('w1'), cm('w2')], 'db.yaml': cm('d'), 'odd/key': cm('o') }";
    let dir = tree(&[("main.jsonnet", code)]);
    let out = at(&dir, "out.tar.gz");
    let output = render(&[&at(&dir, "main.jsonnet"), "-o", &out]);
    assert!(output.status.success(), "{output:?}");
    let files = untar(&std::fs::read(&out).unwrap());
    let names: Vec<&str> = files.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["db.yaml", "odd-key.yaml", "rendered.json", "web.yaml"]);
    assert_eq!(files[0].1, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: d\n");
    assert_eq!(
        files[3].1,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: w1\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: w2\n"
    );
    let json: serde_json::Value = serde_json::from_str(&files[2].1).unwrap();
    assert_eq!(json["odd/key"]["metadata"]["name"], "o");
}

#[test]
fn format_json_prints_the_whole_value_pretty_with_sorted_keys() {
    let dir = tree(&[("main.jsonnet", "{ kind: 'K', apiVersion: 'v', metadata: { name: 'n' }, b: [1, 1.5] }")]);
    let output = render(&[&at(&dir, "main.jsonnet"), "--format", "json"]);
    assert!(output.status.success(), "{output:?}");
    let expected = "{\n  \"apiVersion\": \"v\",\n  \"b\": [\n    1,\n    1.5\n  ],\n  \"kind\": \"K\",\n  \"metadata\": {\n    \"name\": \"n\"\n  }\n}\n";
    assert_eq!(stdout(&output), expected);
}

#[test]
fn ext_vars_and_tlas_in_string_and_code_form() {
    let code = "function(ts, tc) { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: ts },
      data: { es: std.extVar('es'), ec: std.toString(std.extVar('ec')), tc: std.toString(tc) } }";
    let dir = tree(&[("main.jsonnet", code)]);
    let output = render(&[
        &at(&dir, "main.jsonnet"),
        "--ext-str",
        "es=plain",
        "--ext-code",
        "ec={ x: 1 + 1 }",
        "--tla-str",
        "ts=cm",
        "--tla-code",
        "tc=[true]",
    ]);
    assert!(output.status.success(), "{output:?}");
    let expected = "\
apiVersion: v1
data:
  ec: \"{\\\"x\\\": 2}\"
  es: plain
  tc: \"[true]\"
kind: ConfigMap
metadata:
  name: cm
";
    assert_eq!(stdout(&output), expected);
}

#[test]
fn jpath_libraries_relative_imports_and_importstr() {
    let app = tree(&[
        (
            "app/main.jsonnet",
            "local k = import 'kube.libsonnet'; k.cm(importstr 'sub/name.txt', (import 'sub/x.libsonnet'))",
        ),
        ("app/sub/x.libsonnet", "import 'y.libsonnet'"),
        ("app/sub/y.libsonnet", "{ from: 'y' }"),
        ("app/sub/name.txt", "from-file"),
        (
            "vendor/kube.libsonnet",
            "{ cm(name, data):: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: name }, data: data } }",
        ),
    ]);
    let output = render(&[&at(&app, "app/main.jsonnet"), "-J", &at(&app, "vendor")]);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        stdout(&output),
        "apiVersion: v1\ndata:\n  from: \"y\"\nkind: ConfigMap\nmetadata:\n  name: from-file\n"
    );
}

#[test]
fn snippet_yaml_with_library_files() {
    let dir = tree(&[
        (
            "snippet.yaml",
            "apiVersion: jaas.metio.wtf/v1
kind: JsonnetSnippet
metadata: { name: s, namespace: default }
spec:
  libraries: [kube]
  files:
    main.jsonnet: |
      (import 'kube/kube.libsonnet').cm('via-mount') + { data: { search: (import 'kube.libsonnet').marker } }
",
        ),
        (
            "library.yaml",
            "apiVersion: jaas.metio.wtf/v1
kind: JsonnetLibrary
metadata: { name: kube, namespace: default }
spec:
  files:
    kube.libsonnet: |
      { marker: 'found', cm(name):: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: name } } }
",
        ),
    ]);
    let output = render(&[&at(&dir, "snippet.yaml"), "--library", &at(&dir, "library.yaml")]);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        stdout(&output),
        "apiVersion: v1\ndata:\n  search: found\nkind: ConfigMap\nmetadata:\n  name: via-mount\n"
    );
}

#[test]
fn a_sourced_snippet_and_library_render_from_local_trees_as_from_their_artifacts() {
    let dir = tree(&[
        (
            "snippet.yaml",
            "apiVersion: jaas.metio.wtf/v1
kind: JsonnetSnippet
metadata: { name: s, namespace: default }
spec:
  sourceRef: { kind: GitRepository, name: repo, path: ./deploy }
  entryFile: app/main.jsonnet
  libraries: [widgets]
",
        ),
        (
            "library.yaml",
            "apiVersion: jaas.metio.wtf/v1
kind: JsonnetLibrary
metadata: { name: widgets, namespace: default }
spec:
  sourceRef: { kind: Bucket, name: shared, path: vendor/github.com/x/widgets }
  importPath: github.com/x/widgets
",
        ),
        ("repo/deploy/app/main.jsonnet", "(import 'k.libsonnet').cm((import 'github.com/x/widgets/w.libsonnet').name)"),
        ("repo/deploy/lib/k.libsonnet", "{ cm(n):: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: n } } }"),
        ("bucket/vendor/github.com/x/widgets/w.libsonnet", "{ name: 'from-the-bucket' }"),
    ]);
    let (snippet, library) = (at(&dir, "snippet.yaml"), at(&dir, "library.yaml"));
    let (repo, bucket) = (at(&dir, "repo"), format!("widgets={}", at(&dir, "bucket")));
    let output = render(&[&snippet, "--library", &library, "--source-dir", &repo, "--library-dir", &bucket]);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(stdout(&output), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-the-bucket\n");

    let usage_error = |output: std::process::Output, fragment: &str| {
        assert_eq!(output.status.code(), Some(2), "{output:?}");
        assert!(stderr(&output).contains(fragment), "{:?} lacks {fragment:?}", stderr(&output));
    };
    let without_tree = render(&[&snippet, "--library", &library]);
    usage_error(without_tree, "pass a local copy of that tree with --source-dir DIR");
    let without_library_tree = render(&[&snippet, "--library", &library, "--source-dir", &repo]);
    usage_error(without_library_tree, "--library-dir widgets=DIR");
    let wrong_path = render(&[&snippet, "--library", &library, "--source-dir", &bucket[8..], "--library-dir", &bucket]);
    usage_error(wrong_path, "spec.sourceRef.path \"deploy\" does not exist");
}

#[test]
fn source_output_ships_the_files_unrendered() {
    let dir = tree(&[
        (
            "snippet.yaml",
            "apiVersion: jaas.metio.wtf/v1
kind: JsonnetSnippet
metadata: { name: s, namespace: default }
spec:
  output: source
  libraries: [lib]
  files:
    main.jsonnet: \"import 'lib/a.libsonnet'\"
    sub/b.jsonnet: '{}'
",
        ),
        (
            "library.yaml",
            "apiVersion: jaas.metio.wtf/v1\nkind: JsonnetLibrary\nmetadata: { name: lib }\nspec:\n  files:\n    a.libsonnet: 'error \"not evaluated\"'\n",
        ),
    ]);
    let out = at(&dir, "source.tar.gz");
    let output = render(&[&at(&dir, "snippet.yaml"), "--library", &at(&dir, "library.yaml"), "-o", &out]);
    assert!(output.status.success(), "{output:?}");
    let expected = vec![
        ("lib/a.libsonnet".to_owned(), "error \"not evaluated\"".to_owned()),
        ("main.jsonnet".to_owned(), "import 'lib/a.libsonnet'".to_owned()),
        ("sub/b.jsonnet".to_owned(), "{}".to_owned()),
    ];
    assert_eq!(untar(&std::fs::read(&out).unwrap()), expected);
}

/// A manifest the API server would reject fails with exit status 1 and the API server's message on stderr, before
/// anything is rendered.
#[test]
fn a_snippet_the_api_server_would_reject_is_rejected_with_its_message() {
    let dir = tree(&[(
        "snippet.yaml",
        "apiVersion: jaas.metio.wtf/v1
kind: JsonnetSnippet
metadata: { name: demo }
spec:
  history: 51
  output: yaml
  files:
    main.jsonnet: '{}'
",
    )]);
    let output = render(&[&at(&dir, "snippet.yaml")]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert_eq!(stdout(&output), "");
    let expected = format!(
        "error: {}: JsonnetSnippet.jaas.metio.wtf \"demo\" is invalid: [spec.history: Invalid value: 51: spec.history \
         in body should be less than or equal to 50, spec.output: Unsupported value: \"yaml\": supported values: \
         \"rendered\", \"source\"]\n",
        at(&dir, "snippet.yaml")
    );
    assert_eq!(stderr(&output), expected);
}

/// An accepted manifest gets the schema's defaults (entryFile `main.jsonnet`, a library's `files: {}`) and a
/// warning for each field the API server would drop.
#[test]
fn an_accepted_snippet_gets_defaults_and_warnings_for_dropped_fields() {
    let dir = tree(&[
        (
            "snippet.yaml",
            "apiVersion: jaas.metio.wtf/v1
kind: JsonnetSnippet
metadata: { name: demo }
spec:
  histroy: 3
  libraries: [empty]
  tlas:
    - { name: who, value: from-tla }
  files:
    main.jsonnet: \"function(who) { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: who } }\"
",
        ),
        ("library.yaml", "apiVersion: jaas.metio.wtf/v1\nkind: JsonnetLibrary\nmetadata: { name: empty }\nspec: {}\n"),
    ]);
    let output = render(&[&at(&dir, "snippet.yaml"), "--library", &at(&dir, "library.yaml")]);
    assert!(output.status.success(), "{output:?}");
    assert_eq!(stdout(&output), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-tla\n");
    let warning =
        format!("warning: {}: unknown field \"spec.histroy\", which the API server drops\n", at(&dir, "snippet.yaml"));
    assert_eq!(stderr(&output), warning);
}
