//! Conversions between `f32` and `i8` (TFLite's QUANTIZE and DEQUANTIZE reference ops).

use super::QuantError;
use super::params::QuantParams;

/// `round(x)` to the nearest integer, ties away from zero (C's `roundf`), as a saturating
/// `i32`; NaN gives 0. Equal to `x.round() as i32` for every `f32`, but usable in `const fn`.
pub(super) const fn round_to_i32(x: f32) -> i32 {
    // Truncation toward zero, saturating, NaN → 0.
    let truncated = x as i32;
    // Exact: for |x| < 2^24 both operands are within a factor 2 of each other (Sterbenz) or
    // `truncated` is 0; for larger |x|, x is an integer (or out of i32 range, where the
    // saturating adds below keep the saturated value). NaN compares false below.
    let fraction = x - truncated as f32;
    if fraction >= 0.5 {
        truncated.saturating_add(1)
    } else if fraction <= -0.5 {
        truncated.saturating_sub(1)
    } else {
        truncated
    }
}

/// Quantizes one value: `q = clamp(round(x / scale) + zero_point, -128, 127)`.
///
/// As TFLite's reference `AffineQuantize`: `x / scale` is an `f32` division (not a
/// multiplication by `1 / scale`), rounded half away from zero. `±∞` and values out of range
/// saturate to `-128`/`127`.
///
/// **NaN (a decision):** TFLite's cast of NaN to `int` is undefined; here NaN maps to the zero
/// point, i.e. to the real value 0.
///
/// # Example
/// ```
/// use tinyconv::quant::{QuantParams, quantize};
///
/// let p = QuantParams::new(0.5, -10)?;
/// assert_eq!(quantize(1.25, p), -7); // 1.25 / 0.5 = 2.5 → 3, + (−10)
/// assert_eq!(quantize(-1.25, p), -13); // −2.5 → −3
/// assert_eq!(quantize(1000.0, p), 127);
/// assert_eq!(quantize(f32::NAN, p), -10);
/// # Ok::<(), tinyconv::quant::QuantError>(())
/// ```
#[inline]
#[must_use]
pub const fn quantize(x: f32, p: QuantParams) -> i8 {
    let q = round_to_i32(x / p.scale()).saturating_add(p.zero_point() as i32);
    if q < i8::MIN as i32 {
        i8::MIN
    } else if q > i8::MAX as i32 {
        i8::MAX
    } else {
        q as i8
    }
}

/// Dequantizes one value: `x = scale · (q − zero_point)`.
///
/// `q − zero_point ∈ [-255, 255]` is exact in `f32` and the product is rounded once, so this
/// equals TFLite's reference `Dequantize` (which multiplies in `f64` and casts to `f32`: the
/// `f64` product is exact, so it rounds once too).
///
/// # Example
/// ```
/// use tinyconv::quant::{QuantParams, dequantize};
///
/// let p = QuantParams::new(0.5, -10)?;
/// assert_eq!(dequantize(-7, p), 1.5);
/// assert_eq!(dequantize(-128, p), -59.0);
/// # Ok::<(), tinyconv::quant::QuantError>(())
/// ```
#[inline]
#[must_use]
pub const fn dequantize(q: i8, p: QuantParams) -> f32 {
    p.scale() * (q as i32 - p.zero_point() as i32) as f32
}

/// [`quantize`] for every element: `output[i] = quantize(input[i], p)`.
///
/// # Errors
/// [`QuantError::LengthMismatch`] if `input.len() != output.len()`; `output` is then left
/// untouched.
///
/// # Example
/// ```
/// use tinyconv::quant::{QuantParams, quantize_slice};
///
/// let p = QuantParams::new(0.25, 0)?;
/// let mut q = [0i8; 3];
/// quantize_slice(&[0.5, -0.125, 100.0], p, &mut q)?;
/// assert_eq!(q, [2, -1, 127]);
/// # Ok::<(), tinyconv::quant::QuantError>(())
/// ```
pub fn quantize_slice(input: &[f32], p: QuantParams, output: &mut [i8]) -> Result<(), QuantError> {
    check_lengths(input.len(), output.len())?;
    for (q, &x) in output.iter_mut().zip(input) {
        *q = quantize(x, p);
    }
    Ok(())
}

/// [`dequantize`] for every element: `output[i] = dequantize(input[i], p)`.
///
/// # Errors
/// [`QuantError::LengthMismatch`] if `input.len() != output.len()`; `output` is then left
/// untouched.
///
/// # Example
/// ```
/// use tinyconv::quant::{QuantParams, dequantize_slice};
///
/// let p = QuantParams::new(0.25, 4)?;
/// let mut x = [0f32; 2];
/// dequantize_slice(&[4, 8], p, &mut x)?;
/// assert_eq!(x, [0.0, 1.0]);
/// # Ok::<(), tinyconv::quant::QuantError>(())
/// ```
pub fn dequantize_slice(
    input: &[i8],
    p: QuantParams,
    output: &mut [f32],
) -> Result<(), QuantError> {
    check_lengths(input.len(), output.len())?;
    for (x, &q) in output.iter_mut().zip(input) {
        *x = dequantize(q, p);
    }
    Ok(())
}

pub(super) const fn check_lengths(input: usize, output: usize) -> Result<(), QuantError> {
    if input != output {
        return Err(QuantError::LengthMismatch {
            what: "output",
            expected: input,
            actual: output,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use num_traits::float::Float;
    use proptest::prelude::*;

    fn params(scale: f32, zero_point: i32) -> QuantParams {
        QuantParams::new(scale, zero_point).unwrap()
    }

    #[test]
    fn round_to_i32_edges() {
        // Ties away from zero.
        assert_eq!(round_to_i32(0.5), 1);
        assert_eq!(round_to_i32(-0.5), -1);
        assert_eq!(round_to_i32(2.5), 3);
        assert_eq!(round_to_i32(-2.5), -3);
        // Largest f32 below 0.5: a naive `(x + 0.5) as i32` would give 1.
        assert_eq!(round_to_i32(0.499_999_97), 0);
        assert_eq!(round_to_i32(-0.499_999_97), 0);
        // 2^23 + 1 and other integers above 2^23 stay exact.
        assert_eq!(round_to_i32(8_388_609.0), 8_388_609);
        assert_eq!(round_to_i32(16_777_216.0), 16_777_216);
        // Saturation and NaN.
        assert_eq!(round_to_i32(2_147_483_648.0), i32::MAX);
        assert_eq!(round_to_i32(3e9), i32::MAX);
        assert_eq!(round_to_i32(-3e9), i32::MIN);
        assert_eq!(round_to_i32(-2_147_483_648.0), i32::MIN);
        assert_eq!(round_to_i32(f32::INFINITY), i32::MAX);
        assert_eq!(round_to_i32(f32::NEG_INFINITY), i32::MIN);
        assert_eq!(round_to_i32(f32::NAN), 0);
        assert_eq!(round_to_i32(-0.0), 0);
    }

    #[test]
    fn quantize_hand_cases() {
        let p = params(0.5, -10);
        // x / 0.5: 0 → −10; 0.25 → 0.5 → 1 → −9; −0.25 → −1 → −11.
        assert_eq!(quantize(0.0, p), -10);
        assert_eq!(quantize(0.25, p), -9);
        assert_eq!(quantize(-0.25, p), -11);
        // 68.5 / 0.5 = 137, −10 → 127 (largest that fits); 69 → 128 → 127.
        assert_eq!(quantize(68.5, p), 127);
        assert_eq!(quantize(69.0, p), 127);
        // −59 / 0.5 = −118, −10 → −128; −60 → −130 → −128.
        assert_eq!(quantize(-59.0, p), -128);
        assert_eq!(quantize(-60.0, p), -128);
        assert_eq!(quantize(f32::INFINITY, p), 127);
        assert_eq!(quantize(f32::NEG_INFINITY, p), -128);
        assert_eq!(quantize(f32::NAN, p), -10);
        assert_eq!(quantize(f32::MAX, params(f32::MIN_POSITIVE, 0)), 127);
        // Division, not multiplication by the reciprocal: with s = 0.003 and x = 243.5 · s
        // (both f32), x / s = 243.49998 → 243, whereas x · (1 / s) = 243.5 → 244.
        let s = 0.003f32;
        let x = 243.5f32 * s;
        assert_eq!(x / s, 243.499_98);
        assert_eq!(x * (1.0 / s), 243.5);
        assert_eq!(quantize(x, params(s, -128)), 115); // 243 − 128; 244 − 128 would be 116
    }

    #[test]
    fn dequantize_hand_cases() {
        let p = params(0.5, -10);
        assert_eq!(dequantize(-10, p), 0.0);
        assert_eq!(dequantize(127, p), 68.5);
        assert_eq!(dequantize(-128, p), -59.0);
        // zp 127, q −128: q − zp = −255 is exact.
        assert_eq!(dequantize(-128, params(1.0, 127)), -255.0);
    }

    #[test]
    fn slices_check_lengths() {
        let p = params(1.0, 0);
        let mut q = [9i8; 2];
        assert_eq!(
            quantize_slice(&[1.0, 2.0, 3.0], p, &mut q),
            Err(QuantError::LengthMismatch {
                what: "output",
                expected: 3,
                actual: 2
            })
        );
        assert_eq!(q, [9, 9]);
        let mut x = [9.0f32; 3];
        assert_eq!(
            dequantize_slice(&[1, 2], p, &mut x),
            Err(QuantError::LengthMismatch {
                what: "output",
                expected: 2,
                actual: 3
            })
        );
        assert_eq!(x, [9.0; 3]);
        assert_eq!(quantize_slice(&[], p, &mut []), Ok(()));
        quantize_slice(&[1.4, -1.5], p, &mut q).unwrap();
        assert_eq!(q, [1, -2]);
        dequantize_slice(&[3, -4, 0], p, &mut x).unwrap();
        assert_eq!(x, [3.0, -4.0, 0.0]);
    }

    fn any_params() -> impl Strategy<Value = QuantParams> {
        (
            prop_oneof![
                1e-4f32..100.0,
                1e-38f32..1e-30,
                any::<u32>().prop_map(|b| {
                    let s = f32::from_bits(b & 0x7fff_ffff);
                    if s.is_finite() && s > 0.0 { s } else { 1.0 }
                })
            ],
            -128i32..=127,
        )
            .prop_map(|(s, z)| params(s, z))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]

        #[test]
        fn round_to_i32_matches_libm(bits in any::<u32>()) {
            let x = f32::from_bits(bits);
            prop_assert_eq!(round_to_i32(x), Float::round(x) as i32);
        }

        #[test]
        fn quantize_matches_tflite_formula(bits in any::<u32>(), p in any_params()) {
            let x = f32::from_bits(bits);
            let expected = if x.is_nan() {
                i32::from(p.zero_point())
            } else {
                let r = Float::round(x / p.scale()) as i64;
                r.saturating_add(i64::from(p.zero_point())).clamp(-128, 127) as i32
            };
            prop_assert_eq!(i32::from(quantize(x, p)), expected);
        }

        #[test]
        fn dequantize_then_quantize_is_identity(q in any::<i8>(), p in any_params()) {
            // Holds whenever the real value is representable: x = s·k with |k| ≤ 255 is
            // rounded once, and x / s lands within an ulp of k, far from a rounding tie.
            let x = dequantize(q, p);
            prop_assume!(x.is_finite() && (x == 0.0 || x.abs() >= f32::MIN_POSITIVE));
            prop_assert_eq!(quantize(x, p), q);
        }

        #[test]
        fn dequantize_matches_f64_reference(q in any::<i8>(), p in any_params()) {
            let reference = (f64::from(p.scale()) * f64::from(i32::from(q) - i32::from(p.zero_point()))) as f32;
            prop_assert_eq!(dequantize(q, p).to_bits(), reference.to_bits());
        }

        #[test]
        fn quantize_is_monotone(a in any::<f32>(), b in any::<f32>(), p in any_params()) {
            prop_assume!(!a.is_nan() && !b.is_nan());
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            prop_assert!(quantize(lo, p) <= quantize(hi, p));
        }
    }
}
