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
