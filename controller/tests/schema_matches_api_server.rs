//! `jaas render`'s admission check ([`admit_value`]) against a real kube-apiserver 1.20 (`KUBECONFIG`, required:
//! this test never skips). For a table of manifests, each breaking a different rule of our CRDs' schemas, the
//! local rejection must carry the API server's message; for manifests it accepts, the spec must be stored as the
//! API server stores it (defaults, pruning). Requests are server-side dry runs in a namespace of the test's own.
//!
//! The API server lists the errors of different fields in a random order (Go map iteration), so the comparison
//! accepts any order across fields, but not within one field.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

// The harness re-exports what the controller tests use; this test needs only a client and a namespace.
#[allow(unused_imports)]
mod cluster;

use cluster::{TestNamespace, client, install_crds};
use jaas_controller::crd::admission::{AdmissionError, admit_value};
use jaas_controller::crd::field_error::{FieldError, Rejection, go_quote};
use jaas_controller::crd::{JsonnetLibrary, JsonnetSnippet};
use kube::CustomResourceExt;
use kube::api::{Api, ApiResource, DynamicObject, PostParams};
use serde_json::{Value, json};

fn snippet(spec: &Value) -> Value {
    json!({"apiVersion": "jaas.metio.wtf/v1", "kind": "JsonnetSnippet", "metadata": {"name": "demo"}, "spec": spec})
}

fn library(spec: &Value) -> Value {
    json!({"apiVersion": "jaas.metio.wtf/v1", "kind": "JsonnetLibrary", "metadata": {"name": "lib"}, "spec": spec})
}

/// Snippet manifests, each named by what it exercises.
fn snippet_cases() -> Vec<(&'static str, Value)> {
    let many_libraries: Vec<String> = (0..65).map(|i| format!("lib{i}")).collect();
    vec![
        ("wrong type", snippet(&json!({"history": "many"}))),
        ("wrong type of an array item", snippet(&json!({"libraries": ["a", 1]}))),
        ("wrong type of a map value", snippet(&json!({"files": {"main.jsonnet": 1}}))),
        ("missing required value", snippet(&json!({"tlas": [{"name": "a", "value": "x"}, {"name": "b"}]}))),
        ("null required value", snippet(&json!({"externalVariables": [{"name": "a", "value": null}]}))),
        (
            "missing spec",
            json!({"apiVersion": "jaas.metio.wtf/v1", "kind": "JsonnetSnippet", "metadata": {"name": "demo"}}),
        ),
        ("history 0", snippet(&json!({"history": 0}))),
        ("history 51", snippet(&json!({"history": 51}))),
        ("history 51.5", snippet(&json!({"history": 51.5}))),
        ("history 1e20", snippet(&json!({"history": 1e20}))),
        ("entryFile empty", snippet(&json!({"entryFile": ""}))),
        ("entryFile too long", snippet(&json!({"entryFile": "a".repeat(254)}))),
        ("empty variable name", snippet(&json!({"tlas": [{"name": "", "value": "x"}]}))),
        ("empty variable value", snippet(&json!({"tlas": [{"name": "a", "value": ""}]}))),
        ("empty file", snippet(&json!({"files": {"main.jsonnet": ""}}))),
        ("too many libraries", snippet(&json!({"libraries": many_libraries}))),
        ("bad interval pattern", snippet(&json!({"interval": "soon"}))),
        ("bad output enum", snippet(&json!({"output": "yaml"}))),
        ("output of the wrong type", snippet(&json!({"output": 1}))),
        ("null array item", snippet(&json!({"tlas": [null]}))),
        ("two errors at once", snippet(&json!({"history": 0, "output": "yaml"}))),
        (
            "errors in several fields",
            snippet(&json!({"history": 51.5, "entryFile": "", "interval": "1d", "suspend": "no"})),
        ),
        (
            "bad name",
            json!({"apiVersion": "jaas.metio.wtf/v1", "kind": "JsonnetSnippet", "metadata": {"name": "Demo_x"}, "spec": {"history": 0}}),
        ),
        (
            "missing name",
            json!({"apiVersion": "jaas.metio.wtf/v1", "kind": "JsonnetSnippet", "metadata": {}, "spec": {}}),
        ),
        ("sourceRef: bad kind", snippet(&json!({"sourceRef": {"kind": "HelmChart", "name": "x"}}))),
        ("sourceRef: missing name", snippet(&json!({"sourceRef": {"kind": "GitRepository"}}))),
        ("sourceRef: empty name", snippet(&json!({"sourceRef": {"kind": "Bucket", "name": ""}}))),
        (
            "sourceRef: path leaving the tree",
            snippet(&json!({"sourceRef": {"kind": "Bucket", "name": "b", "path": "apps/../../x"}})),
        ),
        ("importPaths: absolute", snippet(&json!({"importPaths": ["vendor", "/usr/lib"]}))),
        ("accepted: empty spec", snippet(&json!({}))),
        (
            "accepted: sourceRef with defaults",
            snippet(&json!({"sourceRef": {"kind": "GitRepository", "name": "repo", "path": "./deploy"},
                            "importPaths": ["vendor", "lib"], "entryFile": "app/main.jsonnet"})),
        ),
        (
            "accepted: nulls, unknown fields, integral float",
            snippet(&json!({"history": 5.0, "entryFile": null, "interval": null, "extra": 1,
                           "tlas": [{"name": "a", "value": "b", "code": null, "x": 1}], "files": {"a": null}})),
        ),
        (
            "accepted: everything set",
            snippet(&json!({
                "entryFile": "app.jsonnet", "files": {"app.jsonnet": "{}"}, "libraries": ["x"], "history": 50,
                "externalVariables": [{"name": "e", "value": "v", "code": true}], "tlas": [], "output": "source",
                "interval": "1h30m", "suspend": true, "serviceAccountName": "",
            })),
        ),
    ]
}

/// Library manifests, each named by what it exercises.
fn library_cases() -> Vec<(&'static str, Value)> {
    vec![
        ("library: file of the wrong type and an empty file", library(&json!({"files": {"a": 1, "b": ""}}))),
        ("library: files not a map", library(&json!({"files": ["a"]}))),
        (
            "library: missing spec",
            json!({"apiVersion": "jaas.metio.wtf/v1", "kind": "JsonnetLibrary", "metadata": {"name": "lib"}}),
        ),
        ("library: accepted", library(&json!({"other": 1}))),
        (
            "library: importPath leaving the tree",
            library(&json!({"sourceRef": {"kind": "OCIRepository", "name": "x"}, "importPath": "../x"})),
        ),
        (
            "library: accepted sourceRef",
            library(&json!({"sourceRef": {"kind": "ExternalArtifact", "name": "x", "namespace": "other"},
                            "importPath": "github.com/grafana/grafonnet"})),
        ),
    ]
}

/// What the API server made of a document: the stored spec, or its rejection message.
async fn server_verdict(api: &Api<DynamicObject>, document: &Value) -> Result<Value, String> {
    let object: DynamicObject = serde_json::from_value(document.clone()).unwrap();
    let params = PostParams { dry_run: true, ..PostParams::default() };
    match api.create(&params, &object).await {
        Ok(stored) => Ok(stored.data["spec"].clone()),
        Err(kube::Error::Api(status)) => Err(status.message.clone()),
        Err(other) => panic!("the API server could not be asked: {other}"),
    }
}

/// Whether `server` is the rejection's message with its errors in some order that keeps each field's own order.
fn same_message_in_some_order(rejection: &Rejection, server: &str) -> bool {
    let mut distinct: Vec<(String, String)> = Vec::new();
    for error in &rejection.errors {
        let entry = (path_of(error).to_owned(), error.to_string());
        if !distinct.contains(&entry) {
            distinct.push(entry);
        }
    }
    let prefix = format!("{} {} is invalid: ", rejection.qualified_kind, go_quote(&rejection.name));
    let Some(list) = server.strip_prefix(&prefix) else { return false };
    let list = if distinct.len() > 1 {
        match list.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            Some(inner) => inner,
            None => return false,
        }
    } else {
        list
    };
    consume_in_field_order(list, &distinct)
}

/// Whether `list` is all of `remaining` joined by ", " in an order that keeps the order of errors of one path.
fn consume_in_field_order(list: &str, remaining: &[(String, String)]) -> bool {
    if remaining.is_empty() {
        return list.is_empty();
    }
    (0..remaining.len()).any(|index| {
        let (path, message) = &remaining[index];
        let first_of_its_path = remaining[..index].iter().all(|(other, _)| other != path);
        let Some(rest) = list.strip_prefix(message.as_str()) else { return false };
        let rest = if remaining.len() > 1 { rest.strip_prefix(", ") } else { Some(rest) };
        let mut others = remaining.to_vec();
        others.remove(index);
        first_of_its_path && rest.is_some_and(|rest| consume_in_field_order(rest, &others))
    })
}

fn path_of(error: &FieldError) -> &str {
    match error {
        FieldError::Required { path, .. }
        | FieldError::Invalid { path, .. }
        | FieldError::NotSupported { path, .. } => path,
    }
}

/// Compares one case; a description of the difference, if any.
fn compare(what: &str, local: Result<Value, AdmissionError>, server: Result<Value, String>) -> Option<String> {
    match (local, server) {
        (Ok(local), Ok(server)) if local == server => None,
        (Err(AdmissionError::Rejected(rejection)), Err(server)) if same_message_in_some_order(&rejection, &server) => {
            None
        }
        (local, server) => Some(format!(
            "{what}:\n  local:  {}\n  server: {}",
            local.map_or_else(|error| error.to_string(), |spec| spec.to_string()),
            server.map_or_else(|message| message, |spec| spec.to_string())
        )),
    }
}

#[tokio::test]
async fn local_admission_gives_the_api_servers_verdict_and_message() {
    let client = client().await;
    install_crds(&client).await;
    let namespace = TestNamespace::create(&client, "schema").await;
    let mut differences = Vec::new();
    let kinds = [
        (ApiResource::erase::<JsonnetSnippet>(&()), JsonnetSnippet::crd(), snippet_cases()),
        (ApiResource::erase::<JsonnetLibrary>(&()), JsonnetLibrary::crd(), library_cases()),
    ];
    let mut compared = 0;
    for (resource, crd, cases) in kinds {
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace.name, &resource);
        for (what, document) in cases {
            let server = server_verdict(&api, &document).await;
            let local = admit_value(&crd, document).map(|admitted| admitted.object["spec"].clone());
            differences.extend(compare(what, local, server));
            compared += 1;
        }
    }
    namespace.delete().await;
    assert!(differences.is_empty(), "local admission differs from the API server's:\n{}", differences.join("\n"));
    assert_eq!(compared, snippet_cases().len() + library_cases().len());
}

#[test]
fn messages_match_in_any_order_across_fields_but_not_within_one() {
    let invalid =
        |path: &str, detail: &str| FieldError::Invalid { path: path.into(), value: json!(0), detail: detail.into() };
    let rejection = Rejection {
        qualified_kind: "K.g".into(),
        name: "n".into(),
        errors: vec![invalid("a", "first"), invalid("a", "second"), invalid("b", "x, y")],
    };
    let accepted = [
        r#"K.g "n" is invalid: [a: Invalid value: 0: first, a: Invalid value: 0: second, b: Invalid value: 0: x, y]"#,
        r#"K.g "n" is invalid: [b: Invalid value: 0: x, y, a: Invalid value: 0: first, a: Invalid value: 0: second]"#,
        r#"K.g "n" is invalid: [a: Invalid value: 0: first, b: Invalid value: 0: x, y, a: Invalid value: 0: second]"#,
    ];
    for server in accepted {
        assert!(same_message_in_some_order(&rejection, server), "{server}");
    }
    let refused = [
        r#"K.g "n" is invalid: [a: Invalid value: 0: second, a: Invalid value: 0: first, b: Invalid value: 0: x, y]"#,
        r#"K.g "n" is invalid: [a: Invalid value: 0: first, a: Invalid value: 0: second]"#,
        r#"K.g "m" is invalid: [a: Invalid value: 0: first, a: Invalid value: 0: second, b: Invalid value: 0: x, y]"#,
    ];
    for server in refused {
        assert!(!same_message_in_some_order(&rejection, server), "{server}");
    }
}
