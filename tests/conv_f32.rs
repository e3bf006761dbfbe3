//! Property tests: `im2col` and `direct` equal `reference` (within the tolerance stated in
//! `common`) for random geometry and data, plus named edge cases and frozen regressions.

mod common;

use common::{check_conv2d_f32, pseudo_random};
use proptest::prelude::*;
use tinyconv::{Activation, Conv2dGeometry, Padding};

/// Random geometry over the ranges: channels 1..=20, sizes 1..=24, kernel 1..=7 per
/// side, stride 1..=3, padding 0..kernel per side, dilation 1..=2; only valid geometries
/// (dilated kernel fits the padded input).
pub fn geometry() -> impl Strategy<Value = Conv2dGeometry> {
    (
        (1usize..=20, 1usize..=20, 1usize..=24, 1usize..=24),
        (
            1usize..=7,
            1usize..=7,
            1usize..=3,
            1usize..=3,
            1usize..=2,
            1usize..=2,
        ),
    )
        .prop_flat_map(|((cin, cout, h, w), (kh, kw, sh, sw, dh, dw))| {
            (0..kh, 0..kh, 0..kw, 0..kw).prop_map(move |(pt, pb, pl, pr)| {
                Conv2dGeometry::new([h, w, cin], cout, [kh, kw])
                    .with_stride([sh, sw])
                    .with_dilation([dh, dw])
                    .with_padding(Padding::new(pt, pb, pl, pr))
            })
        })
        .prop_filter("kernel must fit the padded input", |g| g.dims().is_ok())
}

fn activation() -> impl Strategy<Value = Activation> {
    prop_oneof![
        Just(Activation::Identity),
        Just(Activation::Relu),
        Just(Activation::Relu6),
        Just(Activation::Sigmoid),
        Just(Activation::Tanh),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(192))]

    #[test]
    fn fast_algorithms_match_reference(
        g in geometry(),
        seed in any::<u64>(),
        with_bias in any::<bool>(),
        act in activation(),
    ) {
        let d = g.dims().unwrap();
        let x = pseudo_random(d.input_len, seed);
        let w = pseudo_random(d.weights_len, seed ^ 1);
        let b = pseudo_random(g.out_c, seed ^ 2);
        check_conv2d_f32(&g, &x, &w, with_bias.then_some(&b[..]), act);
    }
}

/// Named edge cases (XNNPACK style): one per structural corner of the fast paths.
fn case(g: Conv2dGeometry) {
    let d = g.dims().expect("valid geometry");
    let x = pseudo_random(d.input_len, 11);
    let w = pseudo_random(d.weights_len, 12);
    let b = pseudo_random(g.out_c, 13);
    check_conv2d_f32(&g, &x, &w, Some(&b), Activation::Identity);
}

#[test]
fn lenet_conv1() {
    case(Conv2dGeometry::new([28, 28, 1], 6, [5, 5]).with_padding(Padding::uniform(2)));
}

#[test]
fn lenet_conv2() {
    case(Conv2dGeometry::new([14, 14, 6], 16, [5, 5]));
}

#[test]
fn patch_len_below_one_vector() {
    case(Conv2dGeometry::new([5, 5, 1], 3, [2, 3]));
}

#[test]
fn patch_len_exactly_one_vector() {
    case(Conv2dGeometry::new([5, 5, 8], 5, [1, 1]).with_stride([2, 1]));
}

#[test]
fn pointwise_many_channels() {
    case(Conv2dGeometry::new([7, 9, 33], 17, [1, 1]));
}

#[test]
fn output_channels_not_multiple_of_block() {
    for cout in 1..=9 {
        case(Conv2dGeometry::new([6, 6, 3], cout, [3, 3]).with_padding(Padding::uniform(1)));
    }
}

#[test]
fn input_smaller_than_kernel_with_padding() {
    case(Conv2dGeometry::new([2, 1, 2], 3, [5, 4]).with_padding(Padding::new(2, 2, 3, 1)));
}

#[test]
fn asymmetric_padding_stride_dilation() {
    case(
        Conv2dGeometry::new([11, 13, 4], 6, [3, 2])
            .with_stride([2, 3])
            .with_dilation([2, 2])
            .with_padding(Padding::new(0, 3, 1, 0)),
    );
}

#[test]
fn padding_wider_than_input_leaves_bias_only_pixels() {
    // Output pixels whose window is entirely padding get act(bias).
    case(Conv2dGeometry::new([1, 1, 1], 2, [1, 1]).with_padding(Padding::uniform(2)));
}

#[test]
fn same_padding_stride_2() {
    case(
        Conv2dGeometry::new([9, 10, 5], 7, [3, 3])
            .with_stride([2, 2])
            .with_same_padding(),
    );
}

#[test]
fn large_3x3() {
    case(Conv2dGeometry::new([16, 16, 32], 32, [3, 3]).with_padding(Padding::uniform(1)));
}

#[test]
fn im2col_rejects_scratch_smaller_than_a_patch() {
    let g = Conv2dGeometry::new([4, 4, 2], 1, [3, 3]);
    let mut out = [0.0; 4];
    let r = tinyconv::conv::im2col::conv2d_f32(
        &g,
        &[0.0; 32],
        &[0.0; 18],
        None,
        Activation::Identity,
        &mut [0.0; 17],
        &mut out,
    );
    assert_eq!(
        r,
        Err(tinyconv::Error::ScratchTooSmall {
            needed: 18,
            actual: 17
        })
    );
}

#[test]
fn runtime_entry_points_reject_wrong_lengths() {
    use tinyconv::Error;
    use tinyconv::conv::{direct, im2col, reference};
    let g = Conv2dGeometry::new([4, 4, 2], 3, [3, 3]);
    let (x, w, b) = ([0.0; 32], [0.0; 54], [0.0; 3]);
    let mut y = [0.0; 12];
    let mut s = [0.0; 64];
    let a = Activation::Identity;
    let bad_input = Err(Error::LengthMismatch {
        what: "input",
        expected: 32,
        actual: 31,
    });
    assert_eq!(
        reference::conv2d_f32(&g, &x[1..], &w, Some(&b), a, &mut [], &mut y).map(|_| ()),
        bad_input
    );
    assert_eq!(
        direct::conv2d_f32(&g, &x[1..], &w, Some(&b), a, &mut [], &mut y).map(|_| ()),
        bad_input
    );
    let r = im2col::conv2d_f32(&g, &x[1..], &w, Some(&b), a, &mut s, &mut y);
    assert_eq!(r.map(|_| ()), bad_input);
    let bad_bias = Err(Error::LengthMismatch {
        what: "bias",
        expected: 3,
        actual: 2,
    });
    assert_eq!(
        direct::conv2d_f32(&g, &x, &w, Some(&b[1..]), a, &mut [], &mut y).map(|_| ()),
        bad_bias
    );
    let bad_out = Err(Error::LengthMismatch {
        what: "output",
        expected: 12,
        actual: 11,
    });
    assert_eq!(
        direct::conv2d_f32(&g, &x, &w, Some(&b), a, &mut [], &mut y[1..]).map(|_| ()),
        bad_out
    );
    let zero_stride = g.with_stride([0, 1]);
    assert!(matches!(
        direct::conv2d_f32(&zero_stride, &x, &w, Some(&b), a, &mut [], &mut y),
        Err(Error::InvalidGeometry(_))
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Computing a convolution band by band (as conv + pool fusion does) gives exactly the rows
    /// of the full computation, for every algorithm.
    #[test]
    fn row_bands_reassemble_the_full_output(g in geometry(), band in 1usize..=4, seed in any::<u64>()) {
        use tinyconv::conv::{direct, im2col, reference};
        let d = g.dims().unwrap();
        let x = pseudo_random(d.input_len, seed);
        let w = pseudo_random(d.weights_len, seed ^ 1);
        let act = Activation::Identity;
        let row_len = d.out_w * g.out_c;
        let in_row = g.in_w * g.in_c;
        type Run = fn(&Conv2dGeometry, &[f32], &[f32], &mut [f32]) -> Result<(), tinyconv::Error>;
        let runs: [Run; 3] = [
            |g, x, w, y| {
                reference::conv2d_f32(g, x, w, None, Activation::Identity, &mut [], y).map(|_| ())
            },
            |g, x, w, y| direct::conv2d_f32(g, x, w, None, Activation::Identity, &mut [], y).map(|_| ()),
            |g, x, w, y| {
                let mut s = vec![0.0; im2col::scratch_len(g, 3)];
                im2col::conv2d_f32(g, x, w, None, Activation::Identity, &mut s, y).map(|_| ())
            },
        ];
        let _ = act;
        for run in runs {
            let mut full = vec![0.0; d.output_len];
            run(&g, &x, &w, &mut full).unwrap();
            let mut oy = 0;
            while oy < d.out_h {
                let n = band.min(d.out_h - oy);
                match g.row_band(oy, n) {
                    Ok((bg, rows)) => {
                        let mut y = vec![f32::NAN; n * row_len];
                        run(&bg, &x[rows.start * in_row..rows.end * in_row], &w, &mut y).unwrap();
                        prop_assert_eq!(&y[..], &full[oy * row_len..(oy + n) * row_len]);
                    }
                    // Only a band entirely in the padding is refused; its output is all zeros.
                    Err(_) => prop_assert!(full[oy * row_len..(oy + n) * row_len].iter().all(|&v| v == 0.0)),
                }
                oy += n;
            }
        }
    }
}
