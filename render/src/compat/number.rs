//! The two ways go-jsonnet spells a number: `unparseNumber` (std.toString, string concatenation in Go) and
//! `strconv.FormatFloat(v, 'f', -1, 64)` (std.manifestJsonEx, std.manifestYamlDoc).

use std::fmt::Write as _;

/// Writes `v` like go-jsonnet's `unparseNumber`: integral values as `%.0f` (no exponent, e.g. `1e21` is
/// `1000000000000000000000`), everything else as C's `%.17g` (e.g. `0.1` is `0.10000000000000001`).
// go-jsonnet's own test, `v == math.Floor(v)`: exact on purpose.
#[allow(clippy::float_cmp)]
pub fn unparse_number(v: f64, buf: &mut String) {
    if v == v.floor() {
        let _ = write!(buf, "{v:.0}");
    } else {
        write_g17(v, buf);
    }
}

/// Writes `v` like Go's `strconv.FormatFloat(v, 'f', -1, 64)`: the shortest digits that round-trip, never an
/// exponent. Rust's `Display` for `f64` has exactly that contract.
pub fn format_shortest(v: f64, buf: &mut String) {
    let _ = write!(buf, "{v}");
}

/// C's `%.17g`: 17 significant digits, trailing zeros removed, exponent form when the decimal exponent is
/// below -4 or at least 17 (with a sign and at least two exponent digits).
fn write_g17(v: f64, buf: &mut String) {
    const PRECISION: i32 = 17;
    let scientific = format!("{v:.16e}");
    let Some((mantissa, exponent)) = scientific.split_once('e') else {
        buf.push_str(&scientific);
        return;
    };
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if (-4..PRECISION).contains(&exponent) {
        let decimals = usize::try_from(PRECISION - 1 - exponent).unwrap_or(0);
        let fixed = format!("{v:.decimals$}");
        buf.push_str(trim_fraction(&fixed));
    } else {
        buf.push_str(trim_fraction(mantissa));
        let sign = if exponent < 0 { '-' } else { '+' };
        let _ = write!(buf, "e{sign}{:02}", exponent.unsigned_abs());
    }
}

/// Drops trailing zeros after a decimal point, and the point itself when nothing is left after it.
fn trim_fraction(digits: &str) -> &str {
    if digits.contains('.') { digits.trim_end_matches('0').trim_end_matches('.') } else { digits }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unparse(v: f64) -> String {
        let mut buf = String::new();
        unparse_number(v, &mut buf);
        buf
    }

    fn shortest(v: f64) -> String {
        let mut buf = String::new();
        format_shortest(v, &mut buf);
        buf
    }

    #[test]
    fn unparse_matches_c_printf() {
        let cases = [
            (0.0, "0"),
            (-0.0, "-0"),
            (100.0, "100"),
            (1e21, "1000000000000000000000"),
            (0.1, "0.10000000000000001"),
            (1.5, "1.5"),
            (1e-7, "9.9999999999999995e-08"),
            (1.0 / 3.0, "0.33333333333333331"),
            (0.000_1, "0.0001"),
            (1e-5, "1.0000000000000001e-05"),
            (1.5e-300, "1.5000000000000001e-300"),
            (123_456_789.5, "123456789.5"),
            (-2.5, "-2.5"),
        ];
        for (input, want) in cases {
            assert_eq!(unparse(input), want, "{input:e}");
        }
    }

    #[test]
    fn shortest_never_uses_an_exponent() {
        let cases = [(1e21, "1000000000000000000000"), (1e-7, "0.0000001"), (0.1, "0.1"), (-0.0, "-0"), (3.0, "3")];
        for (input, want) in cases {
            assert_eq!(shortest(input), want, "{input:e}");
        }
    }
}
