//! PAD: a constant border around a `[H][W][C]` tensor (TFLite's `PAD` / `PADV2` on NHWC with
//! batch padding 0).

use crate::error::{Error, check_len};

/// Padding before and after each axis of a `[H][W][C]` tensor: `[(top, bottom), (left,
/// right), (channels before, channels after)]`.
pub type Pad3 = [(usize, usize); 3];

/// Copies `input` (`[h][w][c]`, `shape = [h, w, c]`) into the middle of `output`
/// (`[h + top + bottom][w + left + right][c + before + after]`) and fills the border with
/// `value`. For int8 TFLite pads with the output zero point (the quantized 0.0), or the value
/// of PADV2's `constant_values` tensor; for f32 with 0.0 or that value.
///
/// ```
/// use tinyconv::shape::pad;
/// let mut y = [0i8; 3 * 4];
/// pad([1, 2, 1], [(1, 1), (1, 1), (0, 0)], -5i8, &[7, 8], &mut y).unwrap();
/// assert_eq!(y, [-5, -5, -5, -5, -5, 7, 8, -5, -5, -5, -5, -5]);
/// ```
///
/// # Errors
/// [`Error::InvalidGeometry`] for a zero or overflowing size, [`Error::LengthMismatch`] for
/// wrong buffers.
pub fn pad<T: Copy>(
    shape: [usize; 3],
    padding: Pad3,
    value: T,
    input: &[T],
    output: &mut [T],
) -> Result<(), Error> {
    let [h, w, c] = shape;
    let [(pt, pb), (pl, pr), (pc0, pc1)] = padding;
    let grow = |n: usize, a: usize, b: usize| n.checked_add(a).and_then(|v| v.checked_add(b));
    let (Some(oh), Some(ow), Some(oc)) = (grow(h, pt, pb), grow(w, pl, pr), grow(c, pc0, pc1))
    else {
        return Err(Error::InvalidGeometry("pad: size overflows usize"));
    };
    let len = |a: usize, b: usize, c: usize| a.checked_mul(b).and_then(|v| v.checked_mul(c));
    let (Some(n_in), Some(n_out)) = (len(h, w, c), len(oh, ow, oc)) else {
        return Err(Error::InvalidGeometry("pad: size overflows usize"));
    };
    if n_in == 0 {
        return Err(Error::InvalidGeometry("pad: zero size"));
    }
    check_len("input", n_in, input.len())?;
    check_len("output", n_out, output.len())?;
    output.fill(value);
    for y in 0..h {
        for x in 0..w {
            let src = &input[(y * w + x) * c..][..c];
            let at = ((y + pt) * ow + x + pl) * oc + pc0;
            output[at..at + c].copy_from_slice(src);
        }
    }
    Ok(())
}
