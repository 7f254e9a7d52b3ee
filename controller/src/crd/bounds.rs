//! `minimum` and `maximum` as kube-apiserver 1.20 checks them (go-openapi/validate v0.19): in the value's own
//! type, so an integer is compared with the bound truncated to an integer, and the message prints the bound so.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::JSONSchemaProps;
use serde_json::{Number, Value};

use crate::crd::field_error::{FieldError, go_float};
use crate::crd::structural::TWO_TO_THE_63;

/// `minimum` and `maximum` (exclusive or not), compared in the value's type: for an integer, the bound is
/// truncated to an integer and printed as one (when the bound fits the schema's integer type at all).
pub fn check_bounds(number: &Number, schema: &JSONSchemaProps, path: &str, errors: &mut Vec<FieldError>) {
    let checks = [
        (schema.minimum, schema.exclusive_minimum == Some(true), false),
        (schema.maximum, schema.exclusive_maximum == Some(true), true),
    ];
    for (bound, exclusive, is_maximum) in checks {
        let Some(bound) = bound else { continue };
        let as_integers = number.as_i64().filter(|_| bound_fits_integer_type(schema, bound));
        #[allow(clippy::cast_possible_truncation)] // Go's int64(bound): truncation is the point
        let (beyond, bound_text) = if let Some(value) = as_integers {
            let bound = bound as i64;
            (out_of_bounds(value.cmp(&bound), exclusive, is_maximum), bound.to_string())
        } else {
            let value = number.as_f64().unwrap_or(f64::NAN);
            let ordering = value.partial_cmp(&bound).unwrap_or(std::cmp::Ordering::Equal);
            (out_of_bounds(ordering, exclusive, is_maximum), go_float(bound))
        };
        if beyond {
            let relation = match (is_maximum, exclusive) {
                (true, false) => "less than or equal to",
                (true, true) => "less than",
                (false, false) => "greater than or equal to",
                (false, true) => "greater than",
            };
            let detail = format!("{path} in body should be {relation} {bound_text}");
            errors.push(FieldError::Invalid { path: path.to_owned(), value: Value::Number(number.clone()), detail });
        }
    }
}

fn out_of_bounds(value_versus_bound: std::cmp::Ordering, exclusive: bool, is_maximum: bool) -> bool {
    use std::cmp::Ordering::{Equal, Greater, Less};
    match (value_versus_bound, is_maximum) {
        (Equal, _) => exclusive,
        (Greater, true) | (Less, false) => true,
        (Greater, false) | (Less, true) => false,
    }
}

/// go-openapi's `IsValueValidAgainstRange`: a bound of an integer schema must be an integer of its format.
fn bound_fits_integer_type(schema: &JSONSchemaProps, bound: f64) -> bool {
    if schema.type_.as_deref() != Some("integer") {
        return true;
    }
    let range = match schema.format.as_deref() {
        Some("int32") => f64::from(i32::MIN)..=f64::from(i32::MAX),
        Some("uint32") => 0.0..=f64::from(u32::MAX),
        _ => -TWO_TO_THE_63..=TWO_TO_THE_63,
    };
    bound.fract() == 0.0 && range.contains(&bound) && bound != TWO_TO_THE_63
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Each expected message was sent by kube-apiserver 1.20 for the same value and bounds.
    #[test]
    fn integers_meet_truncated_bounds_and_floats_exact_ones() {
        let number = json!({"type": "number", "minimum": -0.5, "maximum": 1_000_000.0});
        let exclusive = json!({"type": "number", "minimum": 1.5, "exclusiveMinimum": true,
                               "maximum": 10.0, "exclusiveMaximum": true});
        let history = json!({"type": "integer", "format": "uint32", "minimum": 1.0, "maximum": 50.0});
        let cases = [
            (&number, json!(-1), Some("n: Invalid value: -1: n in body should be greater than or equal to 0")),
            (&number, json!(-0.75), Some("n: Invalid value: -0.75: n in body should be greater than or equal to -0.5")),
            (
                &number,
                json!(2_000_000),
                Some("n: Invalid value: 2000000: n in body should be less than or equal to 1000000"),
            ),
            (
                &number,
                json!(2_000_000.5),
                Some("n: Invalid value: 2.0000005e+06: n in body should be less than or equal to 1e+06"),
            ),
            (&number, json!(0), None),
            (&exclusive, json!(10), Some("n: Invalid value: 10: n in body should be less than 10")),
            (&exclusive, json!(1.5), Some("n: Invalid value: 1.5: n in body should be greater than 1.5")),
            (&exclusive, json!(9.5), None),
            (&history, json!(51), Some("n: Invalid value: 51: n in body should be less than or equal to 50")),
            (&history, json!(0.5), Some("n: Invalid value: 0.5: n in body should be greater than or equal to 1")),
            (&history, json!(50), None),
        ];
        for (schema, value, expected) in cases {
            let schema: JSONSchemaProps = serde_json::from_value(schema.clone()).unwrap();
            let mut errors = Vec::new();
            check_bounds(value.as_number().unwrap(), &schema, "n", &mut errors);
            let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
            assert_eq!(messages, expected.into_iter().map(str::to_owned).collect::<Vec<_>>(), "{value}");
        }
    }
}
