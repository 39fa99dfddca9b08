//! Vectorisable `exp`, `expm1`, `tanh` and `log1p` for `f64`.
//!
//! The standard library calls glibc's scalar functions one element at a time, which cannot
//! be vectorised (issue 19: glibc `tanh` and the `expm1` it calls were 22% of a
//! fading-squares training step). The functions here are branch-free straight-line code
//! (range reduction by bit manipulation, Horner polynomials, selects for the special cases),
//! so the elementwise loops of [`crate::simd::dispatch`] compile them to SIMD instructions.
//! They use IEEE additions, multiplications and divisions only, without fused multiply-adds
//! (LLVM does not contract them), so the results are the same on every x86-64 (and any
//! other) CPU, whichever instruction set the loop is compiled for.
//!
//! # Method
//! - `exp(x) = 2^k exp(r)`, `k = round(x / ln 2)`, `r = x - k ln 2` (Cody-Waite, `ln 2`
//!   split in two so that `k ln2_hi` is exact), `|r| <= ln(2) / 2`; `exp(r)` is its Taylor
//!   polynomial of degree 13 (truncation below `2^-58` relative). `2^k` is built from bits,
//!   applied in two halves so that results that are subnormal, or that overflow, round as
//!   they should.
//! - `expm1(x) = 2^k (expm1(r) + 1) - 1 = 2 (2^(k-1) expm1(r) + (2^(k-1) - 1/2))`, with the
//!   Taylor polynomial of `expm1(r)`: no cancellation near 0 (`k = 0` gives `expm1(r)`).
//! - `tanh(x) = sign(x) e / (e + 2)` with `e = expm1(2 |x|)`, `|x|` capped at 20 (where
//!   `tanh` is 1 to double precision).
//! - `log1p(x)`: `u = 1 + x = 2^k m`, `m` in `[sqrt(1/2), sqrt(2))`, the rounding error of
//!   `u` carried as the correction `c / u` (as in fdlibm), `log(m) = f - f^2/2 + s (f^2/2 + R(s^2))`
//!   with `f = m - 1`, `s = f / (2 + f)` and `R` the series of `2 atanh(s) / s - 2` to degree
//!   11 in `s^2` (truncation below `2^-59`).
//!
//! # Accuracy
//! Measured against the standard library (glibc, itself correctly rounded or within 1 ulp)
//! by the tests below over dense sweeps and random arguments across each function's whole
//! range: at most 2 ulp for `exp`, `expm1` and `log1p` and at most 3 ulp for `tanh` (relative
//! error below `7e-16`); special values (`0`, `-0`, infinities, NaN, overflow, underflow,
//! `log1p(-1)`) match exactly. This is the "documented rounding" by which results computed
//! with these functions may differ from those computed with the standard library.

/// `1.5 * 2^52`: adding it rounds a double of magnitude below `2^51` to an integer (round to
/// nearest even), which then sits in the low bits of the sum.
const ROUND_MAGIC: f64 = 6_755_399_441_055_744.0;
const LOG2_E: f64 = std::f64::consts::LOG2_E;
/// `ln 2` split: the high part has 32 significant bits, so `k LN2_HI` is exact for `|k| < 2^20`.
const LN2_HI: f64 = 6.931_471_803_691_238e-1;
const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;

/// `1 / k!` for `k = 2..=13`.
const INV_FACT: [f64; 12] = [
    1.0 / 2.0,
    1.0 / 6.0,
    1.0 / 24.0,
    1.0 / 120.0,
    1.0 / 720.0,
    1.0 / 5_040.0,
    1.0 / 40_320.0,
    1.0 / 362_880.0,
    1.0 / 3_628_800.0,
    1.0 / 39_916_800.0,
    1.0 / 479_001_600.0,
    1.0 / 6_227_020_800.0,
];

/// `2 / (2 j + 1)` for `j = 1..=11`: `2 atanh(s) / s - 2 = sum_j 2 s^(2j) / (2 j + 1)`.
const ATANH_SERIES: [f64; 11] = [
    2.0 / 3.0,
    2.0 / 5.0,
    2.0 / 7.0,
    2.0 / 9.0,
    2.0 / 11.0,
    2.0 / 13.0,
    2.0 / 15.0,
    2.0 / 17.0,
    2.0 / 19.0,
    2.0 / 21.0,
    2.0 / 23.0,
];

/// Range reduction: `x = k ln 2 + r`, returning `(k as f64, the bits of k plus the magic number, r)`. `|x|` must be below about `2^50`.
#[inline(always)]
fn reduce(x: f64) -> (f64, u64, f64) {
    let t = x * LOG2_E + ROUND_MAGIC;
    let k = t - ROUND_MAGIC;
    let r = (x - k * LN2_HI) - k * LN2_LO;
    (k, t.to_bits(), r)
}

/// `2^(k + shift)` for the `k` whose magic-number sum has bits `t_bits`
/// (`-1022 <= k + shift <= 1023`), built from its exponent bits.
#[inline(always)]
fn pow2(t_bits: u64, shift: i64) -> f64 {
    let k = t_bits.wrapping_sub(ROUND_MAGIC.to_bits());
    f64::from_bits(k.wrapping_add((1023 + shift) as u64) << 52)
}

/// `expm1(r) = r + r^2 (1/2 + r/6 + ... + r^11 / 13!)` for `|r| <= ln(2) / 2`.
#[inline(always)]
fn expm1_poly(r: f64) -> f64 {
    let mut p = INV_FACT[11];
    for &c in INV_FACT[..11].iter().rev() {
        p = p * r + c;
    }
    r + (r * r) * p
}

/// `e^x`, vectorisable (see the module documentation for the method and accuracy).
///
/// ```text
/// exp(x) = 2^k exp(r),  k = round(x / ln 2),  r = x - k ln 2
/// ```
#[inline(always)]
pub(crate) fn exp(x: f64) -> f64 {
    // Clamp (NaN passes through). exp(-746) rounds to 0 and exp(710) overflows, so the
    // clamped values give the right results.
    let xc = x.clamp(-746.0, 710.0);
    let (_, t_bits, r) = reduce(xc);
    let p = 1.0 + expm1_poly(r);
    // k in [-1076, 1024]: 2^k as 2^(h - 538) 2^(k + 538 - h) with h = floor((k + 1076) / 2),
    // both factors normal (unsigned arithmetic only: AVX2 has no 64-bit arithmetic shift).
    let kk = t_bits.wrapping_sub(ROUND_MAGIC.to_bits()).wrapping_add(1076);
    let h = kk >> 1;
    let s1 = f64::from_bits((h + (1023 - 538)) << 52);
    let s2 = f64::from_bits((kk - h + (1023 - 538)) << 52);
    (p * s1) * s2
}

/// `e^x - 1`, vectorisable and accurate near 0 (see the module documentation).
///
/// ```text
/// expm1(x) = 2 (2^(k-1) expm1(r) + (2^(k-1) - 1/2)),  k = round(x / ln 2),  r = x - k ln 2
/// ```
#[inline(always)]
pub(crate) fn expm1(x: f64) -> f64 {
    // Below -40, expm1 is -1 to double precision; above 710 it overflows.
    let xc = x.clamp(-40.0, 710.0);
    let (_, t_bits, r) = reduce(xc);
    let q = expm1_poly(r);
    // k in [-58, 1024]: 2^(k-1) is normal and 2^(k-1) - 1/2 is exact for k <= 54.
    let half_scale = pow2(t_bits, -1);
    let y = 2.0 * (half_scale * q + (half_scale - 0.5));
    // Below 2^-54, expm1(x) rounds to x (this also keeps -0 and subnormals exact).
    if x.abs() < 5.551_115_123_125_783e-17 { x } else { y }
}

/// `tanh(x)`, vectorisable (see the module documentation).
///
/// ```text
/// tanh(x) = sign(x) e / (e + 2),  e = expm1(2 |x|)
/// ```
#[inline(always)]
pub(crate) fn tanh(x: f64) -> f64 {
    let ax = x.abs();
    // tanh(20) is 1 to double precision; NaN passes through.
    let a = if ax > 20.0 { 20.0 } else { ax };
    let e = expm1(2.0 * a);
    let t = e / (e + 2.0);
    // Below 2^-27, tanh(x) = x - x^3 / 3 rounds to x.
    if ax < 7.450_580_596_923_828e-9 { x } else { t.copysign(x) }
}

/// `ln(1 + x)`, vectorisable and accurate near 0 (see the module documentation).
///
/// ```text
/// log1p(x) = k ln 2 + log(m) + c / u,  u = 1 + x = 2^k m,  c = the rounding error of u
/// ```
#[inline(always)]
pub(crate) fn log1p(x: f64) -> f64 {
    let u = 1.0 + x;
    // Exponent and mantissa of u with m in [sqrt(1/2), sqrt(2)): move the mantissa's bits
    // down by 0x95f62 (the top bits of sqrt(2) - 1) so that the exponent field increments
    // exactly at sqrt(2), as fdlibm does. Out-of-domain u (<= 0, infinite, NaN) is fixed below.
    let bits = u.to_bits().wrapping_add(0x3ff0_0000_0000_0000 - 0x3fe6_a09e_0000_0000);
    let k_biased = bits >> 52;
    // k as a double without an int-to-float conversion (which AVX2 lacks for 64-bit lanes).
    let k = f64::from_bits(0x4330_0000_0000_0000 | k_biased) - (4_503_599_627_370_496.0 + 1023.0);
    let m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff).wrapping_add(0x3fe6_a09e_0000_0000));
    // The rounding error of u = 1 + x, relative to u.
    let c = (if k > 0.0 { 1.0 - (u - x) } else { x - (u - 1.0) }) / u;
    let f = m - 1.0;
    let s = f / (2.0 + f);
    let z = s * s;
    // R(z) = 2 z / 3 + 2 z^2 / 5 + ... + 2 z^11 / 23 (2 atanh(s) / s - 2 as a series in z).
    let mut r = ATANH_SERIES[10];
    for &a in ATANH_SERIES[..10].iter().rev() {
        r = r * z + a;
    }
    let r = r * z;
    let hfsq = 0.5 * f * f;
    let y = k * LN2_HI - ((hfsq - (s * (hfsq + r) + (k * LN2_LO + c))) - f);
    if x == 0.0 || x == f64::INFINITY {
        x
    } else if x == -1.0 {
        f64::NEG_INFINITY
    } else if x > -1.0 {
        y
    } else {
        f64::NAN
    }
}

#[cfg(test)]
mod tests;
