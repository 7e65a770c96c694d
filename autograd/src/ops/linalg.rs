//! The matrix product. Its forward runs on the engine's gemm kernel (`kernels/matmul.rs`), which takes any
//! strides, so the transposes in the backward rule are free on the eager backend (they are views).

use std::fmt;

use smallvec::smallvec;

use super::{InputGrads, Op, Primitive};
use crate::{kernels, Backend, Float, Operand, Value, Var};

/// The matrix product `a · b` of two 2-D operands.
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

    /// For `C = A · B`: `dA = g · Bᵀ`, `dB = Aᵀ · g`.
    fn vjp<'a, B: Backend<T>>(
        &self,
        x: &[Var<'a, T, B>],
        _y: Var<'a, T, B>,
        g: Var<'a, T, B>,
        needs: &[bool],
    ) -> InputGrads<Var<'a, T, B>> {
        let (a, b) = (x[0], x[1]);
        smallvec![
            needs[0].then(|| g.matmul(b.t())),
            needs[1].then(|| a.t().matmul(g)),
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
    /// The matrix product of two 2-D values.
    ///
    /// ```
    /// use autograd::Tape;
    /// let tape = Tape::<f64>::new();
    /// let a = tape.var(ndarray::array![[1.0, 2.0], [3.0, 4.0]]);
    /// assert_eq!(a.matmul(a.t()).value(), ndarray::array![[5.0, 11.0], [11.0, 25.0]].into_dyn());
    /// ```
    ///
    /// # Panics
    /// When an operand is not 2-D or the inner dimensions differ, e.g.
    /// `matmul: shapes [100, 784] and [50, 10] are incompatible`.
    #[track_caller]
    pub fn matmul(self, other: Self) -> Self {
        self.apply2(Op::MatMul(MatMul), other)
    }
}
