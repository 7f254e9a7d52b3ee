//! The typed part of the grammar: expressions of a given type (a number where a number goes), built from the
//! literals and `std` functions that write numbers and values as text, so that most programs evaluate and their
//! values reach the YAML and JSON writers.

use proptest::prelude::*;
use proptest::sample::select;

use super::grammar::{EDGE_NUMBERS, FIELD_NAMES, STRINGS};

/// A number literal: an edge of the double range, any finite double, or a small integer.
pub fn number_literal() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => select(EDGE_NUMBERS).prop_map(|n| format!("({n})")),
        2 => any::<f64>().prop_filter("finite", |n| n.is_finite()).prop_map(|n| format!("({n:?})")),
        2 => (-1000_i64..1000).prop_map(|n| format!("({n})")),
    ]
}

/// A string literal: a tricky one, or printable ASCII.
pub fn string_literal() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => select(STRINGS).prop_map(str::to_owned),
        1 => "[ -~&&[^'\\\\]]{0,12}".prop_map(|s| format!("'{s}'")),
    ]
}

/// A number-valued expression nested up to `depth` levels: mostly valid, so that values reach the writers.
fn number(depth: u32) -> BoxedStrategy<String> {
    if depth == 0 {
        return number_literal().boxed();
    }
    let leaf = number_literal();
    let inner = || number(depth - 1);
    prop_oneof![
        3 => leaf,
        2 => (inner(), select(&["+", "-", "*", "/", "%"][..]), inner()).prop_map(|(a, op, b)| format!("({a} {op} {b})")),
        1 => inner().prop_map(|a| format!("(-{a})")),
        1 => (select(&["floor", "ceil", "abs", "sqrt", "exp", "log", "sign", "round"][..]), inner())
            .prop_map(|(f, a)| format!("std.{f}({a})")),
        1 => (inner(), 0_u32..40).prop_map(|(a, e)| format!("std.pow({a}, {e})")),
        1 => string(depth - 1).prop_map(|s| format!("std.length({s})")),
        1 => array(depth - 1).prop_map(|a| format!("std.length({a})")),
    ]
    .boxed()
}

/// A string-valued expression: literals, concatenations and the `std` functions that write numbers and values
/// as text (the go-jsonnet formatting the writers must keep).
fn string(depth: u32) -> BoxedStrategy<String> {
    if depth == 0 {
        return string_literal().boxed();
    }
    let leaf = string_literal();
    let inner = || string(depth - 1);
    prop_oneof![
        3 => leaf,
        1 => (inner(), inner()).prop_map(|(a, b)| format!("({a} + {b})")),
        2 => any_value(depth - 1).prop_map(|v| format!("std.toString({v})")),
        1 => any_value(depth - 1).prop_map(|v| format!("std.manifestYamlDoc({v})")),
        1 => any_value(depth - 1).prop_map(|v| format!("std.manifestJsonEx({v}, '  ')")),
        1 => any_value(depth - 1).prop_map(|v| format!("std.manifestJson({v})")),
        1 => (number(depth - 1), inner()).prop_map(|(n, s)| format!("std.format('%s %d %f %e %g %x', [{s}, {n}, {n}, {n}, {n}, 255])")),
        1 => number(depth - 1).prop_map(|n| format!("('' + {n})")),
        1 => inner().prop_map(|s| format!("std.escapeStringJson({s})")),
        1 => (select(&["base64", "md5", "asciiUpper", "asciiLower", "stripChars"][..]), inner())
            .prop_map(|(f, s)| if f == "stripChars" { format!("std.{f}({s}, ' ')") } else { format!("std.{f}({s})") }),
        1 => proptest::collection::vec(inner(), 0..4).prop_map(|items| format!("std.join(',', [{}])", items.join(", "))),
    ]
    .boxed()
}

/// An array-valued expression.
fn array(depth: u32) -> BoxedStrategy<String> {
    let leaf = prop_oneof![
        Just("[]".to_owned()),
        (0_u32..5, 0_u32..20).prop_map(|(from, to)| format!("std.range({from}, {to})")),
    ];
    if depth == 0 {
        return leaf.boxed();
    }
    prop_oneof![
        1 => leaf,
        3 => proptest::collection::vec(any_value(depth - 1), 0..5).prop_map(|items| format!("[{}]", items.join(", "))),
        1 => (0_u32..8, number(depth - 1)).prop_map(|(n, v)| format!("std.makeArray({n}, function(i) {v} + i)")),
        1 => (any_value(depth - 1), array(depth - 1)).prop_map(|(v, a)| format!("[{v} for x in {a}]")),
        1 => proptest::collection::vec(number(depth - 1), 0..5)
            .prop_map(|items| format!("std.sort([{}])", items.join(", "))),
        1 => string(depth - 1).prop_map(|s| format!("std.stringChars({s})")),
    ]
    .boxed()
}

/// An object-valued expression, with keys that need quoting and values of every type.
fn object(depth: u32) -> BoxedStrategy<String> {
    if depth == 0 {
        return Just("{}".to_owned()).boxed();
    }
    let fields = proptest::collection::vec((select(FIELD_NAMES), select(&[":", "::"][..]), any_value(depth - 1)), 0..5)
        .prop_map(|fields| {
            let fields: Vec<String> = fields.iter().map(|(k, sep, v)| format!("{k}{sep} {v}")).collect();
            format!("{{ {} }}", fields.join(", "))
        });
    prop_oneof![
        3 => fields,
        1 => (object(depth - 1), object(depth - 1)).prop_map(|(a, b)| format!("({a} + {b})")),
        1 => (object(depth - 1), object(depth - 1)).prop_map(|(a, b)| format!("std.mergePatch({a}, {b})")),
        1 => string(depth - 1).prop_map(|s| format!("{{ [{s}]: 1 }}")),
    ]
    .boxed()
}

/// A value of any type, mostly well-typed.
pub fn any_value(depth: u32) -> BoxedStrategy<String> {
    prop_oneof![
        3 => number(depth),
        3 => string(depth),
        1 => select(&["null", "true", "false"][..]).prop_map(str::to_owned),
        2 => array(depth),
        2 => object(depth),
    ]
    .boxed()
}
