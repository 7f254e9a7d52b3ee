//! Go's `regexp` as Tanka's regexMatch, regexSubst and escapeStringRegex use it: `MatchString`,
//! `ReplaceAllString` (its walk over the matches and its `$1`/`${name}` expansion) and `QuoteMeta`, over the Rust
//! `regex` crate with the pattern translated by [`super::go_regex_syntax`].

use std::{cell::RefCell, collections::HashMap, rc::Rc};

use regex::{CaptureLocations, Regex, RegexBuilder};

use super::go_regex_syntax::translate;
use super::go_unicode::{is_digit, is_letter};

/// Compiled patterns kept per thread; a long-running worker drops them all when there are this many.
const CACHED_PATTERNS: usize = 256;

thread_local! {
    static COMPILED: RefCell<HashMap<String, Rc<GoRegex>>> = RefCell::new(HashMap::new());
}

/// A compiled Go regular expression.
pub struct GoRegex {
    regex: Regex,
    /// Go's `SubexpNames`.
    group_names: Vec<Option<String>>,
}

/// Go's `regexp.Compile(pattern)`, cached per thread: Jsonnet calls regexSubst with the same pattern again and
/// again (once per label, say).
pub fn compile(pattern: &str) -> Result<Rc<GoRegex>, String> {
    if let Some(compiled) = COMPILED.with_borrow(|compiled| compiled.get(pattern).cloned()) {
        return Ok(compiled);
    }
    let translated = translate(pattern)?;
    // Go allows nesting up to 1000; the translation adds a level here and there.
    let regex = RegexBuilder::new(&translated.pattern)
        .nest_limit(2_500)
        .build()
        .map_err(|error| format!("error parsing regexp: {error}"))?;
    let compiled = Rc::new(GoRegex { regex, group_names: translated.group_names });
    COMPILED.with_borrow_mut(|cache| {
        if cache.len() >= CACHED_PATTERNS {
            cache.clear();
        }
        cache.insert(pattern.to_owned(), Rc::clone(&compiled));
    });
    Ok(compiled)
}

impl GoRegex {
    /// Go's `MatchString`: whether the pattern matches anywhere in `text`.
    pub fn is_match(&self, text: &str) -> bool {
        self.regex.is_match(text)
    }

    /// Go's `ReplaceAllString(src, template)`: every match replaced by `template` with `$` expansions. As in Go,
    /// an empty match right after a match is not replaced (`a*` on `baaac` gives `XbXcX`).
    pub fn replace_all(&self, src: &str, template: &str) -> String {
        let mut out = String::with_capacity(src.len());
        let mut locations = self.regex.capture_locations();
        let mut last_match_end = 0;
        let mut search_at = 0;
        while search_at <= src.len() {
            let Some(found) = self.regex.captures_read_at(&mut locations, src, search_at) else {
                break;
            };
            let (start, end) = (found.start(), found.end());
            out.push_str(&src[last_match_end..start]);
            if end > last_match_end || start == 0 {
                self.expand(&mut out, template, src, &locations);
            }
            last_match_end = end;
            // Advance past this match, always by at least one character.
            let width = src[search_at..].chars().next().map_or(0, char::len_utf8);
            search_at = if search_at + width > end {
                search_at + width
            } else if search_at + 1 > end {
                search_at + 1
            } else {
                end
            };
        }
        out.push_str(&src[last_match_end..]);
        out
    }

    /// Go's `Regexp.expand`: `$$` is `$`; `$name`, `${name}` a group by number or name (the longest run of
    /// letters, digits and `_`, so `$1a` names a group `1a`); a group that did not match, or does not exist, is
    /// empty; a `$` not followed by a name is kept.
    fn expand(&self, out: &mut String, template: &str, src: &str, locations: &CaptureLocations) {
        let mut rest = template;
        while let Some(dollar) = rest.find('$') {
            out.push_str(&rest[..dollar]);
            rest = &rest[dollar + 1..];
            if let Some(after) = rest.strip_prefix('$') {
                out.push('$');
                rest = after;
                continue;
            }
            let Some((name, number, after)) = extract_group_reference(rest) else {
                out.push('$');
                continue;
            };
            rest = after;
            let group = match number {
                Some(number) => locations.get(number),
                None => self
                    .group_names
                    .iter()
                    .enumerate()
                    .filter(|(_, group_name)| group_name.as_deref() == Some(name))
                    .find_map(|(index, _)| locations.get(index)),
            };
            if let Some((start, end)) = group {
                out.push_str(&src[start..end]);
            }
        }
        out.push_str(rest);
    }
}

/// Go's `extract`: the group reference at the start of `text` (after a `$`): its name, the group number when
/// the name is a decimal number without a leading zero (below 10^8), and the text after it.
fn extract_group_reference(text: &str) -> Option<(&str, Option<usize>, &str)> {
    let (braced, body) = match text.strip_prefix('{') {
        Some(body) => (true, body),
        None => (false, text),
    };
    let length: usize =
        body.chars().take_while(|c| *c == '_' || is_letter(*c) || is_digit(*c)).map(char::len_utf8).sum();
    if length == 0 {
        return None;
    }
    let name = &body[..length];
    let after = if braced { body[length..].strip_prefix('}')? } else { &body[length..] };
    let mut number: Option<usize> = Some(0);
    for byte in name.bytes() {
        number = number
            .filter(|number| byte.is_ascii_digit() && *number < 100_000_000)
            .map(|number| number * 10 + usize::from(byte - b'0'));
    }
    if name.len() > 1 && name.starts_with('0') {
        number = None;
    }
    Some((name, number, after))
}

/// Go's `regexp.QuoteMeta`: a backslash before each of `\.+*?()|[]{}^$`.
pub fn quote_meta(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for c in text.chars() {
        if r"\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    //! Expected results are Tanka's (its funcs_test.go and documentation) and, beyond those, what Go 1.19's
    //! `regexp.MatchString`, `Regexp.ReplaceAllString` and `regexp.QuoteMeta` return for the same arguments,
    //! error texts included.

    use super::*;

    #[test]
    fn matches_as_go() {
        let cases: &[(&str, &str, Result<bool, &str>)] = &[
            // Tanka's funcs_test.go and documentation.
            ("", "a", Ok(true)),
            ("a", "b", Ok(false)),
            ("[0-", "b", Err("error parsing regexp: missing closing ]: `[0-`")),
            (".", "a", Ok(true)),
            // Go's Perl classes and \b are ASCII.
            (r"\d", "\u{663}", Ok(false)),
            (r"\w", "é", Ok(false)),
            (r"\s", "\u{a0}", Ok(false)),
            (r"\s", "\u{b}", Ok(false)),
            (r"\bé", "aé", Ok(true)),
            (r"[[:word:]]", "é", Ok(false)),
            (r"\pN", "\u{663}", Ok(true)),
            // Case folding is Unicode's, as in Rust.
            (r"(?i)\w", "\u{212a}", Ok(true)),
            ("(?i)ǅ", "ǆ", Ok(true)),
            ("^a$", "a\n", Ok(false)),
            ("[^a]", "\n", Ok(true)),
            (".", "\n", Ok(false)),
            ("(?s).", "\n", Ok(true)),
            (r"[\d-z]", "-", Ok(true)),
            // Not repeats in Go: plain text.
            ("a{,3}", "a{,3}", Ok(true)),
            ("a{01}", "a{01}", Ok(true)),
        ];
        for &(pattern, text, want) in cases {
            let got = compile(pattern).map(|regex| regex.is_match(text));
            assert_eq!(
                got.as_ref().map(|matched| *matched).map_err(String::as_str),
                want,
                "MatchString({pattern:?}, {text:?})"
            );
        }
    }

    #[test]
    fn replaces_as_go() {
        let cases: &[(&str, &str, &str, Result<&str, &str>)] = &[
            // Tanka's funcs_test.go and documentation.
            ("p[^m]*", "pm", "poe", Ok("poem")),
            ("a", "b", "c", Ok("b")),
            ("p[^m*", "pm", "poe", Err("error parsing regexp: missing closing ]: `[^m*`")),
            // Empty matches: never right after a match.
            ("a*", "baaac", "X", Ok("XbXcX")),
            ("", "abc", "-", Ok("-a-b-c-")),
            ("b*", "abc", "-", Ok("-a-c-")),
            ("a*?", "aaa", "_", Ok("_a_a_a_")),
            (r"\b", "ab cd", "|", Ok("|ab| |cd|")),
            ("^", "a\nb", ">", Ok(">a\nb")),
            ("(?m)^", "a\nb", ">", Ok(">a\n>b")),
            ("$", "a\nb", "<", Ok("a\nb<")),
            // Template expansion.
            ("(a)(b)?", "abab a", "<$1|$2>", Ok("<a|b><a|b> <a|>")),
            (r"(\w+)@(\w+)", "me@host", "$2 at $1", Ok("host at me")),
            (r"(\w+)", "ab cd", "$1a", Ok(" ")),
            (r"(\w+)", "ab cd", "${1}a", Ok("aba cda")),
            (r"(?P<n>\w+)", "ab cd", "[$n]", Ok("[ab] [cd]")),
            (r"(?P<n>\w+)", "ab cd", "[${n}]", Ok("[ab] [cd]")),
            ("(?P<1a>a)", "a", "$1a", Ok("a")),
            ("(?P<x>a)|(?P<x>b)", "ab", "<$x>", Ok("<a><b>")),
            ("(a)", "a", "$$1", Ok("$1")),
            ("(a)", "a", "$01", Ok("")),
            ("(a)", "a", "$9", Ok("")),
            ("(a)", "a", "${0}", Ok("a")),
            ("(a)", "a", "$é", Ok("")),
            ("(a)", "a", "${1", Ok("${1")),
            ("(a)", "a", "$", Ok("$")),
            ("(a)", "a", "$-", Ok("$-")),
            ("(é)", "héé", "[$1]", Ok("h[é][é]")),
            // Leftmost-first, ASCII classes, Go-only syntax.
            ("(a|ab)(c|bcd)(d*)", "abcd", "[$1,$2,$3]", Ok("[a,bcd,]")),
            (r"\d+", "a1b22c\u{663}", "#", Ok("a#b#c\u{663}")),
            (r"\w+", "héllo wörld", "#", Ok("#é# #ö#")),
            ("(?i)K", "xKk\u{212a}x", "_", Ok("x___x")),
            (r"\Q.*\E", "a.*b", "!", Ok("a!b")),
            ("[a&&b]", "a&b", "_", Ok("___")),
            (r"\<", "a<b", "_", Ok("a_b")),
            (r"\x41\101", "AA", "_", Ok("_")),
            (r"\p{^Greek}+", "ab12αβ", "_", Ok("_αβ")),
            ("a(?i)*b", "aaaB", "_", Ok("_")),
            ("^*a", "aa", "_", Ok("__")),
            ("(?U)a+", "aaa", "_", Ok("___")),
            // What Go rejects.
            ("a**", "a", "b", Err("error parsing regexp: invalid nested repetition operator: `**`")),
            ("x{2}{3}", "a", "b", Err("error parsing regexp: invalid nested repetition operator: `{2}{3}`")),
            (r"\1", "a", "b", Err(r"error parsing regexp: invalid escape sequence: `\1`")),
            (r"\8", "a", "b", Err(r"error parsing regexp: invalid escape sequence: `\8`")),
            (r"\u0041", "A", "b", Err(r"error parsing regexp: invalid escape sequence: `\u`")),
            (r"\C", "a", "b", Err(r"error parsing regexp: invalid escape sequence: `\C`")),
            ("a{1001}", "a", "b", Err("error parsing regexp: invalid repeat count: `{1001}`")),
            ("(a{100}){11}", "a", "b", Err("error parsing regexp: invalid repeat count: `{11}`")),
            ("(?=a)", "a", "b", Err("error parsing regexp: invalid or unsupported Perl syntax: `(?=`")),
            ("(?i-)a", "a", "b", Err("error parsing regexp: invalid or unsupported Perl syntax: `(?i-)`")),
            (r"\pX", "a", "b", Err(r"error parsing regexp: invalid character class range: `\pX`")),
            ("[z-a]", "a", "b", Err("error parsing regexp: invalid character class range: `z-a`")),
            ("[[:foo:]]", "a", "b", Err("error parsing regexp: invalid character class range: `[:foo:]`")),
            ("a)", "a", "b", Err("error parsing regexp: unexpected ): `a)`")),
            ("(a", "a", "b", Err("error parsing regexp: missing closing ): `(a`")),
            ("\\", "a", "b", Err("error parsing regexp: trailing backslash at end of expression: ``")),
        ];
        for &(pattern, src, template, want) in cases {
            let got = compile(pattern).map(|regex| regex.replace_all(src, template));
            assert_eq!(
                got.as_deref().map_err(String::as_str),
                want,
                "ReplaceAllString({pattern:?}, {src:?}, {template:?})"
            );
        }
    }

    #[test]
    fn quotes_metacharacters_as_go() {
        // Tanka's funcs_test.go and documentation.
        assert_eq!(quote_meta(""), "");
        assert_eq!(quote_meta(r"([0-9]+).*\s"), r"\(\[0-9\]\+\)\.\*\\s");
        assert_eq!(quote_meta("([0-9]+"), r"\(\[0-9\]\+");
        assert_eq!(quote_meta("\"([0-9]+\""), "\"\\(\\[0-9\\]\\+\"");
        // Go escapes exactly these.
        assert_eq!(quote_meta(r"a.b+c*d?e(f)g|h[i]j{k}l^m$n\o"), r"a\.b\+c\*d\?e\(f\)g\|h\[i\]j\{k\}l\^m\$n\\o");
        assert_eq!(quote_meta("é#&-~ "), "é#&-~ ");
    }
}
