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
//! - Every backward rule is written once against [`Algebra`], evaluated by [`ArrayAlgebra`] (fast, first
//!   order) or [`TapeAlgebra`] (recorded, higher order). [`CustomOp`] lets users add ops the same way.
//! - [`gradcheck()`] compares analytic gradients with central differences in `f64`.
//! - [`Tape::graph`] exports the recording as a [`petgraph`] graph; [`dot::Dot`] draws it with Graphviz, forward
//!   values above each arrow and gradients below, as in the lecture; [`Tape::group`] names composed ops.
//! - [`Tape::with_anomaly_detection`] finds the first NaN or infinity, forward or backward, and the line of code
//!   that created the op (see [`AnomalyError`]).

mod algebra;
mod anomaly;
mod arith;
mod backward;
mod custom;
mod display;
pub mod dot;
mod float;
pub mod gradcheck;
pub mod graph;
mod ops;
pub mod shape;
mod tape;
mod value;
mod var;

pub use algebra::{Algebra, ArrayAlgebra, TapeAlgebra};
pub use anomaly::{AnomalyError, NonFinite, Pass};
pub use backward::{GradGraph, Gradients};
pub use custom::{CustomOp, ErasedOp};
pub use display::format_number;
pub use float::Float;
pub use gradcheck::{gradcheck, GradCheck};
pub use ops::linalg::product as matmul;
// With the bench-only `openblas` feature, ndarray's `dot` calls CBLAS for the whole build: linking the BLAS
// from here makes every target of every crate that uses `dot` link, not only the matmul bench.
#[cfg(feature = "openblas")]
extern crate blas_src;
#[cfg(feature = "rayon")]
pub use ops::linalg::product_parallel as matmul_parallel;
pub use ops::{Binary, InputGrads, Op, Unary};
pub use petgraph;
pub use tape::{IntoValue, Tape};
pub use value::Value;
pub use var::Var;
