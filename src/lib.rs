//! The `backprop` command as a library: draw any formula's computational graph, with its forward values and
//! gradients, as the lecture does — all at once, step by step, or as an HTML page to step through.
//!
//! - [`expr`]: the expression language (`1/(1+exp(-x))`, `(x + y)^2`, `price = apple*apple_num*tax`), parsed
//!   and recorded on an [`autograd::Tape`];
//! - [`draw`]: the `backprop draw` command.

pub mod draw;
mod error;
pub mod expr;

pub use error::Error;
