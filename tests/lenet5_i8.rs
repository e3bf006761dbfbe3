//! The int8 LeNet-5 model: the fused model equals the unfused int8 network computed layer by
//! layer with the reference kernels, bit for bit, for both variants and every algorithm; its
//! weight files round-trip and malformed ones are rejected.

mod common;

use common::pseudo_random;
use tinyconv::conv::reference as conv_ref;
use tinyconv::dense::reference as dense_ref;
use tinyconv::models::lenet5::{
    self, CONV1, CONV2, Lenet5I8, Lenet5I8Weights, Lenet5Plan, PackedI8, RawLayer, Variant,
};
use tinyconv::models::{Auto, Direct, Im2col, Reference};
use tinyconv::pool::reference as pool_ref;
use tinyconv::quant::{
    ActivationRange, QuantParams, SIGMOID_OUTPUT_PARAMS, apply_table_in_place, sigmoid_table,
};
use tinyconv::{
    Conv2dF32Kernel, Conv2dI8Kernel, DenseF32Kernel, DenseI8Kernel, Error, Pool2dGeometry,
    Pool2dKernel,
};

fn rand_layer<const N: usize, const C: usize>(l: &mut RawLayer<N, C>, seed: u64) {
    let r = pseudo_random(N + 3 * C + 2, seed);
    for (w, x) in l.weights.iter_mut().zip(&r) {
        *w = (x * 127.0).round() as i8;
    }
    for (c, s) in l.weight_scales.iter_mut().enumerate() {
        *s = 0.002 + 0.009 * (r[N + c] + 1.0);
    }
    for (c, b) in l.bias.iter_mut().enumerate() {
        *b = (r[N + C + c] * 2000.0) as i32;
    }
    let scale = 0.05 + 0.1 * (r[N + 3 * C] + 1.0);
    let zp = (r[N + 3 * C + 1] * 20.0) as i32;
    l.output = QuantParams::new(scale, zp).unwrap();
}

/// Random quantized weights, checked by `Lenet5I8Weights::new` and by an encode/decode round
/// trip, which is itself checked.
fn random_weights(variant: Variant, seed: u64) -> Box<Lenet5I8Weights> {
    let mut w = Box::new(lenet5::MODERN_I8.raw());
    w.variant = variant;
    w.input = QuantParams::new(1.0 / 255.0, -128).unwrap();
    rand_layer(&mut w.conv1, seed);
    rand_layer(&mut w.conv2, seed + 1);
    rand_layer(&mut w.fc1, seed + 2);
    rand_layer(&mut w.fc2, seed + 3);
    rand_layer(&mut w.fc3, seed + 4);
    w.sigmoid = [
        sigmoid_table(w.conv1.output, SIGMOID_OUTPUT_PARAMS),
        sigmoid_table(w.conv2.output, SIGMOID_OUTPUT_PARAMS),
        sigmoid_table(w.fc1.output, SIGMOID_OUTPUT_PARAMS),
        sigmoid_table(w.fc2.output, SIGMOID_OUTPUT_PARAMS),
    ];
    let checked = Box::new(Lenet5I8Weights::new(&w).unwrap());
    let mut buf = vec![0u8; Lenet5I8Weights::encoded_len(variant)];
    let n = checked.encode_into(&mut buf).unwrap();
    assert_eq!(n, buf.len());
    let back = Box::new(Lenet5I8Weights::decode(&buf).unwrap());
    assert_eq!(back.conv2().weights(), &w.conv2.weights);
    assert_eq!(back.fc1().bias(), &w.fc1.bias);
    if variant == Variant::Classic {
        assert_eq!(back.sigmoid(), &w.sigmoid);
    }
    assert_eq!(back, checked);
    back
}

fn random_image(seed: u64) -> [u8; 784] {
    let r = pseudo_random(784, seed);
    core::array::from_fn(|i| ((r[i] + 1.0) * 127.9) as u8)
}

/// The int8 network without fusion, reference kernels, whole maps.
fn unfused(w: &Lenet5I8Weights, img: &[u8; 784]) -> [i8; 10] {
    let classic = w.variant() == Variant::Classic;
    let x: Vec<i8> = img.iter().map(|&p| (p as i16 - 128) as i8).collect();
    let pool = |x: &[i8], h: usize, c: usize| {
        let g = Pool2dGeometry::new([h, h, c], [2, 2]);
        let mut y = vec![0; (h / 2) * (h / 2) * c];
        if classic {
            pool_ref::avg_pool2d_i8(&g, ActivationRange::none(), x, &mut y).unwrap();
        } else {
            pool_ref::max_pool2d_i8(&g, ActivationRange::none(), x, &mut y).unwrap();
        }
        y
    };
    let table = |t: usize, xs: &mut [i8]| {
        if classic {
            apply_table_in_place(&w.sigmoid()[t], xs);
        }
    };
    let mut c1 = vec![0; 28 * 28 * 6];
    let (l1, l2) = (w.conv1(), w.conv2());
    conv_ref::conv2d_i8(&CONV1, &x, l1.weights(), &l1.params(-128), &mut [], &mut c1).unwrap();
    table(0, &mut c1);
    let p1 = pool(&c1, 28, 6);
    let mut c2 = vec![0; 10 * 10 * 16];
    let zp1 = w.hidden(l1.output()).zero_point();
    conv_ref::conv2d_i8(&CONV2, &p1, l2.weights(), &l2.params(zp1), &mut [], &mut c2).unwrap();
    table(1, &mut c2);
    let p2 = pool(&c2, 10, 16);
    let mut f1 = vec![0; 120];
    let zp2 = w.hidden(l2.output()).zero_point();
    dense_ref::dense_i8(&p2, w.fc1().weights(), &w.fc1().params(zp2), &mut f1).unwrap();
    table(2, &mut f1);
    let mut f2 = vec![0; 84];
    let zp3 = w.hidden(w.fc1().output()).zero_point();
    dense_ref::dense_i8(&f1, w.fc2().weights(), &w.fc2().params(zp3), &mut f2).unwrap();
    table(3, &mut f2);
    let mut out = [0; 10];
    let zp4 = w.hidden(w.fc2().output()).zero_point();
    dense_ref::dense_i8(&f2, w.fc3().weights(), &w.fc3().params(zp4), &mut out).unwrap();
    out
}

/// The `pairs` kernels for every int8 layer (what `Auto` picks on ARMv7E-M), on the host.
struct Pairs;

impl Lenet5Plan for Pairs {
    const NAME: &'static str = "pairs";
    const CONV1_F32: Conv2dF32Kernel = Conv2dF32Kernel::Reference;
    const CONV2_F32: Conv2dF32Kernel = Conv2dF32Kernel::Reference;
    const POOL_F32: Pool2dKernel = Pool2dKernel::Reference;
    const DENSE_F32: [DenseF32Kernel; 3] = [DenseF32Kernel::Reference; 3];
    const CONV1_I8: Conv2dI8Kernel = Conv2dI8Kernel::Pairs;
    const CONV2_I8: Conv2dI8Kernel = Conv2dI8Kernel::Pairs;
    const POOL_I8: Pool2dKernel = Pool2dKernel::Reference;
    const DENSE_I8: [DenseI8Kernel; 3] = [DenseI8Kernel::Pairs; 3];
    type ScratchF32 = [f32; 0];
    type ScratchI8 = [i16; {
        let (c, d) = (
            lenet5::scratch_i8(Conv2dI8Kernel::Pairs, Conv2dI8Kernel::Pairs),
            lenet5::scratch_dense_i8([DenseI8Kernel::Pairs; 3]),
        );
        if c > d { c } else { d }
    }];
}

/// The kernels that fuse the pooling, named on every target: on the desktop the model runs them
/// once per layer ([`lenet5::whole_layers_i8`]); under `--cfg tinyconv_scalar_kernels` (no
/// vector registers) it streams them two rows at a time, so the two passes of the test suite
/// cover both pipelines.
struct Fused;

impl Lenet5Plan for Fused {
    const NAME: &'static str = "fused";
    const CONV1_F32: Conv2dF32Kernel = Conv2dF32Kernel::Reference;
    const CONV2_F32: Conv2dF32Kernel = Conv2dF32Kernel::Reference;
    const POOL_F32: Pool2dKernel = Pool2dKernel::Reference;
    const DENSE_F32: [DenseF32Kernel; 3] = [DenseF32Kernel::Reference; 3];
    const CONV1_I8: Conv2dI8Kernel = Conv2dI8Kernel::OneChannel;
    const CONV2_I8: Conv2dI8Kernel = Conv2dI8Kernel::ImplicitGemm;
    const POOL_I8: Pool2dKernel = Pool2dKernel::Reference;
    const DENSE_I8: [DenseI8Kernel; 3] = [DenseI8Kernel::Blocked; 3];
    type ScratchF32 = [f32; 0];
    type ScratchI8 = [i16; {
        let (c, d) = (
            lenet5::scratch_i8(Conv2dI8Kernel::OneChannel, Conv2dI8Kernel::ImplicitGemm),
            lenet5::scratch_dense_i8([DenseI8Kernel::Blocked; 3]),
        );
        if c > d { c } else { d }
    }];
}

fn check<P: Lenet5Plan>(w: &Lenet5I8Weights) {
    let packed = Box::new(PackedI8::<P>::pack(w).unwrap());
    let mut model = Box::new(Lenet5I8::new(&*packed));
    for seed in 0..6 {
        let img = random_image(200 + seed);
        let want = unfused(w, &img);
        assert_eq!(
            model.logits_u8(&img).unwrap(),
            want,
            "{} {:?}",
            P::NAME,
            w.variant()
        );
        // The f32 entry point quantizes p/255 back to exactly p − 128.
        let f = lenet5::image_from_u8(&img);
        assert_eq!(model.logits(&f).unwrap(), want, "{} f32 input", P::NAME);
    }
}

#[test]
fn fused_int8_model_is_bit_exact_with_unfused_reference_network() {
    for variant in [Variant::Classic, Variant::Modern] {
        for seed in [1, 50] {
            let w = random_weights(variant, seed);
            check::<Reference>(&w);
            check::<Im2col>(&w);
            check::<Direct>(&w);
            check::<Auto>(&w);
            check::<Pairs>(&w);
            check::<Fused>(&w);
        }
    }
}

#[test]
fn nan_input_is_an_error() {
    let w = random_weights(Variant::Modern, 3);
    let packed = Box::new(PackedI8::<Direct>::pack(&w).unwrap());
    let mut model = Lenet5I8::new(&*packed);
    let mut img = lenet5::image_from_u8(&random_image(1));
    img[0][0][0] = f32::NAN;
    assert_eq!(model.predict(&img), Err(Error::NonFinite));
}

#[test]
fn ram_bytes_fit_a_cortex_m0_budget() {
    // Band input 6×28, conv1 band 2×28×6, a 6-row window of pool1 (6×14×6), conv2 band
    // 2×10×16, pool2 400, 120, 84.
    let buffers = 6 * 28 + 2 * 28 * 6 + 6 * 14 * 6 + 2 * 10 * 16 + 400 + 120 + 84;
    assert_eq!(Lenet5I8::<Direct>::ACTIVATION_BYTES, buffers);
    assert_eq!(Lenet5I8::<Direct>::RAM_BYTES, buffers);
    const { assert!(Lenet5I8::<Direct>::RAM_BYTES < 2 * 1024) };
    // im2col's scratch: the larger band need of conv1 and conv2, in i16s.
    let scratch = lenet5::scratch_i8(
        tinyconv::Conv2dI8Kernel::Im2col,
        tinyconv::Conv2dI8Kernel::Im2col,
    );
    assert!(scratch > 0);
    assert_eq!(Lenet5I8::<Im2col>::SCRATCH_BYTES, 2 * scratch);
    assert_eq!(Lenet5I8::<Im2col>::RAM_BYTES, buffers + 2 * scratch);
}

#[test]
fn decoder_rejects_malformed_int8_files() {
    let w = random_weights(Variant::Classic, 9);
    let mut good = vec![0u8; Lenet5I8Weights::encoded_len(Variant::Classic)];
    w.encode_into(&mut good).unwrap();
    let fmt = |bytes: &[u8]| match Lenet5I8Weights::decode(bytes) {
        Err(Error::Format(m)) => m,
        other => panic!("expected a format error, got {:?}", other.map(|_| ())),
    };
    // Re-hash after editing the payload so the semantic checks, not the hash, must catch it.
    let rehash = |mut b: Vec<u8>| {
        let end = b.len() - 4;
        let h = tinyconv::models::blob::fnv1a(&b, 16, end);
        b[end..].copy_from_slice(&h.to_le_bytes());
        b
    };
    let input_len = 5;
    // A weight of -128 in conv1.
    let mut bad = good.clone();
    bad[16 + input_len] = 0x80;
    assert!(fmt(&rehash(bad)).contains("[-127, 127]"));
    // A zero weight scale in conv1.
    let mut bad = good.clone();
    bad[16 + input_len + 150..][..4].copy_from_slice(&0.0f32.to_le_bytes());
    assert!(fmt(&rehash(bad)).contains("scale"));
    // A negative output scale of conv1.
    let mut bad = good.clone();
    bad[16 + input_len + 150 + 48..][..4].copy_from_slice(&(-1.0f32).to_le_bytes());
    assert!(fmt(&rehash(bad)).contains("scale"));
    // NaN input scale.
    let mut bad = good.clone();
    bad[16..20].copy_from_slice(&f32::NAN.to_le_bytes());
    assert!(fmt(&rehash(bad)).contains("finite"));
    // A huge bias that could overflow the accumulator.
    let mut bad = good.clone();
    bad[16 + input_len + 150 + 24..][..4].copy_from_slice(&i32::MAX.to_le_bytes());
    assert!(fmt(&rehash(bad)).contains("overflow"));
    // A non-monotone sigmoid table (the last table's last entry).
    let mut bad = good.clone();
    let n = bad.len();
    bad[n - 5] = 0x80;
    assert!(fmt(&rehash(bad)).contains("monotone"));
    // Truncated, corrupted, f32 file given to the int8 decoder.
    assert!(fmt(&good[..good.len() - 1]).contains("length"));
    let mut bad = good.clone();
    bad[1000] ^= 4;
    assert!(fmt(&bad).contains("hash"));
    let mut f32_file = vec![0u8; lenet5::Lenet5Weights::ENCODED_LEN];
    lenet5::MODERN_F32.encode_into(&mut f32_file).unwrap();
    assert!(fmt(&f32_file).contains("int8"));
}

/// On the desktop (SSE2 and up) the `Auto` plan runs the kernels with the pooling (and
/// `classic`'s table) fused into the output stage and the blocked dense kernel, so the
/// bit-exactness test above covers them; with `--cfg tinyconv_scalar_kernels` (what the
/// Cortex-M0 and RISC-V run) the swar convolutions and the pairs dense kernel.
#[test]
fn auto_plan_kernels_follow_the_target() {
    use tinyconv::models::lenet5::Lenet5Plan;
    use tinyconv::{Conv2dI8Kernel, DenseI8Kernel};
    let vector = cfg!(target_feature = "sse2") && !cfg!(tinyconv_scalar_kernels);
    if vector {
        assert_eq!(Auto::CONV1_I8, Conv2dI8Kernel::OneChannel);
        assert_eq!(Auto::CONV2_I8, Conv2dI8Kernel::ImplicitGemm);
        assert!(Auto::CONV1_I8.fuses_pool2() && Auto::CONV2_I8.fuses_pool2());
        assert!(lenet5::whole_layers_i8(Auto::CONV1_I8, Auto::CONV2_I8));
        assert_eq!(Auto::DENSE_I8, [DenseI8Kernel::Blocked; 3]);
    } else if !cfg!(target_feature = "neon") {
        assert_eq!(Auto::CONV1_I8, Conv2dI8Kernel::Swar);
        assert_eq!(Auto::CONV2_I8, Conv2dI8Kernel::Swar);
        // Canonical weight order, shared with the other plans (see `DenseI8Kernel::select`).
        assert_eq!(Auto::DENSE_I8, [DenseI8Kernel::Simd; 3]);
        assert!(!lenet5::whole_layers_i8(Fused::CONV1_I8, Fused::CONV2_I8));
    }
}
