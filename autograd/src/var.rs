//! `Var`: a small `Copy` handle to a node on a tape, with the primitive ops as methods.

use std::fmt;
use std::rc::Rc;

use ndarray::{ArrayD, ArrayViewD, Axis};

use crate::ops::{Op, Unary};
use crate::shape::numel;
use crate::{Float, Tape};

/// A handle to a recorded value: a tape reference plus a node index. It is `Copy`, so formulas read like maths:
///
/// ```
/// use autograd::Tape;
/// let tape = Tape::<f64>::new();
/// let x = tape.var(0.0);
/// let y = 1.0 / (1.0 + (-x).exp());
/// assert_eq!(y.scalar(), 0.5);
/// assert_eq!(y.backward().scalar(x), 0.25);
/// ```
///
/// Every method computes its result at once and records a node. Shapes follow ndarray's (row-major) and
/// NumPy's broadcasting rules; contract violations panic at the caller's line with the op's name and shapes.
#[derive(Clone, Copy)]
pub struct Var<'t, T: Float = f32> {
    tape: &'t Tape<T>,
    id: usize,
}

impl<'t, T: Float> Var<'t, T> {
    pub(crate) fn new(tape: &'t Tape<T>, id: usize) -> Self {
        Var { tape, id }
    }

    /// The node's index on its tape (its position in the topological order).
    pub fn id(self) -> usize {
        self.id
    }

    /// The tape this handle records onto.
    pub fn tape(self) -> &'t Tape<T> {
        self.tape
    }

    /// A copy of the node's value as an array (0-d for a number).
    pub fn value(self) -> ArrayD<T> {
        self.tape
            .with_node(self.id, |n| n.value.clone().into_array())
    }

    /// Runs `f` on a view of the node's value, without copying it. Do not record new nodes inside `f`.
    pub fn with_value<R>(self, f: impl FnOnce(ArrayViewD<'_, T>) -> R) -> R {
        self.tape.with_node(self.id, |n| f(n.value.view()))
    }

    /// The value of a one-element node as a number.
    ///
    /// # Panics
    /// When the node holds more than one element.
    #[track_caller]
    pub fn scalar(self) -> T {
        let Some(x) = self.tape.with_node(self.id, |n| n.value.only()) else {
            panic!("scalar: node has shape {:?}, not one element", self.shape())
        };
        x
    }

    /// The node's shape.
    pub fn shape(self) -> Vec<usize> {
        self.tape.with_node(self.id, |n| n.value.shape().to_vec())
    }

    /// The number of axes.
    pub fn ndim(self) -> usize {
        self.tape.with_node(self.id, |n| n.value.shape().len())
    }

    /// True when gradients can flow into this node (it is a variable, or computed from one).
    pub fn requires_grad(self) -> bool {
        self.tape.with_node(self.id, |n| n.requires_grad)
    }

    /// The op that produced this node (`Op::Leaf` for inputs).
    pub fn op(self) -> Op<T> {
        self.tape.with_node(self.id, |n| n.op.clone())
    }

    /// The handles of the node's inputs.
    pub fn inputs(self) -> Vec<Var<'t, T>> {
        let ids = self.tape.with_node(self.id, |n| n.inputs.clone());
        ids.into_iter().map(|id| Var::new(self.tape, id)).collect()
    }

    /// The node's name, if it was given one.
    pub fn name(self) -> Option<String> {
        self.tape.name(self.id)
    }

    /// Names the node for graph drawings; returns the handle for chaining.
    pub fn set_name(self, name: &str) -> Self {
        self.tape.set_name(self.id, name);
        self
    }

    #[track_caller]
    pub(crate) fn same_tape(self, other: Var<'t, T>, op: &str) -> usize {
        assert!(
            std::ptr::eq(self.tape, other.tape),
            "{op}: operands belong to different tapes"
        );
        other.id
    }

    #[track_caller]
    fn unary(self, f: Unary<T>) -> Self {
        self.tape.push(Op::Unary(f), &[self.id])
    }

    #[track_caller]
    pub(crate) fn binary(self, op: Op<T>, name: &str, other: Var<'t, T>) -> Self {
        let other = self.same_tape(other, name);
        self.tape.push(op, &[self.id, other])
    }

    #[track_caller]
    fn apply(self, op: Op<T>) -> Self {
        self.tape.push(op, &[self.id])
    }

    /// `eˣ` element-wise.
    #[track_caller]
    pub fn exp(self) -> Self {
        self.unary(Unary::Exp)
    }

    /// Natural logarithm element-wise.
    #[track_caller]
    pub fn ln(self) -> Self {
        self.unary(Unary::Log)
    }

    /// `1/x` element-wise.
    #[track_caller]
    pub fn recip(self) -> Self {
        self.unary(Unary::Recip)
    }

    /// `xᶜ` element-wise for a constant exponent.
    #[track_caller]
    pub fn powf(self, c: T) -> Self {
        self.unary(Unary::Powf(c))
    }

    /// `√x` element-wise.
    #[track_caller]
    pub fn sqrt(self) -> Self {
        self.unary(Unary::Sqrt)
    }

    /// Hyperbolic tangent element-wise.
    #[track_caller]
    pub fn tanh(self) -> Self {
        self.unary(Unary::Tanh)
    }

    /// `max(x, 0)` element-wise (derivative 0 at 0).
    #[track_caller]
    pub fn relu(self) -> Self {
        self.unary(Unary::Relu)
    }

    /// `|x|` element-wise (derivative 0 at 0).
    #[track_caller]
    pub fn abs(self) -> Self {
        self.unary(Unary::Abs)
    }

    /// Element-wise maximum, broadcast (ties share the gradient).
    #[track_caller]
    pub fn maximum(self, other: Var<'t, T>) -> Self {
        self.binary(Op::Binary(crate::Binary::Maximum), "maximum", other)
    }

    /// Element-wise minimum, broadcast (ties share the gradient).
    #[track_caller]
    pub fn minimum(self, other: Var<'t, T>) -> Self {
        self.binary(Op::Binary(crate::Binary::Minimum), "minimum", other)
    }

    /// The matrix product of two 2-D nodes.
    ///
    /// # Panics
    /// When an operand is not 2-D or the inner dimensions differ, e.g.
    /// `matmul: shapes [100, 784] and [50, 10] are incompatible`.
    #[track_caller]
    pub fn matmul(self, other: Var<'t, T>) -> Self {
        self.binary(
            Op::MatMul {
                ta: false,
                tb: false,
            },
            "matmul",
            other,
        )
    }

    /// The transpose (axes reversed; for a matrix, rows and columns swapped).
    #[track_caller]
    pub fn t(self) -> Self {
        let axes: Vec<usize> = (0..self.ndim()).rev().collect();
        self.permute(&axes)
    }

    /// Reorders axes: output axis `k` is input axis `axes[k]`.
    ///
    /// # Panics
    /// When `axes` is not a permutation of the node's axes.
    #[track_caller]
    pub fn permute(self, axes: &[usize]) -> Self {
        self.apply(Op::Permute(axes.into()))
    }

    /// The same elements (row-major order) in a new shape.
    ///
    /// # Panics
    /// When the element counts differ.
    #[track_caller]
    pub fn reshape(self, shape: &[usize]) -> Self {
        self.apply(Op::Reshape(shape.into()))
    }

    /// Repeats the node along broadcast axes to reach `shape`.
    ///
    /// # Panics
    /// When the node's shape does not broadcast to `shape`.
    #[track_caller]
    pub fn broadcast_to(self, shape: &[usize]) -> Self {
        self.apply(Op::BroadcastTo(shape.into()))
    }

    /// Sums over broadcast axes down to `shape` (the adjoint of [`broadcast_to`](Var::broadcast_to)).
    ///
    /// # Panics
    /// When `shape` does not broadcast to the node's shape.
    #[track_caller]
    pub fn sum_to(self, shape: &[usize]) -> Self {
        self.apply(Op::SumTo(shape.into()))
    }

    /// The sum of all elements (a 0-d node).
    #[track_caller]
    pub fn sum(self) -> Self {
        self.sum_to(&[])
    }

    /// The mean of all elements (a 0-d node).
    #[track_caller]
    pub fn mean(self) -> Self {
        let n = T::lit(numel(&self.shape()) as f64);
        self.sum() / n
    }

    /// Sum over `axis`, which is removed.
    ///
    /// # Panics
    /// When `axis` is out of range.
    #[track_caller]
    pub fn sum_axis(self, axis: Axis) -> Self {
        self.apply(Op::SumAxis {
            axis: axis.index(),
            keepdims: false,
        })
    }

    /// Sum over `axis`, kept with length 1 (so the result broadcasts against the input).
    #[track_caller]
    pub fn sum_axis_keepdims(self, axis: Axis) -> Self {
        self.apply(Op::SumAxis {
            axis: axis.index(),
            keepdims: true,
        })
    }

    /// Mean over `axis`, which is removed.
    #[track_caller]
    pub fn mean_axis(self, axis: Axis) -> Self {
        let n = self.with_value(|v| v.shape().get(axis.index()).copied().unwrap_or(1));
        self.sum_axis(axis) / T::lit(n as f64)
    }

    /// Maximum over `axis`, which is removed. Ties share the gradient equally.
    ///
    /// # Panics
    /// When `axis` is out of range or empty.
    #[track_caller]
    pub fn max_axis(self, axis: Axis) -> Self {
        self.apply(Op::MaxAxis {
            axis: axis.index(),
            keepdims: false,
        })
    }

    /// Maximum over `axis`, kept with length 1.
    #[track_caller]
    pub fn max_axis_keepdims(self, axis: Axis) -> Self {
        self.apply(Op::MaxAxis {
            axis: axis.index(),
            keepdims: true,
        })
    }

    /// The rows (along axis 0) at `index`, e.g. a mini-batch drawn from a data set. Repeats are allowed; their
    /// gradients add up.
    ///
    /// # Panics
    /// When the node is 0-d or an index is out of range.
    #[track_caller]
    pub fn take_rows(self, index: &[usize]) -> Self {
        self.apply(Op::TakeRows(index.into()))
    }

    /// Zeros with `rows` rows, with row `k` of this node added into row `index[k]` (the adjoint of
    /// [`take_rows`](Var::take_rows)).
    #[track_caller]
    pub fn scatter_rows(self, rows: usize, index: &[usize]) -> Self {
        let index: Rc<[usize]> = index.into();
        self.apply(Op::ScatterRows { rows, index })
    }

    /// `mask ? self : other` element-wise with a constant mask; all three broadcast together.
    ///
    /// # Panics
    /// When the shapes do not broadcast together.
    #[track_caller]
    pub fn select(self, mask: &ArrayD<bool>, other: Var<'t, T>) -> Self {
        self.binary(Op::Select(Rc::new(mask.clone())), "select", other)
    }
}

impl<T: Float> fmt::Debug for Var<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = self.op();
        write!(f, "Var#{} {op} ", self.id)?;
        self.tape.with_node(self.id, |n| write!(f, "{}", n.value))
    }
}
