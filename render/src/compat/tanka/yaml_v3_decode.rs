//! Tanka's parseYaml: every document of a YAML stream decoded as gopkg.in/yaml.v3 decodes it into an
//! `interface{}`, then sent through `json.Marshal` and back, so the result is always an array (`[]` for an empty
//! stream). yaml.v3's rules: scalars resolved by [`super::yaml_v3_resolve`], explicit tags checked, duplicate
//! keys an error, the last `<<` merge key's mappings merged under the mapping's own keys (earlier ones first),
//! `!!binary` decoded; a mapping with a key that is not a string (`1: a`, `true: b`), a NaN or an infinity makes
//! the JSON step fail as it does in Go.
//! The text is read into nodes by [`super::yaml_v3_nodes`].

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    rc::Rc,
};

use jrsonnet_evaluator::{NumValue, ObjValueBuilder, Val};

use super::go_strconv::format_float_g;
use super::yaml_v3_nodes::{Kind, Node, parse_documents};
use super::yaml_v3_resolve::{Resolved, resolve_tagged};

/// Tanka's parseYaml(yaml): one Jsonnet value per document, or Tanka's error text.
pub fn parse_yaml_stream(text: &str) -> Result<Val, String> {
    let documents = parse_documents(text).map_err(|error| format!("parsing yaml: {error}"))?;
    let mut values = Vec::with_capacity(documents.len());
    for document in &documents {
        values.push(Decoder::default().value(document)?);
    }
    Ok(Val::arr(values))
}

/// Decodes one document, converting each aliased node once however often it is referred to.
#[derive(Default)]
struct Decoder {
    aliased: HashMap<*const Node, Val>,
}

impl Decoder {
    fn value(&mut self, node: &Rc<Node>) -> Result<Val, String> {
        match &node.kind {
            Kind::Scalar { value, tag } => scalar_value(value, tag),
            Kind::Sequence(items) => {
                let values = items.iter().map(|item| self.value(item)).collect::<Result<Vec<_>, _>>()?;
                Ok(Val::arr(values))
            }
            Kind::Mapping(entries) => self.mapping(entries),
            Kind::Alias { target, .. } => {
                if let Some(value) = self.aliased.get(&Rc::as_ptr(target)) {
                    return Ok(value.clone());
                }
                let value = self.value(target)?;
                self.aliased.insert(Rc::as_ptr(target), value.clone());
                Ok(value)
            }
        }
    }

    fn mapping(&mut self, entries: &[(Rc<Node>, Rc<Node>)]) -> Result<Val, String> {
        check_unique_keys(entries)?;
        if entries.iter().any(|(key, _)| matches!(key.resolved().kind, Kind::Sequence(_) | Kind::Mapping(_))) {
            return Err("parsing yaml: yaml: invalid map key: a sequence or mapping".to_owned());
        }
        if !entries.iter().all(|(key, _)| matches!(key.short_tag(), "!!str" | "!!merge")) {
            return Err("converting yaml to json: json: unsupported type: map[interface {}]interface {}".to_owned());
        }
        let mut fields = BTreeMap::new();
        let mut merge = None;
        for (key, value) in entries {
            if key.is_merge_key() {
                merge = Some(value);
                continue;
            }
            fields.insert(key_text(key)?, self.value(value)?);
        }
        if let Some(merge) = merge {
            let mut taken: HashSet<String> = fields.keys().cloned().collect();
            taken.insert("<<".to_owned());
            self.merge(merge, &mut fields, &mut taken)?;
        }
        let mut object = ObjValueBuilder::with_capacity(fields.len());
        for (key, value) in fields {
            object.field(key).value(value);
        }
        Ok(Val::Obj(object.build()))
    }

    /// yaml.v3's `merge`: a mapping, or a sequence of mappings, whose keys not set yet are added.
    fn merge(
        &mut self,
        merge: &Rc<Node>,
        fields: &mut BTreeMap<String, Val>,
        taken: &mut HashSet<String>,
    ) -> Result<(), String> {
        const NOT_A_MAP: &str = "parsing yaml: yaml: map merge requires map or sequence of maps as the value";
        match &merge.resolved().kind {
            Kind::Mapping(entries) => self.merge_mapping(entries, fields, taken),
            Kind::Sequence(items) if matches!(merge.kind, Kind::Sequence(_)) => {
                for item in items {
                    let Kind::Mapping(entries) = &item.resolved().kind else {
                        return Err(NOT_A_MAP.to_owned());
                    };
                    self.merge_mapping(entries, fields, taken)?;
                }
                Ok(())
            }
            _ => Err(NOT_A_MAP.to_owned()),
        }
    }

    fn merge_mapping(
        &mut self,
        entries: &[(Rc<Node>, Rc<Node>)],
        fields: &mut BTreeMap<String, Val>,
        taken: &mut HashSet<String>,
    ) -> Result<(), String> {
        check_unique_keys(entries)?;
        let mut nested = None;
        for (key, value) in entries {
            if key.is_merge_key() {
                nested = Some(value);
                continue;
            }
            let key = key_text(key)?;
            if taken.insert(key.clone()) {
                fields.insert(key, self.value(value)?);
            }
        }
        match nested {
            Some(nested) => self.merge(nested, fields, taken),
            None => Ok(()),
        }
    }
}

/// yaml.v3 refuses a mapping in which two keys are the same kind of node with the same text.
fn check_unique_keys(entries: &[(Rc<Node>, Rc<Node>)]) -> Result<(), String> {
    let mut seen: HashMap<(u8, String), usize> = HashMap::new();
    for (key, _) in entries {
        if let Some(first) = seen.insert(key.key_identity(), key.line) {
            let (_, text) = key.key_identity();
            return Err(format!(
                "parsing yaml: yaml: unmarshal errors:\n  line {}: mapping key {text:?} already defined at line {first}",
                key.line
            ));
        }
    }
    Ok(())
}

/// A key of a string-keyed mapping: its text (a `!!binary` key decoded).
fn key_text(key: &Rc<Node>) -> Result<String, String> {
    match &key.resolved().kind {
        Kind::Scalar { value, tag } if tag == "!!binary" => binary(value),
        Kind::Scalar { value, .. } => Ok(value.clone()),
        _ => Err("parsing yaml: yaml: unmarshal errors: a collection cannot be a key".to_owned()),
    }
}

/// yaml.v3's `scalar` into an `interface{}`, then its JSON round trip.
fn scalar_value(value: &str, tag: &str) -> Result<Val, String> {
    if tag == "!!binary" {
        return binary(value).map(|text| Val::string(text.as_str()));
    }
    let resolved = match resolve_tagged(tag, value) {
        None => return Ok(Val::string(value)),
        Some(resolved) => resolved.map_err(|message| format!("parsing yaml: yaml: {message}"))?,
    };
    #[allow(clippy::cast_precision_loss)] // as Go's JSON round trip of an integer
    let number = match resolved {
        Resolved::Null => return Ok(Val::Null),
        Resolved::Bool(value) => return Ok(Val::Bool(value)),
        Resolved::Str => return Ok(Val::string(value)),
        Resolved::Timestamp(time) => return Ok(Val::string(time.rfc3339_nano().as_str())),
        Resolved::Int(number) => number as f64,
        Resolved::Uint(number) => number as f64,
        Resolved::Float(number) => number,
    };
    NumValue::new(number)
        .map(Val::Num)
        .ok_or_else(|| format!("converting yaml to json: json: unsupported value: {}", format_float_g(number)))
}

/// A `!!binary` scalar: Go's standard base64 (padding required, line breaks ignored), its bytes made a string
/// as `json.Marshal` does (each byte of an invalid UTF-8 sequence becomes U+FFFD).
fn binary(text: &str) -> Result<String, String> {
    const INVALID: &str = "parsing yaml: yaml: !!binary value contains invalid base64 data";
    let digits: Vec<u8> = text.bytes().filter(|c| *c != b'\r' && *c != b'\n').collect();
    if !digits.len().is_multiple_of(4) {
        return Err(INVALID.to_owned());
    }
    let mut bytes = Vec::with_capacity(digits.len() / 4 * 3);
    for (index, quantum) in digits.chunks(4).enumerate() {
        let last = index + 1 == digits.len() / 4;
        let padding = quantum.iter().rev().take_while(|c| **c == b'=').count();
        if padding > 2 || (padding > 0 && !last) {
            return Err(INVALID.to_owned());
        }
        let mut bits: u32 = 0;
        for &c in &quantum[..4 - padding] {
            bits = (bits << 6) | base64_value(c).ok_or_else(|| INVALID.to_owned())?;
        }
        bits <<= 6 * padding;
        let decoded = bits.to_be_bytes();
        bytes.extend_from_slice(&decoded[1..4 - padding]);
    }
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        out.extend(std::iter::repeat_n(char::REPLACEMENT_CHARACTER, chunk.invalid().len()));
    }
    Ok(out)
}

fn base64_value(c: u8) -> Option<u32> {
    let value = match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    };
    Some(u32::from(value))
}

#[cfg(test)]
mod tests {
    //! Expected values are what Tanka's parseYaml returns with gopkg.in/yaml.v3 3.0.1 and Go 1.19 (its own
    //! code: yaml.v3's `Decoder`, then `json.Marshal` and `json.Unmarshal`), printed with go-jsonnet's
    //! std.toString.

    use super::*;
    use crate::compat::json::go_to_string;

    /// (YAML text, the result as go-jsonnet's std.toString prints it, or `None` where Tanka fails).
    const CASES: &[(&str, Option<&str>)] = &[
        ("", Some("[ ]")),
        ("a: 47", Some("[{\"a\": 47}]")),
        ("# only a comment\n", Some("[ ]")),
        ("---", Some("[null]")),
        ("a: 1\n---\n", Some("[{\"a\": 1}, null]")),
        ("---\nfoo: bar\n---\nbar: baz\n", Some("[{\"foo\": \"bar\"}, {\"bar\": \"baz\"}]")),
        ("--- a\n--- b\n", Some("[\"a\", \"b\"]")),
        ("a\n...\n", Some("[\"a\"]")),
        ("mode: 010\nmask: 0755\n", Some("[{\"mask\": 493, \"mode\": 8}]")),
        (
            "a: 0x1F\nb: 0o17\nc: 0b101\nd: -0b101\ne: +0x10\nf: 08\ng: 09.5\nh: 00\n",
            Some("[{\"a\": 31, \"b\": 15, \"c\": 5, \"d\": -5, \"e\": 16, \"f\": 8, \"g\": 9.5, \"h\": 0}]"),
        ),
        (
            "a: 1_000\nb: 1__0\nc: _10\nd: 0x_1F\ne: 1_0.5\nf: 1e5_0\n",
            Some(
                "[{\"a\": 1000, \"b\": 10, \"c\": \"_10\", \"d\": 31, \"e\": 10.5, \"f\": 100000000000000007629769841091887003294964970946560}]",
            ),
        ),
        (
            "[yes, Yes, no, on, Off, y, N, true, True, tRue, ~, null, Null, nULL, '', \"yes\"]",
            Some(
                "[[\"yes\", \"Yes\", \"no\", \"on\", \"Off\", \"y\", \"N\", true, true, \"tRue\", null, null, null, \"nULL\", \"\", \"yes\"]]",
            ),
        ),
        (
            "a: 1e3\nb: -.5\nc: +.5\nd: 1.\ne: .e3\nf: ._5\ng: 1e400\nh: 1e-400\ni: 0x1p3\n",
            Some(
                "[{\"a\": 1000, \"b\": -0.5, \"c\": 0.5, \"d\": 1, \"e\": \".e3\", \"f\": \"._5\", \"g\": \"1e400\", \"h\": 0, \"i\": \"0x1p3\"}]",
            ),
        ),
        (
            "a: 12345678901234567890\nb: 0x8000000000000000\nc: -0x8000000000000001\nd: 123456789012345678901234\n",
            Some(
                "[{\"a\": 12345678901234567168, \"b\": 9223372036854775808, \"c\": \"-0x8000000000000001\", \"d\": 123456789012345685803008}]",
            ),
        ),
        (
            "a: 2001-12-14\nb: 2001-12-14T21:59:43.10-05:00\nc: 2001-12-14 21:59:43.10\nd: 1:20\ne: 2001-13-01\n",
            Some(
                "[{\"a\": \"2001-12-14T00:00:00Z\", \"b\": \"2001-12-14T21:59:43.1-05:00\", \"c\": \"2001-12-14T21:59:43.1Z\", \"d\": \"1:20\", \"e\": \"2001-13-01\"}]",
            ),
        ),
        (
            "a: !!str 10\nb: !!int \"10\"\nc: !!float 1\nd: !!null \"\"\ne: !foo 10\nf: ! 10\ng: !!binary aGVsbG8=\nh: !!binary 4oI=\ni: !!timestamp 2001-12-14\n",
            Some(
                "[{\"a\": \"10\", \"b\": 10, \"c\": 1, \"d\": null, \"e\": \"10\", \"f\": 10, \"g\": \"hello\", \"h\": \"��\", \"i\": \"2001-12-14T00:00:00Z\"}]",
            ),
        ),
        ("a: !!bool \"yes\"\n", None), // 'parsing yaml: yaml: cannot decode !!str `yes` as a !!bool'
        ("a: !!int 1.5\n", None),      // 'parsing yaml: yaml: cannot decode !!float `1.5` as a !!int'
        ("a: !!binary aGk\n", None),   // 'parsing yaml: yaml: !!binary value contains invalid base64 data'
        ("\"a\": 1\n'b': 2\nc: <<\n", Some("[{\"a\": 1, \"b\": 2, \"c\": \"<<\"}]")),
        ("010: a\n", None), // 'converting yaml to json: json: unsupported type: map[interface {}]interface {}'
        ("true: x\n", None), // 'converting yaml to json: json: unsupported type: map[interface {}]interface {}'
        ("~: a\n", None),   // 'converting yaml to json: json: unsupported type: map[interface {}]interface {}'
        ("2001-12-14: a\n", None), // 'converting yaml to json: json: unsupported type: map[interface {}]interface {}'
        ("[1, 2]: a\n", None), // 'parsing yaml: yaml: invalid map key: []interface {}{1, 2}'
        ("a: 1\na: 2\n", None), // 'parsing yaml: yaml: unmarshal errors:\n  line 2: mapping key "a" already defined at line 1'
        ("a: 1\n\"a\": 2\n", None), // 'parsing yaml: yaml: unmarshal errors:\n  line 2: mapping key "a" already defined at line 1'
        (
            "x: &b {a: 1, b: 2}\nw:\n  a: 5\n  <<: *b\n  c: 3\nz:\n  <<: *b\n  a: 5\nq:\n  <<: [{a: 1}, {a: 2, c: 3}]\n",
            Some(
                "[{\"q\": {\"a\": 1, \"c\": 3}, \"w\": {\"a\": 5, \"b\": 2, \"c\": 3}, \"x\": {\"a\": 1, \"b\": 2}, \"z\": {\"a\": 5, \"b\": 2}}]",
            ),
        ),
        ("\"<<\": {r: 1}\n", Some("[{\"<<\": {\"r\": 1}}]")),
        ("<<: [1]\n", None), // 'parsing yaml: yaml: map merge requires map or sequence of maps as the value'
        ("a: &x [*x]\n", None), // "parsing yaml: yaml: anchor 'x' value contains itself"
        ("a: *nope\n", None), // "parsing yaml: yaml: unknown anchor 'nope' referenced"
        // yaml.v3 keeps anchors from one document to the next.
        ("a: &x 1\n---\nb: *x\n", Some("[{\"a\": 1}, {\"b\": 1}]")),
        (
            "x: {a: [1, {b: 010}], c: &c [yes]}\ny: *c\n",
            Some("[{\"x\": {\"a\": [1, {\"b\": 8}], \"c\": [\"yes\"]}, \"y\": [\"yes\"]}]"),
        ),
        ("a: .inf\n", None),              // 'converting yaml to json: json: unsupported value: +Inf'
        ("a: .nan\n", None),              // 'converting yaml to json: json: unsupported value: NaN'
        ("%YAML 1.2\n---\na: 1\n", None), // 'parsing yaml: yaml: found incompatible YAML document'
        ("%YAML 1.1\n---\na: 010\n", Some("[{\"a\": 8}]")),
        ("lit: |\n  x\n---\nb: 1\n", Some("[{\"lit\": \"x\\n\"}, {\"b\": 1}]")),
        ("k: >\n  folded\n  text\n", Some("[{\"k\": \"folded text\\n\"}]")),
        ("k: \"esc\\tape\\u00e9\"\n", Some("[{\"k\": \"esc\\tapeé\"}]")),
        ("a: 1\r\n---\r\nb: 2\r\n", Some("[{\"a\": 1}, {\"b\": 2}]")),
        (
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  labels: {app: y}\ndata:\n  k: v\n",
            Some(
                "[{\"apiVersion\": \"v1\", \"data\": {\"k\": \"v\"}, \"kind\": \"ConfigMap\", \"metadata\": {\"labels\": {\"app\": \"y\"}, \"name\": \"x\"}}]",
            ),
        ),
    ];

    #[test]
    fn decodes_as_tanka_does() {
        for &(yaml, want) in CASES {
            let got = parse_yaml_stream(yaml).map(|value| go_to_string(&value).expect("toString"));
            match want {
                Some(want) => assert_eq!(got.as_deref(), Ok(want), "parseYaml({yaml:?})"),
                None => assert!(got.is_err(), "parseYaml({yaml:?}) should fail, got {got:?}"),
            }
        }
    }

    #[test]
    fn says_why_it_fails_as_tanka_does() {
        let cases = [
            ("a: !!bool \"yes\"\n", "parsing yaml: yaml: cannot decode !!str `yes` as a !!bool"),
            (
                "a: 1\na: 2\n",
                "parsing yaml: yaml: unmarshal errors:\n  line 2: mapping key \"a\" already defined at line 1",
            ),
            ("010: a\n", "converting yaml to json: json: unsupported type: map[interface {}]interface {}"),
            ("a: .inf\n", "converting yaml to json: json: unsupported value: +Inf"),
            ("<<: [1]\n", "parsing yaml: yaml: map merge requires map or sequence of maps as the value"),
            ("%YAML 1.2\n---\na: 1\n", "parsing yaml: yaml: found incompatible YAML document"),
        ];
        for (yaml, message) in cases {
            assert_eq!(parse_yaml_stream(yaml).map(drop), Err(message.to_owned()), "{yaml:?}");
        }
    }
}
