//! When go-jsonnet's std.manifestYamlDoc(quote_keys=false) may leave a key bare: a port of go-jsonnet's
//! `yamlBareSafe`, including the Go `strconv` number syntax it leans on.

/// Words YAML 1.1 reads as something other than a string, compared case-insensitively (go-jsonnet's list).
const RESERVED: &[&str] =
    &["true", "false", "yes", "no", "on", "off", "y", "n", ".nan", "-.inf", "+.inf", ".inf", "null", "-", "---", "''"];

/// True when go-jsonnet would write `key` unquoted (given `quote_keys=false`).
pub fn bare_safe(key: &str) -> bool {
    !key.is_empty()
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'/' | b'.'))
        && !RESERVED.iter().any(|word| key.eq_ignore_ascii_case(word))
        && !looks_like_timestamp(key)
        && !looks_like_binary(key)
        && !contains_hex(key)
        && !is_go_int(key)
        && !is_go_float(key)
}

/// `^(?:[0-9]*-){2}[0-9]*$`: digits with exactly two dashes.
fn looks_like_timestamp(key: &str) -> bool {
    key.bytes().all(|b| b.is_ascii_digit() || b == b'-') && key.bytes().filter(|&b| b == b'-').count() == 2
}

/// `^[-+]?0b[0-1_]+$`.
fn looks_like_binary(key: &str) -> bool {
    let rest = key.strip_prefix(['-', '+']).unwrap_or(key);
    rest.strip_prefix("0b")
        .is_some_and(|digits| !digits.is_empty() && digits.bytes().all(|b| matches!(b, b'0' | b'1' | b'_')))
}

/// `[-+]?0x[0-9a-fA-F_]+` found anywhere (go-jsonnet does not anchor this one).
fn contains_hex(key: &str) -> bool {
    key.match_indices("0x")
        .any(|(at, _)| key.as_bytes().get(at + 2).is_some_and(|&b| b.is_ascii_hexdigit() || b == b'_'))
}

/// `strconv.Atoi` syntax: an optional sign and decimal digits (an out-of-range value still parses as a float).
fn is_go_int(key: &str) -> bool {
    let digits = key.strip_prefix(['-', '+']).unwrap_or(key);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// `strconv.ParseFloat(key, 64)` returns no error: Go's decimal float syntax (with `_` digit separators), or
/// `inf`/`infinity`/`nan`; a value that overflows is an error in Go, so it does not count.
fn is_go_float(key: &str) -> bool {
    let unsigned = key.strip_prefix(['-', '+']).unwrap_or(key);
    if unsigned.eq_ignore_ascii_case("inf") || unsigned.eq_ignore_ascii_case("infinity") {
        return true;
    }
    if key.eq_ignore_ascii_case("nan") {
        return true;
    }
    if !go_decimal_syntax(unsigned) {
        return false;
    }
    let cleaned: String = key.chars().filter(|&c| c != '_').collect();
    cleaned.parse::<f64>().is_ok_and(f64::is_finite)
}

/// Go's `readFloat` for base 10: digits with at most one `.`, at least one digit, an optional exponent
/// `[eE][+-]?digits`; underscores only between digits (`underscoreOK`).
fn go_decimal_syntax(s: &str) -> bool {
    let bytes = s.as_bytes();
    let mut i = 0;
    let (mut saw_dot, mut saw_digits) = (false, false);
    while i < bytes.len() {
        match bytes[i] {
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
    if i < bytes.len() && bytes[i].eq_ignore_ascii_case(&b'e') {
        i += 1;
        if i < bytes.len() && matches!(bytes[i], b'+' | b'-') {
            i += 1;
        }
        if i >= bytes.len() || !bytes[i].is_ascii_digit() {
            return false;
        }
        while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'_') {
            i += 1;
        }
    }
    i == bytes.len() && underscores_between_digits(s)
}

/// Go's `underscoreOK` for a decimal literal: every `_` sits between two digits.
fn underscores_between_digits(s: &str) -> bool {
    let mut previous = b'^';
    for &b in s.as_bytes() {
        previous = match b {
            b'0'..=b'9' => b'0',
            b'_' if previous == b'0' => b'_',
            b'_' => return false,
            _ if previous == b'_' => return false,
            _ => b'!',
        };
    }
    previous != b'_'
}

#[cfg(test)]
mod tests {
    use super::bare_safe;

    #[test]
    fn follows_go_jsonnet_yaml_bare_safe() {
        let bare = [
            "name",
            "app.kubernetes.io/name",
            "x-y_z",
            "_",
            "1-2",
            "a0x",
            "infin",
            "1e400",
            "1.2.3",
            "e5",
            "v1",
            "1_",
            "1__0",
            "_1",
            "1_.5",
            "-nan",
            "0x",
            "0b",
        ];
        let quoted = [
            "",
            "a b",
            "a:b",
            "é",
            "yes",
            "No",
            "NULL",
            "-",
            "---",
            "2001-12-14",
            "1-2-3",
            "0b101",
            "a0x1",
            "123",
            "-5",
            "1.5",
            "1e5",
            ".5",
            "1_000",
            "inf",
            "-Infinity",
            "nan",
            "1E-3",
            "1e1_0",
            "NaN",
            "1.",
            "+1",
        ];
        for key in bare {
            assert!(bare_safe(key), "{key:?} should stay bare");
        }
        for key in quoted {
            assert!(!bare_safe(key), "{key:?} should be quoted");
        }
    }
}
