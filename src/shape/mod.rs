//! Data movement without arithmetic (but for requantization): PAD, CONCATENATION and
//! RESHAPE / flatten, on channels-last tensors, for any element type.
//!
//! | module | op |
//! |---|---|
//! | [`pad`](mod@pad) | constant padding on each side of H, W and C (int8: the output zero point) |
//! | [`concat`](mod@concat) | concatenation along an axis; int8 requantized when scales differ |
//! | [`reshape`](mod@reshape) | the same elements in the same order under a new shape |

pub mod concat;
pub mod pad;
pub mod reshape;

pub use concat::{concatenate, concatenate_i8};
pub use pad::{Pad3, pad};
pub use reshape::{flatten, reshape};
