//! The `inspect` report: operators, shapes, quantization, MACs, weight bytes, buffer plan.

use std::fmt::Write;

use crate::model::{Data, Model, Op, Operator, Padding, Precision, Tensor, Window};
use crate::plan::{Location, Plan};

/// Thousands separators: `1234567` → `"1,234,567"`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn quant(t: &Tensor) -> String {
    match &t.quant {
        None => String::new(),
        Some(q) if q.scale.len() == 1 => {
            format!("scale {:e} zero point {}", q.scale[0], q.zero_point[0])
        }
        Some(q) => {
            let (lo, hi) = q
                .scale
                .iter()
                .fold((f32::INFINITY, 0f32), |(lo, hi), &s| (lo.min(s), hi.max(s)));
            format!(
                "{} scales along dim {} in [{lo:e}, {hi:e}]",
                q.scale.len(),
                q.axis
            )
        }
    }
}

fn window(w: &Window) -> String {
    let pad = match w.padding {
        Padding::Same => "SAME",
        Padding::Valid => "VALID",
    };
    let mut s = format!(
        "{}x{} stride {}x{}",
        w.kernel[0], w.kernel[1], w.stride[0], w.stride[1]
    );
    if w.dilation != [1, 1] {
        let _ = write!(s, " dilation {}x{}", w.dilation[0], w.dilation[1]);
    }
    let p = w.pads;
    let _ = write!(
        s,
        " {pad} (pad t{} b{} l{} r{})",
        p.top, p.bottom, p.left, p.right
    );
    s
}

/// What an operator does, in a few words.
pub fn describe(model: &Model, op: &Operator) -> String {
    match &op.op {
        Op::Conv2d {
            window: w,
            activation,
        } => format!("{} {}", window(w), activation.name()),
        Op::DepthwiseConv2d {
            window: w,
            multiplier,
            activation,
        } => {
            format!(
                "{} multiplier {multiplier} {}",
                window(w),
                activation.name()
            )
        }
        Op::FullyConnected {
            input,
            output,
            activation,
        } => format!("{input} -> {output} {}", activation.name()),
        Op::MaxPool2d {
            window: w,
            activation,
        }
        | Op::AvgPool2d {
            window: w,
            activation,
        } => {
            format!("{} {}", window(w), activation.name())
        }
        Op::Add { activation } => activation.name().to_string(),
        Op::Mean {
            outer,
            reduce,
            inner,
        } => format!("[{outer}][{reduce}][{inner}] -> [{outer}][{inner}]"),
        Op::Softmax { beta, depth } => format!("beta {beta} over {depth}"),
        Op::Pad { pads } => format!("{pads:?}"),
        Op::Concatenation { axis, .. } => {
            let parts: Vec<String> = op
                .inputs
                .iter()
                .flatten()
                .map(|&t| model.tensor(t).shape[*axis].to_string())
                .collect();
            format!("axis {axis}: {}", parts.join(" + "))
        }
        Op::Reshape if op.tflite_name != "RESHAPE" => "(a reshape)".to_string(),
        Op::Logistic | Op::Tanh | Op::Relu | Op::Relu6 | Op::Reshape => String::new(),
    }
}

/// The full `inspect` report.
pub fn report(model: &Model, plan: &Plan, tflm_arena: Option<usize>) -> String {
    let mut s = String::new();
    let elem = match model.precision {
        Precision::I8 => 1,
        Precision::F32 => 4,
    };
    let precision = match model.precision {
        Precision::I8 => "int8",
        Precision::F32 => "f32",
    };
    let _ = writeln!(
        s,
        "{precision} model, {} operators, {} tensors",
        model.operators.len(),
        model.tensors.len()
    );
    if !model.description.is_empty() {
        let _ = writeln!(s, "description: {}", model.description);
    }
    for (role, t) in [("input ", model.input), ("output", model.output)] {
        let t = model.tensor(t);
        let _ = writeln!(
            s,
            "{role} tensor {} '{}' {:?} {} {}",
            t.index,
            t.name,
            t.shape,
            t.dtype,
            quant(t)
        );
    }

    let _ = writeln!(s, "\noperators");
    let _ = writeln!(
        s,
        "{:>3}  {:<18} {:<18} {:>11} {:>9}  details",
        "#", "op", "output shape", "MACs", "weights"
    );
    let (mut total_macs, mut total_weights) = (0u64, 0usize);
    for op in &model.operators {
        let macs = model.macs(op);
        let weights = model.weight_bytes(op);
        total_macs += macs;
        total_weights += weights;
        let out = model.tensor(op.output);
        let _ = writeln!(
            s,
            "{:>3}  {:<18} {:<18} {:>11} {:>9}  {}",
            op.index,
            op.tflite_name,
            format!("{:?}", out.shape),
            if macs > 0 {
                thousands(macs)
            } else {
                String::new()
            },
            if weights > 0 {
                format!("{} B", thousands(weights as u64))
            } else {
                String::new()
            },
            describe(model, op)
        );
    }
    let _ = writeln!(
        s,
        "     total{:>44} {:>9}",
        thousands(total_macs),
        format!("{} B", thousands(total_weights as u64))
    );

    let _ = writeln!(s, "\nquantization and constants");
    for op in &model.operators {
        let _ = writeln!(s, "{:>3}  {}", op.index, op.tflite_name);
        for (i, t) in op.inputs.iter().enumerate() {
            let Some(t) = *t else {
                let _ = writeln!(s, "       in{i}  (absent)");
                continue;
            };
            let t = model.tensor(t);
            let kind = match &t.data {
                None => String::new(),
                Some(Data::I32(v)) if v.len() <= 8 => format!(" = {v:?}"),
                Some(Data::I64(v)) if v.len() <= 8 => format!(" = {v:?}"),
                Some(d) => format!(" constant, {} values", d.len()),
            };
            let _ = writeln!(
                s,
                "       in{i}  tensor {:>3} {:?} {}{kind} {}",
                t.index,
                t.shape,
                t.dtype,
                quant(t)
            );
        }
        let t = model.tensor(op.output);
        let _ = writeln!(
            s,
            "       out  tensor {:>3} {:?} {} {}",
            t.index,
            t.shape,
            t.dtype,
            quant(t)
        );
    }

    let _ = writeln!(
        s,
        "\nbuffer plan (lifetimes in operator indices; offsets in bytes)"
    );
    let _ = writeln!(s, "{:>9} {:>9}  {:<9}  tensors", "bytes", "offset", "live");
    for b in &plan.buffers {
        let place = match b.location {
            Location::Arena { offset, .. } => thousands((offset * elem) as u64),
            Location::Input => "input".to_string(),
            Location::Output => "output".to_string(),
            Location::Constant | Location::Unused => "-".to_string(),
        };
        let names: Vec<String> = b.tensors.iter().map(|t| t.to_string()).collect();
        let _ = writeln!(
            s,
            "{:>9} {:>9}  {:<9}  {}",
            thousands((b.len * elem) as u64),
            place,
            format!("{}..={}", b.first, b.last),
            names.join(", ")
        );
    }
    for f in crate::plan::fusions(model) {
        let conv = &model.operators[f.conv];
        let full = model.tensor(conv.output).len() * elem;
        let _ = writeln!(
            s,
            "fused: operators {} ({}) + {} ({}) run {} convolution rows at a time ({} bytes of band instead of {})",
            f.conv,
            conv.tflite_name,
            f.pool,
            model.operators[f.pool].tflite_name,
            f.rows,
            thousands((f.band_len * elem) as u64),
            thousands(full as u64)
        );
    }
    let io = (model.tensor(model.input).len() + model.tensor(model.output).len()) * elem;
    let arena = plan.arena_len * elem;
    let _ = writeln!(
        s,
        "arena: {} bytes shared ({} bytes if every intermediate had its own buffer); input + output (the caller's arrays): {} bytes",
        thousands(arena as u64),
        thousands((plan.unshared_len * elem) as u64),
        thousands(io as u64)
    );
    if let Some(tflm) = tflm_arena {
        let ours = arena + io;
        let _ = writeln!(
            s,
            "TFLM's planned tensor memory (arena head, input and output included): {} bytes; tinyconv arena + input + output: {} bytes ({:+.1} %)",
            thousands(tflm as u64),
            thousands(ours as u64),
            (ours as f64 / tflm as f64 - 1.0) * 100.0
        );
    }
    s
}
