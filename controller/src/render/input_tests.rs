//! Tests of reading JsonnetSnippet/JsonnetLibrary YAML and plain entry files.

use super::*;

const SNIPPET: &str = "\
apiVersion: jaas.metio.wtf/v1
kind: JsonnetSnippet
metadata:
  name: demo
  namespace: default
spec:
  files:
    main.jsonnet: |
      import 'k.libsonnet'
  libraries:
    - kube
    - name: extra
  externalVariables:
    - name: env
      value: prod
  tlas:
    - name: replicas
      value: '3'
      code: true
  output: source
";

const LIBRARIES: &str = "\
apiVersion: jaas.metio.wtf/v1
kind: JsonnetLibrary
metadata:
  name: kube
spec:
  files:
    k.libsonnet: '{}'
---
apiVersion: jaas.metio.wtf/v1
kind: JsonnetLibrary
metadata:
  name: extra
spec:
  files: {}
";

#[test]
fn snippet_yaml_becomes_a_request() {
    let request = snippet_request(SNIPPET, &[("libs.yaml".to_owned(), LIBRARIES.to_owned())]).unwrap();
    assert_eq!(request.entry_file, "main.jsonnet");
    assert_eq!(request.files["main.jsonnet"], "import 'k.libsonnet'\n");
    let names: Vec<&str> = request.libraries.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["kube", "extra"]);
    assert_eq!(request.libraries[0].files["k.libsonnet"], "{}");
    assert_eq!(request.ext_vars, vec![Variable { name: "env".into(), value: "prod".into(), code: false }]);
    assert_eq!(request.tlas, vec![Variable { name: "replicas".into(), value: "3".into(), code: true }]);
    assert_eq!(request.output, OutputMode::Source);
}

#[test]
fn missing_library_and_wrong_kind_are_reported() {
    let missing = snippet_request(SNIPPET, &[]).unwrap_err();
    assert_eq!(missing.reason(), "LibraryNotFound");
    assert!(missing.to_string().contains("\"kube\""));
    let wrong = snippet_request(&SNIPPET.replace("JsonnetSnippet", "ConfigMap"), &[]).unwrap_err();
    assert_eq!(wrong.reason(), "InvalidSpec");
}

#[test]
fn plain_entry_loads_its_directory_and_jpaths() {
    let root = tempfile::tempdir().unwrap();
    let app = root.path().join("app");
    let vendor = root.path().join("vendor");
    fs::create_dir_all(app.join("sub")).unwrap();
    fs::create_dir_all(app.join(".git")).unwrap();
    fs::create_dir_all(&vendor).unwrap();
    fs::write(app.join("main.jsonnet"), "{}").unwrap();
    fs::write(app.join("sub/x.libsonnet"), "1").unwrap();
    fs::write(app.join(".git/config"), "x").unwrap();
    fs::write(vendor.join("v.libsonnet"), "2").unwrap();
    let request = plain_request(&app.join("main.jsonnet"), &[vendor]).unwrap();
    assert_eq!(request.entry_file, "main.jsonnet");
    assert_eq!(request.files.keys().collect::<Vec<_>>(), ["main.jsonnet", "sub/x.libsonnet"]);
    assert_eq!(request.libraries.len(), 1);
    assert_eq!(request.libraries[0].name, "vendor");
    assert_eq!(request.libraries[0].files.keys().collect::<Vec<_>>(), ["v.libsonnet"]);
}
