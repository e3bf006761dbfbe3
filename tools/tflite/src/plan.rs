//! Buffer plan: where each activation tensor lives.
//!
//! The model's input and output are the caller's arrays (`run(&input, &mut output)`); every
//! other activation lives in one arena. Tensors whose lifetimes do not overlap share memory:
//!
//! 1. Tensors that are the same bytes under another shape (`RESHAPE`, `SQUEEZE`, `EXPAND_DIMS`)
//!    are one buffer: the reshape costs neither memory nor a copy.
//! 2. A buffer lives from the operator that writes it to the last operator that reads it, both
//!    included (so an operator's output never overlaps its inputs).
//! 3. Greedy placement, largest buffer first (ties: the earlier one first): each buffer goes to
//!    the lowest offset where it overlaps no placed buffer that is alive at the same time
//!    (the strategy of TFLM's `GreedyMemoryPlanner`).
//!
//! 4. A convolution whose output only the pooling right after it reads is *fused* with it
//!    ([`Fusion`]): the generated code computes the convolution one pooling window of rows at a
//!    time and pools each band at once, so only a band of the convolution's output ever exists
//!    (its buffer is the band).
//!
//! Offsets and lengths count elements of the model's type (`i8` or `f32`): an int8 model has
//! only `i8` activations and an f32 model only `f32` ones, so the arena is one typed array and
//! needs no alignment padding.

use crate::model::{Model, Op};

/// A convolution (`CONV_2D` or `DEPTHWISE_CONV_2D`) computed in bands of rows, each pooled by
/// the `MAX_POOL_2D` / `AVERAGE_POOL_2D` that follows it as soon as it is computed.
///
/// Fused when: the pooling is the next operator and the only reader of the convolution's output
/// (which is not the model's output); its window has no vertical padding and does not overlap
/// vertically (`stride_h = kernel_h`), so each pooled row reads exactly the convolution rows
/// `py·kernel_h .. (py + 1)·kernel_h`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fusion {
    /// Index of the convolution.
    pub conv: usize,
    /// Index of the pooling.
    pub pool: usize,
    /// Convolution rows per band (the pooling window's height).
    pub rows: usize,
    /// Elements of one band: `rows · conv_out_w · conv_out_c`.
    pub band_len: usize,
}

/// The conv + pool pairs of `model` that the generated code fuses.
pub fn fusions(model: &Model) -> Vec<Fusion> {
    let mut out = Vec::new();
    for pair in model.operators.windows(2) {
        let (conv, pool) = (&pair[0], &pair[1]);
        let conv_window = match &conv.op {
            Op::Conv2d { window, .. } | Op::DepthwiseConv2d { window, .. } => window,
            _ => continue,
        };
        let pool_window = match &pool.op {
            Op::MaxPool2d { window, .. } | Op::AvgPool2d { window, .. } => window,
            _ => continue,
        };
        let t = conv.output;
        let readers = model
            .operators
            .iter()
            .filter(|op| op.inputs.contains(&Some(t)))
            .count();
        let [out_h, out_w, out_c] = conv_window.output;
        let rows = pool_window.kernel[0];
        let fusable = t != model.output
            && readers == 1
            && pool.input(0) == Some(t)
            && pool_window.pads.top == 0
            && pool_window.pads.bottom == 0
            && pool_window.stride[0] == rows
            && rows < out_h;
        if fusable {
            out.push(Fusion {
                conv: conv.index,
                pool: pool.index,
                rows,
                band_len: rows * out_w * out_c,
            });
        }
    }
    out
}

/// Where a tensor's values are during `run`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    /// A constant: weights, biases, shapes (`static` data in the generated module).
    Constant,
    /// The caller's input array.
    Input,
    /// The caller's output array.
    Output,
    /// `arena[offset..offset + len]`.
    Arena {
        /// First element.
        offset: usize,
        /// Number of elements.
        len: usize,
    },
    /// Neither read nor written by any operator.
    Unused,
}

/// One buffer: tensors that share bytes (a tensor and its reshapes), with their lifetime.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Buffer {
    /// The tensors that are these bytes.
    pub tensors: Vec<usize>,
    /// Elements.
    pub len: usize,
    /// Index of the operator that writes it (0 for the model's input).
    pub first: usize,
    /// Index of the last operator that reads it (the last operator for the model's output).
    pub last: usize,
    /// Where it lives.
    pub location: Location,
}

/// The buffer plan of a model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// The buffers, in order of first use.
    pub buffers: Vec<Buffer>,
    /// Location of each tensor, by tensor index.
    pub locations: Vec<Location>,
    /// Elements of the arena (the highest end of a placed buffer).
    pub arena_len: usize,
    /// Elements the arena would need without sharing (the sum of the arena buffers).
    pub unshared_len: usize,
}

impl Plan {
    /// Plans the buffers of a validated model.
    pub fn new(model: &Model) -> Plan {
        let n = model.tensors.len();
        // Union-find over tensors: a reshape's output is its input's bytes.
        let mut parent: Vec<usize> = (0..n).collect();
        fn root(parent: &mut [usize], mut i: usize) -> usize {
            while parent[i] != i {
                parent[i] = parent[parent[i]];
                i = parent[i];
            }
            i
        }
        for op in &model.operators {
            if matches!(op.op, Op::Reshape)
                && let Some(input) = op.input(0)
            {
                let (a, b) = (root(&mut parent, input), root(&mut parent, op.output));
                parent[b] = a;
            }
        }

        // Lifetimes per root.
        let mut first = vec![usize::MAX; n];
        let mut last = vec![0usize; n];
        let mut used = vec![false; n];
        let last_op = model.operators.len().saturating_sub(1);
        let mut touch = |t: usize, at: usize, parent: &mut [usize]| {
            let r = root(parent, t);
            used[r] = true;
            first[r] = first[r].min(at);
            last[r] = last[r].max(at);
        };
        touch(model.input, 0, &mut parent);
        touch(model.output, last_op, &mut parent);
        for op in &model.operators {
            for input in op.inputs.iter().flatten() {
                if !model.tensor(*input).is_constant() {
                    touch(*input, op.index, &mut parent);
                }
            }
            touch(op.output, op.index, &mut parent);
        }

        // A fused convolution's output is one band of rows, and the pair runs as one step: the
        // convolution's inputs live until the pooling, the pooling's output from the convolution.
        let mut len_of: Vec<usize> = model.tensors.iter().map(|t| t.len()).collect();
        for f in fusions(model) {
            let (conv, pool) = (&model.operators[f.conv], &model.operators[f.pool]);
            len_of[conv.output] = f.band_len;
            for input in conv.inputs.iter().flatten() {
                if !model.tensor(*input).is_constant() {
                    touch(*input, f.pool, &mut parent);
                }
            }
            touch(pool.output, f.conv, &mut parent);
        }

        let input_root = root(&mut parent, model.input);
        let output_root = root(&mut parent, model.output);
        let mut buffers: Vec<Buffer> = Vec::new();
        let mut buffer_of_root = vec![usize::MAX; n];
        for (t, &len) in len_of.iter().enumerate() {
            if model.tensor(t).is_constant() {
                continue;
            }
            let r = root(&mut parent, t);
            if !used[r] {
                continue;
            }
            if buffer_of_root[r] == usize::MAX {
                buffer_of_root[r] = buffers.len();
                let location = if r == input_root {
                    Location::Input
                } else if r == output_root {
                    Location::Output
                } else {
                    Location::Arena { offset: 0, len }
                };
                buffers.push(Buffer {
                    tensors: Vec::new(),
                    len,
                    first: first[r],
                    last: last[r],
                    location,
                });
            }
            buffers[buffer_of_root[r]].tensors.push(t);
        }
        buffers.sort_by_key(|b| (b.first, b.tensors[0]));

        // Greedy placement of the arena buffers: largest first.
        let mut order: Vec<usize> = (0..buffers.len())
            .filter(|&i| matches!(buffers[i].location, Location::Arena { .. }))
            .collect();
        order.sort_by_key(|&i| (std::cmp::Reverse(buffers[i].len), buffers[i].first));
        let mut placed: Vec<(usize, usize, usize, usize)> = Vec::new(); // (offset, len, first, last)
        let mut arena_len = 0;
        let mut unshared_len = 0;
        for i in order {
            let b = &buffers[i];
            let mut busy: Vec<(usize, usize)> = placed
                .iter()
                .filter(|p| p.2 <= b.last && b.first <= p.3)
                .map(|p| (p.0, p.0 + p.1))
                .collect();
            busy.sort_unstable();
            let mut offset = 0;
            for (start, end) in busy {
                if offset + b.len <= start {
                    break;
                }
                offset = offset.max(end);
            }
            placed.push((offset, b.len, b.first, b.last));
            arena_len = arena_len.max(offset + b.len);
            unshared_len += b.len;
            buffers[i].location = Location::Arena { offset, len: b.len };
        }

        let mut locations: Vec<Location> = model
            .tensors
            .iter()
            .map(|t| {
                if t.is_constant() {
                    Location::Constant
                } else {
                    Location::Unused
                }
            })
            .collect();
        for b in &buffers {
            for &t in &b.tensors {
                locations[t] = match b.location {
                    // A reshape keeps the offset and has its own length (the same count).
                    Location::Arena { offset, .. } => Location::Arena {
                        offset,
                        len: len_of[t],
                    },
                    other => other,
                };
            }
        }
        Plan {
            buffers,
            locations,
            arena_len,
            unshared_len,
        }
    }

    /// Checks the plan's invariant: two arena buffers alive at the same time never overlap.
    pub fn check(&self) -> Result<(), String> {
        for (i, a) in self.buffers.iter().enumerate() {
            for b in &self.buffers[i + 1..] {
                if let (
                    Location::Arena {
                        offset: oa,
                        len: la,
                    },
                    Location::Arena {
                        offset: ob,
                        len: lb,
                    },
                ) = (a.location, b.location)
                {
                    let alive_together = a.first <= b.last && b.first <= a.last;
                    let overlap = oa < ob + lb && ob < oa + la;
                    if alive_together && overlap {
                        return Err(format!(
                            "buffers of tensors {:?} and {:?} overlap",
                            a.tensors, b.tensors
                        ));
                    }
                }
            }
        }
        Ok(())
    }
}
