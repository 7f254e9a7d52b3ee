//! std.parseYaml as go-jsonnet does it: the text is cut into documents at lines starting with `---` (any such
//! line makes the result an array, one element per document), each document is read as go-yaml v2 reads it
//! (YAML 1.1 scalars, merge keys, only the first document of a piece), and the result goes through
//! sigs.k8s.io/yaml's conversion to JSON (non-string keys spelled out, infinities and NaN rejected).
//!
//! The syntax is parsed by granit-parser (serde-saphyr's YAML 1.2 parser, already in the tree), whose events say
//! whether a scalar was plain, quoted or tagged; what a scalar means is `parse_yaml_scalar`'s business.

use std::collections::{BTreeMap, HashMap};

use jrsonnet_evaluator::{IStr, NumValue, ObjValueBuilder, Result, Val, bail, function::builtin};
use serde_saphyr::granit_parser::{ErrorKind, Event, Options, Parser, ScalarStyle, ScanError, Tag};

use super::parse_yaml_scalar::{Decoded, ScalarTag, decode_scalar, json_key};

/// The namespace of go-yaml's `!!` tags.
const YAML_TAGS: &str = "tag:yaml.org,2002:";

/// std.parseYaml(str), as go-jsonnet does it.
#[builtin]
pub fn builtin_go_parse_yaml(str: IStr) -> Result<Val> {
    match parse_go_yaml(&str) {
        Ok(value) => Ok(value),
        Err(message) => bail!("failed to parse YAML: {}", message),
    }
}

/// The Jsonnet value of `text`, or why go-jsonnet would reject it.
fn parse_go_yaml(text: &str) -> std::result::Result<Val, String> {
    let (documents, stream) = split_documents(text);
    let mut values = Vec::with_capacity(documents.len());
    for document in &documents {
        values.push(to_val(&decode_first_document(document)?)?);
    }
    if stream { Ok(Val::arr(values)) } else { Ok(values.into_iter().next().unwrap_or(Val::Null)) }
}

/// Cuts `text` the way go-jsonnet's YAML reader does: line by line (a `\r` before `\n` dropped), a new piece at
/// every line that starts with `---` followed by a space, tab or the line end (the marker line opens the new
/// piece). Also says whether such a line was seen, which makes the result a stream.
fn split_documents(text: &str) -> (Vec<String>, bool) {
    let mut documents = Vec::new();
    let mut current = String::new();
    let mut stream = false;
    for line in text.split_inclusive('\n') {
        // Go's bufio.ReadLine drops the line break, and a `\r` only when a `\n` follows it.
        let line = line.strip_suffix('\n').map_or(line, |line| line.strip_suffix('\r').unwrap_or(line));
        let marker = line.strip_prefix("---").is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']));
        if marker {
            stream = true;
            if !current.is_empty() {
                documents.push(std::mem::take(&mut current));
            }
        }
        current.push_str(line);
        current.push('\n');
    }
    if !current.is_empty() {
        documents.push(current);
    }
    (documents, stream)
}

/// A collection whose end event has not come yet.
enum Open {
    Seq { anchor: usize, items: Vec<Decoded> },
    Map { anchor: usize, entries: Vec<(Decoded, Decoded)>, key: Option<MapKey> },
}

/// A mapping key waiting for its value.
enum MapKey {
    /// `<<`: the value's entries are merged in.
    Merge,
    Node(Decoded),
}

/// Builds the first document of a piece from parser events, resolving aliases to the anchored node.
#[derive(Default)]
struct DocumentBuilder {
    open: Vec<Open>,
    anchors: HashMap<usize, Decoded>,
    root: Option<Decoded>,
}

impl DocumentBuilder {
    /// Records a finished node under its anchor and puts it where it belongs.
    fn finish(&mut self, node: Decoded, anchor: usize, merge_key: bool) -> std::result::Result<(), String> {
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.open.last_mut() {
            None => self.root = Some(node),
            Some(Open::Seq { items, .. }) => items.push(node),
            Some(Open::Map { entries, key, .. }) => match key.take() {
                None => *key = Some(if merge_key { MapKey::Merge } else { MapKey::Node(node) }),
                Some(MapKey::Node(key)) => entries.push((key, node)),
                Some(MapKey::Merge) => merge_into(entries, &node)?,
            },
        }
        Ok(())
    }

    fn close(&mut self) -> std::result::Result<(), String> {
        let (node, anchor) = match self.open.pop() {
            Some(Open::Seq { anchor, items }) => (Decoded::Seq(items.into()), anchor),
            Some(Open::Map { anchor, entries, .. }) => (Decoded::Map(entries.into()), anchor),
            None => return Err("unbalanced collection end".to_owned()),
        };
        self.finish(node, anchor, false)
    }
}

/// go-yaml v2's merge: the entries of the mapping (or of each mapping in a sequence, the last first so that
/// earlier ones win) are written into the mapping being built, over what is already there.
fn merge_into(entries: &mut Vec<(Decoded, Decoded)>, value: &Decoded) -> std::result::Result<(), String> {
    const NOT_A_MAP: &str = "map merge requires map or sequence of maps as the value";
    match value {
        Decoded::Map(merged) => entries.extend(merged.iter().cloned()),
        Decoded::Seq(maps) => {
            for map in maps.iter().rev() {
                let Decoded::Map(merged) = map else {
                    return Err(NOT_A_MAP.to_owned());
                };
                entries.extend(merged.iter().cloned());
            }
        }
        _ => return Err(NOT_A_MAP.to_owned()),
    }
    Ok(())
}

fn scalar_tag(style: ScalarStyle, tag: Option<&Tag>) -> ScalarTag<'_> {
    match tag {
        Some(tag) => ScalarTag::Yaml(tag.suffix_in_namespace(YAML_TAGS).and_then(|name| match name {
            std::borrow::Cow::Borrowed(name) => Some(name),
            // Only a `%TAG` directive splitting the namespace makes an owned name: rare enough to read as text.
            std::borrow::Cow::Owned(_) => None,
        })),
        None if style == ScalarStyle::Plain => ScalarTag::Plain,
        None => ScalarTag::Quoted,
    }
}

/// The first document in `piece` (go-yaml's `Unmarshal` reads no further), `Null` when there is none.
fn decode_first_document(piece: &str) -> std::result::Result<Decoded, String> {
    // libyaml refuses tabs in places YAML 1.2 allows them.
    if let Some(message) = super::yaml_tabs::misplaced_tab(piece) {
        return Err(message);
    }
    if starts_with_document_end(piece) {
        // YAML 1.2 skips a `...` before any document; go-yaml v2 (libyaml's parser) expects a node there.
        return Err("did not find expected node content".to_owned());
    }
    match decode_events(piece) {
        // libyaml ends the document implicitly at a `%` directive line, and go-yaml stops after that document;
        // YAML 1.2 wants a `...` first. Read what comes before the directive.
        Err(error) if matches!(error.kind(), ErrorKind::MissingDocumentEndBeforeDirective) => {
            let end = error.marker().byte_offset().unwrap_or(piece.len()).min(piece.len());
            decode_events(piece.get(..end).unwrap_or(piece)).map_err(|error| error.to_string())
        }
        result => result.map_err(|error| error.to_string()),
    }
}

/// Parser events of the first document of `text`, built into a node.
fn decode_events(text: &str) -> std::result::Result<Decoded, ScanError> {
    let mut options = Options::default();
    options.set_emit_comments(false);
    // As libyaml: a byte order mark after the document prefix is text.
    options.bom_inside_document_as_content = true;
    let mut parser = Parser::new_from_str_with_options(text, options);
    let mut builder = DocumentBuilder::default();
    while let Some(event) = parser.next_event() {
        let (event, span) = event?;
        let misfit = |message: String| ScanError::new(span.start, message);
        match event {
            Event::DocumentEnd | Event::StreamEnd => break,
            Event::Scalar(value, style, anchor, tag) => {
                let tag = scalar_tag(style, tag.as_deref());
                let merge_key = value == "<<" && (tag == ScalarTag::Plain || tag == ScalarTag::Yaml(Some("merge")));
                let node = decode_scalar(&value, tag).map_err(misfit)?;
                builder.finish(node, anchor, merge_key).map_err(misfit)?;
            }
            Event::SequenceStart(_, anchor, _) => builder.open.push(Open::Seq { anchor, items: Vec::new() }),
            Event::MappingStart(_, anchor, _) => {
                builder.open.push(Open::Map { anchor, entries: Vec::new(), key: None });
            }
            Event::SequenceEnd | Event::MappingEnd => builder.close().map_err(misfit)?,
            Event::Alias(anchor) => {
                let node = builder.anchors.get(&anchor).cloned().ok_or_else(|| misfit("unknown anchor".to_owned()))?;
                builder.finish(node, 0, false).map_err(misfit)?;
            }
            _ => {}
        }
    }
    Ok(builder.root.unwrap_or(Decoded::Null))
}

/// Whether the first line of `piece` that is neither blank nor a comment is a `...` document end marker.
fn starts_with_document_end(piece: &str) -> bool {
    piece
        .lines()
        .find(|line| {
            let content = line.trim_start_matches([' ', '\t']);
            !content.is_empty() && !content.starts_with('#')
        })
        .and_then(|line| line.strip_prefix("..."))
        .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
}

/// sigs.k8s.io/yaml's JSON conversion followed by go-jsonnet's reading of that JSON: numbers become doubles,
/// mapping keys become strings (the last of equal keys wins), non-finite numbers are an error.
fn to_val(node: &Decoded) -> std::result::Result<Val, String> {
    JsonConversion::default().convert(node)
}

/// Converts each collection once however many aliases share it, so a document of nested aliases costs what
/// its text does rather than what its expansion would.
#[derive(Default)]
struct JsonConversion {
    /// Converted collections by the address of their shared contents.
    done: HashMap<*const (), Val>,
}

impl JsonConversion {
    fn convert(&mut self, node: &Decoded) -> std::result::Result<Val, String> {
        #[allow(clippy::cast_precision_loss)] // as Go's JSON round trip rounds them
        let number = match node {
            Decoded::Null => return Ok(Val::Null),
            Decoded::Bool(value) => return Ok(Val::Bool(*value)),
            Decoded::Str(text) => return Ok(Val::string(text.as_str())),
            Decoded::Seq(items) => return self.shared(items.as_ptr().cast(), |this| this.array(items)),
            Decoded::Map(entries) => return self.shared(entries.as_ptr().cast(), |this| this.object(entries)),
            Decoded::Int(value) => *value as f64,
            Decoded::Uint(value) => *value as f64,
            Decoded::Float(value) => *value,
        };
        NumValue::new(number).map(Val::Num).ok_or_else(|| format!("json: unsupported value: {number}"))
    }

    fn shared(
        &mut self,
        address: *const (),
        convert: impl FnOnce(&mut Self) -> std::result::Result<Val, String>,
    ) -> std::result::Result<Val, String> {
        if let Some(value) = self.done.get(&address) {
            return Ok(value.clone());
        }
        let value = convert(self)?;
        self.done.insert(address, value.clone());
        Ok(value)
    }

    fn array(&mut self, items: &[Decoded]) -> std::result::Result<Val, String> {
        let values = items.iter().map(|item| self.convert(item)).collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(Val::arr(values))
    }

    fn object(&mut self, entries: &[(Decoded, Decoded)]) -> std::result::Result<Val, String> {
        let mut fields = BTreeMap::new();
        for (key, value) in entries {
            fields.insert(json_key(key)?, value);
        }
        let mut object = ObjValueBuilder::with_capacity(fields.len());
        for (key, value) in fields {
            object.field(key).value(self.convert(value)?);
        }
        Ok(Val::Obj(object.build()))
    }
}

#[cfg(test)]
mod tests {
    //! std.parseYaml against go-jsonnet 0.22's answers (printed with its std.toString), and the document splitting.

    use super::super::json::go_to_string;
    use super::*;

    /// (YAML text, go-jsonnet's `std.toString(std.parseYaml(text))`, or `None` where go-jsonnet fails).
    const CASES: &[(&str, Option<&str>)] = &[
        ("mode: 010\nmask: 0755\n", Some("{\"mask\": 493, \"mode\": 8}")),
        (
            "a: 0x1F\nb: 0o17\nc: 0b101\nd: -0b101\ne: +0x10\nf: 08\ng: 09.5\nh: 00\n",
            Some("{\"a\": 31, \"b\": 15, \"c\": 5, \"d\": -5, \"e\": 16, \"f\": 8, \"g\": 9.5, \"h\": 0}"),
        ),
        (
            "a: 1_000\nb: 1__0\nc: _10\nd: 0x_1F\ne: 1_0.5\nf: 1e5_0\n",
            Some(
                "{\"a\": 1000, \"b\": 10, \"c\": \"_10\", \"d\": 31, \"e\": 10.5, \"f\": 100000000000000007629769841091887003294964970946560}",
            ),
        ),
        (
            "[yes, Yes, YES, yEs, no, on, Off, y, N, true, True, tRue, ~, null, Null, nULL, '', \"yes\"]",
            Some(
                "[true, true, true, \"yEs\", false, true, false, true, false, true, true, \"tRue\", null, null, null, \"nULL\", \"\", \"yes\"]",
            ),
        ),
        (
            "a: 1e3\nb: 1.0e+3\nc: -.5\nd: +.5\ne: 1.\nf: .5e3\ng: .e3\nh: ._5\ni: 1e\nj: 1e400\nk: 1e-400\nl: 0x1p3\n",
            Some(
                "{\"a\": 1000, \"b\": 1000, \"c\": -0.5, \"d\": 0.5, \"e\": 1, \"f\": 500, \"g\": \".e3\", \"h\": \"._5\", \"i\": \"1e\", \"j\": \"1e400\", \"k\": 0, \"l\": \"0x1p3\"}",
            ),
        ),
        (
            "a: 12345678901234567890\nb: 0x8000000000000000\nc: -0x8000000000000001\nd: 123456789012345678901234\n",
            Some(
                "{\"a\": 12345678901234567168, \"b\": 9223372036854775808, \"c\": \"-0x8000000000000001\", \"d\": 123456789012345685803008}",
            ),
        ),
        ("a: -0\nb: -0.0\nc: -0e0\n", Some("{\"a\": 0, \"b\": -0, \"c\": -0}")),
        (
            "a: 2001-12-14\nb: 2001-12-14T21:59:43.10-05:00\nc: 1:20\nd: 190:20:30\n",
            Some(
                "{\"a\": \"2001-12-14\", \"b\": \"2001-12-14T21:59:43.10-05:00\", \"c\": \"1:20\", \"d\": \"190:20:30\"}",
            ),
        ),
        (
            "a: !!str 10\nb: !!int \"10\"\nc: !!float 1\nd: !!bool \"yes\"\ne: !!null \"\"\nf: !foo 10\ng: ! 10\nh: !!binary aGVsbG8=\ni: !!binary 4oI=\nj: !!str\n",
            Some(
                "{\"a\": \"10\", \"b\": 10, \"c\": 1, \"d\": true, \"e\": null, \"f\": \"10\", \"g\": \"10\", \"h\": \"hello\", \"i\": \"\u{fffd}\u{fffd}\", \"j\": \"\"}",
            ),
        ),
        (
            "010: a\nyes: b\n0x10: c\n1.5: d\n0.1: e\n1e21: f\n123456789.5: g\n.inf: h\n-.inf: i\n.nan: j\n1e6: k\n100000.0: l\n0.00001: m\n-0.0: n\n",
            Some(
                "{\"-.inf\": \"i\", \"-0\": false, \".inf\": \"h\", \".nan\": \"j\", \"0.1\": \"e\", \"1.2345679e+08\": \"g\", \"1.5\": \"d\", \"100000\": \"l\", \"16\": \"c\", \"1e+06\": \"k\", \"1e+21\": \"f\", \"1e-05\": \"m\", \"8\": \"a\", \"true\": \"b\"}",
            ),
        ),
        (
            "x: &b {a: 1, b: 2}\nw:\n  a: 5\n  <<: *b\n  c: 3\nz:\n  <<: *b\n  a: 5\nq:\n  <<: [{a: 1}, {a: 2, c: 3}]\n\"<<\": {r: 1}\n",
            Some(
                "{\"<<\": {\"r\": 1}, \"q\": {\"a\": 1, \"c\": 3}, \"w\": {\"a\": 1, \"b\": 2, \"c\": 3}, \"x\": {\"a\": 1, \"b\": 2}, \"z\": {\"a\": 5, \"b\": 2}}",
            ),
        ),
        ("a: 1\na: 2\n", Some("{\"a\": 2}")),
        ("", Some("null")),
        ("# only a comment\n", Some("null")),
        ("---\n", Some("[null]")),
        ("a: 1\n---\n", Some("[{\"a\": 1}, null]")),
        ("--- a\n--- b\n", Some("[\"a\", \"b\"]")),
        ("a\n...\nb\n", Some("a")),
        ("# c\n---\na: 1\n", Some("[null, {\"a\": 1}]")),
        ("a: 1\r\n---\r\nb: 2\r\n", Some("[{\"a\": 1}, {\"b\": 2}]")),
        ("a: \"---\"\n", Some("{\"a\": \"---\"}")),
        ("a: 1\n--- # c\nb: 2\n", Some("[{\"a\": 1}, {\"b\": 2}]")),
        ("lit: |\n  x\n---\nb: 1\n", Some("[{\"lit\": \"x\\n\"}, {\"b\": 1}]")),
        ("a: .inf\n", None),
        ("~: a\n", None),
        ("18446744073709551615: a\n", None),
        ("[1, 2]: a\n", None),
        ("a: !!int 1.5\n", None),
        ("a: !!binary aGk\n", None),
        ("<<: [1]\n", None),
        ("a: *nope\n", None),
        ("...\na: 1\n", None),
        ("# c\n...\n", None),
        ("a: 1\n%YAML 1.1\nb: 2\n", Some("{\"a\": 1}")),
        ("a: \"x\n%y\"\n", Some("{\"a\": \"x %y\"}")),
        ("%YAML 1.1\n---\na: 010\n", None),
        ("a: 1\n\u{feff}b: 2\n", Some("{\"a\": 1, \"\u{feff}b\": 2}")),
        ("\u{feff}a: 010\n", Some("{\"a\": 8}")),
        (
            "x: {a: [1, {b: 010}], c: &c [yes]}\ny: *c\n",
            Some("{\"true\": [true], \"x\": {\"a\": [1, {\"b\": 8}], \"c\": [true]}}"),
        ),
    ];

    #[test]
    fn parses_like_go_jsonnet() {
        for &(yaml, want) in CASES {
            let got = parse_go_yaml(yaml).map(|value| go_to_string(&value).expect("toString"));
            match want {
                Some(want) => assert_eq!(got.as_deref(), Ok(want), "std.parseYaml({yaml:?})"),
                None => assert!(got.is_err(), "std.parseYaml({yaml:?}) should fail, got {got:?}"),
            }
        }
    }

    #[test]
    fn splits_documents_at_marker_lines() {
        let cases: &[(&str, &[&str], bool)] = &[
            ("", &[], false),
            ("a: 1", &["a: 1\n"], false),
            ("a: 1\r\nb: 2\r\n", &["a: 1\nb: 2\n"], false),
            ("---\na: 1\n", &["---\na: 1\n"], true),
            ("a: 1\n---\nb: 2\n", &["a: 1\n", "---\nb: 2\n"], true),
            ("--- a\n---\tb\n---x\n", &["--- a\n", "---\tb\n---x\n"], true),
            ("a: 1\n---\r", &["a: 1\n---\r\n"], false),
            ("x: '\n---\n'\n", &["x: '\n", "---\n'\n"], true),
        ];
        for &(text, pieces, stream) in cases {
            let (got, got_stream) = split_documents(text);
            assert_eq!(
                (got.as_slice(), got_stream),
                (pieces.iter().map(|piece| (*piece).to_owned()).collect::<Vec<_>>().as_slice(), stream),
                "{text:?}"
            );
        }
    }
}
