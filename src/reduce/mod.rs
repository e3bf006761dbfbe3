//! Reductions over the spatial axes of a `[H][W][C]` tensor: MEAN over H and W (global average
//! pooling, TFLite's `MEAN` with axes `[1, 2]`).
//!
//! | module | op |
//! |---|---|
//! | [`mean`] | `out[c] = (1 / (H·W)) · Σ_{y,x} in[y][x][c]`; int8 with TFLite's integer requantization |

pub mod mean;

pub use mean::{MeanParamsI8, mean_hw_f32, mean_hw_i8};
