//! RESHAPE / flatten: channels-last tensors are stored in `[h][w][c]` order, so TFLite's
//! RESHAPE (and Keras' `Flatten` of NHWC) keeps every element where it is.

use crate::error::{Error, check_len};
use crate::tensor::Tensor;

/// RESHAPE into a separate buffer: a copy of the elements in order.
///
/// # Errors
/// [`Error::LengthMismatch`] unless both have the same length.
pub fn reshape<T: Copy>(input: &[T], output: &mut [T]) -> Result<(), Error> {
    check_len("output", input.len(), output.len())?;
    output.copy_from_slice(input);
    Ok(())
}

/// Flatten a `[H][W][C]` tensor to `N = H · W · C` values without a copy (checked at compile
/// time).
///
/// ```
/// use tinyconv::shape::flatten;
/// let t = [[[1i8, 2], [3, 4]], [[5, 6], [7, 8]]];
/// assert_eq!(flatten::<i8, 2, 2, 2, 8>(&t), &[1, 2, 3, 4, 5, 6, 7, 8]);
/// ```
///
/// ```compile_fail
/// let t = [[[0i8; 2]; 2]; 2];
/// let _ = tinyconv::shape::flatten::<i8, 2, 2, 2, 7>(&t);
/// ```
pub fn flatten<T, const H: usize, const W: usize, const C: usize, const N: usize>(
    t: &Tensor<T, H, W, C>,
) -> &[T; N] {
    const { assert!(N == H * W * C, "N must be H · W · C") };
    match t.as_flattened().as_flattened().first_chunk::<N>() {
        Some(v) => v,
        // The const assertion makes the lengths equal.
        None => unreachable!(),
    }
}
