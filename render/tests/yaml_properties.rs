//! Property tests of the way from an evaluated value to the artifact's files (issue 15 part 7): whatever JSON value
//! tree a snippet evaluates to, [`yaml_documents`] writes YAML that parses back (with serde-saphyr) to exactly the
//! same values, [`pretty_json`] writes JSON that does, and [`shape_manifests`] puts every manifest into exactly one
//! file, in order, under a safe file name, or refuses the value.

#![allow(clippy::unwrap_used)]

use jaas_render::{EVALUATION_STACK_BYTES, RenderRequest, evaluate, pretty_json, shape_manifests, yaml_documents};
use proptest::prelude::*;
use serde_json::{Map, Number, Value};

/// Strings YAML readers disagree about or that need quoting, escaping or block style.
const TRICKY_STRINGS: &[&str] = &[
    "",
    "yes",
    "No",
    "on",
    "OFF",
    "y",
    "~",
    "null",
    "Null",
    "true",
    "1",
    "-1",
    "0x1f",
    "0o17",
    "012",
    "1e3",
    "1_000",
    ".inf",
    "-.Inf",
    ".nan",
    "12:30:45",
    "2001-12-14",
    "---",
    "...",
    "- a",
    "? a",
    ": a",
    "a: b",
    "a #b",
    "#",
    "&a",
    "*a",
    "!a",
    "%a",
    "@a",
    "`a",
    "|",
    ">",
    "{a}",
    "[a]",
    "'",
    "\"",
    "\\",
    " a",
    "a ",
    "\t",
    "a\nb",
    "a\n",
    "\n",
    "a\r\nb",
    "\r",
    "\u{85}",
    "\u{2028}",
    "\u{feff}a",
    "\0",
    "\u{7f}",
    "\u{1b}[0m",
    "é",
    "\u{1f600}",
    "<<",
];

fn string() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::sample::select(TRICKY_STRINGS).prop_map(str::to_owned),
        3 => any::<String>(),
        2 => "[a-z0-9 .:#-]{0,12}",
        1 => proptest::collection::vec(proptest::sample::select(TRICKY_STRINGS), 1..4).prop_map(|parts| parts.concat()),
    ]
}

/// Every kind of JSON number serde_json holds: small and extreme integers and finite doubles, the edges of the
/// double range included.
fn number() -> impl Strategy<Value = Number> {
    prop_oneof![
        any::<i64>().prop_map(Number::from),
        any::<u64>().prop_map(Number::from),
        (-1000..1000_i64).prop_map(Number::from),
        any::<f64>().prop_filter_map("JSON has no NaN or infinities", Number::from_f64),
        proptest::sample::select(vec![
            0.0,
            -0.0,
            0.5,
            1.0,
            1e16,
            1e21,
            1e-7,
            f64::MAX,
            f64::MIN,
            f64::MIN_POSITIVE,
            5e-324,
            9_007_199_254_740_993.0,
        ])
        .prop_filter_map("finite", Number::from_f64),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number().prop_map(Value::Number),
        string().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((string(), inner), 0..6)
                .prop_map(|fields| Value::Object(fields.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A document as the splitter hands the encoder one: an object (a bare `null` document is read back by serde-saphyr
/// as no document at all, so the root is never one), holding any values.
fn document() -> impl Strategy<Value = Value> {
    proptest::collection::vec((string(), json_value()), 0..6)
        .prop_map(|fields| Value::Object(fields.into_iter().collect::<Map<_, _>>()))
}

/// A manifest: a valid `apiVersion`, `kind` (never a list kind) and `metadata.name` (made unique by `index`, so
/// each manifest can be followed into its file), and any other fields.
fn manifest() -> impl Strategy<Value = Value> {
    let kind = "[A-Z][a-zA-Z]{0,10}".prop_filter("not a list kind", |kind| !kind.ends_with("List"));
    let extra = proptest::collection::vec((string(), json_value()), 0..4);
    (string().prop_filter("non-empty", |s| !s.is_empty()), kind, string(), extra).prop_map(
        |(api_version, kind, name, extra)| {
            let mut fields: Map<String, Value> = extra
                .into_iter()
                .filter(|(key, _)| !matches!(key.as_str(), "apiVersion" | "kind" | "metadata"))
                .collect();
            fields.insert("apiVersion".into(), Value::String(api_version));
            fields.insert("kind".into(), Value::String(kind));
            fields.insert("metadata".into(), serde_json::json!({ "name": format!("m-{name}") }));
            Value::Object(fields)
        },
    )
}

/// `manifests` as a snippet might return them in one array: some wrapped in nested arrays or in `kind: List`
/// objects, which the splitter flattens, in order.
fn nested(manifests: &[Value], wrap: &[u8]) -> Value {
    let mut items = Vec::new();
    for (index, chunk) in manifests.chunks(2).enumerate() {
        match wrap.get(index).copied().unwrap_or(0) % 3 {
            0 => items.extend(chunk.iter().cloned()),
            1 => items.push(Value::Array(chunk.to_vec())),
            _ => items.push(serde_json::json!({"apiVersion": "v1", "kind": "List", "items": chunk})),
        }
    }
    Value::Array(items)
}

/// Parses a YAML stream back into values.
fn parse_yaml(yaml: &str) -> Vec<Value> {
    serde_saphyr::from_str_multiple(yaml).unwrap()
}

/// `value` with every number as the double it stands for. A Jsonnet number is a double and the writers spell it as
/// go-jsonnet does (an integer with all its digits, `1.0` as `1`), so what comes back is equal as a double, not as
/// serde_json's integer-or-float (an integer that is no double, such as 2^53 + 1, comes back as its nearest double).
fn as_doubles(value: &Value) -> Value {
    match value {
        Value::Number(number) => Value::Number(Number::from_f64(number.as_f64().unwrap()).unwrap()),
        Value::Array(items) => Value::Array(items.iter().map(as_doubles).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(key, value)| (key.clone(), as_doubles(value))).collect()),
        other => other.clone(),
    }
}

fn all_as_doubles<'v>(values: impl IntoIterator<Item = &'v Value>) -> Vec<Value> {
    values.into_iter().map(as_doubles).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_documents_parse_back_from_their_yaml(documents in proptest::collection::vec(document(), 1..4)) {
        let yaml = yaml_documents(&documents).unwrap();
        prop_assert_eq!(all_as_doubles(&parse_yaml(&yaml)), all_as_doubles(&documents), "{}", yaml);
    }

    #[test]
    fn any_value_parses_back_from_its_json(value in json_value()) {
        let json = pretty_json(&value).unwrap();
        prop_assert_eq!(as_doubles(&serde_json::from_str::<Value>(&json).unwrap()), as_doubles(&value));
    }
}

proptest! {
    // Each case builds several manifests, and serde-saphyr is slow in a debug build: half the default count.
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn an_array_of_manifests_becomes_one_file_of_its_documents_in_order(
        manifests in proptest::collection::vec(manifest(), 1..8),
        wrap in proptest::collection::vec(any::<u8>(), 4),
    ) {
        let value = nested(&manifests, &wrap);
        let files = shape_manifests(&value).unwrap();
        prop_assert_eq!(files.len(), 1);
        prop_assert_eq!(files[0].name.as_str(), "manifests.yaml");
        let documents: Vec<Value> = files[0].documents.iter().map(|document| (*document).clone()).collect();
        prop_assert_eq!(&documents, &manifests);
        prop_assert_eq!(
            all_as_doubles(&parse_yaml(&yaml_documents(&files[0].documents).unwrap())),
            all_as_doubles(&manifests)
        );
    }

    #[test]
    fn an_object_of_manifests_becomes_one_safe_file_per_key_or_is_refused(
        groups in proptest::collection::vec(
            (string(), proptest::collection::vec(manifest(), 0..3), any::<bool>()),
            1..6,
        ),
    ) {
        let mut value = Map::new();
        let mut expected: Vec<Vec<Value>> = Vec::new();
        for (key, manifests, as_array) in groups {
            if matches!(key.as_str(), "apiVersion" | "kind") || value.contains_key(&key) {
                continue;
            }
            let entry = match (as_array, manifests.as_slice()) {
                (false, [single]) => single.clone(),
                _ => Value::Array(manifests.clone()),
            };
            value.insert(key, entry);
            if !manifests.is_empty() {
                expected.push(manifests);
            }
        }
        let value = Value::Object(value);
        match shape_manifests(&value) {
            Ok(files) => {
                let mut names: Vec<&str> = files.iter().map(|file| file.name.as_str()).collect();
                for name in &names {
                    let extension = std::path::Path::new(name).extension();
                    prop_assert!(extension.is_some_and(|ext| ext == "yaml") && !name.starts_with('.'), "{:?}", name);
                    prop_assert!(
                        name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')),
                        "{:?}",
                        name
                    );
                }
                let sorted = names.clone();
                names.sort_unstable();
                names.dedup();
                prop_assert_eq!(&names, &sorted, "file names are sorted and unique");
                let mut written: Vec<Vec<Value>> = Vec::new();
                for file in &files {
                    let documents = parse_yaml(&yaml_documents(&file.documents).unwrap());
                    prop_assert_eq!(all_as_doubles(&documents), all_as_doubles(file.documents.iter().copied()));
                    written.push(all_as_doubles(&documents));
                }
                written.sort_by_key(|documents| serde_json::to_string(documents).unwrap());
                let mut expected: Vec<Vec<Value>> = expected.iter().map(all_as_doubles).collect();
                expected.sort_by_key(|documents| serde_json::to_string(documents).unwrap());
                prop_assert_eq!(written, expected, "every key's manifests in one file, nothing lost or added");
            }
            Err(error) => {
                let message = error.to_string();
                prop_assert!(message.contains("both become the file name"), "{}", message);
            }
        }
    }
}

/// The case the JSON property found: serde_json's default float parser can miss the nearest double by a unit in the
/// last place, and the renderer parses jrsonnet's JSON text with it, so such a number in a snippet came out of the
/// artifact changed (`2.971020313950242e237` as `2.9710203139502416e237`) until `float_roundtrip` was turned on.
#[test]
fn a_number_from_a_snippet_reaches_the_yaml_unchanged() {
    let written = ["2.971020313950242e237", "-2.971020313950242e237", "0.1", "1e308", "5e-324", "9007199254740993"];
    let source = format!(
        "{{ apiVersion: 'v1', kind: 'ConfigMap', metadata: {{ name: 'n' }}, numbers: [{}] }}",
        written.join(", ")
    );
    let request = RenderRequest {
        entry_file: "main.jsonnet".to_owned(),
        files: [("main.jsonnet".to_owned(), source)].into(),
        ..RenderRequest::default()
    };
    let evaluation =
        std::thread::Builder::new().stack_size(EVALUATION_STACK_BYTES).spawn(move || evaluate(&request, 200));
    let value = evaluation.unwrap().join().unwrap().unwrap();
    let files = shape_manifests(&value).unwrap();
    let documents = parse_yaml(&yaml_documents(&files[0].documents).unwrap());
    let read: Vec<f64> = documents[0]["numbers"].as_array().unwrap().iter().map(|n| n.as_f64().unwrap()).collect();
    let expected: Vec<f64> = written.iter().map(|text| text.parse().unwrap()).collect();
    assert_eq!(read, expected);
}
