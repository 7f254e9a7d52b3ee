//! Where libyaml's scanner (go-yaml v2's port of it, which go-jsonnet's std.parseYaml runs) refuses a tab, which the
//! YAML 1.2 parser JaaS reads the syntax with accepts: a tab where a token may start a simple key (at a line's
//! start, after `-`, after `?`, after the `:` of a complex key) cannot start a token; and a tab may not sit in the
//! indentation of a block scalar or of a plain scalar's continuation line. This follows the scanner far enough to
//! know those places (flow level, block indentation, simple keys, the extent of each scalar); anything it does not
//! follow it leaves to the parser, so it never refuses more than libyaml.

/// Why libyaml refuses the tab `text` has where it refuses one, or `None`.
pub fn misplaced_tab(text: &str) -> Option<String> {
    if !text.contains('\t') {
        return None;
    }
    let mut scanner = Scanner::new(text);
    let (what, line, column) = scanner.run().err().filter(|(what, ..)| *what != GAVE_UP)?;
    Some(format!("{what} at line {} column {}", line + 1, column + 1))
}

/// Why the scan stopped early: libyaml's message and where, or the scan gave up on text it does not follow.
type Stop = (&'static str, usize, usize);

struct Scanner {
    chars: Vec<char>,
    pos: usize,
    line: usize,
    column: usize,
    flow_level: usize,
    simple_key_allowed: bool,
    /// Where a token that may be a simple key started (line, column), until its `:` or the line ends.
    possible_key: Option<(usize, usize)>,
    /// The current block indentation (-1: none) and the enclosing ones.
    indent: isize,
    indents: Vec<isize>,
    /// The line of the last token that started at the document's top level (no block indentation, no flow).
    top_level_line: Option<usize>,
}

/// A stop that is not libyaml refusing a tab: the caller then lets the parser decide.
const GAVE_UP: &str = "";

fn is_break(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

impl Scanner {
    fn new(text: &str) -> Self {
        let chars: Vec<char> = text.strip_prefix('\u{feff}').unwrap_or(text).chars().collect();
        Self {
            chars,
            pos: 0,
            line: 0,
            column: 0,
            flow_level: 0,
            simple_key_allowed: true,
            possible_key: None,
            indent: -1,
            indents: Vec::new(),
            top_level_line: None,
        }
    }

    fn at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).copied()
    }

    /// Whether the character at `offset` is a blank, a break or the end.
    fn blankz(&self, offset: usize) -> bool {
        self.at(offset).is_none_or(|c| is_blank(c) || is_break(c))
    }

    /// Whether a `---` or `...` document marker is here: at a line's start, followed by a blank, a break or the end.
    fn at_document_marker(&self) -> bool {
        let rest = &self.chars[self.pos..];
        self.column == 0 && (rest.starts_with(&['-', '-', '-']) || rest.starts_with(&['.', '.', '.'])) && self.blankz(3)
    }

    /// Whether a flow collection's indicator is here, inside a flow collection.
    fn at_flow_indicator(&self) -> bool {
        self.flow_level > 0 && matches!(self.at(0), Some(',' | '[' | ']' | '{' | '}'))
    }

    fn skip(&mut self) {
        self.pos += 1;
        self.column += 1;
    }

    fn skip_break(&mut self) {
        if self.at(0) == Some('\r') && self.at(1) == Some('\n') {
            self.pos += 1;
        }
        self.pos += 1;
        self.line += 1;
        self.column = 0;
    }

    fn refuse(&self, what: &'static str) -> Stop {
        (what, self.line, self.column)
    }

    /// Scans until the end, or until the token after the document's root node: go-yaml reads one document and
    /// looks one token past its root, so a tab further on is never seen (`- x` then ` a` then a tab line parses).
    fn run(&mut self) -> Result<(), Stop> {
        loop {
            self.skip_to_next_token();
            let Some(c) = self.at(0) else { return Ok(()) };
            if self.possible_key.is_some_and(|(line, _)| line != self.line) {
                self.possible_key = None;
            }
            let mut root_done = false;
            if self.flow_level == 0 {
                let in_block = self.indent >= 0;
                self.unroll(self.column);
                // The root block collection ended here, or a top-level scalar or flow collection did (a token on a
                // later line at the top level).
                root_done = self.indent < 0 && (in_block || self.top_level_line.is_some_and(|line| line < self.line));
                if self.indent < 0 {
                    self.top_level_line = Some(self.line);
                }
            }
            self.token(c)?;
            if root_done {
                return Ok(());
            }
        }
    }

    /// libyaml's `scan_to_next_token`: spaces always; tabs only in flow context or where no simple key may start.
    fn skip_to_next_token(&mut self) {
        loop {
            while let Some(c) = self.at(0) {
                if c == ' ' || (c == '\t' && (self.flow_level > 0 || !self.simple_key_allowed)) {
                    self.skip();
                } else {
                    break;
                }
            }
            if self.at(0) == Some('#') {
                while self.at(0).is_some_and(|c| !is_break(c)) {
                    self.skip();
                }
            }
            if self.at(0).is_some_and(is_break) {
                self.skip_break();
                if self.flow_level == 0 {
                    self.simple_key_allowed = true;
                }
            } else {
                return;
            }
        }
    }

    fn unroll(&mut self, column: usize) {
        while self.indent > isize::try_from(column).unwrap_or(isize::MAX) {
            self.indent = self.indents.pop().unwrap_or(-1);
        }
    }

    fn roll(&mut self, column: usize) {
        let column = isize::try_from(column).unwrap_or(isize::MAX);
        if self.flow_level == 0 && self.indent < column {
            self.indents.push(self.indent);
            self.indent = column;
        }
    }

    /// A token that may be a simple key starts here.
    fn save_key(&mut self) {
        if self.simple_key_allowed {
            self.possible_key = Some((self.line, self.column));
        }
    }

    fn token(&mut self, c: char) -> Result<(), Stop> {
        let document_marker = self.at_document_marker();
        match c {
            '\t' => return Err(self.refuse("found character that cannot start any token")),
            '%' if self.column == 0 => {
                while self.at(0).is_some_and(|c| !is_break(c)) {
                    self.skip();
                }
                self.simple_key_allowed = false;
            }
            // go-yaml reads one document of a piece: what follows its end is left to the parser.
            '.' if document_marker => return Err((GAVE_UP, 0, 0)),
            _ if document_marker => {
                self.unroll(0);
                self.indent = -1;
                self.indents.clear();
                (0..3).for_each(|_| self.skip());
                self.simple_key_allowed = false;
                self.possible_key = None;
            }
            '[' | '{' => {
                self.save_key();
                self.flow_level += 1;
                self.simple_key_allowed = true;
                self.skip();
            }
            ']' | '}' => {
                self.flow_level = self.flow_level.saturating_sub(1);
                self.simple_key_allowed = false;
                self.possible_key = None;
                self.skip();
            }
            ',' => {
                self.simple_key_allowed = true;
                self.possible_key = None;
                self.skip();
            }
            '-' if self.blankz(1) => {
                if self.flow_level > 0 {
                    return Err((GAVE_UP, 0, 0));
                }
                self.roll(self.column);
                self.simple_key_allowed = true;
                self.possible_key = None;
                self.skip();
            }
            '?' if self.flow_level > 0 || self.blankz(1) => {
                self.roll(self.column);
                self.simple_key_allowed = self.flow_level == 0;
                self.possible_key = None;
                self.skip();
            }
            ':' if self.flow_level > 0 || self.blankz(1) => {
                if let Some((_, column)) = self.possible_key.take() {
                    self.roll(column);
                    self.simple_key_allowed = false;
                } else {
                    self.roll(self.column);
                    self.simple_key_allowed = self.flow_level == 0;
                }
                self.skip();
            }
            '*' | '&' | '!' => {
                self.save_key();
                self.skip();
                while !self.blankz(0) && !self.at_flow_indicator() {
                    self.skip();
                }
                self.simple_key_allowed = false;
            }
            '|' | '>' if self.flow_level == 0 => {
                self.block_scalar()?;
                self.simple_key_allowed = true;
                self.possible_key = None;
            }
            '\'' | '"' => {
                self.save_key();
                self.quoted_scalar(c)?;
                self.simple_key_allowed = false;
            }
            _ => {
                self.save_key();
                let leading_blanks = self.plain_scalar()?;
                self.simple_key_allowed = leading_blanks;
            }
        }
        Ok(())
    }

    /// libyaml's `scan_block_scalar`: the header, then lines while they are indented as the first one.
    fn block_scalar(&mut self) -> Result<(), Stop> {
        self.skip();
        let mut increment = 0;
        while let Some(c) = self.at(0) {
            match c {
                '+' | '-' => self.skip(),
                '1'..='9' => {
                    increment = c.to_digit(10).map_or(0, |d| d as usize);
                    self.skip();
                }
                _ => break,
            }
        }
        while self.at(0).is_some_and(is_blank) {
            self.skip();
        }
        if self.at(0) == Some('#') {
            while self.at(0).is_some_and(|c| !is_break(c)) {
                self.skip();
            }
        }
        match self.at(0) {
            None => return Ok(()),
            Some(c) if is_break(c) => self.skip_break(),
            Some(_) => return Err((GAVE_UP, 0, 0)),
        }
        let mut indent = if increment == 0 {
            0
        } else {
            usize::try_from(self.indent).map_or(increment, |parent| parent + increment)
        };
        self.block_scalar_breaks(&mut indent)?;
        while self.column == indent && self.at(0).is_some() {
            while self.at(0).is_some_and(|c| !is_break(c)) {
                self.skip();
            }
            if self.at(0).is_none() {
                return Ok(());
            }
            self.skip_break();
            self.block_scalar_breaks(&mut indent)?;
        }
        Ok(())
    }

    /// libyaml's `scan_block_scalar_breaks`: empty lines and indentation, where a tab is refused; settles the
    /// indentation from the first non-empty line when the header did not give it.
    fn block_scalar_breaks(&mut self, indent: &mut usize) -> Result<(), Stop> {
        let mut max_indent = 0;
        loop {
            while (*indent == 0 || self.column < *indent) && self.at(0) == Some(' ') {
                self.skip();
            }
            max_indent = max_indent.max(self.column);
            if (*indent == 0 || self.column < *indent) && self.at(0) == Some('\t') {
                return Err(self.refuse("found a tab character where an indentation space is expected"));
            }
            if !self.at(0).is_some_and(is_break) {
                break;
            }
            self.skip_break();
        }
        if *indent == 0 {
            let parent = usize::try_from(self.indent + 1).unwrap_or(0);
            *indent = max_indent.max(parent).max(1);
        }
        Ok(())
    }

    /// A single- or double-quoted scalar, across lines.
    fn quoted_scalar(&mut self, quote: char) -> Result<(), Stop> {
        self.skip();
        loop {
            match self.at(0) {
                None => return Err((GAVE_UP, 0, 0)),
                Some('\'') if quote == '\'' && self.at(1) == Some('\'') => {
                    self.skip();
                    self.skip();
                }
                Some('\\') if quote == '"' => {
                    self.skip();
                    match self.at(0) {
                        Some(c) if is_break(c) => self.skip_break(),
                        Some(_) => self.skip(),
                        None => return Err((GAVE_UP, 0, 0)),
                    }
                }
                Some(c) if c == quote => {
                    self.skip();
                    return Ok(());
                }
                Some(c) if is_break(c) => self.skip_break(),
                Some(_) => self.skip(),
            }
        }
    }

    /// libyaml's `scan_plain_scalar`: returns whether it ended after a line break (a simple key may follow).
    fn plain_scalar(&mut self) -> Result<bool, Stop> {
        let indent = usize::try_from(self.indent + 1).unwrap_or(0);
        let mut leading_blanks = false;
        loop {
            if self.at_document_marker() || self.at(0) == Some('#') {
                break;
            }
            while !self.blankz(0) {
                let c = self.at(0).unwrap_or(' ');
                if self.flow_level > 0 && c == ':' && !self.blankz(1) {
                    return Err((GAVE_UP, 0, 0));
                }
                if (c == ':' && self.blankz(1))
                    || (self.flow_level > 0 && matches!(c, ',' | '?' | '[' | ']' | '{' | '}'))
                {
                    break;
                }
                self.skip();
            }
            if !self.at(0).is_some_and(|c| is_blank(c) || is_break(c)) {
                break;
            }
            while let Some(c) = self.at(0).filter(|c| is_blank(*c) || is_break(*c)) {
                if is_blank(c) {
                    if leading_blanks && self.column < indent && c == '\t' {
                        return Err(self.refuse("found a tab character that violates indentation"));
                    }
                    self.skip();
                } else {
                    self.skip_break();
                    leading_blanks = true;
                }
            }
            if self.flow_level == 0 && self.column < indent {
                break;
            }
        }
        Ok(leading_blanks)
    }
}

#[cfg(test)]
mod tests {
    use super::misplaced_tab;

    #[test]
    fn tabs_libyaml_refuses_are_found() {
        for text in [
            "a: 1\n\t\nb: 2",
            "- \t1",
            "-\t1",
            "\ta: 1",
            " \ta: 1",
            "a: |\n \tx",
            "a:\n  b: 1\n\t",
            "? a\n:\t1",
            "a: 1\n\t# c",
            "a: |\n  x\n\ty",
        ] {
            assert!(misplaced_tab(text).is_some(), "{text:?}");
        }
    }

    #[test]
    fn tabs_libyaml_accepts_are_left_alone() {
        for text in [
            "a:\t1",
            "a: \t1",
            "a: 1 \t# c",
            "a: 'x\ty'",
            "a: x\ty",
            "a: [1,\t2]",
            "a: {b:\t1}",
            "a: 1\t",
            "---\t\na: 1",
            "a: 1\n \t\nb: 2",
            "a: \"x\n\ty\"",
            "a: &x\t1",
            "a: !!str\t1",
            "#\tc\na: 1",
            "a: |\n  x\n  \ty\n",
            "no tabs: at all\n",
            // go-yaml stops one token after the root node: the tab after `e:` is never scanned.
            "    - x\t\n a\t\n plain\ttext\t\n \t{e:\tf}",
        ] {
            assert_eq!(misplaced_tab(text), None, "{text:?}");
        }
    }
}
