//! The crate's error type.

use core::fmt;

/// Everything a kernel or a loader can reject.
///
/// Kernels never panic on bad shapes or lengths: they return one of these.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A geometry parameter is zero, the kernel does not fit the padded input, or a size overflows
    /// `usize`. The string names the offending parameter.
    InvalidGeometry(&'static str),
    /// A slice has the wrong length for the geometry.
    LengthMismatch {
        /// Which argument (`"input"`, `"weights"`, `"bias"`, `"output"`, ...).
        what: &'static str,
        /// The length the geometry asks for.
        expected: usize,
        /// The length that was passed.
        actual: usize,
    },
    /// The scratch buffer cannot hold one im2col column (`needed` elements).
    ScratchTooSmall {
        /// Minimum number of elements.
        needed: usize,
        /// Elements provided.
        actual: usize,
    },
    /// An input that must be finite held NaN or an infinity.
    NonFinite,
    /// An empty slice where at least one element is needed (argmax, softmax).
    Empty,
    /// An int8 accumulator could overflow `i32` for this layer (see [`crate::quant`]).
    AccumulatorOverflow,
    /// Invalid quantization parameters.
    Quant(crate::quant::QuantError),
    /// A serialized model or weight buffer is malformed.
    Format(&'static str),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidGeometry(what) => write!(f, "invalid geometry: {what}"),
            Error::LengthMismatch {
                what,
                expected,
                actual,
            } => write!(f, "{what} has length {actual}, expected {expected}"),
            Error::ScratchTooSmall { needed, actual } => {
                write!(
                    f,
                    "scratch holds {actual} elements, at least {needed} needed"
                )
            }
            Error::NonFinite => f.write_str("input contains NaN or infinity"),
            Error::Empty => f.write_str("empty input"),
            Error::AccumulatorOverflow => {
                f.write_str("layer too large: the i32 accumulator could overflow")
            }
            Error::Quant(e) => write!(f, "quantization: {e}"),
            Error::Format(what) => write!(f, "malformed data: {what}"),
        }
    }
}

impl core::error::Error for Error {}

impl From<crate::quant::QuantError> for Error {
    fn from(e: crate::quant::QuantError) -> Self {
        Error::Quant(e)
    }
}

/// The value of `r`, for `const` and `static` items: a `const fn` stand-in for
/// [`Result::expect`] (which is not `const`). An `Err` stops compilation with `msg` when the item
/// is evaluated at compile time.
///
/// ```
/// use tinyconv::{error::const_expect, quant::QuantParams};
/// const INPUT: QuantParams = const_expect(QuantParams::new(1.0 / 255.0, -128), "input params");
/// assert_eq!(INPUT.zero_point(), -128);
/// ```
///
/// # Panics
/// If `r` is an `Err` (at compile time when used in a `const`/`static` initializer).
pub const fn const_expect<T: Copy, E: Copy>(r: Result<T, E>, msg: &'static str) -> T {
    match r {
        Ok(v) => v,
        Err(_) => panic!("{}", msg),
    }
}

/// Checks that `actual == expected`.
pub(crate) fn check_len(what: &'static str, expected: usize, actual: usize) -> Result<(), Error> {
    if expected == actual {
        Ok(())
    } else {
        Err(Error::LengthMismatch {
            what,
            expected,
            actual,
        })
    }
}
