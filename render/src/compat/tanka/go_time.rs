//! yaml.v3's timestamps: which plain scalars are `!!timestamp` (Go's `time.Parse` with yaml.v3's four layouts)
//! and how the resulting `time.Time` reads once Tanka's parseYaml has sent it through `json.Marshal` (RFC 3339
//! with nanoseconds: `2001-12-14` becomes `2001-12-14T00:00:00Z`).

use std::fmt::Write as _;

/// A point in time as yaml.v3 parsed it: the wall clock and the zone offset written in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp {
    year: u32,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    nanosecond: u32,
    /// Seconds east of UTC.
    offset: i32,
}

/// The clock part of a layout, if any, and whether a zone (`Z` or `±hh:mm`) follows it.
#[derive(Clone, Copy)]
enum Layout {
    /// `2006-1-2T15:4:5.999999999Z07:00` (`separator` is `T` or `t`).
    Zoned { separator: u8 },
    /// `2006-1-2 15:4:5.999999999`: one or more spaces, no zone.
    SpaceSeparated,
    /// `2006-1-2`.
    DateOnly,
}

/// yaml.v3's `parseTimestamp`: text that starts with four digits and `-` and matches one of its layouts.
pub fn parse_timestamp(text: &str) -> Option<Timestamp> {
    let bytes = text.as_bytes();
    let year_digits = bytes.iter().take_while(|c| c.is_ascii_digit()).count();
    if year_digits != 4 || bytes.get(4) != Some(&b'-') {
        return None;
    }
    [Layout::Zoned { separator: b'T' }, Layout::Zoned { separator: b't' }, Layout::SpaceSeparated, Layout::DateOnly]
        .into_iter()
        .find_map(|layout| parse_with(bytes, layout))
}

/// Go's `time.Parse` of one layout.
fn parse_with(text: &[u8], layout: Layout) -> Option<Timestamp> {
    let mut rest = text;
    let year = take_digits(&mut rest, 4)?;
    expect(&mut rest, b'-')?;
    let month = take_number(&mut rest)?;
    expect(&mut rest, b'-')?;
    let day = take_number(&mut rest)?;
    let mut time = Timestamp { year, month, day, hour: 0, minute: 0, second: 0, nanosecond: 0, offset: 0 };
    match layout {
        Layout::DateOnly => {}
        Layout::Zoned { separator } => {
            expect(&mut rest, separator)?;
            parse_clock(&mut rest, &mut time)?;
            time.offset = parse_zone(&mut rest)?;
        }
        Layout::SpaceSeparated => {
            // A space in a Go layout matches one or more spaces.
            expect(&mut rest, b' ')?;
            while rest.first() == Some(&b' ') {
                rest = &rest[1..];
            }
            parse_clock(&mut rest, &mut time)?;
        }
    }
    let valid = rest.is_empty()
        && (1..=12).contains(&time.month)
        && (1..=days_in_month(time.month, time.year)).contains(&time.day);
    valid.then_some(time)
}

/// `15:4:5.999999999`: hours, minutes and seconds of one or two digits, then an optional fraction (`.` or `,`
/// and up to nine digits).
fn parse_clock(rest: &mut &[u8], time: &mut Timestamp) -> Option<()> {
    time.hour = take_number(rest)?;
    expect(rest, b':')?;
    time.minute = take_number(rest)?;
    expect(rest, b':')?;
    time.second = take_number(rest)?;
    if time.hour >= 24 || time.minute >= 60 || time.second >= 60 {
        return None;
    }
    if matches!(rest.first(), Some(b'.' | b',')) && rest.get(1).is_some_and(u8::is_ascii_digit) {
        // Go reads at most nine digits; a tenth is then text the layout does not expect.
        let digits = rest[1..].iter().take(9).take_while(|c| c.is_ascii_digit()).count();
        let mut nanos = 0;
        for position in 0..9 {
            let digit = if position < digits { u32::from(rest[1 + position] - b'0') } else { 0 };
            nanos = nanos * 10 + digit;
        }
        time.nanosecond = nanos;
        *rest = &rest[1 + digits..];
    }
    Some(())
}

/// `Z07:00`: `Z`, or a sign and `hh:mm`.
fn parse_zone(rest: &mut &[u8]) -> Option<i32> {
    if rest.first() == Some(&b'Z') {
        *rest = &rest[1..];
        return Some(0);
    }
    if rest.len() < 6 || rest[3] != b':' {
        return None;
    }
    let (sign, mut hours, mut minutes) = (rest[0], &rest[1..3], &rest[4..6]);
    let offset = i32::try_from(take_digits(&mut hours, 2)? * 3600 + take_digits(&mut minutes, 2)? * 60).ok()?;
    *rest = &rest[6..];
    match sign {
        b'+' => Some(offset),
        b'-' => Some(-offset),
        _ => None,
    }
}

/// Go's `getnum(s, false)`: one digit, or two when a second follows.
fn take_number(rest: &mut &[u8]) -> Option<u32> {
    let width = if rest.get(1).is_some_and(u8::is_ascii_digit) { 2 } else { 1 };
    take_digits(rest, width)
}

fn take_digits(rest: &mut &[u8], width: usize) -> Option<u32> {
    let digits = rest.get(..width).filter(|digits| digits.iter().all(u8::is_ascii_digit))?;
    *rest = &rest[width..];
    Some(digits.iter().fold(0, |value, digit| value * 10 + u32::from(digit - b'0')))
}

fn expect(rest: &mut &[u8], byte: u8) -> Option<()> {
    let (&first, tail) = rest.split_first()?;
    (first == byte).then(|| *rest = tail)
}

fn days_in_month(month: u32, year: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl Timestamp {
    /// Go's `time.RFC3339Nano` (what `json.Marshal` writes): `2006-01-02T15:04:05.999999999Z07:00`, the
    /// fraction without trailing zeros (none when zero), `Z` for a zero offset.
    pub fn rfc3339_nano(&self) -> String {
        let mut out = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        );
        if self.nanosecond != 0 {
            let fraction = format!("{:09}", self.nanosecond);
            out.push('.');
            out.push_str(fraction.trim_end_matches('0'));
        }
        if self.offset == 0 {
            out.push('Z');
        } else {
            let sign = if self.offset < 0 { '-' } else { '+' };
            let minutes = self.offset.unsigned_abs() / 60;
            let _ = write!(out, "{sign}{:02}:{:02}", minutes / 60, minutes % 60);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    //! Expected values are what Go 1.19 and gopkg.in/yaml.v3 3.0.1 give: `json.Marshal` of the value yaml.v3
    //! decodes from the text (checked with the same calls Tanka's parseYaml makes).

    use super::*;

    #[test]
    fn reads_yaml_v3_timestamps_and_writes_rfc3339_nano() {
        let cases: &[(&str, Option<&str>)] = &[
            ("2001-12-14", Some("2001-12-14T00:00:00Z")),
            ("2001-1-2", Some("2001-01-02T00:00:00Z")),
            ("2001-12-14T21:59:43.10-05:00", Some("2001-12-14T21:59:43.1-05:00")),
            ("2001-12-14t21:59:43.10+00:00", Some("2001-12-14T21:59:43.1Z")),
            ("2001-12-14T21:59:43Z", Some("2001-12-14T21:59:43Z")),
            ("2001-12-14T21:59:43,5Z", Some("2001-12-14T21:59:43.5Z")),
            ("2001-12-14T1:2:3.123456789Z", Some("2001-12-14T01:02:03.123456789Z")),
            ("2001-12-14T1:2:3.1234567891Z", None),
            ("2001-12-14 21:59:43.10", Some("2001-12-14T21:59:43.1Z")),
            ("2001-12-14   21:59:43", Some("2001-12-14T21:59:43Z")),
            ("2000-02-29", Some("2000-02-29T00:00:00Z")),
            ("1900-02-29", None),
            ("2001-13-01", None),
            ("2001-12-32", None),
            ("2001-12-14T24:00:00Z", None),
            ("2001-12-14T21:59:43", None),
            ("2001-12-14 21:59:43.10 -5", None),
            ("2001-12-14T21:59:43.10-0500", None),
            ("2001-12-14x", None),
            ("20011-12-14", None),
            ("01-12-14", None),
        ];
        for &(text, want) in cases {
            assert_eq!(parse_timestamp(text).map(|time| time.rfc3339_nano()).as_deref(), want, "{text:?}");
        }
    }
}
