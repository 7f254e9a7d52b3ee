//! YAML and JSON encoding of rendered manifests.
//!
//! YAML comes from serde-saphyr with YAML 1.1-safe quoting (so `"yes"`, `"on"`, `"1.0"`, `""` stay strings
//! for every reader Flux might use), literal blocks for multi-line strings and no folding of long lines. Numbers
//! in both are spelled as go-jsonnet's `jsonnet` command spells them ([`numbers`]).

mod numbers;

use std::borrow::Borrow;

use serde::Serialize as _;
use serde_json::Value;
use serde_saphyr::SerializerOptions;

use self::numbers::{GoNumbersPretty, YamlWithGoNumbers, placeholder_prefix, replace_placeholders};
use super::{RenderError, parallel::per_batch_on_all_cores};

/// Long single-line strings are never folded: folding is where readers disagree most.
const NEVER_FOLD: usize = u32::MAX as usize;

/// What serde-saphyr writes between two documents of a stream (YAML 1.1 mode, no directives).
const DOCUMENT_SEPARATOR: &str = "---\n";
/// Fewer documents per thread than this are encoded on the calling thread: a thread costs more than it saves.
const MIN_DOCUMENTS_PER_THREAD: usize = 64;

/// Encodes documents as one multi-document YAML stream (`---` between documents). Integral numbers are YAML
/// integers with all their digits, the others have go-jsonnet's 17 significant digits; each parses back to its
/// double (`-0` to 0, as in any YAML reader).
///
/// Large streams are encoded in contiguous slices on all cores and joined; the bytes are the same as from one
/// thread, since each document's YAML does not depend on its neighbours.
pub fn yaml_documents<T: Borrow<Value> + Sync>(documents: &[T]) -> Result<String, RenderError> {
    let slices = per_batch_on_all_cores(documents, MIN_DOCUMENTS_PER_THREAD, |_, slice| encode_stream(slice));
    let slices = slices
        .into_iter()
        .map(|slice| slice.unwrap_or_else(|_| Err(RenderError::Internal("the YAML encoder panicked".to_owned()))))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(slices.join(DOCUMENT_SEPARATOR))
}

fn encode_stream<T: Borrow<Value>>(documents: &[T]) -> Result<String, RenderError> {
    let mut options = SerializerOptions::default();
    options.folded_wrap_chars = NEVER_FOLD;
    options.yaml_12 = false;
    let documents: Vec<&Value> = documents.iter().map(Borrow::borrow).collect();
    let prefix = placeholder_prefix(&documents);
    let wrapped: Vec<YamlWithGoNumbers<'_>> = documents
        .iter()
        .map(|value| YamlWithGoNumbers { value, prefix: prefix.as_deref().unwrap_or_default() })
        .collect();
    let yaml = serde_saphyr::to_string_multiple_with_options(&wrapped, options)
        .map_err(|error| RenderError::Internal(format!("cannot encode YAML: {error}")))?;
    match prefix {
        Some(prefix) => replace_placeholders(&yaml, &prefix),
        None => Ok(yaml),
    }
}

/// Pretty-printed JSON with a trailing newline, numbers spelled as go-jsonnet spells them; keys are sorted because
/// jrsonnet manifests objects in sorted order and `serde_json` keeps that order.
pub fn pretty_json(value: &Value) -> Result<String, RenderError> {
    let mut json = Vec::with_capacity(128);
    value
        .serialize(&mut serde_json::Serializer::with_formatter(&mut json, GoNumbersPretty::new()))
        .map_err(|error| RenderError::Internal(format!("cannot encode JSON: {error}")))?;
    json.push(b'\n');
    String::from_utf8(json).map_err(|error| RenderError::Internal(format!("cannot encode JSON: {error}")))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::json;

    use super::*;

    fn round_trip(documents: &[Value]) -> (String, Vec<Value>) {
        let yaml = yaml_documents(documents).unwrap();
        let parsed: Vec<Value> = serde_saphyr::from_str_multiple(&yaml).unwrap();
        (yaml, parsed)
    }

    #[test]
    fn ambiguous_strings_stay_strings() {
        let tricky = [
            "yes",
            "no",
            "on",
            "off",
            "y",
            "n",
            "true",
            "False",
            "null",
            "~",
            "",
            "1.0",
            "1",
            "0x1f",
            "1e3",
            "0o17",
            "012",
            ".inf",
            "-.nan",
            "12:30",
            "2001-12-14",
            " leading",
            "trailing ",
            "a: b",
            "# hash",
            "- dash",
            "*x",
            "&x",
            "!tag",
            "%x",
            "@x",
            "`x",
            "{a}",
            "[a]",
            "'q'",
            "\"dq\"",
            "a\tb",
            "é",
            "\u{7f}",
        ];
        for text in tricky {
            let document = json!({"value": text});
            let (yaml, parsed) = round_trip(std::slice::from_ref(&document));
            assert_eq!(parsed, vec![document], "{text:?} became {yaml:?}");
        }
    }

    #[test]
    fn yaml_1_1_booleans_are_quoted_in_the_text() {
        let yaml = yaml_documents(&[json!({"a": "yes", "b": "on", "c": "1.0", "d": ""})]).unwrap();
        for line in yaml.lines() {
            let value = line.split_once(": ").map_or("", |(_, v)| v);
            assert!(value.starts_with(['\'', '"']), "unquoted in {line:?}");
        }
    }

    #[test]
    fn multi_line_and_long_strings_round_trip() {
        let long = "word ".repeat(60);
        let cases = [
            "line one\nline two\n",
            "no trailing newline\nsecond",
            "  indented first line\nnext\n",
            "trailing blank lines\n\n\n",
            "\nstarts with newline",
            "tabs\tand  double  spaces\n\tindented\n",
            long.as_str(),
        ];
        for text in cases {
            let document = json!({"data": {"file": text}});
            let (yaml, parsed) = round_trip(std::slice::from_ref(&document));
            assert_eq!(parsed, vec![document], "{text:?} became {yaml:?}");
        }
    }

    #[test]
    fn a_stream_encoded_on_several_threads_equals_one_encoded_on_one() {
        let documents: Vec<Value> = (0..MIN_DOCUMENTS_PER_THREAD * 5 + 3)
            .map(|i| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("cm-{i}")}, "data": {"n": i}}))
            .collect();
        let whole = encode_stream(&documents).unwrap();
        assert_eq!(yaml_documents(&documents).unwrap(), whole);
        assert_eq!(whole.matches(DOCUMENT_SEPARATOR).count(), documents.len() - 1);
    }

    #[test]
    fn documents_are_separated_and_values_keep_their_types() {
        let documents = vec![
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}),
            json!({"n": 1, "f": 1.5, "neg": -2, "big": 1e300, "t": true, "nil": null, "list": [], "map": {}}),
        ];
        let (yaml, parsed) = round_trip(&documents);
        assert_eq!(yaml.matches("---").count(), 1, "{yaml}");
        assert_eq!(parsed, documents);
    }

    #[test]
    fn small_manifest_is_encoded_as_written_by_hand() {
        let document = json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "cfg", "labels": {"app": "web"}},
            "data": {"enabled": "yes", "ports": "80,443"},
            "list": [1, "two"],
        });
        let expected = "\
apiVersion: v1
data:
  enabled: \"yes\"
  ports: 80,443
kind: ConfigMap
list:
- 1
- two
metadata:
  labels:
    app: web
  name: cfg
";
        assert_eq!(yaml_documents(&[document]).unwrap(), expected);
    }

    /// (double, go-jsonnet's `jsonnet` output for it): the cases of issue 16 and the edges of the double range.
    const GO_JSONNET_SPELLINGS: &[(f64, &str)] = &[
        (0.1, "0.10000000000000001"),
        (1e25, "10000000000000000905969664"),
        (9_007_199_254_740_993.0, "9007199254740992"),
        (5e-324, "4.9406564584124654e-324"),
        (-0.0, "-0"),
        (1e-7, "9.9999999999999995e-08"),
        (123_456_789.123, "123456789.123"),
        (9_223_372_036_854_775_808.0, "9223372036854775808"),
        (12_345_678_901_234_567_890.0, "12345678901234567168"),
        (1e21, "1000000000000000000000"),
        (1e-5, "1.0000000000000001e-05"),
        (0.5, "0.5"),
        (100.0, "100"),
        (-2.5, "-2.5"),
    ];

    /// The numbers as serde_json holds them when JSON text spells them with Rust's shortest digits, as jrsonnet did
    /// before the carried patch: `2^63` as `9223372036854776000`, an integer kept as `u64` that is not the double.
    fn as_jrsonnet_writes_them(numbers: &[f64]) -> Value {
        let text: Vec<String> = numbers.iter().map(|v| format!("{v}")).collect();
        serde_json::from_str(&format!("[{}]", text.join(","))).unwrap()
    }

    #[test]
    fn json_numbers_are_spelled_as_go_jsonnet_spells_them() {
        let mut numbers: Vec<f64> = GO_JSONNET_SPELLINGS.iter().map(|(v, _)| *v).collect();
        numbers.push(f64::MAX);
        let json = pretty_json(&as_jrsonnet_writes_them(&numbers)).unwrap();
        let lines: Vec<&str> = json.lines().skip(1).map(|line| line.trim().trim_end_matches(',')).collect();
        for (index, (v, want)) in GO_JSONNET_SPELLINGS.iter().enumerate() {
            assert_eq!(lines[index], *want, "{v:e}");
        }
        assert_eq!(lines[GO_JSONNET_SPELLINGS.len()].len(), 309, "f64::MAX has 309 integer digits");
    }

    #[test]
    fn yaml_numbers_are_go_jsonnet_digits_and_parse_back_to_their_doubles() {
        let numbers: Vec<f64> = GO_JSONNET_SPELLINGS.iter().map(|(v, _)| *v).chain([f64::MAX, f64::MIN]).collect();
        let document = json!({"numbers": as_jrsonnet_writes_them(&numbers)});
        let (yaml, parsed) = round_trip(std::slice::from_ref(&document));
        let items: Vec<&str> = yaml.lines().skip(1).map(|line| line.trim_start_matches("- ")).collect();
        for (index, (v, want)) in GO_JSONNET_SPELLINGS.iter().enumerate() {
            assert_eq!(items[index], *want, "{v:e}");
        }
        let read: Vec<f64> = parsed[0]["numbers"].as_array().unwrap().iter().map(|n| n.as_f64().unwrap()).collect();
        assert_eq!(read, numbers, "{yaml}");
        let integers = parsed[0]["numbers"].as_array().unwrap().iter().filter(|n| n.is_i64() || n.is_u64()).count();
        assert_eq!(integers, 5, "integral numbers below 2^64 are YAML integers (-0 too): {yaml}");
    }

    #[test]
    fn a_string_that_looks_like_a_number_placeholder_stays_that_string() {
        let document = json!({"ZJAASNUMBER0X": "ZJAASNUMBER0X3fb999999999999a", "n": 0.1});
        let (yaml, parsed) = round_trip(std::slice::from_ref(&document));
        assert_eq!(parsed, vec![document], "{yaml}");
        assert!(yaml.contains("\"n\": 0.10000000000000001\n"), "{yaml}");
    }

    #[test]
    fn json_is_pretty_and_sorted() {
        let value: Value = serde_json::from_str(r#"{"b": 1, "a": [true]}"#).unwrap();
        assert_eq!(pretty_json(&value).unwrap(), "{\n  \"a\": [\n    true\n  ],\n  \"b\": 1\n}\n");
    }
}
