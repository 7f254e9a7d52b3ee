//! Random Jsonnet programs from a small grammar: literals (numbers at the edges of the double range, strings YAML
//! and JSON writers must quote or escape), operators, arrays, objects, comprehensions, locals, functions,
//! conditionals, errors, assertions, `std` calls and forbidden imports, nested a few levels deep, then wrapped the
//! ways a snippet's value reaches the manifest writer (one manifest, a list, files by name, or a bare value).
//! Three in four values come from the typed grammar of [`super::typed`], so that most evaluate and their values
//! reach the YAML and JSON writers; the rest are untyped, for the evaluator's error paths.

use proptest::prelude::*;
use proptest::sample::select;

use super::typed::{any_value, number_literal, string_literal};

/// Numbers where formatting and parsing go wrong: the largest and smallest doubles, the subnormal boundary,
/// integers beyond 2^53 and 2^63, negative zero, and literals that overflow or underflow as they are read.
pub const EDGE_NUMBERS: &[&str] = &[
    "0",
    "-0",
    "1",
    "-1",
    "0.1",
    "1.7976931348623157e308",
    "-1.7976931348623157e308",
    "5e-324",
    "4.9e-324",
    "2.2250738585072014e-308",
    "2.225073858507201e-308",
    "9007199254740993",
    "9223372036854775807",
    "18446744073709551616",
    "1e21",
    "1e-7",
    "123456789012345678901234567890",
    "1e308 * 10",
    "1e400",
    "1e-400",
    "std.pow(2, 1024)",
    "std.exp(710)",
    "std.log(0)",
    "0 / 0",
    "1 / 0",
    "std.sqrt(-1)",
];

/// Strings that need quoting, escaping or a block style in YAML or JSON, or that are not what they look like.
pub const STRINGS: &[&str] = &[
    "''",
    "'a'",
    "'yes'",
    "'null'",
    "'1e3'",
    "'0x1f'",
    "'~'",
    "'- a'",
    "': b'",
    "'---'",
    "'...'",
    "'#'",
    "'a\\nb'",
    "'\\t\\r'",
    "'\\u0000'",
    "'\\u2028'",
    "'\\ud83d\\ude00'",
    "'\\ud800'",
    "'ünïcødé'",
    "'\"'",
    "\"'\"",
    "'\\\\'",
    "'%s %d'",
    "|||\n  block\n|||",
    "@'verbatim \\ string'",
];

/// Names bound by every program's preamble, so that references resolve (most of the time).
const NAMES: &[&str] = &["a", "b", "c", "d", "f", "x", "std.extVar('ext')"];
const PREAMBLE: &str = "local a = 1, b = 'two', c = [1, 2, 3], d = { k: 'v', n: 1 }, f(x) = x, x = 7;\n";

const BINARY: &[&str] =
    &["+", "-", "*", "/", "%", "<", "<=", ">", ">=", "==", "!=", "&&", "||", "&", "|", "^", "<<", ">>", "in"];
const UNARY: &[&str] = &["-", "+", "!", "~"];
pub const FIELD_NAMES: &[&str] =
    &["k", "apiVersion", "kind", "metadata", "name", "'quoted key'", "'1'", "['computed' + 'key']"];
const FIELD_SEPARATORS: &[&str] = &[":", "::", ":::", "+:"];

/// `std` functions and how many arguments each takes.
const STD: &[(&str, usize)] = &[
    ("toString", 1),
    ("length", 1),
    ("type", 1),
    ("repeat", 2),
    ("makeArray", 2),
    ("range", 2),
    ("join", 2),
    ("split", 2),
    ("substr", 3),
    ("format", 2),
    ("manifestYamlDoc", 1),
    ("manifestJsonEx", 2),
    ("manifestJson", 1),
    ("manifestIni", 1),
    ("manifestTomlEx", 2),
    ("parseJson", 1),
    ("parseYaml", 1),
    ("parseInt", 1),
    ("base64", 1),
    ("base64Decode", 1),
    ("md5", 1),
    ("escapeStringJson", 1),
    ("escapeStringBash", 1),
    ("pow", 2),
    ("exp", 1),
    ("log", 1),
    ("floor", 1),
    ("mod", 2),
    ("char", 1),
    ("codepoint", 1),
    ("sort", 1),
    ("uniq", 1),
    ("set", 1),
    ("objectFields", 1),
    ("objectFieldsAll", 1),
    ("mergePatch", 2),
    ("flattenArrays", 1),
    ("foldl", 3),
    ("map", 2),
    ("filter", 2),
    ("isNumber", 1),
    ("asciiLower", 1),
    ("stringChars", 1),
    ("encodeUTF8", 1),
    ("decodeUTF8", 1),
    ("trace", 2),
];

/// Forbidden or missing imports, which must fail cleanly.
const IMPORTS: &[&str] = &[
    "import '/etc/passwd'",
    "importstr '/etc/hostname'",
    "importbin '/proc/self/environ'",
    "importstr '../../etc/passwd'",
    "import 'http://127.0.0.1:1/x.libsonnet'",
    "import 'missing.libsonnet'",
    "importstr 'main.jsonnet'",
];

fn leaf() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => number_literal(),
        2 => string_literal(),
        3 => select(NAMES).prop_map(str::to_owned),
        1 => select(&["null", "true", "false", "[]", "{}"][..]).prop_map(str::to_owned),
        1 => select(IMPORTS).prop_map(|i| format!("({i})")),
    ]
}

/// One expression, nested up to four levels.
pub fn expression() -> impl Strategy<Value = String> {
    leaf().prop_recursive(4, 48, 4, |inner| {
        let std_call = select(STD).prop_flat_map(move |(name, arity)| {
            proptest::collection::vec(inner_args(), arity..=arity)
                .prop_map(move |args| format!("std.{name}({})", args.join(", ")))
        });
        prop_oneof![
            4 => (inner.clone(), select(BINARY), inner.clone()).prop_map(|(a, op, b)| format!("({a} {op} {b})")),
            1 => (select(UNARY), inner.clone()).prop_map(|(op, a)| format!("{op}({a})")),
            2 => proptest::collection::vec(inner.clone(), 0..4).prop_map(|items| format!("[{}]", items.join(", "))),
            2 => proptest::collection::vec((select(FIELD_NAMES), select(FIELD_SEPARATORS), inner.clone()), 0..4)
                .prop_map(|fields| {
                    let fields: Vec<String> = fields.iter().map(|(k, sep, v)| format!("{k}{sep} {v}")).collect();
                    format!("{{ {} }}", fields.join(", "))
                }),
            1 => (inner.clone(), inner.clone(), inner.clone())
                .prop_map(|(c, t, e)| format!("(if {c} then {t} else {e})")),
            3 => std_call,
            1 => (inner.clone(), inner.clone()).prop_map(|(a, i)| format!("({a})[{i}]")),
            1 => (inner.clone(), inner.clone()).prop_map(|(body, items)| format!("[{body} for x in {items}]")),
            1 => (inner.clone(), inner.clone()).prop_map(|(v, body)| format!("(local y = {v}; {body})")),
            1 => (inner.clone(), inner.clone()).prop_map(|(body, arg)| format!("(function(x) {body})({arg})")),
            1 => (inner.clone(), inner.clone()).prop_map(|(c, v)| format!("(assert {c} : 'fuzz assertion'; {v})")),
            1 => inner.clone().prop_map(|a| format!("(error {a})")),
            1 => (inner.clone(), inner).prop_map(|(fmt, args)| format!("({fmt} % {args})")),
        ]
    })
}

/// Arguments of a `std` call: mostly small, so that `repeat`/`makeArray`/`range` stay cheap, sometimes anything.
fn inner_args() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => (0_u32..20).prop_map(|n| n.to_string()),
        2 => select(STRINGS).prop_map(str::to_owned),
        1 => Just("function(x) x".to_owned()),
        1 => Just("function(acc, x) acc + x".to_owned()),
        2 => select(NAMES).prop_map(str::to_owned),
        1 => select(EDGE_NUMBERS).prop_map(str::to_owned),
    ]
}

/// A whole program: the preamble, then the expression as a snippet's value would carry it.
pub fn program() -> impl Strategy<Value = String> {
    let manifest = |name: &str, value: &str| {
        format!("{{ apiVersion: 'v1', kind: 'ConfigMap', metadata: {{ name: '{name}' }}, data: {{ value: {value} }} }}")
    };
    let value = prop_oneof![3 => any_value(3), 1 => expression()];
    (0_u8..4, value).prop_map(move |(shape, value)| {
        let body = match shape {
            0 => manifest("fuzz", &value),
            1 => format!("[{}, {value}]", manifest("first", "'1'")),
            2 => format!("{{ 'a.yaml': {}, 'b.yaml': {value} }}", manifest("a", "'1'")),
            _ => value,
        };
        format!("{PREAMBLE}{body}\n")
    })
}
