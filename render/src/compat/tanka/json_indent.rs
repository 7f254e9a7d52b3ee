//! Go's `json.Indent` as Tanka's manifestJsonFromJson calls it (no prefix, `indent` spaces): the JSON text
//! checked, then rewritten token by token — strings and numbers exactly as written, one element per line,
//! `": "` after keys, empty objects and arrays kept as `{}` and `[]`.

use super::go_json::check_syntax;

/// Tanka's manifestJsonFromJson(json, indent): `json` trimmed of surrounding white space (Go's
/// `bytes.TrimSpace`), re-indented by `indent` spaces a level, with a newline at the end.
pub fn manifest_json_from_json(json: &str, indent: usize) -> Result<String, String> {
    let json = json.trim();
    check_syntax(json)?;
    let unit = " ".repeat(indent);
    let mut out = String::with_capacity(json.len() * 2);
    let mut depth = 0usize;
    // `{` or `[` was written and its first element (if any) still needs its line.
    let mut opened = false;
    let mut chars = json.chars();
    while let Some(c) = chars.next() {
        if matches!(c, ' ' | '\t' | '\r' | '\n') {
            continue;
        }
        if opened && c != '}' && c != ']' {
            opened = false;
            depth += 1;
            new_line(&mut out, &unit, depth);
        }
        match c {
            '{' | '[' => {
                opened = true;
                out.push(c);
            }
            ',' => {
                out.push(c);
                new_line(&mut out, &unit, depth);
            }
            ':' => out.push_str(": "),
            '}' | ']' => {
                if opened {
                    opened = false;
                } else {
                    depth -= 1;
                    new_line(&mut out, &unit, depth);
                }
                out.push(c);
            }
            '"' => copy_string(&mut chars, &mut out),
            _ => out.push(c),
        }
    }
    out.push('\n');
    Ok(out)
}

/// Copies the rest of a string literal, up to and including its closing quote, unchanged.
fn copy_string(chars: &mut std::str::Chars<'_>, out: &mut String) {
    out.push('"');
    let mut escaped = false;
    for c in chars.by_ref() {
        out.push(c);
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return,
            _ => {}
        }
    }
}

fn new_line(out: &mut String, unit: &str, depth: usize) {
    out.push('\n');
    for _ in 0..depth {
        out.push_str(unit);
    }
}

#[cfg(test)]
mod tests {
    //! Expected outputs are Tanka's (its docs and funcs_test.go) and, beyond those, what Go 1.19's `json.Indent`
    //! writes for the same input.

    use super::*;

    #[test]
    fn indents_as_tanka_does() {
        let cases: &[(&str, usize, &str)] = &[
            // Tanka's funcs_test.go.
            ("{}", 4, "{}\n"),
            ("{ \"a\": 47}", 4, "{\n    \"a\": 47\n}\n"),
            // Tanka's documentation.
            (
                "{ \"foo\": { \"bar\": \"baz\" } }",
                8,
                "{\n        \"foo\": {\n                \"bar\": \"baz\"\n        }\n}\n",
            ),
            ("\n [1, [], {}, [2]] \t", 2, "[\n  1,\n  [],\n  {},\n  [\n    2\n  ]\n]\n"),
            (
                "{\"a\":{\"b\":[true,null]},\"c\":\"x\"}",
                0,
                "{\n\"a\": {\n\"b\": [\ntrue,\nnull\n]\n},\n\"c\": \"x\"\n}\n",
            ),
            ("[ \"a , b\\\" ]\" , 1E+400 , -0.50 ]", 1, "[\n \"a , b\\\" ]\",\n 1E+400,\n -0.50\n]\n"),
            ("\"\\ud800 \\u00e9\"", 2, "\"\\ud800 \\u00e9\"\n"),
            ("\u{a0}7\u{2028}", 2, "7\n"),
        ];
        for &(json, indent, want) in cases {
            assert_eq!(manifest_json_from_json(json, indent).as_deref(), Ok(want), "{json:?}");
        }
    }

    #[test]
    fn rejects_text_that_is_not_one_json_value() {
        for json in ["", "{", "[1,]", "1 2", "{\"a\": 1}}"] {
            assert!(manifest_json_from_json(json, 2).is_err(), "{json:?}");
        }
    }
}
