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
        Some("{\"a\": \"2001-12-14\", \"b\": \"2001-12-14T21:59:43.10-05:00\", \"c\": \"1:20\", \"d\": \"190:20:30\"}"),
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
