//! The kernels: loops over elements, reductions and matrix products, with the fast paths that small tensors and
//! the lecture's scalar graphs need. Op rules never call these directly; each op's forward does, through the
//! small functions here, so the files a person opens to read or add an op hold only the maths.
//!
//! Kernels know no op enum: they take closures and the op's name (for panic messages). They take inputs as
//! [`Operand`](crate::Operand)s (a number, or a borrowed array of any layout), so one kernel serves tape values,
//! gradients and the zero-copy views of the first-order backward pass.

mod elementwise;
mod helper;
mod matmul;
mod reduce;
mod sparse;
mod window;

pub(crate) use elementwise::{add_assign, map, same_shape, select, zip, zip_to};
pub use helper::with_product_helper;
pub use matmul::matmul;
pub(crate) use matmul::matmul_dyn;
#[cfg(feature = "rayon")]
pub use matmul::matmul_parallel;
pub(crate) use reduce::{max_axis, sum_axis, sum_to, tie_shares};
pub(crate) use sparse::sparse_dot;
pub(crate) use window::{col2im, im2col, window_argmax, Windows};
