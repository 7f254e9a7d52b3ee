//! Validation of a custom resource against its CRD's structural schema as kube-apiserver 1.20 does it (with
//! go-openapi/validate v0.19), down to its wording and quirks, each one checked against a real 1.20 API server:
//! - a field's errors come in go-openapi's order: type, then length or bounds or item count, then `enum`;
//! - array items are reported at the array's path, without an index (`spec.tlas.value: Required value`);
//! - an empty string where a non-nullable field is expected is also reported as a `null` of the wrong type
//!   (`spec.entryFile: Invalid value: "null": spec.entryFile in body must be of type string: "null"`), whatever
//!   the field's type: go-openapi mistakes Go's zero value for a missing one;
//! - bounds compare in the value's own type: an integer against a bound truncated to an integer (see
//!   [`check_bounds`]).
//!
//! Across fields the API server's order varies from request to request (Go map order); ours is alphabetical.
//! Patterns use the `regex` crate, whose `\d`, `\w`, `\s` and `\b` are Unicode-aware where Go's are ASCII.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::JSONSchemaProps;
use serde_json::{Map, Value};

use crate::crd::bounds::check_bounds;
use crate::crd::field_error::{FieldError, go_quote};
use crate::crd::structural::{additional_properties_schema, item_schema};

/// Validates `value`, found at `path` (`""` for a whole object), against `schema`.
pub fn validate(value: &Value, schema: &JSONSchemaProps, path: &str) -> Vec<FieldError> {
    let mut errors = Vec::new();
    check(value, schema, path, &mut errors);
    errors
}

fn check(value: &Value, schema: &JSONSchemaProps, path: &str, errors: &mut Vec<FieldError>) {
    check_type(value, schema, path, errors);
    match value {
        Value::String(text) => check_string(text, schema, path, errors),
        Value::Number(number) => check_bounds(number, schema, path, errors),
        Value::Array(items) => check_items(items, schema, path, errors),
        Value::Null | Value::Bool(_) | Value::Object(_) => {}
    }
    check_enum(value, schema, path, errors);
    if let Value::Object(map) = value {
        check_object(map, schema, path, errors);
    }
}

/// The JSON type go-openapi sees: `integer` for a number the API server reads as an int64, else `number`.
fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(number) if number.is_i64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn check_type(value: &Value, schema: &JSONSchemaProps, path: &str, errors: &mut Vec<FieldError>) {
    let Some(expected) = schema.type_.as_deref() else { return };
    let zero = value.is_null() || value.as_str() == Some("");
    let found = if zero { "null" } else { type_name(value) };
    let fits = match (expected, found) {
        (_, "null") => schema.nullable == Some(true),
        ("number", "integer") => true,
        // go-openapi's isFloatInt: a float with no fraction, below 2^53 - 1 in size.
        ("integer", "number") => value.as_f64().is_some_and(|f| f.fract() == 0.0 && f.abs() < 9_007_199_254_740_991.0),
        _ => expected == found,
    };
    if !fits {
        let detail = format!("{path} in body must be of type {expected}: {}", go_quote(found));
        errors.push(FieldError::Invalid { path: path.to_owned(), value: Value::from(found), detail });
    }
}

/// `maxLength`, `minLength`, `pattern`: the first that fails, as go-openapi stops there.
fn check_string(text: &str, schema: &JSONSchemaProps, path: &str, errors: &mut Vec<FieldError>) {
    let length = i64::try_from(text.chars().count()).unwrap_or(i64::MAX);
    let detail = if let Some(max) = schema.max_length.filter(|max| length > *max) {
        format!("{path} in body should be at most {max} chars long")
    } else if let Some(min) = schema.min_length.filter(|min| length < *min) {
        format!("{path} in body should be at least {min} chars long")
    } else if let Some(pattern) = &schema.pattern {
        match regex::Regex::new(pattern) {
            Ok(regex) if regex.is_match(text) => return,
            Ok(_) => format!("{path} in body should match '{pattern}'"),
            Err(error) => format!("{path} in body should match '{pattern}', but pattern is invalid: {error}"),
        }
    } else {
        return;
    };
    errors.push(FieldError::Invalid { path: path.to_owned(), value: Value::from(text), detail });
}

/// Each item at the array's own path (go-openapi 0.19 loses the index), then `minItems` and `maxItems`.
fn check_items(items: &[Value], schema: &JSONSchemaProps, path: &str, errors: &mut Vec<FieldError>) {
    if let Some(item_schema) = item_schema(schema) {
        for item in items {
            check(item, item_schema, path, errors);
        }
    }
    let count = i64::try_from(items.len()).unwrap_or(i64::MAX);
    let detail = if let Some(min) = schema.min_items.filter(|min| count < *min) {
        format!("{path} in body should have at least {min} items")
    } else if let Some(max) = schema.max_items.filter(|max| count > *max) {
        format!("{path} in body should have at most {max} items")
    } else {
        return;
    };
    errors.push(FieldError::Invalid { path: path.to_owned(), value: Value::from(count), detail });
}

fn check_enum(value: &Value, schema: &JSONSchemaProps, path: &str, errors: &mut Vec<FieldError>) {
    let Some(allowed) = &schema.enum_ else { return };
    #[allow(clippy::float_cmp)] // exact equality, as Go's reflect.DeepEqual
    let same = |candidate: &Value| match (candidate.as_f64(), value.as_f64()) {
        (Some(a), Some(b)) => a == b,
        _ => candidate == value,
    };
    if allowed.iter().any(|candidate| same(&candidate.0)) {
        return;
    }
    let supported =
        allowed.iter().map(|candidate| candidate.0.as_str().map_or_else(|| candidate.0.to_string(), str::to_owned));
    errors.push(FieldError::NotSupported {
        path: path.to_owned(),
        value: value.clone(),
        supported: supported.collect(),
    });
}

/// Map values (`additionalProperties`), then declared properties, then `required`, as go-openapi orders them.
fn check_object(map: &Map<String, Value>, schema: &JSONSchemaProps, path: &str, errors: &mut Vec<FieldError>) {
    let child = |key: &str| if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") };
    let properties = schema.properties.as_ref();
    if let Some(values) = additional_properties_schema(schema) {
        for (key, value) in map.iter().filter(|(key, _)| properties.is_none_or(|p| !p.contains_key(*key))) {
            check(value, values, &child(key), errors);
        }
    }
    for (key, property) in properties.into_iter().flatten() {
        if let Some(value) = map.get(key) {
            check(value, property, &child(key), errors);
        }
    }
    for key in schema.required.iter().flatten().filter(|key| !map.contains_key(*key)) {
        errors.push(FieldError::Required { path: child(key), detail: String::new() });
    }
}

/// The schema keywords below `schema` that [`validate`] does not check, as `path: keyword`; the API server
/// would check them, so a CRD that uses one needs this module taught first.
pub fn unchecked_keywords(schema: &JSONSchemaProps, path: &str) -> Vec<String> {
    let present = [
        ("multipleOf", schema.multiple_of.is_some()),
        ("uniqueItems", schema.unique_items == Some(true)),
        ("minProperties", schema.min_properties.is_some()),
        ("maxProperties", schema.max_properties.is_some()),
        ("allOf/anyOf/oneOf", schema.all_of.is_some() || schema.any_of.is_some() || schema.one_of.is_some()),
        ("not", schema.not.is_some()),
        ("patternProperties", schema.pattern_properties.is_some()),
        ("format", schema.type_.as_deref() == Some("string") && schema.format.is_some()),
        ("x-kubernetes-int-or-string", schema.x_kubernetes_int_or_string == Some(true)),
        ("x-kubernetes-embedded-resource", schema.x_kubernetes_embedded_resource == Some(true)),
        ("x-kubernetes-list-type", schema.x_kubernetes_list_type.as_deref().is_some_and(|t| t != "atomic")),
        ("x-kubernetes-validations", schema.x_kubernetes_validations.is_some()),
    ];
    let mut found: Vec<String> =
        present.iter().filter(|(_, present)| *present).map(|(keyword, _)| format!("{path}: {keyword}")).collect();
    for (key, property) in schema.properties.iter().flatten() {
        found.extend(unchecked_keywords(property, &format!("{path}.{key}")));
    }
    for nested in [item_schema(schema), additional_properties_schema(schema)].into_iter().flatten() {
        found.extend(unchecked_keywords(nested, path));
    }
    found
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::crd::{JsonnetLibrary, JsonnetSnippet};
    use kube::CustomResourceExt;
    use serde_json::json;

    fn spec_schema<K: CustomResourceExt>() -> JSONSchemaProps {
        let crd = K::crd();
        let root = crd.spec.versions[0].schema.as_ref().unwrap().open_api_v3_schema.clone().unwrap();
        root.properties.unwrap()["spec"].clone()
    }

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    /// Each case's expected errors were printed by kube-apiserver 1.20 for the same spec.
    #[test]
    fn snippet_specs_get_the_api_servers_errors() {
        let long = "a".repeat(254);
        let cases: Vec<(Value, Vec<String>)> = vec![
            (json!({"history": 1, "entryFile": "main.jsonnet"}), vec![]),
            (
                json!({"history": 51}),
                strings(&["spec.history: Invalid value: 51: spec.history in body should be less than or equal to 50"]),
            ),
            (
                json!({"history": 0}),
                strings(&["spec.history: Invalid value: 0: spec.history in body should be greater than or equal to 1"]),
            ),
            (
                json!({"history": "x"}),
                strings(&[
                    r#"spec.history: Invalid value: "string": spec.history in body must be of type integer: "string""#,
                ]),
            ),
            (json!({"history": 5.0}), vec![]),
            (
                json!({"history": 51.5}),
                strings(&[
                    r#"spec.history: Invalid value: "number": spec.history in body must be of type integer: "number""#,
                    "spec.history: Invalid value: 51.5: spec.history in body should be less than or equal to 50",
                ]),
            ),
            (
                json!({"history": ""}),
                strings(&[
                    r#"spec.history: Invalid value: "null": spec.history in body must be of type integer: "null""#,
                ]),
            ),
            (
                json!({"entryFile": ""}),
                strings(&[
                    r#"spec.entryFile: Invalid value: "null": spec.entryFile in body must be of type string: "null""#,
                    r#"spec.entryFile: Invalid value: "": spec.entryFile in body should be at least 1 chars long"#,
                ]),
            ),
            (
                json!({"entryFile": long}),
                vec![format!(
                    "spec.entryFile: Invalid value: \"{long}\": spec.entryFile in body should be at most 253 chars long"
                )],
            ),
            (
                json!({"tlas": [{"name": "a", "value": "x"}, {"name": "b"}]}),
                strings(&["spec.tlas.value: Required value"]),
            ),
            (
                json!({"tlas": [null, "x"]}),
                strings(&[
                    r#"spec.tlas: Invalid value: "null": spec.tlas in body must be of type object: "null""#,
                    r#"spec.tlas: Invalid value: "string": spec.tlas in body must be of type object: "string""#,
                ]),
            ),
            (
                json!({"files": {"a": 1, "b": ""}}),
                strings(&[
                    r#"spec.files.a: Invalid value: "integer": spec.files.a in body must be of type string: "integer""#,
                    r#"spec.files.b: Invalid value: "null": spec.files.b in body must be of type string: "null""#,
                ]),
            ),
            (
                json!({"libraries": (0..65).map(|i| format!("l{i}")).collect::<Vec<_>>()}),
                strings(&["spec.libraries: Invalid value: 65: spec.libraries in body should have at most 64 items"]),
            ),
            (
                json!({"interval": "soon"}),
                strings(&[
                    r#"spec.interval: Invalid value: "soon": spec.interval in body should match '^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$'"#,
                ]),
            ),
            (json!({"interval": null, "serviceAccountName": ""}), vec![]),
            (
                json!({"output": 1}),
                strings(&[
                    r#"spec.output: Invalid value: "integer": spec.output in body must be of type string: "integer""#,
                    r#"spec.output: Unsupported value: 1: supported values: "rendered", "source""#,
                ]),
            ),
            (
                json!({"suspend": 0, "tlas": [{"name": "", "code": "x"}]}),
                strings(&[
                    r#"spec.suspend: Invalid value: "integer": spec.suspend in body must be of type boolean: "integer""#,
                    r#"spec.tlas.code: Invalid value: "string": spec.tlas.code in body must be of type boolean: "string""#,
                    r#"spec.tlas.name: Invalid value: "null": spec.tlas.name in body must be of type string: "null""#,
                    r#"spec.tlas.name: Invalid value: "": spec.tlas.name in body should be at least 1 chars long"#,
                    "spec.tlas.value: Required value",
                ]),
            ),
        ];
        let schema = spec_schema::<JsonnetSnippet>();
        for (spec, expected) in cases {
            let errors: Vec<String> = validate(&spec, &schema, "spec").iter().map(ToString::to_string).collect();
            assert_eq!(errors, expected, "{spec}");
        }
    }

    #[test]
    fn library_files_must_be_strings() {
        let errors = validate(&json!({"files": ["a"]}), &spec_schema::<JsonnetLibrary>(), "spec");
        assert_eq!(
            errors.iter().map(ToString::to_string).collect::<Vec<_>>(),
            [r#"spec.files: Invalid value: "array": spec.files in body must be of type object: "array""#]
        );
    }

    #[test]
    fn our_crds_use_only_keywords_the_validator_checks() {
        for schema in [spec_schema::<JsonnetSnippet>(), spec_schema::<JsonnetLibrary>()] {
            assert_eq!(unchecked_keywords(&schema, "spec"), Vec::<String>::new());
        }
        let uses_format: JSONSchemaProps =
            serde_json::from_value(json!({"type": "string", "format": "date-time"})).unwrap();
        assert_eq!(unchecked_keywords(&uses_format, "spec.time"), ["spec.time: format"]);
    }
}
