//! How the renderer's JSON and YAML writers spell numbers: as go-jsonnet's `jsonnet` command does (its
//! `unparseNumber`), so a manifest rendered here has the bytes its author got on a laptop. Every Jsonnet number is a
//! double: integral ones are written with all their digits (`1e25` is `10000000000000000905969664`, never an
//! exponent), the others with 17 significant digits (`0.1` is `0.10000000000000001`, `1e-7` is
//! `9.9999999999999995e-08`).

use std::{collections::HashSet, io};

use jrsonnet_evaluator::NumValue;
use serde::{Serialize, Serializer, ser::SerializeMap as _};
use serde_json::{
    Number, Value,
    ser::{CompactFormatter, Formatter, PrettyFormatter},
};

use crate::RenderError;

/// Integers up to this magnitude are doubles exactly, so serde_json's own digits for them are go-jsonnet's.
const EXACT_INTEGER_LIMIT: u64 = 1 << 53;
/// Integral doubles below this magnitude fit an `i128`, whose digits are those of C's `%.0f`.
const I128_LIMIT: f64 = 170_141_183_460_469_231_731_687_303_715_884_105_728.0; // 2^127

/// `v` as go-jsonnet's `jsonnet` command writes a number: as jrsonnet's `NumValue` displays itself with the carried
/// jrsonnet-ir patch, the one formatter std, the evaluator and `jaas eval` use too.
pub fn go_spelling(v: f64) -> String {
    NumValue::new(v).map_or_else(|| v.to_string(), |number| number.to_string())
}

/// The double a JSON number stands for: the nearest one. The renderer's values come from jrsonnet's JSON text, where
/// every number is a double, so this is the number itself even where the text had other digits of it (an integer
/// `9223372036854776000` is the double 2^63).
#[allow(clippy::cast_precision_loss, reason = "every Jsonnet number is a double; this recovers it")]
fn double_of(number: &Number) -> f64 {
    number.as_f64().unwrap_or_else(|| number.as_u64().map_or(0.0, |n| n as f64))
}

/// serde_json's pretty printer with go-jsonnet's digits: indentation and key order as before, only numbers change.
pub struct GoNumbersPretty<'a> {
    pretty: PrettyFormatter<'a>,
}

impl GoNumbersPretty<'_> {
    /// Two spaces per level, as `serde_json::to_string_pretty`.
    pub fn new() -> Self {
        Self { pretty: PrettyFormatter::new() }
    }
}

impl Formatter for GoNumbersPretty<'_> {
    fn write_i64<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: i64) -> io::Result<()> {
        if value.unsigned_abs() <= EXACT_INTEGER_LIMIT {
            return CompactFormatter.write_i64(writer, value);
        }
        #[allow(clippy::cast_precision_loss, reason = "the value is a Jsonnet double")]
        self.write_f64(writer, value as f64)
    }

    fn write_u64<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: u64) -> io::Result<()> {
        if value <= EXACT_INTEGER_LIMIT {
            return CompactFormatter.write_u64(writer, value);
        }
        #[allow(clippy::cast_precision_loss, reason = "the value is a Jsonnet double")]
        self.write_f64(writer, value as f64)
    }

    fn write_f64<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        writer.write_all(go_spelling(value).as_bytes())
    }

    fn begin_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.pretty.begin_array(writer)
    }

    fn end_array<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.pretty.end_array(writer)
    }

    fn begin_array_value<W: ?Sized + io::Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        self.pretty.begin_array_value(writer, first)
    }

    fn end_array_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.pretty.end_array_value(writer)
    }

    fn begin_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.pretty.begin_object(writer)
    }

    fn end_object<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.pretty.end_object(writer)
    }

    fn begin_object_key<W: ?Sized + io::Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        self.pretty.begin_object_key(writer, first)
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.pretty.begin_object_value(writer)
    }

    fn end_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.pretty.end_object_value(writer)
    }
}

/// How a number reaches serde-saphyr: an integer it writes with exactly go-jsonnet's digits, or a placeholder
/// replaced by them afterwards (serde-saphyr writes doubles with its own shortest digits and has no raw scalar).
enum YamlNumber {
    Integer(i128),
    Placeholder(f64),
}

#[allow(clippy::cast_possible_truncation, reason = "integral and below 2^127: exact")]
fn yaml_number(number: &Number) -> YamlNumber {
    let v = double_of(number);
    let negative_zero = v == 0.0 && v.is_sign_negative();
    if v.fract() == 0.0 && v.abs() < I128_LIMIT && !negative_zero {
        YamlNumber::Integer(v as i128)
    } else {
        YamlNumber::Placeholder(v)
    }
}

/// Where placeholders start: uppercase letters only, and `Z` first, which no YAML escape writes, so this text can
/// only come out of serde-saphyr where a string of the value holds it.
const PLACEHOLDER_BASE: &str = "ZJAASNUMBER";

/// A placeholder prefix no string of `documents` contains (`None` when no number needs a placeholder): the base,
/// a decimal number no string has after the base, and `X`. Placeholders are the prefix and the double's bits
/// in 16 hex digits.
pub fn placeholder_prefix<'v>(documents: &[&'v Value]) -> Option<String> {
    if !documents.iter().any(|document| any_node(document, &mut needs_placeholder)) {
        return None;
    }
    let mut taken: HashSet<&'v str> = HashSet::new();
    for document in documents {
        any_node(document, &mut |node| {
            match node {
                Value::String(text) => note_taken_prefixes(text, &mut taken),
                Value::Object(map) => map.keys().for_each(|key| note_taken_prefixes(key, &mut taken)),
                _ => {}
            }
            false
        });
    }
    // Of taken.len() + 1 numbers, one is free.
    (0..=taken.len())
        .map(|n| n.to_string())
        .find(|n| !taken.contains(n.as_str()))
        .map(|n| format!("{PLACEHOLDER_BASE}{n}X"))
}

fn needs_placeholder(node: &Value) -> bool {
    matches!(node, Value::Number(number) if matches!(yaml_number(number), YamlNumber::Placeholder(_)))
}

/// Records the digits between each occurrence of the base in `text` and an `X` right after them.
fn note_taken_prefixes<'t>(text: &'t str, taken: &mut HashSet<&'t str>) {
    for (at, _) in text.match_indices(PLACEHOLDER_BASE) {
        let rest = &text[at + PLACEHOLDER_BASE.len()..];
        let digits = rest.len() - rest.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if rest[digits..].starts_with('X') {
            taken.insert(&rest[..digits]);
        }
    }
}

/// Whether `found` holds for `value` or any value inside it (depth-first; serde_json bounds the depth).
fn any_node<'v>(value: &'v Value, found: &mut impl FnMut(&'v Value) -> bool) -> bool {
    found(value)
        || match value {
            Value::Array(items) => items.iter().any(|item| any_node(item, found)),
            Value::Object(map) => map.values().any(|item| any_node(item, found)),
            _ => false,
        }
}

/// A value as serde-saphyr should write it: exactly as serde_json's own `Serialize`, but integers as `i128` and the
/// other numbers as placeholders starting with `prefix` (see [`placeholder_prefix`]).
pub struct YamlWithGoNumbers<'v> {
    /// The value.
    pub value: &'v Value,
    /// The placeholder prefix of the documents the value belongs to.
    pub prefix: &'v str,
}

impl Serialize for YamlWithGoNumbers<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let nested = |value| Self { value, prefix: self.prefix };
        match self.value {
            Value::Number(number) => match yaml_number(number) {
                YamlNumber::Integer(integer) => serializer.serialize_i128(integer),
                YamlNumber::Placeholder(v) => serializer.serialize_str(&format!("{}{:016x}", self.prefix, v.to_bits())),
            },
            Value::Array(items) => serializer.collect_seq(items.iter().map(nested)),
            Value::Object(map) => {
                let mut entries = serializer.serialize_map(Some(map.len()))?;
                for (key, value) in map {
                    entries.serialize_entry(key, &nested(value))?;
                }
                entries.end()
            }
            other => other.serialize(serializer),
        }
    }
}

/// `yaml` with every placeholder starting with `prefix` replaced by go-jsonnet's spelling of its double.
pub fn replace_placeholders(yaml: &str, prefix: &str) -> Result<String, RenderError> {
    let mut spelled = String::with_capacity(yaml.len());
    let mut rest = yaml;
    while let Some(at) = rest.find(prefix) {
        spelled.push_str(&rest[..at]);
        let after = &rest[at + prefix.len()..];
        let bits = after.get(..16).and_then(|hex| u64::from_str_radix(hex, 16).ok()).ok_or_else(|| {
            RenderError::Internal(format!("a number placeholder in the YAML is cut short: {:?}", &rest[at..]))
        })?;
        spelled.push_str(&go_spelling(f64::from_bits(bits)));
        rest = &after[16..];
    }
    spelled.push_str(rest);
    Ok(spelled)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn integers_need_no_placeholder_other_numbers_do() {
        assert_eq!(placeholder_prefix(&[&json!({"a": [1, -2, 9_223_372_036_854_775_807_i64, 1e30]})]), None);
        for number in [json!(0.5), json!(-0.0), json!(1e300)] {
            assert_eq!(placeholder_prefix(&[&json!({"a": number})]).as_deref(), Some("ZJAASNUMBER0X"));
        }
    }

    #[test]
    fn the_prefix_is_one_no_string_holds() {
        let documents = json!({"ZJAASNUMBER0X": "ZJAASNUMBER1X and ZJAASNUMBER2", "b": ["xZJAASNUMBER3Xy", 0.5]});
        assert_eq!(placeholder_prefix(&[&documents]).as_deref(), Some("ZJAASNUMBER2X"));
    }

    #[test]
    fn placeholders_are_replaced_by_their_numbers() {
        let prefix = "ZJAASNUMBER0X";
        let yaml = format!("a: {prefix}{:016x}\nb:\n- {prefix}{:016x}\n", 0.1_f64.to_bits(), (-0.0_f64).to_bits());
        assert_eq!(replace_placeholders(&yaml, prefix).unwrap(), "a: 0.10000000000000001\nb:\n- -0\n");
        assert!(replace_placeholders(&format!("a: {prefix}12"), prefix).is_err());
    }
}
