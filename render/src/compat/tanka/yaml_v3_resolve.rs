//! What a YAML scalar means to gopkg.in/yaml.v3 (Tanka's YAML library): its `resolve` (YAML 1.2's core schema
//! plus 1.1's octal `017`, `0x1F`, `0b101`, underscores, timestamps; `yes`/`on` stay strings) and the checks an
//! explicit tag (`!!int "10"`, `!!float 1`) adds. Both Tanka natives use it: parseYaml to read scalars,
//! manifestYamlFromJson to decide which strings must be quoted.

use super::go_strconv::{parse_float_decimal, parse_int, parse_uint};
use super::go_time::{Timestamp, parse_timestamp};

/// A scalar's value after resolution, as yaml.v3 types it.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolved {
    Null,
    Bool(bool),
    /// Go `int`/`int64`.
    Int(i64),
    /// Go `uint64`: integers above `int64`'s range.
    Uint(u64),
    Float(f64),
    /// Text that stays a string (`!!str`).
    Str,
    Timestamp(Timestamp),
}

impl Resolved {
    /// The short tag yaml.v3 gives this value (`!!int`, `!!str`…).
    pub const fn tag(&self) -> &'static str {
        match self {
            Self::Null => "!!null",
            Self::Bool(_) => "!!bool",
            Self::Int(_) | Self::Uint(_) => "!!int",
            Self::Float(_) => "!!float",
            Self::Str => "!!str",
            Self::Timestamp(_) => "!!timestamp",
        }
    }
}

/// yaml.v3's `resolve("", text)`: the meaning of an untagged plain scalar.
pub fn resolve_plain(text: &str) -> Resolved {
    let Some(&first) = text.as_bytes().first() else {
        return Resolved::Null;
    };
    if let Some(word) = resolve_word(text) {
        return word;
    }
    match first {
        b'.' => parse_float_decimal(text).map_or(Resolved::Str, Resolved::Float),
        b'0'..=b'9' | b'+' | b'-' => resolve_number(text),
        _ => Resolved::Str,
    }
}

/// yaml.v3's `resolve(tag, text)` for an explicitly tagged scalar (`tag` short, e.g. `!!int`): the value, or
/// yaml.v3's error when the text does not fit the tag. `None` for a tag yaml.v3 does not resolve (`!foo`,
/// `!!binary`): the text is then a string.
pub fn resolve_tagged(tag: &str, text: &str) -> Option<Result<Resolved, String>> {
    let resolved = match tag {
        "!!str" => return Some(Ok(Resolved::Str)),
        "!!bool" | "!!int" | "!!float" | "!!null" | "!!timestamp" => resolve_plain(text),
        _ => return None,
    };
    Some(match (tag, resolved) {
        (_, resolved) if resolved.tag() == tag => Ok(resolved),
        // An integer written for a float converts, unless it only fits in uint64.
        #[allow(clippy::cast_precision_loss)] // as Go's float64(int64)
        ("!!float", Resolved::Int(value)) => Ok(Resolved::Float(value as f64)),
        (_, resolved) => Err(format!("cannot decode {} `{text}` as a {tag}", resolved.tag())),
    })
}

/// The words of yaml.v3's resolve table (its `<<` entry is unreachable: resolve only looks words up when the
/// first character is a letter, digit, sign, `.` or `~`).
fn resolve_word(text: &str) -> Option<Resolved> {
    Some(match text {
        "true" | "True" | "TRUE" => Resolved::Bool(true),
        "false" | "False" | "FALSE" => Resolved::Bool(false),
        "~" | "null" | "Null" | "NULL" => Resolved::Null,
        ".nan" | ".NaN" | ".NAN" => Resolved::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => Resolved::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => Resolved::Float(f64::NEG_INFINITY),
        _ => return None,
    })
}

/// Text starting with a digit or a sign: a timestamp, an integer (Go's base-0 syntax, underscores dropped), a
/// YAML-style float, a `0b`/`0o` integer, or else a string.
fn resolve_number(text: &str) -> Resolved {
    if let Some(time) = parse_timestamp(text) {
        return Resolved::Timestamp(time);
    }
    let plain = text.replace('_', "");
    if let Some(value) = parse_int(&plain, 0) {
        return Resolved::Int(value);
    }
    if let Some(value) = parse_uint(&plain, 0) {
        return Resolved::Uint(value);
    }
    if yaml_style_float(&plain)
        && let Some(value) = parse_float_decimal(&plain)
    {
        return Resolved::Float(value);
    }
    let prefixed = |prefix: &str, radix: u32| {
        if let Some(digits) = plain.strip_prefix(prefix) {
            return parse_int(digits, radix)
                .map(Resolved::Int)
                .or_else(|| parse_uint(digits, radix).map(Resolved::Uint));
        }
        let digits = plain.strip_prefix('-')?.strip_prefix(prefix)?;
        parse_int(&format!("-{digits}"), radix).map(Resolved::Int)
    };
    prefixed("0b", 2).or_else(|| prefixed("0o", 8)).unwrap_or(Resolved::Str)
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn yaml_style_float(text: &str) -> bool {
    let text = text.strip_prefix(['+', '-']).unwrap_or(text);
    let (number, exponent) = match text.find(['e', 'E']) {
        Some(at) => (&text[..at], Some(&text[at + 1..])),
        None => (text, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    let number_ok = match number.split_once('.') {
        Some(("", fraction)) => digits(fraction),
        Some((whole, fraction)) => digits(whole) && (fraction.is_empty() || digits(fraction)),
        None => digits(number),
    };
    number_ok && exponent.is_none_or(|exponent| digits(exponent.strip_prefix(['+', '-']).unwrap_or(exponent)))
}

/// yaml.v3's `isBase60Float`: YAML 1.1 sexagesimal numbers (`1:20`, `190:20:30.15`), which it quotes on output.
pub fn is_base60_float(text: &str) -> bool {
    let body = text.strip_prefix(['+', '-']).unwrap_or(text);
    let Some((head, tail)) = body.split_once(':') else {
        return false;
    };
    if !head.starts_with(|c: char| c.is_ascii_digit()) || !head.bytes().all(|c| c.is_ascii_digit() || c == b'_') {
        return false;
    }
    // `(?::[0-5]?[0-9])+(?:\.[0-9_]*)?`: the fraction can only follow the last group.
    let (groups, fraction) = match tail.split_once('.') {
        Some((groups, fraction)) => (groups, Some(fraction)),
        None => (tail, None),
    };
    let group_ok = |group: &str| match group.as_bytes() {
        [digit] => digit.is_ascii_digit(),
        [tens, digit] => (b'0'..=b'5').contains(tens) && digit.is_ascii_digit(),
        _ => false,
    };
    groups.split(':').all(group_ok)
        && fraction.is_none_or(|fraction| fraction.bytes().all(|c| c.is_ascii_digit() || c == b'_'))
}

/// yaml.v3's `isOldBool`: YAML 1.1 booleans, which it quotes on output.
pub fn is_old_bool(text: &str) -> bool {
    matches!(
        text,
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF"
    )
}

#[cfg(test)]
mod tests {
    //! Expected values are gopkg.in/yaml.v3 3.0.1's (its resolve table and Go's strconv).

    use super::*;

    #[test]
    fn resolves_plain_scalars_as_yaml_v3() {
        let cases: &[(&str, Resolved)] = &[
            ("", Resolved::Null),
            ("~", Resolved::Null),
            ("NULL", Resolved::Null),
            ("nULL", Resolved::Str),
            ("True", Resolved::Bool(true)),
            ("yes", Resolved::Str),
            ("on", Resolved::Str),
            ("017", Resolved::Int(15)),
            ("0o17", Resolved::Int(15)),
            ("0x1F", Resolved::Int(31)),
            ("0b101", Resolved::Int(5)),
            ("-0b101", Resolved::Int(-5)),
            ("-0o17", Resolved::Int(-15)),
            ("1_000", Resolved::Int(1000)),
            ("_10", Resolved::Str),
            ("08", Resolved::Float(8.0)),
            ("09.5", Resolved::Float(9.5)),
            ("1e3", Resolved::Float(1000.0)),
            ("1e400", Resolved::Str),
            (".5", Resolved::Float(0.5)),
            ("._5", Resolved::Str),
            ("+.5", Resolved::Float(0.5)),
            ("1.", Resolved::Float(1.0)),
            ("0x1p3", Resolved::Str),
            ("18446744073709551615", Resolved::Uint(u64::MAX)),
            ("-9223372036854775809", Resolved::Float(-9_223_372_036_854_775_809.0)),
            ("0b1111111111111111111111111111111111111111111111111111111111111111", Resolved::Uint(u64::MAX)),
            // Only the parser makes a plain `<<` a merge key; resolve leaves it a string.
            ("<<", Resolved::Str),
            ("1:20", Resolved::Str),
            ("-", Resolved::Str),
        ];
        for (text, want) in cases {
            assert_eq!(&resolve_plain(text), want, "resolve({text:?})");
        }
        assert!(matches!(resolve_plain(".inf"), Resolved::Float(value) if value == f64::INFINITY));
        assert!(matches!(resolve_plain("2001-12-14"), Resolved::Timestamp(_)));
    }

    #[test]
    fn checks_explicit_tags_as_yaml_v3() {
        assert_eq!(resolve_tagged("!!int", "10"), Some(Ok(Resolved::Int(10))));
        assert_eq!(resolve_tagged("!!float", "1"), Some(Ok(Resolved::Float(1.0))));
        assert_eq!(resolve_tagged("!!str", "10"), Some(Ok(Resolved::Str)));
        assert_eq!(resolve_tagged("!!null", ""), Some(Ok(Resolved::Null)));
        assert_eq!(resolve_tagged("!foo", "10"), None);
        assert_eq!(resolve_tagged("!!binary", "aGk="), None);
        let errors = [
            ("!!bool", "yes", "cannot decode !!str `yes` as a !!bool"),
            ("!!int", "1.5", "cannot decode !!float `1.5` as a !!int"),
            ("!!float", "18446744073709551615", "cannot decode !!int `18446744073709551615` as a !!float"),
            ("!!null", "x", "cannot decode !!str `x` as a !!null"),
        ];
        for (tag, text, message) in errors {
            assert_eq!(resolve_tagged(tag, text), Some(Err(message.to_owned())), "{tag} {text}");
        }
    }

    #[test]
    fn knows_what_yaml_1_1_would_misread() {
        for text in ["1:20", "190:20:30.15", "-1:2", "1_0:5", "1:20."] {
            assert!(is_base60_float(text), "{text}");
        }
        for text in ["1:60", "a:1", "1:", ":1", "1:2:", "1:2.3:4", "1"] {
            assert!(!is_base60_float(text), "{text}");
        }
        assert!(is_old_bool("Off") && !is_old_bool("oFF"));
    }
}
