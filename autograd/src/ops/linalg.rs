//! The matrix product, with NumPy's semantics: the primitive multiplies matrices or equally shaped stacks of
//! them; the `matmul` method adds and removes the axes of 1-D operands and broadcasts batch axes (so their
//! gradients are summed back by `broadcast_to`'s rule, in the central place). Its forward runs on the engine's
//! gemm kernel (`kernels/matmul.rs`), which takes any strides, so the transposes in the backward rule are free
//! on the eager backend (they are views).

use std::fmt;

use smallvec::smallvec;

use super::{InputGrads, Op, Primitive};
use crate::{kernels, Backend, Float, Operand, Value, Var};

/// The matrix product `a · b` of two 2-D operands, or of two stacks of matrices with the same batch axes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MatMul;

impl<T: Float> Primitive<T> for MatMul {
    const KINDS: &'static [&'static str] = &["matmul"];

    #[track_caller]
    fn forward(&self, x: &[Operand<'_, T>]) -> Value<T> {
        match (x[0].array(), x[1].array()) {
            (Some(a), Some(b)) => Value::from_array(kernels::matmul_dyn(a, b)),
            _ => panic!(
                "matmul: expected 2-D operands, got shapes {:?} and {:?}",
                x[0].shape(),
                x[1].shape()
            ),
        }
    }

    /// For `C = A · B`: `dA = g · Bᵀ`, `dB = Aᵀ · g`. The gradient of an operand stored transposed (as
    /// `w.t()` for a weight `w`) is computed as the transpose of a product, `dB = (gᵀ · A)ᵀ`, so that it comes
    /// out in that operand's layout and the transpose's rule hands `w` a row-major gradient without a copy.
    fn vjp<'a, B: Backend<T>>(
        &self,
        x: &[Var<'a, T, B>],
        _y: Var<'a, T, B>,
        g: Var<'a, T, B>,
        needs: &[bool],
    ) -> InputGrads<Var<'a, T, B>> {
        let (a, b) = (x[0], x[1]);
        smallvec![
            needs[0].then(|| if a.stored_transposed() {
                b.matmul(g.mt()).mt()
            } else {
                g.matmul(b.mt())
            }),
            needs[1].then(|| if b.stored_transposed() {
                g.mt().matmul(a).mt()
            } else {
                a.mt().matmul(g)
            }),
        ]
    }

    /// Bilinear: `dA · B + A · dB`.
    fn jvp<'a, B: Backend<T>>(
        &self,
        x: &[Var<'a, T, B>],
        _y: Var<'a, T, B>,
        dx: &[Option<Var<'a, T, B>>],
    ) -> Option<Var<'a, T, B>> {
        let (a, b) = (x[0], x[1]);
        let ta = dx[0].map(|da| da.matmul(b));
        let tb = dx[1].map(|db| a.matmul(db));
        match (ta, tb) {
            (Some(ta), Some(tb)) => Some(ta + tb),
            (ta, tb) => ta.or(tb),
        }
    }

    fn label(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("matmul")
    }
}

impl<'a, T: Float, B: Backend<T>> Var<'a, T, B> {
    /// The last two axes swapped (each matrix of a stack transposed), as PyTorch's `x.mT`.
    fn mt(self) -> Self {
        let n = self.ndim();
        self.transpose(n - 2, n - 1)
    }

    /// Whether the value's matrices are stored column by column (its last two axes swapped would be row-major,
    /// while it is not).
    fn stored_transposed(self) -> bool {
        self.backend().with_operand(self.id, |x| {
            x.array().is_some_and(|v| {
                let mut swapped = v.view();
                swapped.swap_axes(v.ndim() - 2, v.ndim() - 1);
                !v.is_standard_layout() && swapped.is_standard_layout()
            })
        })
    }
}

impl<'a, T: Float, B: Backend<T>> Var<'a, T, B> {
    /// The matrix product with NumPy's `matmul` semantics (PyTorch's `a @ b`): matrices multiply; a 1-D left
    /// operand is a row and a 1-D right operand a column, that axis removed from the result (two 1-D operands
    /// give their dot product); operands with more axes are stacks of matrices whose batch axes broadcast.
    ///
    /// ```
    /// use autograd::Tape;
    /// use ndarray::{array, Array3};
    /// let tape = Tape::<f64>::new();
    /// let a = tape.var(array![[1.0, 2.0], [3.0, 4.0]]);
    /// assert_eq!(a.matmul(a.t()).value(), array![[5.0, 11.0], [11.0, 25.0]].into_dyn());
    /// let v = tape.var(array![1.0, 1.0]);
    /// assert_eq!(a.matmul(v).value(), array![3.0, 7.0].into_dyn());
    /// let stack = tape.var(Array3::<f64>::ones((4, 3, 2)));
    /// assert_eq!(stack.matmul(a).shape(), [4, 3, 2]); // `a` broadcast over the batch
    /// ```
    ///
    /// # Panics
    /// When an operand is 0-d, the inner dimensions differ or the batch axes do not broadcast, e.g.
    /// `matmul: shapes [100, 784] and [50, 10] are incompatible`.
    #[track_caller]
    pub fn matmul(self, other: Self) -> Self {
        let (sa, sb) = (self.shape(), other.shape());
        let (na, nb) = (sa.len(), sb.len());
        if na == 0 || nb == 0 || sa[na - 1] != sb[nb.saturating_sub(2)] {
            panic!("matmul: shapes {sa:?} and {sb:?} are incompatible");
        }
        match (na, nb) {
            (1, 1) => (self * other).sum(),
            (1, _) => self.unsqueeze(0).matmul(other).squeeze(-2),
            (_, 1) => self.matmul(other.unsqueeze(1)).squeeze(-1),
            (2, 2) => self.apply2(Op::MatMul(MatMul), other),
            _ => {
                let (batch_a, batch_b) = (&sa[..na - 2], &sb[..nb - 2]);
                let batch = crate::shape::try_broadcast_shapes(batch_a, batch_b)
                    .unwrap_or_else(|| panic!("matmul: shapes {sa:?} and {sb:?} are incompatible"));
                let widen = |x: Self, own: &[usize], shape: &[usize]| {
                    if own == batch.as_slice() {
                        x
                    } else {
                        x.broadcast_to(&[batch.as_slice(), &shape[shape.len() - 2..]].concat())
                    }
                };
                let (a, b) = (widen(self, batch_a, &sa), widen(other, batch_b, &sb));
                a.apply2(Op::MatMul(MatMul), b)
            }
        }
    }

    /// The outer product of two 1-D values: `[m]` and `[n]` give `[m, n]` (`torch.outer`).
    ///
    /// ```
    /// use autograd::Tape;
    /// let tape = Tape::<f64>::new();
    /// let (a, b) = (tape.var(ndarray::array![1.0, 2.0]), tape.var(ndarray::array![3.0, 4.0, 5.0]));
    /// assert_eq!(a.outer(b).value(), ndarray::array![[3.0, 4.0, 5.0], [6.0, 8.0, 10.0]].into_dyn());
    /// ```
    ///
    /// # Panics
    /// When an operand is not 1-D.
    #[track_caller]
    pub fn outer(self, other: Self) -> Self {
        let (sa, sb) = (self.shape(), other.shape());
        if sa.len() != 1 || sb.len() != 1 {
            panic!("outer: expected 1-D operands, got shapes {sa:?} and {sb:?}");
        }
        self.unsqueeze(1) * other.unsqueeze(0)
    }
}
