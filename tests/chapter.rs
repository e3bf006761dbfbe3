//! The worked examples of Dive into Deep Learning, "Convolutional Neural Networks", with their
//! exact values, run through every algorithm (these values are small integers, exact in f32 under
//! any summation order, so all algorithms must match exactly).

mod common;

use tinyconv::conv::{direct, im2col, reference};
use tinyconv::pool;
use tinyconv::{Activation, AvgPoolDivisor, Conv2dGeometry, Padding, Pool2dGeometry};

/// Runs the three algorithms and asserts they all give `want` exactly.
fn conv_all(g: &Conv2dGeometry, x: &[f32], w: &[f32], want: &[f32]) {
    let d = g.dims().unwrap();
    let mut y = vec![0.0; d.output_len];
    reference::conv2d_f32(g, x, w, None, Activation::Identity, &mut [], &mut y).unwrap();
    assert_eq!(y, want, "reference");
    let mut y = vec![0.0; d.output_len];
    direct::conv2d_f32(g, x, w, None, Activation::Identity, &mut [], &mut y).unwrap();
    assert_eq!(y, want, "direct");
    let mut y = vec![0.0; d.output_len];
    let mut scratch = vec![0.0; im2col::scratch_len(g, 2)];
    im2col::conv2d_f32(g, x, w, None, Activation::Identity, &mut scratch, &mut y).unwrap();
    assert_eq!(y, want, "im2col");
}

fn iota(n: usize, start: f32) -> Vec<f32> {
    (0..n).map(|i| start + i as f32).collect()
}

#[test]
fn corr2d() {
    let g = Conv2dGeometry::new([3, 3, 1], 1, [2, 2]);
    conv_all(
        &g,
        &iota(9, 0.0),
        &[0.0, 1.0, 2.0, 3.0],
        &[19.0, 25.0, 37.0, 43.0],
    );
}

/// X = ones(6×8) with columns 2..6 zero; K = [[1, −1]].
fn edge_image() -> Vec<f32> {
    (0..6 * 8)
        .map(|i| if (2..6).contains(&(i % 8)) { 0.0 } else { 1.0 })
        .collect()
}

#[test]
fn edge_detection() {
    let x = edge_image();
    let g = Conv2dGeometry::new([6, 8, 1], 1, [1, 2]);
    let want: Vec<f32> = (0..6 * 7)
        .map(|i| match i % 7 {
            1 => 1.0,
            5 => -1.0,
            _ => 0.0,
        })
        .collect();
    conv_all(&g, &x, &[1.0, -1.0], &want);
}

#[test]
fn edge_detection_on_transpose_finds_nothing() {
    let x = edge_image();
    let xt: Vec<f32> = (0..8 * 6).map(|i| x[(i % 6) * 8 + i / 6]).collect();
    let g = Conv2dGeometry::new([8, 6, 1], 1, [1, 2]);
    conv_all(&g, &xt, &[1.0, -1.0], &[0.0; 8 * 5]);
}

/// Channels-last from channel planes.
fn interleave(planes: &[Vec<f32>]) -> Vec<f32> {
    let n = planes[0].len();
    (0..n * planes.len())
        .map(|i| planes[i % planes.len()][i / planes.len()])
        .collect()
}

/// Filters `[o][c][i][j]` (PyTorch) to `[o][i][j][c]`.
fn filters_from_torch(k: &[Vec<Vec<f32>>]) -> Vec<f32> {
    let mut w = Vec::new();
    for filt in k {
        let cin = filt.len();
        for t in 0..filt[0].len() {
            for plane in filt.iter().take(cin) {
                w.push(plane[t]);
            }
        }
    }
    w
}

#[test]
fn multiple_input_channels() {
    let x = interleave(&[iota(9, 0.0), iota(9, 1.0)]);
    let k = vec![vec![iota(4, 0.0), iota(4, 1.0)]];
    let g = Conv2dGeometry::new([3, 3, 2], 1, [2, 2]);
    conv_all(&g, &x, &filters_from_torch(&k), &[56.0, 72.0, 104.0, 120.0]);
}

#[test]
fn multiple_output_channels() {
    let x = interleave(&[iota(9, 0.0), iota(9, 1.0)]);
    let k0 = vec![iota(4, 0.0), iota(4, 1.0)];
    let plus = |d: f32| {
        k0.iter()
            .map(|p| p.iter().map(|v| v + d).collect())
            .collect::<Vec<_>>()
    };
    let k = vec![k0.clone(), plus(1.0), plus(2.0)];
    let g = Conv2dGeometry::new([3, 3, 2], 3, [2, 2]);
    let want = interleave(&[
        vec![56.0, 72.0, 104.0, 120.0],
        vec![76.0, 100.0, 148.0, 172.0],
        vec![96.0, 128.0, 192.0, 224.0],
    ]);
    conv_all(&g, &x, &filters_from_torch(&k), &want);
}

#[test]
fn one_by_one_is_a_matrix_product() {
    // K (c_out × c_in) · X (c_in × HW): with channels-last X, out[p][o] = Σ_c K[o][c]·X[p][c].
    let (cin, cout, h, w) = (3, 2, 3, 3);
    let x = common::pseudo_random(h * w * cin, 1);
    let k = common::pseudo_random(cout * cin, 2);
    let mut want = vec![0.0f32; h * w * cout];
    for p in 0..h * w {
        for o in 0..cout {
            want[p * cout + o] = (0..cin).map(|c| k[o * cin + c] * x[p * cin + c]).sum();
        }
    }
    let g = Conv2dGeometry::new([h, w, cin], cout, [1, 1]);
    let mag = common::conv_magnitude(&g, &x, &k, None);
    let mut y = vec![0.0; h * w * cout];
    let stats =
        im2col::conv2d_f32(&g, &x, &k, None, Activation::Identity, &mut [], &mut y).unwrap();
    assert!(stats.pointwise);
    common::assert_close("1x1 im2col", &y, &want, &mag);
    direct::conv2d_f32(&g, &x, &k, None, Activation::Identity, &mut [], &mut y).unwrap();
    common::assert_close("1x1 direct", &y, &want, &mag);
    reference::conv2d_f32(&g, &x, &k, None, Activation::Identity, &mut [], &mut y).unwrap();
    common::assert_close("1x1 reference", &y, &want, &mag);
}

#[test]
fn padding_and_stride_shapes() {
    let g = Conv2dGeometry::new([8, 8, 1], 1, [3, 3]).with_padding(Padding::uniform(1));
    let d = g.dims().unwrap();
    assert_eq!((d.out_h, d.out_w), (8, 8));
    let d = g.with_stride([2, 2]).dims().unwrap();
    assert_eq!((d.out_h, d.out_w), (4, 4));
    // And "same" padding with stride 2 gives ceil(8/2).
    let d = Conv2dGeometry::new([8, 8, 1], 1, [3, 3])
        .with_stride([2, 2])
        .with_same_padding();
    assert_eq!(d.dims().unwrap().out_h, 4);
}

fn pool_all_max(g: &Pool2dGeometry, x: &[f32], want: &[f32]) {
    let mut y = vec![0.0; want.len()];
    pool::reference::max_pool2d(g, x, &mut y).unwrap();
    assert_eq!(y, want, "reference");
    pool::simd::max_pool2d_f32(g, x, &mut y).unwrap();
    assert_eq!(y, want, "simd");
}

#[test]
fn pool2d_max_and_avg() {
    let x = iota(9, 0.0);
    let g = Pool2dGeometry::new([3, 3, 1], [2, 2]).with_stride([1, 1]);
    pool_all_max(&g, &x, &[4.0, 5.0, 7.0, 8.0]);
    for divisor in [
        AvgPoolDivisor::IncludePadding,
        AvgPoolDivisor::ExcludePadding,
    ] {
        let mut y = [0.0; 4];
        pool::reference::avg_pool2d_f32(&g, divisor, &x, &mut y).unwrap();
        assert_eq!(y, [2.0, 3.0, 5.0, 6.0]);
        pool::simd::avg_pool2d_f32(&g, divisor, &x, &mut y).unwrap();
        assert_eq!(y, [2.0, 3.0, 5.0, 6.0]);
    }
}

#[test]
fn pool2d_padding_and_stride() {
    let x = iota(16, 0.0);
    let g = Pool2dGeometry::new([4, 4, 1], [3, 3]);
    pool_all_max(&g, &x, &[10.0]);
    let g = g.with_padding(Padding::uniform(1)).with_stride([2, 2]);
    pool_all_max(&g, &x, &[5.0, 7.0, 13.0, 15.0]);
    let two = interleave(&[iota(16, 0.0), iota(16, 1.0)]);
    let g2 = Pool2dGeometry { channels: 2, ..g };
    pool_all_max(
        &g2,
        &two,
        &interleave(&[vec![5.0, 7.0, 13.0, 15.0], vec![6.0, 8.0, 14.0, 16.0]]),
    );
}

#[test]
fn avg_pool_padding_rules_differ_at_the_border() {
    // 4×4 of 0..16, 3×3 window, padding 1, stride 2: the top-left window holds 0,1,4,5 inside.
    let x = iota(16, 0.0);
    let g = Pool2dGeometry::new([4, 4, 1], [3, 3])
        .with_padding(Padding::uniform(1))
        .with_stride([2, 2]);
    let mut inc = [0.0; 4];
    let mut exc = [0.0; 4];
    pool::reference::avg_pool2d_f32(&g, AvgPoolDivisor::IncludePadding, &x, &mut inc).unwrap();
    pool::reference::avg_pool2d_f32(&g, AvgPoolDivisor::ExcludePadding, &x, &mut exc).unwrap();
    assert_eq!(inc[0], 10.0 / 9.0);
    assert_eq!(exc[0], 10.0 / 4.0);
    // Bottom-right window: rows 1..4, cols 1..4 are all inside (9 cells): both rules agree.
    assert_eq!(inc[3], exc[3]);
    assert_eq!(
        exc[3],
        (5.0 + 6.0 + 7.0 + 9.0 + 10.0 + 11.0 + 13.0 + 14.0 + 15.0) / 9.0
    );
}
