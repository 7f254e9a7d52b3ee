//! The API server's validation errors, printed as kube-apiserver 1.20 prints them for custom resources:
//! apimachinery's `field.Error` (`spec.history: Invalid value: 51: ...`), and the message of a rejected object
//! (`JsonnetSnippet.jaas.metio.wtf "demo" is invalid: ...`), with Go's formatting of the offending values.

use std::fmt::{self, Write as _};

use serde_json::Value;

/// One error about one field, as apimachinery's `field.Error` with the types CRD validation produces.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldError {
    /// `<path>: Required value[: <detail>]`.
    Required {
        /// The field, e.g. `spec.tlas.value`.
        path: String,
        /// Why it is required; often empty.
        detail: String,
    },
    /// `<path>: Invalid value: <value>: <detail>`.
    Invalid {
        /// The field.
        path: String,
        /// The offending value (for type errors, the name of the type found).
        value: Value,
        /// What is wrong with it.
        detail: String,
    },
    /// `<path>: Unsupported value: <value>: supported values: "a", "b"`.
    NotSupported {
        /// The field.
        path: String,
        /// The offending value.
        value: Value,
        /// The values the schema's `enum` allows, as text.
        supported: Vec<String>,
    },
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Required { path, detail } => {
                write!(f, "{path}: Required value")?;
                if !detail.is_empty() {
                    write!(f, ": {detail}")?;
                }
                Ok(())
            }
            Self::Invalid { path, value, detail } => {
                write!(f, "{path}: Invalid value: {}", go_value(value))?;
                if !detail.is_empty() {
                    write!(f, ": {detail}")?;
                }
                Ok(())
            }
            Self::NotSupported { path, value, supported } => {
                write!(f, "{path}: Unsupported value: {}", go_value(value))?;
                if !supported.is_empty() {
                    let quoted: Vec<String> = supported.iter().map(|s| go_quote(s)).collect();
                    write!(f, ": supported values: {}", quoted.join(", "))?;
                }
                Ok(())
            }
        }
    }
}

/// An object the API server refuses, printed as its `Status.message`: `<Kind>.<group> "<name>" is invalid: `
/// then the one error, or `[first, second, ...]` (identical messages once, as `field.ErrorList` aggregates them).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct Rejection {
    /// `Kind.group`, e.g. `JsonnetSnippet.jaas.metio.wtf` (just `Kind` for the core group).
    pub qualified_kind: String,
    /// `metadata.name`, empty when there is none.
    pub name: String,
    /// The errors, in the order they were found.
    pub errors: Vec<FieldError>,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut messages: Vec<String> = Vec::with_capacity(self.errors.len());
        for message in self.errors.iter().map(ToString::to_string) {
            if !messages.contains(&message) {
                messages.push(message);
            }
        }
        write!(f, "{} {} is invalid: ", self.qualified_kind, go_quote(&self.name))?;
        match messages.as_slice() {
            [one] => f.write_str(one),
            many => write!(f, "[{}]", many.join(", ")),
        }
    }
}

/// A JSON value as apimachinery prints a bad value: numbers and booleans plainly (floats as Go's `%v`), strings
/// quoted as Go's `%q`, `null` for null. Arrays and objects, which Go prints as Go syntax, are printed as JSON:
/// no schema we validate puts one in an error.
pub fn go_value(value: &Value) -> String {
    match value {
        Value::Null => "null".to_owned(),
        Value::Bool(flag) => flag.to_string(),
        Value::Number(number) => match (number.as_i64(), number.as_f64()) {
            (Some(integer), _) => integer.to_string(),
            // Integers beyond int64 are float64 in the API server.
            (None, Some(float)) => go_float(float),
            (None, None) => number.to_string(),
        },
        Value::String(text) => go_quote(text),
        Value::Array(_) | Value::Object(_) => value.to_string(),
    }
}

/// A float64 as Go's `%v` prints it: the shortest digits that round-trip, in `%e` form (`1e+06`, `1e-05`) when
/// the exponent is below -4 or at least 6, otherwise as a plain decimal (`123456.5`, `0.0001`, `50`).
pub fn go_float(value: f64) -> String {
    if value.is_nan() {
        return "NaN".to_owned();
    }
    if value.is_infinite() {
        return if value > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    if value == 0.0 {
        return if value.is_sign_negative() { "-0" } else { "0" }.to_owned();
    }
    let scientific = format!("{value:e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if (-4..6).contains(&exponent) {
        return value.to_string();
    }
    let sign = if exponent < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exponent.unsigned_abs())
}

/// A string as Go's `strconv.Quote` writes it: double quotes, `\"` and `\\`, C escapes for control characters
/// and `\u` escapes for other characters Go does not print (separators, format and private-use characters).
pub fn go_quote(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for c in text.chars() {
        let escape = match c {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\u{7}' => "\\a",
            '\u{8}' => "\\b",
            '\u{c}' => "\\f",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            '\u{b}' => "\\v",
            c if is_go_printable(c) => {
                quoted.push(c);
                continue;
            }
            c if u32::from(c) < 0x80 => {
                let _ = write!(quoted, "\\x{:02x}", u32::from(c));
                continue;
            }
            c if u32::from(c) < 0x1_0000 => {
                let _ = write!(quoted, "\\u{:04x}", u32::from(c));
                continue;
            }
            c => {
                let _ = write!(quoted, "\\U{:08x}", u32::from(c));
                continue;
            }
        };
        quoted.push_str(escape);
    }
    quoted.push('"');
    quoted
}

/// Go's `unicode.IsPrint`, closely enough: letters, marks, numbers, punctuation, symbols and the ASCII space.
fn is_go_printable(c: char) -> bool {
    let format_or_private = matches!(
        u32::from(c),
        0xad | 0x600..=0x605 | 0x61c | 0x6dd | 0x70f | 0x180e | 0x200b..=0x200f | 0x202a..=0x202e
            | 0x2060..=0x2064 | 0x2066..=0x206f | 0xe000..=0xf8ff | 0xfeff | 0xfff9..=0xfffb
    );
    c == ' ' || !(c.is_control() || c.is_whitespace() || format_or_private)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn floats_print_as_go_prints_them() {
        // Expected values printed by `fmt.Printf("%v\n", f)` with Go 1.x.
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (1.0, "1"),
            (50.0, "50"),
            (51.5, "51.5"),
            (1000.0, "1000"),
            (123_456.5, "123456.5"),
            (999_999.0, "999999"),
            (1e6, "1e+06"),
            (1_234_567.5, "1.2345675e+06"),
            (1e20, "1e+20"),
            (1e21, "1e+21"),
            (1.234_567_890_123_456_7e19, "1.2345678901234567e+19"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-0.5, "-0.5"),
            (1.5e-7, "1.5e-07"),
            (100.25, "100.25"),
        ];
        for (value, expected) in cases {
            assert_eq!(go_float(*value), *expected, "{value}");
        }
    }

    #[test]
    fn strings_are_quoted_as_go_quotes_them() {
        // Expected value printed by Go's strconv.Quote for the same input.
        let text = "a\"b\\c\n\t\u{1}\u{a0}\u{ad} é 日本 \u{7f} \u{2028} 🎉";
        assert_eq!(go_quote(text), r#""a\"b\\c\n\t\x01\u00a0\u00ad é 日本 \x7f \u2028 🎉""#);
    }

    #[test]
    fn field_errors_print_as_apimachinery_prints_them() {
        let cases = [
            (FieldError::Required { path: "spec".into(), detail: String::new() }, "spec: Required value"),
            (
                FieldError::Required {
                    path: "metadata.name".into(),
                    detail: "name or generateName is required".into(),
                },
                "metadata.name: Required value: name or generateName is required",
            ),
            (
                FieldError::Invalid { path: "spec.history".into(), value: json!(51), detail: "too big".into() },
                "spec.history: Invalid value: 51: too big",
            ),
            (
                FieldError::Invalid { path: "spec.history".into(), value: json!(51.5), detail: "x".into() },
                "spec.history: Invalid value: 51.5: x",
            ),
            (
                FieldError::Invalid {
                    path: "spec.history".into(),
                    value: json!(12_345_678_901_234_567_890_u64),
                    detail: "x".into(),
                },
                "spec.history: Invalid value: 1.2345678901234567e+19: x",
            ),
            (
                FieldError::NotSupported {
                    path: "spec.output".into(),
                    value: json!("x"),
                    supported: vec!["rendered".into(), "source".into()],
                },
                r#"spec.output: Unsupported value: "x": supported values: "rendered", "source""#,
            ),
        ];
        for (error, expected) in cases {
            assert_eq!(error.to_string(), expected);
        }
    }

    #[test]
    fn a_rejection_lists_several_errors_in_brackets_and_each_message_once() {
        let required = FieldError::Required { path: "spec.tlas.value".into(), detail: String::new() };
        let mut rejection =
            Rejection { qualified_kind: "JsonnetSnippet.jaas.metio.wtf".into(), name: "demo".into(), errors: vec![] };
        rejection.errors = vec![required.clone(), required.clone()];
        assert_eq!(
            rejection.to_string(),
            r#"JsonnetSnippet.jaas.metio.wtf "demo" is invalid: spec.tlas.value: Required value"#
        );
        rejection.errors.push(FieldError::Required { path: "spec".into(), detail: String::new() });
        assert_eq!(
            rejection.to_string(),
            r#"JsonnetSnippet.jaas.metio.wtf "demo" is invalid: [spec.tlas.value: Required value, spec: Required value]"#
        );
    }
}
