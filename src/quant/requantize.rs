//! Fixed-point requantization: TFLite's `QuantizeMultiplier` and `MultiplyByQuantizedMultiplier`.
//!
//! A real multiplier `M ≥ 0` is stored as `M ≈ multiplier · 2^(shift − 31)` with a Q0.31
//! significand `multiplier ∈ [2^30, 2^31)` and an integer `shift`, and applied to an `i32`
//! accumulator with integer operations only. The rounding steps are those of gemmlowp's
//! `SaturatingRoundingDoublingHighMul` and `RoundingDivideByPOT`, so results are bit-exact with
//! TFLite's reference kernels (default build: [`Rounding::Double`]; `TFLITE_SINGLE_ROUNDING`
//! build: [`Rounding::Single`]) wherever TFLite's own arithmetic does not overflow; where it
//! does (undefined behaviour in C++), this module saturates.

use super::QuantError;
use super::params::ActivationRange;

/// A non-negative real multiplier in TFLite's fixed-point form,
/// `M = multiplier · 2^(shift − 31)`.
///
/// `multiplier` is a Q0.31 significand and `shift` a power-of-two exponent (positive: left
/// shift). The fields are private; every constructor enforces:
///
/// - `multiplier ∈ [0, i32::MAX]` (from [`quantize_multiplier`]: `0` or `[2^30, 2^31 − 1]`),
/// - `shift ∈ [MIN_SHIFT, MAX_SHIFT] = [-31, 30]`,
///
/// which is exactly the domain TFLite's double- and single-rounding
/// `MultiplyByQuantizedMultiplier` accept; [`multiply_by_quantized_multiplier`] is
/// panic-free for every value of this type. [`quantize_multiplier`] produces `0` and reals
/// in `[2^-32, 2^30)`.
///
/// # Example
/// ```
/// use tinyconv::quant::{QuantizedMultiplier, quantize_multiplier};
///
/// // 0.75 = 0.75 · 2^0 → significand round(0.75 · 2^31), shift 0.
/// let m = quantize_multiplier(0.75)?;
/// assert_eq!((m.multiplier(), m.shift()), (1_610_612_736, 0));
/// assert_eq!(m, QuantizedMultiplier::new(1_610_612_736, 0)?);
/// assert_eq!(m.to_f64(), 0.75);
/// # Ok::<(), tinyconv::quant::QuantError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct QuantizedMultiplier {
    multiplier: i32,
    shift: i32,
}

impl QuantizedMultiplier {
    /// Smallest accepted shift: a right shift by 31 (TFLite's `RoundingDivideByPOT` limit).
    pub const MIN_SHIFT: i32 = -31;
    /// Largest accepted shift: a left shift by 30 (TFLite's single-rounding limit; `1 << 31`
    /// overflows `int` in the double-rounding path).
    pub const MAX_SHIFT: i32 = 30;
    /// The multiplier `0` (`multiplier = 0, shift = 0`), also what tiny reals flush to.
    pub const ZERO: Self = Self {
        multiplier: 0,
        shift: 0,
    };
    /// The multiplier `1` (`2^30 · 2^(1 − 31)`), i.e. `quantize_multiplier(1.0)`.
    pub const ONE: Self = Self {
        multiplier: 1 << 30,
        shift: 1,
    };

    /// Checked constructor from a Q0.31 significand and a shift, for parameters that were
    /// computed elsewhere (a model file, golden data, a fuzzer).
    ///
    /// `multiplier` need not be normalized (`< 2^30` is accepted, as TFLite accepts it).
    ///
    /// # Errors
    /// - [`QuantError::MultiplierOutOfRange`] if `multiplier < 0`.
    /// - [`QuantError::ShiftOutOfRange`] if `shift` is outside `[-31, 30]`.
    ///
    /// # Example
    /// ```
    /// use tinyconv::quant::{QuantError, QuantizedMultiplier};
    ///
    /// assert!(QuantizedMultiplier::new(1 << 30, -31).is_ok());
    /// assert_eq!(QuantizedMultiplier::new(-1, 0), Err(QuantError::MultiplierOutOfRange));
    /// assert_eq!(
    ///     QuantizedMultiplier::new(1 << 30, 31),
    ///     Err(QuantError::ShiftOutOfRange { shift: 31 })
    /// );
    /// ```
    pub const fn new(multiplier: i32, shift: i32) -> Result<Self, QuantError> {
        if multiplier < 0 {
            return Err(QuantError::MultiplierOutOfRange);
        }
        if shift < Self::MIN_SHIFT || shift > Self::MAX_SHIFT {
            return Err(QuantError::ShiftOutOfRange { shift });
        }
        Ok(Self { multiplier, shift })
    }

    /// The Q0.31 significand, in `[0, i32::MAX]`.
    #[inline]
    #[must_use]
    pub const fn multiplier(self) -> i32 {
        self.multiplier
    }

    /// The power-of-two exponent, in `[-31, 30]` (positive: left shift).
    #[inline]
    #[must_use]
    pub const fn shift(self) -> i32 {
        self.shift
    }

    /// The represented real value `multiplier · 2^(shift − 31)`, computed exactly.
    ///
    /// # Example
    /// ```
    /// use tinyconv::quant::QuantizedMultiplier;
    ///
    /// assert_eq!(QuantizedMultiplier::ONE.to_f64(), 1.0);
    /// assert_eq!(QuantizedMultiplier::new(3 << 29, -2)?.to_f64(), 0.75 / 4.0);
    /// # Ok::<(), tinyconv::quant::QuantError>(())
    /// ```
    #[must_use]
    pub const fn to_f64(self) -> f64 {
        // shift − 31 ∈ [-62, -1]: 2^(shift − 31) is a normal f64, built from its exponent bits.
        let exponent = self.shift - 31 + 1023;
        let pow2 = f64::from_bits((exponent as u64) << 52);
        self.multiplier as f64 * pow2
    }
}

/// How [`multiply_by_quantized_multiplier_with`] rounds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Rounding {
    /// TFLite's default: gemmlowp's `SaturatingRoundingDoublingHighMul` (ties toward `+∞`)
    /// followed by `RoundingDivideByPOT` (ties away from zero). Two roundings, so a result
    /// can be 1 off the correctly rounded one. Also CMSIS-NN's default.
    #[default]
    Double,
    /// TFLite built with `TFLITE_SINGLE_ROUNDING` (and CMSIS-NN with
    /// `CMSIS_NN_USE_SINGLE_ROUNDING`): exact 64-bit product, one rounding shift,
    /// ties toward `+∞`.
    Single,
}

/// Decomposes a real multiplier like TFLite's `QuantizeMultiplier`:
/// `real ≈ multiplier · 2^(shift − 31)`.
///
/// Steps, computed exactly on the bits of `real` (a hand-written `frexp`, so this is a
/// `const fn` usable at compile time):
/// 1. `real = q · 2^shift` with `q ∈ [0.5, 1)` (`frexp`);
/// 2. `multiplier = round(q · 2^31)`, ties away from zero (C's `round`);
/// 3. if that rounding gave `2^31`, halve it and increment `shift`;
/// 4. if `shift < -31` (`real` below about `2^-32`), flush to [`QuantizedMultiplier::ZERO`]
///    (TFLite's "flush denormals to zero");
/// 5. if `shift > 30` (`real` of about `2^30` or more), reject — see below.
///
/// `real == 0.0` (either sign) and subnormal `real` give [`QuantizedMultiplier::ZERO`].
/// For every other accepted `real`, `|multiplier · 2^(shift − 31) − real| ≤ 2^-31 · real`.
///
/// # Decisions where TFLite is not uniform
/// - **shift > 30**: TFLite's double-rounding build keeps it (and its kernel then overflows
///   `1 << 31`), its single-rounding build silently clamps to `(2^31 − 1, 30)`, i.e. a wrong
///   multiplier. Real conv multipliers are `< 1`; a multiplier `≥ 2^30` means corrupt scales,
///   so it is rejected here instead.
/// - **negative real**: TFLite's double-rounding build accepts it (negative significand);
///   the spec's scales are positive, so it is rejected here.
/// - Rounding is that of the default (float) path; TFLite's optional `TFLITE_EMULATE_FLOAT`
///   path rounds exact ties of the 53-bit significand down instead.
///
/// # Errors
/// - [`QuantError::MultiplierOutOfRange`] if `real` is negative, NaN or infinite.
/// - [`QuantError::ShiftOutOfRange`] if the shift would exceed 30.
///
/// # Example
/// ```
/// use tinyconv::quant::{QuantizedMultiplier, quantize_multiplier};
///
/// // Evaluated at compile time:
/// const M: QuantizedMultiplier = match quantize_multiplier(0.25) {
///     Ok(m) => m,
///     Err(_) => panic!("bad multiplier"),
/// };
/// // 0.25 = 0.5 · 2^-1 → (2^30, -1)
/// assert_eq!((M.multiplier(), M.shift()), (1 << 30, -1));
/// // Tiny multipliers flush to zero.
/// assert_eq!(quantize_multiplier(1e-12)?, QuantizedMultiplier::ZERO);
/// # Ok::<(), tinyconv::quant::QuantError>(())
/// ```
pub const fn quantize_multiplier(real: f64) -> Result<QuantizedMultiplier, QuantError> {
    let bits = real.to_bits();
    let negative = bits >> 63 != 0;
    let biased_exponent = ((bits >> 52) & 0x7ff) as i32;
    let fraction = bits & ((1 << 52) - 1);

    if biased_exponent == 0x7ff {
        // NaN or ±∞.
        return Err(QuantError::MultiplierOutOfRange);
    }
    if bits << 1 == 0 {
        // +0.0 or -0.0.
        return Ok(QuantizedMultiplier::ZERO);
    }
    if negative {
        return Err(QuantError::MultiplierOutOfRange);
    }
    if biased_exponent == 0 {
        // Subnormal: below 2^-1022, far under the flush threshold.
        return Ok(QuantizedMultiplier::ZERO);
    }

    // frexp: real = 1.fraction · 2^(e − 1023) = (significand / 2^53) · 2^(e − 1022),
    // with significand ∈ [2^52, 2^53), so q = significand / 2^53 ∈ [0.5, 1).
    let significand = fraction | (1 << 52);
    let mut shift = biased_exponent - 1022;
    // q · 2^31 = significand / 2^22, rounded half away from zero (q > 0: half up).
    let mut q_fixed = (significand + (1 << 21)) >> 22;
    if q_fixed == 1 << 31 {
        q_fixed >>= 1;
        shift += 1;
    }
    if shift < QuantizedMultiplier::MIN_SHIFT {
        return Ok(QuantizedMultiplier::ZERO);
    }
    if shift > QuantizedMultiplier::MAX_SHIFT {
        return Err(QuantError::ShiftOutOfRange { shift });
    }
    Ok(QuantizedMultiplier {
        multiplier: q_fixed as i32,
        shift,
    })
}

/// gemmlowp's `SaturatingRoundingDoublingHighMul`: `round(a · b / 2^31)`, i.e. the high 32
/// bits of the doubled 64-bit product, rounded.
///
/// Rounding adds a nudge of `2^30` (product `≥ 0`) or `1 − 2^30` (product `< 0`) and
/// truncates toward zero, which rounds ties toward `+∞` (`0.5 → 1`, `−0.5 → 0`,
/// `−1.5 → −1`); this is also what Arm's `VQRDMULH` does. The only unrepresentable result,
/// `a = b = i32::MIN` (`+2^31`), saturates to `i32::MAX`. Defined and panic-free for all
/// inputs.
///
/// # Example
/// ```
/// use tinyconv::quant::saturating_rounding_doubling_high_mul as srdhm;
///
/// assert_eq!(srdhm(3, 1 << 30), 2); // 3 · 0.5 = 1.5 → 2
/// assert_eq!(srdhm(-3, 1 << 30), -1); // −1.5 → −1 (ties toward +∞)
/// assert_eq!(srdhm(i32::MIN, i32::MIN), i32::MAX);
/// ```
#[inline]
#[must_use]
pub const fn saturating_rounding_doubling_high_mul(a: i32, b: i32) -> i32 {
    if a == i32::MIN && b == i32::MIN {
        return i32::MAX;
    }
    // The nudge (2^30 for a · b ≥ 0, 1 − 2^30 below) and truncation toward zero equal one
    // floor: trunc((ab + 1 − 2^30) / 2^31) = −⌊(2^30 − 1 − ab) / 2^31⌋ = −⌈(−ab − 2^30) / 2^31⌉
    // = ⌊(ab + 2^30) / 2^31⌋ for ab < 0. So: add 2^30, shift right arithmetically by 31 (an
    // add, an add with carry and two shifts on a 32-bit core, where the division toward zero
    // needs a sign fix-up). |a · b| ≤ 2^62: no i64 overflow; the result fits i32 except for
    // the case handled above.
    let ab = a as i64 * b as i64;
    ((ab + (1 << 30)) >> 31) as i32
}

/// gemmlowp's `RoundingDivideByPOT`: `x / 2^exponent` rounded to nearest, ties away from zero
/// (`2.5 → 3`, `−2.5 → −3`).
///
/// TFLite uses `exponent ∈ [0, 31]`. Outside it this function is still total: `exponent ≤ 0`
/// returns `x` unchanged, and `exponent ≥ 32` returns the correctly rounded quotient (`0`,
/// except `i32::MIN / 2^32 = −0.5 → −1`). Panic-free for all inputs.
///
/// # Example
/// ```
/// use tinyconv::quant::rounding_divide_by_pot;
///
/// assert_eq!(rounding_divide_by_pot(5, 1), 3); // 2.5 → 3
/// assert_eq!(rounding_divide_by_pot(-5, 1), -3); // −2.5 → −3
/// assert_eq!(rounding_divide_by_pot(-7, 2), -2); // −1.75 → −2
/// ```
#[inline]
#[must_use]
pub const fn rounding_divide_by_pot(x: i32, exponent: i32) -> i32 {
    if exponent <= 0 {
        return x;
    }
    if exponent >= 32 {
        return if exponent == 32 && x == i32::MIN {
            -1
        } else {
            0
        };
    }
    // exponent ∈ [1, 31]: mask = 2^exponent − 1 fits i32.
    let mask = (u32::MAX >> (32 - exponent)) as i32;
    let remainder = x & mask;
    // Round up when the remainder exceeds half; for negative x an exact half must not round
    // up (toward +∞) so the threshold is one higher.
    let threshold = (mask >> 1) + (x < 0) as i32;
    (x >> exponent) + (remainder > threshold) as i32
}

/// `x · 2^left`, saturated to `i32`. Total for all inputs (`left` is `[0, 30]` in use).
/// Compares against `i32::MAX >> left` instead of `saturating_mul`, which costs a 64-bit
/// multiply on Cortex-M0.
#[inline]
const fn saturating_shift_left(x: i32, left: i32) -> i32 {
    if left <= 0 {
        return x;
    }
    if left >= 31 {
        return if x > 0 {
            i32::MAX
        } else if x < 0 {
            i32::MIN
        } else {
            0
        };
    }
    let limit = i32::MAX >> left; // 2^(31 − left) − 1; !limit = i32::MIN >> left
    if x > limit {
        i32::MAX
    } else if x < !limit {
        i32::MIN
    } else {
        x << left
    }
}

/// TFLite's `MultiplyByQuantizedMultiplier` (default, double-rounding build):
/// `x · M` with `M = m.multiplier() · 2^(m.shift() − 31)`, as
///
/// ```text
/// left  = max(shift, 0),  right = max(−shift, 0)
/// result = RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x · 2^left, multiplier), right)
/// ```
///
/// Result: within 1 of the exact `x · M` (two roundings), and equal to TFLite's output
/// whenever `x · 2^left` fits `i32`.
///
/// **Overflow (a decision):** `x · 2^left` overflows `i32` when `shift > 0` (`M ≥ 0.5`) and
/// `|x| > 2^(31 − shift)`. TFLite computes it with a plain `int` multiply marked
/// `TFLITE_NO_SANITIZE_INTEGER_OVERFLOW` — it wraps in practice (undefined behaviour in C++)
/// and can flip the sign. Here it saturates to `i32::MIN`/`i32::MAX`, so the result is
/// `SaturatingRoundingDoublingHighMul(±i32::MAX, multiplier)`: of the right sign and, for a
/// normalized multiplier (`≥ 2^30`, as [`quantize_multiplier`] makes), at least `2^30` in
/// magnitude. It is not `x · M` then, but after [`requantize_to_i8`]'s clamp the `i8` output
/// is the one exact arithmetic gives.
///
/// Panic-free for every `x` and every [`QuantizedMultiplier`].
///
/// # Example
/// ```
/// use tinyconv::quant::{multiply_by_quantized_multiplier, quantize_multiplier};
///
/// let m = quantize_multiplier(0.25)?;
/// assert_eq!(multiply_by_quantized_multiplier(1000, m), 250);
/// assert_eq!(multiply_by_quantized_multiplier(-6, m), -2); // −1.5 → −2 (ties away from 0)
/// # Ok::<(), tinyconv::quant::QuantError>(())
/// ```
#[inline]
#[must_use]
pub const fn multiply_by_quantized_multiplier(x: i32, m: QuantizedMultiplier) -> i32 {
    let left = if m.shift > 0 { m.shift } else { 0 };
    let right = if m.shift > 0 {
        0
    } else {
        0i32.saturating_sub(m.shift)
    };
    let high = saturating_rounding_doubling_high_mul(saturating_shift_left(x, left), m.multiplier);
    rounding_divide_by_pot(high, right)
}

/// TFLite's `MultiplyByQuantizedMultiplier` in the `TFLITE_SINGLE_ROUNDING` build:
/// `x · M` with one rounding,
///
/// ```text
/// total_shift = 31 − shift                      (∈ [1, 62])
/// result = (x · multiplier + 2^(total_shift − 1)) >> total_shift    (64-bit, arithmetic shift)
/// ```
///
/// i.e. `floor(x · M + 0.5)`: ties round toward `+∞` (`1.5 → 2`, `−1.5 → −1`), and the
/// result is within 0.5 of the exact `x · M`.
///
/// **Overflow (a decision):** with `shift > 0` the result can exceed `i32` (TFLite only
/// `DCHECK`s it and truncates); here it saturates to `i32::MIN`/`i32::MAX`.
///
/// Panic-free for every `x` and every [`QuantizedMultiplier`].
///
/// # Example
/// ```
/// use tinyconv::quant::{multiply_by_quantized_multiplier_single_rounding as mul, quantize_multiplier};
///
/// let m = quantize_multiplier(0.25)?;
/// assert_eq!(mul(-6, m), -1); // −1.5 → −1 (ties toward +∞)
/// # Ok::<(), tinyconv::quant::QuantError>(())
/// ```
#[inline]
#[must_use]
pub const fn multiply_by_quantized_multiplier_single_rounding(
    x: i32,
    m: QuantizedMultiplier,
) -> i32 {
    // The type invariant gives shift ∈ [-31, 30], so total_shift ∈ [1, 62]; |x · multiplier|
    // ≤ 2^62 and the rounding term ≤ 2^61, so the i64 sum cannot overflow.
    let total_shift = (31 - m.shift) as u32;
    let round = 1i64 << (total_shift - 1);
    let result = (x as i64 * m.multiplier as i64 + round) >> total_shift;
    if result > i32::MAX as i64 {
        i32::MAX
    } else if result < i32::MIN as i64 {
        i32::MIN
    } else {
        result as i32
    }
}

/// [`multiply_by_quantized_multiplier`] or
/// [`multiply_by_quantized_multiplier_single_rounding`], picked by `rounding`.
///
/// # Example
/// ```
/// use tinyconv::quant::{Rounding, multiply_by_quantized_multiplier_with as mul, quantize_multiplier};
///
/// let quarter = quantize_multiplier(0.25)?;
/// assert_eq!(mul(-6, quarter, Rounding::Double), -2);
/// assert_eq!(mul(-6, quarter, Rounding::Single), -1);
/// # Ok::<(), tinyconv::quant::QuantError>(())
/// ```
#[inline]
#[must_use]
pub const fn multiply_by_quantized_multiplier_with(
    x: i32,
    m: QuantizedMultiplier,
    rounding: Rounding,
) -> i32 {
    match rounding {
        Rounding::Double => multiply_by_quantized_multiplier(x, m),
        Rounding::Single => multiply_by_quantized_multiplier_single_rounding(x, m),
    }
}

/// The output stage of TFLite's int8 conv / depthwise conv / fully connected kernels:
///
/// ```text
/// out = clamp(MultiplyByQuantizedMultiplier(acc, m) + output_zero_point, range.min, range.max)
/// ```
///
/// `acc` is the `i32` accumulator (bias included). The zero-point addition saturates instead
/// of overflowing. Panic-free for all inputs.
///
/// # Example
/// ```
/// use tinyconv::quant::{ActivationRange, Rounding, quantize_multiplier, requantize_to_i8};
///
/// let m = quantize_multiplier(0.01)?;
/// // 1234 · 0.01 = 12.34 → 12, + zero point −5 → 7
/// assert_eq!(requantize_to_i8(1234, m, -5, ActivationRange::none(), Rounding::Double), 7);
/// // Large accumulators clamp to the activation range.
/// assert_eq!(requantize_to_i8(1 << 20, m, -5, ActivationRange::none(), Rounding::Double), 127);
/// # Ok::<(), tinyconv::quant::QuantError>(())
/// ```
#[inline]
#[must_use]
pub const fn requantize_to_i8(
    acc: i32,
    m: QuantizedMultiplier,
    output_zero_point: i8,
    range: ActivationRange,
    rounding: Rounding,
) -> i8 {
    let scaled = multiply_by_quantized_multiplier_with(acc, m, rounding);
    range.clamp(scaled.saturating_add(output_zero_point as i32))
}

/// [`requantize_to_i8`] with [`Rounding::Double`], written for 32-bit cores: one `smull`, an
/// add with carry, shifts and compares (no 64-bit division, no branch on the rounding). Equal to
/// `requantize_to_i8(acc, m, output_zero_point, range, Rounding::Double)` for every input
/// (tested against it).
#[inline(always)]
pub(crate) fn requantize_to_i8_double(
    acc: i32,
    m: QuantizedMultiplier,
    output_zero_point: i8,
    range: ActivationRange,
) -> i8 {
    let (mult, shift) = (m.multiplier, m.shift);
    let x = if shift > 0 {
        saturating_shift_left(acc, shift)
    } else {
        acc
    };
    // SaturatingRoundingDoublingHighMul; `mult ≥ 0`, so never i32::MIN · i32::MIN.
    let high = ((i64::from(x) * i64::from(mult) + (1 << 30)) >> 31) as i32;
    // RoundingDivideByPOT by `−shift ∈ [0, 31]`.
    let e = if shift < 0 { (-shift) as u32 } else { 0 };
    let scaled = if e == 0 {
        high
    } else {
        let mask = ((1u32 << e) - 1) as i32;
        let threshold = (mask >> 1) + i32::from(high < 0);
        (high >> e) + i32::from((high & mask) > threshold)
    };
    range.clamp(scaled.saturating_add(i32::from(output_zero_point)))
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use proptest::prelude::*;

    const fn qm(multiplier: i32, shift: i32) -> QuantizedMultiplier {
        match QuantizedMultiplier::new(multiplier, shift) {
            Ok(m) => m,
            Err(_) => panic!("invalid test multiplier"),
        }
    }

    fn parts(m: QuantizedMultiplier) -> (i32, i32) {
        (m.multiplier(), m.shift())
    }

    // ---- quantize_multiplier -------------------------------------------------------------

    /// Usable in const context: evaluated by the compiler.
    const HALF: QuantizedMultiplier = match quantize_multiplier(0.5) {
        Ok(m) => m,
        Err(_) => panic!("0.5 must quantize"),
    };

    #[test]
    fn quantize_multiplier_is_const() {
        // 0.5 = 0.5 · 2^0 → q_fixed = 0.5 · 2^31 = 2^30, shift 0.
        assert_eq!(parts(HALF), (1 << 30, 0));
    }

    #[test]
    fn quantize_multiplier_exact_powers_and_fractions() {
        // 1.0 = 0.5 · 2^1 → (2^30, 1).
        assert_eq!(parts(quantize_multiplier(1.0).unwrap()), (1 << 30, 1));
        assert_eq!(quantize_multiplier(1.0).unwrap(), QuantizedMultiplier::ONE);
        // 0.75 = 0.75 · 2^0 → 0.75 · 2^31 = 1_610_612_736, shift 0.
        assert_eq!(
            parts(quantize_multiplier(0.75).unwrap()),
            (1_610_612_736, 0)
        );
        // 3.0 = 0.75 · 2^2 → (1_610_612_736, 2).
        assert_eq!(parts(quantize_multiplier(3.0).unwrap()), (1_610_612_736, 2));
        // 1/3 = (2/3) · 2^-1; (2/3) · 2^31 = 1_431_655_765.33 → 1_431_655_765, shift -1.
        assert_eq!(
            parts(quantize_multiplier(1.0 / 3.0).unwrap()),
            (1_431_655_765, -1)
        );
        // 0.1 = 0.8 · 2^-3; 0.8 · 2^31 = 1_717_986_918.4 → 1_717_986_918, shift -3.
        assert_eq!(
            parts(quantize_multiplier(0.1).unwrap()),
            (1_717_986_918, -3)
        );
    }

    #[test]
    fn quantize_multiplier_zero_and_subnormal() {
        // TFLite: double_multiplier == 0 → (0, 0); -0.0 == 0 too.
        assert_eq!(quantize_multiplier(0.0), Ok(QuantizedMultiplier::ZERO));
        assert_eq!(quantize_multiplier(-0.0), Ok(QuantizedMultiplier::ZERO));
        // Smallest subnormal 2^-1074: frexp shift -1073 < -31 → flushed.
        assert_eq!(
            quantize_multiplier(f64::from_bits(1)),
            Ok(QuantizedMultiplier::ZERO)
        );
        assert_eq!(
            quantize_multiplier(f64::MIN_POSITIVE),
            Ok(QuantizedMultiplier::ZERO)
        );
    }

    #[test]
    fn quantize_multiplier_rounding_to_two_pow_31_renormalizes() {
        // real = 1 − 2^-32: frexp gives q = 1 − 2^-32, shift 0; q · 2^31 = 2^31 − 0.5, a tie,
        // rounded away from zero to 2^31 → halved to 2^30 with shift 1.
        let real = 1.0 - 2f64.powi(-32);
        assert_eq!(parts(quantize_multiplier(real).unwrap()), (1 << 30, 1));
        // real = 1 − 2^-33: q · 2^31 = 2^31 − 0.25, also rounds to 2^31 → (2^30, 1).
        let real = 1.0 - 2f64.powi(-33);
        assert_eq!(parts(quantize_multiplier(real).unwrap()), (1 << 30, 1));
        // real = 1 − 3·2^-33: q · 2^31 = 2^31 − 0.75 → 2^31 − 1, no renormalization.
        let real = 1.0 - 3.0 * 2f64.powi(-33);
        assert_eq!(parts(quantize_multiplier(real).unwrap()), (i32::MAX, 0));
        // real = 1 − 2^-31: q · 2^31 = 2^31 − 1 exactly.
        let real = 1.0 - 2f64.powi(-31);
        assert_eq!(parts(quantize_multiplier(real).unwrap()), (i32::MAX, 0));
    }

    #[test]
    fn quantize_multiplier_tiny_reals_flush_to_zero() {
        // 2^-32 = 0.5 · 2^-31 → (2^30, -31): the smallest shift kept.
        assert_eq!(
            parts(quantize_multiplier(2f64.powi(-32)).unwrap()),
            (1 << 30, -31)
        );
        // 0.75 · 2^-31 → frexp shift -31 → (1_610_612_736, -31), kept.
        assert_eq!(
            parts(quantize_multiplier(0.75 * 2f64.powi(-31)).unwrap()),
            (1_610_612_736, -31)
        );
        // 2^-33 = 0.5 · 2^-32 → shift -32 < -31 → flushed to (0, 0).
        assert_eq!(
            quantize_multiplier(2f64.powi(-33)),
            Ok(QuantizedMultiplier::ZERO)
        );
        // Just below 2^-32: (1 − 2^-32) · 2^-32 has frexp shift -32, but q · 2^31 rounds to
        // 2^31, renormalizing to shift -31: rounding rescues it from the flush.
        let real = (1.0 - 2f64.powi(-32)) * 2f64.powi(-32);
        assert_eq!(parts(quantize_multiplier(real).unwrap()), (1 << 30, -31));
        // (1 − 2^-30) · 2^-32: q · 2^31 = 2^31 − 2 → stays at shift -32 → flushed.
        let real = (1.0 - 2f64.powi(-30)) * 2f64.powi(-32);
        assert_eq!(quantize_multiplier(real), Ok(QuantizedMultiplier::ZERO));
        assert_eq!(quantize_multiplier(1e-20), Ok(QuantizedMultiplier::ZERO));
    }

    #[test]
    fn quantize_multiplier_large_shift_is_rejected() {
        // 2^29 = 0.5 · 2^30 → (2^30, 30): the largest shift accepted.
        assert_eq!(
            parts(quantize_multiplier(2f64.powi(29)).unwrap()),
            (1 << 30, 30)
        );
        // 2^30 = 0.5 · 2^31 → shift 31 → rejected.
        assert_eq!(
            quantize_multiplier(2f64.powi(30)),
            Err(QuantError::ShiftOutOfRange { shift: 31 })
        );
        // (1 − 2^-32) · 2^30 rounds up to 2^31 · 2^(30−31) → shift 31 → rejected.
        assert_eq!(
            quantize_multiplier((1.0 - 2f64.powi(-32)) * 2f64.powi(30)),
            Err(QuantError::ShiftOutOfRange { shift: 31 })
        );
        // f64::MAX = (1 − 2^-53) · 2^1024: q · 2^31 = 2^31 − 2^-22 rounds to 2^31 → shift 1025.
        assert_eq!(
            quantize_multiplier(f64::MAX),
            Err(QuantError::ShiftOutOfRange { shift: 1025 })
        );
    }

    #[test]
    fn quantize_multiplier_rejects_negative_and_non_finite() {
        for real in [
            -0.5,
            -f64::MIN_POSITIVE,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ] {
            assert_eq!(
                quantize_multiplier(real),
                Err(QuantError::MultiplierOutOfRange)
            );
        }
    }

    #[test]
    fn checked_constructor_ranges() {
        assert!(QuantizedMultiplier::new(0, -31).is_ok());
        assert!(QuantizedMultiplier::new(i32::MAX, 30).is_ok());
        assert_eq!(
            QuantizedMultiplier::new(i32::MIN, 0),
            Err(QuantError::MultiplierOutOfRange)
        );
        assert_eq!(
            QuantizedMultiplier::new(1, -32),
            Err(QuantError::ShiftOutOfRange { shift: -32 })
        );
        assert_eq!(
            QuantizedMultiplier::new(1, i32::MIN),
            Err(QuantError::ShiftOutOfRange { shift: i32::MIN })
        );
        // 2^30 · 2^(−31 − 31) = 2^-32.
        assert_eq!(qm(1 << 30, -31).to_f64(), 2f64.powi(-32));
        // (2^31 − 1) · 2^(30 − 31) = 2^30 − 0.5.
        assert_eq!(qm(i32::MAX, 30).to_f64(), 2f64.powi(30) - 0.5);
    }

    // ---- saturating_rounding_doubling_high_mul --------------------------------------------

    #[test]
    fn srdhm_hand_cases() {
        use saturating_rounding_doubling_high_mul as srdhm;
        // (−2^31)·(−2^31)·2 / 2^32 = 2^31: the only overflow → i32::MAX.
        assert_eq!(srdhm(i32::MIN, i32::MIN), i32::MAX);
        // (−2^31)·(2^31 − 1) / 2^31 = −2^31 + 1 exactly.
        assert_eq!(srdhm(i32::MIN, i32::MAX), -2_147_483_647);
        assert_eq!(srdhm(i32::MAX, i32::MIN), -2_147_483_647);
        // (2^31 − 1)^2 / 2^31 = 2^31 − 2 + 2^-31 → 2^31 − 2.
        assert_eq!(srdhm(i32::MAX, i32::MAX), 2_147_483_646);
        // 2^30 · 2^30 / 2^31 = 2^29 exactly.
        assert_eq!(srdhm(1 << 30, 1 << 30), 1 << 29);
        // Ties: 1 · 2^30 / 2^31 = 0.5 → 1; −0.5 → 0; 1.5 → 2; −1.5 → −1 (toward +∞).
        assert_eq!(srdhm(1, 1 << 30), 1);
        assert_eq!(srdhm(-1, 1 << 30), 0);
        assert_eq!(srdhm(3, 1 << 30), 2);
        assert_eq!(srdhm(-3, 1 << 30), -1);
        assert_eq!(srdhm(1 << 30, -3), -1);
        // Non-ties: 5 · 2^29 / 2^31 = 1.25 → 1; −1.25 → −1; −7/4 = −1.75 → −2.
        assert_eq!(srdhm(5, 1 << 29), 1);
        assert_eq!(srdhm(-5, 1 << 29), -1);
        assert_eq!(srdhm(-7, 1 << 29), -2);
        assert_eq!(srdhm(0, i32::MIN), 0);
        assert_eq!(srdhm(i32::MIN, 0), 0);
    }

    // ---- rounding_divide_by_pot -----------------------------------------------------------

    #[test]
    fn rounding_divide_by_pot_hand_cases() {
        use rounding_divide_by_pot as rdbp;
        // Ties away from zero: 2.5 → 3, −2.5 → −3, 1.5 → 2, −1.5 → −2, ±0.5 → ±1.
        assert_eq!(rdbp(5, 1), 3);
        assert_eq!(rdbp(-5, 1), -3);
        assert_eq!(rdbp(6, 2), 2);
        assert_eq!(rdbp(-6, 2), -2);
        assert_eq!(rdbp(1, 1), 1);
        assert_eq!(rdbp(-1, 1), -1);
        // Non-ties: 7/4 = 1.75 → 2, −1.75 → −2, 5/4 = 1.25 → 1, −0.25 → 0.
        assert_eq!(rdbp(7, 2), 2);
        assert_eq!(rdbp(-7, 2), -2);
        assert_eq!(rdbp(5, 2), 1);
        assert_eq!(rdbp(-5, 2), -1);
        assert_eq!(rdbp(-1, 2), 0);
        // exponent 31: −2^31 / 2^31 = −1; (2^31 − 1) / 2^31 ≈ 0.99999 → 1; ±2^30 / 2^31 = ±0.5 → ±1.
        assert_eq!(rdbp(i32::MIN, 31), -1);
        assert_eq!(rdbp(i32::MAX, 31), 1);
        assert_eq!(rdbp(1 << 30, 31), 1);
        assert_eq!(rdbp(-(1 << 30), 31), -1);
        assert_eq!(rdbp((1 << 30) - 1, 31), 0);
        // Outside gemmlowp's [0, 31]: identity for ≤ 0, correctly rounded beyond 31.
        assert_eq!(rdbp(12345, 0), 12345);
        assert_eq!(rdbp(12345, -3), 12345);
        assert_eq!(rdbp(i32::MIN, 32), -1); // −0.5 → −1
        assert_eq!(rdbp(i32::MAX, 32), 0); // 0.4999… → 0
        assert_eq!(rdbp(i32::MIN, 33), 0); // −0.25 → 0
        assert_eq!(rdbp(i32::MIN, i32::MAX), 0);
        assert_eq!(rdbp(i32::MAX, i32::MIN), i32::MAX);
    }

    #[test]
    fn saturating_shift_left_edges() {
        // 2^30 − 1 is the largest x with x · 2 in range; 2^30 · 2 = 2^31 saturates.
        assert_eq!(saturating_shift_left((1 << 30) - 1, 1), i32::MAX - 1);
        assert_eq!(saturating_shift_left(1 << 30, 1), i32::MAX);
        // −2^30 · 2 = −2^31 fits exactly; one less saturates.
        assert_eq!(saturating_shift_left(-(1 << 30), 1), i32::MIN);
        assert_eq!(saturating_shift_left(-(1 << 30) - 1, 1), i32::MIN);
        assert_eq!(saturating_shift_left(-1, 30), -(1 << 30));
        assert_eq!(saturating_shift_left(-2, 30), i32::MIN);
        assert_eq!(saturating_shift_left(-3, 30), i32::MIN);
        assert_eq!(saturating_shift_left(1, 30), 1 << 30);
        assert_eq!(saturating_shift_left(2, 30), i32::MAX);
        assert_eq!(saturating_shift_left(7, 0), 7);
        assert_eq!(saturating_shift_left(7, -5), 7);
        assert_eq!(saturating_shift_left(1, 31), i32::MAX);
        assert_eq!(saturating_shift_left(0, i32::MAX), 0);
        assert_eq!(saturating_shift_left(-1, i32::MAX), i32::MIN);
        for left in 0..=30 {
            for x in [i32::MIN, -65_537, -3, -1, 0, 1, 5, 70_000, i32::MAX] {
                let exact = i64::from(x) << left;
                let expected = exact.clamp(i32::MIN.into(), i32::MAX.into()) as i32;
                assert_eq!(saturating_shift_left(x, left), expected, "{x} << {left}");
            }
        }
    }

    // ---- multiply_by_quantized_multiplier ------------------------------------------------

    #[test]
    fn multiply_hand_cases_right_shift() {
        let half = qm(1 << 30, 0); // 0.5
        let quarter = qm(1 << 30, -1); // 0.25
        // 100 · 0.5 = 50 exactly (SRDHM exact, no right shift).
        assert_eq!(multiply_by_quantized_multiplier(100, half), 50);
        // 3 · 0.5 = 1.5: SRDHM ties toward +∞ → 2; single: (3·2^30 + 2^30) >> 31 = 2.
        assert_eq!(multiply_by_quantized_multiplier(3, half), 2);
        assert_eq!(multiply_by_quantized_multiplier_single_rounding(3, half), 2);
        // −3 · 0.5 = −1.5: SRDHM → −1 (toward +∞) and no right shift → −1;
        // single: (−3·2^30 + 2^30) >> 31 = −2^31 >> 31 = −1.
        assert_eq!(multiply_by_quantized_multiplier(-3, half), -1);
        assert_eq!(
            multiply_by_quantized_multiplier_single_rounding(-3, half),
            -1
        );
        // 6 · 0.25 = 1.5: SRDHM(6, 2^30) = 3 exact, RDBPOT(3, 1) = 1.5 → 2;
        // single: (6·2^30 + 2^31) >> 32 = 2^33 >> 32 = 2.
        assert_eq!(multiply_by_quantized_multiplier(6, quarter), 2);
        assert_eq!(
            multiply_by_quantized_multiplier_single_rounding(6, quarter),
            2
        );
        // −6 · 0.25 = −1.5: SRDHM = −3, RDBPOT(−3, 1) = −1.5 → −2 (away from zero);
        // single: (−6·2^30 + 2^31) >> 32 = −2^32 >> 32 = −1 (toward +∞). The variants differ.
        assert_eq!(multiply_by_quantized_multiplier(-6, quarter), -2);
        assert_eq!(
            multiply_by_quantized_multiplier_single_rounding(-6, quarter),
            -1
        );
        // 1000 · 0.25 = 250.
        assert_eq!(multiply_by_quantized_multiplier(1000, quarter), 250);
        assert_eq!(multiply_by_quantized_multiplier(-1000, quarter), -250);
    }

    #[test]
    fn double_rounding_error_case() {
        // M = (2^30 − 1) · 2^(−1 − 31), just under 0.25. x = 6: exact = 1.5 − 6·2^-32 → 1.
        let m = qm((1 << 30) - 1, -1);
        // Double: SRDHM(6, 2^30 − 1) = 3 − 6·2^-31 → 3, then RDBPOT(3, 1) = 1.5 → 2.
        assert_eq!(multiply_by_quantized_multiplier(6, m), 2);
        // Single: (6·(2^30 − 1) + 2^31) >> 32 = (2^33 − 6) >> 32 = 1: correctly rounded.
        assert_eq!(multiply_by_quantized_multiplier_single_rounding(6, m), 1);
    }

    #[test]
    fn multiply_extreme_shifts() {
        // shift −31, multiplier 2^30: M = 2^-32.
        let tiny = qm(1 << 30, -31);
        // i32::MIN · 2^-32 = −0.5. Double: SRDHM(−2^31, 2^30) = −2^30 exact, RDBPOT(−2^30, 31)
        // = −0.5 → −1. Single: (−2^61 + 2^61) >> 62 = 0.
        assert_eq!(multiply_by_quantized_multiplier(i32::MIN, tiny), -1);
        assert_eq!(
            multiply_by_quantized_multiplier_single_rounding(i32::MIN, tiny),
            0
        );
        // i32::MAX · 2^-32 = 0.49999999977 → correctly rounded 0. Double rounding:
        // SRDHM(2^31 − 1, 2^30) = 2^30 − 0.5 → 2^30 (tie toward +∞), then
        // RDBPOT(2^30, 31) = 0.5 → 1 (tie away from zero): off by one. Single: 0.
        assert_eq!(multiply_by_quantized_multiplier(i32::MAX, tiny), 1);
        assert_eq!(
            multiply_by_quantized_multiplier_single_rounding(i32::MAX, tiny),
            0
        );

        // shift 30, multiplier 2^30: M = 2^29.
        let big = qm(1 << 30, 30);
        // 1 · 2^29: left shift 2^30, SRDHM(2^30, 2^30) = 2^29.
        assert_eq!(multiply_by_quantized_multiplier(1, big), 1 << 29);
        assert_eq!(
            multiply_by_quantized_multiplier_single_rounding(1, big),
            1 << 29
        );
        assert_eq!(multiply_by_quantized_multiplier(-2, big), -(1 << 30));
        // 4 · 2^29 = 2^31 overflows i32. Double: 4 · 2^30 saturates to 2^31 − 1, then
        // SRDHM(2^31 − 1, 2^30) = 2^30 − 0.5 → 2^30. Single: 2^31 saturates to i32::MAX.
        assert_eq!(multiply_by_quantized_multiplier(4, big), 1 << 30);
        assert_eq!(
            multiply_by_quantized_multiplier_single_rounding(4, big),
            i32::MAX
        );
        assert_eq!(
            multiply_by_quantized_multiplier_single_rounding(-5, big),
            i32::MIN
        );
        // Saturating left shift of i32::MIN: SRDHM(−2^31, 2^30) = −2^30.
        assert_eq!(multiply_by_quantized_multiplier(i32::MIN, big), -(1 << 30));
    }

    #[test]
    fn multiply_multiplier_near_two_pow_31() {
        // multiplier 2^31 − 1, shift 0: M = 1 − 2^-31.
        let m = qm(i32::MAX, 0);
        // (2^31 − 1)·(1 − 2^-31) = 2^31 − 2 + 2^-31 → 2^31 − 2.
        assert_eq!(multiply_by_quantized_multiplier(i32::MAX, m), 2_147_483_646);
        assert_eq!(
            multiply_by_quantized_multiplier_single_rounding(i32::MAX, m),
            2_147_483_646
        );
        // −2^31·(1 − 2^-31) = −2^31 + 1 exactly.
        assert_eq!(
            multiply_by_quantized_multiplier(i32::MIN, m),
            -2_147_483_647
        );
        assert_eq!(
            multiply_by_quantized_multiplier_single_rounding(i32::MIN, m),
            -2_147_483_647
        );
        // 1·(1 − 2^-31) → 1; −1·(1 − 2^-31) → −1.
        assert_eq!(multiply_by_quantized_multiplier(1, m), 1);
        assert_eq!(multiply_by_quantized_multiplier(-1, m), -1);
        // The multiplier from the 2^31 edge case: quantize_multiplier(1 − 2^-32) = (2^30, 1),
        // i.e. exactly 1.0, applied as a left shift by 1 then a multiply by 0.5.
        let edge = quantize_multiplier(1.0 - 2f64.powi(-32)).unwrap();
        assert_eq!(multiply_by_quantized_multiplier(-12345, edge), -12345);
        assert_eq!(multiply_by_quantized_multiplier(1 << 30, edge), 1 << 30);
        // |x| > 2^30 overflows that left shift: it saturates to ±(2^31 − 1) / −2^31, and the
        // multiply by 0.5 gives ±2^30 (TFLite wraps here). Single rounding has no left shift.
        // SRDHM(2^31 − 1, 2^30) = 2^30 − 0.5 → 2^30 (tie toward +∞); SRDHM(−2^31, 2^30) = −2^30.
        assert_eq!(multiply_by_quantized_multiplier(i32::MAX, edge), 1 << 30);
        assert_eq!(multiply_by_quantized_multiplier(i32::MIN, edge), -(1 << 30));
        assert_eq!(
            multiply_by_quantized_multiplier_single_rounding(i32::MAX, edge),
            i32::MAX
        );
        assert_eq!(
            multiply_by_quantized_multiplier_single_rounding(i32::MIN, edge),
            i32::MIN
        );
    }

    #[test]
    fn zero_multiplier_gives_zero() {
        for x in [i32::MIN, -1, 0, 1, i32::MAX] {
            assert_eq!(
                multiply_by_quantized_multiplier(x, QuantizedMultiplier::ZERO),
                0
            );
            assert_eq!(
                multiply_by_quantized_multiplier_single_rounding(x, QuantizedMultiplier::ZERO),
                0
            );
        }
    }

    #[test]
    fn requantize_to_i8_clamps_and_saturates() {
        let one = QuantizedMultiplier::ONE;
        let relu = ActivationRange::new(-10, 100).unwrap();
        // acc · 1 + zp, then clamp.
        assert_eq!(requantize_to_i8(5, one, 3, relu, Rounding::Double), 8);
        assert_eq!(requantize_to_i8(-50, one, 3, relu, Rounding::Double), -10);
        assert_eq!(requantize_to_i8(500, one, 3, relu, Rounding::Single), 100);
        // Single rounding: i32::MAX · 1 = i32::MAX, + 127 saturates (a wrap would give −128).
        assert_eq!(
            requantize_to_i8(
                i32::MAX,
                one,
                127,
                ActivationRange::none(),
                Rounding::Single
            ),
            127
        );
        // Double rounding: the saturated left shift gives 2^30 (see above), still clamped to 127.
        assert_eq!(
            requantize_to_i8(
                i32::MAX,
                one,
                127,
                ActivationRange::none(),
                Rounding::Double
            ),
            127
        );
        assert_eq!(
            requantize_to_i8(
                i32::MIN,
                one,
                -128,
                ActivationRange::none(),
                Rounding::Single
            ),
            -128
        );
    }

    // ---- wide-integer models ---------------------------------------------------------------

    /// `round(v / 2^k)` with ties toward +∞, on exact integers.
    fn model_round_half_up(v: i128, k: u32) -> i128 {
        (v + (1i128 << k) / 2).div_euclid(1i128 << k)
    }

    /// `round(v / 2^k)` with ties away from zero, on exact integers.
    fn model_round_half_away(v: i128, k: u32) -> i128 {
        if k == 0 {
            return v;
        }
        let magnitude = (v.abs() + (1i128 << (k - 1))) >> k;
        if v < 0 { -magnitude } else { magnitude }
    }

    fn model_clamp_i32(v: i128) -> i128 {
        v.clamp(i32::MIN.into(), i32::MAX.into())
    }

    fn model_srdhm(a: i32, b: i32) -> i32 {
        let exact = model_round_half_up(i128::from(a) * i128::from(b), 31);
        model_clamp_i32(exact) as i32
    }

    fn model_double(x: i32, m: QuantizedMultiplier) -> i32 {
        let left = m.shift().max(0) as u32;
        let right = (-m.shift()).max(0) as u32;
        let shifted = model_clamp_i32(i128::from(x) << left);
        let high = model_round_half_up(shifted * i128::from(m.multiplier()), 31);
        let high = model_clamp_i32(high);
        model_round_half_away(high, right) as i32
    }

    fn model_single(x: i32, m: QuantizedMultiplier) -> i32 {
        let total = (31 - m.shift()) as u32;
        model_clamp_i32(model_round_half_up(
            i128::from(x) * i128::from(m.multiplier()),
            total,
        )) as i32
    }

    fn any_multiplier() -> impl Strategy<Value = QuantizedMultiplier> {
        prop_oneof![
            // Normalized significands, as quantize_multiplier produces.
            ((1i32 << 30)..=i32::MAX, -31i32..=30).prop_map(|(m, s)| qm(m, s)),
            // Anything the checked constructor accepts.
            (0i32..=i32::MAX, -31i32..=30).prop_map(|(m, s)| qm(m, s)),
            // Edges.
            (
                prop::sample::select(&[0, 1, 1 << 30, i32::MAX - 1, i32::MAX][..]),
                prop::sample::select(&[-31, -30, -1, 0, 1, 29, 30][..])
            )
                .prop_map(|(m, s)| qm(m, s)),
        ]
    }

    fn any_x() -> impl Strategy<Value = i32> {
        prop_oneof![
            any::<i32>(),
            -70_000i32..70_000,
            prop::sample::select(&[i32::MIN, i32::MIN + 1, -1, 0, 1, i32::MAX - 1, i32::MAX][..]),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        #[test]
        fn requantize_double_fast_path_equals_the_general_one(
            acc in prop_oneof![any::<i32>(), -100_000i32..100_000, Just(i32::MIN), Just(i32::MAX)],
            mult in prop_oneof![0i32..=i32::MAX, (1i32 << 30)..=i32::MAX, Just(0), Just(i32::MAX)],
            shift in QuantizedMultiplier::MIN_SHIFT..=QuantizedMultiplier::MAX_SHIFT,
            zp in any::<i8>(),
            (lo, hi) in (any::<i8>(), any::<i8>()),
        ) {
            let m = QuantizedMultiplier::new(mult, shift).unwrap();
            let range = ActivationRange::new(lo.min(hi), lo.max(hi)).unwrap();
            prop_assert_eq!(
                requantize_to_i8_double(acc, m, zp, range),
                requantize_to_i8(acc, m, zp, range, Rounding::Double)
            );
        }

        #[test]
        fn srdhm_matches_model(a in any_x(), b in any_x()) {
            prop_assert_eq!(saturating_rounding_doubling_high_mul(a, b), model_srdhm(a, b));
        }

        #[test]
        fn rounding_divide_by_pot_matches_model(x in any_x(), e in -3i32..40) {
            let k = e.max(0) as u32;
            let expected = model_round_half_away(i128::from(x), k) as i32;
            prop_assert_eq!(rounding_divide_by_pot(x, e), expected);
        }

        #[test]
        fn double_rounding_matches_model(x in any_x(), m in any_multiplier()) {
            prop_assert_eq!(multiply_by_quantized_multiplier(x, m), model_double(x, m));
            prop_assert_eq!(
                multiply_by_quantized_multiplier_with(x, m, Rounding::Double),
                model_double(x, m)
            );
        }

        #[test]
        fn single_rounding_matches_model(x in any_x(), m in any_multiplier()) {
            prop_assert_eq!(multiply_by_quantized_multiplier_single_rounding(x, m), model_single(x, m));
            prop_assert_eq!(
                multiply_by_quantized_multiplier_with(x, m, Rounding::Single),
                model_single(x, m)
            );
        }

        /// Without saturation, double rounding is within 1 of the exact product and single
        /// rounding within 1/2 (checked in units of 2^-62 to stay exact).
        #[test]
        fn results_are_close_to_exact(x in any_x(), m in any_multiplier()) {
            let exact_scaled = (i128::from(x) * i128::from(m.multiplier())) << (m.shift() + 31);
            let unit: i128 = 1 << 62; // exact = exact_scaled / 2^62
            let in_range = exact_scaled.abs() < (i128::from(i32::MAX) << 62);
            let left_fits = (i128::from(x) << m.shift().max(0)).abs() <= i128::from(i32::MAX);
            if in_range && left_fits {
                let double = i128::from(multiply_by_quantized_multiplier(x, m)) * unit;
                prop_assert!((double - exact_scaled).abs() <= unit);
            }
            if in_range {
                let single = i128::from(multiply_by_quantized_multiplier_single_rounding(x, m)) * unit;
                prop_assert!((single - exact_scaled).abs() <= unit / 2);
            }
        }

        /// With a normalized multiplier, the int8 output stage is within one step of the
        /// correctly rounded exact result for every accumulator (overflow included), and
        /// single rounding is exactly `clamp(floor(x·M + 1/2) + zp)`.
        #[test]
        fn requantize_to_i8_matches_exact_arithmetic(
            x in any_x(),
            multiplier in (1i32 << 30)..=i32::MAX,
            shift in -31i32..=30,
            zp in any::<i8>(),
        ) {
            let m = qm(multiplier, shift);
            let range = ActivationRange::none();
            // exact = x · multiplier · 2^(shift − 31) = exact_scaled / 2^62
            let exact_scaled = (i128::from(x) * i128::from(multiplier)) << (shift + 31);
            let rounded = model_round_half_up(exact_scaled, 62);
            let expected = (rounded + i128::from(zp)).clamp(-128, 127) as i32;
            let single = i32::from(requantize_to_i8(x, m, zp, range, Rounding::Single));
            prop_assert_eq!(single, expected);
            let double = i32::from(requantize_to_i8(x, m, zp, range, Rounding::Double));
            prop_assert!((double - expected).abs() <= 1, "{} vs {}", double, expected);
        }

        /// multiplier · 2^(shift − 31) is within 2^-31 relative of the real (for reals not
        /// flushed to zero), and the significand is normalized.
        #[test]
        fn quantize_multiplier_round_trip(
            mantissa in 0.5f64..1.0,
            exponent in -34i32..=31,
        ) {
            let real = mantissa * 2f64.powi(exponent);
            match quantize_multiplier(real) {
                Ok(m) if m == QuantizedMultiplier::ZERO => {
                    // Flushed: only below 2^-32.
                    prop_assert!(real < 2f64.powi(-32));
                }
                Ok(m) => {
                    prop_assert!(m.multiplier() >= 1 << 30);
                    prop_assert!((-31..=30).contains(&m.shift()));
                    let back = m.to_f64();
                    prop_assert!((back - real).abs() <= real * 2f64.powi(-31), "{real} → {back}");
                }
                Err(e) => {
                    prop_assert_eq!(e, QuantError::ShiftOutOfRange { shift: 31 });
                    prop_assert!(real >= (1.0 - 2f64.powi(-32)) * 2f64.powi(30));
                }
            }
        }

        /// The hand-written frexp agrees with an f64 reconstruction for all finite positive
        /// normal reals in range.
        #[test]
        fn quantize_multiplier_bits_agree_with_float_frexp(bits in 0x3DF0_0000_0000_0000u64..0x41D0_0000_0000_0000) {
            // Reals in [2^-32, 2^30): never flushed, never rejected unless rounding pushes the
            // shift to 31.
            let real = f64::from_bits(bits);
            let exponent = real.log2().floor() as i32 + 1; // frexp exponent
            let q = real / 2f64.powi(exponent);            // frexp fraction, exact
            prop_assume!((0.5..1.0).contains(&q));
            let q_fixed = (q * 2f64.powi(31)).round() as i64; // C `round`: ties away from zero
            let (expect_m, expect_s) = if q_fixed == 1 << 31 {
                (q_fixed / 2, exponent + 1)
            } else {
                (q_fixed, exponent)
            };
            match quantize_multiplier(real) {
                Ok(m) => prop_assert_eq!((i64::from(m.multiplier()), m.shift()), (expect_m, expect_s)),
                Err(e) => prop_assert_eq!(e, QuantError::ShiftOutOfRange { shift: expect_s }),
            }
        }

        /// The checked constructor accepts exactly [0, i32::MAX] × [-31, 30], and everything
        /// it accepts is panic-free in both rounding modes.
        #[test]
        fn checked_constructor_is_exact_and_total(multiplier in any::<i32>(), shift in any::<i32>(), x in any::<i32>()) {
            let shift = if shift % 2 == 0 { shift % 40 } else { shift };
            match QuantizedMultiplier::new(multiplier, shift) {
                Ok(m) => {
                    prop_assert!(multiplier >= 0 && (-31..=30).contains(&shift));
                    let _ = multiply_by_quantized_multiplier(x, m);
                    let _ = multiply_by_quantized_multiplier_single_rounding(x, m);
                }
                Err(_) => prop_assert!(multiplier < 0 || !(-31..=30).contains(&shift)),
            }
        }
    }
}
