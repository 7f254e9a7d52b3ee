//! What a YAML scalar means to go-jsonnet's std.parseYaml: go-yaml v2's YAML 1.1 resolution (`010` is 8, `0x1F`
//! 31, `yes`/`on`/`y` true, `1_000` 1000, `~` null), the tags it understands, and how sigs.k8s.io/yaml then spells
//! a non-string mapping key as a JSON object key.

use std::fmt::Write as _;
use std::rc::Rc;

use super::misc::BASE64_TABLE;

/// A YAML node as go-yaml v2 decodes it into Go's `interface{}` (before the conversion to JSON).
#[derive(Clone, Debug, PartialEq)]
pub enum Decoded {
    /// `~`, `null`, an empty plain scalar.
    Null,
    /// `true`, `yes`, `on`, `y` and their spellings, or the `false` family.
    Bool(bool),
    /// An integer that fits a Go `int`.
    Int(i64),
    /// An integer above `i64::MAX` that fits a `uint64` (not allowed as a mapping key).
    Uint(u64),
    /// A float, possibly infinite or NaN (which the JSON conversion then rejects).
    Float(f64),
    /// Any other scalar: quoted, block, timestamp-like, or plain text that is none of the above.
    Str(String),
    /// A sequence.
    Seq(Rc<[Decoded]>),
    /// A mapping's entries in document order, merge keys already spliced in; a later entry wins over an earlier
    /// one with the same key.
    Map(Rc<[(Decoded, Decoded)]>),
}

/// How a scalar was written, which decides whether it is resolved at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScalarTag<'a> {
    /// Plain and untagged: resolved by its text.
    Plain,
    /// Quoted or block, untagged: always a string.
    Quoted,
    /// Explicitly tagged: a `tag:yaml.org,2002:` name (`int`, `str`, `binary`, …) or `None` for any other tag.
    Yaml(Option<&'a str>),
}

/// The value of a scalar, or go-yaml's complaint about a tag that does not fit the text.
pub fn decode_scalar(value: &str, tag: ScalarTag<'_>) -> Result<Decoded, String> {
    let name = match tag {
        ScalarTag::Plain => return Ok(resolve_plain(value)),
        ScalarTag::Quoted | ScalarTag::Yaml(None) => return Ok(Decoded::Str(value.to_owned())),
        ScalarTag::Yaml(Some(name)) => name,
    };
    let resolved = resolve_plain(value);
    let fits = match (name, &resolved) {
        ("binary", _) => return decode_base64(value).map(|bytes| Decoded::Str(go_json_string(&bytes))),
        #[allow(clippy::cast_precision_loss)]
        ("float", Decoded::Int(int)) => return Ok(Decoded::Float(*int as f64)),
        // go-yaml keeps a timestamp as its text when decoding into interface{}; its full date grammar is not
        // repeated here, only the `YYYY-` start every accepted layout has.
        ("timestamp", Decoded::Str(text)) => starts_like_timestamp(text),
        ("int", Decoded::Int(_) | Decoded::Uint(_))
        | ("float", Decoded::Float(_))
        | ("bool", Decoded::Bool(_))
        | ("null", Decoded::Null) => true,
        ("int" | "float" | "bool" | "null" | "timestamp", _) => false,
        // `!!str`, and the tags go-yaml does not resolve (`!!map` on a scalar, `!!merge`, …), keep the text.
        _ => return Ok(Decoded::Str(value.to_owned())),
    };
    if fits { Ok(resolved) } else { Err(format!("cannot decode !!{} `{value}` as a !!{name}", kind_name(&resolved))) }
}

fn kind_name(value: &Decoded) -> &'static str {
    match value {
        Decoded::Null => "null",
        Decoded::Bool(_) => "bool",
        Decoded::Int(_) | Decoded::Uint(_) => "int",
        Decoded::Float(_) => "float",
        Decoded::Str(_) => "str",
        Decoded::Seq(_) => "seq",
        Decoded::Map(_) => "map",
    }
}

fn starts_like_timestamp(text: &str) -> bool {
    text.len() > 4 && text.as_bytes()[..4].iter().all(u8::is_ascii_digit) && text.as_bytes()[4] == b'-'
}

/// go-yaml v2's `resolve` for a plain scalar: the first character decides what the text may be (a sign or digit:
/// a number; `.`: a float; one of `yYnNtTfFoO~`: a word from the table below), anything else is a string.
pub fn resolve_plain(text: &str) -> Decoded {
    let Some(&first) = text.as_bytes().first() else {
        return Decoded::Null;
    };
    if !matches!(first, b'+' | b'-' | b'0'..=b'9' | b'.' | b'~' | b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F')
        && !matches!(first, b'o' | b'O')
    {
        return Decoded::Str(text.to_owned());
    }
    if let Some(word) = resolve_word(text) {
        return word;
    }
    match first {
        // Go's ParseFloat on the text itself, which takes underscores only between two digits.
        b'.' if underscores_between_digits(text) => {
            parse_yaml_float(&text.replace('_', "")).map_or_else(|| Decoded::Str(text.to_owned()), Decoded::Float)
        }
        b'+' | b'-' | b'0'..=b'9' => resolve_number(text),
        _ => Decoded::Str(text.to_owned()),
    }
}

fn underscores_between_digits(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes
        .iter()
        .enumerate()
        .filter(|&(_, &b)| b == b'_')
        .all(|(at, _)| at > 0 && bytes[at - 1].is_ascii_digit() && bytes.get(at + 1).is_some_and(u8::is_ascii_digit))
}

/// The fixed words of YAML 1.1's bool, null and float types, in the spellings go-yaml accepts.
fn resolve_word(text: &str) -> Option<Decoded> {
    Some(match text {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => Decoded::Bool(true),
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => Decoded::Bool(false),
        "~" | "null" | "Null" | "NULL" => Decoded::Null,
        ".nan" | ".NaN" | ".NAN" => Decoded::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => Decoded::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => Decoded::Float(f64::NEG_INFINITY),
        _ => return None,
    })
}

/// A scalar starting with a sign or digit: underscores dropped, then Go's `ParseInt(s, 0, 64)` (so `0x`, `0o`,
/// `0b` and a leading `0` for octal), `ParseUint`, and a decimal float; otherwise the original text.
fn resolve_number(text: &str) -> Decoded {
    let plain = text.replace('_', "");
    if let Some(int) = go_parse_int(&plain) {
        return Decoded::Int(int);
    }
    if let Some(uint) = go_parse_uint(&plain) {
        return Decoded::Uint(uint);
    }
    parse_yaml_float(&plain).map_or_else(|| Decoded::Str(text.to_owned()), Decoded::Float)
}

/// Go's `strconv.ParseInt(s, 0, 64)` without underscores.
fn go_parse_int(s: &str) -> Option<i64> {
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let magnitude = go_parse_uint(digits)?;
    if negative { 0i64.checked_sub_unsigned(magnitude) } else { i64::try_from(magnitude).ok() }
}

/// Go's `strconv.ParseUint(s, 0, 64)` without underscores: a base prefix (`0b`, `0o`, `0x`, or `0` for octal)
/// and at least one digit, except that `0` alone is zero.
fn go_parse_uint(s: &str) -> Option<u64> {
    let bytes = s.as_bytes();
    let (radix, digits) = match bytes {
        [] => return None,
        [b'0', prefix, _, ..] if matches!(prefix.to_ascii_lowercase(), b'b' | b'o' | b'x') => {
            let radix = match prefix.to_ascii_lowercase() {
                b'b' => 2,
                b'o' => 8,
                _ => 16,
            };
            (radix, &s[2..])
        }
        [b'0'] => return Some(0),
        [b'0', ..] => (8, &s[1..]),
        _ => (10, s),
    };
    // from_str_radix would also take a sign; Go takes digits only.
    if !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// go-yaml's float syntax `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`, parsed as Go's `ParseFloat`
/// does (a value too large for a double is not a float, so the text stays a string).
fn parse_yaml_float(s: &str) -> Option<f64> {
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (&unsigned[..at], Some(&unsigned[at + 1..])),
        None => (unsigned, None),
    };
    let (int, frac) = mantissa.split_once('.').map_or((mantissa, None), |(int, frac)| (int, Some(frac)));
    let all_digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = all_digits(int)
        && frac.is_none_or(all_digits)
        && if int.is_empty() { frac.is_some_and(|frac| !frac.is_empty()) } else { true };
    let exponent_ok = exponent.is_none_or(|exponent| {
        let digits = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
        !digits.is_empty() && all_digits(digits)
    });
    if !(mantissa_ok && exponent_ok) {
        return None;
    }
    s.parse::<f64>().ok().filter(|value| value.is_finite())
}

/// Go's `base64.StdEncoding.DecodeString`, which `!!binary` uses: padded standard base64, line breaks ignored.
fn decode_base64(text: &str) -> Result<Vec<u8>, String> {
    const INVALID: &str = "!!binary value contains invalid base64 data";
    let symbols: Vec<u8> = text.bytes().filter(|&b| b != b'\r' && b != b'\n').collect();
    if !symbols.len().is_multiple_of(4) {
        return Err(INVALID.to_owned());
    }
    let mut out = Vec::with_capacity(symbols.len() / 4 * 3);
    let quanta = symbols.chunks(4).count();
    for (index, quantum) in symbols.chunks(4).enumerate() {
        let padding = quantum.iter().rev().take_while(|&&b| b == b'=').count();
        if padding > 2 || (padding > 0 && index + 1 != quanta) {
            return Err(INVALID.to_owned());
        }
        let mut bits = 0u32;
        for &symbol in &quantum[..4 - padding] {
            let value = BASE64_TABLE.iter().position(|&c| c == symbol).ok_or_else(|| INVALID.to_owned())?;
            bits = (bits << 6) | u32::try_from(value).unwrap_or(0);
        }
        bits <<= 6 * padding;
        out.extend_from_slice(&bits.to_be_bytes()[1..4 - padding]);
    }
    Ok(out)
}

/// Bytes as Go's `encoding/json` writes a string: each byte that is not part of valid UTF-8 becomes U+FFFD.
fn go_json_string(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    let mut rest = bytes;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(valid) => {
                out.push_str(valid);
                break;
            }
            Err(error) => {
                let (valid, invalid) = rest.split_at(error.valid_up_to());
                out.push_str(std::str::from_utf8(valid).unwrap_or_default());
                out.push(char::REPLACEMENT_CHARACTER);
                rest = &invalid[1..];
            }
        }
    }
    out
}

/// The JSON object key sigs.k8s.io/yaml makes of a mapping key: strings as they are, integers in decimal,
/// booleans as `true`/`false`, floats as Go's `FormatFloat(f, 'g', -1, 32)` (`.inf`, `-.inf`, `.nan` for the
/// special values). Null, uint64 and collection keys are errors.
pub fn json_key(key: &Decoded) -> Result<String, String> {
    match key {
        Decoded::Str(text) => Ok(text.clone()),
        Decoded::Int(int) => Ok(int.to_string()),
        Decoded::Bool(value) => Ok(value.to_string()),
        Decoded::Float(value) => Ok(format_float32_key(*value)),
        Decoded::Null => Err("unsupported map key of type: <nil>".to_owned()),
        Decoded::Uint(value) => Err(format!("unsupported map key of type: uint64, key: {value:#x}")),
        Decoded::Seq(_) | Decoded::Map(_) => Err("invalid map key: a sequence or mapping".to_owned()),
    }
}

/// Go's `FormatFloat(value, 'g', -1, 32)`: the shortest digits of the float32 nearest `value`, in exponent form
/// when the decimal exponent is below -4 or at least 6 (`1e+06`, `1.2345679e+08`, `1e-05`).
#[allow(clippy::cast_possible_truncation)]
fn format_float32_key(value: f64) -> String {
    let single = value as f32;
    if single.is_nan() {
        return ".nan".to_owned();
    }
    if single.is_infinite() {
        return if single > 0.0 { ".inf" } else { "-.inf" }.to_owned();
    }
    // Rust's `{:e}` for f32 prints the shortest round-tripping digits: "-1.2345679e8".
    let scientific = format!("{single:e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let (sign, mantissa) = mantissa.strip_prefix('-').map_or(("", mantissa), |rest| ("-", rest));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let mut out = sign.to_owned();
    if !(-4..6).contains(&exponent) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let _ = write!(out, "e{}{:02}", if exponent < 0 { '-' } else { '+' }, exponent.unsigned_abs());
    } else if exponent < 0 {
        out.push_str("0.");
        out.push_str(&"0".repeat(exponent.unsigned_abs() as usize - 1));
        out.push_str(&digits);
    } else {
        let point = exponent.unsigned_abs() as usize + 1;
        if digits.len() > point {
            out.push_str(&digits[..point]);
            out.push('.');
            out.push_str(&digits[point..]);
        } else {
            out.push_str(&digits);
            out.push_str(&"0".repeat(point - digits.len()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    //! Scalar resolution, tags and key spelling, with the answers go-jsonnet 0.22 (go-yaml v2, sigs.k8s.io/yaml
    //! 1.4) gives.

    use super::*;

    #[test]
    fn resolves_plain_scalars_as_yaml_1_1() {
        let cases: &[(&str, Decoded)] = &[
            ("010", Decoded::Int(8)),
            ("0755", Decoded::Int(493)),
            ("08", Decoded::Float(8.0)),
            ("09.5", Decoded::Float(9.5)),
            ("00", Decoded::Int(0)),
            ("0x1F", Decoded::Int(31)),
            ("0X1f", Decoded::Int(31)),
            ("0o17", Decoded::Int(15)),
            ("0O17", Decoded::Int(15)),
            ("0b101", Decoded::Int(5)),
            ("-0b101", Decoded::Int(-5)),
            ("+0x10", Decoded::Int(16)),
            ("-0x10", Decoded::Int(-16)),
            ("1_000", Decoded::Int(1000)),
            ("0x_1F", Decoded::Int(31)),
            ("1_0.5", Decoded::Float(10.5)),
            ("-0", Decoded::Int(0)),
            ("9223372036854775807", Decoded::Int(i64::MAX)),
            ("-9223372036854775808", Decoded::Int(i64::MIN)),
            ("9223372036854775808", Decoded::Uint(1 << 63)),
            ("0x8000000000000000", Decoded::Uint(1 << 63)),
            ("18446744073709551616", Decoded::Float(18_446_744_073_709_551_616.0)),
            ("1e3", Decoded::Float(1000.0)),
            ("1.0e+3", Decoded::Float(1000.0)),
            ("1.", Decoded::Float(1.0)),
            ("-.5", Decoded::Float(-0.5)),
            ("+.5", Decoded::Float(0.5)),
            (".5e3", Decoded::Float(500.0)),
            (".5_5", Decoded::Float(0.55)),
            (".5e1_0", Decoded::Float(5e9)),
            ("1e-400", Decoded::Float(0.0)),
            (".inf", Decoded::Float(f64::INFINITY)),
            ("+.Inf", Decoded::Float(f64::INFINITY)),
            ("-.INF", Decoded::Float(f64::NEG_INFINITY)),
            ("yes", Decoded::Bool(true)),
            ("Y", Decoded::Bool(true)),
            ("On", Decoded::Bool(true)),
            ("TRUE", Decoded::Bool(true)),
            ("n", Decoded::Bool(false)),
            ("NO", Decoded::Bool(false)),
            ("off", Decoded::Bool(false)),
            ("False", Decoded::Bool(false)),
            ("", Decoded::Null),
            ("~", Decoded::Null),
            ("Null", Decoded::Null),
        ];
        for (text, want) in cases {
            assert_eq!(&resolve_plain(text), want, "{text:?}");
        }
        let strings = [
            "yEs", "tRue", "nULL", "_10", "0x", "0o", "0b2", "08x", "1e400", ".5e400", ".e3", "._5", ".5_", ".5__5",
            ".5_e3", "1e", "-", "+",
        ];
        let more_strings = [
            "-.",
            ".5.5",
            "0x1p3",
            "+inf",
            "Infinity",
            "1,000",
            "1:20",
            "2001-12-14",
            "<<",
            "=",
            "-0x8000000000000001",
        ];
        for text in strings.iter().chain(&more_strings) {
            assert_eq!(resolve_plain(text), Decoded::Str((*text).to_owned()), "{text:?}");
        }
        assert!(matches!(resolve_plain(".NaN"), Decoded::Float(nan) if nan.is_nan()));
        assert!(matches!(resolve_plain("-0.0"), Decoded::Float(zero) if zero == 0.0 && zero.is_sign_negative()));
    }

    #[test]
    fn honours_tags_as_go_yaml_does() {
        let ok: &[(&str, ScalarTag<'_>, Decoded)] = &[
            ("010", ScalarTag::Quoted, Decoded::Str("010".to_owned())),
            ("10", ScalarTag::Yaml(Some("str")), Decoded::Str("10".to_owned())),
            ("10", ScalarTag::Yaml(Some("int")), Decoded::Int(10)),
            ("1", ScalarTag::Yaml(Some("float")), Decoded::Float(1.0)),
            ("yes", ScalarTag::Yaml(Some("bool")), Decoded::Bool(true)),
            ("", ScalarTag::Yaml(Some("null")), Decoded::Null),
            ("2001-12-14", ScalarTag::Yaml(Some("timestamp")), Decoded::Str("2001-12-14".to_owned())),
            ("10", ScalarTag::Yaml(None), Decoded::Str("10".to_owned())),
            ("x", ScalarTag::Yaml(Some("merge")), Decoded::Str("x".to_owned())),
            ("aGVs\nbG8=", ScalarTag::Yaml(Some("binary")), Decoded::Str("hello".to_owned())),
            ("4oI=", ScalarTag::Yaml(Some("binary")), Decoded::Str("\u{fffd}\u{fffd}".to_owned())),
            ("", ScalarTag::Yaml(Some("binary")), Decoded::Str(String::new())),
        ];
        for (text, tag, want) in ok {
            assert_eq!(decode_scalar(text, *tag).as_ref(), Ok(want), "{tag:?} {text:?}");
        }
        let rejected: &[(&str, &str)] = &[
            ("1.5", "int"),
            ("", "int"),
            ("18446744073709551615", "float"),
            ("maybe", "bool"),
            ("x", "null"),
            ("12", "timestamp"),
            ("aGk", "binary"),
            ("aGk= ", "binary"),
            ("aGk=aGk=", "binary"),
            ("a===", "binary"),
        ];
        for (text, tag) in rejected {
            assert!(decode_scalar(text, ScalarTag::Yaml(Some(tag))).is_err(), "!!{tag} {text:?} should be rejected");
        }
    }

    #[test]
    fn spells_keys_as_sigs_yaml() {
        let cases: &[(Decoded, &str)] = &[
            (Decoded::Str("a".to_owned()), "a"),
            (Decoded::Int(-8), "-8"),
            (Decoded::Bool(true), "true"),
            (Decoded::Float(1.5), "1.5"),
            (Decoded::Float(0.1), "0.1"),
            (Decoded::Float(1000.0), "1000"),
            (Decoded::Float(100_000.0), "100000"),
            (Decoded::Float(1e6), "1e+06"),
            (Decoded::Float(1e21), "1e+21"),
            (Decoded::Float(123_456_789.5), "1.2345679e+08"),
            (Decoded::Float(0.0001), "0.0001"),
            (Decoded::Float(0.000_01), "1e-05"),
            (Decoded::Float(-0.0), "-0"),
            (Decoded::Float(1e300), ".inf"),
            (Decoded::Float(f64::NEG_INFINITY), "-.inf"),
            (Decoded::Float(f64::NAN), ".nan"),
        ];
        for (key, want) in cases {
            assert_eq!(json_key(key).as_deref(), Ok(*want), "{key:?}");
        }
        for key in [Decoded::Null, Decoded::Uint(1 << 63), Decoded::Seq(Rc::from(Vec::new()))] {
            assert!(json_key(&key).is_err(), "{key:?} is not a valid key");
        }
    }
}
