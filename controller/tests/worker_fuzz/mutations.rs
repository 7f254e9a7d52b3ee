//! Programs made by breaking real ones: the differential corpus (`tests/differential/corpus/`) and the hostile
//! programs (`tests/hostile/`), truncated, with a character replaced, a fragment duplicated or deleted, a Jsonnet
//! token inserted, or two programs spliced, once or twice over. Cuts fall on character boundaries, since a snippet's
//! files are UTF-8 text.

use std::path::Path;

use proptest::prelude::*;
use proptest::sample::{Index, select};

/// Characters a flipped byte becomes: ones that change how Jsonnet reads the rest.
const REPLACEMENTS: &[&str] = &[
    "{", "}", "[", "]", "(", ")", "'", "\"", "\\", ":", ";", ",", ".", "$", "+", "-", "*", "/", "%", "!", "=", "#",
    " ", "\n", "0", "9", "e", "x", "|", "@",
];

/// Tokens inserted whole.
const TOKENS: &[&str] = &[
    "local",
    "function",
    "self",
    "super",
    "$",
    "::",
    "+:",
    "error ",
    "assert ",
    "import ",
    "if ",
    " then ",
    " else ",
    " for ",
    " in ",
    "|||\n",
    "'",
    "\"",
    "std.",
    "tailstrict",
    "1e308",
    "-0",
    "5e-324",
    "null",
    "1.7976931348623157e308",
    "[",
    "{",
    "(",
];

/// The programs of `dir` (`*.jsonnet`), sorted by name so that a seed always gives the same mutants.
pub fn programs_in(dir: &Path) -> Vec<String> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "jsonnet"))
        .collect();
    paths.sort();
    paths.iter().map(|path| std::fs::read_to_string(path).unwrap()).collect()
}

/// The character boundary of `text` nearest below the position `index` picks.
fn boundary(text: &str, index: Index) -> usize {
    let mut at = index.index(text.len() + 1);
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// The range between the boundaries two indexes pick, at most `max` bytes long.
fn fragment(text: &str, start: Index, length: Index, max: usize) -> (usize, usize) {
    let start = boundary(text, start);
    let mut end = (start + length.index(max + 1)).min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (start, end)
}

/// One mutation of `text`.
fn mutate_once(text: String) -> impl Strategy<Value = String> {
    let truncated = any::<Index>().prop_map({
        let text = text.clone();
        move |at| text[..boundary(&text, at)].to_owned()
    });
    let replaced = (any::<Index>(), select(REPLACEMENTS)).prop_map({
        let text = text.clone();
        move |(at, with)| {
            let start = boundary(&text, at);
            let end = text[start..].chars().next().map_or(start, |c| start + c.len_utf8());
            format!("{}{with}{}", &text[..start], &text[end..])
        }
    });
    let duplicated = (any::<Index>(), any::<Index>(), any::<Index>()).prop_map({
        let text = text.clone();
        move |(start, length, at)| {
            let (start, end) = fragment(&text, start, length, 200);
            let at = boundary(&text, at);
            format!("{}{}{}", &text[..at], &text[start..end], &text[at..])
        }
    });
    let deleted = (any::<Index>(), any::<Index>()).prop_map({
        let text = text.clone();
        move |(start, length)| {
            let (start, end) = fragment(&text, start, length, 60);
            format!("{}{}", &text[..start], &text[end..])
        }
    });
    let inserted = (any::<Index>(), select(TOKENS)).prop_map(move |(at, token)| {
        let at = boundary(&text, at);
        format!("{}{token}{}", &text[..at], &text[at..])
    });
    prop_oneof![truncated, replaced, duplicated, deleted, inserted]
}

/// A mutant of one of `corpus`'s programs (or of two spliced together): one or two mutations.
pub fn mutant(corpus: Vec<String>) -> impl Strategy<Value = String> {
    let spliced = (select(corpus.clone()), select(corpus.clone()), any::<Index>(), any::<Index>())
        .prop_map(|(a, b, cut_a, cut_b)| format!("{}{}", &a[..boundary(&a, cut_a)], &b[boundary(&b, cut_b)..]));
    let original = prop_oneof![4 => select(corpus), 1 => spliced];
    (original, any::<bool>()).prop_flat_map(|(text, twice)| {
        mutate_once(text).prop_flat_map(move |once| if twice { mutate_once(once).boxed() } else { Just(once).boxed() })
    })
}
