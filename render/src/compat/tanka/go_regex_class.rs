//! The parts of Go's regular expression syntax that stand for characters, rewritten for the Rust `regex` crate:
//! escapes (`\d`, `\pL`, `\p{^Greek}`, octal `\101`, `\x{263a}`, C escapes, escaped punctuation) and bracketed
//! classes (`[a-z\d[:alpha:]]`, Go's `&&`, `--` and `[` being plain characters there). Go's Perl and POSIX classes
//! are ASCII; every literal character is written as a hex escape unless it is an ASCII letter or digit.

use std::fmt::Write as _;

/// Go's error code text and the part of the pattern it points at.
pub type SyntaxError = (&'static str, String);

/// A bracketed class, from its `[`: a Rust class with every character escaped, and the text after the `]`.
pub fn class(whole_class: &str) -> Result<(String, &str), SyntaxError> {
    let mut rest = &whole_class[1..];
    let mut out = String::from("[");
    if let Some(negated) = rest.strip_prefix('^') {
        out.push('^');
        rest = negated;
    }
    let mut first = true;
    loop {
        if rest.is_empty() {
            return Err(("missing closing ]", whole_class.to_owned()));
        }
        if rest.starts_with(']') && !first {
            out.push(']');
            return Ok((out, &rest[1..]));
        }
        first = false;
        if rest.starts_with("[:")
            && let Some(end) = rest[2..].find(":]")
        {
            let name = &rest[..end + 4];
            let set = posix_class(name).ok_or_else(|| ("invalid character class range", name.to_owned()))?;
            let _ = write!(out, "[{set}]");
            rest = &rest[end + 4..];
            continue;
        }
        let range_text = rest;
        let (item, after) = class_char(rest, whole_class)?;
        rest = after;
        let low = match item {
            ClassItem::Char(low) => low,
            ClassItem::Set(set) => {
                let _ = write!(out, "[{set}]");
                continue;
            }
        };
        let mut high = low;
        if rest.len() >= 2 && rest.starts_with('-') && !rest[1..].starts_with(']') {
            let (item, after) = class_char(&rest[1..], whole_class)?;
            let ClassItem::Char(c) = item else {
                return Err(("invalid character class range", range_text[..range_text.len() - after.len()].to_owned()));
            };
            rest = after;
            if c < low {
                return Err(("invalid character class range", range_text[..range_text.len() - rest.len()].to_owned()));
            }
            high = c;
        }
        push_literal(&mut out, low);
        if high != low {
            out.push('-');
            push_literal(&mut out, high);
        }
    }
}

/// What an escape inside or outside a class stands for.
pub enum ClassItem {
    Char(char),
    /// A set, as the inside of a Rust class.
    Set(String),
}

/// A class member: an escape or one character.
fn class_char<'a>(text: &'a str, whole_class: &str) -> Result<(ClassItem, &'a str), SyntaxError> {
    if text.starts_with('\\') {
        return class_escape(text);
    }
    let c = text.chars().next().ok_or_else(|| ("missing closing ]", whole_class.to_owned()))?;
    Ok((ClassItem::Char(c), &text[c.len_utf8()..]))
}

/// An escape that stands for characters: `\pL`, `\p{Greek}`, `\d`…, octal, `\x41`, `\x{263a}`, C escapes and
/// escaped punctuation (Go's `parseUnicodeClass`, `parsePerlClassEscape` and `parseEscape`).
pub fn class_escape(text: &str) -> Result<(ClassItem, &str), SyntaxError> {
    let mut chars = text[1..].chars();
    let Some(c) = chars.next() else {
        return Err(("trailing backslash at end of expression", String::new()));
    };
    let after = &text[1 + c.len_utf8()..];
    let invalid = |rest: &str| ("invalid escape sequence", text[..text.len() - rest.len()].to_owned());
    let set = |set: &str| Ok((ClassItem::Set(set.to_owned()), after));
    let char_of = |c: char| Ok((ClassItem::Char(c), after));
    match c {
        'p' | 'P' => unicode_class(text, c == 'P'),
        'd' => set(r"0-9"),
        'D' => set(r"^0-9"),
        's' => set(r"\t\n\x0C\r "),
        'S' => set(r"^\t\n\x0C\r "),
        'w' => set(r"0-9A-Za-z_"),
        'W' => set(r"^0-9A-Za-z_"),
        'a' => char_of('\u{7}'),
        'f' => char_of('\u{c}'),
        'n' => char_of('\n'),
        'r' => char_of('\r'),
        't' => char_of('\t'),
        'v' => char_of('\u{b}'),
        '0'..='7' => {
            // A single non-zero digit would be a backreference, which Go does not support.
            let digits = after.bytes().take(2).take_while(|c| (b'0'..=b'7').contains(c)).count();
            if c != '0' && digits == 0 {
                return Err(invalid(after));
            }
            let octal = &text[1..2 + digits];
            let value = u32::from_str_radix(octal, 8).map_err(|_| invalid(after))?;
            Ok((ClassItem::Char(char::from_u32(value).ok_or_else(|| invalid(after))?), &after[digits..]))
        }
        'x' => hex_escape(after).map(|(c, rest)| (ClassItem::Char(c), rest)).ok_or_else(|| invalid(after)),
        c if c.is_ascii() && !c.is_ascii_alphanumeric() => char_of(c),
        _ => Err(invalid(after)),
    }
}

/// `\x41` or `\x{263a}` (at least one hex digit, at most U+10FFFF), from after the `x`.
fn hex_escape(text: &str) -> Option<(char, &str)> {
    if let Some(braced) = text.strip_prefix('{') {
        let end = braced.find('}')?;
        let digits = &braced[..end];
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        let value = u32::from_str_radix(digits, 16).ok()?;
        return Some((char::from_u32(value)?, &braced[end + 1..]));
    }
    let digits = text.get(..2)?;
    let value = u32::from_str_radix(digits, 16).ok().filter(|_| digits.chars().all(|c| c.is_ascii_hexdigit()))?;
    Some((char::from_u32(value)?, &text[2..]))
}

/// `\pL`, `\p{Greek}`, `\p{^Greek}`, `\PL`: Go's categories, scripts and `Any`, as a Rust `\p{…}`/`\P{…}`.
fn unicode_class(text: &str, negated: bool) -> Result<(ClassItem, &str), SyntaxError> {
    let after_p = &text[2..];
    let (sequence_len, name) = match after_p.chars().next() {
        Some('{') => {
            let end = text.find('}').ok_or_else(|| ("invalid character class range", text.to_owned()))?;
            (end + 1, &text[3..end])
        }
        Some(c) => (2 + c.len_utf8(), &after_p[..c.len_utf8()]),
        None => (2, ""),
    };
    let (negated, name) = match name.strip_prefix('^') {
        Some(name) => (!negated, name),
        None => (negated, name),
    };
    if !go_unicode_class_name(name) {
        return Err(("invalid character class range", text[..sequence_len].to_owned()));
    }
    let class = format!("{}{{{name}}}", if negated { r"\P" } else { r"\p" });
    Ok((ClassItem::Set(class), &text[sequence_len..]))
}

/// Names Go's `unicodeTable` knows: `Any`, the general categories, and script names (`Greek`, `Old_Italic`;
/// which scripts exist is left to the Rust crate, which knows them all).
fn go_unicode_class_name(name: &str) -> bool {
    const CATEGORIES: &[&str] = &[
        "C", "Cc", "Cf", "Co", "Cs", "L", "Ll", "Lm", "Lo", "Lt", "Lu", "M", "Mc", "Me", "Mn", "N", "Nd", "Nl", "No",
        "P", "Pc", "Pd", "Pe", "Pf", "Pi", "Po", "Ps", "S", "Sc", "Sk", "Sm", "So", "Z", "Zl", "Zp", "Zs",
    ];
    name == "Any"
        || CATEGORIES.contains(&name)
        || (name.len() > 2
            && name.starts_with(|c: char| c.is_ascii_uppercase())
            && name.chars().all(|c| c.is_ascii_alphabetic() || c == '_'))
}

/// `[:alpha:]`, `[:^alpha:]`…: Go's POSIX classes (all ASCII) as the inside of a Rust class.
fn posix_class(name: &str) -> Option<String> {
    let (negated, base) = match name.strip_prefix("[:^") {
        Some(rest) => (true, rest),
        None => (false, name.strip_prefix("[:")?),
    };
    let ranges = match base.strip_suffix(":]")? {
        "alnum" => r"0-9A-Za-z",
        "alpha" => r"A-Za-z",
        "ascii" => r"\x00-\x7F",
        "blank" => r"\t ",
        "cntrl" => r"\x00-\x1F\x7F",
        "digit" => r"0-9",
        "graph" => r"!-~",
        "lower" => r"a-z",
        "print" => r" -~",
        "punct" => r"!-/:-@\[-`\{-~",
        "space" => r"\t-\r ",
        "upper" => r"A-Z",
        "word" => r"0-9A-Za-z_",
        "xdigit" => r"0-9A-Fa-f",
        _ => return None,
    };
    Some(if negated { format!("^{ranges}") } else { ranges.to_owned() })
}

/// One literal character: ASCII letters and digits and non-ASCII characters as they are, anything else as a
/// hex escape (so `#`, `&`, `-`, `~`, space and `[` mean only themselves in Rust too).
pub fn push_literal(out: &mut String, c: char) {
    if c.is_ascii_alphanumeric() || (!c.is_ascii() && !c.is_whitespace() && !c.is_control()) {
        out.push(c);
    } else {
        let _ = write!(out, r"\x{{{:X}}}", u32::from(c));
    }
}
