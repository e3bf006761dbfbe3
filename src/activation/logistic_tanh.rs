//! LOGISTIC (sigmoid) and TANH on int8, exactly as TFLite's integer reference kernels
//! (`reference_integer_ops::Logistic` / `Tanh`, which TensorFlow Lite Micro runs), and on f32.
//!
//! The int8 input `q − zp` is rescaled to Q4.27 with `MultiplyByQuantizedMultiplier` (real
//! multiplier `s_in · 2^27`), inputs at or beyond the radius where the function saturates map
//! straight to `−128`/`127`, the rest go through gemmlowp's fixed-point
//! [`logistic`](crate::quant::fixed_point_logistic) / [`tanh`](crate::quant::fixed_point_tanh)
//! (Q0.31) and a rounding shift to the output: `RDBP(·, 23) − 128` for sigmoid (output scale
//! `1/256`, zero point `−128`), `RDBP(·, 24)` for tanh (`1/128`, `0`). The output quantization is
//! implied, as in TFLite.
//!
//! # Relation to [`quant::sigmoid_table`](crate::quant::sigmoid_table)
//! The 256-entry tables of `quant::lut` compute `σ` / `tanh` in `f32` and round once: they are
//! what desktop TFLite's default LOGISTIC/TANH kernels build (`LUTPopulate`), and equal this
//! module's result except at entries within about `1e-4` output steps of a rounding tie (see
//! the table docs). [`LogisticI8::table`] / [`TanhI8::table`] build a table from *this*
//! module's exact arithmetic instead: one load per element and bit-exact with TFLite Micro.

use crate::error::{Error, check_len};
use crate::quant::{
    QuantParams, QuantizedMultiplier, fixed_point_logistic, fixed_point_tanh,
    multiply_by_quantized_multiplier, quantize_multiplier, rounding_divide_by_pot,
};

/// Integer bits of the fixed-point input, Q4.27.
const INPUT_INTEGER_BITS: i32 = 4;

/// The input stage shared by LOGISTIC and TANH (TFLite Micro's `CalculateArithmeticOpData*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct InputStage {
    zero_point: i8,
    multiplier: QuantizedMultiplier,
    radius: i32,
}

impl InputStage {
    const fn new(input: QuantParams) -> Self {
        // real = s_in · 2^27 = q · 2^e (frexp); radius = floor(15 · 2^27 / 2^e).
        let real = input.scale() as f64 * (1u64 << (31 - INPUT_INTEGER_BITS)) as f64;
        let e = frexp_exponent(real);
        let radius = if e >= 31 {
            0
        } else {
            // 15 · 2^(27 − e) for e ≤ 30; saturated for tiny scales (TFLite: undefined).
            let shift = 27 - e;
            if shift > 27 {
                i32::MAX
            } else if shift >= 0 {
                15 << shift
            } else {
                15 >> -shift
            }
        };
        // Beyond shift 30 the radius is 0 and the multiplier is never used.
        let multiplier = match quantize_multiplier(real) {
            Ok(m) => m,
            Err(_) => QuantizedMultiplier::ZERO,
        };
        InputStage {
            zero_point: input.zero_point(),
            multiplier,
            radius,
        }
    }

    /// `Some(input in Q4.27)`, or `None` with the saturated side (`false`: low).
    #[inline]
    const fn rescale(&self, q: i8) -> Result<i32, bool> {
        let x = q as i32 - self.zero_point as i32;
        if x <= -self.radius {
            Err(false)
        } else if x >= self.radius {
            Err(true)
        } else {
            Ok(multiply_by_quantized_multiplier(x, self.multiplier))
        }
    }
}

/// The binary exponent `e` of `frexp(x) = (m, e)`, `x = m · 2^e` with `m ∈ [0.5, 1)`, for a
/// positive normal `x` (0 for anything else).
const fn frexp_exponent(x: f64) -> i32 {
    let biased = ((x.to_bits() >> 52) & 0x7ff) as i32;
    if biased == 0 || biased == 0x7ff {
        0
    } else {
        biased - 1022
    }
}

/// int8 LOGISTIC, TFLite's integer kernel: output scale `1/256`, zero point `−128`.
///
/// ```
/// use tinyconv::activation::LogisticI8;
/// use tinyconv::quant::QuantParams;
/// let s = LogisticI8::new(QuantParams::new(1.0 / 16.0, 0)?);
/// // q = 16 → x = 1 → σ = 0.731059 → 187.15 steps of 1/256 → 187 − 128 = 59.
/// assert_eq!(s.apply(16), 59);
/// assert_eq!(s.apply(0), 0); // σ(0) = 1/2 → 128 − 128
/// # Ok::<(), tinyconv::quant::QuantError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogisticI8 {
    input: InputStage,
}

impl LogisticI8 {
    /// The output quantization TFLite requires of int8 LOGISTIC.
    pub const OUTPUT: QuantParams = crate::quant::SIGMOID_OUTPUT_PARAMS;

    /// From the input quantization.
    pub const fn new(input: QuantParams) -> Self {
        LogisticI8 {
            input: InputStage::new(input),
        }
    }

    /// One element.
    #[inline]
    #[must_use]
    pub const fn apply(&self, q: i8) -> i8 {
        match self.input.rescale(q) {
            Err(high) => {
                if high {
                    i8::MAX
                } else {
                    i8::MIN
                }
            }
            Ok(x) => {
                let s = fixed_point_logistic(x, INPUT_INTEGER_BITS as u32);
                let v = rounding_divide_by_pot(s, 31 - 8) - 128;
                if v < -128 {
                    -128
                } else if v > 127 {
                    127
                } else {
                    v as i8
                }
            }
        }
    }

    /// The same function as a table for [`quant::apply_table`](crate::quant::apply_table)
    /// (`table[q + 128] = apply(q)`).
    pub const fn table(&self) -> [i8; 256] {
        let mut t = [0i8; 256];
        let mut i = 0;
        while i < 256 {
            t[i] = self.apply((i as i32 - 128) as i8);
            i += 1;
        }
        t
    }
}

/// int8 TANH, TFLite's integer kernel: output scale `1/128`, zero point `0`.
///
/// ```
/// use tinyconv::activation::TanhI8;
/// use tinyconv::quant::QuantParams;
/// let t = TanhI8::new(QuantParams::new(1.0 / 16.0, 0)?);
/// // q = 16 → x = 1 → tanh = 0.761594 → 97.48 steps of 1/128 → 97.
/// assert_eq!((t.apply(16), t.apply(-16), t.apply(0)), (97, -97, 0));
/// # Ok::<(), tinyconv::quant::QuantError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TanhI8 {
    input: InputStage,
}

impl TanhI8 {
    /// The output quantization TFLite assumes of int8 TANH.
    pub const OUTPUT: QuantParams = crate::quant::TANH_OUTPUT_PARAMS;

    /// From the input quantization.
    pub const fn new(input: QuantParams) -> Self {
        TanhI8 {
            input: InputStage::new(input),
        }
    }

    /// One element.
    #[inline]
    #[must_use]
    pub const fn apply(&self, q: i8) -> i8 {
        match self.input.rescale(q) {
            Err(high) => {
                if high {
                    i8::MAX
                } else {
                    i8::MIN
                }
            }
            Ok(x) => {
                let t = fixed_point_tanh(x, INPUT_INTEGER_BITS as u32);
                let v = rounding_divide_by_pot(t, 31 - 7);
                if v < -128 {
                    -128
                } else if v > 127 {
                    127
                } else {
                    v as i8
                }
            }
        }
    }

    /// The same function as a table (`table[q + 128] = apply(q)`).
    pub const fn table(&self) -> [i8; 256] {
        let mut t = [0i8; 256];
        let mut i = 0;
        while i < 256 {
            t[i] = self.apply((i as i32 - 128) as i8);
            i += 1;
        }
        t
    }
}

/// int8 LOGISTIC over a slice.
///
/// # Errors
/// [`Error::LengthMismatch`] unless `input` and `output` have the same length.
pub fn logistic_i8(p: &LogisticI8, input: &[i8], output: &mut [i8]) -> Result<(), Error> {
    check_len("output", input.len(), output.len())?;
    for (y, &q) in output.iter_mut().zip(input) {
        *y = p.apply(q);
    }
    Ok(())
}

/// int8 TANH over a slice.
///
/// # Errors
/// [`Error::LengthMismatch`] unless `input` and `output` have the same length.
pub fn tanh_i8(p: &TanhI8, input: &[i8], output: &mut [i8]) -> Result<(), Error> {
    check_len("output", input.len(), output.len())?;
    for (y, &q) in output.iter_mut().zip(input) {
        *y = p.apply(q);
    }
    Ok(())
}

/// f32 LOGISTIC over a slice: `1 / (1 + e^−x)` ([`sigmoid`](super::sigmoid)).
///
/// # Errors
/// [`Error::LengthMismatch`] unless `input` and `output` have the same length.
pub fn logistic_f32(input: &[f32], output: &mut [f32]) -> Result<(), Error> {
    check_len("output", input.len(), output.len())?;
    for (y, &x) in output.iter_mut().zip(input) {
        *y = super::sigmoid(x);
    }
    Ok(())
}

/// f32 TANH over a slice.
///
/// # Errors
/// [`Error::LengthMismatch`] unless `input` and `output` have the same length.
pub fn tanh_f32(input: &[f32], output: &mut [f32]) -> Result<(), Error> {
    check_len("output", input.len(), output.len())?;
    for (y, &x) in output.iter_mut().zip(input) {
        *y = num_traits::Float::tanh(x);
    }
    Ok(())
}
