//! safetensors (PyTorch layout) → [`Lenet5Weights`] → weight file bytes.

use anyhow::{Context, Result, bail, ensure};
use safetensors::{Dtype, SafeTensors};
use tinyconv::models::lenet5::{Lenet5Weights, Variant};

/// Reads one f32 tensor with the expected shape.
fn tensor(st: &SafeTensors<'_>, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
    let t = st
        .tensor(name)
        .with_context(|| format!("missing tensor {name}"))?;
    ensure!(
        t.dtype() == Dtype::F32,
        "{name}: dtype {:?}, expected F32",
        t.dtype()
    );
    ensure!(
        t.shape() == shape,
        "{name}: shape {:?}, expected {shape:?}",
        t.shape()
    );
    let v: Vec<f32> = t
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    if let Some(i) = v.iter().position(|x| !x.is_finite()) {
        bail!("{name}: element {i} is not finite");
    }
    Ok(v)
}

/// `[o][c][i][j]` (PyTorch) → `[o][i][j][c]` (tinyconv).
fn conv_layout(w: &[f32], o: usize, c: usize, k: usize, out: &mut [f32]) {
    for oo in 0..o {
        for cc in 0..c {
            for i in 0..k {
                for j in 0..k {
                    out[((oo * k + i) * k + j) * c + cc] = w[((oo * c + cc) * k + i) * k + j];
                }
            }
        }
    }
}

/// Converts LeNet-5 safetensors with d2l's `net.N.*` names into tinyconv's layouts.
pub fn from_safetensors(bytes: &[u8], variant: Variant) -> Result<Lenet5Weights> {
    let st = SafeTensors::deserialize(bytes).context("not a safetensors file")?;
    let mut w = Lenet5Weights {
        variant,
        conv1_w: [[[[0.0; 1]; 5]; 5]; 6],
        conv1_b: [0.0; 6],
        conv2_w: [[[[0.0; 6]; 5]; 5]; 16],
        conv2_b: [0.0; 16],
        fc1_w: [[0.0; 400]; 120],
        fc1_b: [0.0; 120],
        fc2_w: [[0.0; 120]; 84],
        fc2_b: [0.0; 84],
        fc3_w: [[0.0; 84]; 10],
        fc3_b: [0.0; 10],
    };
    conv_layout(
        &tensor(&st, "net.0.weight", &[6, 1, 5, 5])?,
        6,
        1,
        5,
        w.conv1_w
            .as_flattened_mut()
            .as_flattened_mut()
            .as_flattened_mut(),
    );
    w.conv1_b.copy_from_slice(&tensor(&st, "net.0.bias", &[6])?);
    conv_layout(
        &tensor(&st, "net.3.weight", &[16, 6, 5, 5])?,
        16,
        6,
        5,
        w.conv2_w
            .as_flattened_mut()
            .as_flattened_mut()
            .as_flattened_mut(),
    );
    w.conv2_b
        .copy_from_slice(&tensor(&st, "net.3.bias", &[16])?);
    // PyTorch flattens the 16×5×5 map as (c, h, w); tinyconv's map is [5][5][16], i.e. (h, w, c).
    let fc1 = tensor(&st, "net.7.weight", &[120, 400])?;
    for (o, row) in w.fc1_w.iter_mut().enumerate() {
        for c in 0..16 {
            for hw in 0..25 {
                row[hw * 16 + c] = fc1[o * 400 + c * 25 + hw];
            }
        }
    }
    w.fc1_b.copy_from_slice(&tensor(&st, "net.7.bias", &[120])?);
    w.fc2_w
        .as_flattened_mut()
        .copy_from_slice(&tensor(&st, "net.9.weight", &[84, 120])?);
    w.fc2_b.copy_from_slice(&tensor(&st, "net.9.bias", &[84])?);
    w.fc3_w
        .as_flattened_mut()
        .copy_from_slice(&tensor(&st, "net.11.weight", &[10, 84])?);
    w.fc3_b.copy_from_slice(&tensor(&st, "net.11.bias", &[10])?);
    Ok(w)
}
