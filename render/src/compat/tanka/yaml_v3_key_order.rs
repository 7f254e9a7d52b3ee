//! The order in which yaml.v3 writes a map's string keys (its `keyList.Less`): character by character, but a run
//! of digits compares as a number (`a2` before `a10`), and letters against other characters depend on whether
//! digits came just before.

use std::cmp::Ordering;

use super::go_unicode::{is_digit, is_letter};

/// `keys` in yaml.v3's order. A stable merge sort: Go sorts with its own (unstable) algorithm, which only
/// matters if the comparison is inconsistent, and Rust's `sort_by` may panic on an inconsistent comparison.
pub fn sorted_keys<'a>(keys: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut keys: Vec<(&str, Vec<char>)> = keys.map(|key| (key, key.chars().collect())).collect();
    merge_sort(&mut keys);
    keys.into_iter().map(|(key, _)| key).collect()
}

fn merge_sort(keys: &mut Vec<(&str, Vec<char>)>) {
    if keys.len() < 2 {
        return;
    }
    let mut right = keys.split_off(keys.len() / 2);
    merge_sort(keys);
    merge_sort(&mut right);
    let left = std::mem::take(keys);
    let mut left = left.into_iter().peekable();
    let mut right = right.into_iter().peekable();
    while let (Some(a), Some(b)) = (left.peek(), right.peek()) {
        let next = if key_less(&b.1, &a.1) { right.next() } else { left.next() };
        keys.extend(next);
    }
    keys.extend(left);
    keys.extend(right);
}

/// yaml.v3's `keyList.Less` for two string keys.
fn key_less(a: &[char], b: &[char]) -> bool {
    let mut after_digit = false;
    for (i, (&ca, &cb)) in a.iter().zip(b).enumerate() {
        if ca == cb {
            after_digit = is_digit(ca);
            continue;
        }
        let (letter_a, letter_b) = (is_letter(ca), is_letter(cb));
        if letter_a && letter_b {
            return ca < cb;
        }
        if letter_a || letter_b {
            return if after_digit { letter_a } else { letter_b };
        }
        // Neither is a letter: compare the digit runs starting here as numbers. A zero continuing a number
        // (`10` vs `1a`) starts both counts at 1, so that the zero is not lost.
        let continues_number = a[..i].iter().rev().take_while(|c| is_digit(**c)).any(|c| *c != '0');
        let start = i64::from((ca == '0' || cb == '0') && continues_number);
        let (number_a, end_a) = digit_run(a, i, start);
        let (number_b, end_b) = digit_run(b, i, start);
        return match number_a.cmp(&number_b) {
            Ordering::Equal if end_a != end_b => end_a < end_b,
            Ordering::Equal => ca < cb,
            order => order == Ordering::Less,
        };
    }
    a.len() < b.len()
}

/// The value of the digits from `start` on (Go's `int64` arithmetic, wrapping like it) and where they end.
fn digit_run(key: &[char], start: usize, initial: i64) -> (i64, usize) {
    let mut value = initial;
    let mut end = start;
    while end < key.len() && is_digit(key[end]) {
        value = value.wrapping_mul(10).wrapping_add(i64::from(u32::from(key[end])) - i64::from(u32::from('0')));
        end += 1;
    }
    (value, end)
}

#[cfg(test)]
mod tests {
    //! Expected orders are what gopkg.in/yaml.v3 3.0.1's `Marshal` writes for a map with these keys.

    use super::*;

    #[test]
    fn orders_keys_as_yaml_v3() {
        let cases: &[&[&str]] = &[
            &["a", "b", "c"],
            &["a1", "a2", "a10", "a100"],
            &["1", "2", "10", "a"],
            &["1", "01", "001"],
            &["a0", "a00", "a1"],
            // After a digit, a letter sorts before a digit or a sign.
            &["1a", "1b", "10", "100"],
            &["1a", "1-", "15"],
            &["A", "B", "a", "b"],
            &["", "a", "aa", "ab"],
            &["-", "_", "a", "b"],
            &["apiVersion", "data", "kind", "metadata"],
            &["x.y", "x1", "xa", "xé"],
        ];
        for &want in cases {
            let mut shuffled = want.to_vec();
            shuffled.reverse();
            shuffled.rotate_left(1);
            assert_eq!(sorted_keys(shuffled.into_iter()), want);
        }
    }
}
