//! Go's `unicode.IsLetter` and `unicode.IsDigit`, which yaml.v3's key order and regexp's `$name` expansion
//! use: general category L, and category Nd.

use std::sync::LazyLock;

use regex::Regex;

static LETTER: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"^\p{L}$").ok());
static DIGIT: LazyLock<Option<Regex>> = LazyLock::new(|| Regex::new(r"^\p{Nd}$").ok());

/// Go's `unicode.IsLetter`: the character is in general category L.
pub fn is_letter(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphabetic();
    }
    in_class(&LETTER, c)
}

/// Go's `unicode.IsDigit`: the character is in general category Nd.
pub fn is_digit(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_digit();
    }
    in_class(&DIGIT, c)
}

fn in_class(class: &LazyLock<Option<Regex>>, c: char) -> bool {
    let mut buf = [0; 4];
    class.as_ref().is_some_and(|class| class.is_match(c.encode_utf8(&mut buf)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_as_go() {
        for c in ['a', 'Z', 'é', 'ж', '中', 'ǅ'] {
            assert!(is_letter(c) && !is_digit(c), "{c}");
        }
        for c in ['0', '9', '٣', '९'] {
            assert!(is_digit(c) && !is_letter(c), "{c}");
        }
        // Letter numbers, marks and other numbers are neither (Rust's is_alphabetic says yes to some).
        for c in ['_', '-', ' ', 'Ⅳ', '\u{301}', '²', '½'] {
            assert!(!is_letter(c) && !is_digit(c), "{c}");
        }
    }
}
