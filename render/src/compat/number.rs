//! The two ways go-jsonnet spells a number: `unparseNumber` (the `jsonnet` command's output, std.toString, string
//! concatenation, `%s`) and `strconv.FormatFloat(v, 'f', -1, 64)` (std.manifestJsonEx, std.manifestYamlDoc).

use std::fmt::Write as _;

use jrsonnet_evaluator::NumValue;

/// Writes `v` like go-jsonnet's `unparseNumber`: integral values as `%.0f` (no exponent, e.g. `1e21` is
/// `1000000000000000000000`), everything else as C's `%.17g` (e.g. `0.1` is `0.10000000000000001`).
///
/// That is how jrsonnet's `NumValue` displays itself with the carried jrsonnet-ir patch (docs/fidelity.md,
/// "Carried patches"), so std, the evaluator's string + number and `%s`, and the renderer share one formatter.
pub fn unparse_number(v: f64, buf: &mut String) {
    // Jsonnet numbers are finite; anything else would be written as Rust writes it.
    let _ = match NumValue::new(v) {
        Some(number) => write!(buf, "{number}"),
        None => write!(buf, "{v}"),
    };
}

/// Writes `v` like Go's `strconv.FormatFloat(v, 'f', -1, 64)`: the shortest digits that round-trip, never an
/// exponent. Rust's `Display` for `f64` has exactly that contract.
pub fn format_shortest(v: f64, buf: &mut String) {
    let _ = write!(buf, "{v}");
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
