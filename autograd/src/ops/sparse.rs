//! Products of a constant sparse matrix with a dense node: `A · x` and `Aᵀ · x`. Each is linear in `x`, and
//! each is the other's backward rule, so gradients of any order stay on these two ops.

use std::fmt;

use smallvec::smallvec;

use super::{InputGrads, Op, Primitive};
use crate::{Backend, Float, Operand, SparseMatrix, Value, Var};

/// `A · x` for a constant sparse `A` (or `Aᵀ · x` when `transposed`) and a dense matrix node `x`.
#[derive(Clone, Debug)]
pub struct SparseMatMul<T> {
    /// The constant sparse operand.
    pub matrix: SparseMatrix<T>,
    /// Whether the product is with the matrix's transpose.
    pub transposed: bool,
}

impl<T: Float> Primitive<T> for SparseMatMul<T> {
    const KINDS: &'static [&'static str] = &["sparse_matmul", "sparse_matmul_t"];

    fn kind(&self) -> &'static str {
        Self::KINDS[usize::from(self.transposed)]
    }

    #[track_caller]
    fn forward(&self, x: &[Operand<'_, T>]) -> Value<T> {
        x[0].with_view(|v| {
            let Ok(dense) = v.into_dimensionality::<ndarray::Ix2>() else {
                panic!(
                    "{}: expected a 2-D dense operand, got shape {:?}",
                    <Self as Primitive<T>>::kind(self),
                    x[0].shape()
                );
            };
            let product = if self.transposed {
                self.matrix.transpose_dot(&dense)
            } else {
                self.matrix.dot(&dense)
            };
            Value::from_array(product.into_dyn())
        })
    }

    /// For `y = A · x`: `dx = Aᵀ · g`; for `y = Aᵀ · x`: `dx = A · g`.
    fn vjp<'a, B: Backend<T>>(
        &self,
        _x: &[Var<'a, T, B>],
        _y: Var<'a, T, B>,
        g: Var<'a, T, B>,
        _needs: &[bool],
    ) -> InputGrads<Var<'a, T, B>> {
        smallvec![Some(g.apply(Op::SparseMatMul(SparseMatMul {
            matrix: self.matrix.clone(),
            transposed: !self.transposed,
        })))]
    }

    linear_jvp!();

    fn label(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (rows, cols) = self.matrix.shape();
        let t = if self.transposed { "ᵀ" } else { "" };
        write!(f, "sparse{t} {rows}×{cols} matmul")
    }
}

impl<T: Float> SparseMatrix<T> {
    /// The product `self · x` with a dense matrix node, as PyTorch's `torch.sparse.mm(a, x)`: only the stored
    /// entries are multiplied (see [`dot`](SparseMatrix::dot)), and the gradient flows to `x` (the sparse
    /// matrix is a constant). Gradients of any order work: the backward rule is
    /// [`transpose_matmul`](SparseMatrix::transpose_matmul).
    ///
    /// ```
    /// use autograd::{SparseMatrix, Tape};
    /// use ndarray::array;
    ///
    /// let a = SparseMatrix::from_dense(array![[0.0, 2.0], [1.0, 0.0], [0.0, 0.0]].view());
    /// let tape = Tape::<f64>::new();
    /// let w = tape.var(array![[1.0, -1.0], [3.0, 0.5]]);
    /// let y = a.matmul(w);
    /// assert_eq!(y.value(), array![[6.0, 1.0], [1.0, -1.0], [0.0, 0.0]].into_dyn());
    /// // d(Σ y)/dw = Aᵀ · 1: the column sums of A, repeated along the rows of w.
    /// assert_eq!(y.sum().backward()[w].view(), array![[1.0, 1.0], [2.0, 2.0]].into_dyn().view());
    /// ```
    ///
    /// # Panics
    /// If `x` is not a matrix with as many rows as `self` has columns:
    /// `sparse_matmul: shapes [3, 2] and [5, 4] are incompatible`.
    #[track_caller]
    pub fn matmul<'a, B: Backend<T>>(&self, x: Var<'a, T, B>) -> Var<'a, T, B> {
        self.product(x, false)
    }

    /// The product `selfᵀ · x` with a dense matrix node, without forming the transpose (PyTorch:
    /// `a.t() @ x`); the backward rule of [`matmul`](SparseMatrix::matmul), and its own backward rule is
    /// `matmul`.
    ///
    /// ```
    /// use autograd::{SparseMatrix, Tape};
    /// let a = SparseMatrix::from_rows(3, [vec![(2, 4.0)]]);
    /// let tape = Tape::<f64>::new();
    /// let g = tape.var(ndarray::array![[0.5]]);
    /// assert_eq!(a.transpose_matmul(g).value(), ndarray::array![[0.0], [0.0], [2.0]].into_dyn());
    /// ```
    ///
    /// # Panics
    /// If `x` is not a matrix with as many rows as `self`.
    #[track_caller]
    pub fn transpose_matmul<'a, B: Backend<T>>(&self, x: Var<'a, T, B>) -> Var<'a, T, B> {
        self.product(x, true)
    }

    #[track_caller]
    fn product<'a, B: Backend<T>>(&self, x: Var<'a, T, B>, transposed: bool) -> Var<'a, T, B> {
        let (rows, cols) = self.shape();
        let shape = x.shape();
        let inner = if transposed { rows } else { cols };
        if shape.len() != 2 || shape[0] != inner {
            let (name, t) = if transposed {
                ("sparse_matmul_t", " (transposed)")
            } else {
                ("sparse_matmul", "")
            };
            panic!(
                "{name}: shapes {:?}{t} and {shape:?} are incompatible",
                [rows, cols]
            );
        }
        x.apply(Op::SparseMatMul(SparseMatMul {
            matrix: self.clone(),
            transposed,
        }))
    }
}
