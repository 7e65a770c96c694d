//! The closed set of primitive ops. This module only dispatches: each family file holds, side by side, its ops'
//! variants, forward computations, backward rules, drawing labels and `Var` methods.
//!
//! | file | ops |
//! | --- | --- |
//! | `unary.rs` | element-wise functions of one operand, one table row each (`exp`, `tanh`, `+c`, …) |
//! | `binary.rs` | element-wise functions of two broadcast operands, one table row each (`+`, `×`, `max`, …) |
//! | `reduce.rs` | sums and maxima over axes, and `sum_to` (the adjoint of broadcasting) |
//! | `scan.rs` | running sums along an axis |
//! | `movement.rs` | reshape, permute, broadcast |
//! | `slice.rs` | ranges along an axis, their scatter into zeros, and concatenation |
//! | `index.rs` | rows by index and their scatter |
//! | `gather.rs` | elements by an index array along any axis, and their scatter-add |
//! | `window.rs` | sliding windows of images as columns (im2col) and back (col2im) |
//! | `select.rs` | comparisons (boolean masks) and `where_` |
//! | `linalg.rs` | the matrix product |
//! | `sparse.rs` | products of a constant sparse matrix (or its transpose) with a dense node |
//! | `custom.rs` | user-defined ops ([`CustomOp`]) |
//!
//! Every op has two rules, side by side: the backward rule (`vjp`, the vector–Jacobian product, for reverse
//! mode) and the forward rule (`jvp`, the Jacobian–vector product, for forward mode, see `forward.rs`). For an
//! element-wise op both are one derivative written once.
//!
//! A rule is ordinary arithmetic on [`Var`] handles, generic over the [`Backend`]: run on the
//! [`Eager`](crate::Eager) backend it is the fast first-order pass on arrays, run on the [`Tape`](crate::Tape)
//! it records the gradient as nodes that can be differentiated again (see `backend.rs` for why). Rules never
//! see kernels, layouts or fast paths: forwards call `crate::kernels`.
//!
//! # Adding an op
//! 1. **The op.** An element-wise op is one row in the table of `unary.rs` or `binary.rs`: its kind, label,
//!    scalar function and derivative; the variant, the kernel loop, both rules and the `Var` method are
//!    generated. Any other op is a struct in its family's file implementing `Primitive` (kind, forward,
//!    backward rule, forward-mode rule, label) with its `Var` method beside it, plus one line in the
//!    `primitives!` list below. A linear op's forward-mode rule is the op applied to the tangent: write
//!    `linear_jvp!();` in its impl. An op whose
//!    backward needs a new operation brings that operation as a primitive too, so second order keeps working.
//! 2. **The kernel**, if the forward needs more than ndarray offers: a function in `kernels/`, taking closures
//!    and the op's name, never an op type.
//! 3. **The tests.** A case in `tests/op_table.rs`: it fails until every kind in [`Op::kinds`] has a
//!    first-order finite-difference check, a second-order check and a forward-mode check. Ops with a reference implementation also
//!    get a test against it (matmul against naive loops).
//! 4. **The size budget.** `tests/memory_tape.rs` asserts a recorded scalar node stays under 100 bytes: an
//!    op's payload must keep [`Op`] at 32 bytes (share lists and arrays through `Rc`).
//! 5. **The docs.** The README's op table, with the PyTorch equivalent.

/// The forward-mode rule of a linear op (one input): the op itself applied to the input's tangent. Written as
/// `linear_jvp!();` inside the op's `Primitive` impl, beside its backward rule.
macro_rules! linear_jvp {
    () => {
        /// Linear: the op applied to the tangent.
        fn jvp<'a, B: Backend<T>>(
            &self,
            _x: &[Var<'a, T, B>],
            _y: Var<'a, T, B>,
            dx: &[Option<Var<'a, T, B>>],
        ) -> Option<Var<'a, T, B>> {
            Some(dx[0]?.apply(Op::from(Clone::clone(self))))
        }
    };
}

mod binary;
mod custom;
mod gather;
mod index;
mod linalg;
mod movement;
mod reduce;
mod scan;
mod select;
mod slice;
mod sparse;
mod unary;
mod window;

use std::fmt;

use ndarray::ArrayViewD;
use smallvec::SmallVec;

pub use binary::Binary;
pub use custom::{Custom, CustomOp, ErasedOp, Tangent};
pub use gather::{Gather, IndexMap, ScatterAdd};
pub use index::{ScatterRows, TakeRows};
pub use linalg::MatMul;
pub use movement::{BroadcastTo, Permute, Reshape};
pub use reduce::{MaxAxis, SumAxis, SumTo};
pub use scan::CumSum;
pub use select::{IntoVar, Mask, Where};
pub use slice::{Concat, Slice, SliceScatter};
pub use sparse::SparseMatMul;
pub use unary::Unary;
pub use window::{Fold, Unfold, Window};

use crate::{Backend, Float, Operand, Value, Var};

/// Gradients of one node with respect to each of its inputs (`None` where an input needs none).
pub type InputGrads<V> = SmallVec<[Option<V>; 2]>;

/// What every primitive provides, in one place per op.
pub(crate) trait Primitive<T: Float> {
    /// The kinds this type covers: one for a struct, one per row for a table.
    const KINDS: &'static [&'static str];

    /// This op's kind: its name in messages and in the check table.
    fn kind(&self) -> &'static str {
        Self::KINDS[0]
    }

    /// The value, computed from the inputs' values.
    fn forward(&self, x: &[Operand<'_, T>]) -> Value<T>;

    /// The vector–Jacobian product: given the gradient `g` of the output `y`, the gradient of each input that
    /// `needs` one — at the input's shape, or for element-wise ops at the broadcast output's shape (the backward
    /// pass reduces it).
    fn vjp<'a, B: Backend<T>>(
        &self,
        x: &[Var<'a, T, B>],
        y: Var<'a, T, B>,
        g: Var<'a, T, B>,
        needs: &[bool],
    ) -> InputGrads<Var<'a, T, B>>;

    /// The Jacobian–vector product: the output's tangent, given each input's tangent `dx` (`None` for zero), or
    /// `None` when it is zero. It may have any shape that broadcasts to the output's; the forward pass
    /// broadcasts it, in one place.
    fn jvp<'a, B: Backend<T>>(
        &self,
        x: &[Var<'a, T, B>],
        y: Var<'a, T, B>,
        dx: &[Option<Var<'a, T, B>>],
    ) -> Option<Var<'a, T, B>>;

    /// The label drawn in graph pictures.
    fn label(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result;

    /// The view this op makes of `x` without copying, for layout ops that can be views.
    fn view<'s>(&self, _x: ArrayViewD<'s, T>) -> Option<ArrayViewD<'s, T>> {
        None
    }
}

/// Declares [`Op`]'s dispatch: every method matches each variant to its type's `Primitive` impl.
macro_rules! primitives {
    ($($variant:ident($ty:ty)),* $(,)?) => {
        impl<T: Float> Op<T> {
            /// The value, computed from the inputs' values.
            #[track_caller]
            pub(crate) fn eval(&self, x: &[Operand<'_, T>]) -> Value<T> {
                match self {
                    Op::Leaf => panic!("a leaf has no forward computation"),
                    $(Op::$variant(op) => <$ty as Primitive<T>>::forward(op, x),)*
                }
            }

            /// The backward rule (see `Primitive::vjp`).
            pub(crate) fn vjp<'a, B: Backend<T>>(
                &self,
                x: &[Var<'a, T, B>],
                y: Var<'a, T, B>,
                g: Var<'a, T, B>,
                needs: &[bool],
            ) -> InputGrads<Var<'a, T, B>> {
                match self {
                    Op::Leaf => SmallVec::new(),
                    $(Op::$variant(op) => <$ty as Primitive<T>>::vjp(op, x, y, g, needs),)*
                }
            }

            /// The forward-mode rule (see `Primitive::jvp`).
            pub(crate) fn jvp<'a, B: Backend<T>>(
                &self,
                x: &[Var<'a, T, B>],
                y: Var<'a, T, B>,
                dx: &[Option<Var<'a, T, B>>],
            ) -> Option<Var<'a, T, B>> {
                match self {
                    Op::Leaf => None,
                    $(Op::$variant(op) => <$ty as Primitive<T>>::jvp(op, x, y, dx),)*
                }
            }

            /// The view a layout op makes of `x` without copying, if it can.
            pub(crate) fn view<'s>(&self, x: ArrayViewD<'s, T>) -> Option<ArrayViewD<'s, T>> {
                match self {
                    Op::Leaf => None,
                    $(Op::$variant(op) => <$ty as Primitive<T>>::view(op, x),)*
                }
            }

            /// The op's kind: its name in error messages and in the check table (`"exp"`, `"add"`,
            /// `"matmul"`, `"sum_axis"`, `"custom"`, …; `"leaf"` for inputs).
            pub fn kind(&self) -> &'static str {
                match self {
                    Op::Leaf => "leaf",
                    $(Op::$variant(op) => <$ty as Primitive<T>>::kind(op),)*
                }
            }

            /// Every kind of primitive, for tests that must cover them all.
            ///
            /// ```
            /// let kinds = autograd::Op::<f64>::kinds();
            /// assert!(kinds.contains(&"tanh") && kinds.contains(&"matmul"));
            /// ```
            pub fn kinds() -> Vec<&'static str> {
                [$(<$ty as Primitive<T>>::KINDS),*].concat()
            }
        }

        $(
            impl<T: Float> From<$ty> for Op<T> {
                fn from(op: $ty) -> Self {
                    Op::$variant(op)
                }
            }
        )*

        /// The op's short label, as drawn in graph pictures: `+`, `×`, `exp`, `1/x`, `matmul`, …
        impl<T: Float> fmt::Display for Op<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self {
                    Op::Leaf => f.write_str("leaf"),
                    $(Op::$variant(op) => <$ty as Primitive<T>>::label(op, f),)*
                }
            }
        }
    };
}

/// A primitive operation: what a tape node computes from its inputs.
///
/// Users reach these through [`Var`]'s methods and operators; [`Var::op`] shows the one that made a node.
#[derive(Clone)]
pub enum Op<T: Float> {
    /// A leaf: a variable or a constant put on the tape by the user.
    Leaf,
    /// An element-wise function of one operand.
    Unary(Unary<T>),
    /// An element-wise function of two operands, broadcast with NumPy's rules.
    Binary(Binary),
    /// A sum over broadcast axes down to a shape (the adjoint of broadcasting).
    SumTo(SumTo),
    /// A sum over one axis.
    SumAxis(SumAxis),
    /// A maximum over one axis.
    MaxAxis(MaxAxis),
    /// A running sum along one axis.
    CumSum(CumSum),
    /// The same elements in a new shape.
    Reshape(Reshape),
    /// A reordering of axes.
    Permute(Permute),
    /// Repetition along broadcast axes.
    BroadcastTo(BroadcastTo),
    /// A strided range along one axis.
    Slice(Slice),
    /// A range placed into zeros (the adjoint of `Slice`).
    SliceScatter(SliceScatter),
    /// Operands joined along one axis.
    Concat(Concat),
    /// Elements by an index array along one axis.
    Gather(Gather),
    /// Elements added into zeros at an index array's positions (the adjoint of `Gather`).
    ScatterAdd(ScatterAdd),
    /// Image windows as columns (im2col).
    Unfold(Unfold),
    /// Columns added back into images (col2im, the adjoint of `Unfold`).
    Fold(Fold),
    /// Rows at indices along axis 0.
    TakeRows(TakeRows),
    /// Rows added into a zero tensor at indices (the adjoint of `TakeRows`).
    ScatterRows(ScatterRows),
    /// Element-wise choice by a boolean mask.
    Where(Where),
    /// The matrix product.
    MatMul(MatMul),
    /// A constant sparse matrix (or its transpose) times a dense node.
    SparseMatMul(SparseMatMul<T>),
    /// A user-defined op.
    Custom(Custom<T>),
}

primitives! {
    Unary(Unary<T>),
    Binary(Binary),
    SumTo(SumTo),
    SumAxis(SumAxis),
    MaxAxis(MaxAxis),
    CumSum(CumSum),
    Reshape(Reshape),
    Permute(Permute),
    BroadcastTo(BroadcastTo),
    Slice(Slice),
    SliceScatter(SliceScatter),
    Concat(Concat),
    Gather(Gather),
    ScatterAdd(ScatterAdd),
    Unfold(Unfold),
    Fold(Fold),
    TakeRows(TakeRows),
    ScatterRows(ScatterRows),
    Where(Where),
    MatMul(MatMul),
    SparseMatMul(SparseMatMul<T>),
    Custom(Custom<T>),
}

impl<T: Float> Op<T> {
    /// Computes the op's value from its inputs' values.
    ///
    /// # Panics
    /// When the inputs' shapes break the op's contract; the message names the op and the shapes.
    #[track_caller]
    pub fn forward(&self, x: &[&Value<T>]) -> Value<T> {
        let x: SmallVec<[Operand<'_, T>; 3]> = x.iter().map(|v| v.operand()).collect();
        self.eval(&x)
    }

    /// The op's name in error messages (its [`kind`](Op::kind), or a custom op's own name).
    pub(crate) fn name(&self) -> &str {
        match self {
            Op::Custom(op) => op.0.name(),
            op => op.kind(),
        }
    }
}

impl<T: Float> fmt::Debug for Op<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
