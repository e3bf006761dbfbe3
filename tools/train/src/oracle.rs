//! An external f32 oracle for tinyconv: the f32 LeNet-5 logits of `tinyconv::models::lenet5`
//! (the weights shipped in `models/*.f32.bin`, under each plan: reference, im2col, direct, auto)
//! against this tool's candle forward pass ([`Layers::forward`], the one that trained the
//! models) over the shipped safetensors (`models/*.safetensors`), on the first [`IMAGES`] of the
//! 1,000 shipped Fashion-MNIST test images.
//!
//! Tolerance, per logit: `|tinyconv − candle| ≤ ABS_TOL + REL_TOL · |candle|`. Both sides
//! compute in f32 with different summation orders (and FMA on tinyconv's side); the export
//! tool's conversions (filter layout, the first dense layer's flatten order) are permutations,
//! so any error there is far outside this tolerance.

use super::*;
use tinyconv::models::lenet5::{self, Lenet5F32, Lenet5Plan, Lenet5Weights, PackedF32};
use tinyconv::models::{Auto, Direct, Im2col, Reference};

/// Test images compared per model and plan.
const IMAGES: usize = 300;
const ABS_TOL: f32 = 1e-4;
const REL_TOL: f32 = 1e-4;

/// candle's logits for the first `n` shipped images, `[n][10]`.
fn candle_logits(kind: ModelKind, data: &Dataset) -> Result<Vec<Vec<f32>>> {
    let path = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../models"))
        .join(format!("lenet5-{}.safetensors", kind.name()));
    let layers = reload(kind, &path, &Device::Cpu)?;
    let mut patches = Vec::new();
    conv0_patches(&data.images_f32(), &mut patches);
    let x = Tensor::from_slice(&patches, (data.len() * IMAGE_PIXELS, 25), &Device::Cpu)?;
    Ok(layers.forward(&x)?.to_vec2::<f32>()?)
}

/// Largest `|tinyconv − candle|` over the images, after checking every logit against the
/// tolerance.
fn compare<P: Lenet5Plan>(
    weights: &Lenet5Weights,
    data: &Dataset,
    want: &[Vec<f32>],
) -> Result<f32> {
    let packed = Box::new(PackedF32::<P>::pack(weights).map_err(|e| anyhow::anyhow!("{e}"))?);
    let mut model = Box::new(Lenet5F32::new(&*packed));
    let mut worst = 0.0f32;
    for (i, (pixels, want)) in data.images.iter().zip(want).enumerate() {
        let got = model
            .logits(&lenet5::image_from_u8(pixels))
            .map_err(|e| anyhow::anyhow!("image {i}: {e}"))?;
        for (c, (&g, &w)) in got.iter().zip(want).enumerate() {
            let diff = (g - w).abs();
            ensure!(
                diff <= ABS_TOL + REL_TOL * w.abs(),
                "{} image {i} class {c}: tinyconv {g}, candle {w}",
                P::NAME
            );
            worst = worst.max(diff);
        }
    }
    Ok(worst)
}

fn check(kind: ModelKind, weights: &Lenet5Weights) -> Result<()> {
    assert_eq!(weights.variant.name(), kind.name());
    let data = tinyconv_data::shipped_subset().first(IMAGES);
    assert_eq!(data.len(), IMAGES);
    let want = candle_logits(kind, &data)?;
    for (name, worst) in [
        (
            Reference::NAME,
            compare::<Reference>(weights, &data, &want)?,
        ),
        (Im2col::NAME, compare::<Im2col>(weights, &data, &want)?),
        (Direct::NAME, compare::<Direct>(weights, &data, &want)?),
        (Auto::NAME, compare::<Auto>(weights, &data, &want)?),
    ] {
        println!(
            "{} {name}: max |tinyconv - candle| = {worst:e} over {IMAGES} images",
            kind.name()
        );
    }
    Ok(())
}

#[test]
fn modern_f32_logits_equal_candle() -> Result<()> {
    check(ModelKind::Modern, &lenet5::MODERN_F32)
}

#[test]
fn classic_f32_logits_equal_candle() -> Result<()> {
    check(ModelKind::Classic, &lenet5::CLASSIC_F32)
}
