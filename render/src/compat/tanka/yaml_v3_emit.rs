//! gopkg.in/yaml.v3's `Marshal` of a JSON value (Tanka's manifestYamlFromJson): a port of its encoder and of
//! the parts of its libyaml-derived emitter that such a value reaches. Block style with 4-space indentation
//! (sequences indented under their key too), keys in yaml.v3's natural order, numbers as Go's `%g` (`1e+06`),
//! strings plain where yaml.v3 would read them back as strings, else single- or double-quoted, and strings
//! with a newline as `|` blocks; no line folding.

use super::go_json::GoJson;
use super::go_strconv::format_float_g;
use super::yaml_v3_key_order::sorted_keys;
use super::yaml_v3_scalar_style::{Analysis, Style, is_break, is_printable, select_style, string_style};

/// yaml.v3's default indentation.
const INDENT: usize = 4;

/// yaml.v3's `Marshal(value)` for a value decoded from JSON.
pub fn marshal(value: &GoJson) -> String {
    let mut emitter =
        Emitter { out: String::new(), column: 0, whitespace: true, indention: true, indent: None, indents: Vec::new() };
    emitter.node(value, Parent::Document, false);
    // The document end.
    emitter.write_indent();
    emitter.out
}

/// The state the parent pushed before emitting a node: only a block sequence item indents differently.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Parent {
    Document,
    SequenceItem,
    Mapping,
}

struct Emitter {
    out: String,
    /// Characters written on the current line.
    column: usize,
    /// The last thing written was white space (or nothing).
    whitespace: bool,
    /// Only indentation has been written on the current line.
    indention: bool,
    /// The current indentation; `None` before the root node (libyaml's -1).
    indent: Option<usize>,
    indents: Vec<Option<usize>>,
}

impl Emitter {
    fn node(&mut self, value: &GoJson, parent: Parent, simple_key: bool) {
        match value {
            GoJson::Null => self.scalar("null", Style::Plain, parent, simple_key),
            GoJson::Bool(value) => self.scalar(if *value { "true" } else { "false" }, Style::Plain, parent, simple_key),
            GoJson::Number(value) => self.scalar(&format_float_g(*value), Style::Plain, parent, simple_key),
            GoJson::String(text) => self.scalar(text, string_style(text), parent, simple_key),
            GoJson::Array(items) if items.is_empty() => self.empty_collection("[]"),
            GoJson::Object(fields) if fields.is_empty() => self.empty_collection("{}"),
            GoJson::Array(items) => {
                self.increase_indent(false, parent);
                for item in items {
                    self.write_indent();
                    self.write_indicator("-", true, false, true);
                    self.node(item, Parent::SequenceItem, false);
                }
                self.restore_indent();
            }
            GoJson::Object(fields) => {
                self.increase_indent(false, parent);
                for key in sorted_keys(fields.keys().map(String::as_str)) {
                    self.write_indent();
                    let simple = !Analysis::of(key).multiline && key.len() <= 128;
                    if simple {
                        self.node(&GoJson::String(key.to_owned()), Parent::Mapping, true);
                        self.write_indicator(":", false, false, false);
                    } else {
                        self.write_indicator("?", true, false, true);
                        self.node(&GoJson::String(key.to_owned()), Parent::Mapping, false);
                        self.write_indent();
                        self.write_indicator(":", true, false, true);
                    }
                    if let Some(value) = fields.get(key) {
                        self.node(value, Parent::Mapping, false);
                    }
                }
                self.restore_indent();
            }
        }
    }

    /// An empty sequence or mapping, written in flow style.
    fn empty_collection(&mut self, brackets: &str) {
        let (open, close) = brackets.split_at(1);
        self.write_indicator(open, true, true, false);
        self.write_indicator(close, false, false, false);
    }

    fn scalar(&mut self, text: &str, requested: Style, parent: Parent, simple_key: bool) {
        let style = select_style(&Analysis::of(text), requested, simple_key);
        self.increase_indent(true, parent);
        match style {
            Style::Plain => self.write_plain(text),
            Style::SingleQuoted => self.write_single_quoted(text),
            Style::DoubleQuoted => self.write_double_quoted(text),
            Style::Literal => self.write_literal(text),
        }
        self.restore_indent();
    }

    /// libyaml's `increase_indent` with yaml.v3's change: a node in a sequence item is indented past the `- `,
    /// anything else to the next multiple of the indentation.
    fn increase_indent(&mut self, flow: bool, parent: Parent) {
        self.indents.push(self.indent);
        self.indent = Some(match self.indent {
            None if flow => INDENT,
            None => 0,
            Some(indent) if parent == Parent::SequenceItem => indent + 2,
            Some(indent) => INDENT * ((indent + INDENT) / INDENT),
        });
    }

    fn restore_indent(&mut self) {
        self.indent = self.indents.pop().flatten();
    }

    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
        self.indention = true;
    }

    /// A line break taken from the text: `\n` as the emitter's break, others (`\r`, U+0085, U+2028, U+2029)
    /// copied as they are.
    fn write_break(&mut self, c: char) {
        if c == '\n' {
            self.put_break();
        } else {
            self.out.push(c);
            self.column = 0;
            self.indention = true;
        }
    }

    fn write_indent(&mut self) {
        let indent = self.indent.unwrap_or(0);
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
    }

    fn write_indicator(&mut self, indicator: &str, need_whitespace: bool, is_whitespace: bool, is_indention: bool) {
        if need_whitespace && !self.whitespace {
            self.put(' ');
        }
        indicator.chars().for_each(|c| self.put(c));
        self.whitespace = is_whitespace;
        self.indention = self.indention && is_indention;
    }

    fn write_plain(&mut self, text: &str) {
        if !text.is_empty() && !self.whitespace {
            self.put(' ');
        }
        text.chars().for_each(|c| self.put(c));
        if !text.is_empty() {
            self.whitespace = false;
        }
        self.indention = false;
    }

    fn write_single_quoted(&mut self, text: &str) {
        self.write_indicator("'", true, false, false);
        let mut breaks = false;
        for c in text.chars() {
            if c == ' ' {
                self.put(c);
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                if c == '\'' {
                    self.put('\'');
                }
                self.put(c);
                self.indention = false;
                breaks = false;
            }
        }
        self.write_indicator("'", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_double_quoted(&mut self, text: &str) {
        self.write_indicator("\"", true, false, false);
        // libyaml's `is_bom` looks at the start of the whole text, so a leading BOM escapes every character.
        let starts_with_bom = text.starts_with('\u{feff}');
        for c in text.chars() {
            if !is_printable(c) || starts_with_bom || is_break(c) || c == '"' || c == '\\' {
                self.write_escape(c);
            } else {
                self.put(c);
            }
        }
        self.write_indicator("\"", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_escape(&mut self, c: char) {
        self.put('\\');
        let short = match c {
            '\0' => Some('0'),
            '\u{7}' => Some('a'),
            '\u{8}' => Some('b'),
            '\t' => Some('t'),
            '\n' => Some('n'),
            '\u{b}' => Some('v'),
            '\u{c}' => Some('f'),
            '\r' => Some('r'),
            '\u{1b}' => Some('e'),
            '"' => Some('"'),
            '\\' => Some('\\'),
            '\u{85}' => Some('N'),
            '\u{a0}' => Some('_'),
            '\u{2028}' => Some('L'),
            '\u{2029}' => Some('P'),
            _ => None,
        };
        if let Some(short) = short {
            self.put(short);
            return;
        }
        let code = u32::from(c);
        let (letter, width) = match code {
            0..=0xff => ('x', 2),
            0x100..=0xffff => ('u', 4),
            _ => ('U', 8),
        };
        self.put(letter);
        format!("{code:0width$X}").chars().for_each(|digit| self.put(digit));
    }

    fn write_literal(&mut self, text: &str) {
        self.write_indicator("|", true, false, false);
        if text.starts_with(|c: char| c == ' ' || is_break(c)) {
            self.write_indicator(&INDENT.to_string(), false, false, false);
        }
        let mut reversed = text.chars().rev();
        let chomp = match (reversed.next(), reversed.next()) {
            (Some(last), _) if !is_break(last) => Some("-"),
            (Some(_), None) => Some("+"),
            (Some(_), Some(before)) if is_break(before) => Some("+"),
            _ => None,
        };
        if let Some(chomp) = chomp {
            self.write_indicator(chomp, false, false, false);
        }
        self.whitespace = true;
        let mut breaks = true;
        for c in text.chars() {
            if is_break(c) {
                self.write_break(c);
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.put(c);
                self.indention = false;
                breaks = false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! Expected documents are what gopkg.in/yaml.v3 3.0.1's `Marshal` writes for the value Go's `json.Unmarshal`
    //! reads from the same JSON (Tanka's manifestYamlFromJson), run with Go 1.19.

    use super::super::go_json::unmarshal;
    use super::*;

    fn yaml(json: &str) -> String {
        marshal(&unmarshal(json).expect("valid JSON"))
    }

    #[test]
    fn writes_tankas_documented_examples() {
        // Tanka's funcs_test.go and documentation.
        assert_eq!(yaml("{}"), "{}\n");
        assert_eq!(yaml("{ \"a\": 47}"), "a: 47\n");
        assert_eq!(yaml("{ \"foo\": { \"bar\": \"baz\" } }"), "foo:\n    bar: baz\n");
    }

    #[test]
    fn writes_what_yaml_v3_writes() {
        // Numbers as %g, quoting of what YAML 1.1 or 1.2 would misread, flow indicators, escapes (characters
        // beyond U+FFFF included), literal blocks with their chomping and indentation hints (yaml.v3 drops a
        // leading newline: `|4-` then the text), complex keys, empty collections, a realistic ConfigMap.
        let cases: &[(&str, &str)] = &[
            ("[]", "[]\n"),
            ("\"a\"", "a\n"),
            ("null", "null\n"),
            ("1000000", "1e+06\n"),
            ("123456", "123456\n"),
            ("0.00001", "1e-05\n"),
            ("-0", "-0\n"),
            ("1e21", "1e+21\n"),
            ("true", "true\n"),
            (
                "{\"a\":[1,{\"b\":1000000,\"c\":{\"d\":\"x\\ny\"}}],\"e\":\"\",\"k\":[[1,2]]}",
                "a:\n    - 1\n    - b: 1e+06\n      c:\n        d: |-\n            x\n            y\ne: \"\"\nk:\n    - - 1\n      - 2\n",
            ),
            (
                "{\"s\":[\"yes\",\"No\",\"on\",\"y\",\"true\",\"null\",\"~\",\"1\",\"1.5\",\"0x1F\",\"017\",\"1_000\",\"1:20\",\"2001-12-14\",\".inf\",\"<<\"]}",
                "s:\n    - \"yes\"\n    - \"No\"\n    - \"on\"\n    - \"y\"\n    - \"true\"\n    - \"null\"\n    - \"~\"\n    - \"1\"\n    - \"1.5\"\n    - \"0x1F\"\n    - \"017\"\n    - \"1_000\"\n    - \"1:20\"\n    - \"2001-12-14\"\n    - \".inf\"\n    - <<\n",
            ),
            (
                "{\"s\":[\"-\",\"- a\",\"-a\",\":\",\"a:\",\"a: b\",\"a:b\",\"#x\",\"a #b\",\"a#b\",\"[x]\",\"x]\",\"&a\",\"? a\",\"?a\",\" a\",\"a \",\"---\",\"...\"]}",
                "s:\n    - '-'\n    - '- a'\n    - -a\n    - ':'\n    - 'a:'\n    - 'a: b'\n    - a:b\n    - '#x'\n    - 'a #b'\n    - a#b\n    - '[x]'\n    - x]\n    - '&a'\n    - '? a'\n    - ?a\n    - ' a'\n    - 'a '\n    - '---'\n    - '...'\n",
            ),
            (
                "{\"s\":[\"a\\tb\",\"a\\rb\",\"\\u0085\",\"\\u00a0\",\"\\u2028x\",\"\\ufeffa\",\"\\u007f\",\"\\u0000\",\"\\u001b\",\"\u{1f600}\",\"it's\",\"\\\"q\\\"\",\"back\\\\slash\",\"é日本\"]}",
                "s:\n    - \"a\\tb\"\n    - \"a\\rb\"\n    - \"\\N\"\n    - \u{a0}\n    - '\u{2028}      x'\n    - \"\\uFEFF\\x61\"\n    - \"\\x7F\"\n    - \"\\0\"\n    - \"\\e\"\n    - \"\\U0001F600\"\n    - it's\n    - '\"q\"'\n    - back\\slash\n    - é日本\n",
            ),
            (
                "{\"l\":[\"a\\n\",\"a\\nb\",\"a\\n\\n\",\"\\na\",\" a\\nb\",\"a \\nb\",\"a\\nb \",\"\\n\"]}",
                "l:\n    - |\n      a\n    - |-\n      a\n      b\n    - |+\n      a\n\n    - |4-\n      a\n    - |4-\n       a\n      b\n    - \"a \\nb\"\n    - \"a\\nb \"\n    - |4+\n",
            ),
            (
                "{\"a\\nb\": 1, \"yes\": 2, \"\": 3, \"1\": 4, \"- x\": 6, \"x: y\": 7}",
                "\"\": 3\n'- x': 6\n\"1\": 4\n? |-\n    a\n    b\n: 1\n'x: y': 7\n\"yes\": 2\n",
            ),
            (
                "{\"m\":{\"x\":{},\"y\":[],\"z\":[{}]}, \"s\":[[\"a\\nb\"], {\"k\":\"p\\nq\"}]}",
                "m:\n    x: {}\n    \"y\": []\n    z:\n        - {}\ns:\n    - - |-\n        a\n        b\n    - k: |-\n        p\n        q\n",
            ),
            (
                "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"grafana-dashboards\",\"labels\":{\"app\":\"grafana\"}},\"data\":{\"config.yaml\":\"apiVersion: 1\\nproviders:\\n- name: default\\n  folder: ''\\n\",\"replicas\":\"2\"}}",
                "apiVersion: v1\ndata:\n    config.yaml: |\n        apiVersion: 1\n        providers:\n        - name: default\n          folder: ''\n    replicas: \"2\"\nkind: ConfigMap\nmetadata:\n    labels:\n        app: grafana\n    name: grafana-dashboards\n",
            ),
        ];
        for &(json, want) in cases {
            assert_eq!(yaml(json), want, "{json}");
        }
    }
}
