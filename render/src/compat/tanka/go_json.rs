//! JSON text read as Go's `encoding/json` reads it into an `interface{}` (what Tanka's parseJson,
//! manifestJsonFromJson and manifestYamlFromJson start from): Go's grammar and error texts, numbers as float64
//! (out of range is an error), a lone UTF-16 surrogate escape read as U+FFFD, the last of equal keys winning,
//! nesting up to 10,000 levels.

use std::collections::BTreeMap;

use jrsonnet_evaluator::{NumValue, ObjValueBuilder, Val};

/// Go's scanner refuses deeper nesting.
const MAX_DEPTH: usize = 10_000;

/// A JSON value as Go holds it after `json.Unmarshal` into `interface{}`.
#[derive(Debug, Clone, PartialEq)]
pub enum GoJson {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Vec<GoJson>),
    /// Go's `map[string]interface{}`: keys unique, in byte order.
    Object(BTreeMap<String, GoJson>),
}

/// Go's `json.Unmarshal(text, &value)` with `value` an `interface{}`: the value, or Go's error text.
pub fn unmarshal(text: &str) -> Result<GoJson, String> {
    let mut reader = Reader { text: text.as_bytes(), at: 0, depth: 0, range_error: None };
    let value = reader.document()?;
    // Go checks the whole text's syntax before it converts numbers, so a syntax error wins.
    reader.range_error.map_or(Ok(value), Err)
}

/// Go's scanner alone (`json.Valid`, and what `json.Indent` checks): `Ok` when `text` is one JSON value.
pub fn check_syntax(text: &str) -> Result<(), String> {
    Reader { text: text.as_bytes(), at: 0, depth: 0, range_error: None }.document().map(drop)
}

impl GoJson {
    /// The Jsonnet value go-jsonnet makes of this Go value.
    pub fn to_val(&self) -> Val {
        match self {
            Self::Null => Val::Null,
            Self::Bool(value) => Val::Bool(*value),
            // Finite by construction: unmarshal refuses numbers out of range.
            Self::Number(value) => NumValue::new(*value).map_or(Val::Null, Val::Num),
            Self::String(value) => Val::string(value.as_str()),
            Self::Array(items) => Val::arr(items.iter().map(Self::to_val).collect::<Vec<_>>()),
            Self::Object(fields) => {
                let mut object = ObjValueBuilder::with_capacity(fields.len());
                for (key, value) in fields {
                    object.field(key.as_str()).value(value.to_val());
                }
                Val::Obj(object.build())
            }
        }
    }
}

struct Reader<'a> {
    text: &'a [u8],
    at: usize,
    depth: usize,
    /// The first number out of float64's range: Go reports it only once the whole text has been read.
    range_error: Option<String>,
}

impl Reader<'_> {
    fn document(&mut self) -> Result<GoJson, String> {
        let value = self.value()?;
        self.skip_space();
        match self.peek() {
            None => Ok(value),
            Some(c) => Err(invalid(c, "after top-level value")),
        }
    }

    fn value(&mut self) -> Result<GoJson, String> {
        self.skip_space();
        let c = self.peek().ok_or_else(end_of_input)?;
        match c {
            b'{' => self.nested(Self::object),
            b'[' => self.nested(Self::array),
            b'"' => self.string().map(GoJson::String),
            b'-' | b'0'..=b'9' => self.number(),
            b't' => self.literal("true", GoJson::Bool(true)),
            b'f' => self.literal("false", GoJson::Bool(false)),
            b'n' => self.literal("null", GoJson::Null),
            _ => Err(invalid(c, "looking for beginning of value")),
        }
    }

    fn nested(&mut self, read: fn(&mut Self) -> Result<GoJson, String>) -> Result<GoJson, String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err("exceeded max depth".to_owned());
        }
        self.at += 1;
        let value = read(self);
        self.depth -= 1;
        value
    }

    fn object(&mut self) -> Result<GoJson, String> {
        let mut fields = BTreeMap::new();
        self.skip_space();
        if self.peek() == Some(b'}') {
            self.at += 1;
            return Ok(GoJson::Object(fields));
        }
        loop {
            self.skip_space();
            match self.peek().ok_or_else(end_of_input)? {
                b'"' => {}
                c => return Err(invalid(c, "looking for beginning of object key string")),
            }
            let key = self.string()?;
            self.skip_space();
            match self.next().ok_or_else(end_of_input)? {
                b':' => {}
                c => return Err(invalid(c, "after object key")),
            }
            let value = self.value()?;
            fields.insert(key, value);
            self.skip_space();
            match self.next().ok_or_else(end_of_input)? {
                b',' => {}
                b'}' => return Ok(GoJson::Object(fields)),
                c => return Err(invalid(c, "after object key:value pair")),
            }
        }
    }

    fn array(&mut self) -> Result<GoJson, String> {
        let mut items = Vec::new();
        self.skip_space();
        if self.peek() == Some(b']') {
            self.at += 1;
            return Ok(GoJson::Array(items));
        }
        loop {
            items.push(self.value()?);
            self.skip_space();
            match self.next().ok_or_else(end_of_input)? {
                b',' => {}
                b']' => return Ok(GoJson::Array(items)),
                c => return Err(invalid(c, "after array element")),
            }
        }
    }

    /// A string from its opening quote, unescaped as Go's `unquote` does.
    fn string(&mut self) -> Result<String, String> {
        self.at += 1;
        let mut out = String::new();
        loop {
            let start = self.at;
            while self.peek().is_some_and(|c| c != b'"' && c != b'\\' && c >= 0x20) {
                self.at += 1;
            }
            // Only ASCII bytes stop the scan, so both ends are character boundaries.
            out.push_str(std::str::from_utf8(&self.text[start..self.at]).map_err(|error| error.to_string())?);
            match self.next().ok_or_else(end_of_input)? {
                b'"' => return Ok(out),
                b'\\' => self.escape(&mut out)?,
                c => return Err(invalid(c, "in string literal")),
            }
        }
    }

    fn escape(&mut self, out: &mut String) -> Result<(), String> {
        let c = self.next().ok_or_else(end_of_input)?;
        let unescaped = match c {
            b'"' | b'\\' | b'/' => char::from(c),
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let unit = self.hex4()?;
                if (0xD800..0xE000).contains(&unit) {
                    self.surrogate_pair(unit)
                } else {
                    char::from_u32(unit).unwrap_or(char::REPLACEMENT_CHARACTER)
                }
            }
            _ => return Err(invalid(c, "in string escape code")),
        };
        out.push(unescaped);
        Ok(())
    }

    /// After a surrogate `\uXXXX`: the character it forms with a following low surrogate escape (both read), or
    /// U+FFFD with the following text left alone.
    fn surrogate_pair(&mut self, high: u32) -> char {
        let rest = &self.text[self.at..];
        let low = (rest.len() >= 6 && rest.starts_with(b"\\u"))
            .then(|| std::str::from_utf8(&rest[2..6]).ok().and_then(|hex| u32::from_str_radix(hex, 16).ok()))
            .flatten();
        match low {
            Some(low) if (0xD800..0xDC00).contains(&high) && (0xDC00..0xE000).contains(&low) => {
                self.at += 6;
                char::from_u32(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))
                    .unwrap_or(char::REPLACEMENT_CHARACTER)
            }
            _ => char::REPLACEMENT_CHARACTER,
        }
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let mut unit = 0;
        for _ in 0..4 {
            let c = self.next().ok_or_else(end_of_input)?;
            let digit = char::from(c).to_digit(16).ok_or_else(|| invalid(c, "in \\u hexadecimal character escape"))?;
            unit = unit * 16 + digit;
        }
        Ok(unit)
    }

    fn number(&mut self) -> Result<GoJson, String> {
        let start = self.at;
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        match self.next_or_space() {
            b'0' => {}
            b'1'..=b'9' => self.skip_digits(),
            c => return Err(invalid(c, "in numeric literal")),
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            self.require_digit("after decimal point in numeric literal")?;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.at += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.at += 1;
            }
            self.require_digit("in exponent of numeric literal")?;
        }
        let text = std::str::from_utf8(&self.text[start..self.at]).unwrap_or_default();
        match text.parse::<f64>() {
            Ok(value) if value.is_finite() => Ok(GoJson::Number(value)),
            _ => {
                let message = format!("json: cannot unmarshal number {text} into Go value of type float64");
                self.range_error.get_or_insert(message);
                Ok(GoJson::Null)
            }
        }
    }

    fn require_digit(&mut self, context: &str) -> Result<(), String> {
        match self.next_or_space() {
            b'0'..=b'9' => {
                self.skip_digits();
                Ok(())
            }
            c => Err(invalid(c, context)),
        }
    }

    fn skip_digits(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.at += 1;
        }
    }

    fn literal(&mut self, word: &str, value: GoJson) -> Result<GoJson, String> {
        for expected in word.bytes() {
            match self.next_or_space() {
                c if c == expected => {}
                c => return Err(invalid(c, &format!("in literal {word} (expecting {})", quote_byte(expected)))),
            }
        }
        Ok(value)
    }

    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.at += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.at += 1;
        Some(c)
    }

    /// The next byte inside a number or literal: at the end of the text Go's scanner reads a space, so the
    /// error names that space.
    fn next_or_space(&mut self) -> u8 {
        self.next().unwrap_or(b' ')
    }
}

fn end_of_input() -> String {
    "unexpected end of JSON input".to_owned()
}

/// Go's `SyntaxError` text: `invalid character 'x' <context>`.
fn invalid(c: u8, context: &str) -> String {
    format!("invalid character {} {context}", quote_byte(c))
}

/// Go's `quoteChar`: the byte (read as a Latin-1 character) in single quotes, escaped as Go's `strconv.Quote`.
fn quote_byte(c: u8) -> String {
    match c {
        b'\'' => "'\\''".to_owned(),
        b'"' => "'\"'".to_owned(),
        b'\n' => "'\\n'".to_owned(),
        b'\r' => "'\\r'".to_owned(),
        b'\t' => "'\\t'".to_owned(),
        b'\\' => "'\\\\'".to_owned(),
        0x20..=0x7e | 0xa1..=0xac | 0xae..=0xff => format!("'{}'", char::from(c)),
        0..0x20 | 0x7f => format!("'\\x{c:02x}'"),
        _ => format!("'\\u00{c:02x}'"),
    }
}

#[cfg(test)]
mod tests {
    //! Expected values and error texts are Go 1.19's `json.Unmarshal` into an `interface{}`.

    use super::*;

    fn object(fields: &[(&str, GoJson)]) -> GoJson {
        GoJson::Object(fields.iter().map(|(key, value)| ((*key).to_owned(), value.clone())).collect())
    }

    #[test]
    fn reads_values_as_go() {
        let string = |text: &str| GoJson::String(text.to_owned());
        let cases: Vec<(&str, GoJson)> = vec![
            ("{}", object(&[])),
            ("{\"a\": 47}", object(&[("a", GoJson::Number(47.0))])),
            (
                " [0, 1.5e2, -0, true, false, null] ",
                GoJson::Array(vec![
                    GoJson::Number(0.0),
                    GoJson::Number(150.0),
                    GoJson::Number(-0.0),
                    GoJson::Bool(true),
                    GoJson::Bool(false),
                    GoJson::Null,
                ]),
            ),
            ("{\"a\": 1, \"a\": 2}", object(&[("a", GoJson::Number(2.0))])),
            (r#""\"\\\/\b\f\n\r\t\u00e9\u263a""#, string("\"\\/\u{8}\u{c}\n\r\t\u{e9}\u{263a}")),
            (r#""\ud83d\ude00""#, string("\u{1f600}")),
            (r#""\ud83d""#, string("\u{fffd}")),
            (r#""\ud83dx""#, string("\u{fffd}x")),
            (r#""\ude00\ud83d""#, string("\u{fffd}\u{fffd}")),
            (r#""\ud83d\u0041""#, string("\u{fffd}A")),
            ("12345678901234567890", GoJson::Number(12_345_678_901_234_567_890.0)),
            ("1e-400", GoJson::Number(0.0)),
        ];
        for (text, want) in cases {
            assert_eq!(unmarshal(text), Ok(want), "{text:?}");
        }
    }

    #[test]
    fn rejects_what_go_rejects_with_its_message() {
        let cases = [
            ("", "unexpected end of JSON input"),
            ("  ", "unexpected end of JSON input"),
            ("{", "unexpected end of JSON input"),
            ("[1,", "unexpected end of JSON input"),
            ("x", "invalid character 'x' looking for beginning of value"),
            ("[1,]", "invalid character ']' looking for beginning of value"),
            ("{,}", "invalid character ',' looking for beginning of object key string"),
            ("{\"a\" 1}", "invalid character '1' after object key"),
            ("{\"a\": 1 \"b\"}", "invalid character '\"' after object key:value pair"),
            ("[1 2]", "invalid character '2' after array element"),
            ("1 2", "invalid character '2' after top-level value"),
            ("01", "invalid character '1' after top-level value"),
            ("-", "invalid character ' ' in numeric literal"),
            ("-a", "invalid character 'a' in numeric literal"),
            ("1.e3", "invalid character 'e' after decimal point in numeric literal"),
            ("1e+", "invalid character ' ' in exponent of numeric literal"),
            ("1ex", "invalid character 'x' in exponent of numeric literal"),
            ("tru", "invalid character ' ' in literal true (expecting 'e')"),
            ("\u{a0}7", "invalid character 'Â' looking for beginning of value"),
            ("trUe", "invalid character 'U' in literal true (expecting 'u')"),
            ("\"a\tb\"", "invalid character '\\t' in string literal"),
            ("\"\\x\"", "invalid character 'x' in string escape code"),
            ("\"\\u12g4\"", "invalid character 'g' in \\u hexadecimal character escape"),
            ("'a'", "invalid character '\\'' looking for beginning of value"),
            ("[1e400, x]", "invalid character 'x' looking for beginning of value"),
            ("[1e400, -1e999]", "json: cannot unmarshal number 1e400 into Go value of type float64"),
        ];
        for (text, message) in cases {
            assert_eq!(unmarshal(text), Err(message.to_owned()), "{text:?}");
        }
        assert_eq!(check_syntax("[1e400]"), Ok(()));
    }

    #[test]
    fn nests_as_deep_as_go_allows() {
        // Evaluation threads have a 256 MiB stack; the test thread's default is too small for 10,000 levels.
        let checked = std::thread::Builder::new().stack_size(crate::EVALUATION_STACK_BYTES).spawn(|| {
            let nested = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
            assert!(unmarshal(&nested(MAX_DEPTH)).is_ok());
            assert_eq!(unmarshal(&nested(MAX_DEPTH + 1)), Err("exceeded max depth".to_owned()));
        });
        assert!(checked.and_then(|thread| thread.join().map_err(|_| std::io::Error::other("panicked"))).is_ok());
    }

    #[test]
    fn becomes_the_jsonnet_value_go_jsonnet_makes() {
        let value = unmarshal("{\"b\": [1, \"x\", null], \"a\": {\"c\": true}}").map(|json| json.to_val());
        let manifested = value.and_then(|value| {
            value.manifest(jrsonnet_evaluator::manifest::JsonFormat::minify()).map_err(|error| error.to_string())
        });
        assert_eq!(manifested.as_deref(), Ok(r#"{"a":{"c":true},"b":[1,"x",null]}"#));
    }
}
