//! What kube-apiserver 1.20 does to a custom resource before it validates it against the CRD's structural
//! schema: it prunes the fields the schema does not declare (silently), drops `null`s of non-nullable fields that
//! have no default, and applies the schema's defaults. Ported from apiextensions-apiserver's
//! `structuralpruning.Prune`, `structuraldefaulting.PruneNonNullableNullsWithoutDefaults` and `Default`.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    JSONSchemaProps, JSONSchemaPropsOrArray, JSONSchemaPropsOrBool,
};
use serde_json::Value;

/// The schema every item of an array must match, if the schema has one.
pub fn item_schema(schema: &JSONSchemaProps) -> Option<&JSONSchemaProps> {
    match &schema.items {
        Some(JSONSchemaPropsOrArray::Schema(items)) => Some(items),
        _ => None,
    }
}

/// The schema of the values of a map (`additionalProperties: {...}`), if the schema is one.
pub fn additional_properties_schema(schema: &JSONSchemaProps) -> Option<&JSONSchemaProps> {
    match &schema.additional_properties {
        Some(JSONSchemaPropsOrBool::Schema(values)) => Some(values),
        _ => None,
    }
}

fn is_nullable(schema: &JSONSchemaProps) -> bool {
    schema.nullable == Some(true)
}

/// Removes what the schema does not declare from a whole object, and returns the removed fields' paths
/// (`spec.tlas[0].extra`). At the root, `apiVersion`, `kind` (strings) and `metadata` (an object) stay.
pub fn prune_unknown_fields(object: &mut Value, root: &JSONSchemaProps) -> Vec<String> {
    let mut pruned = Vec::new();
    if let Value::Object(map) = object {
        map.retain(|key, value| match key.as_str() {
            "apiVersion" | "kind" if value.is_string() => true,
            "metadata" if value.is_object() && !declares(root, key) => true,
            _ if declares(root, key) || additional_properties_schema(root).is_some() => true,
            _ => {
                pruned.push(key.clone());
                false
            }
        });
        for (key, value) in map.iter_mut() {
            if let Some(schema) = property_schema(root, key) {
                prune(value, Some(schema), key, &mut pruned);
            }
        }
    }
    pruned
}

fn declares(schema: &JSONSchemaProps, key: &str) -> bool {
    schema.properties.as_ref().is_some_and(|properties| properties.contains_key(key))
}

fn property_schema<'s>(schema: &'s JSONSchemaProps, key: &str) -> Option<&'s JSONSchemaProps> {
    schema
        .properties
        .as_ref()
        .and_then(|properties| properties.get(key))
        .or_else(|| additional_properties_schema(schema))
}

fn prune(value: &mut Value, schema: Option<&JSONSchemaProps>, path: &str, pruned: &mut Vec<String>) {
    if schema.is_some_and(|s| s.x_kubernetes_preserve_unknown_fields == Some(true)) {
        return;
    }
    match value {
        Value::Object(map) => {
            map.retain(|key, _| {
                let keep = schema.is_some_and(|s| property_schema(s, key).is_some());
                if !keep {
                    pruned.push(format!("{path}.{key}"));
                }
                keep
            });
            for (key, value) in map.iter_mut() {
                prune(value, schema.and_then(|s| property_schema(s, key)), &format!("{path}.{key}"), pruned);
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter_mut().enumerate() {
                prune(item, schema.and_then(item_schema), &format!("{path}[{index}]"), pruned);
            }
        }
        _ => {}
    }
}

/// Removes `null`s of fields (properties and map values, not array items) whose schema is neither nullable nor
/// defaulted: to the API server such a `null` means "unset".
pub fn drop_non_nullable_nulls(value: &mut Value, schema: &JSONSchemaProps) {
    match value {
        Value::Object(map) => {
            map.retain(|key, value| {
                property_schema(schema, key).is_none_or(|s| !value.is_null() || s.default.is_some() || is_nullable(s))
            });
            for (key, value) in map.iter_mut() {
                if let Some(schema) = property_schema(schema, key) {
                    drop_non_nullable_nulls(value, schema);
                }
            }
        }
        Value::Array(items) => {
            if let Some(schema) = item_schema(schema) {
                for item in items {
                    drop_non_nullable_nulls(item, schema);
                }
            }
        }
        _ => {}
    }
}

/// Fills in the schema's defaults: for absent properties and for non-nullable `null`s (of properties, map values
/// and array items) whose schema has a default, then within every object and array below.
pub fn apply_defaults(value: &mut Value, schema: &JSONSchemaProps) {
    match value {
        Value::Object(map) => {
            for (key, property) in schema.properties.iter().flatten() {
                if let Some(default) = &property.default {
                    let current = map.get(key);
                    if current.is_none_or(|v| v.is_null() && !is_nullable(property)) {
                        map.insert(key.clone(), default.0.clone());
                    }
                }
            }
            let values = additional_properties_schema(schema);
            for (key, value) in map.iter_mut() {
                if let Some(property) = schema.properties.as_ref().and_then(|p| p.get(key)) {
                    apply_defaults(value, property);
                } else if let Some(values) = values {
                    default_if_null(value, values);
                    apply_defaults(value, values);
                }
            }
        }
        Value::Array(items) => {
            if let Some(schema) = item_schema(schema) {
                for item in items {
                    default_if_null(item, schema);
                    apply_defaults(item, schema);
                }
            }
        }
        _ => {}
    }
}

fn default_if_null(value: &mut Value, schema: &JSONSchemaProps) {
    if let (Value::Null, Some(default), false) = (&value, &schema.default, is_nullable(schema)) {
        *value = default.0.clone();
    }
}

/// 2^63: the floats from -2^63 up to (not including) this one fit an int64.
pub const TWO_TO_THE_63: f64 = 9_223_372_036_854_775_808.0;

/// Rewrites integral floats below 1e21 as integers, as Go's JSON encoder writes them (`5.0` becomes `5`): what
/// kubectl does when it turns YAML into JSON, and what the API server does when it stores an object.
pub fn integral_floats_to_integers(value: &mut Value) {
    match value {
        Value::Number(number) if number.is_f64() => {
            let float = number.as_f64().unwrap_or(f64::NAN);
            // Go writes these as integer digits, which the API server reads back as an int64 when they fit one.
            #[allow(clippy::cast_possible_truncation)] // in range and integral: exact
            if float.fract() == 0.0 && (-TWO_TO_THE_63..TWO_TO_THE_63).contains(&float) {
                *value = Value::from(float as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_floats_to_integers),
        Value::Object(map) => map.values_mut().for_each(integral_floats_to_integers),
        _ => {}
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema(value: Value) -> JSONSchemaProps {
        serde_json::from_value(value).unwrap()
    }

    fn probe_schema() -> JSONSchemaProps {
        schema(json!({
            "type": "object",
            "properties": {
                "spec": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string", "default": "main"},
                        "note": {"type": "string", "nullable": true},
                        "count": {"type": "integer"},
                        "files": {"type": "object", "additionalProperties": {"type": "string"}},
                        "ints": {"type": "array", "items": {"type": "integer", "default": 7}},
                        "items": {"type": "array", "items": {
                            "type": "object",
                            "properties": {"a": {"type": "string"}, "b": {"type": "boolean", "default": false}},
                        }},
                        "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                    },
                },
            },
        }))
    }

    #[test]
    fn unknown_fields_are_pruned_and_reported() {
        let mut object = json!({
            "apiVersion": "g/v1", "kind": "K", "metadata": {"name": "n", "x": 1}, "other": 1,
            "spec": {"extra": 1, "items": [{"a": "x", "c": 2}], "files": {"f": "y"}, "free": {"kept": {"k": 1}},
                     "name": {"nested": 1}},
        });
        let pruned = prune_unknown_fields(&mut object, &probe_schema());
        assert_eq!(pruned, ["other", "spec.extra", "spec.items[0].c", "spec.name.nested"]);
        assert_eq!(
            object,
            json!({
                "apiVersion": "g/v1", "kind": "K", "metadata": {"name": "n", "x": 1},
                "spec": {"items": [{"a": "x"}], "files": {"f": "y"}, "free": {"kept": {"k": 1}}, "name": {}},
            })
        );
    }

    #[test]
    fn nulls_are_dropped_then_defaults_applied_as_the_api_server_does() {
        let cases = [
            (json!({}), json!({"name": "main"})),
            (json!({"name": null, "count": null, "note": null}), json!({"name": "main", "note": null})),
            (json!({"files": {"a": null, "b": "x"}}), json!({"name": "main", "files": {"b": "x"}})),
            (json!({"ints": [null, 1]}), json!({"name": "main", "ints": [7, 1]})),
            (json!({"items": [{"a": null}, null]}), json!({"name": "main", "items": [{"b": false}, null]})),
        ];
        let root = probe_schema();
        let spec_schema = &root.properties.as_ref().unwrap()["spec"];
        for (mut spec, expected) in cases {
            drop_non_nullable_nulls(&mut spec, spec_schema);
            apply_defaults(&mut spec, spec_schema);
            assert_eq!(spec, expected);
        }
    }

    #[test]
    fn integral_floats_become_integers() {
        let mut value = json!({"a": 5.0, "b": [1.5, -2.0, 1e21], "c": "1.0"});
        integral_floats_to_integers(&mut value);
        assert_eq!(value, json!({"a": 5, "b": [1.5, -2, 1e21], "c": "1.0"}));
        assert!(value["a"].is_i64() && value["b"][2].is_f64());
    }
}
