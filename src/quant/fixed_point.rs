//! gemmlowp's fixed-point arithmetic, the subset TFLite's integer LOGISTIC, TANH and SOFTMAX
//! kernels use, bit for bit.
//!
//! A fixed-point number with `k` integer bits is an `i32` raw value `r` standing for
//! `r / 2^(31 − k)` (`Q{k}.{31−k}`); `k = 0` is Q0.31, whose "one" is `i32::MAX`. gemmlowp's
//! operators on such numbers, as functions of raw values:
//!
//! | gemmlowp | here |
//! |---|---|
//! | `a * b` (integer bits add) | [`saturating_rounding_doubling_high_mul`] |
//! | `a + b`, `a - b`, `-a` | wrapping `i32` arithmetic (C++'s `int` overflow, wrapping in practice) |
//! | `Rescale<dst>(a)` from `src` integer bits | [`saturating_rounding_multiply_by_pot`]`(a, src − dst)` |
//! | `RoundingHalfSum(a, b)` | [`rounding_half_sum`] |
//!
//! The functions follow gemmlowp's `fixedpoint.h` (`exp_on_negative_values`, `logistic`,
//! `tanh`, `one_over_one_plus_x_for_x_in_0_1`, ...) and TFLite's `GetReciprocal`; they are
//! `const fn`, total and panic-free for every input.
//!
//! Also here: [`quantize_multiplier_smaller_than_one`], TFLite's
//! `QuantizeMultiplierSmallerThanOneExp`, whose multipliers TFLite applies with
//! `MultiplyByQuantizedMultiplierSmallerThanOneExp` — for a shift `≤ 0` the same arithmetic as
//! [`multiply_by_quantized_multiplier`](super::multiply_by_quantized_multiplier).

use super::QuantError;
use super::requantize::{
    QuantizedMultiplier, quantize_multiplier, rounding_divide_by_pot,
    saturating_rounding_doubling_high_mul,
};

/// gemmlowp's `SaturatingRoundingMultiplyByPOT<exponent>`: `x · 2^exponent`, saturated to `i32`
/// for `exponent > 0`, [`rounding_divide_by_pot`] (ties away from zero) for `exponent < 0`.
///
/// For `exponent > 0` gemmlowp saturates when `|x| > 2^(31 − exponent) − 1`: `x = −2^(31 − e)`
/// gives `i32::MIN`, which is also the exact product.
///
/// ```
/// use tinyconv::quant::saturating_rounding_multiply_by_pot as srmpot;
/// assert_eq!(srmpot(3, 2), 12);
/// assert_eq!(srmpot(1 << 30, 1), i32::MAX); // saturates
/// assert_eq!(srmpot(-6, -2), -2); // −1.5 → −2
/// ```
#[inline]
#[must_use]
pub const fn saturating_rounding_multiply_by_pot(x: i32, exponent: i32) -> i32 {
    if exponent == 0 {
        x
    } else if exponent > 0 {
        if exponent >= 31 {
            return if x > 0 {
                i32::MAX
            } else if x < 0 {
                i32::MIN
            } else {
                0
            };
        }
        let threshold = (1i32 << (31 - exponent)) - 1;
        if x > threshold {
            i32::MAX
        } else if x < -threshold {
            i32::MIN
        } else {
            x << exponent
        }
    } else {
        rounding_divide_by_pot(x, -exponent)
    }
}

/// gemmlowp's `RoundingHalfSum`: `(a + b) / 2`, rounded half away from zero, computed in `i64`.
///
/// ```
/// use tinyconv::quant::rounding_half_sum;
/// assert_eq!(rounding_half_sum(1, 2), 2);
/// assert_eq!(rounding_half_sum(-1, -2), -2);
/// assert_eq!(rounding_half_sum(i32::MAX, i32::MAX), i32::MAX);
/// ```
#[inline]
#[must_use]
pub const fn rounding_half_sum(a: i32, b: i32) -> i32 {
    let sum = a as i64 + b as i64;
    let sign = if sum >= 0 { 1 } else { -1 };
    ((sum + sign) / 2) as i32
}

/// `a · b` of gemmlowp fixed-point numbers (raw values; integer bits add).
#[inline]
const fn mul(a: i32, b: i32) -> i32 {
    saturating_rounding_doubling_high_mul(a, b)
}

/// The Q0.31 "one", `i32::MAX`.
const ONE_Q0: i32 = i32::MAX;

/// `1 << (31 − integer_bits + exponent)`: gemmlowp's `ConstantPOT<exponent>()`.
#[inline]
const fn constant_pot(integer_bits: u32, exponent: i32) -> i32 {
    1 << (31 - integer_bits as i32 + exponent)
}

/// gemmlowp's `exp_on_interval_between_negative_one_quarter_and_0_excl`: `e^a` for a Q0.31
/// `a ∈ [−1/4, 0)`, as Q0.31, by a 4th-order Taylor expansion around `−1/8`.
#[must_use]
pub const fn exp_on_interval_between_negative_one_quarter_and_0_excl(a: i32) -> i32 {
    // exp(−1/8) and 1/3 in Q0.31.
    const CONSTANT_TERM: i32 = 1_895_147_668;
    const ONE_THIRD: i32 = 715_827_883;
    let x = a.wrapping_add(constant_pot(0, -3));
    let x2 = mul(x, x);
    let x3 = mul(x2, x);
    let x4 = mul(x2, x2);
    let x4_over_4 = saturating_rounding_multiply_by_pot(x4, -2);
    let poly = saturating_rounding_multiply_by_pot(
        mul(x4_over_4.wrapping_add(x3), ONE_THIRD).wrapping_add(x2),
        -1,
    );
    CONSTANT_TERM.wrapping_add(mul(CONSTANT_TERM, x.wrapping_add(poly)))
}

/// gemmlowp's `exp_on_negative_values`: `e^a` for `a ≤ 0` with `integer_bits` integer bits
/// (`Q{integer_bits}.{31 − integer_bits}`, `integer_bits ≤ 30`), as Q0.31. `a = 0` gives the
/// Q0.31 one (`i32::MAX`).
///
/// ```
/// use tinyconv::quant::exp_on_negative_values;
/// // e^−1 in Q5.26 → Q0.31: 0.367879 · 2^31 ≈ 790 015 084.
/// let e = exp_on_negative_values(-(1 << 26), 5);
/// assert!((e - 790_015_084).abs() < 300);
/// assert_eq!(exp_on_negative_values(0, 5), i32::MAX);
/// ```
#[must_use]
pub const fn exp_on_negative_values(a: i32, integer_bits: u32) -> i32 {
    let integer_bits = if integer_bits > 30 { 30 } else { integer_bits };
    let fractional_bits = 31 - integer_bits as i32;
    let one_quarter = constant_pot(integer_bits, -2);
    let mask = one_quarter - 1;
    let a_mod_quarter_minus_one_quarter = (a & mask).wrapping_sub(one_quarter);
    let mut result = exp_on_interval_between_negative_one_quarter_and_0_excl(
        saturating_rounding_multiply_by_pot(a_mod_quarter_minus_one_quarter, integer_bits as i32),
    );
    let remainder = a_mod_quarter_minus_one_quarter.wrapping_sub(a);
    // exp(−2^e) in Q0.31 for e = −2..=4: a barrel shifter over the bits of the remainder.
    const BARREL: [(i32, i32); 7] = [
        (-2, 1_672_461_947),
        (-1, 1_302_514_674),
        (0, 790_015_084),
        (1, 290_630_308),
        (2, 39_332_535),
        (3, 720_401),
        (4, 242),
    ];
    let mut k = 0;
    while k < BARREL.len() {
        let (exponent, multiplier) = BARREL[k];
        if (integer_bits as i32) > exponent {
            let shift = fractional_bits + exponent;
            if remainder & (1 << shift) != 0 {
                result = mul(result, multiplier);
            }
        }
        k += 1;
    }
    if integer_bits > 5 {
        // e^x underflows Q0.31 below −32.
        let clamp = -(1i32 << (36 - integer_bits));
        if a < clamp {
            result = 0;
        }
    }
    if a == 0 { ONE_Q0 } else { result }
}

/// The Newton–Raphson division shared by [`one_over_one_plus_x_for_x_in_0_1`] and
/// [`one_minus_x_over_one_plus_x_for_x_in_0_1`]: `x ≈ 1 / half_denominator` in Q2.29.
const fn newton_reciprocal_q2(half_denominator: i32) -> i32 {
    // 48/17 and −32/17 in Q2.29; one in Q2.29.
    const C48_17: i32 = 1_515_870_810;
    const CNEG32_17: i32 = -1_010_580_540;
    const ONE_Q2: i32 = 1 << 29;
    let mut x = C48_17.wrapping_add(mul(half_denominator, CNEG32_17));
    let mut i = 0;
    while i < 3 {
        let half_denominator_times_x = mul(half_denominator, x);
        let one_minus = ONE_Q2.wrapping_sub(half_denominator_times_x);
        // Q2 · Q2 = Q4, rescaled to Q2.
        x = x.wrapping_add(saturating_rounding_multiply_by_pot(mul(x, one_minus), 2));
        i += 1;
    }
    x
}

/// gemmlowp's `one_over_one_plus_x_for_x_in_0_1`: `1 / (1 + a)` for a Q0.31 `a ∈ [0, 1)`, as
/// Q0.31.
///
/// ```
/// use tinyconv::quant::one_over_one_plus_x_for_x_in_0_1;
/// // 1 / (1 + 0.5) = 2/3.
/// let r = one_over_one_plus_x_for_x_in_0_1(1 << 30);
/// assert!((r - 1_431_655_765).abs() < 100);
/// ```
#[must_use]
pub const fn one_over_one_plus_x_for_x_in_0_1(a: i32) -> i32 {
    let half_denominator = rounding_half_sum(a, ONE_Q0);
    let x = newton_reciprocal_q2(half_denominator);
    // ExactMulByPot<−1> (Q2 → Q1, same raw), then Rescale<0> from Q1: a saturating doubling.
    saturating_rounding_multiply_by_pot(x, 1)
}

/// gemmlowp's `one_minus_x_over_one_plus_x_for_x_in_0_1`: `(1 − a) / (1 + a)` for a Q0.31
/// `a ∈ [0, 1)`, as Q0.31.
#[must_use]
pub const fn one_minus_x_over_one_plus_x_for_x_in_0_1(a: i32) -> i32 {
    let half_denominator = rounding_half_sum(a, ONE_Q0);
    let x = newton_reciprocal_q2(half_denominator);
    // Rescale<0> of (x − 1) from Q2.
    saturating_rounding_multiply_by_pot(x.wrapping_sub(1 << 29), 2)
}

/// gemmlowp's `logistic`: `1 / (1 + e^−a)` for `a` with `integer_bits` integer bits, as Q0.31
/// (`a = 0` gives exactly one half, `2^30`).
///
/// ```
/// use tinyconv::quant::fixed_point_logistic;
/// // σ(1) = 0.731059 with a in Q4.27.
/// let s = fixed_point_logistic(1 << 27, 4);
/// assert!((s as f64 / 2f64.powi(31) - 0.731_058_6).abs() < 1e-6);
/// ```
#[must_use]
pub const fn logistic(a: i32, integer_bits: u32) -> i32 {
    if a == 0 {
        return 1 << 30;
    }
    let abs = if a > 0 { a } else { a.wrapping_neg() };
    let positive =
        one_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(abs.wrapping_neg(), integer_bits));
    if a > 0 {
        positive
    } else {
        ONE_Q0.wrapping_sub(positive)
    }
}

/// gemmlowp's `tanh` for `a` with `integer_bits` integer bits (`≤ 29`), as Q0.31.
///
/// ```
/// use tinyconv::quant::fixed_point_tanh;
/// // tanh(1) = 0.761594 with a in Q4.27.
/// let t = fixed_point_tanh(1 << 27, 4);
/// assert!((t as f64 / 2f64.powi(31) - 0.761_594_2).abs() < 1e-6);
/// ```
#[must_use]
pub const fn tanh(a: i32, integer_bits: u32) -> i32 {
    if a == 0 {
        return 0;
    }
    let negative = a < 0;
    let n = if negative { a } else { a.wrapping_neg() };
    // −tanh(n) for n < 0: (1 − e^(2n)) / (1 + e^(2n)); 2n is n's raw value with one more
    // integer bit.
    let t = one_minus_x_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(n, integer_bits + 1));
    if negative { t.wrapping_neg() } else { t }
}

/// TFLite's `GetReciprocal`: for `x > 0` with `x_integer_digits` integer bits, returns
/// `(r, num_bits_over_unit)` with `r` the Q0.31 value of `1 / (x · 2^−num_bits_over_unit)`,
/// i.e. `1 / x ≈ r · 2^−num_bits_over_unit`.
///
/// ```
/// use tinyconv::quant::get_reciprocal;
/// // x = 3.0 in Q12.19: 1/3 = (2/3) · 2^−1.
/// let (r, bits) = get_reciprocal(3 << 19, 12);
/// assert_eq!(bits, 1);
/// assert!((r as f64 / 2f64.powi(31) - 2.0 / 3.0).abs() < 1e-6);
/// ```
#[must_use]
pub const fn get_reciprocal(x: i32, x_integer_digits: i32) -> (i32, i32) {
    let headroom_plus_one = (x as u32).leading_zeros() as i32;
    let num_bits_over_unit = x_integer_digits - headroom_plus_one;
    // For x > 0, headroom_plus_one ∈ [1, 31]; x ≤ 0 is outside TFLite's domain.
    let shifted = if headroom_plus_one >= 32 {
        0
    } else {
        (x as u32) << headroom_plus_one
    };
    let shifted_sum_minus_one = shifted.wrapping_sub(1 << 31) as i32;
    (
        one_over_one_plus_x_for_x_in_0_1(shifted_sum_minus_one),
        num_bits_over_unit,
    )
}

/// TFLite's `QuantizeMultiplierSmallerThanOneExp`: [`quantize_multiplier`] restricted to real
/// multipliers in `(0, 1)`, whose shift is `≤ 0`. TFLite applies them with
/// `MultiplyByQuantizedMultiplierSmallerThanOneExp`, which for a shift `≤ 0` is exactly
/// [`multiply_by_quantized_multiplier`](super::multiply_by_quantized_multiplier).
///
/// ```
/// use tinyconv::quant::{QuantError, quantize_multiplier_smaller_than_one};
/// let m = quantize_multiplier_smaller_than_one(0.5)?;
/// assert_eq!((m.multiplier(), m.shift()), (1 << 30, 0));
/// assert_eq!(quantize_multiplier_smaller_than_one(1.0), Err(QuantError::MultiplierOutOfRange));
/// # Ok::<(), QuantError>(())
/// ```
///
/// # Errors
/// [`QuantError::MultiplierOutOfRange`] unless `0 < real < 1` and its quantized shift is `≤ 0`
/// (TFLite aborts on these).
pub const fn quantize_multiplier_smaller_than_one(
    real: f64,
) -> Result<QuantizedMultiplier, QuantError> {
    if !(real > 0.0 && real < 1.0) {
        return Err(QuantError::MultiplierOutOfRange);
    }
    match quantize_multiplier(real) {
        Ok(m) if m.shift() <= 0 => Ok(m),
        Ok(_) => Err(QuantError::MultiplierOutOfRange),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use proptest::prelude::*;

    fn q(raw: i32, integer_bits: u32) -> f64 {
        raw as f64 / 2f64.powi(31 - integer_bits as i32)
    }

    #[test]
    fn constants_are_exact() {
        // The Q0.31 constants, recomputed: round(v · 2^31).
        let c = |v: f64| (v * 2f64.powi(31)).round() as i64;
        assert_eq!(c((-0.125f64).exp()), 1_895_147_668);
        assert_eq!(c(1.0 / 3.0), 715_827_883);
        assert_eq!(c((-0.25f64).exp()), 1_672_461_947);
        assert_eq!(c((-0.5f64).exp()), 1_302_514_674);
        assert_eq!(c((-1f64).exp()), 790_015_084);
        assert_eq!(c((-2f64).exp()), 290_630_308);
        assert_eq!(c((-4f64).exp()), 39_332_535);
        assert_eq!(c((-8f64).exp()), 720_401);
        assert_eq!(c((-16f64).exp()), 242);
        // Q2.29: 48/17 and −32/17.
        let c2 = |v: f64| (v * 2f64.powi(29)).round() as i64;
        assert_eq!(c2(48.0 / 17.0), 1_515_870_810);
        assert_eq!(c2(-32.0 / 17.0), -1_010_580_540);
    }

    #[test]
    fn srmpot_hand_cases() {
        use saturating_rounding_multiply_by_pot as s;
        // threshold for exponent 2: 2^29 − 1.
        assert_eq!(s((1 << 29) - 1, 2), ((1 << 29) - 1) << 2);
        assert_eq!(s(1 << 29, 2), i32::MAX);
        assert_eq!(s(-(1 << 29) + 1, 2), (-(1 << 29) + 1) << 2);
        assert_eq!(s(-(1 << 29), 2), i32::MIN);
        assert_eq!(s(5, -1), 3);
        assert_eq!(s(-5, -1), -3);
        assert_eq!(s(7, 0), 7);
        assert_eq!(s(1, 31), i32::MAX);
        assert_eq!(s(-1, 40), i32::MIN);
        assert_eq!(s(0, 40), 0);
    }

    proptest! {
        #[test]
        fn exp_is_within_gemmlowp_bound(a in i32::MIN..=0, ib in 0u32..=6) {
            // gemmlowp's tests allow 2^-31 · (a few hundred) on exp; use 1e-6 absolute.
            let got = q(exp_on_negative_values(a, ib), 0);
            let want = q(a, ib).exp();
            prop_assert!((got - want).abs() < 1e-6, "a {a} ib {ib}: {got} vs {want}");
        }

        #[test]
        fn logistic_and_tanh_are_accurate(a in any::<i32>(), ib in 0u32..=5) {
            let x = q(a, ib);
            let s = q(logistic(a, ib), 0);
            prop_assert!((s - 1.0 / (1.0 + (-x).exp())).abs() < 2e-6, "a {a}: {s}");
            let t = q(tanh(a, ib), 0);
            prop_assert!((t - x.tanh()).abs() < 2e-6, "a {a}: {t}");
        }

        #[test]
        fn reciprocal_is_accurate(x in 1i32..=i32::MAX, digits in 0i32..=12) {
            let (r, bits) = get_reciprocal(x, digits);
            let got = q(r, 0) * 2f64.powi(-bits);
            let want = 1.0 / q(x, digits as u32);
            prop_assert!((got / want - 1.0).abs() < 1e-6, "x {x}: {got} vs {want}");
        }

        #[test]
        fn one_over_one_plus_x_is_accurate(a in 0i32..=i32::MAX) {
            let got = q(one_over_one_plus_x_for_x_in_0_1(a), 0);
            prop_assert!((got - 1.0 / (1.0 + q(a, 0))).abs() < 1e-6);
            let got = q(one_minus_x_over_one_plus_x_for_x_in_0_1(a), 0);
            prop_assert!((got - (1.0 - q(a, 0)) / (1.0 + q(a, 0))).abs() < 1e-6);
        }
    }

    #[test]
    fn smaller_than_one() {
        assert!(quantize_multiplier_smaller_than_one(0.0).is_err());
        assert!(quantize_multiplier_smaller_than_one(-0.5).is_err());
        assert!(quantize_multiplier_smaller_than_one(f64::NAN).is_err());
        // 1 − 2^-40 rounds up to shift 1: TFLite's CHECK fails, here an error.
        assert!(quantize_multiplier_smaller_than_one(1.0 - 2f64.powi(-40)).is_err());
        let m = quantize_multiplier_smaller_than_one(0.3).unwrap();
        assert_eq!(m, quantize_multiplier(0.3).unwrap());
    }
}
