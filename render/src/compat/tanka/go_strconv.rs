//! The pieces of Go's `strconv` that yaml.v3 leans on: `ParseInt`/`ParseUint` (with base 0's prefixes), the
//! decimal syntax of `ParseFloat` (underscores between digits), and `FormatFloat(v, 'g', -1, 64)`.

use std::fmt::Write as _;

/// Go's `strconv.ParseInt(s, base, 64)`: an optional sign, then digits in `base`; base 0 reads a `0x`/`0o`/`0b`
/// prefix, and a leading `0` means octal. `None` on a syntax error or overflow. Underscores are not accepted
/// (yaml.v3 removes them before it calls this).
pub fn parse_int(s: &str, base: u32) -> Option<i64> {
    let (negative, digits) = match s.as_bytes().first()? {
        b'+' => (false, &s[1..]),
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    let magnitude = parse_uint(digits, base)?;
    if negative { 0i64.checked_sub_unsigned(magnitude) } else { i64::try_from(magnitude).ok() }
}

/// Go's `strconv.ParseUint(s, base, 64)`: digits only (no sign), base 0 as in [`parse_int`].
pub fn parse_uint(s: &str, base: u32) -> Option<u64> {
    let (base, digits) = if base == 0 { split_base_prefix(s) } else { (base, s) };
    if s.is_empty() {
        return None;
    }
    let mut value: u64 = 0;
    for c in digits.chars() {
        let digit = c.to_digit(36)?;
        if digit >= base {
            return None;
        }
        value = value.checked_mul(u64::from(base))?.checked_add(u64::from(digit))?;
    }
    Some(value)
}

/// Base 0: `0b`, `0o`, `0x` (any case, with at least one more character) or a bare leading `0` (octal).
fn split_base_prefix(s: &str) -> (u32, &str) {
    let bytes = s.as_bytes();
    if bytes.first() != Some(&b'0') {
        return (10, s);
    }
    if bytes.len() >= 3 {
        match bytes[1].to_ascii_lowercase() {
            b'b' => return (2, &s[2..]),
            b'o' => return (8, &s[2..]),
            b'x' => return (16, &s[2..]),
            _ => {}
        }
    }
    (8, &s[1..])
}

/// Go's `strconv.ParseFloat(s, 64)` for decimal text: an optional sign, digits with at most one `.` (at least
/// one digit), an optional exponent, `_` allowed only between digits. `None` on a syntax error and on overflow
/// (Go's range error); underflow is zero, as in Go. Hexadecimal floats and `inf`/`nan`, which no caller can
/// reach, are rejected.
pub fn parse_float_decimal(s: &str) -> Option<f64> {
    if !decimal_float_syntax(s.as_bytes()) || (s.contains('_') && !underscores_ok(s)) {
        return None;
    }
    let value: f64 = s.replace('_', "").parse().ok()?;
    value.is_finite().then_some(value)
}

/// The decimal branch of Go's `readFloat`, consuming all of `s`.
fn decimal_float_syntax(s: &[u8]) -> bool {
    let mut i = usize::from(matches!(s.first(), Some(b'+' | b'-')));
    if s.get(i) == Some(&b'0') && s.get(i + 1).is_some_and(|c| c.eq_ignore_ascii_case(&b'x')) {
        return false;
    }
    let (mut saw_dot, mut saw_digits) = (false, false);
    while let Some(&c) = s.get(i) {
        match c {
            b'_' => {}
            b'.' if !saw_dot => saw_dot = true,
            b'0'..=b'9' => saw_digits = true,
            _ => break,
        }
        i += 1;
    }
    if !saw_digits {
        return false;
    }
    if s.get(i).is_some_and(|c| c.eq_ignore_ascii_case(&b'e')) {
        i += 1;
        if matches!(s.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !s.get(i).is_some_and(u8::is_ascii_digit) {
            return false;
        }
        while s.get(i).is_some_and(|c| c.is_ascii_digit() || *c == b'_') {
            i += 1;
        }
    }
    i == s.len()
}

/// Go's `underscoreOK`: every `_` sits between two digits (a base prefix counts as a digit).
fn underscores_ok(s: &str) -> bool {
    let s = s.strip_prefix(['+', '-']).unwrap_or(s).as_bytes();
    // The last character class seen: '^' start, '0' digit, '_' underscore, '!' anything else.
    let mut saw = b'^';
    let mut i = 0;
    let mut hex = false;
    if s.len() >= 2 && s[0] == b'0' && matches!(s[1].to_ascii_lowercase(), b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = s[1].eq_ignore_ascii_case(&b'x');
    }
    for &c in &s[i..] {
        if c.is_ascii_digit() || (hex && c.is_ascii_hexdigit()) {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else if saw == b'_' {
            return false;
        } else {
            saw = b'!';
        }
    }
    saw != b'_'
}

/// Go's `strconv.FormatFloat(v, 'g', -1, 64)`: the shortest digits that round-trip, in exponent form (`1e+06`,
/// `1.5e-07`, at least two exponent digits) when the decimal exponent is below -4 or at least 6 — so JSON's
/// `1000000` comes out as `1e+06`.
pub fn format_float_g(v: f64) -> String {
    if v.is_nan() {
        return "NaN".to_owned();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    // Rust's `{:e}` writes the shortest round-trip digits as `d.ddde<exp>`.
    let scientific = format!("{:e}", v.abs());
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let mut out = String::new();
    if v.is_sign_negative() {
        out.push('-');
    }
    if v == 0.0 {
        out.push('0');
    } else if !(-4..6).contains(&exponent) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let sign = if exponent < 0 { '-' } else { '+' };
        let _ = write!(out, "e{sign}{:02}", exponent.unsigned_abs());
    } else {
        write_fixed(&digits, exponent, &mut out);
    }
    out
}

/// `digits` (d.ddd) times ten to `exponent` in positional notation, without trailing zeros after the point.
fn write_fixed(digits: &str, exponent: i32, out: &mut String) {
    let point = exponent + 1;
    if point <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', point.unsigned_abs() as usize));
        out.push_str(digits);
        return;
    }
    let point = point.unsigned_abs() as usize;
    if digits.len() <= point {
        out.push_str(digits);
        out.extend(std::iter::repeat_n('0', point - digits.len()));
    } else {
        out.push_str(&digits[..point]);
        out.push('.');
        out.push_str(&digits[point..]);
    }
}

#[cfg(test)]
mod tests {
    //! Expected values are what Go 1.19's strconv returns for the same input.

    use super::*;

    #[test]
    fn parses_integers_as_go() {
        let cases: &[(&str, u32, Option<i64>)] = &[
            ("0x1F", 0, Some(31)),
            ("0X1f", 0, Some(31)),
            ("017", 0, Some(15)),
            ("0o17", 0, Some(15)),
            ("0b101", 0, Some(5)),
            ("+0x10", 0, Some(16)),
            ("-0x10", 0, Some(-16)),
            ("0", 0, Some(0)),
            ("-0", 0, Some(0)),
            ("08", 0, None),
            ("0x", 0, None),
            ("0b", 0, None),
            ("", 0, None),
            ("+", 0, None),
            ("1_000", 0, None),
            ("9223372036854775807", 0, Some(i64::MAX)),
            ("9223372036854775808", 0, None),
            ("-9223372036854775808", 0, Some(i64::MIN)),
            ("-9223372036854775809", 0, None),
            ("101", 2, Some(5)),
            ("12", 2, None),
            ("777", 8, Some(511)),
        ];
        for &(text, base, want) in cases {
            assert_eq!(parse_int(text, base), want, "ParseInt({text:?}, {base})");
        }
        assert_eq!(parse_uint("18446744073709551615", 0), Some(u64::MAX));
        assert_eq!(parse_uint("18446744073709551616", 0), None);
        assert_eq!(parse_uint("+1", 0), None);
    }

    #[test]
    fn parses_decimal_floats_as_go() {
        let cases: &[(&str, Option<f64>)] = &[
            ("1.5", Some(1.5)),
            (".5", Some(0.5)),
            ("1.", Some(1.0)),
            ("+.5e3", Some(500.0)),
            ("1_0.5", Some(10.5)),
            (".5_5", Some(0.55)),
            ("1e1_0", Some(1e10)),
            ("._5", None),
            ("1__0", None),
            ("1_", None),
            (".", None),
            (".e3", None),
            ("1e", None),
            ("1e+", None),
            ("1.2.3", None),
            ("1e400", None),
            ("1e-400", Some(0.0)),
            ("0x1p3", None),
            ("inf", None),
        ];
        for &(text, want) in cases {
            assert_eq!(parse_float_decimal(text), want, "ParseFloat({text:?})");
        }
    }

    #[test]
    fn formats_like_go_g_shortest() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "-0"),
            (47.0, "47"),
            (100.0, "100"),
            (123_456.0, "123456"),
            (1_000_000.0, "1e+06"),
            (1_234_567.0, "1.234567e+06"),
            (0.1, "0.1"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-1.5e-7, "-1.5e-07"),
            (1e21, "1e+21"),
            (f64::MAX, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (123.456, "123.456"),
        ];
        for &(value, want) in cases {
            assert_eq!(format_float_g(value), want, "FormatFloat({value:e}, 'g', -1, 64)");
        }
    }
}
