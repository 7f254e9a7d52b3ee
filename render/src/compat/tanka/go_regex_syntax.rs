//! Go's regular expression syntax (RE2 as `regexp.Compile` parses it) rewritten into the Rust `regex` crate's,
//! so that a pattern means in JaaS what it means in Tanka. Both are RE2: the same operators, flags and
//! leftmost-first matching. What differs is spelled out here: Go's `\d`, `\w`, `\s`, `\b` are ASCII (Rust's
//! Unicode), Go has `\Q…\E`, octal escapes and `\p{^Greek}`, treats `[a&&b]`, `[[a]` and `\<` as plain
//! characters, allows duplicate group names and repetition of `^`, and rejects `\u1234`, `a**` and repeat
//! counts above 1000 (or 1000 in total when nested). Every literal character is written as a hex escape, so
//! no Rust-only syntax can sneak in; group names are kept here, and the Rust pattern's groups are unnamed. This
//! file handles the structure (groups, flags, repetition); escapes and bracketed classes are `go_regex_class`'s.

use std::fmt::Write as _;

use super::go_regex_class::{ClassItem, SyntaxError, class, class_escape, push_literal};

/// Go's limits on `{n,m}` and on nesting.
const MAX_REPEAT: u32 = 1000;
const MAX_NESTING: usize = 1000;

/// A Go pattern in Rust syntax.
#[derive(Debug, PartialEq, Eq)]
pub struct Translated {
    pub pattern: String,
    /// Go's `SubexpNames`: index 0 is the whole match, then each capturing group in order (duplicates allowed).
    pub group_names: Vec<Option<String>>,
}

/// Rewrites `go` into an equivalent Rust pattern, or fails with Go's error text
/// (``error parsing regexp: missing closing ]: `[0-` ``).
pub fn translate(go: &str) -> Result<Translated, String> {
    let mut translator =
        Translator { whole: go, rest: go, out: String::new(), group_names: vec![None], levels: vec![Level::default()] };
    translator.run().map_err(|(code, expr)| format!("error parsing regexp: {code}: `{expr}`"))?;
    Ok(Translated { pattern: translator.out, group_names: translator.group_names })
}

/// The last atom written at a nesting level: what a repetition operator that follows applies to.
#[derive(Clone, Copy)]
struct Atom {
    /// Where it starts and ends in the output (flag groups such as `(?i)` may follow it).
    start: usize,
    end: usize,
    /// The largest product of `{n,m}` counts along any path inside it: Go rejects a nested repetition whose
    /// counts multiply beyond 1000.
    weight: u32,
    /// It is itself a repetition.
    repeated: bool,
}

/// One nesting level: the whole pattern, or an open group.
#[derive(Default)]
struct Level {
    /// Where the group starts in the output.
    start: usize,
    atom: Option<Atom>,
    /// Where in the pattern the last token starts when it was a repetition (Go rejects `a**`).
    after_repetition: Option<usize>,
    /// The largest count product of the atoms finished at this level.
    weight: u32,
}

struct Translator<'a> {
    whole: &'a str,
    rest: &'a str,
    out: String,
    group_names: Vec<Option<String>>,
    /// One entry per open group, the whole pattern first.
    levels: Vec<Level>,
}

impl<'a> Translator<'a> {
    fn run(&mut self) -> Result<(), SyntaxError> {
        while let Some(c) = self.rest.chars().next() {
            let repeated = matches!(c, '*' | '+' | '?' | '{') && self.repetition()?;
            if !repeated {
                self.token(c)?;
                self.level().after_repetition = None;
            }
        }
        if self.levels.len() > 1 {
            return Err(("missing closing )", self.whole.to_owned()));
        }
        Ok(())
    }

    fn level(&mut self) -> &mut Level {
        let last = self.levels.len() - 1;
        &mut self.levels[last]
    }

    /// Everything but a repetition operator.
    fn token(&mut self, c: char) -> Result<(), SyntaxError> {
        match c {
            '(' => return self.open_group(),
            ')' => return self.close_group(),
            '|' => {
                self.rest = &self.rest[1..];
                self.finish_atom();
                self.out.push('|');
            }
            '^' | '$' | '.' => {
                self.rest = &self.rest[1..];
                self.atom(|out| out.push(c));
            }
            '[' => {
                let (class, rest) = class(self.rest)?;
                self.rest = rest;
                self.atom(|out| out.push_str(&class));
            }
            '\\' => return self.escape(),
            _ => {
                self.rest = &self.rest[c.len_utf8()..];
                self.atom(|out| push_literal(out, c));
            }
        }
        Ok(())
    }

    /// Writes one atom, remembering where it is for a repetition that may follow.
    fn atom(&mut self, write: impl FnOnce(&mut String)) {
        self.finish_atom();
        let start = self.out.len();
        write(&mut self.out);
        let end = self.out.len();
        self.level().atom = Some(Atom { start, end, weight: 1, repeated: false });
    }

    fn finish_atom(&mut self) {
        let level = self.level();
        if let Some(atom) = level.atom.take() {
            level.weight = level.weight.max(atom.weight);
        }
    }

    /// `*`, `+`, `?` or a valid `{n}`, `{n,}`, `{n,m}`, with an optional lazy `?`. `Ok(false)` when `{` does not
    /// start a repeat (Go then reads it as a plain `{`).
    fn repetition(&mut self) -> Result<bool, SyntaxError> {
        let before = self.rest;
        let (operator, counts, after) = if before.starts_with('{') {
            let Some((min, max, after)) = parse_counts(before) else {
                return Ok(false);
            };
            let operator = match max {
                Some(max) if max == min => format!("{{{min}}}"),
                Some(max) => format!("{{{min},{max}}}"),
                None => format!("{{{min},}}"),
            };
            (operator, Some((min, max)), after)
        } else {
            (before[..1].to_owned(), None, &before[1..])
        };
        let (lazy, after) = after.strip_prefix('?').map_or((false, after), |after| (true, after));
        let expr = before[..before.len() - after.len()].to_owned();
        if let Some((min, max)) = counts
            && (min > MAX_REPEAT || max.is_some_and(|max| max > MAX_REPEAT || min > max))
        {
            return Err(("invalid repeat count", expr));
        }
        if let Some(previous) = self.level().after_repetition {
            let end = self.whole.len() - after.len();
            return Err(("invalid nested repetition operator", self.whole[previous..end].to_owned()));
        }
        let Some(atom) = self.level().atom else {
            return Err(("missing argument to repetition operator", expr));
        };
        let weight = match counts {
            Some((min, max)) => {
                let count = max.unwrap_or(min);
                if count >= 2 && u64::from(count) * u64::from(atom.weight) > u64::from(MAX_REPEAT) {
                    return Err(("invalid repeat count", expr));
                }
                if count == 0 { 1 } else { count * atom.weight }
            }
            None => atom.weight,
        };
        let mut written = operator;
        if lazy {
            written.push('?');
        }
        let mut end = atom.end;
        // Rust rejects a repetition of a repetition; Go allows one once a flag group came between (`a*(?i)*`).
        if atom.repeated {
            self.out.insert(end, ')');
            self.out.insert_str(atom.start, "(?:");
            end += 4;
        }
        // After the atom, before any flag group that followed it.
        self.out.insert_str(end, &written);
        self.rest = after;
        let repetition_at = self.whole.len() - before.len();
        let level = self.level();
        level.atom = Some(Atom { start: atom.start, end: end + written.len(), weight, repeated: true });
        level.after_repetition = Some(repetition_at);
        Ok(true)
    }

    fn open_group(&mut self) -> Result<(), SyntaxError> {
        let group = self.rest;
        if self.levels.len() > MAX_NESTING {
            return Err(("expression nests too deeply", self.whole.to_owned()));
        }
        let named = ["(?P<", "(?<"].into_iter().find(|prefix| group.starts_with(prefix) && group.len() > prefix.len());
        if let Some(prefix) = named {
            let Some(end) = group.find('>') else {
                return Err(("invalid named capture", group.to_owned()));
            };
            let name = &group[prefix.len()..end];
            if name.is_empty() || !name.chars().all(|c| c == '_' || c.is_ascii_alphanumeric()) {
                return Err(("invalid named capture", group[..=end].to_owned()));
            }
            self.rest = &group[end + 1..];
            self.group_names.push(Some(name.to_owned()));
            self.push_level("(");
            return Ok(());
        }
        if let Some(flags) = group.strip_prefix("(?") {
            return self.flags(group, flags);
        }
        self.rest = &group[1..];
        self.group_names.push(None);
        self.push_level("(");
        Ok(())
    }

    fn push_level(&mut self, opening: &str) {
        self.finish_atom();
        let start = self.out.len();
        self.out.push_str(opening);
        self.levels.push(Level { start, ..Level::default() });
    }

    /// `(?flags)` or `(?flags:`: Go's flags are `i`, `m`, `s` and `U`, optionally after one `-`; `(?)` is an
    /// empty flag group, and `(?:` a plain non-capturing group.
    fn flags(&mut self, group: &'a str, flags: &'a str) -> Result<(), SyntaxError> {
        let (mut on, mut off, mut negated, mut saw_flag) = (String::new(), String::new(), false, false);
        for (at, c) in flags.char_indices() {
            match c {
                'i' | 'm' | 's' | 'U' => {
                    let (set, other) = if negated { (&mut off, &mut on) } else { (&mut on, &mut off) };
                    if !set.contains(c) {
                        set.push(c);
                    }
                    other.retain(|flag| flag != c);
                    saw_flag = true;
                }
                '-' if !negated => (negated, saw_flag) = (true, false),
                ':' | ')' if !negated || saw_flag => {
                    self.rest = &flags[at + 1..];
                    let mut written = format!("(?{on}");
                    if !off.is_empty() {
                        written.push('-');
                        written.push_str(&off);
                    }
                    if c == ':' {
                        written.push(':');
                        self.push_level(&written);
                    } else if written != "(?" {
                        // Flags only: no atom, so a repetition after it applies to the atom before.
                        written.push(')');
                        self.out.push_str(&written);
                    }
                    return Ok(());
                }
                _ => return Err(("invalid or unsupported Perl syntax", group[..2 + at + c.len_utf8()].to_owned())),
            }
        }
        Err(("invalid or unsupported Perl syntax", group.to_owned()))
    }

    fn close_group(&mut self) -> Result<(), SyntaxError> {
        if self.levels.len() < 2 {
            return Err(("unexpected )", self.whole.to_owned()));
        }
        self.rest = &self.rest[1..];
        self.finish_atom();
        let closed = self.levels.pop().unwrap_or_default();
        self.out.push(')');
        let end = self.out.len();
        self.level().atom = Some(Atom { start: closed.start, end, weight: closed.weight.max(1), repeated: false });
        Ok(())
    }

    fn escape(&mut self) -> Result<(), SyntaxError> {
        let escape = self.rest;
        let Some(c) = escape[1..].chars().next() else {
            return Err(("trailing backslash at end of expression", String::new()));
        };
        let simple = match c {
            'A' => Some(r"\A"),
            'z' => Some(r"\z"),
            'b' => Some(r"(?-u:\b)"),
            'B' => Some(r"(?-u:\B)"),
            'C' => return Err(("invalid escape sequence", r"\C".to_owned())),
            _ => None,
        };
        if let Some(simple) = simple {
            self.rest = &escape[2..];
            self.atom(|out| out.push_str(simple));
            return Ok(());
        }
        if c == 'Q' {
            let (literal, rest) = escape[2..].split_once(r"\E").unwrap_or((&escape[2..], ""));
            self.rest = rest;
            for c in literal.chars() {
                self.atom(|out| push_literal(out, c));
            }
            return Ok(());
        }
        let (item, rest) = class_escape(escape)?;
        self.rest = rest;
        self.atom(|out| match item {
            ClassItem::Char(c) => push_literal(out, c),
            ClassItem::Set(set) => {
                let _ = write!(out, "[{set}]");
            }
        });
        Ok(())
    }
}

/// Go's `parseRepeat`: `{n}`, `{n,}` or `{n,m}` with decimal numbers without leading zeros, and what follows.
/// Numbers of nine or more digits count as too large (`u32::MAX`).
fn parse_counts(text: &str) -> Option<(u32, Option<u32>, &str)> {
    let (min, rest) = parse_count(text.strip_prefix('{')?)?;
    let (max, rest) = match rest.strip_prefix(',') {
        Some(rest) if rest.starts_with('}') => (None, rest),
        Some(rest) => {
            let (max, rest) = parse_count(rest)?;
            (Some(max), rest)
        }
        None => (Some(min), rest),
    };
    Some((min, max, rest.strip_prefix('}')?))
}

fn parse_count(text: &str) -> Option<(u32, &str)> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || (digits > 1 && text.starts_with('0')) {
        return None;
    }
    let value = if digits > 8 { u32::MAX } else { text[..digits].parse().ok()? };
    Some((value, &text[digits..]))
}

#[cfg(test)]
mod tests {
    //! The rewriting itself; what the patterns then match is checked against Go in `go_regex`.

    use super::*;

    #[test]
    fn writes_go_meanings_in_rust_syntax() {
        let cases: &[(&str, &str)] = &[
            (r"\d\D\w", r"[0-9][^0-9][0-9A-Za-z_]"),
            (r"\s\b\B", r"[\t\n\x0C\r ](?-u:\b)(?-u:\B)"),
            ("[a&&b-]", r"[a\x{26}\x{26}b\x{2D}]"),
            (r"[^\d[:alpha:]\pL]", r"[^[0-9][A-Za-z][\p{L}]]"),
            (r"\Q.*\E", r"\x{2E}\x{2A}"),
            (r"\101\x{263a}\<", r"A☺\x{3C}"),
            ("a(?i)*b", "a*(?i)b"),
            ("(?i-i:a)(?)", "(?-i:a)"),
            ("(?P<name>a)(?<other>b)(c)", "(a)(b)(c)"),
            ("a{2}{", r"a{2}\x{7B}"),
            (r"\p{^Greek}", r"[\P{Greek}]"),
        ];
        for &(go, rust) in cases {
            assert_eq!(translate(go).map(|translated| translated.pattern), Ok(rust.to_owned()), "{go:?}");
        }
        let names = translate("(?P<name>a)(?<other>b)(c)(?P<name>d)").map(|translated| translated.group_names);
        let name = |name: &str| Some(name.to_owned());
        assert_eq!(names, Ok(vec![None, name("name"), name("other"), None, name("name")]));
    }
}
