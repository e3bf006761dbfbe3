//! 2-D pooling, max and average, per channel (channels never mix), with stride and padding.
//!
//! [`reference`] is the oracle; [`simd`] runs 8 channels at a time. [`Pool2d`] is the typed
//! layer whose output size is checked at compile time.

pub mod reference;
pub mod simd;

use crate::algorithm::Algorithm;
use crate::geometry::{AvgPoolDivisor, Padding, Pool2dGeometry, output_size_or_max};
use crate::quant::ActivationRange;
use crate::tensor::{Tensor, flat, flat_mut};

/// A pooling window of `KH × KW` with strides `SH`, `SW` and padding `PT`, `PB`, `PL`, `PR`.
///
/// ```
/// use tinyconv::{Pool2d, Reference};
/// let x = [[[0.0f32], [1.0], [2.0]], [[3.0], [4.0], [5.0]], [[6.0], [7.0], [8.0]]];
/// let mut y = [[[0.0f32; 1]; 2]; 2];
/// Pool2d::<2, 2, 1, 1>::max::<Reference, 3, 3, 1, 2, 2>(&x, &mut y);
/// assert_eq!(y, [[[4.0], [5.0]], [[7.0], [8.0]]]);
/// ```
///
/// A wrong output size does not compile:
///
/// ```compile_fail
/// use tinyconv::{Pool2d, Reference};
/// let x = [[[0.0f32; 1]; 4]; 4];
/// let mut y = [[[0.0f32; 1]; 3]; 3];
/// Pool2d::<2, 2, 2, 2>::max::<Reference, 4, 4, 1, 3, 3>(&x, &mut y);
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

    /// Max pooling with algorithm `A`. Fails to compile on a wrong output size.
    pub fn max<
        A: Algorithm,
        const H: usize,
        const W: usize,
        const C: usize,
        const OH: usize,
        const OW: usize,
    >(
        input: &Tensor<f32, H, W, C>,
        output: &mut Tensor<f32, OH, OW, C>,
    ) {
        const { Self::check::<H, W, OH, OW>() }
        let r = A::max_pool2d_f32(&Self::geometry(H, W, C), flat(input), flat_mut(output));
        debug_assert!(r.is_ok(), "{r:?}");
    }

    /// Average pooling with algorithm `A` and the given padding rule. Fails to compile on a wrong
    /// output size.
    pub fn avg<
        A: Algorithm,
        const H: usize,
        const W: usize,
        const C: usize,
        const OH: usize,
        const OW: usize,
    >(
        divisor: AvgPoolDivisor,
        input: &Tensor<f32, H, W, C>,
        output: &mut Tensor<f32, OH, OW, C>,
    ) {
        const { Self::check::<H, W, OH, OW>() }
        let r = A::avg_pool2d_f32(
            &Self::geometry(H, W, C),
            divisor,
            flat(input),
            flat_mut(output),
        );
        debug_assert!(r.is_ok(), "{r:?}");
    }
}

/// Global average pooling of a typed tensor: `out[c]` = mean of channel `c` over all pixels.
pub fn global_avg_pool<const H: usize, const W: usize, const C: usize>(
    input: &Tensor<f32, H, W, C>,
    output: &mut [f32; C],
) {
    const { assert!(H > 0 && W > 0 && C > 0, "empty tensor") }
    let r = reference::global_avg_pool_f32(flat(input), output);
    debug_assert!(r.is_ok(), "{r:?}");
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
    /// int8 max pooling with algorithm `A`, clamped to the fused activation `range` (input and
    /// output share scale and zero point). Fails to compile on a wrong output size.
    ///
    /// ```
    /// use tinyconv::{Pool2d, Direct, quant::ActivationRange};
    /// let x = [[[-5i8], [1]], [[7], [3]]];
    /// let mut y = [[[0i8; 1]; 1]; 1];
    /// Pool2d::<2, 2, 2, 2>::max_i8::<Direct, 2, 2, 1, 1, 1>(ActivationRange::none(), &x, &mut y);
    /// assert_eq!(y, [[[7]]]);
    /// ```
    pub fn max_i8<
        A: Algorithm,
        const H: usize,
        const W: usize,
        const C: usize,
        const OH: usize,
        const OW: usize,
    >(
        range: ActivationRange,
        input: &Tensor<i8, H, W, C>,
        output: &mut Tensor<i8, OH, OW, C>,
    ) {
        const { Self::check::<H, W, OH, OW>() }
        let r = A::max_pool2d_i8(
            &Self::geometry(H, W, C),
            range,
            flat(input),
            flat_mut(output),
        );
        debug_assert!(r.is_ok(), "{r:?}");
    }

    /// int8 average pooling with algorithm `A`, TFLite's rounding (`(sum ± n/2) / n`, padded
    /// cells not counted), clamped to `range`. Fails to compile on a wrong output size.
    pub fn avg_i8<
        A: Algorithm,
        const H: usize,
        const W: usize,
        const C: usize,
        const OH: usize,
        const OW: usize,
    >(
        range: ActivationRange,
        input: &Tensor<i8, H, W, C>,
        output: &mut Tensor<i8, OH, OW, C>,
    ) {
        const {
            Self::check::<H, W, OH, OW>();
            assert!(
                KH * KW <= reference::MAX_POOL_CELLS_I8,
                "window too large for the i32 sum"
            );
        }
        let r = A::avg_pool2d_i8(
            &Self::geometry(H, W, C),
            range,
            flat(input),
            flat_mut(output),
        );
        debug_assert!(r.is_ok(), "{r:?}");
    }
}
