//! Element-wise binary ops on two tensors of the same shape (residual connections): ADD.
//!
//! | module | op |
//! |---|---|
//! | [`add`] | `out = act(a + b)`; int8 with TFLite's rescaling of both inputs to a common scale |
//!
//! Broadcasting (TFLite's `BroadcastAdd`) is not supported: both inputs and the output have the
//! same number of elements, in any (matching) layout.

pub mod add;

pub use add::{AddParamsI8, add_f32, add_i8};
