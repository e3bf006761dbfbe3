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
//! Offsets and lengths count elements of the model's type (`i8` or `f32`): an int8 model has
//! only `i8` activations and an f32 model only `f32` ones, so the arena is one typed array and
//! needs no alignment padding.

use crate::model::{Model, Op};

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

        let input_root = root(&mut parent, model.input);
        let output_root = root(&mut parent, model.output);
        let mut buffers: Vec<Buffer> = Vec::new();
        let mut buffer_of_root = vec![usize::MAX; n];
        for t in 0..n {
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
                    Location::Arena {
                        offset: 0,
                        len: model.tensor(t).len(),
                    }
                };
                buffers.push(Buffer {
                    tensors: Vec::new(),
                    len: model.tensor(t).len(),
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
                        len: model.tensor(t).len(),
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
