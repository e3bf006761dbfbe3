//! Tensors are plain nested arrays: an activation is `[[[T; C]; W]; H]` (channels-last), a filter
//! bank `[[[[T; C_IN]; KW]; KH]; C_OUT]`. Their shapes are const generics, so every buffer size is
//! known at compile time, and they flatten to slices for the runtime-shape kernels without a copy.

/// A channels-last activation tensor, `[H][W][C]`.
pub type Tensor<T, const H: usize, const W: usize, const C: usize> = [[[T; C]; W]; H];

/// Convolution filters, `[C_OUT][KH][KW][C_IN]` (TensorFlow Lite's and CMSIS-NN's layout).
pub type Filters<T, const COUT: usize, const KH: usize, const KW: usize, const CIN: usize> =
    [[[[T; CIN]; KW]; KH]; COUT];

/// A tensor as one slice, `H·W·C` long, in `[h][w][c]` order.
#[inline]
pub fn flat<T, const H: usize, const W: usize, const C: usize>(t: &Tensor<T, H, W, C>) -> &[T] {
    t.as_flattened().as_flattened()
}

/// A tensor as one mutable slice.
#[inline]
pub fn flat_mut<T, const H: usize, const W: usize, const C: usize>(
    t: &mut Tensor<T, H, W, C>,
) -> &mut [T] {
    t.as_flattened_mut().as_flattened_mut()
}
