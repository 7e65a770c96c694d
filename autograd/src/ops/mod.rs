//! The closed set of primitive ops. Each family keeps its forward computation and its backward rule side by
//! side in one file; this module only dispatches. The `match`es are exhaustive, so an op without a backward rule
//! does not compile.
//!
//! Every backward rule is written once, against [`Algebra`]: run with [`ArrayAlgebra`](crate::ArrayAlgebra) it is
//! the fast first-order pass on plain arrays; run with [`TapeAlgebra`](crate::TapeAlgebra) it records the gradient
//! as new nodes, which can be differentiated again.

pub(crate) mod elementwise;
pub(crate) mod linalg;
pub(crate) mod movement;
pub(crate) mod reduce;
pub(crate) mod select;

use std::fmt;
use std::rc::Rc;

use ndarray::{ArrayD, ArrayViewD};
use smallvec::SmallVec;

pub use elementwise::{Binary, Unary};

use crate::custom::ErasedOp;
use crate::{Algebra, Float, Value};

/// Gradients of one node with respect to each of its inputs (`None` where an input needs none).
pub type InputGrads<V> = SmallVec<[Option<V>; 2]>;

/// A primitive operation: what a tape node computes from its inputs.
///
/// Users normally reach these through [`Var`](crate::Var)'s methods and operators; [`Algebra::apply`] takes
/// them directly.
#[derive(Clone)]
pub enum Op<T: Float> {
    /// A leaf: a variable or a constant put on the tape by the user.
    Leaf,
    /// An element-wise function of one operand.
    Unary(Unary<T>),
    /// An element-wise function of two operands, broadcast with NumPy's rules.
    Binary(Binary),
    /// The 2-D matrix product `op(a) · op(b)`, where `op` transposes when the flag is set.
    MatMul {
        /// Transpose the left operand.
        ta: bool,
        /// Transpose the right operand.
        tb: bool,
    },
    /// Reorders axes: output axis `k` is input axis `axes[k]`.
    Permute(Rc<[usize]>),
    /// Same elements in row-major order, new shape.
    Reshape(Rc<[usize]>),
    /// Repeats the operand along broadcast axes to reach this shape.
    BroadcastTo(Rc<[usize]>),
    /// Sums over broadcast axes down to this shape (the adjoint of `BroadcastTo`).
    SumTo(Rc<[usize]>),
    /// Sums over one axis.
    SumAxis {
        /// The axis summed over.
        axis: usize,
        /// Keep the axis with length 1.
        keepdims: bool,
    },
    /// Maximum over one axis; ties share the gradient equally.
    MaxAxis {
        /// The axis reduced.
        axis: usize,
        /// Keep the axis with length 1.
        keepdims: bool,
    },
    /// Rows of the operand at these indices along axis 0 (repeats allowed).
    TakeRows(Rc<[usize]>),
    /// A zero tensor with `rows` rows into which row `k` of the operand is added at row `index[k]`.
    ScatterRows {
        /// Rows of the result.
        rows: usize,
        /// Destination row of each operand row.
        index: Rc<[usize]>,
    },
    /// `mask ? a : b` element-wise with a constant boolean mask; all three broadcast together.
    Select(Rc<ArrayD<bool>>),
    /// A user-defined op (see [`CustomOp`](crate::CustomOp)).
    Custom(Rc<dyn ErasedOp<T>>),
}

impl<T: Float> Op<T> {
    /// Computes the op's value from its inputs' values.
    ///
    /// # Panics
    /// When the inputs' shapes break the op's contract; the message names the op and the shapes.
    #[track_caller]
    pub fn forward(&self, x: &[&Value<T>]) -> Value<T> {
        let v = |k: usize| x[k].view();
        let array = match self {
            Op::Leaf => panic!("a leaf has no forward computation"),
            Op::Unary(u) => return u.forward(x[0]),
            Op::Binary(b) => return b.forward(x[0], x[1]),
            Op::MatMul { ta, tb } => linalg::matmul(&v(0), &v(1), *ta, *tb),
            Op::Permute(axes) => movement::permute(&v(0), axes),
            Op::Reshape(shape) => movement::reshape(&v(0), shape),
            Op::BroadcastTo(shape) => movement::broadcast_to(&v(0), shape),
            Op::SumTo(shape) => crate::shape::sum_to(&v(0), shape),
            Op::SumAxis { axis, keepdims } => reduce::sum_axis(&v(0), *axis, *keepdims),
            Op::MaxAxis { axis, keepdims } => reduce::max_axis(&v(0), *axis, *keepdims),
            Op::TakeRows(index) => movement::take_rows(&v(0), index),
            Op::ScatterRows { rows, index } => movement::scatter_rows(&v(0), *rows, index),
            Op::Select(mask) => select::select(mask, &v(0), &v(1)),
            Op::Custom(op) => {
                let views: SmallVec<[ArrayViewD<'_, T>; 2]> = x.iter().map(|x| x.view()).collect();
                op.forward(&views)
            }
        };
        Value::from_array(array)
    }

    /// The vector–Jacobian product of the op: given the gradient `g` of its output `y`, the gradient of each
    /// input in `x` that `needs` one, at the shape of the op's (broadcast) output for element-wise ops.
    pub fn backward<A: Algebra<T>>(
        &self,
        alg: &A,
        x: &[&A::V],
        y: &A::V,
        g: &A::V,
        needs: &[bool],
    ) -> InputGrads<A::V> {
        let one = |grad: A::V| smallvec::smallvec![Some(grad)];
        match self {
            Op::Leaf => SmallVec::new(),
            Op::Unary(u) => one(u.backward(alg, x[0], y, g)),
            Op::Binary(b) => b.backward(alg, x[0], x[1], y, g, needs),
            Op::MatMul { ta, tb } => linalg::matmul_backward(alg, x[0], x[1], g, *ta, *tb, needs),
            Op::Permute(axes) => one(movement::permute_backward(alg, axes, g)),
            Op::Reshape(_) => one(alg.reshape(g, &alg.shape(x[0]))),
            Op::BroadcastTo(_) => one(alg.sum_to(g, &alg.shape(x[0]))),
            Op::SumTo(_) => one(alg.broadcast_to(g, &alg.shape(x[0]))),
            Op::SumAxis { axis, keepdims } => {
                one(reduce::sum_axis_backward(alg, x[0], g, *axis, *keepdims))
            }
            Op::MaxAxis { axis, keepdims } => {
                one(reduce::max_axis_backward(alg, x[0], g, *axis, *keepdims))
            }
            Op::TakeRows(index) => one(alg.scatter_rows(g, alg.shape(x[0])[0], index)),
            Op::ScatterRows { index, .. } => one(alg.take_rows(g, index)),
            Op::Select(mask) => select::select_backward(alg, mask, g, needs),
            Op::Custom(op) => alg.custom_backward(op.as_ref(), x, y, g, needs),
        }
    }
}

/// The op's short label, as drawn in graph pictures: `+`, `×`, `exp`, `1/x`, `matmul`, …
impl<T: Float> fmt::Display for Op<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Leaf => write!(f, "leaf"),
            Op::Unary(u) => write!(f, "{u}"),
            Op::Binary(b) => write!(f, "{b}"),
            Op::MatMul { ta, tb } => write!(
                f,
                "matmul{}{}",
                if *ta { " Aᵀ" } else { "" },
                if *tb { " Bᵀ" } else { "" }
            ),
            Op::Permute(axes) => write!(f, "permute{axes:?}"),
            Op::Reshape(shape) => write!(f, "reshape{shape:?}"),
            Op::BroadcastTo(shape) => write!(f, "broadcast{shape:?}"),
            Op::SumTo(shape) if shape.is_empty() => write!(f, "sum"),
            Op::SumTo(shape) => write!(f, "sum_to{shape:?}"),
            Op::SumAxis { axis, .. } => write!(f, "sum(axis {axis})"),
            Op::MaxAxis { axis, .. } => write!(f, "max(axis {axis})"),
            Op::TakeRows(_) => write!(f, "take_rows"),
            Op::ScatterRows { .. } => write!(f, "scatter_rows"),
            Op::Select(_) => write!(f, "select"),
            Op::Custom(op) => write!(f, "{}", op.name()),
        }
    }
}

impl<T: Float> fmt::Debug for Op<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
