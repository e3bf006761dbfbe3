//! The reference convolution: plain loops straight from the formula. It is the oracle every
//! other algorithm is tested against, so it stays simple: no SIMD, no tiling, no reordering.

use core::ops::{Add, Mul};

use num_traits::Zero;

use crate::activation::Activation;
use crate::error::Error;
use crate::geometry::Conv2dGeometry;

/// Convolution over any element type with a caller-chosen accumulator:
/// `out[y][x][o] = finish(o, fold(init(o), mac, taps))` where `mac(acc, input, weight)` is
/// applied to every tap inside the image in the order `(i, j, c)`; padded taps are skipped (they
/// contribute nothing, as zero input does for f32 and as TFLite's int8 kernels require).
///
/// This is the generic core of the f32 and int8 references. Layouts as in [`Conv2dGeometry`].
///
/// # Errors
/// [`Error::InvalidGeometry`] or [`Error::LengthMismatch`] (nothing is written then).
pub fn conv2d_with<X: Copy, W: Copy, A, O>(
    g: &Conv2dGeometry,
    input: &[X],
    weights: &[W],
    output: &mut [O],
    init: impl Fn(usize) -> A,
    mac: impl Fn(A, X, W) -> A,
    finish: impl Fn(usize, A) -> O,
) -> Result<(), Error> {
    let d = g.check(input.len(), weights.len(), None, output.len())?;
    for oy in 0..d.out_h {
        for ox in 0..d.out_w {
            for o in 0..g.out_c {
                let mut acc = init(o);
                for i in 0..g.kernel_h {
                    let Some(iy) = g.input_row(oy, i) else {
                        continue;
                    };
                    for j in 0..g.kernel_w {
                        let Some(ix) = g.input_col(ox, j) else {
                            continue;
                        };
                        for c in 0..g.in_c {
                            let x = input[(iy * g.in_w + ix) * g.in_c + c];
                            let w = weights[((o * g.kernel_h + i) * g.kernel_w + j) * g.in_c + c];
                            acc = mac(acc, x, w);
                        }
                    }
                }
                output[(oy * d.out_w + ox) * g.out_c + o] = finish(o, acc);
            }
        }
    }
    Ok(())
}

/// Convolution over any numeric type: `out = bias + Σ w·x` (cross-correlation, as PyTorch and
/// TFLite), bias optional.
///
/// ```
/// use tinyconv::{Conv2dGeometry, conv::reference};
/// // The chapter's corr2d: X = 0..9 as 3×3, K = [[0, 1], [2, 3]].
/// let x: [i32; 9] = core::array::from_fn(|i| i as i32);
/// let mut y = [0i32; 4];
/// let g = Conv2dGeometry::new([3, 3, 1], 1, [2, 2]);
/// reference::conv2d(&g, &x, &[0, 1, 2, 3], None, &mut y).unwrap();
/// assert_eq!(y, [19, 25, 37, 43]);
/// ```
///
/// # Errors
/// [`Error::InvalidGeometry`] or [`Error::LengthMismatch`].
pub fn conv2d<T>(
    g: &Conv2dGeometry,
    input: &[T],
    weights: &[T],
    bias: Option<&[T]>,
    output: &mut [T],
) -> Result<(), Error>
where
    T: Copy + Zero + Add<Output = T> + Mul<Output = T>,
{
    g.check(
        input.len(),
        weights.len(),
        bias.map(<[T]>::len),
        output.len(),
    )?;
    conv2d_with(
        g,
        input,
        weights,
        output,
        |o| bias.map_or(T::zero(), |b| b[o]),
        |acc, x, w| acc + x * w,
        |_, acc| acc,
    )
}

/// f32 convolution with a fused activation: `out = act(bias + Σ w·x)`.
///
/// # Errors
/// [`Error::InvalidGeometry`] or [`Error::LengthMismatch`].
pub fn conv2d_f32(
    g: &Conv2dGeometry,
    input: &[f32],
    weights: &[f32],
    bias: Option<&[f32]>,
    act: Activation,
    output: &mut [f32],
) -> Result<(), Error> {
    g.check(
        input.len(),
        weights.len(),
        bias.map(<[f32]>::len),
        output.len(),
    )?;
    conv2d_with(
        g,
        input,
        weights,
        output,
        |o| bias.map_or(0.0, |b| b[o]),
        |acc, x, w| acc + x * w,
        |_, acc| act.apply(acc),
    )
}
