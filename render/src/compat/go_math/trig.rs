//! Go's pure-Go trigonometric functions (Go uses no assembly for them on amd64): Cephes' polynomials for
//! sin/cos/tan on [-π/4, π/4] after reducing the argument by π/4 (Cody–Waite with π/4 in three parts below 2^29,
//! Payne–Hanek above), and Cephes' `atan` with its range reduction for the inverse functions.

use std::f64::consts::{FRAC_PI_2, FRAC_PI_4};

/// Below this, `k * PI4_HI` and `k * PI4_MID` are exact for the octant count k, so three-part reduction is exact
/// enough; above it Payne–Hanek reduction takes over.
const REDUCE_THRESHOLD: f64 = 536_870_912.0; // 2^29
/// 4/π rounded to double, as Go's constant expression `4 / Pi` is.
const FOUR_OVER_PI: f64 = 1.2732395447351628;
/// π/4 as three doubles; the first two end in 30 and 32 zero bits.
const PI4_HI: f64 = 7.85398125648498535156e-1;
const PI4_MID: f64 = 3.77489470793079817668e-8;
const PI4_LO: f64 = 2.69515142907905952645e-15;

/// The binary expansion of 4/π in 64-bit words, integer part first: floor(4/π · 2^1216), enough bits to reduce
/// the largest double. Derived with Machin's formula for π in exact integer arithmetic.
const FOUR_OVER_PI_BITS: [u64; 20] = [
    0x0000_0000_0000_0001,
    0x45f3_06dc_9c88_2a53,
    0xf84e_afa3_ea69_bb81,
    0xb6c5_2b32_7887_2083,
    0xfca2_c757_bd77_8ac3,
    0x6e48_dc74_849b_a5c0,
    0x0c92_5dd4_13a3_2439,
    0xfc3b_d639_6253_4e7d,
    0xd104_6bea_5d76_8909,
    0xd338_e04d_68be_fc82,
    0x7323_ac73_06a6_73e9,
    0x3908_bf17_7bf2_5076,
    0x3ff1_2fff_bc0b_301f,
    0xde5e_2316_b414_da3e,
    0xda6c_fd9e_4f96_136e,
    0x9e8c_7ecd_3cbf_d45a,
    0xea4f_758f_d7cb_e2f6,
    0x7a0e_73ef_14a5_25d4,
    0xd7f6_bf62_3f1a_ba10,
    0xac06_608d_f8f6_d757,
];

/// Cephes' sin(z) - z polynomial in z², highest degree first.
const SIN: [f64; 6] = [
    1.58962301576546568060e-10,
    -2.50507477628578072866e-8,
    2.75573136213857245213e-6,
    -1.98412698295895385996e-4,
    8.33333333332211858878e-3,
    -1.66666666666666307295e-1,
];
/// Cephes' cos(z) - 1 + z²/2 polynomial in z², highest degree first.
const COS: [f64; 6] = [
    -1.13585365213876817300e-11,
    2.08757008419747316778e-9,
    -2.75573141792967388112e-7,
    2.48015872888517045348e-5,
    -1.38888888888730564116e-3,
    4.16666666666665929218e-2,
];

/// Go's shifts: a count of 64 or more gives 0 rather than overflowing.
fn shl(x: u64, n: u64) -> u64 {
    u32::try_from(n).ok().and_then(|n| x.checked_shl(n)).unwrap_or(0)
}

fn shr(x: u64, n: u64) -> u64 {
    u32::try_from(n).ok().and_then(|n| x.checked_shr(n)).unwrap_or(0)
}

/// Reduces `x` (non-negative, finite) by π/4: the octant count `j`, made even by rounding odd counts up so that
/// the remainder `z` (in radians) lies in [-π/4, π/4]. `j` is only meaningful modulo 8.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
fn reduce(x: f64) -> (u64, f64) {
    if x >= REDUCE_THRESHOLD {
        return reduce_payne_hanek(x);
    }
    let mut j = (x * FOUR_OVER_PI) as u64;
    let mut y = j as f64;
    if j & 1 == 1 {
        j += 1;
        y += 1.0;
    }
    (j, ((x - y * PI4_HI) - y * PI4_MID) - y * PI4_LO)
}

/// Payne–Hanek reduction (K. C. Ng, "Argument reduction for huge arguments: good to the last bit", 1992): the
/// 53-bit mantissa times the three 64-bit words of 4/π that matter at its exponent, in 64-bit integer arithmetic.
fn reduce_payne_hanek(x: f64) -> (u64, f64) {
    let bits = x.to_bits();
    let mantissa = (bits & ((1 << 52) - 1)) | (1 << 52);
    // x = mantissa * 2^exponent; choose the words so that the product's leading digit has exponent -61.
    let exponent = i64::try_from((bits >> 52) & 0x7ff).unwrap_or(0) - 1023 - 52;
    let position = u64::try_from(exponent + 61).unwrap_or(0);
    let (word, shift) = (usize::try_from(position / 64).unwrap_or(0), position % 64);
    let window = |i: usize| shl(FOUR_OVER_PI_BITS[i], shift) | shr(FOUR_OVER_PI_BITS[i + 1], 64 - shift);
    let (z0, z1, z2) = (window(word), window(word + 1), window(word + 2));
    let product_hi = |a: u64| ((u128::from(a) * u128::from(mantissa)) >> 64) as u64;
    let z1_lo = z1.wrapping_mul(mantissa);
    let (lo, carry) = z1_lo.overflowing_add(product_hi(z2));
    let hi = z0.wrapping_mul(mantissa).wrapping_add(product_hi(z1)).wrapping_add(u64::from(carry));
    // The top three bits are the octant; the rest is the fraction, turned into a double by hand.
    let mut j = hi >> 61;
    let fraction = (hi << 3) | (lo >> 61);
    let leading = u64::from(fraction.leading_zeros());
    let biased_exponent = 1023u64.wrapping_sub(leading + 1);
    let normalised = shl(fraction, leading + 1) | shr(lo, 64u64.wrapping_sub(leading + 1));
    let mut z = f64::from_bits((normalised >> 12) | (biased_exponent << 52));
    if j & 1 == 1 {
        j = (j + 1) & 7;
        z -= 1.0;
    }
    (j, z * FRAC_PI_4)
}

/// Horner evaluation with Go's operation order.
fn horner(coefficients: &[f64], x: f64) -> f64 {
    coefficients[1..].iter().fold(coefficients[0], |acc, &c| acc * x + c)
}

fn sin_kernel(z: f64, zz: f64) -> f64 {
    z + z * zz * horner(&SIN, zz)
}

fn cos_kernel(zz: f64) -> f64 {
    1.0 - 0.5 * zz + zz * zz * horner(&COS, zz)
}

/// Go's `math.Sin`.
pub fn sin(x: f64) -> f64 {
    if x == 0.0 || x.is_nan() {
        return x;
    }
    if x.is_infinite() {
        return f64::NAN;
    }
    let (j, z) = reduce(x.abs());
    let (mut octant, mut negative) = (j & 7, x < 0.0);
    if octant > 3 {
        negative = !negative;
        octant -= 4;
    }
    let zz = z * z;
    let y = if octant == 1 || octant == 2 { cos_kernel(zz) } else { sin_kernel(z, zz) };
    if negative { -y } else { y }
}

/// Go's `math.Cos`.
pub fn cos(x: f64) -> f64 {
    if !x.is_finite() {
        return f64::NAN;
    }
    let (j, z) = reduce(x.abs());
    let (mut octant, mut negative) = (j & 7, false);
    if octant > 3 {
        octant -= 4;
        negative = !negative;
    }
    if octant > 1 {
        negative = !negative;
    }
    let zz = z * z;
    let y = if octant == 1 || octant == 2 { sin_kernel(z, zz) } else { cos_kernel(zz) };
    if negative { -y } else { y }
}

/// Go's `math.Tan`: Cephes' rational approximation z + z³P(z²)/Q(z²), and -1/tan in odd quadrants.
pub fn tan(x: f64) -> f64 {
    const P: [f64; 3] = [-1.30936939181383777646e4, 1.15351664838587416140e6, -1.79565251976484877988e7];
    const Q: [f64; 5] =
        [1.0, 1.36812963470692954678e4, -1.32089234440210967447e6, 2.50083801823357915839e7, -5.38695755929454629881e7];
    if x == 0.0 || x.is_nan() {
        return x;
    }
    if x.is_infinite() {
        return f64::NAN;
    }
    let (j, z) = reduce(x.abs());
    let zz = z * z;
    let mut y = if zz > 1e-14 { z + z * (zz * horner(&P, zz) / horner(&Q, zz)) } else { z };
    if j & 2 == 2 {
        y = -1.0 / y;
    }
    if x < 0.0 { -y } else { y }
}

/// Cephes' `atan` on [0, 0.66]: x + x³P(x²)/Q(x²).
fn atan_kernel(x: f64) -> f64 {
    const P: [f64; 5] = [
        -8.750608600031904122785e-01,
        -1.615753718733365076637e+01,
        -7.500855792314704667340e+01,
        -1.228866684490136173410e+02,
        -6.485021904942025371773e+01,
    ];
    const Q: [f64; 6] = [
        1.0,
        2.485846490142306297962e+01,
        1.650270098316988542046e+02,
        4.328810604912902668951e+02,
        4.853903996359136964868e+02,
        1.945506571482613964425e+02,
    ];
    let xx = x * x;
    let ratio = xx * horner(&P, xx) / horner(&Q, xx);
    x * ratio + x
}

/// `atan` of a non-negative `x`, reduced to [0, 0.66] through tan(π/4) and tan(3π/8).
fn atan_positive(x: f64) -> f64 {
    /// π/2 minus its double rounding.
    const PI2_TAIL: f64 = 6.123233995736765886130e-17;
    const TAN_3PI_8: f64 = 2.41421356237309504880;
    if x <= 0.66 {
        atan_kernel(x)
    } else if x > TAN_3PI_8 {
        FRAC_PI_2 - atan_kernel(1.0 / x) + PI2_TAIL
    } else {
        FRAC_PI_4 + atan_kernel((x - 1.0) / (x + 1.0)) + 0.5 * PI2_TAIL
    }
}

/// Go's `math.Atan`.
pub fn atan(x: f64) -> f64 {
    if x == 0.0 {
        x
    } else if x > 0.0 {
        atan_positive(x)
    } else {
        -atan_positive(-x)
    }
}

/// Go's `math.Asin`: through atan of x/√(1-x²), or of its reciprocal above 0.7.
pub fn asin(x: f64) -> f64 {
    if x == 0.0 {
        return x;
    }
    let magnitude = x.abs();
    if magnitude > 1.0 {
        return f64::NAN;
    }
    let cosine = (1.0 - magnitude * magnitude).sqrt();
    let y =
        if magnitude > 0.7 { FRAC_PI_2 - atan_positive(cosine / magnitude) } else { atan_positive(magnitude / cosine) };
    if x < 0.0 { -y } else { y }
}

/// Go's `math.Acos`: π/2 - Asin(x).
pub fn acos(x: f64) -> f64 {
    FRAC_PI_2 - asin(x)
}

/// Go's `math.Atan2(y, x)`: Atan(y/x) moved into the quadrant of (x, y), with the IEEE special cases.
pub fn atan2(y: f64, x: f64) -> f64 {
    if y.is_nan() || x.is_nan() {
        return f64::NAN;
    }
    if y == 0.0 {
        return if x >= 0.0 && x.is_sign_positive() { 0.0f64.copysign(y) } else { std::f64::consts::PI.copysign(y) };
    }
    if x == 0.0 {
        return FRAC_PI_2.copysign(y);
    }
    if x.is_infinite() {
        let angle = match (x > 0.0, y.is_infinite()) {
            (true, true) => FRAC_PI_4,
            (true, false) => 0.0,
            (false, true) => 3.0 * FRAC_PI_4,
            (false, false) => std::f64::consts::PI,
        };
        return angle.copysign(y);
    }
    if y.is_infinite() {
        return FRAC_PI_2.copysign(y);
    }
    let q = atan(y / x);
    if x < 0.0 { if q <= 0.0 { q + std::f64::consts::PI } else { q - std::f64::consts::PI } } else { q }
}
