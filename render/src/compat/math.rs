//! std's numeric functions computed as go-jsonnet computes them: its builtins call Go's `math` package (ported in
//! `go_math`), and `deg2rad`, `rad2deg`, `log2` and `log10` are `std.jsonnet` one-liners over them.

use std::f64::consts::PI;

use jrsonnet_evaluator::function::builtin;

use super::go_math;

/// std.sin(x): Go's `math.Sin`.
#[builtin]
pub fn builtin_go_sin(x: f64) -> f64 {
    go_math::sin(x)
}

/// std.cos(x): Go's `math.Cos`.
#[builtin]
pub fn builtin_go_cos(x: f64) -> f64 {
    go_math::cos(x)
}

/// std.tan(x): Go's `math.Tan`.
#[builtin]
pub fn builtin_go_tan(x: f64) -> f64 {
    go_math::tan(x)
}

/// std.asin(x): Go's `math.Asin`.
#[builtin]
pub fn builtin_go_asin(x: f64) -> f64 {
    go_math::asin(x)
}

/// std.acos(x): Go's `math.Acos`.
#[builtin]
pub fn builtin_go_acos(x: f64) -> f64 {
    go_math::acos(x)
}

/// std.atan(x): Go's `math.Atan`.
#[builtin]
pub fn builtin_go_atan(x: f64) -> f64 {
    go_math::atan(x)
}

/// std.atan2(y, x): Go's `math.Atan2`.
#[builtin]
pub fn builtin_go_atan2(y: f64, x: f64) -> f64 {
    go_math::atan2(y, x)
}

/// std.exp(x): Go's `math.Exp` (so `std.exp(709.7)` overflows, as in go-jsonnet).
#[builtin]
pub fn builtin_go_exp(x: f64) -> f64 {
    go_math::exp(x)
}

/// std.log(x): Go's `math.Log`.
#[builtin]
pub fn builtin_go_log(x: f64) -> f64 {
    go_math::log(x)
}

/// std.pow(x, n): Go's `math.Pow`.
#[builtin]
pub fn builtin_go_pow(x: f64, n: f64) -> f64 {
    go_math::pow(x, n)
}

/// std.hypot(x, y): Go's `math.Hypot`.
#[builtin]
pub fn builtin_go_hypot(x: f64, y: f64) -> f64 {
    go_math::hypot(x, y)
}

/// std.mantissa(x): the fraction of Go's `math.Frexp`, in [0.5, 1).
#[builtin]
pub fn builtin_go_mantissa(x: f64) -> f64 {
    go_math::frexp(x).0
}

/// std.exponent(x): the power of two of Go's `math.Frexp`.
#[builtin]
pub fn builtin_go_exponent(x: f64) -> f64 {
    #[allow(clippy::cast_precision_loss)] // at most ±1074
    let exponent = go_math::frexp(x).1 as f64;
    exponent
}

/// std.min(a, b), as go-jsonnet computes it: `if a < b then a else b`, so of `-0` and `0` the second wins (Rust's
/// `f64::min`, jrsonnet's, returns either).
#[builtin]
pub fn builtin_go_min(a: f64, b: f64) -> f64 {
    if a < b { a } else { b }
}

/// std.max(a, b), as go-jsonnet computes it: `if a > b then a else b`.
#[builtin]
pub fn builtin_go_max(a: f64, b: f64) -> f64 {
    if a > b { a } else { b }
}

/// std.deg2rad(x), as std.jsonnet defines it: `x * pi / 180`.
#[builtin]
pub fn builtin_go_deg2rad(x: f64) -> f64 {
    x * PI / 180.0
}

/// std.rad2deg(x), as std.jsonnet defines it: `x * 180 / pi`.
#[builtin]
pub fn builtin_go_rad2deg(x: f64) -> f64 {
    x * 180.0 / PI
}

/// std.log2(x), as std.jsonnet defines it: `log(x) / log(2)`.
#[builtin]
pub fn builtin_go_log2(x: f64) -> f64 {
    go_math::log(x) / go_math::log(2.0)
}

/// std.log10(x), as std.jsonnet defines it: `log(x) / log(10)`.
#[builtin]
pub fn builtin_go_log10(x: f64) -> f64 {
    go_math::log(x) / go_math::log(10.0)
}
