//! The f32 LeNet-5 model: its conv+pool fusion equals the unfused network computed layer by layer
//! with the reference kernels, for both variants and every algorithm; its weight-file decoder
//! rejects every kind of malformed file.

mod common;

use common::pseudo_random;
use tinyconv::conv::reference as conv_ref;
use tinyconv::dense::reference as dense_ref;
use tinyconv::models::blob::{self, Precision};
use tinyconv::models::lenet5::{
    self, CONV1, CONV2, Image, Lenet5F32, Lenet5Plan, Lenet5Weights, PackedF32, Variant,
};
use tinyconv::models::{Auto, Direct, Im2col, Reference};
use tinyconv::pool::reference as pool_ref;
use tinyconv::{Activation, AvgPoolDivisor, Conv2dF32Kernel, Error, Pool2dGeometry};

fn random_weights(variant: Variant, seed: u64) -> Box<Lenet5Weights> {
    let mut w = Box::new(lenet5::MODERN_F32.clone());
    w.variant = variant;
    let fill = |xs: &mut [f32], s: u64, scale: f32| {
        let r = pseudo_random(xs.len(), s);
        for (x, r) in xs.iter_mut().zip(r) {
            *x = r * scale;
        }
    };
    fill(
        w.conv1_w
            .as_flattened_mut()
            .as_flattened_mut()
            .as_flattened_mut(),
        seed,
        0.4,
    );
    fill(&mut w.conv1_b, seed + 1, 0.1);
    fill(
        w.conv2_w
            .as_flattened_mut()
            .as_flattened_mut()
            .as_flattened_mut(),
        seed + 2,
        0.15,
    );
    fill(&mut w.conv2_b, seed + 3, 0.1);
    fill(w.fc1_w.as_flattened_mut(), seed + 4, 0.05);
    fill(&mut w.fc1_b, seed + 5, 0.1);
    fill(w.fc2_w.as_flattened_mut(), seed + 6, 0.1);
    fill(&mut w.fc2_b, seed + 7, 0.1);
    fill(w.fc3_w.as_flattened_mut(), seed + 8, 0.2);
    fill(&mut w.fc3_b, seed + 9, 0.1);
    w
}

fn random_image(seed: u64) -> Image {
    let v = pseudo_random(28 * 28, seed);
    let mut img = [[[0.0f32; 1]; 28]; 28];
    for (i, x) in v.into_iter().enumerate() {
        img[i / 28][i % 28][0] = (x + 1.0) / 2.0;
    }
    img
}

/// The network without fusion: whole conv maps, then pooling, with the reference kernels.
fn unfused(w: &Lenet5Weights, img: &Image) -> Vec<f32> {
    let act = w.variant.activation();
    let pool = |x: &[f32], h: usize, c: usize| {
        let g = Pool2dGeometry::new([h, h, c], [2, 2]);
        let mut y = vec![0.0; (h / 2) * (h / 2) * c];
        match w.variant {
            Variant::Classic => {
                pool_ref::avg_pool2d_f32(&g, AvgPoolDivisor::IncludePadding, x, &mut y).unwrap()
            }
            Variant::Modern => pool_ref::max_pool2d_f32(&g, x, &mut y).unwrap(),
        }
        y
    };
    let mut c1 = vec![0.0; 28 * 28 * 6];
    let x = img.as_flattened().as_flattened();
    let w1 = w.conv1_w.as_flattened().as_flattened().as_flattened();
    conv_ref::conv2d_f32(&CONV1, x, w1, Some(&w.conv1_b), act, &mut [], &mut c1).unwrap();
    let p1 = pool(&c1, 28, 6);
    let mut c2 = vec![0.0; 10 * 10 * 16];
    let w2 = w.conv2_w.as_flattened().as_flattened().as_flattened();
    conv_ref::conv2d_f32(&CONV2, &p1, w2, Some(&w.conv2_b), act, &mut [], &mut c2).unwrap();
    let p2 = pool(&c2, 10, 16);
    let mut f1 = vec![0.0; 120];
    dense_ref::dense_f32(&p2, w.fc1_w.as_flattened(), Some(&w.fc1_b), act, &mut f1).unwrap();
    let mut f2 = vec![0.0; 84];
    dense_ref::dense_f32(&f1, w.fc2_w.as_flattened(), Some(&w.fc2_b), act, &mut f2).unwrap();
    let mut out = vec![0.0; 10];
    dense_ref::dense_f32(
        &f2,
        w.fc3_w.as_flattened(),
        Some(&w.fc3_b),
        Activation::Identity,
        &mut out,
    )
    .unwrap();
    out
}

fn check_fusion<P: Lenet5Plan>(w: &Lenet5Weights) {
    let packed = Box::new(PackedF32::<P>::pack(w).unwrap());
    let mut model = Box::new(Lenet5F32::new(&*packed));
    for seed in 0..4 {
        let img = random_image(100 + seed);
        let want = unfused(w, &img);
        let got = model.logits(&img).unwrap();
        // Reduction order differs between algorithms; logits are O(1) here.
        for (g, e) in got.iter().zip(&want) {
            assert!(
                (g - e).abs() <= 1e-4 * (1.0 + e.abs()),
                "{}: {got:?} vs {want:?}",
                P::NAME
            );
        }
    }
}

#[test]
fn fused_model_equals_unfused_network() {
    for variant in [Variant::Classic, Variant::Modern] {
        let w = random_weights(variant, 7);
        check_fusion::<Reference>(&w);
        check_fusion::<Im2col>(&w);
        check_fusion::<Direct>(&w);
        check_fusion::<Auto>(&w);
    }
}

#[test]
fn nan_input_is_an_error() {
    let w = random_weights(Variant::Modern, 1);
    let packed = Box::new(PackedF32::<Direct>::pack(&w).unwrap());
    let mut model = Lenet5F32::new(&*packed);
    let mut img = random_image(1);
    img[3][4][0] = f32::NAN;
    assert_eq!(model.predict(&img), Err(Error::NonFinite));
    img[3][4][0] = f32::INFINITY;
    assert_eq!(model.logits(&img), Err(Error::NonFinite));
}

#[test]
fn ram_and_weight_bytes() {
    // Buffers: 2×28×6 + 14×14×6 + 2×10×16 + 5×5×16 + 120 + 84 floats.
    let buffers = (2 * 28 * 6 + 14 * 14 * 6 + 2 * 10 * 16 + 5 * 5 * 16 + 120 + 84) * 4;
    assert_eq!(Lenet5F32::<Direct>::RAM_BYTES, buffers);
    // im2col: a tile of at most 4,096 floats, no larger than a band of two output rows: conv2's
    // 2·10 pixels of 150 taps (conv1's band needs only 2·28 pixels of 25).
    let scratch = lenet5::scratch_f32(Conv2dF32Kernel::Im2col, Conv2dF32Kernel::Im2col);
    assert_eq!(scratch, 2 * 10 * 150);
    assert_eq!(Lenet5F32::<Im2col>::RAM_BYTES, buffers + 4 * scratch);
    assert_eq!(Lenet5F32::<Reference>::WEIGHT_BYTES, 61_706 * 4);
}

/// A well-formed file around `payload`.
fn file(variant: u8, precision: Precision, payload: &[u8]) -> Vec<u8> {
    let mut out = blob::header(lenet5::MODEL_ID, variant, precision, payload.len() as u32).to_vec();
    out.extend_from_slice(payload);
    out.extend_from_slice(&blob::fnv1a(payload, 0, payload.len()).to_le_bytes());
    out
}

#[test]
fn decoder_round_trips_and_rejects_malformed_files() {
    let payload: Vec<u8> = pseudo_random(Lenet5Weights::PARAMS, 5)
        .iter()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    let good = file(1, Precision::F32, &payload);
    let w = Lenet5Weights::decode(&good).unwrap();
    assert_eq!(w.variant, Variant::Modern);
    assert_eq!(w.conv1_w[0][0][0][0].to_le_bytes(), payload[..4]);
    assert_eq!(w.fc3_b[9].to_le_bytes(), payload[payload.len() - 4..]);

    let fmt = |r: Result<Lenet5Weights, Error>| match r {
        Err(Error::Format(m)) => m,
        other => panic!("expected a format error, got {:?}", other.map(|_| ())),
    };
    assert!(fmt(Lenet5Weights::decode(&[])).contains("header"));
    let mut bad = good.clone();
    bad[0] = b'X';
    assert!(fmt(Lenet5Weights::decode(&bad)).contains("magic"));
    let mut bad = good.clone();
    bad[4] = 2;
    assert!(fmt(Lenet5Weights::decode(&bad)).contains("version"));
    assert!(fmt(Lenet5Weights::decode(&good[..good.len() - 1])).contains("length"));
    let mut bad = good.clone();
    bad[100] ^= 1;
    assert!(fmt(Lenet5Weights::decode(&bad)).contains("hash"));
    assert!(fmt(Lenet5Weights::decode(&file(2, Precision::F32, &payload))).contains("variant"));
    assert!(fmt(Lenet5Weights::decode(&file(1, Precision::I8, &payload))).contains("f32"));
    assert!(
        fmt(Lenet5Weights::decode(&file(
            1,
            Precision::F32,
            &payload[4..]
        )))
        .contains("LeNet")
    );
    let mut nan = payload.clone();
    nan[8..12].copy_from_slice(&f32::NAN.to_le_bytes());
    assert!(fmt(Lenet5Weights::decode(&file(1, Precision::F32, &nan))).contains("finite"));
    let mut other_model = good.clone();
    other_model[6] = 9;
    assert!(fmt(Lenet5Weights::decode(&other_model)).contains("LeNet"));
}

/// On the desktop (SSE2 and up) the `Auto` plan runs the convolution kernels with the pooling
/// fused into the output stage, so the fusion test above covers them.
#[test]
fn auto_plan_kernels_follow_the_target() {
    let vector = cfg!(target_feature = "sse2") && !cfg!(tinyconv_scalar_kernels);
    if vector {
        assert_eq!(Auto::CONV1_F32, Conv2dF32Kernel::OneChannel);
        assert_eq!(Auto::CONV2_F32, Conv2dF32Kernel::ImplicitGemm);
        assert!(Auto::CONV1_F32.fuses_pool2() && Auto::CONV2_F32.fuses_pool2());
        // ... each called once over its whole layer.
        assert!(lenet5::whole_layer_f32(Auto::CONV1_F32));
        assert!(lenet5::whole_layer_f32(Auto::CONV2_F32));
    } else if !cfg!(target_feature = "neon") {
        // No vector registers (or `--cfg tinyconv_scalar_kernels`): the scalar kernels, the
        // pooling fused into the convolutions.
        assert_eq!(Auto::CONV1_F32, Conv2dF32Kernel::Scalar);
        assert_eq!(Auto::CONV2_F32, Conv2dF32Kernel::Scalar);
        assert!(Auto::CONV1_F32.fuses_pool2() && Auto::CONV2_F32.fuses_pool2());
        assert_eq!(Auto::DENSE_F32, [tinyconv::DenseF32Kernel::Scalar; 3]);
        // Streamed two rows at a time (the scalar kernel's scratch grows with the band).
        assert!(!lenet5::whole_layer_f32(Auto::CONV1_F32));
    }
}
