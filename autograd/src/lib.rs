//! A define-by-run tape with exact, higher-order reverse-mode gradients on `ndarray`.
//!
//! ```
//! use autograd::Tape;
//! use ndarray::array;
//!
//! let tape = Tape::<f64>::new();
//! let w = tape.var_named("w", array![[1.0, 2.0], [3.0, 4.0]]);
//! let x = tape.constant(array![[1.0], [1.0]]);
//! let loss = w.matmul(x).relu().sum() + (w * w).sum() / 2.0; // Σ relu(w·x) + ½‖w‖²
//! let grads = loss.backward();
//! assert_eq!(grads.get(w).unwrap(), array![[2.0, 3.0], [4.0, 5.0]].into_dyn()); // 1 + w
//! ```
//!
//! - [`Tape`] records nodes; [`Var`] is a `Copy` handle with the primitive ops as methods and operators.
//! - [`Var::backward`] returns [`Gradients`]; [`Var::backward_graph`] returns gradients as nodes
//!   ([`GradGraph`]) for second derivatives and Hessian–vector products.
//! - Every backward rule is written once, as arithmetic on [`Var`] handles generic over the [`Backend`]: on
//!   [`Eager`] it is the fast first-order pass on arrays, on the [`Tape`] it records gradients that can be
//!   differentiated again. [`CustomOp`] lets users add ops the same way.
//! - [`gradcheck()`] compares analytic gradients with central differences in `f64`.
//! - [`Tape::graph`] exports the recording as a [`petgraph`] graph; [`dot::Dot`] draws it (Graphviz DOT, SVG by
//!   Graphviz or a built-in layout, one picture per backward step, an HTML page to step through), forward
//!   values above each arrow and gradients below, as in the lecture; [`Tape::group`] names composed ops.
//! - [`Tape::with_anomaly_detection`] finds the first NaN or infinity, forward or backward, and the line of code
//!   that created the op (see [`AnomalyError`]).

mod anomaly;
mod arith;
mod backend;
mod backward;
mod composed;
mod display;
pub mod dot;
mod float;
pub mod forward;
pub mod func;
pub mod gradcheck;
pub mod graph;
mod kernels;
mod ops;
pub mod shape;
mod simplify;
mod sparse;
mod tape;
mod value;
mod var;

pub use anomaly::{AnomalyError, NonFinite, Pass};
pub use arith::Scalar;
pub use backend::{Backend, Eager, EagerId};
pub use backward::{GradGraph, Gradients};
pub use display::format_number;
pub use float::Float;
pub use gradcheck::{gradcheck, gradgradcheck, jvpcheck, GradCheck};
pub use kernels::{matmul, with_product_helper};
// With the bench-only `openblas` feature, ndarray's `dot` calls CBLAS for the whole build: linking the BLAS
// from here makes every target of every crate that uses `dot` link, not only the matmul bench.
#[cfg(feature = "openblas")]
extern crate blas_src;
#[cfg(feature = "rayon")]
pub use kernels::matmul_parallel;
/// The `ndarray` this crate is built on, so that users need not pin the same version themselves.
pub use ndarray;
pub use ops::{
    Binary, BroadcastTo, Concat, CumSum, Custom, CustomOp, ErasedOp, Fold, Gather, IndexMap,
    InputGrads, IntoVar, Mask, MatMul, MaxAxis, Op, Permute, Reshape, ScatterAdd, ScatterRows,
    Slice, SliceScatter, SparseMatMul, SumAxis, SumTo, TakeRows, Tangent, Unary, Unfold, Where,
    Window,
};
pub use petgraph;
pub use sparse::SparseMatrix;
pub use tape::{IntoValue, Tape};
pub use value::{Operand, SharedArray, Value};
pub use var::Var;
