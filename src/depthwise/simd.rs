//! Depthwise convolution vectorised over channels (`wide`): a block of 16 channels (int8: one
//! `i16x16` per tap, products widened into two `i32x8` accumulators; f32: two `f32x8`) for up
//! to 4 output pixels of a row at once, so each tap's filter vector is loaded once per block.
//!
//! Filters are packed multiplier-major (`[M][KH][KW][C]`): for each multiplier index `m`, the
//! filters of output channels `c·M + m` are contiguous over `c`, like the input channels they
//! read. With `M = 1` (DS-CNN, MobileNet) this is the canonical order and outputs are stored 16
//! at a time through the int8 GEMM's vector requantization; with `M > 1` each lane is stored at
//! its output channel `c·M + m`.
//!
//! Interior pixels (every tap inside the image) go 4 at a time, border pixels one at a time with
//! the window clipped to the image: both vectorised over channels.
//!
//! int8 products `(x − zp) · w` are computed in `i16` lanes: `|x − zp| ≤ 255`, `|w| ≤ 128`, so
//! `|product| ≤ 32 640 < 2^15` is exact.

use wide::{bytemuck, f32x8, i8x16, i16x8, i16x16, i32x8};

use crate::activation::Activation;
use crate::conv::ConvStats;
use crate::conv::direct::interior_cols;
use crate::error::Error;
use crate::gemm::i16::RequantBlock;
use crate::geometry::Conv2dGeometry;
use crate::quant::LayerParamsI8;

use super::{Layout, check_pack, permute_f32, permute_i8, pixel_stats};

/// Channels per block: one `i16x16`, two `i32x8` or two `f32x8`.
const LANES: usize = 16;

/// Interior output pixels per block: 4 pixels × 2 accumulators + filter + input fit the 16
/// AVX2 registers.
const PX: usize = 4;

/// Scratch (`f32`s) of [`depthwise_conv2d_f32`]: none.
pub const fn scratch_len_f32(_g: &Conv2dGeometry) -> usize {
    0
}

/// Scratch (`i16`s) of [`depthwise_conv2d_i8`]: none.
pub const fn scratch_len_i8(_g: &Conv2dGeometry) -> usize {
    0
}

/// Canonical `[KH][KW][C·M]` filters to multiplier-major `[M][KH][KW][C]` (the identity for
/// `M = 1`).
///
/// # Errors
/// [`Error::InvalidGeometry`] for an invalid depthwise geometry; [`Error::LengthMismatch`]
/// unless both buffers hold `kh · kw · out_c` values.
pub const fn pack_weights_f32(
    g: &Conv2dGeometry,
    canonical: &[f32],
    packed: &mut [f32],
) -> Result<(), Error> {
    let d = match check_pack(g, canonical.len(), packed.len()) {
        Ok(d) => d,
        Err(e) => return Err(e),
    };
    permute_f32(&d, g.out_c, canonical, packed, Layout::MultiplierMajor);
    Ok(())
}

/// As [`pack_weights_f32`] for `i8`.
///
/// # Errors
/// As [`pack_weights_f32`].
pub const fn pack_weights_i8(
    g: &Conv2dGeometry,
    canonical: &[i8],
    packed: &mut [i8],
) -> Result<(), Error> {
    let d = match check_pack(g, canonical.len(), packed.len()) {
        Ok(d) => d,
        Err(e) => return Err(e),
    };
    permute_i8(&d, g.out_c, canonical, packed, Layout::MultiplierMajor);
    Ok(())
}

/// Where one block of channels lives: multiplier index `m`, input channels `c0..c0 + nc`.
#[derive(Clone, Copy)]
struct Block<'a, T> {
    g: &'a Conv2dGeometry,
    input: &'a [T],
    /// The packed filters of multiplier index `m`, `[KH][KW][C]`.
    filters: &'a [T],
    c0: usize,
    nc: usize,
}

impl<T: Copy + Default> Block<'_, T> {
    /// Sixteen values at `s[at..]`, zero past the `nc` valid channels.
    #[inline(always)]
    fn load(&self, s: &[T], at: usize) -> [T; LANES] {
        if self.nc == LANES
            && let Some(v) = s[at..].first_chunk::<LANES>()
        {
            return *v;
        }
        let mut v = [T::default(); LANES];
        v[..self.nc].copy_from_slice(&s[at..at + self.nc]);
        v
    }

    /// The filter vector of tap `(i, j)`.
    #[inline(always)]
    fn filter(&self, i: usize, j: usize) -> [T; LANES] {
        let g = self.g;
        self.load(self.filters, (i * g.kernel_w + j) * g.in_c + self.c0)
    }

    /// The input vector of pixel `(iy, ix)`.
    #[inline(always)]
    fn pixel(&self, iy: usize, ix: usize) -> [T; LANES] {
        let g = self.g;
        self.load(self.input, (iy * g.in_w + ix) * g.in_c + self.c0)
    }

    /// Calls `tap(n, filter, input)` for every tap inside the image of the `N` output pixels
    /// `(oy, ox0 + n)`, which share the valid kernel rows `rows` and columns `cols`.
    #[inline(always)]
    fn taps<const N: usize>(
        &self,
        (oy, ox0): (usize, usize),
        (i0, i1): (usize, usize),
        (j0, j1): (usize, usize),
        mut tap: impl FnMut(usize, [T; LANES], [T; LANES]),
    ) {
        let g = self.g;
        for i in i0..i1 {
            let iy = oy * g.stride_h + i * g.dilation_h - g.padding.top;
            for j in j0..j1 {
                let w = self.filter(i, j);
                for n in 0..N {
                    let ix = (ox0 + n) * g.stride_w + j * g.dilation_w - g.padding.left;
                    tap(n, w, self.pixel(iy, ix));
                }
            }
        }
    }

    /// The block of output row `oy` that starts at pixel `ox`: `(PX, all kernel columns)` for
    /// `PX` interior pixels, else `(1, the valid kernel columns of ox)`.
    #[inline(always)]
    fn step(
        &self,
        interior_row: bool,
        ox: usize,
        (x_lo, x_hi): (usize, usize),
    ) -> (usize, (usize, usize)) {
        if interior_row && ox >= x_lo && ox + PX <= x_hi {
            (PX, (0, self.g.kernel_w))
        } else {
            (1, self.g.valid_cols(ox))
        }
    }
}

/// f32 depthwise convolution over multiplier-major filters ([`pack_weights_f32`]); same meaning
/// as [`reference::depthwise_conv2d_f32`](super::reference::depthwise_conv2d_f32), with FMA
/// (results differ by rounding: within `1e-5 · (|b| + Σ|w·x|)` in the tests).
///
/// # Errors
/// [`Error::InvalidGeometry`] or [`Error::LengthMismatch`].
pub fn depthwise_conv2d_f32(
    g: &Conv2dGeometry,
    input: &[f32],
    packed: &[f32],
    bias: Option<&[f32]>,
    act: Activation,
    _scratch: &mut [f32],
    output: &mut [f32],
) -> Result<ConvStats, Error> {
    let d = g.depthwise_check(
        input.len(),
        packed.len(),
        bias.map(<[f32]>::len),
        output.len(),
    )?;
    let cols = interior_cols(g, d.out_w);
    let m_count = d.multiplier;
    let filter_len = d.taps * g.in_c;
    for m in 0..m_count {
        for c0 in (0..g.in_c).step_by(LANES) {
            let b = Block {
                g,
                input,
                filters: &packed[m * filter_len..][..filter_len],
                c0,
                nc: LANES.min(g.in_c - c0),
            };
            let mut bias_v = [0.0f32; LANES];
            if let Some(bias) = bias {
                for (l, v) in bias_v.iter_mut().enumerate().take(b.nc) {
                    *v = bias[(c0 + l) * m_count + m];
                }
            }
            let bias_v: [f32x8; 2] = bytemuck::cast(bias_v);
            let mut store = |oy: usize, ox: usize, acc: &[f32x8; 2]| {
                let v: [f32; LANES] = bytemuck::cast(acc.map(|a| act.apply_f32x8(a)));
                let at = (oy * d.out_w + ox) * g.out_c;
                for (l, &v) in v.iter().enumerate().take(b.nc) {
                    output[at + (c0 + l) * m_count + m] = v;
                }
            };
            for oy in 0..d.out_h {
                let rows = g.valid_rows(oy);
                let interior_row = rows == (0, g.kernel_h);
                let mut ox = 0;
                while ox < d.out_w {
                    let (n, cols) = b.step(interior_row, ox, cols);
                    if n == PX {
                        let mut acc = [bias_v; PX];
                        b.taps::<PX>((oy, ox), rows, cols, |n, w, x| fma2(&mut acc[n], w, x));
                        for (n, acc) in acc.iter().enumerate() {
                            store(oy, ox + n, acc);
                        }
                    } else {
                        let mut acc = bias_v;
                        b.taps::<1>((oy, ox), rows, cols, |_, w, x| fma2(&mut acc, w, x));
                        store(oy, ox, &acc);
                    }
                    ox += n;
                }
            }
        }
    }
    Ok(pixel_stats(g, &d))
}

/// `acc += w · x` on 16 lanes.
#[inline(always)]
fn fma2(acc: &mut [f32x8; 2], w: [f32; LANES], x: [f32; LANES]) {
    let w: [f32x8; 2] = bytemuck::cast(w);
    let x: [f32x8; 2] = bytemuck::cast(x);
    acc[0] = x[0].mul_add(w[0], acc[0]);
    acc[1] = x[1].mul_add(w[1], acc[1]);
}

/// int8 depthwise convolution over multiplier-major filters ([`pack_weights_i8`]), bit-exact
/// with [`reference::depthwise_conv2d_i8`](super::reference::depthwise_conv2d_i8).
///
/// # Errors
/// [`Error::InvalidGeometry`], [`Error::LengthMismatch`] or [`Error::AccumulatorOverflow`].
pub fn depthwise_conv2d_i8(
    g: &Conv2dGeometry,
    input: &[i8],
    packed: &[i8],
    p: &LayerParamsI8<'_>,
    _scratch: &mut [i16],
    output: &mut [i8],
) -> Result<ConvStats, Error> {
    let d = g.depthwise_check(
        input.len(),
        packed.len(),
        p.bias.map(<[i32]>::len),
        output.len(),
    )?;
    p.check(g.out_c, d.taps)?;
    let cols = interior_cols(g, d.out_w);
    let m_count = d.multiplier;
    let filter_len = d.taps * g.in_c;
    // |offset| ≤ 128 fits i16.
    let offset = i16x16::splat(p.input_offset() as i16);
    for m in 0..m_count {
        for c0 in (0..g.in_c).step_by(LANES) {
            let b = Block {
                g,
                input,
                filters: &packed[m * filter_len..][..filter_len],
                c0,
                nc: LANES.min(g.in_c - c0),
            };
            // With M = 1 the block's output channels are c0..c0 + nc, contiguous: the GEMM's
            // vector output stage (bias, requantization, clamp) stores them at once.
            let rq = (m_count == 1).then(|| RequantBlock::new(p, c0, g.out_c));
            let mut store = |oy: usize, ox: usize, acc: &[i32x8; 2]| {
                let at = (oy * d.out_w + ox) * g.out_c;
                if let Some(rq) = &rq {
                    rq.store(acc, &mut output[at + c0..]);
                } else {
                    let v: [i32; LANES] = bytemuck::cast(*acc);
                    for (l, &v) in v.iter().enumerate().take(b.nc) {
                        let o = (c0 + l) * m_count + m;
                        output[at + o] = p.requantize(o, v + p.bias(o));
                    }
                }
            };
            let mac = |acc: &mut [i32x8; 2], w: [i8; LANES], x: [i8; LANES]| {
                let w = i16x16::from_i8x16(i8x16::from(w));
                let x = i16x16::from_i8x16(i8x16::from(x)) + offset;
                let [lo, hi]: [i16x8; 2] = bytemuck::cast(x * w);
                acc[0] += i32x8::from_i16x8(lo);
                acc[1] += i32x8::from_i16x8(hi);
            };
            for oy in 0..d.out_h {
                let rows = g.valid_rows(oy);
                let interior_row = rows == (0, g.kernel_h);
                let mut ox = 0;
                while ox < d.out_w {
                    let (n, cols) = b.step(interior_row, ox, cols);
                    if n == PX {
                        let mut acc = [[i32x8::ZERO; 2]; PX];
                        b.taps::<PX>((oy, ox), rows, cols, |n, w, x| mac(&mut acc[n], w, x));
                        for (n, acc) in acc.iter().enumerate() {
                            store(oy, ox + n, acc);
                        }
                    } else {
                        let mut acc = [i32x8::ZERO; 2];
                        b.taps::<1>((oy, ox), rows, cols, |_, w, x| mac(&mut acc, w, x));
                        store(oy, ox, &acc);
                    }
                    ox += n;
                }
            }
        }
    }
    Ok(pixel_stats(g, &d))
}
