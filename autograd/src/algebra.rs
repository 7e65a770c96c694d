//! The small algebra every backward rule is written against.
//!
//! A rule such as "the gradient of `exp` is `g · y`" is written once as `alg.mul(g, y)`. Two types implement
//! [`Algebra`]: [`ArrayAlgebra`] evaluates it on plain arrays (the fast first-order backward pass), and
//! [`TapeAlgebra`] records it as new tape nodes, so the gradient is itself differentiable (higher order).
//! Both evaluate through [`Op::forward`], so the two worlds cannot disagree.

use std::rc::Rc;

use ndarray::{ArrayD, ArrayViewD};

use crate::custom::ErasedOp;
use crate::ops::{Binary, InputGrads, Op, Unary};
use crate::tape::Tape;
use crate::{Float, Value, Var};

/// Values that backward rules compute with: arrays, or nodes on a tape.
///
/// Implement [`CustomOp::backward`](crate::CustomOp::backward) against this trait and the same rule serves both
/// first-order and higher-order gradients. The required methods are the primitives; all others are provided.
pub trait Algebra<T: Float> {
    /// A value: [`Value`] (a number or an array) for [`ArrayAlgebra`], [`Var`] for [`TapeAlgebra`].
    type V: Clone;

    /// Applies a primitive op to `inputs`.
    #[track_caller]
    fn apply(&self, op: Op<T>, inputs: &[&Self::V]) -> Self::V;

    /// The shape of a value.
    fn shape(&self, v: &Self::V) -> Vec<usize>;

    /// A constant (never differentiated) computed from the current arrays of `from`, such as a mask.
    fn constant_from(
        &self,
        from: &[&Self::V],
        f: impl FnOnce(&[ArrayViewD<'_, T>]) -> ArrayD<T>,
    ) -> Self::V;

    /// Runs a custom op's backward rule in this algebra.
    fn custom_backward(
        &self,
        op: &dyn ErasedOp<T>,
        x: &[&Self::V],
        y: &Self::V,
        g: &Self::V,
        needs: &[bool],
    ) -> InputGrads<Self::V>;

    /// A constant value (a number or an array).
    fn constant(&self, value: impl Into<Value<T>>) -> Self::V;
    /// `a + b`, broadcast.
    fn add(&self, a: &Self::V, b: &Self::V) -> Self::V {
        self.apply(Op::Binary(Binary::Add), &[a, b])
    }
    /// `a - b`, broadcast.
    fn sub(&self, a: &Self::V, b: &Self::V) -> Self::V {
        self.apply(Op::Binary(Binary::Sub), &[a, b])
    }
    /// `a · b` element-wise, broadcast.
    fn mul(&self, a: &Self::V, b: &Self::V) -> Self::V {
        self.apply(Op::Binary(Binary::Mul), &[a, b])
    }
    /// `a / b` element-wise, broadcast.
    fn div(&self, a: &Self::V, b: &Self::V) -> Self::V {
        self.apply(Op::Binary(Binary::Div), &[a, b])
    }
    /// Element-wise maximum, broadcast.
    fn maximum(&self, a: &Self::V, b: &Self::V) -> Self::V {
        self.apply(Op::Binary(Binary::Maximum), &[a, b])
    }
    /// Element-wise minimum, broadcast.
    fn minimum(&self, a: &Self::V, b: &Self::V) -> Self::V {
        self.apply(Op::Binary(Binary::Minimum), &[a, b])
    }
    /// An element-wise function of one operand.
    fn unary(&self, f: Unary<T>, x: &Self::V) -> Self::V {
        self.apply(Op::Unary(f), &[x])
    }
    /// `-x`
    fn neg(&self, x: &Self::V) -> Self::V {
        self.unary(Unary::Neg, x)
    }
    /// `eˣ`
    fn exp(&self, x: &Self::V) -> Self::V {
        self.unary(Unary::Exp, x)
    }
    /// `ln x`
    fn log(&self, x: &Self::V) -> Self::V {
        self.unary(Unary::Log, x)
    }
    /// `1/x`
    fn recip(&self, x: &Self::V) -> Self::V {
        self.unary(Unary::Recip, x)
    }
    /// `xᶜ`
    fn powf(&self, x: &Self::V, c: T) -> Self::V {
        self.unary(Unary::Powf(c), x)
    }
    /// `x + c`
    fn add_scalar(&self, x: &Self::V, c: T) -> Self::V {
        self.unary(Unary::AddScalar(c), x)
    }
    /// `x · c`
    fn mul_scalar(&self, x: &Self::V, c: T) -> Self::V {
        self.unary(Unary::MulScalar(c), x)
    }
    /// `x / c`
    fn div_scalar(&self, x: &Self::V, c: T) -> Self::V {
        self.unary(Unary::DivScalar(c), x)
    }
    /// The matrix product `a · b` of 2-D operands.
    fn matmul(&self, a: &Self::V, b: &Self::V) -> Self::V {
        self.matmul_t(a, b, false, false)
    }
    /// `op(a) · op(b)`, where `op` transposes an operand whose flag is set (without copying it).
    fn matmul_t(&self, a: &Self::V, b: &Self::V, ta: bool, tb: bool) -> Self::V {
        self.apply(Op::MatMul { ta, tb }, &[a, b])
    }
    /// Reorders axes: output axis `k` is input axis `axes[k]`.
    fn permute(&self, x: &Self::V, axes: &[usize]) -> Self::V {
        self.apply(Op::Permute(axes.into()), &[x])
    }
    /// The same elements in row-major order, in a new shape.
    fn reshape(&self, x: &Self::V, shape: &[usize]) -> Self::V {
        self.apply(Op::Reshape(shape.into()), &[x])
    }
    /// Repeats `x` along broadcast axes to reach `shape`.
    fn broadcast_to(&self, x: &Self::V, shape: &[usize]) -> Self::V {
        self.apply(Op::BroadcastTo(shape.into()), &[x])
    }
    /// Sums `x` over broadcast axes down to `shape` (`[]` sums everything).
    fn sum_to(&self, x: &Self::V, shape: &[usize]) -> Self::V {
        self.apply(Op::SumTo(shape.into()), &[x])
    }
    /// Sum over one axis.
    fn sum_axis(&self, x: &Self::V, axis: usize, keepdims: bool) -> Self::V {
        self.apply(Op::SumAxis { axis, keepdims }, &[x])
    }
    /// Maximum over one axis.
    fn max_axis(&self, x: &Self::V, axis: usize, keepdims: bool) -> Self::V {
        self.apply(Op::MaxAxis { axis, keepdims }, &[x])
    }
    /// Rows of `x` at `index` along axis 0.
    fn take_rows(&self, x: &Self::V, index: &Rc<[usize]>) -> Self::V {
        self.apply(Op::TakeRows(index.clone()), &[x])
    }
    /// Zeros with `rows` rows, with row `k` of `x` added into row `index[k]`.
    fn scatter_rows(&self, x: &Self::V, rows: usize, index: &Rc<[usize]>) -> Self::V {
        let index = index.clone();
        self.apply(Op::ScatterRows { rows, index }, &[x])
    }
    /// `mask ? a : b` element-wise.
    fn select(&self, mask: &Rc<ArrayD<bool>>, a: &Self::V, b: &Self::V) -> Self::V {
        self.apply(Op::Select(mask.clone()), &[a, b])
    }
}

/// The algebra of plain arrays: each operation is computed at once. Used by the first-order backward pass.
#[derive(Clone, Copy, Debug, Default)]
pub struct ArrayAlgebra;

impl<T: Float> Algebra<T> for ArrayAlgebra {
    type V = Value<T>;

    #[track_caller]
    fn apply(&self, op: Op<T>, inputs: &[&Value<T>]) -> Value<T> {
        op.forward(inputs)
    }

    fn shape(&self, v: &Value<T>) -> Vec<usize> {
        v.shape().to_vec()
    }

    fn constant_from(
        &self,
        from: &[&Value<T>],
        f: impl FnOnce(&[ArrayViewD<'_, T>]) -> ArrayD<T>,
    ) -> Value<T> {
        let views: smallvec::SmallVec<[ArrayViewD<'_, T>; 2]> =
            from.iter().map(|v| v.view()).collect();
        Value::from_array(f(&views))
    }

    fn constant(&self, value: impl Into<Value<T>>) -> Value<T> {
        value.into()
    }

    fn custom_backward(
        &self,
        op: &dyn ErasedOp<T>,
        x: &[&Value<T>],
        y: &Value<T>,
        g: &Value<T>,
        needs: &[bool],
    ) -> InputGrads<Value<T>> {
        op.backward_arrays(x, y, g, needs)
    }
}

/// The algebra of tape nodes: each operation is recorded on the tape, so its result can be differentiated
/// again. Used by [`Var::backward_graph`].
#[derive(Clone, Copy)]
pub struct TapeAlgebra<'t, T: Float> {
    tape: &'t Tape<T>,
}

impl<'t, T: Float> TapeAlgebra<'t, T> {
    /// The algebra that records onto `tape`.
    pub fn new(tape: &'t Tape<T>) -> Self {
        TapeAlgebra { tape }
    }
}

impl<'t, T: Float> Algebra<T> for TapeAlgebra<'t, T> {
    type V = Var<'t, T>;

    #[track_caller]
    fn apply(&self, op: Op<T>, inputs: &[&Var<'t, T>]) -> Var<'t, T> {
        let ids: smallvec::SmallVec<[usize; 2]> = inputs.iter().map(|v| v.id()).collect();
        self.tape.push(op, &ids)
    }

    fn shape(&self, v: &Var<'t, T>) -> Vec<usize> {
        v.shape()
    }

    fn constant_from(
        &self,
        from: &[&Var<'t, T>],
        f: impl FnOnce(&[ArrayViewD<'_, T>]) -> ArrayD<T>,
    ) -> Var<'t, T> {
        let ids: Vec<usize> = from.iter().map(|v| v.id()).collect();
        let value = self.tape.with_values(&ids, |values| {
            let views: Vec<ArrayViewD<'_, T>> = values.iter().map(|v| v.view()).collect();
            f(&views)
        });
        self.tape.constant(value)
    }

    fn constant(&self, value: impl Into<Value<T>>) -> Var<'t, T> {
        self.tape.constant(value.into())
    }

    fn custom_backward(
        &self,
        op: &dyn ErasedOp<T>,
        x: &[&Var<'t, T>],
        y: &Var<'t, T>,
        g: &Var<'t, T>,
        needs: &[bool],
    ) -> InputGrads<Var<'t, T>> {
        op.backward_tape(self, x, y, g, needs)
    }
}
