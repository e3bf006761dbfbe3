//! Post-training int8 quantization of an f32 LeNet-5 (TFLite's int8 spec):
//! weights symmetric per output channel (`scale = max|w| / 127`, values in `[-127, 127]`),
//! activations asymmetric per tensor from the ranges observed on calibration images
//! (`scale = (max − min) / 255` over a range widened to include 0), bias int32 with scale
//! `input_scale · weight_scale[c]`. Pooling keeps its input's parameters. `classic`'s sigmoids
//! become 256-entry tables with TFLite's output parameters (1/256, −128).

use anyhow::{Result, ensure};
use tinyconv::conv::reference as conv_ref;
use tinyconv::dense::reference as dense_ref;
use tinyconv::models::lenet5::{
    CONV1, CONV2, Lenet5I8Weights, Lenet5Weights, MODERN_I8, RawLayer, Variant,
};
use tinyconv::pool::reference as pool_ref;
use tinyconv::quant::{QuantParams, SIGMOID_OUTPUT_PARAMS, sigmoid_table};
use tinyconv::{Activation, AvgPoolDivisor, Pool2dGeometry};

/// Observed `[min, max]` of a tensor over the calibration set.
#[derive(Clone, Copy, Debug)]
pub struct Range {
    pub min: f32,
    pub max: f32,
}

impl Range {
    fn new() -> Self {
        Range {
            min: f32::MAX,
            max: f32::MIN,
        }
    }
    fn observe(&mut self, xs: &[f32]) {
        for &x in xs {
            self.min = self.min.min(x);
            self.max = self.max.max(x);
        }
    }
    /// TFLite-style asymmetric parameters for this range (widened to contain 0).
    pub fn params(&self) -> Result<QuantParams> {
        let (lo, hi) = (self.min.min(0.0), self.max.max(0.0));
        let scale = ((hi - lo) / 255.0).max(1e-8);
        let zp = (-128.0 - lo / scale).round().clamp(-128.0, 127.0) as i32;
        QuantParams::new(scale, zp).map_err(|e| anyhow::anyhow!("{e}"))
    }
}

/// Output ranges of conv1, conv2, fc1, fc2, fc3 (after the fused ReLU for `modern`, before the
/// sigmoid for `classic`, which is a separate table in int8).
pub fn calibrate(w: &Lenet5Weights, images: &[[f32; 784]]) -> [Range; 5] {
    let classic = w.variant == Variant::Classic;
    // Activation fused into the layer output in int8: ReLU (modern) or none (classic: table).
    let fused = if classic {
        Activation::Identity
    } else {
        Activation::Relu
    };
    let after = |xs: &mut [f32]| {
        if classic {
            Activation::Sigmoid.apply_slice(xs);
        }
    };
    let pool = |x: &[f32], h: usize, c: usize| {
        let g = Pool2dGeometry::new([h, h, c], [2, 2]);
        let mut y = vec![0.0; (h / 2) * (h / 2) * c];
        if classic {
            pool_ref::avg_pool2d_f32(&g, AvgPoolDivisor::IncludePadding, x, &mut y).unwrap();
        } else {
            pool_ref::max_pool2d(&g, x, &mut y).unwrap();
        }
        y
    };
    let mut r = [Range::new(); 5];
    for img in images {
        let mut c1 = vec![0.0; 28 * 28 * 6];
        let w1 = w.conv1_w.as_flattened().as_flattened().as_flattened();
        conv_ref::conv2d_f32(&CONV1, img, w1, Some(&w.conv1_b), fused, &mut [], &mut c1).unwrap();
        r[0].observe(&c1);
        after(&mut c1);
        let p1 = pool(&c1, 28, 6);
        let mut c2 = vec![0.0; 10 * 10 * 16];
        let w2 = w.conv2_w.as_flattened().as_flattened().as_flattened();
        conv_ref::conv2d_f32(&CONV2, &p1, w2, Some(&w.conv2_b), fused, &mut [], &mut c2).unwrap();
        r[1].observe(&c2);
        after(&mut c2);
        let p2 = pool(&c2, 10, 16);
        let mut f1 = vec![0.0; 120];
        dense_ref::dense_f32(&p2, w.fc1_w.as_flattened(), Some(&w.fc1_b), fused, &mut f1).unwrap();
        r[2].observe(&f1);
        after(&mut f1);
        let mut f2 = vec![0.0; 84];
        dense_ref::dense_f32(&f1, w.fc2_w.as_flattened(), Some(&w.fc2_b), fused, &mut f2).unwrap();
        r[3].observe(&f2);
        after(&mut f2);
        let mut f3 = vec![0.0; 10];
        dense_ref::dense_f32(
            &f2,
            w.fc3_w.as_flattened(),
            Some(&w.fc3_b),
            Activation::Identity,
            &mut f3,
        )
        .unwrap();
        r[4].observe(&f3);
    }
    r
}

/// Quantizes one layer: `weights` as `[C][N/C]`, `input` the layer's input parameters.
fn layer<const N: usize, const C: usize>(
    weights: &[f32],
    bias: &[f32],
    input: QuantParams,
    output: QuantParams,
    l: &mut RawLayer<N, C>,
) -> Result<()> {
    ensure!(weights.len() == N && bias.len() == C);
    let k = N / C;
    for c in 0..C {
        let row = &weights[c * k..(c + 1) * k];
        let max = row.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
        l.weight_scales[c] = scale;
        for (q, &x) in l.weights[c * k..(c + 1) * k].iter_mut().zip(row) {
            *q = (x / scale).round().clamp(-127.0, 127.0) as i8;
        }
        let bias_scale = input.scale() as f64 * scale as f64;
        l.bias[c] = (bias[c] as f64 / bias_scale)
            .round()
            .clamp(i32::MIN as f64, i32::MAX as f64) as i32;
    }
    l.output = output;
    Ok(())
}

/// The int8 model of `w`, with activation parameters from `ranges` (see [`calibrate`]).
pub fn quantize(w: &Lenet5Weights, ranges: &[Range; 5]) -> Result<Lenet5I8Weights> {
    let mut q = MODERN_I8.raw();
    q.variant = w.variant;
    q.input = QuantParams::new(1.0 / 255.0, -128).map_err(|e| anyhow::anyhow!("{e}"))?;
    let out: Vec<QuantParams> = ranges.iter().map(Range::params).collect::<Result<_>>()?;
    let hidden = |p: QuantParams| match w.variant {
        Variant::Classic => SIGMOID_OUTPUT_PARAMS,
        Variant::Modern => p,
    };
    let w1 = w.conv1_w.as_flattened().as_flattened().as_flattened();
    layer(w1, &w.conv1_b, q.input, out[0], &mut q.conv1)?;
    let w2 = w.conv2_w.as_flattened().as_flattened().as_flattened();
    layer(w2, &w.conv2_b, hidden(out[0]), out[1], &mut q.conv2)?;
    layer(
        w.fc1_w.as_flattened(),
        &w.fc1_b,
        hidden(out[1]),
        out[2],
        &mut q.fc1,
    )?;
    layer(
        w.fc2_w.as_flattened(),
        &w.fc2_b,
        hidden(out[2]),
        out[3],
        &mut q.fc2,
    )?;
    layer(
        w.fc3_w.as_flattened(),
        &w.fc3_b,
        hidden(out[3]),
        out[4],
        &mut q.fc3,
    )?;
    q.sigmoid = match w.variant {
        Variant::Classic => [
            sigmoid_table(out[0], SIGMOID_OUTPUT_PARAMS),
            sigmoid_table(out[1], SIGMOID_OUTPUT_PARAMS),
            sigmoid_table(out[2], SIGMOID_OUTPUT_PARAMS),
            sigmoid_table(out[3], SIGMOID_OUTPUT_PARAMS),
        ],
        Variant::Modern => [[0; 256]; 4],
    };
    // `new` derives the multipliers and ranges and checks everything.
    Lenet5I8Weights::new(&q).map_err(|e| anyhow::anyhow!("quantized model is invalid: {e}"))
}
