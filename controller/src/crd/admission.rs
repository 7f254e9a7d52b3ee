//! What kube-apiserver 1.20 does with a request to create one of our custom resources, up to storing it, so that
//! `jaas render` accepts a manifest exactly when `kubectl apply` would and otherwise fails with the API server's
//! own message: check apiVersion and kind, drop `status` (only the status subresource writes it), prune unknown
//! fields, drop non-nullable nulls, apply defaults, then validate `metadata.name` and the CRD's schema.
//! Not checked: the rest of `metadata` (labels, annotations, ...) beyond being readable.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::crd::field_error::{FieldError, Rejection};
use crate::crd::structural::{
    apply_defaults, drop_non_nullable_nulls, integral_floats_to_integers, prune_unknown_fields,
};
use crate::crd::validate::validate;

/// An object the API server would accept, as it would store it.
#[derive(Debug, Clone, PartialEq)]
pub struct Admitted<T> {
    /// The object, with defaults applied and undeclared fields removed.
    pub object: T,
    /// The fields its schema does not declare, which the API server drops without a word (`spec.tlas[0].x`).
    pub pruned_fields: Vec<String>,
}

/// Why an object would not be stored.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AdmissionError {
    /// The API server would reject it; the message is the one it would send.
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// The document is not an object at all.
    #[error("expected a {kind} object (a mapping with apiVersion, kind, metadata and spec), found {found}")]
    NotAnObject {
        /// The kind expected.
        kind: String,
        /// What was found instead: `a list`, `a string`, ...
        found: &'static str,
    },
    /// It passes validation but does not read as the Rust type: malformed `metadata`, or a type out of step
    /// with its own CRD.
    #[error("{kind} {name:?} cannot be read: {message}")]
    Unreadable {
        /// The kind.
        kind: String,
        /// Its `metadata.name`.
        name: String,
        /// The decoding error.
        message: String,
    },
}

/// Admits `document` as a `K`, judged against `K::crd()`.
pub fn admit<K: CustomResourceExt + DeserializeOwned>(document: Value) -> Result<Admitted<K>, AdmissionError> {
    let crd = K::crd();
    let admitted = admit_value(&crd, document)?;
    let object = serde_json::from_value(admitted.object.clone()).map_err(|error| AdmissionError::Unreadable {
        kind: crd.spec.names.kind.clone(),
        name: name_of(&admitted.object).to_owned(),
        message: error.to_string(),
    })?;
    Ok(Admitted { object, pruned_fields: admitted.pruned_fields })
}

/// Admits `document` as an object of `crd`, returning it as the API server would store it.
pub fn admit_value(crd: &CustomResourceDefinition, mut document: Value) -> Result<Admitted<Value>, AdmissionError> {
    let (group, kind) = (&crd.spec.group, &crd.spec.names.kind);
    if !document.is_object() {
        return Err(AdmissionError::NotAnObject { kind: kind.clone(), found: json_kind(&document) });
    }
    let api_version = document.get("apiVersion").and_then(Value::as_str).unwrap_or_default().to_owned();
    let found_kind = document.get("kind").and_then(Value::as_str).unwrap_or_default().to_owned();
    let version = crd.spec.versions.iter().find(|v| v.served && api_version == format!("{group}/{}", v.name));
    let mut type_errors = Vec::new();
    if found_kind != *kind {
        let detail = format!("must be {kind}");
        type_errors.push(FieldError::Invalid { path: "kind".into(), value: found_kind.clone().into(), detail });
    }
    let Some(version) = version.filter(|_| type_errors.is_empty()) else {
        if version.is_none() {
            let served = crd.spec.versions.iter().find(|v| v.served).map_or("v1", |v| v.name.as_str());
            let detail = format!("must be {group}/{served}");
            type_errors.push(FieldError::Invalid {
                path: "apiVersion".into(),
                value: api_version.clone().into(),
                detail,
            });
        }
        // The API server names the kind and group the object claims.
        let claimed_group = api_version.rsplit_once('/').map_or("", |(group, _)| group);
        let qualified_kind =
            if claimed_group.is_empty() { found_kind } else { format!("{found_kind}.{claimed_group}") };
        return Err(Rejection { qualified_kind, name: name_of(&document).to_owned(), errors: type_errors }.into());
    };
    let has_status_subresource = version.subresources.as_ref().is_some_and(|s| s.status.is_some());
    if let (Some(map), true) = (document.as_object_mut(), has_status_subresource) {
        map.remove("status");
    }
    let schema = version.schema.as_ref().and_then(|s| s.open_api_v3_schema.clone()).unwrap_or_default();
    let pruned_fields = prune_unknown_fields(&mut document, &schema);
    drop_non_nullable_nulls(&mut document, &schema);
    apply_defaults(&mut document, &schema);
    let mut errors = name_errors(&document);
    errors.extend(validate(&document, &schema, ""));
    if !errors.is_empty() {
        let qualified_kind = format!("{kind}.{group}");
        return Err(Rejection { qualified_kind, name: name_of(&document).to_owned(), errors }.into());
    }
    integral_floats_to_integers(&mut document);
    Ok(Admitted { object: document, pruned_fields })
}

fn name_of(document: &Value) -> &str {
    document.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default()
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// The pattern of a DNS-1123 subdomain, as apimachinery writes it in its message.
const DNS1123_SUBDOMAIN: &str = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";

/// apimachinery's `ValidateObjectMeta` for the name: present (unless `generateName` asks the API server to make
/// one up) and a DNS-1123 subdomain.
fn name_errors(document: &Value) -> Vec<FieldError> {
    let name = name_of(document);
    let generated = document.pointer("/metadata/generateName").and_then(Value::as_str).is_some_and(|p| !p.is_empty());
    if name.is_empty() {
        if generated {
            return Vec::new();
        }
        let detail = "name or generateName is required".to_owned();
        return vec![FieldError::Required { path: "metadata.name".into(), detail }];
    }
    let mut messages = Vec::new();
    if name.len() > 253 {
        messages.push("must be no more than 253 characters".to_owned());
    }
    let well_formed = regex::Regex::new(&format!("^{DNS1123_SUBDOMAIN}$")).is_ok_and(|regex| regex.is_match(name));
    if !well_formed {
        messages.push(format!(
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must \
             start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is \
             '{DNS1123_SUBDOMAIN}')"
        ));
    }
    let invalid = |detail| FieldError::Invalid { path: "metadata.name".into(), value: name.into(), detail };
    messages.into_iter().map(invalid).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::crd::{JsonnetLibrary, JsonnetSnippet, OutputFormat};
    use serde_json::json;

    fn snippet(spec: &Value) -> Value {
        json!({"apiVersion": "jaas.metio.wtf/v1", "kind": "JsonnetSnippet", "metadata": {"name": "demo"}, "spec": spec})
    }

    fn message<K: CustomResourceExt + DeserializeOwned + std::fmt::Debug>(document: Value) -> String {
        admit::<K>(document).unwrap_err().to_string()
    }

    /// Each expected message was sent by kube-apiserver 1.20 for the same document.
    #[test]
    fn rejections_carry_the_api_servers_message() {
        let cases = [
            (
                snippet(&json!({"history": 51})),
                r#"JsonnetSnippet.jaas.metio.wtf "demo" is invalid: spec.history: Invalid value: 51: spec.history in body should be less than or equal to 50"#,
            ),
            (
                snippet(&json!({"history": 0, "entryFile": ""})),
                r#"JsonnetSnippet.jaas.metio.wtf "demo" is invalid: [spec.entryFile: Invalid value: "null": spec.entryFile in body must be of type string: "null", spec.entryFile: Invalid value: "": spec.entryFile in body should be at least 1 chars long, spec.history: Invalid value: 0: spec.history in body should be greater than or equal to 1]"#,
            ),
            (
                snippet(&json!({"tlas": [{"name": "a"}, {"name": "b"}]})),
                r#"JsonnetSnippet.jaas.metio.wtf "demo" is invalid: spec.tlas.value: Required value"#,
            ),
            (
                snippet(&json!({"tlas": [{"name": "a", "value": null}]})),
                r#"JsonnetSnippet.jaas.metio.wtf "demo" is invalid: spec.tlas.value: Required value"#,
            ),
            (
                snippet(&json!([])),
                r#"JsonnetSnippet.jaas.metio.wtf "demo" is invalid: spec: Invalid value: "array": spec in body must be of type object: "array""#,
            ),
            (snippet(&Value::Null), r#"JsonnetSnippet.jaas.metio.wtf "demo" is invalid: spec: Required value"#),
            (
                json!({"apiVersion": "jaas.metio.wtf/v1", "kind": "JsonnetSnippet", "metadata": {}, "spec": {}}),
                r#"JsonnetSnippet.jaas.metio.wtf "" is invalid: metadata.name: Required value: name or generateName is required"#,
            ),
            (
                json!({"apiVersion": "jaas.metio.wtf/v1", "kind": "JsonnetSnippet", "metadata": {"name": "Demo_x"}, "spec": {"history": 0}}),
                r#"JsonnetSnippet.jaas.metio.wtf "Demo_x" is invalid: [metadata.name: Invalid value: "Demo_x": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*'), spec.history: Invalid value: 0: spec.history in body should be greater than or equal to 1]"#,
            ),
            (
                snippet(&json!({"sourceRef": {"kind": "HelmChart", "name": "x"}})),
                r#"JsonnetSnippet.jaas.metio.wtf "demo" is invalid: spec.sourceRef.kind: Unsupported value: "HelmChart": supported values: "GitRepository", "OCIRepository", "Bucket", "ExternalArtifact""#,
            ),
            (
                snippet(&json!({"sourceRef": {"kind": "GitRepository"}})),
                r#"JsonnetSnippet.jaas.metio.wtf "demo" is invalid: spec.sourceRef.name: Required value"#,
            ),
            (
                snippet(&json!({"sourceRef": {"kind": "Bucket", "name": "b", "path": "../x"}})),
                r#"JsonnetSnippet.jaas.metio.wtf "demo" is invalid: spec.sourceRef.path: Invalid value: "../x": spec.sourceRef.path in body should match '^([^/]|[^/.][^/]|\.[^/.]|[^/]{3,})(/([^/]|[^/.][^/]|\.[^/.]|[^/]{3,}))*/?$'"#,
            ),
            (
                json!({"apiVersion": "jaas.metio.wtf/v1", "kind": "JsonnetLibrary", "metadata": {"name": "demo"}, "spec": {}}),
                r#"JsonnetLibrary.jaas.metio.wtf "demo" is invalid: kind: Invalid value: "JsonnetLibrary": must be JsonnetSnippet"#,
            ),
        ];
        for (document, expected) in cases {
            assert_eq!(message::<JsonnetSnippet>(document.clone()), expected, "{document}");
        }
        let long = "a".repeat(254);
        let named = json!({"apiVersion": "jaas.metio.wtf/v1", "kind": "JsonnetSnippet", "metadata": {"name": long}, "spec": {}});
        let expected = format!(
            r#"JsonnetSnippet.jaas.metio.wtf "{long}" is invalid: metadata.name: Invalid value: "{long}": must be no more than 253 characters"#
        );
        assert_eq!(message::<JsonnetSnippet>(named), expected);
        let library = json!({"apiVersion": "jaas.metio.wtf/v1", "kind": "JsonnetLibrary", "metadata": {"name": "lib"}, "spec": {"files": {"a": 1, "b": ""}}});
        assert_eq!(
            message::<JsonnetLibrary>(library),
            r#"JsonnetLibrary.jaas.metio.wtf "lib" is invalid: [spec.files.a: Invalid value: "integer": spec.files.a in body must be of type string: "integer", spec.files.b: Invalid value: "null": spec.files.b in body must be of type string: "null"]"#
        );
    }

    #[test]
    fn wrong_api_version_or_kind_is_named() {
        let v2 = json!({"apiVersion": "jaas.metio.wtf/v2", "kind": "JsonnetSnippet", "metadata": {"name": "demo"}, "spec": {}});
        assert_eq!(
            message::<JsonnetSnippet>(v2),
            r#"JsonnetSnippet.jaas.metio.wtf "demo" is invalid: apiVersion: Invalid value: "jaas.metio.wtf/v2": must be jaas.metio.wtf/v1"#
        );
        let config_map = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "demo"}});
        assert_eq!(
            message::<JsonnetSnippet>(config_map),
            r#"ConfigMap "demo" is invalid: [kind: Invalid value: "ConfigMap": must be JsonnetSnippet, apiVersion: Invalid value: "v1": must be jaas.metio.wtf/v1]"#
        );
        assert_eq!(
            message::<JsonnetSnippet>(json!(["a"])),
            "expected a JsonnetSnippet object (a mapping with apiVersion, kind, metadata and spec), found a list"
        );
    }

    #[test]
    fn admitted_objects_are_stored_as_the_api_server_stores_them() {
        let document = json!({
            "apiVersion": "jaas.metio.wtf/v1", "kind": "JsonnetSnippet", "metadata": {"name": "demo"}, "other": 1,
            "spec": {"history": 5.0, "entryFile": null, "extra": true, "tlas": [{"name": "a", "value": "b", "x": 1}]},
            "status": {"history": "ignored"},
        });
        let admitted = admit_value(&<JsonnetSnippet as CustomResourceExt>::crd(), document).unwrap();
        // The spec the API server returned for the same document.
        let spec = json!({"entryFile": "main.jsonnet", "files": {}, "history": 5, "output": "rendered", "suspend": false,
                          "tlas": [{"code": false, "name": "a", "value": "b"}]});
        assert_eq!(admitted.object["spec"], spec);
        assert_eq!(admitted.object.get("status"), None);
        assert_eq!(admitted.pruned_fields, ["other", "spec.extra", "spec.tlas[0].x"]);
        let typed = admit::<JsonnetSnippet>(snippet(&json!({}))).unwrap().object;
        assert_eq!((typed.spec.entry_file.as_str(), typed.spec.history), ("main.jsonnet", 1));
        assert_eq!(typed.spec.output, OutputFormat::Rendered);
        let sourced = admit::<JsonnetSnippet>(snippet(&json!({"sourceRef": {"kind": "Bucket", "name": "b"}}))).unwrap();
        let source_ref = sourced.object.spec.source_ref.unwrap();
        assert_eq!(source_ref.api_version, "source.toolkit.fluxcd.io/v1", "defaulted as the API server does");
    }
}
