//! Shapes of convolution and pooling windows: kernel, stride, padding, dilation, and the output
//! size that follows from them.
//!
//! Every size here is computed with checked arithmetic, so arbitrary (fuzzed) geometry yields an
//! [`Error`], never an overflow.

use crate::error::{Error, check_len};

/// Zero padding on each side of the input, in pixels. Top/bottom pad rows, left/right pad columns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Padding {
    /// Rows added above the input.
    pub top: usize,
    /// Rows added below the input.
    pub bottom: usize,
    /// Columns added left of the input.
    pub left: usize,
    /// Columns added right of the input.
    pub right: usize,
}

impl Padding {
    /// No padding ("valid" convolution: only windows fully inside the input).
    pub const VALID: Padding = Padding::new(0, 0, 0, 0);

    /// Padding given side by side, in the order of the field names: `top`, `bottom`, `left`,
    /// `right` (the struct literal `Padding { top, bottom, left, right }` says the same with
    /// names).
    ///
    /// ```
    /// use tinyconv::Padding;
    /// let p = Padding::new(0, 1, 2, 3);
    /// assert_eq!(p, Padding { top: 0, bottom: 1, left: 2, right: 3 });
    /// ```
    pub const fn new(top: usize, bottom: usize, left: usize, right: usize) -> Self {
        Padding {
            top,
            bottom,
            left,
            right,
        }
    }

    /// The same padding `p` on all four sides.
    pub const fn uniform(p: usize) -> Self {
        Padding::new(p, p, p, p)
    }

    /// PyTorch's `padding=(ph, pw)`: `ph` rows above and below, `pw` columns left and right.
    ///
    /// ```
    /// use tinyconv::Padding;
    /// assert_eq!(Padding::symmetric(1, 2), Padding::new(1, 1, 2, 2));
    /// ```
    pub const fn symmetric(ph: usize, pw: usize) -> Self {
        Padding::new(ph, ph, pw, pw)
    }

    /// TensorFlow's "same" padding: the output has `ceil(input / stride)` pixels per axis; the
    /// total padding `max((out − 1)·stride + dilation·(kernel − 1) + 1 − input, 0)` is split with
    /// the odd pixel at the bottom/right.
    ///
    /// ```
    /// use tinyconv::Padding;
    /// // 3×3 kernel, stride 1: one pixel on each side.
    /// assert_eq!(Padding::same([8, 8], [3, 3], [1, 1], [1, 1]), Padding::uniform(1));
    /// // 2×2 kernel: the extra pixel goes bottom/right.
    /// assert_eq!(Padding::same([4, 4], [2, 2], [1, 1], [1, 1]), Padding::new(0, 1, 0, 1));
    /// ```
    pub const fn same(
        input: [usize; 2],
        kernel: [usize; 2],
        stride: [usize; 2],
        dilation: [usize; 2],
    ) -> Self {
        let (top, bottom) = same_1d(input[0], kernel[0], stride[0], dilation[0]);
        let (left, right) = same_1d(input[1], kernel[1], stride[1], dilation[1]);
        Padding::new(top, bottom, left, right)
    }
}

const fn same_1d(input: usize, kernel: usize, stride: usize, dilation: usize) -> (usize, usize) {
    if stride == 0 || kernel == 0 {
        return (0, 0);
    }
    let out = input.div_ceil(stride);
    let span = dilation
        .saturating_mul(kernel.saturating_sub(1))
        .saturating_add(1);
    let needed = out
        .saturating_sub(1)
        .saturating_mul(stride)
        .saturating_add(span);
    let total = needed.saturating_sub(input);
    (total / 2, total - total / 2)
}

/// Output size along one axis: `(input + pad_before + pad_after − dilation·(kernel − 1) − 1) /
/// stride + 1`, or `None` when a parameter is zero, the dilated kernel does not fit the padded
/// input, or the arithmetic overflows.
///
/// ```
/// use tinyconv::geometry::output_size;
/// assert_eq!(output_size(8, 3, 1, 1, 1, 1), Some(8)); // 3×3, padding 1 keeps the size
/// assert_eq!(output_size(8, 3, 2, 1, 1, 1), Some(4)); // and stride 2 halves it
/// assert_eq!(output_size(2, 3, 1, 0, 0, 1), None);    // kernel larger than the input
/// ```
pub const fn output_size(
    input: usize,
    kernel: usize,
    stride: usize,
    pad_before: usize,
    pad_after: usize,
    dilation: usize,
) -> Option<usize> {
    if input == 0 || kernel == 0 || stride == 0 || dilation == 0 {
        return None;
    }
    let Some(span) = dilation.checked_mul(kernel - 1) else {
        return None;
    };
    let Some(padded) = input.checked_add(pad_before) else {
        return None;
    };
    let Some(padded) = padded.checked_add(pad_after) else {
        return None;
    };
    if padded <= span {
        return None;
    }
    Some((padded - span - 1) / stride + 1)
}

/// Like [`output_size`], for use in `const` assertions: `usize::MAX` stands for "no valid size",
/// which no array dimension can equal.
pub const fn output_size_or_max(
    input: usize,
    kernel: usize,
    stride: usize,
    pad_before: usize,
    pad_after: usize,
    dilation: usize,
) -> usize {
    match output_size(input, kernel, stride, pad_before, pad_after, dilation) {
        Some(n) => n,
        None => usize::MAX,
    }
}

const fn mul3(a: usize, b: usize, c: usize) -> Option<usize> {
    match a.checked_mul(b) {
        Some(ab) => ab.checked_mul(c),
        None => None,
    }
}

/// The full geometry of a 2-D convolution over a channels-last input.
///
/// Layouts: input `[in_h][in_w][in_c]`, weights `[out_c][kernel_h][kernel_w][in_c]`, bias
/// `[out_c]`, output `[out_h][out_w][out_c]` — TensorFlow Lite's and CMSIS-NN's.
///
/// `out[y][x][o] = bias[o] + Σ_{i,j,c} w[o][i][j][c] · in[y·stride_h + i·dilation_h − pad.top]
/// [x·stride_w + j·dilation_w − pad.left][c]`, where taps outside the input read zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Conv2dGeometry {
    /// Input height.
    pub in_h: usize,
    /// Input width.
    pub in_w: usize,
    /// Input channels.
    pub in_c: usize,
    /// Output channels (number of filters).
    pub out_c: usize,
    /// Kernel height.
    pub kernel_h: usize,
    /// Kernel width.
    pub kernel_w: usize,
    /// Vertical stride.
    pub stride_h: usize,
    /// Horizontal stride.
    pub stride_w: usize,
    /// Zero padding per side.
    pub padding: Padding,
    /// Vertical dilation (1 = dense kernel).
    pub dilation_h: usize,
    /// Horizontal dilation (1 = dense kernel).
    pub dilation_w: usize,
}

/// Sizes derived from a valid [`Conv2dGeometry`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dDims {
    /// Output height.
    pub out_h: usize,
    /// Output width.
    pub out_w: usize,
    /// Elements of the input.
    pub input_len: usize,
    /// Elements of the weights.
    pub weights_len: usize,
    /// Elements of the output.
    pub output_len: usize,
    /// Length of one filter, `kernel_h · kernel_w · in_c` (the GEMM's inner dimension).
    pub patch_len: usize,
}

impl Conv2dGeometry {
    /// A convolution with unit stride and dilation and no padding; set the other fields with the
    /// builder methods.
    ///
    /// ```
    /// use tinyconv::{Conv2dGeometry, Padding};
    /// let g = Conv2dGeometry::new([28, 28, 1], 6, [5, 5]).with_padding(Padding::uniform(2));
    /// assert_eq!(g.dims().unwrap().out_h, 28);
    /// ```
    pub const fn new(input: [usize; 3], out_c: usize, kernel: [usize; 2]) -> Self {
        Conv2dGeometry {
            in_h: input[0],
            in_w: input[1],
            in_c: input[2],
            out_c,
            kernel_h: kernel[0],
            kernel_w: kernel[1],
            stride_h: 1,
            stride_w: 1,
            padding: Padding::VALID,
            dilation_h: 1,
            dilation_w: 1,
        }
    }

    /// Sets the strides `[vertical, horizontal]`.
    pub const fn with_stride(mut self, stride: [usize; 2]) -> Self {
        self.stride_h = stride[0];
        self.stride_w = stride[1];
        self
    }

    /// Sets the padding.
    pub const fn with_padding(mut self, padding: Padding) -> Self {
        self.padding = padding;
        self
    }

    /// Sets TensorFlow's "same" padding for the current kernel, stride and dilation.
    pub const fn with_same_padding(self) -> Self {
        let p = Padding::same(
            [self.in_h, self.in_w],
            [self.kernel_h, self.kernel_w],
            [self.stride_h, self.stride_w],
            [self.dilation_h, self.dilation_w],
        );
        self.with_padding(p)
    }

    /// Sets the dilations `[vertical, horizontal]`.
    pub const fn with_dilation(mut self, dilation: [usize; 2]) -> Self {
        self.dilation_h = dilation[0];
        self.dilation_w = dilation[1];
        self
    }

    /// Validates the geometry and derives the output size and buffer lengths.
    ///
    /// # Errors
    /// [`Error::InvalidGeometry`] if a size, channel count, stride or dilation is zero, if the
    /// dilated kernel is larger than the padded input, or if a length overflows `usize`.
    pub const fn dims(&self) -> Result<Conv2dDims, Error> {
        if self.in_c == 0 || self.out_c == 0 {
            return Err(Error::InvalidGeometry("channel count is zero"));
        }
        let p = self.padding;
        let Some(out_h) = output_size(
            self.in_h,
            self.kernel_h,
            self.stride_h,
            p.top,
            p.bottom,
            self.dilation_h,
        ) else {
            return Err(Error::InvalidGeometry(
                "height: zero size, kernel, stride or dilation, or kernel larger than padded input",
            ));
        };
        let Some(out_w) = output_size(
            self.in_w,
            self.kernel_w,
            self.stride_w,
            p.left,
            p.right,
            self.dilation_w,
        ) else {
            return Err(Error::InvalidGeometry(
                "width: zero size, kernel, stride or dilation, or kernel larger than padded input",
            ));
        };
        let (Some(input_len), Some(patch_len), Some(output_len)) = (
            mul3(self.in_h, self.in_w, self.in_c),
            mul3(self.kernel_h, self.kernel_w, self.in_c),
            mul3(out_h, out_w, self.out_c),
        ) else {
            return Err(Error::InvalidGeometry("size overflows usize"));
        };
        let Some(weights_len) = patch_len.checked_mul(self.out_c) else {
            return Err(Error::InvalidGeometry("size overflows usize"));
        };
        Ok(Conv2dDims {
            out_h,
            out_w,
            input_len,
            weights_len,
            output_len,
            patch_len,
        })
    }

    /// Validates the geometry and the lengths of the buffers of a call (`bias` may be absent).
    ///
    /// # Errors
    /// As [`dims`](Self::dims), and [`Error::LengthMismatch`] naming the first wrong buffer.
    pub fn check(
        &self,
        input: usize,
        weights: usize,
        bias: Option<usize>,
        output: usize,
    ) -> Result<Conv2dDims, Error> {
        let d = self.dims()?;
        check_len("input", d.input_len, input)?;
        check_len("weights", d.weights_len, weights)?;
        if let Some(b) = bias {
            check_len("bias", self.out_c, b)?;
        }
        check_len("output", d.output_len, output)?;
        Ok(d)
    }

    /// The geometry of a band of output rows `oy0..oy0 + n`, and the input rows it reads.
    ///
    /// Any algorithm run on the band geometry, with `input[rows]` (the rows as one slice) and
    /// the band's part of the output, computes exactly those output rows of the full
    /// convolution: the band's padding is what remains of the full padding at its edges. This is
    /// how a network computes a convolution a few rows at a time and pools each band as it is
    /// produced (conv + pool fusion), keeping only a few rows of the convolution's output in RAM.
    ///
    /// ```
    /// use tinyconv::{Conv2dGeometry, Padding};
    /// let g = Conv2dGeometry::new([28, 28, 1], 6, [5, 5]).with_padding(Padding::uniform(2));
    /// let (band, rows) = g.row_band(0, 2).unwrap();
    /// assert_eq!(rows, 0..4); // output rows 0 and 1 read input rows -2..=3, i.e. 0..4 plus padding
    /// assert_eq!((band.in_h, band.padding.top, band.padding.bottom), (4, 2, 0));
    /// assert_eq!(band.dims().unwrap().out_h, 2);
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidGeometry`] if the geometry is invalid, `n == 0`, the band runs past the
    /// last output row, or it lies entirely in the padding (then it reads no input row).
    pub const fn row_band(
        &self,
        oy0: usize,
        n: usize,
    ) -> Result<(Conv2dGeometry, core::ops::Range<usize>), Error> {
        let d = match self.dims() {
            Ok(d) => d,
            Err(e) => return Err(e),
        };
        if n == 0 || oy0 >= d.out_h || n > d.out_h - oy0 {
            return Err(Error::InvalidGeometry("row band outside the output"));
        }
        // Padded-coordinate span of input rows read by the band (inclusive).
        let first = oy0 * self.stride_h;
        let last = (oy0 + n - 1) * self.stride_h + (self.kernel_h - 1) * self.dilation_h;
        let top = self.padding.top;
        let r0 = first.saturating_sub(top);
        let end = if last + 1 < top + self.in_h {
            last + 1
        } else {
            top + self.in_h
        };
        let r1 = end.saturating_sub(top);
        if r0 >= r1 {
            return Err(Error::InvalidGeometry(
                "row band lies entirely in the padding",
            ));
        }
        let mut band = *self;
        band.in_h = r1 - r0;
        band.padding.top = top.saturating_sub(first);
        band.padding.bottom = (last + 1).saturating_sub(top + self.in_h);
        Ok((band, r0..r1))
    }

    /// True when input row `iy` of output row `oy` and kernel row `i` lies inside the image;
    /// returns the row index.
    #[inline(always)]
    pub(crate) fn input_row(&self, oy: usize, i: usize) -> Option<usize> {
        (oy * self.stride_h + i * self.dilation_h)
            .checked_sub(self.padding.top)
            .filter(|&r| r < self.in_h)
    }

    /// As [`input_row`](Self::input_row) for columns.
    #[inline(always)]
    pub(crate) fn input_col(&self, ox: usize, j: usize) -> Option<usize> {
        (ox * self.stride_w + j * self.dilation_w)
            .checked_sub(self.padding.left)
            .filter(|&c| c < self.in_w)
    }

    /// The range of kernel columns `j` whose tap lands inside the image for output column `ox`:
    /// `j_start..j_end` (possibly empty). Valid taps are contiguous because columns grow with `j`.
    #[inline]
    pub(crate) fn valid_cols(&self, ox: usize) -> (usize, usize) {
        valid_taps(
            ox * self.stride_w,
            self.padding.left,
            self.in_w,
            self.kernel_w,
            self.dilation_w,
        )
    }

    /// As [`valid_cols`](Self::valid_cols) for kernel rows of output row `oy`.
    #[inline]
    pub(crate) fn valid_rows(&self, oy: usize) -> (usize, usize) {
        valid_taps(
            oy * self.stride_h,
            self.padding.top,
            self.in_h,
            self.kernel_h,
            self.dilation_h,
        )
    }
}

/// Taps `k` in `0..kernel` with `0 <= origin + k·dilation − pad < size`, as a range.
#[inline]
fn valid_taps(
    origin: usize,
    pad: usize,
    size: usize,
    kernel: usize,
    dilation: usize,
) -> (usize, usize) {
    // First k with origin + k·d >= pad.
    let start = if origin >= pad {
        0
    } else {
        (pad - origin).div_ceil(dilation)
    };
    // Taps with origin + k·d − pad <= size − 1, i.e. k <= (size − 1 + pad − origin) / d.
    let end = match (size - 1 + pad).checked_sub(origin) {
        Some(room) => (room / dilation + 1).min(kernel),
        None => 0,
    };
    (start.min(end), end)
}

/// Whether average pooling divides by the whole window or by its cells inside the image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AvgPoolDivisor {
    /// Divide by `kernel_h · kernel_w`, padded cells counted as zeros (PyTorch's default,
    /// `count_include_pad=True`).
    IncludePadding,
    /// Divide by the number of cells inside the image (TensorFlow Lite, PyTorch's
    /// `count_include_pad=False`).
    ExcludePadding,
}

/// Geometry of a 2-D pooling window over a channels-last `[in_h][in_w][channels]` input.
///
/// Each padding must be smaller than the window along its axis, so that every window covers at
/// least one input cell (PyTorch requires half the window).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Pool2dGeometry {
    /// Input height.
    pub in_h: usize,
    /// Input width.
    pub in_w: usize,
    /// Channels (pooled independently).
    pub channels: usize,
    /// Window height.
    pub kernel_h: usize,
    /// Window width.
    pub kernel_w: usize,
    /// Vertical stride.
    pub stride_h: usize,
    /// Horizontal stride.
    pub stride_w: usize,
    /// Padding per side; padded cells never win a max and are zeros in an average.
    pub padding: Padding,
}

/// Sizes derived from a valid [`Pool2dGeometry`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pool2dDims {
    /// Output height.
    pub out_h: usize,
    /// Output width.
    pub out_w: usize,
    /// Elements of the input.
    pub input_len: usize,
    /// Elements of the output.
    pub output_len: usize,
}

impl Pool2dGeometry {
    /// A `kernel` window with stride equal to the kernel (non-overlapping) and no padding.
    ///
    /// ```
    /// use tinyconv::Pool2dGeometry;
    /// let g = Pool2dGeometry::new([28, 28, 6], [2, 2]);
    /// assert_eq!(g.dims().unwrap().out_h, 14);
    /// ```
    pub const fn new(input: [usize; 3], kernel: [usize; 2]) -> Self {
        Pool2dGeometry {
            in_h: input[0],
            in_w: input[1],
            channels: input[2],
            kernel_h: kernel[0],
            kernel_w: kernel[1],
            stride_h: kernel[0],
            stride_w: kernel[1],
            padding: Padding::VALID,
        }
    }

    /// Sets the strides `[vertical, horizontal]`.
    pub const fn with_stride(mut self, stride: [usize; 2]) -> Self {
        self.stride_h = stride[0];
        self.stride_w = stride[1];
        self
    }

    /// Sets the padding.
    pub const fn with_padding(mut self, padding: Padding) -> Self {
        self.padding = padding;
        self
    }

    /// Validates the geometry and derives the output size.
    ///
    /// # Errors
    /// [`Error::InvalidGeometry`] if a size, the channel count, the window or a stride is zero, a
    /// padding is not smaller than the window, the window exceeds the padded input, or a length
    /// overflows.
    pub const fn dims(&self) -> Result<Pool2dDims, Error> {
        let p = self.padding;
        if self.channels == 0 {
            return Err(Error::InvalidGeometry("channel count is zero"));
        }
        if p.top >= self.kernel_h
            || p.bottom >= self.kernel_h
            || p.left >= self.kernel_w
            || p.right >= self.kernel_w
        {
            return Err(Error::InvalidGeometry(
                "pooling padding must be smaller than the window",
            ));
        }
        let Some(out_h) = output_size(self.in_h, self.kernel_h, self.stride_h, p.top, p.bottom, 1)
        else {
            return Err(Error::InvalidGeometry(
                "height: zero size, window or stride, or window larger than padded input",
            ));
        };
        let Some(out_w) = output_size(self.in_w, self.kernel_w, self.stride_w, p.left, p.right, 1)
        else {
            return Err(Error::InvalidGeometry(
                "width: zero size, window or stride, or window larger than padded input",
            ));
        };
        let (Some(input_len), Some(output_len)) = (
            mul3(self.in_h, self.in_w, self.channels),
            mul3(out_h, out_w, self.channels),
        ) else {
            return Err(Error::InvalidGeometry("size overflows usize"));
        };
        Ok(Pool2dDims {
            out_h,
            out_w,
            input_len,
            output_len,
        })
    }

    /// Validates the geometry and the buffer lengths of a call.
    ///
    /// # Errors
    /// As [`dims`](Self::dims), and [`Error::LengthMismatch`].
    pub fn check(&self, input: usize, output: usize) -> Result<Pool2dDims, Error> {
        let d = self.dims()?;
        check_len("input", d.input_len, input)?;
        check_len("output", d.output_len, output)?;
        Ok(d)
    }

    /// Window rows inside the image for output row `oy`, as input rows `start..end`.
    #[inline]
    pub(crate) fn rows(&self, oy: usize) -> (usize, usize) {
        let (a, b) = valid_taps(
            oy * self.stride_h,
            self.padding.top,
            self.in_h,
            self.kernel_h,
            1,
        );
        let origin = oy * self.stride_h;
        (origin + a - self.padding.top, origin + b - self.padding.top)
    }

    /// Window columns inside the image for output column `ox`, as input columns `start..end`.
    #[inline]
    pub(crate) fn cols(&self, ox: usize) -> (usize, usize) {
        let (a, b) = valid_taps(
            ox * self.stride_w,
            self.padding.left,
            self.in_w,
            self.kernel_w,
            1,
        );
        let origin = ox * self.stride_w;
        (
            origin + a - self.padding.left,
            origin + b - self.padding.left,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_taps_match_brute_force() {
        for origin in 0..12 {
            for pad in 0..5 {
                for size in 1..8 {
                    for kernel in 1..6 {
                        for d in 1..4 {
                            let ok: std::vec::Vec<usize> = (0..kernel)
                                .filter(|&k| {
                                    let p = origin + k * d;
                                    p >= pad && p - pad < size
                                })
                                .collect();
                            let (a, b) = valid_taps(origin, pad, size, kernel, d);
                            let got: std::vec::Vec<usize> = (a..b).collect();
                            assert_eq!(
                                got, ok,
                                "origin {origin} pad {pad} size {size} k {kernel} d {d}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn same_padding_gives_ceil_output() {
        for n in 1..20 {
            for k in 1..6 {
                for s in 1..4 {
                    let p = Padding::same([n, n], [k, k], [s, s], [1, 1]);
                    assert_eq!(
                        output_size(n, k, s, p.top, p.bottom, 1),
                        Some(n.div_ceil(s))
                    );
                }
            }
        }
    }

    #[test]
    fn overflow_is_an_error() {
        let g = Conv2dGeometry::new([usize::MAX, 2, 3], 1, [1, 1]);
        assert!(matches!(g.dims(), Err(Error::InvalidGeometry(_))));
        let g =
            Conv2dGeometry::new([4, 4, 1], 1, [3, 3]).with_padding(Padding::uniform(usize::MAX));
        assert!(g.dims().is_err());
        let g = Conv2dGeometry::new([4, 4, 1], 1, [3, 3]).with_dilation([usize::MAX, 1]);
        assert!(g.dims().is_err());
    }
}
