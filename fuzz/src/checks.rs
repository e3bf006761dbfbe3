//! The checks behind every fuzz target, over raw fuzzer bytes.
//!
//! Each `pub fn <target>(data: &[u8])` derives its input from the bytes with
//! [`arbitrary::Unstructured`] and panics if a property fails. The fuzz targets
//! (`fuzz/fuzz_targets/*.rs`) call these functions, and `tests/fuzz_regressions.rs` includes this
//! file (`#[path]`) to replay every saved crash input (`tests/fuzz_regressions/<target>-*`)
//! through exactly the same checks, so a fixed crash stays fixed.
//!
//! Work per input is bounded so that every convolution target runs ≥ 10⁵ executions in 30 s
//! of one core: a geometry whose convolution would exceed [`MAX_MACS`] multiply-accumulates is
//! shrunk to fit ([`clip`]), not skipped, so every input still exercises the kernels.
#![allow(dead_code)]

use arbitrary::{Result, Unstructured};
use tinyconv::conv::{direct, im2col, reference};
use tinyconv::quant::{
    ActivationRange, LayerParamsI8, QuantizedMultiplier, Rounding,
    multiply_by_quantized_multiplier, multiply_by_quantized_multiplier_single_rounding,
    quantize_multiplier, requantize_to_i8,
};
use tinyconv::{Activation, AvgPoolDivisor, Conv2dGeometry, Error, Padding, Pool2dGeometry};

/// A check over raw fuzzer bytes.
pub type Check = fn(&[u8]);

/// The targets, by name (the file names under `fuzz/fuzz_targets/` and the prefixes of the
/// files in `tests/fuzz_regressions/`).
pub const TARGETS: &[(&str, Check)] = &[
    ("conv2d_f32", conv2d_f32),
    ("conv2d_i8", conv2d_i8),
    ("pool2d", pool2d),
    ("dense", dense),
    ("requantize", requantize),
    ("shapes", shapes),
    ("model_loader", model_loader),
    ("model_inference", model_inference),
];

/// Relative tolerance of f32 results against the reference, of `|b| + Σ|w·x|` (as in
/// `tests/common`): the fast kernels sum in another order and with FMA.
const REL_TOL: f32 = 1e-4;
const ABS_TOL: f32 = 1e-5;

fn run(data: &[u8], f: impl FnOnce(&mut Unstructured<'_>) -> Result<()>) {
    // Running out of bytes mid-way just ends the case: every check done so far stood.
    let _ = f(&mut Unstructured::new(data));
}

/// Largest convolution (multiply-accumulates, `output_len · patch_len`) a case computes; bigger
/// geometries are shrunk by [`clip`]. A case runs the reference twice (values and magnitudes)
/// and each fast path about twice, so this bounds one execution to roughly `6 · MAX_MACS` MACs.
pub const MAX_MACS: usize = 6_000;

/// Shrinks a valid geometry until one convolution costs at most `budget` MACs, keeping what
/// the kernels branch on (kernel size, stride, dilation, padding, and as many channels as
/// fit): first output rows and columns (by shortening the input, the larger output side first,
/// down to one pixel), then the filters, then the input channels (halving). An invalid geometry
/// is returned unchanged (the error paths are checked with it).
pub fn clip(mut g: Conv2dGeometry, budget: usize) -> Conv2dGeometry {
    while let Ok(d) = g.dims() {
        if d.output_len * d.patch_len <= budget {
            break;
        }
        let shorter = |len: usize, stride: usize| len.saturating_sub(stride).max(1);
        let (h, w) = (shorter(g.in_h, g.stride_h), shorter(g.in_w, g.stride_w));
        if d.out_h > 1 && d.out_h >= d.out_w && h < g.in_h {
            g.in_h = h;
        } else if d.out_w > 1 && w < g.in_w {
            g.in_w = w;
        } else if d.out_h > 1 && h < g.in_h {
            g.in_h = h;
        } else if g.out_c > 1 {
            g.out_c = g.out_c.div_ceil(2);
        } else if g.in_c > 1 {
            g.in_c = g.in_c.div_ceil(2);
        } else {
            break; // one pixel, one filter, one channel: at most 6 × 6 MACs
        }
    }
    g
}

/// Any geometry up to 28×28 inputs, 16 channels, 6×6 kernels, stride and dilation 3, padding 4
/// per side (LeNet-5's layers included); it may be invalid. Byte `i` of the input picks field
/// `i` (`value − min`, modulo the range) in the order of the `let`s below, which is how the
/// seed corpus spells the LeNet shapes.
fn geometry(u: &mut Unstructured<'_>) -> Result<Conv2dGeometry> {
    let [h, w] = [u.int_in_range(1..=28)?, u.int_in_range(1..=28)?];
    let [cin, cout] = [u.int_in_range(1..=16)?, u.int_in_range(1..=16)?];
    let [kh, kw] = [u.int_in_range(1..=6)?, u.int_in_range(1..=6)?];
    let [sh, sw] = [u.int_in_range(1..=3)?, u.int_in_range(1..=3)?];
    let [dh, dw] = [u.int_in_range(1..=3)?, u.int_in_range(1..=3)?];
    let pad = Padding::new(
        u.int_in_range(0..=4)?,
        u.int_in_range(0..=4)?,
        u.int_in_range(0..=4)?,
        u.int_in_range(0..=4)?,
    );
    Ok(Conv2dGeometry::new([h, w, cin], cout, [kh, kw])
        .with_stride([sh, sw])
        .with_dilation([dh, dw])
        .with_padding(pad))
}

fn activation(u: &mut Unstructured<'_>) -> Result<Activation> {
    Ok(*u.choose(&[
        Activation::Identity,
        Activation::Relu,
        Activation::Relu6,
        Activation::Sigmoid,
        Activation::Tanh,
    ])?)
}

/// A value in [-128, 128) in steps of 1/256, or, with `specials`, sometimes ±∞ or NaN.
fn value(u: &mut Unstructured<'_>, specials: bool) -> Result<f32> {
    let raw: i16 = u.arbitrary()?;
    if specials && raw % 61 == 0 {
        return Ok(*u.choose(&[f32::INFINITY, f32::NEG_INFINITY, f32::NAN])?);
    }
    Ok(f32::from(raw) / 256.0)
}

fn values(u: &mut Unstructured<'_>, n: usize, specials: bool) -> Result<Vec<f32>> {
    (0..n).map(|_| value(u, specials)).collect()
}

/// `got` equals `want` within the tolerance for finite results, and has exactly the same
/// non-finite values (NaN where the reference is NaN, the same infinity where it is infinite).
fn assert_close(what: &str, got: &[f32], want: &[f32], magnitude: &[f32]) {
    assert_eq!(got.len(), want.len(), "{what}: output length");
    for (i, ((&g, &w), &m)) in got.iter().zip(want).zip(magnitude).enumerate() {
        let ok = if w.is_finite() && g.is_finite() {
            (g - w).abs() <= REL_TOL * m + ABS_TOL
        } else {
            (g.is_nan() && w.is_nan()) || g == w
        };
        assert!(
            ok,
            "{what}: element {i}: got {g}, reference {w}, magnitude {m}"
        );
    }
}

fn abs_all(v: &[f32]) -> Vec<f32> {
    v.iter().map(|x| x.abs()).collect()
}

/// conv2d f32: `im2col` and `direct` agree with `reference` — within tolerance, or with the
/// same non-finite values — for arbitrary geometry (1×1, kernels larger than the input,
/// asymmetric padding, stride, dilation), data with and without ±∞/NaN, bias, activation and
/// im2col tile. Invalid geometry: all three return the same error. `ConvStats` accounts for
/// every output pixel. A band of output rows computed alone equals the same rows of the full
/// output, bit for bit.
///
/// im2col multiplies the zeros it writes for padded taps, so with a non-finite *weight* it may
/// give NaN where the reference (which skips padded taps) is finite; that case only checks that
/// im2col returns `Ok`.
pub fn conv2d_f32(data: &[u8]) {
    run(data, |u| {
        let g = clip(geometry(u)?, MAX_MACS);
        let specials = u.ratio(1, 4)?;
        let act = activation(u)?;
        let d = match g.dims() {
            Ok(d) => d,
            Err(e) => {
                let (x, w, mut y) = ([0.0; 4], [0.0; 4], [0.0; 4]);
                let a = Activation::Identity;
                assert_eq!(
                    reference::conv2d_f32(&g, &x, &w, None, a, &mut [], &mut y),
                    Err(e)
                );
                assert_eq!(
                    direct::conv2d_f32(&g, &x, &w, None, a, &mut [], &mut y),
                    Err(e)
                );
                let r = im2col::conv2d_f32(&g, &x, &w, None, a, &mut [0.0; 64], &mut y);
                assert_eq!(r, Err(e));
                return Ok(());
            }
        };
        let x = values(u, d.input_len, specials)?;
        let weight_specials = specials && u.arbitrary()?;
        let w = values(u, d.weights_len, weight_specials)?;
        let bias = if u.arbitrary()? {
            Some(values(u, g.out_c, false)?)
        } else {
            None
        };
        let b = bias.as_deref();
        let pixels = d.out_h * d.out_w;
        let tile = u.int_in_range(1..=pixels)?;

        let mut want = vec![0.0; d.output_len];
        reference::conv2d_f32(&g, &x, &w, b, act, &mut [], &mut want).expect("reference");
        let mut mag = vec![0.0; d.output_len];
        let ab = b.map(abs_all);
        let (ax, aw) = (abs_all(&x), abs_all(&w));
        reference::conv2d_f32(
            &g,
            &ax,
            &aw,
            ab.as_deref(),
            Activation::Identity,
            &mut [],
            &mut mag,
        )
        .expect("reference magnitude");

        // Kept for the row-band check below.
        let mut full = vec![f32::NAN; d.output_len];
        let stats = direct::conv2d_f32(&g, &x, &w, b, act, &mut [], &mut full).expect("direct");
        assert_eq!(
            stats.interior_pixels + stats.border_pixels,
            pixels,
            "{stats:?}"
        );
        assert_close("direct", &full, &want, &mag);

        let weights_finite = w.iter().all(|v| v.is_finite());
        let mut scratch = vec![f32::NAN; im2col::scratch_len(&g, tile)];
        let mut got = vec![f32::NAN; d.output_len];
        let stats = im2col::conv2d_f32(&g, &x, &w, b, act, &mut scratch, &mut got).expect("im2col");
        if im2col::is_pointwise(&g) {
            assert!(stats.pointwise && stats.gemm_tiles == 1, "{stats:?}");
        } else {
            assert_eq!(stats.gemm_tiles, pixels.div_ceil(tile), "{stats:?}");
        }
        if weights_finite {
            assert_close("im2col", &got, &want, &mag);
        }
        if !im2col::is_pointwise(&g) && d.patch_len > 1 {
            let small = &mut scratch[..d.patch_len - 1];
            let r = im2col::conv2d_f32(&g, &x, &w, b, act, small, &mut got);
            assert!(matches!(r, Err(Error::ScratchTooSmall { .. })), "{r:?}");
        }

        // A band of output rows alone gives the same rows, bit for bit.
        let oy = u.int_in_range(0..=d.out_h - 1)?;
        let n = u.int_in_range(1..=d.out_h - oy)?;
        let row = d.out_w * g.out_c;
        if let Ok((bg, rows)) = g.row_band(oy, n) {
            let xin = &x[rows.start * g.in_w * g.in_c..rows.end * g.in_w * g.in_c];
            let mut band = vec![f32::NAN; n * row];
            direct::conv2d_f32(&bg, xin, &w, b, act, &mut [], &mut band).expect("direct band");
            let same = band
                .iter()
                .zip(&full[oy * row..(oy + n) * row])
                .all(|(p, q)| p.to_bits() == q.to_bits() || (p.is_nan() && q.is_nan()));
            assert!(same, "row band {oy}+{n} differs from the full output");
        }
        Ok(())
    });
}

fn layer_params<'a>(
    u: &mut Unstructured<'_>,
    out_c: usize,
    multipliers: &'a mut Vec<QuantizedMultiplier>,
    bias: &'a mut Vec<i32>,
) -> Result<LayerParamsI8<'a>> {
    let per_channel = u.arbitrary()?;
    let n = if per_channel { out_c } else { 1 };
    for _ in 0..n {
        let m = QuantizedMultiplier::new(
            u.int_in_range(0..=i32::MAX)?,
            u.int_in_range(QuantizedMultiplier::MIN_SHIFT..=QuantizedMultiplier::MAX_SHIFT)?,
        )
        .expect("in range");
        multipliers.push(m);
    }
    let (in_zp, out_zp) = (u.arbitrary()?, u.arbitrary()?);
    let with_bias: bool = u.arbitrary()?;
    if with_bias {
        let big: bool = u.arbitrary()?;
        for _ in 0..out_c {
            bias.push(if big {
                u.arbitrary()?
            } else {
                u.int_in_range(-100_000..=100_000)?
            });
        }
    }
    let mut p = LayerParamsI8::new(in_zp, out_zp, multipliers, with_bias.then_some(&bias[..]));
    let (lo, hi): (i8, i8) = (u.arbitrary()?, u.arbitrary()?);
    if let Ok(r) = ActivationRange::new(lo.min(hi), lo.max(hi)) {
        p = p.with_range(r);
    }
    if u.arbitrary()? {
        p = p.with_rounding(Rounding::Single);
    }
    Ok(p)
}

fn weights_i8(u: &mut Unstructured<'_>, n: usize) -> Result<Vec<i8>> {
    (0..n).map(|_| u.int_in_range(-127..=127)).collect()
}

fn bytes_i8(u: &mut Unstructured<'_>, n: usize) -> Result<Vec<i8>> {
    (0..n).map(|_| u.arbitrary()).collect()
}

/// conv2d int8: `im2col` and `direct` equal `reference` exactly (output and error) for
/// arbitrary geometry, data, zero points, per-tensor or per-channel multipliers (any Q31
/// significand and shift), bias (including ones that break the accumulator bound, which all
/// three must reject), activation range and rounding.
pub fn conv2d_i8(data: &[u8]) {
    run(data, |u| {
        let g = clip(geometry(u)?, MAX_MACS);
        let (mut ms, mut bs) = (Vec::new(), Vec::new());
        let p = layer_params(u, g.out_c, &mut ms, &mut bs)?;
        let d = match g.dims() {
            Ok(d) => d,
            Err(e) => {
                let (x, w, mut y) = ([0i8; 4], [0i8; 4], [0i8; 4]);
                assert_eq!(
                    reference::conv2d_i8(&g, &x, &w, &p, &mut [], &mut y).map(|_| ()),
                    Err(e)
                );
                assert_eq!(
                    direct::conv2d_i8(&g, &x, &w, &p, &mut [], &mut y).map(|_| ()),
                    Err(e)
                );
                let r = im2col::conv2d_i8(&g, &x, &w, &p, &mut [0; 64], &mut y);
                assert_eq!(r.map(|_| ()), Err(e));
                return Ok(());
            }
        };
        let x = bytes_i8(u, d.input_len)?;
        let w = weights_i8(u, d.weights_len)?;
        let tile = u.int_in_range(1..=d.out_h * d.out_w)?;
        let mut want = vec![0i8; d.output_len];
        let r = reference::conv2d_i8(&g, &x, &w, &p, &mut [], &mut want).map(|_| ());
        let mut got = vec![0i8; d.output_len];
        let rd = direct::conv2d_i8(&g, &x, &w, &p, &mut [], &mut got).map(|_| ());
        assert_eq!(rd, r, "direct vs reference result");
        if r.is_ok() {
            assert_eq!(got, want, "direct vs reference output");
        }
        // A scratch of `tile` patches; if the kernel asks for more (it may also pack a panel
        // of filters), it must say how much, and succeed with that.
        let mut scratch = vec![0i16; d.patch_len * tile];
        let mut got = vec![0i8; d.output_len];
        let mut ri = im2col::conv2d_i8(&g, &x, &w, &p, &mut scratch, &mut got).map(|_| ());
        if let Err(Error::ScratchTooSmall { needed, actual }) = ri {
            assert!(
                needed > actual && actual == scratch.len(),
                "{needed} {actual}"
            );
            scratch = vec![0i16; needed];
            ri = im2col::conv2d_i8(&g, &x, &w, &p, &mut scratch, &mut got).map(|_| ());
        }
        assert_eq!(ri, r, "im2col vs reference result");
        if r.is_ok() {
            assert_eq!(got, want, "im2col vs reference output");
        }
        Ok(())
    });
}

fn pool_geometry(u: &mut Unstructured<'_>) -> Result<Pool2dGeometry> {
    let [h, w] = [u.int_in_range(1..=12)?, u.int_in_range(1..=12)?];
    let c = u.int_in_range(1..=20)?;
    let [kh, kw] = [u.int_in_range(1..=5)?, u.int_in_range(1..=5)?];
    let [sh, sw] = [u.int_in_range(1..=3)?, u.int_in_range(1..=3)?];
    // Padding up to the window size: valid below it, invalid at it.
    let pad = Padding::new(
        u.int_in_range(0..=kh)?,
        u.int_in_range(0..=kh)?,
        u.int_in_range(0..=kw)?,
        u.int_in_range(0..=kw)?,
    );
    Ok(Pool2dGeometry::new([h, w, c], [kh, kw])
        .with_stride([sh, sw])
        .with_padding(pad))
}

/// Pooling, max and average (both divisors), f32 and int8: the SIMD kernels equal the
/// reference (f32 max exactly unless a NaN is pooled, which the API leaves open; f32 average
/// within tolerance or with the same non-finite values; int8 exactly), invalid geometry is the
/// same error for both.
pub fn pool2d(data: &[u8]) {
    use tinyconv::pool::{reference as pr, simd};
    run(data, |u| {
        let g = pool_geometry(u)?;
        let range = {
            let (lo, hi): (i8, i8) = (u.arbitrary()?, u.arbitrary()?);
            ActivationRange::new(lo.min(hi), lo.max(hi)).unwrap_or(ActivationRange::none())
        };
        let d = match g.dims() {
            Ok(d) => d,
            Err(e) => {
                let (x, mut y) = ([0.0f32; 4], [0.0f32; 4]);
                assert_eq!(pr::max_pool2d(&g, &x, &mut y), Err(e));
                assert_eq!(simd::max_pool2d_f32(&g, &x, &mut y), Err(e));
                let (xq, mut yq) = ([0i8; 4], [0i8; 4]);
                assert_eq!(pr::max_pool2d_i8(&g, range, &xq, &mut yq), Err(e));
                assert_eq!(simd::max_pool2d_i8(&g, range, &xq, &mut yq), Err(e));
                assert_eq!(simd::avg_pool2d_i8(&g, range, &xq, &mut yq), Err(e));
                return Ok(());
            }
        };
        let specials = u.ratio(1, 4)?;
        let x = values(u, d.input_len, specials)?;
        let has_nan = x.iter().any(|v| v.is_nan());
        let (mut want, mut got) = (vec![0.0; d.output_len], vec![f32::NAN; d.output_len]);
        pr::max_pool2d(&g, &x, &mut want).expect("reference max");
        simd::max_pool2d_f32(&g, &x, &mut got).expect("simd max");
        if !has_nan {
            assert_eq!(got, want, "f32 max pool");
        }
        for div in [
            AvgPoolDivisor::IncludePadding,
            AvgPoolDivisor::ExcludePadding,
        ] {
            let mut mag = vec![0.0; d.output_len];
            pr::avg_pool2d_f32(&g, div, &abs_all(&x), &mut mag).expect("magnitude");
            pr::avg_pool2d_f32(&g, div, &x, &mut want).expect("reference avg");
            simd::avg_pool2d_f32(&g, div, &x, &mut got).expect("simd avg");
            assert_close("f32 avg pool", &got, &want, &mag);
        }
        let xq = bytes_i8(u, d.input_len)?;
        let (mut want, mut got) = (vec![0i8; d.output_len], vec![0i8; d.output_len]);
        pr::max_pool2d_i8(&g, range, &xq, &mut want).expect("reference max i8");
        simd::max_pool2d_i8(&g, range, &xq, &mut got).expect("simd max i8");
        assert_eq!(got, want, "int8 max pool");
        let r = pr::avg_pool2d_i8(&g, range, &xq, &mut want);
        assert_eq!(
            simd::avg_pool2d_i8(&g, range, &xq, &mut got),
            r,
            "int8 avg result"
        );
        if r.is_ok() {
            assert_eq!(got, want, "int8 avg pool");
        }
        Ok(())
    });
}

/// Dense layers, f32 and int8: SIMD equals the reference (f32 within tolerance or with the same
/// non-finite values, int8 exactly, errors identical).
pub fn dense(data: &[u8]) {
    use tinyconv::dense::{reference as dr, simd};
    run(data, |u| {
        let n_in = u.int_in_range(1..=300)?;
        let n_out = u.int_in_range(1..=40)?;
        let act = activation(u)?;
        let specials = u.ratio(1, 4)?;
        let x = values(u, n_in, specials)?;
        let weight_specials = specials && u.arbitrary()?;
        let w = values(u, n_in * n_out, weight_specials)?;
        let b = if u.arbitrary()? {
            Some(values(u, n_out, false)?)
        } else {
            None
        };
        let (mut want, mut got, mut mag) = (vec![0.0; n_out], vec![0.0; n_out], vec![0.0; n_out]);
        dr::dense_f32(&x, &w, b.as_deref(), act, &mut want).expect("reference dense");
        simd::dense_f32(&x, &w, b.as_deref(), act, &mut got).expect("simd dense");
        let ab = b.as_deref().map(abs_all);
        let (ax, aw) = (abs_all(&x), abs_all(&w));
        dr::dense_f32(&ax, &aw, ab.as_deref(), Activation::Identity, &mut mag).expect("mag");
        assert_close("dense f32", &got, &want, &mag);

        let (mut ms, mut bs) = (Vec::new(), Vec::new());
        let p = layer_params(u, n_out, &mut ms, &mut bs)?;
        let xq = bytes_i8(u, n_in)?;
        let wq = weights_i8(u, n_in * n_out)?;
        let (mut want, mut got) = (vec![0i8; n_out], vec![0i8; n_out]);
        let r = dr::dense_i8(&xq, &wq, &p, &mut want);
        assert_eq!(simd::dense_i8(&xq, &wq, &p, &mut got), r, "dense i8 result");
        if r.is_ok() {
            assert_eq!(got, want, "dense i8");
        }
        Ok(())
    });
}

/// TFLite's `MultiplyByQuantizedMultiplier`, double rounding, computed in `i128` straight from
/// its definition: `x · 2^left` saturated to `i32`, then `SaturatingRoundingDoublingHighMul`
/// (`(a·b + nudge) / 2^31` truncated, nudge `±2^30` toward the sign, ties toward `+∞`), then a
/// division by `2^right` rounded to nearest with ties away from zero.
fn model_double(x: i32, multiplier: i32, shift: i32) -> i32 {
    let (left, right) = (shift.max(0), (-shift).max(0));
    let xs = (i128::from(x) << left).clamp(i128::from(i32::MIN), i128::from(i32::MAX));
    let ab = xs * i128::from(multiplier);
    let nudge: i128 = if ab >= 0 { 1 << 30 } else { 1 - (1 << 30) };
    let high = (ab + nudge) / (1i128 << 31); // Rust's `/` truncates toward zero, like C's
    let high = high.clamp(i128::from(i32::MIN), i128::from(i32::MAX));
    let q = if right == 0 {
        high
    } else {
        let half = 1i128 << (right - 1);
        high.signum() * ((high.abs() + half) >> right)
    };
    q as i32
}

/// The single-rounding variant: `floor(x · multiplier / 2^(31 − shift) + 1/2)`, saturated.
fn model_single(x: i32, multiplier: i32, shift: i32) -> i32 {
    let total = 31 - shift;
    let num = i128::from(x) * i128::from(multiplier) + (1i128 << (total - 1));
    (num >> total).clamp(i128::from(i32::MIN), i128::from(i32::MAX)) as i32
}

/// Requantization: for any input, Q31 significand and shift (including the constructor's
/// rejections), `multiply_by_quantized_multiplier` (both roundings) and `requantize_to_i8`
/// never panic and equal an `i128` model of TFLite's formulas; `quantize_multiplier` of any
/// `f64` is an error or a multiplier within `2^-31` (relative) of the real value.
pub fn requantize(data: &[u8]) {
    run(data, |u| {
        let x: i32 = u.arbitrary()?;
        let multiplier: i32 = u.arbitrary()?;
        let shift: i32 = if u.arbitrary()? {
            u.int_in_range(-34..=34)?
        } else {
            u.arbitrary()?
        };
        match QuantizedMultiplier::new(multiplier, shift) {
            Err(_) => assert!(
                !(0..=i32::MAX).contains(&multiplier)
                    || !(QuantizedMultiplier::MIN_SHIFT..=QuantizedMultiplier::MAX_SHIFT)
                        .contains(&shift),
                "valid multiplier {multiplier}, shift {shift} rejected"
            ),
            Ok(m) => {
                assert_eq!(
                    multiply_by_quantized_multiplier(x, m),
                    model_double(x, multiplier, shift),
                    "double rounding: x {x}, multiplier {multiplier}, shift {shift}"
                );
                assert_eq!(
                    multiply_by_quantized_multiplier_single_rounding(x, m),
                    model_single(x, multiplier, shift),
                    "single rounding: x {x}, multiplier {multiplier}, shift {shift}"
                );
                let zp: i8 = u.arbitrary()?;
                let (lo, hi): (i8, i8) = (u.arbitrary()?, u.arbitrary()?);
                let range =
                    ActivationRange::new(lo.min(hi), lo.max(hi)).unwrap_or(ActivationRange::none());
                for (rounding, model) in [
                    (Rounding::Double, model_double(x, multiplier, shift)),
                    (Rounding::Single, model_single(x, multiplier, shift)),
                ] {
                    let want = (i128::from(model) + i128::from(zp))
                        .clamp(i128::from(range.min()), i128::from(range.max()))
                        as i8;
                    assert_eq!(requantize_to_i8(x, m, zp, range, rounding), want);
                }
            }
        }
        let real = f64::from_bits(u.arbitrary()?);
        if let Ok(m) = quantize_multiplier(real) {
            let approx = m.to_f64();
            if real.is_normal() && real > 0.0 && approx > 0.0 {
                let rel = ((approx - real) / real).abs();
                assert!(
                    rel <= 1.0 / f64::from(1u32 << 31) * 1.0001,
                    "{real}: {approx}"
                );
            }
        }
        Ok(())
    });
}

/// A slice length near the right one (±2), or any small length.
fn len(u: &mut Unstructured<'_>, right: Option<usize>) -> Result<usize> {
    Ok(match right {
        Some(r) if u.ratio(2, 3)? => {
            let delta: i8 = u.int_in_range(-2..=2)?;
            r.saturating_add_signed(isize::from(delta))
        }
        _ => u.int_in_range(0..=200)?,
    })
}

/// Every runtime-shape entry point with arbitrary, mostly inconsistent slice lengths and
/// geometry: each returns exactly `Ok` when the lengths match the geometry (and the scratch and
/// accumulator bound suffice) and an error otherwise — never a panic, never an out-of-bounds
/// access.
pub fn shapes(data: &[u8]) {
    use tinyconv::dense::{reference as dr, simd as ds};
    use tinyconv::pool::{reference as pr, simd as ps};
    run(data, |u| {
        let g = clip(geometry(u)?, MAX_MACS);
        let d = g.dims().ok();
        let (li, lw, lo) = (
            len(u, d.map(|d| d.input_len))?,
            len(u, d.map(|d| d.weights_len))?,
            len(u, d.map(|d| d.output_len))?,
        );
        let lb = len(u, Some(g.out_c))?;
        let ls = len(u, d.map(|d| d.patch_len))?;
        let with_bias: bool = u.arbitrary()?;
        let lengths_ok = d.is_some_and(|d| {
            d.input_len == li
                && d.weights_len == lw
                && d.output_len == lo
                && (!with_bias || lb == g.out_c)
        });
        let (x, w, bias, mut y) = (
            vec![0.5f32; li],
            vec![0.25; lw],
            vec![0.0; lb],
            vec![0.0; lo],
        );
        let b = with_bias.then_some(&bias[..]);
        let a = Activation::Relu;
        let r = reference::conv2d_f32(&g, &x, &w, b, a, &mut [], &mut y);
        assert_eq!(r.is_ok(), lengths_ok, "reference f32 {r:?}");
        let r = direct::conv2d_f32(&g, &x, &w, b, a, &mut [], &mut y);
        assert_eq!(r.is_ok(), lengths_ok, "direct f32 {r:?}");
        let mut s = vec![0.0; ls];
        let r = im2col::conv2d_f32(&g, &x, &w, b, a, &mut s, &mut y);
        let scratch_ok = d.is_some_and(|d| ls >= d.patch_len) || im2col::is_pointwise(&g);
        match r {
            Err(Error::ScratchTooSmall { .. }) => assert!(lengths_ok && !scratch_ok),
            r => assert_eq!(r.is_ok(), lengths_ok, "im2col f32 {r:?}"),
        }

        let (xq, wq, mut yq) = (vec![1i8; li], vec![1i8; lw], vec![0i8; lo]);
        let ms = [quantize_multiplier(0.01).expect("valid")];
        let bq = vec![0i32; lb];
        let p = LayerParamsI8::new(0, 0, &ms, with_bias.then_some(&bq[..]));
        let r = reference::conv2d_i8(&g, &xq, &wq, &p, &mut [], &mut yq);
        assert_eq!(r.is_ok(), lengths_ok, "reference i8 {r:?}");
        let r = direct::conv2d_i8(&g, &xq, &wq, &p, &mut [], &mut yq);
        assert_eq!(r.is_ok(), lengths_ok, "direct i8 {r:?}");
        let mut sq = vec![0i16; ls];
        // int8 im2col may need more scratch than one patch (a packed filter panel): only
        // "never panics, never Ok with wrong lengths".
        let r = im2col::conv2d_i8(&g, &xq, &wq, &p, &mut sq, &mut yq);
        assert!(r.is_err() || lengths_ok, "im2col i8 {r:?}");

        // Row bands of any rows, in range or not.
        let oy = u.int_in_range(0..=20)?;
        let n = u.int_in_range(0..=20)?;
        if let (Ok((bg, rows)), Some(d)) = (g.row_band(oy, n), d) {
            assert!(oy + n <= d.out_h && rows.start < rows.end && rows.end <= g.in_h);
            assert!(
                bg.dims()
                    .is_ok_and(|bd| bd.out_h == n && bd.out_w == d.out_w)
            );
        }

        // Pooling.
        let pg = pool_geometry(u)?;
        let pd = pg.dims().ok();
        let (pi, po) = (
            len(u, pd.map(|d| d.input_len))?,
            len(u, pd.map(|d| d.output_len))?,
        );
        let pool_ok = pd.is_some_and(|d| d.input_len == pi && d.output_len == po);
        let (x, mut y) = (vec![0.0f32; pi], vec![0.0f32; po]);
        let (xq, mut yq) = (vec![0i8; pi], vec![0i8; po]);
        let none = ActivationRange::none();
        let div = AvgPoolDivisor::ExcludePadding;
        for r in [
            pr::max_pool2d_f32(&pg, &x, &mut y),
            ps::max_pool2d_f32(&pg, &x, &mut y),
            pr::avg_pool2d_f32(&pg, div, &x, &mut y),
            ps::avg_pool2d_f32(&pg, div, &x, &mut y),
            pr::max_pool2d_i8(&pg, none, &xq, &mut yq),
            ps::max_pool2d_i8(&pg, none, &xq, &mut yq),
            pr::avg_pool2d_i8(&pg, none, &xq, &mut yq),
            ps::avg_pool2d_i8(&pg, none, &xq, &mut yq),
        ] {
            assert_eq!(r.is_ok(), pool_ok, "pool {r:?}");
        }

        // Dense.
        let (ni, no) = (len(u, None)?, len(u, None)?);
        let (nw, nb) = (len(u, Some(ni * no))?, len(u, Some(no))?);
        let with_bias: bool = u.arbitrary()?;
        let dense_ok = ni > 0 && no > 0 && nw == ni * no && (!with_bias || nb == no);
        let (x, w, bias, mut y) = (
            vec![0.5f32; ni],
            vec![0.5; nw],
            vec![0.0; nb],
            vec![0.0; no],
        );
        let b = with_bias.then_some(&bias[..]);
        for r in [
            dr::dense_f32(&x, &w, b, a, &mut y),
            ds::dense_f32(&x, &w, b, a, &mut y),
        ] {
            assert_eq!(r.is_ok(), dense_ok, "dense f32 {r:?}");
        }
        let (xq, wq, bq, mut yq) = (vec![1i8; ni], vec![1i8; nw], vec![0i32; nb], vec![0i8; no]);
        let p = LayerParamsI8::new(0, 0, &ms, with_bias.then_some(&bq[..]));
        for r in [
            dr::dense_i8(&xq, &wq, &p, &mut yq),
            ds::dense_i8(&xq, &wq, &p, &mut yq),
        ] {
            assert_eq!(r.is_ok(), dense_ok, "dense i8 {r:?}");
        }
        Ok(())
    });
}

/// The LeNet-5 weight loaders: arbitrary bytes decode to an error or to weights, never a
/// panic; decoded weights run a whole image through every algorithm without a panic (f32:
/// `Ok` or [`Error::NonFinite`]; int8: identical logits for the three algorithms).
pub fn model_loader(data: &[u8]) {
    use tinyconv::models::lenet5::{
        Lenet5F32, Lenet5I8, Lenet5I8Weights, Lenet5Plan, Lenet5Weights, PackedF32, PackedI8,
    };
    use tinyconv::models::{Auto, Direct, Im2col, Reference};
    fn f32_logits<P: Lenet5Plan>(w: &Lenet5Weights) -> Result<[f32; 10], Error> {
        let packed = Box::new(PackedF32::<P>::pack(w)?);
        Lenet5F32::new(&*packed).logits(&[[[0.5f32]; 28]; 28])
    }
    fn i8_logits<P: Lenet5Plan>(w: &Lenet5I8Weights) -> Result<[i8; 10], Error> {
        let packed = Box::new(PackedI8::<P>::pack(w)?);
        Lenet5I8::new(&*packed).logits_u8(&[128u8; 28 * 28])
    }
    if let Ok(w) = Lenet5Weights::decode(data) {
        for r in [
            f32_logits::<Reference>(&w),
            f32_logits::<Im2col>(&w),
            f32_logits::<Direct>(&w),
            f32_logits::<Auto>(&w),
        ] {
            assert!(r.is_ok() || r == Err(Error::NonFinite), "{r:?}");
        }
    }
    if let Ok(w) = Lenet5I8Weights::decode(data) {
        let a = i8_logits::<Reference>(&w);
        assert!(a.is_ok(), "{a:?}");
        assert_eq!(a, i8_logits::<Im2col>(&w), "int8 im2col vs reference");
        assert_eq!(a, i8_logits::<Direct>(&w), "int8 direct vs reference");
        assert_eq!(a, i8_logits::<Auto>(&w), "int8 auto vs reference");
    }
}

/// The LeNet-5 weight files past the parser: the payload hash of the input (FNV-1a, see
/// `tinyconv::models::blob`) is rewritten to match before decoding, so a mutated weight file —
/// the seeds are the shipped `models/*.bin` — decodes whenever its structure is valid, and its
/// weights then classify an image with every plan: f32 gives `Ok` or [`Error::NonFinite`],
/// never a panic; int8 gives `Ok` and identical logits from every plan. (`model_loader` sees the
/// raw bytes, where a mutation almost never survives the hash.)
pub fn model_inference(data: &[u8]) {
    use tinyconv::models::blob::{HEADER_LEN, fnv1a};
    use tinyconv::models::lenet5::{
        self, Lenet5F32, Lenet5I8, Lenet5I8Weights, Lenet5Plan, Lenet5Weights, PackedF32, PackedI8,
    };
    use tinyconv::models::{Auto, Direct, Im2col, Reference};
    if data.len() < HEADER_LEN + 4 {
        return;
    }
    let mut bytes = data.to_vec();
    let announced = u32::from_le_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]) as usize;
    let end = HEADER_LEN + announced.min(bytes.len() - HEADER_LEN - 4);
    let hash = fnv1a(&bytes, HEADER_LEN, end);
    bytes[end..end + 4].copy_from_slice(&hash.to_le_bytes());
    // A diagonal gradient: every pixel value from black to white.
    let mut pixels = [0u8; 28 * 28];
    for (i, p) in pixels.iter_mut().enumerate() {
        *p = ((i / 28 + i % 28) * 255 / 54) as u8;
    }
    let image = lenet5::image_from_u8(&pixels);
    let f32_logits = |w: &Lenet5Weights| -> [Result<[f32; 10], Error>; 4] {
        fn one<P: Lenet5Plan>(
            w: &Lenet5Weights,
            image: &lenet5::Image,
        ) -> Result<[f32; 10], Error> {
            let packed = Box::new(PackedF32::<P>::pack(w)?);
            Lenet5F32::new(&*packed).logits(image)
        }
        [
            one::<Reference>(w, &image),
            one::<Im2col>(w, &image),
            one::<Direct>(w, &image),
            one::<Auto>(w, &image),
        ]
    };
    fn i8_logits<P: Lenet5Plan>(w: &Lenet5I8Weights, px: &[u8; 784]) -> Result<[i8; 10], Error> {
        let packed = Box::new(PackedI8::<P>::pack(w)?);
        Lenet5I8::new(&*packed).logits_u8(px)
    }
    if let Ok(w) = Lenet5Weights::decode(&bytes) {
        for r in f32_logits(&w) {
            assert!(r.is_ok() || r == Err(Error::NonFinite), "{r:?}");
        }
    }
    if let Ok(w) = Lenet5I8Weights::decode(&bytes) {
        let a = i8_logits::<Reference>(&w, &pixels);
        assert!(a.is_ok(), "{a:?}");
        assert_eq!(
            a,
            i8_logits::<Im2col>(&w, &pixels),
            "int8 im2col vs reference"
        );
        assert_eq!(
            a,
            i8_logits::<Direct>(&w, &pixels),
            "int8 direct vs reference"
        );
        assert_eq!(a, i8_logits::<Auto>(&w, &pixels), "int8 auto vs reference");
    }
}
