//! Reference pooling: plain loops over each window, channel by channel.

use crate::error::Error;
use crate::geometry::{AvgPoolDivisor, Pool2dGeometry};

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
