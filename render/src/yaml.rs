//! YAML and JSON encoding of rendered manifests.
//!
//! YAML comes from serde-saphyr with YAML 1.1-safe quoting (so `"yes"`, `"on"`, `"1.0"`, `""` stay strings
//! for every reader Flux might use), literal blocks for multi-line strings and no folding of long lines.

use serde::Serialize;
use serde_json::Value;
use serde_saphyr::SerializerOptions;

use super::{RenderError, parallel::per_batch_on_all_cores};

/// Long single-line strings are never folded: folding is where readers disagree most.
const NEVER_FOLD: usize = u32::MAX as usize;

/// What serde-saphyr writes between two documents of a stream (YAML 1.1 mode, no directives).
const DOCUMENT_SEPARATOR: &str = "---\n";
/// Fewer documents per thread than this are encoded on the calling thread: a thread costs more than it saves.
const MIN_DOCUMENTS_PER_THREAD: usize = 64;

/// Encodes documents as one multi-document YAML stream (`---` between documents).
///
/// Large streams are encoded in contiguous slices on all cores and joined; the bytes are the same as from one
/// thread, since each document's YAML does not depend on its neighbours.
pub fn yaml_documents<T: Serialize + Sync>(documents: &[T]) -> Result<String, RenderError> {
    let slices = per_batch_on_all_cores(documents, MIN_DOCUMENTS_PER_THREAD, |_, slice| encode_stream(slice));
    let slices = slices
        .into_iter()
        .map(|slice| slice.unwrap_or_else(|_| Err(RenderError::Internal("the YAML encoder panicked".to_owned()))))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(slices.join(DOCUMENT_SEPARATOR))
}

fn encode_stream<T: Serialize>(documents: &[T]) -> Result<String, RenderError> {
    let mut options = SerializerOptions::default();
    options.folded_wrap_chars = NEVER_FOLD;
    options.yaml_12 = false;
    serde_saphyr::to_string_multiple_with_options(documents, options)
        .map_err(|error| RenderError::Internal(format!("cannot encode YAML: {error}")))
}

/// Pretty-printed JSON with a trailing newline; keys are sorted because jrsonnet manifests objects in
/// sorted order and `serde_json` keeps that order.
pub fn pretty_json(value: &Value) -> Result<String, RenderError> {
    serde_json::to_string_pretty(value)
        .map(|mut json| {
            json.push('\n');
            json
        })
        .map_err(|error| RenderError::Internal(format!("cannot encode JSON: {error}")))
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

    #[test]
    fn json_is_pretty_and_sorted() {
        let value: Value = serde_json::from_str(r#"{"b": 1, "a": [true]}"#).unwrap();
        assert_eq!(pretty_json(&value).unwrap(), "{\n  \"a\": [\n    true\n  ],\n  \"b\": 1\n}\n");
    }
}
