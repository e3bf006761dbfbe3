//! 2-D pooling, max and average, per channel (channels never mix), with stride and padding.
//!
//! [`reference`](mod@reference) is the oracle; [`simd`] runs 8 channels at a time. [`Pool2d`] is the typed
//! layer whose output size is checked at compile time.

pub mod reference;
pub mod simd;

use crate::error::Error;
use crate::geometry::{AvgPoolDivisor, Padding, Pool2dGeometry, output_size_or_max};
use crate::quant::ActivationRange;
use crate::tensor::{Tensor, flat, flat_mut};

/// The pooling kernels, one choice for max and average, f32 and int8 (pooling needs no scratch
/// and no packing).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Pool2dKernel {
    /// [`reference`](mod@reference): the oracle.
    Reference,
    /// [`simd`]: 8 (f32) or 16 (int8) channels at a time.
    Simd,
}

impl Pool2dKernel {
    /// Every kernel, the reference first.
    pub const ALL: [Self; 2] = [Self::Reference, Self::Simd];

    /// `"reference"` or `"simd"`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Reference => "reference",
            Self::Simd => "simd",
        }
    }

    /// The kernel this target runs fastest for a pooling of shape `g`.
    pub const fn select(g: &Pool2dGeometry) -> Self {
        let _ = g;
        Self::Simd
    }

    /// f32 max pooling.
    ///
    /// # Errors
    /// As [`reference::max_pool2d_f32`].
    #[inline(always)]
    pub fn max_f32(
        self,
        g: &Pool2dGeometry,
        input: &[f32],
        output: &mut [f32],
    ) -> Result<(), Error> {
        match self {
            Self::Reference => reference::max_pool2d_f32(g, input, output),
            Self::Simd => simd::max_pool2d_f32(g, input, output),
        }
    }

    /// f32 average pooling with the given padding rule.
    ///
    /// # Errors
    /// As [`reference::avg_pool2d_f32`].
    #[inline(always)]
    pub fn avg_f32(
        self,
        g: &Pool2dGeometry,
        divisor: AvgPoolDivisor,
        input: &[f32],
        output: &mut [f32],
    ) -> Result<(), Error> {
        match self {
            Self::Reference => reference::avg_pool2d_f32(g, divisor, input, output),
            Self::Simd => simd::avg_pool2d_f32(g, divisor, input, output),
        }
    }

    /// int8 max pooling clamped to `range`.
    ///
    /// # Errors
    /// As [`reference::max_pool2d_i8`].
    #[inline(always)]
    pub fn max_i8(
        self,
        g: &Pool2dGeometry,
        range: ActivationRange,
        input: &[i8],
        output: &mut [i8],
    ) -> Result<(), Error> {
        match self {
            Self::Reference => reference::max_pool2d_i8(g, range, input, output),
            Self::Simd => simd::max_pool2d_i8(g, range, input, output),
        }
    }

    /// int8 average pooling (TFLite's rounding, padding not counted) clamped to `range`.
    ///
    /// # Errors
    /// As [`reference::avg_pool2d_i8`].
    #[inline(always)]
    pub fn avg_i8(
        self,
        g: &Pool2dGeometry,
        range: ActivationRange,
        input: &[i8],
        output: &mut [i8],
    ) -> Result<(), Error> {
        match self {
            Self::Reference => reference::avg_pool2d_i8(g, range, input, output),
            Self::Simd => simd::avg_pool2d_i8(g, range, input, output),
        }
    }
}

/// A pooling window of `KH × KW` with strides `SH`, `SW` and padding `PT`, `PB`, `PL`, `PR`.
///
/// ```
/// use tinyconv::{Pool2d, pool::Pool2dKernel};
/// let x = [[[0.0f32], [1.0], [2.0]], [[3.0], [4.0], [5.0]], [[6.0], [7.0], [8.0]]];
/// let mut y = [[[0.0f32; 1]; 2]; 2];
/// Pool2d::<2, 2, 1, 1>::max(Pool2dKernel::Reference, &x, &mut y)?;
/// assert_eq!(y, [[[4.0], [5.0]], [[7.0], [8.0]]]);
/// # Ok::<(), tinyconv::Error>(())
/// ```
///
/// A wrong output size does not compile:
///
/// ```compile_fail
/// use tinyconv::{Pool2d, pool::Pool2dKernel};
/// let x = [[[0.0f32; 1]; 4]; 4];
/// let mut y = [[[0.0f32; 1]; 3]; 3];
/// Pool2d::<2, 2, 2, 2>::max(Pool2dKernel::Reference, &x, &mut y).unwrap();
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Pool2d<
    const KH: usize,
    const KW: usize,
    const SH: usize,
    const SW: usize,
    const PT: usize = 0,
    const PB: usize = 0,
    const PL: usize = 0,
    const PR: usize = 0,
>;

impl<
    const KH: usize,
    const KW: usize,
    const SH: usize,
    const SW: usize,
    const PT: usize,
    const PB: usize,
    const PL: usize,
    const PR: usize,
> Pool2d<KH, KW, SH, SW, PT, PB, PL, PR>
{
    /// The runtime geometry on an `h × w × c` input.
    pub const fn geometry(h: usize, w: usize, c: usize) -> Pool2dGeometry {
        Pool2dGeometry::new([h, w, c], [KH, KW])
            .with_stride([SH, SW])
            .with_padding(Padding::new(PT, PB, PL, PR))
    }

    const fn check<const H: usize, const W: usize, const OH: usize, const OW: usize>() {
        assert!(
            PT < KH && PB < KH && PL < KW && PR < KW,
            "pooling padding must be smaller than the window"
        );
        assert!(
            OH == output_size_or_max(H, KH, SH, PT, PB, 1),
            "wrong output height"
        );
        assert!(
            OW == output_size_or_max(W, KW, SW, PL, PR, 1),
            "wrong output width"
        );
    }

    /// Max pooling with `kernel`. Fails to compile on a wrong output size.
    ///
    /// # Errors
    /// None in practice (the shapes are checked at compile time); kernel errors are passed on.
    pub fn max<const H: usize, const W: usize, const C: usize, const OH: usize, const OW: usize>(
        kernel: Pool2dKernel,
        input: &Tensor<f32, H, W, C>,
        output: &mut Tensor<f32, OH, OW, C>,
    ) -> Result<(), Error> {
        const { Self::check::<H, W, OH, OW>() }
        kernel.max_f32(&Self::geometry(H, W, C), flat(input), flat_mut(output))
    }

    /// Average pooling with `kernel` and the given padding rule. Fails to compile on a wrong
    /// output size.
    ///
    /// # Errors
    /// None in practice (the shapes are checked at compile time); kernel errors are passed on.
    pub fn avg<const H: usize, const W: usize, const C: usize, const OH: usize, const OW: usize>(
        kernel: Pool2dKernel,
        divisor: AvgPoolDivisor,
        input: &Tensor<f32, H, W, C>,
        output: &mut Tensor<f32, OH, OW, C>,
    ) -> Result<(), Error> {
        const { Self::check::<H, W, OH, OW>() }
        kernel.avg_f32(
            &Self::geometry(H, W, C),
            divisor,
            flat(input),
            flat_mut(output),
        )
    }
}

/// Global average pooling of a typed tensor: `out[c]` = mean of channel `c` over all pixels.
///
/// # Errors
/// None in practice (the shapes are checked at compile time); kernel errors are passed on.
pub fn global_avg_pool<const H: usize, const W: usize, const C: usize>(
    input: &Tensor<f32, H, W, C>,
    output: &mut [f32; C],
) -> Result<(), Error> {
    const { assert!(H > 0 && W > 0 && C > 0, "empty tensor") }
    reference::global_avg_pool_f32(flat(input), output)
}

impl<
    const KH: usize,
    const KW: usize,
    const SH: usize,
    const SW: usize,
    const PT: usize,
    const PB: usize,
    const PL: usize,
    const PR: usize,
> Pool2d<KH, KW, SH, SW, PT, PB, PL, PR>
{
    /// int8 max pooling with `kernel`, clamped to the fused activation `range` (input and
    /// output share scale and zero point). Fails to compile on a wrong output size.
    ///
    /// ```
    /// use tinyconv::{Pool2d, pool::Pool2dKernel, quant::ActivationRange};
    /// let x = [[[-5i8], [1]], [[7], [3]]];
    /// let mut y = [[[0i8; 1]; 1]; 1];
    /// Pool2d::<2, 2, 2, 2>::max_i8(Pool2dKernel::Simd, ActivationRange::none(), &x, &mut y)?;
    /// assert_eq!(y, [[[7]]]);
    /// # Ok::<(), tinyconv::Error>(())
    /// ```
    ///
    /// # Errors
    /// None in practice (the shapes are checked at compile time); kernel errors are passed on.
    pub fn max_i8<
        const H: usize,
        const W: usize,
        const C: usize,
        const OH: usize,
        const OW: usize,
    >(
        kernel: Pool2dKernel,
        range: ActivationRange,
        input: &Tensor<i8, H, W, C>,
        output: &mut Tensor<i8, OH, OW, C>,
    ) -> Result<(), Error> {
        const { Self::check::<H, W, OH, OW>() }
        kernel.max_i8(
            &Self::geometry(H, W, C),
            range,
            flat(input),
            flat_mut(output),
        )
    }

    /// int8 average pooling with `kernel`, TFLite's rounding (`(sum ± n/2) / n`, padded
    /// cells not counted), clamped to `range`. Fails to compile on a wrong output size.
    ///
    /// # Errors
    /// None in practice (the shapes are checked at compile time); kernel errors are passed on.
    pub fn avg_i8<
        const H: usize,
        const W: usize,
        const C: usize,
        const OH: usize,
        const OW: usize,
    >(
        kernel: Pool2dKernel,
        range: ActivationRange,
        input: &Tensor<i8, H, W, C>,
        output: &mut Tensor<i8, OH, OW, C>,
    ) -> Result<(), Error> {
        const {
            Self::check::<H, W, OH, OW>();
            assert!(
                KH * KW <= reference::MAX_POOL_CELLS_I8,
                "window too large for the i32 sum"
            );
        }
        kernel.avg_i8(
            &Self::geometry(H, W, C),
            range,
            flat(input),
            flat_mut(output),
        )
    }
}
