//! Go-style durations (`90s`, `1h30m`, `1.5h`) as Kubernetes users write them in specs, and the OpenAPI pattern
//! that admits exactly what [`parse_go_duration`] parses.

use std::time::Duration;

/// The OpenAPI pattern of a Go duration: one or more `<number><unit>` with units `ms`, `s`, `m` or `h`.
pub const GO_DURATION_PATTERN: &str = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$";

/// Parses a Go-style duration such as `1h30m` or `1.5s`; `None` for anything else (or an overflow).
pub fn parse_go_duration(text: &str) -> Option<Duration> {
    let mut rest = text;
    let mut total = 0f64;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let number_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let (number, tail) = rest.split_at(number_len);
        if number.is_empty() || number.starts_with('.') || number.ends_with('.') || number.matches('.').count() > 1 {
            return None;
        }
        let value: f64 = number.parse().ok()?;
        let (seconds_per_unit, tail) = if let Some(t) = tail.strip_prefix("ms") {
            (0.001, t)
        } else if let Some(t) = tail.strip_prefix('s') {
            (1.0, t)
        } else if let Some(t) = tail.strip_prefix('m') {
            (60.0, t)
        } else if let Some(t) = tail.strip_prefix('h') {
            (3600.0, t)
        } else {
            return None;
        };
        total += value * seconds_per_unit;
        rest = tail;
    }
    Duration::try_from_secs_f64(total).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_go_writes() {
        let cases: &[(&str, Option<u64>)] = &[
            ("30s", Some(30_000)),
            ("1m30s", Some(90_000)),
            ("1.5h", Some(5_400_000)),
            ("250ms", Some(250)),
            ("2h0m0s", Some(7_200_000)),
            ("", None),
            ("5", None),
            ("s", None),
            ("1d", None),
            ("-1s", None),
            ("1.s", None),
            (".5s", None),
            ("1..5s", None),
            ("1s ", None),
        ];
        for (text, millis) in cases {
            let got = parse_go_duration(text).map(|d| u64::try_from(d.as_millis()).unwrap());
            assert_eq!(&got, millis, "{text:?}");
        }
    }
}
