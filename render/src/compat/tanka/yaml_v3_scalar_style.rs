//! How yaml.v3 writes a scalar: the style its encoder asks for (a string that would read back as something else
//! is quoted, one with a newline is a `|` block) and the style libyaml's emitter then settles on from what the
//! text contains (leading or trailing spaces, indicators, line breaks, characters it must escape).

use super::yaml_v3_resolve::{Resolved, is_base60_float, is_old_bool, resolve_plain};

/// The scalar styles the emitter writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
}

/// yaml.v3's `stringv`: a string with a newline asks for a literal block; one that would read back as a string
/// (and not as a YAML 1.1 boolean or sexagesimal number) may be plain; anything else is double-quoted.
pub fn string_style(text: &str) -> Style {
    if text.contains('\n') {
        Style::Literal
    } else if resolve_plain(text) == Resolved::Str && !is_base60_float(text) && !is_old_bool(text) {
        Style::Plain
    } else {
        Style::DoubleQuoted
    }
}

/// libyaml's `select_scalar_style` for block context and untagged scalars.
pub fn select_style(analysis: &Analysis, requested: Style, simple_key: bool) -> Style {
    let mut style = requested;
    if simple_key && analysis.multiline {
        style = Style::DoubleQuoted;
    }
    if style == Style::Plain && (!analysis.block_plain_allowed || (analysis.empty && simple_key)) {
        style = Style::SingleQuoted;
    }
    if style == Style::SingleQuoted && !analysis.single_quoted_allowed {
        style = Style::DoubleQuoted;
    }
    if style == Style::Literal && (!analysis.block_allowed || simple_key) {
        style = Style::DoubleQuoted;
    }
    style
}

/// libyaml's `analyze_scalar`: which styles can carry the text unchanged.
#[allow(clippy::struct_excessive_bools, reason = "libyaml's flags, kept as it names them")]
pub struct Analysis {
    empty: bool,
    pub multiline: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

impl Analysis {
    pub fn of(text: &str) -> Self {
        if text.is_empty() {
            return Self {
                empty: true,
                multiline: false,
                block_plain_allowed: true,
                single_quoted_allowed: true,
                block_allowed: false,
            };
        }
        let mut block_indicators = text.starts_with("---") || text.starts_with("...");
        let (mut line_breaks, mut special_characters, mut tab_characters) = (false, false, false);
        let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) =
            (false, false, false, false);
        let (mut break_space, mut space_break, mut previous_space, mut previous_break) = (false, false, false, false);
        let mut preceded_by_whitespace = true;
        let chars: Vec<char> = text.chars().collect();
        for (i, &c) in chars.iter().enumerate() {
            let (first, last) = (i == 0, i + 1 == chars.len());
            let followed_by_whitespace = chars.get(i + 1).is_none_or(|next| matches!(next, ' ' | '\t'));
            // An indicator at the start, `?`/`-` at the start and `:` anywhere before a space, or a comment.
            block_indicators |= match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"' | '%' | '@' | '`' => first,
                '?' | '-' => first && followed_by_whitespace,
                ':' => followed_by_whitespace,
                _ => false,
            } || (c == '#' && preceded_by_whitespace);
            if c == '\t' {
                tab_characters = true;
            } else if !is_printable(c) {
                special_characters = true;
            }
            if c == ' ' {
                leading_space |= first;
                trailing_space |= last;
                break_space |= previous_break;
                (previous_space, previous_break) = (true, false);
            } else if is_break(c) {
                line_breaks = true;
                leading_break |= first;
                trailing_break |= last;
                space_break |= previous_space;
                (previous_space, previous_break) = (false, true);
            } else {
                (previous_space, previous_break) = (false, false);
            }
            preceded_by_whitespace = matches!(c, ' ' | '\t' | '\0') || is_break(c);
        }
        let edge_space = leading_space || leading_break || trailing_space || trailing_break;
        Self {
            empty: false,
            multiline: line_breaks,
            block_plain_allowed: !(edge_space
                || break_space
                || space_break
                || tab_characters
                || special_characters
                || line_breaks
                || block_indicators),
            single_quoted_allowed: !(break_space || space_break || tab_characters || special_characters),
            block_allowed: !(trailing_space || space_break || special_characters),
        }
    }
}

/// libyaml's line breaks: `\r`, `\n`, U+0085, U+2028, U+2029.
pub const fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// libyaml's `is_printable`: `\n`, printable ASCII and the Basic Multilingual Plane above U+009F, without
/// surrogates, the BOM, U+FFFE and U+FFFF (so characters beyond U+FFFF, emoji included, are escaped).
pub fn is_printable(c: char) -> bool {
    matches!(c, '\n' | ' '..='~' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}') && c != '\u{feff}'
}
