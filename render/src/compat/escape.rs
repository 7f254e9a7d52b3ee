//! The two ways go-jsonnet quotes a string: its own `unparseString` (std.escapeStringJson, YAML scalars,
//! std.toString) and Go's `encoding/json` without HTML escaping (std.manifestJsonEx).

use std::fmt::Write as _;

/// Quotes `s` the way go-jsonnet's `unparseString` does: short escapes for `"`, `\`, `\b`, `\f`, `\n`, `\r`,
/// `\t`, and `\u00XX` for the other C0 controls, DEL and the C1 controls; everything else is kept verbatim.
pub fn unparse_string(s: &str, buf: &mut String) {
    quote(s, buf, |c| c < '\u{20}' || ('\u{7f}'..='\u{9f}').contains(&c));
}

/// Quotes `s` the way Go's `encoding/json` encoder does with `SetEscapeHTML(false)`: short escapes for `"`,
/// `\`, `\b`, `\f`, `\n`, `\r`, `\t`, `\u00XX` for the other C0 controls, and `\u2028`/`\u2029` (which
/// JavaScript cannot hold in a string literal); DEL and everything else are kept verbatim.
pub fn go_json_string(s: &str, buf: &mut String) {
    quote(s, buf, |c| c < '\u{20}' || c == '\u{2028}' || c == '\u{2029}');
}

/// The quoting both encoders share: the same short escapes, and `\uXXXX` for the characters `needs_unicode_escape`
/// picks among the rest; the two differ only in that set.
fn quote(s: &str, buf: &mut String, needs_unicode_escape: impl Fn(char) -> bool) {
    buf.reserve(s.len() + 2);
    buf.push('"');
    for c in s.chars() {
        match c {
            '"' => buf.push_str("\\\""),
            '\\' => buf.push_str("\\\\"),
            '\u{8}' => buf.push_str("\\b"),
            '\u{c}' => buf.push_str("\\f"),
            '\n' => buf.push_str("\\n"),
            '\r' => buf.push_str("\\r"),
            '\t' => buf.push_str("\\t"),
            c if needs_unicode_escape(c) => {
                let _ = write!(buf, "\\u{:04x}", u32::from(c));
            }
            c => buf.push(c),
        }
    }
    buf.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unparse(s: &str) -> String {
        let mut buf = String::new();
        unparse_string(s, &mut buf);
        buf
    }

    fn go_json(s: &str) -> String {
        let mut buf = String::new();
        go_json_string(s, &mut buf);
        buf
    }

    #[test]
    fn unparse_escapes_c0_del_and_c1_but_not_unicode() {
        let cases = [
            ("plain", "\"plain\""),
            ("q\"b\\", "\"q\\\"b\\\\\""),
            ("\u{0}\u{1}\u{1f}", "\"\\u0000\\u0001\\u001f\""),
            ("\u{7f}\u{85}\u{9f}\u{a0}", "\"\\u007f\\u0085\\u009f\u{a0}\""),
            ("é😀\u{2028}", "\"é😀\u{2028}\""),
            ("\u{8}\u{c}\n\r\t", "\"\\b\\f\\n\\r\\t\""),
        ];
        for (input, want) in cases {
            assert_eq!(unparse(input), want, "{input:?}");
        }
    }

    #[test]
    fn go_json_keeps_del_and_escapes_line_separators() {
        let cases = [
            ("\u{7f}\u{85}", "\"\u{7f}\u{85}\""),
            ("\u{2028}\u{2029}", "\"\\u2028\\u2029\""),
            ("<&>", "\"<&>\""),
            ("\u{1}\n", "\"\\u0001\\n\""),
        ];
        for (input, want) in cases {
            assert_eq!(go_json(input), want, "{input:?}");
        }
    }
}
