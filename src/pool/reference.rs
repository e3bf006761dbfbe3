//! Reference pooling: plain loops over each window, channel by channel.

use crate::error::Error;
use crate::geometry::{AvgPoolDivisor, Pool2dGeometry};
use crate::quant::ActivationRange;

/// Max pooling over any ordered type: `out[y][x][c] = max over the window cells inside the image`
/// (padded cells never win). Channels never mix.
///
/// ```
/// use tinyconv::{Pool2dGeometry, pool::reference};
/// let x: [i32; 9] = core::array::from_fn(|i| i as i32);
/// let mut y = [0; 4];
/// let g = Pool2dGeometry::new([3, 3, 1], [2, 2]).with_stride([1, 1]);
/// reference::max_pool2d(&g, &x, &mut y).unwrap();
/// assert_eq!(y, [4, 5, 7, 8]);
/// ```
///
/// # Errors
/// [`Error::InvalidGeometry`] or [`Error::LengthMismatch`].
pub fn max_pool2d<T: Copy + PartialOrd>(
    g: &Pool2dGeometry,
    input: &[T],
    output: &mut [T],
) -> Result<(), Error> {
    pool_with(g, input, output, |window| {
        let it = window;
        let first = it.next().expect("every window has a cell inside the image");
        it.fold(first, |m, v| if v > m { v } else { m })
    })
}

/// f32 max pooling: [`max_pool2d`] over `f32` (NaN never wins a comparison).
///
/// # Errors
/// [`Error::InvalidGeometry`] or [`Error::LengthMismatch`].
pub fn max_pool2d_f32(g: &Pool2dGeometry, input: &[f32], output: &mut [f32]) -> Result<(), Error> {
    max_pool2d(g, input, output)
}

/// f32 average pooling: the sum of the window cells inside the image divided by the window size
/// ([`AvgPoolDivisor::IncludePadding`], PyTorch's default) or by the number of cells inside the
/// image ([`AvgPoolDivisor::ExcludePadding`], TFLite).
///
/// # Errors
/// [`Error::InvalidGeometry`] or [`Error::LengthMismatch`].
pub fn avg_pool2d_f32(
    g: &Pool2dGeometry,
    divisor: AvgPoolDivisor,
    input: &[f32],
    output: &mut [f32],
) -> Result<(), Error> {
    let full = (g.kernel_h * g.kernel_w) as f32;
    pool_with(g, input, output, |window| {
        let (sum, n) = window.fold((0.0f32, 0usize), |(s, n), v| (s + v, n + 1));
        match divisor {
            AvgPoolDivisor::IncludePadding => sum / full,
            AvgPoolDivisor::ExcludePadding => sum / n as f32,
        }
    })
}

/// Pooling with a caller-chosen reduction of the cells of each window that lie inside the image
/// (visited row by row). Every window has at least one such cell (see [`Pool2dGeometry`]).
///
/// # Errors
/// [`Error::InvalidGeometry`] or [`Error::LengthMismatch`].
pub fn pool_with<T: Copy, O>(
    g: &Pool2dGeometry,
    input: &[T],
    output: &mut [O],
    reduce: impl Fn(&mut dyn Iterator<Item = T>) -> O,
) -> Result<(), Error> {
    let d = g.check(input.len(), output.len())?;
    let c = g.channels;
    for oy in 0..d.out_h {
        let (y0, y1) = g.rows(oy);
        for ox in 0..d.out_w {
            let (x0, x1) = g.cols(ox);
            for ch in 0..c {
                let mut cells = (y0..y1)
                    .flat_map(|y| (x0..x1).map(move |x| (y * g.in_w + x) * c + ch))
                    .map(|i| input[i]);
                output[(oy * d.out_w + ox) * c + ch] = reduce(&mut cells);
            }
        }
    }
    Ok(())
}

/// Global average pooling: `out[c] = mean over all pixels of in[.][.][c]`.
///
/// # Errors
/// [`Error::LengthMismatch`] unless `input.len() == pixels · output.len()`, and
/// [`Error::InvalidGeometry`] for zero pixels or channels.
pub fn global_avg_pool_f32(input: &[f32], output: &mut [f32]) -> Result<(), Error> {
    let c = output.len();
    if c == 0 || input.is_empty() {
        return Err(Error::InvalidGeometry("zero channels or pixels"));
    }
    if !input.len().is_multiple_of(c) {
        return Err(Error::LengthMismatch {
            what: "input",
            expected: (input.len() / c + 1) * c,
            actual: input.len(),
        });
    }
    let pixels = input.len() / c;
    for (ch, o) in output.iter_mut().enumerate() {
        let sum: f32 = (0..pixels).map(|p| input[p * c + ch]).sum();
        *o = sum / pixels as f32;
    }
    Ok(())
}

/// int8 max pooling as TFLite's `reference_integer_ops::MaxPool`: the maximum of the window
/// cells inside the image (input and output share scale and zero point), clamped to the fused
/// activation `range`. Built on the generic [`max_pool2d`].
///
/// ```
/// use tinyconv::{Pool2dGeometry, pool::reference, quant::ActivationRange};
/// let g = Pool2dGeometry::new([2, 2, 1], [2, 2]);
/// let mut y = [0i8; 1];
/// reference::max_pool2d_i8(&g, ActivationRange::new(-128, 5).unwrap(), &[-7, 3, 9, 1], &mut y).unwrap();
/// assert_eq!(y, [5]);
/// ```
///
/// # Errors
/// [`Error::InvalidGeometry`] or [`Error::LengthMismatch`].
pub fn max_pool2d_i8(
    g: &Pool2dGeometry,
    range: ActivationRange,
    input: &[i8],
    output: &mut [i8],
) -> Result<(), Error> {
    max_pool2d(g, input, output)?;
    for y in output.iter_mut() {
        *y = range.clamp(i32::from(*y));
    }
    Ok(())
}

/// The most window cells an int8 average pool accepts: the sum `± cells · 128` and the rounding
/// term `cells / 2` must fit `i32`.
pub const MAX_POOL_CELLS_I8: usize = 1 << 23;

/// int8 average pooling as TFLite's `reference_integer_ops::AveragePool`: the `i32` sum of
/// the `n` window cells inside the image (padding is not counted), divided with rounding half
/// away from zero — `(sum + n/2) / n` for `sum > 0`, else `(sum − n/2) / n`, truncating
/// division — then clamped to `range`. Input and output share scale and zero point.
///
/// ```
/// use tinyconv::{Pool2dGeometry, pool::reference, quant::ActivationRange};
/// let g = Pool2dGeometry::new([2, 2, 1], [2, 2]);
/// let mut y = [0i8; 1];
/// // (−7 + 3 + 9 + 1) / 4 = 1.5 → 2; (−7 − 3 − 9 − 1) / 4 = −5
/// reference::avg_pool2d_i8(&g, ActivationRange::none(), &[-7, 3, 9, 1], &mut y).unwrap();
/// assert_eq!(y, [2]);
/// reference::avg_pool2d_i8(&g, ActivationRange::none(), &[-7, -3, -9, -1], &mut y).unwrap();
/// assert_eq!(y, [-5]);
/// ```
///
/// # Errors
/// [`Error::InvalidGeometry`], [`Error::LengthMismatch`], or [`Error::AccumulatorOverflow`]
/// for a window of more than [`MAX_POOL_CELLS_I8`] cells.
pub fn avg_pool2d_i8(
    g: &Pool2dGeometry,
    range: ActivationRange,
    input: &[i8],
    output: &mut [i8],
) -> Result<(), Error> {
    g.check(input.len(), output.len())?;
    check_cells_i8(g)?;
    pool_with(g, input, output, |window| {
        let (sum, n) = window.fold((0i32, 0i32), |(s, n), v| (s + i32::from(v), n + 1));
        range.clamp(rounded_div(sum, n))
    })
}

/// TFLite's rounding division of a pooled sum by the cell count `n > 0`.
#[inline(always)]
pub(crate) fn rounded_div(sum: i32, n: i32) -> i32 {
    if sum > 0 {
        (sum + n / 2) / n
    } else {
        (sum - n / 2) / n
    }
}

pub(crate) fn check_cells_i8(g: &Pool2dGeometry) -> Result<(), Error> {
    match g.kernel_h.checked_mul(g.kernel_w) {
        Some(n) if n <= MAX_POOL_CELLS_I8 => Ok(()),
        _ => Err(Error::AccumulatorOverflow),
    }
}
