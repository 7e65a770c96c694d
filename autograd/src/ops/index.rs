//! Rows by index along axis 0, and their adjoint: rows added into a zero tensor at indices.

use std::fmt;
use std::rc::Rc;

use ndarray::{ArrayD, Axis};
use smallvec::smallvec;

use super::{InputGrads, Op, Primitive};
use crate::{Backend, Float, Operand, Value, Var};

/// The rows of the operand (along axis 0) at these indices; repeats allowed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TakeRows {
    /// The rows taken, in order.
    pub index: Rc<[usize]>,
}

impl<T: Float> Primitive<T> for TakeRows {
    const KINDS: &'static [&'static str] = &["take_rows"];

    #[track_caller]
    fn forward(&self, x: &[Operand<'_, T>]) -> Value<T> {
        check_rows("take_rows", x[0].shape(), &self.index);
        Value::from_array(x[0].with_view(|v| v.select(Axis(0), &self.index)))
    }

    /// Each row's gradient is added back at its index (repeats add up).
    fn vjp<'a, B: Backend<T>>(
        &self,
        x: &[Var<'a, T, B>],
        _y: Var<'a, T, B>,
        g: Var<'a, T, B>,
        _needs: &[bool],
    ) -> InputGrads<Var<'a, T, B>> {
        let rows = x[0].shape()[0];
        let index = self.index.clone();
        smallvec![Some(g.apply(Op::ScatterRows(ScatterRows { rows, index })))]
    }

    linear_jvp!();

    fn label(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("take_rows")
    }
}

/// A zero tensor with `rows` rows into which row `k` of the operand is added at row `index[k]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScatterRows {
    /// The rows of the result.
    pub rows: usize,
    /// The destination row of each operand row.
    pub index: Rc<[usize]>,
}

impl<T: Float> Primitive<T> for ScatterRows {
    const KINDS: &'static [&'static str] = &["scatter_rows"];

    #[track_caller]
    fn forward(&self, x: &[Operand<'_, T>]) -> Value<T> {
        let shape = x[0].shape();
        if shape.first() != Some(&self.index.len()) {
            panic!(
                "scatter_rows: operand of shape {shape:?} does not have {} rows",
                self.index.len()
            );
        }
        let mut out_shape = shape.to_vec();
        out_shape[0] = self.rows;
        check_rows("scatter_rows", &out_shape, &self.index);
        let mut out = ArrayD::zeros(out_shape);
        x[0].with_view(|v| {
            for (row, &dest) in v.outer_iter().zip(self.index.iter()) {
                let mut target = out.index_axis_mut(Axis(0), dest);
                target += &row;
            }
        });
        Value::from_array(out)
    }

    fn vjp<'a, B: Backend<T>>(
        &self,
        _x: &[Var<'a, T, B>],
        _y: Var<'a, T, B>,
        g: Var<'a, T, B>,
        _needs: &[bool],
    ) -> InputGrads<Var<'a, T, B>> {
        let index = self.index.clone();
        smallvec![Some(g.apply(Op::TakeRows(TakeRows { index })))]
    }

    linear_jvp!();

    fn label(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("scatter_rows")
    }
}

#[track_caller]
fn check_rows(op: &str, shape: &[usize], index: &[usize]) {
    let Some(&rows) = shape.first() else {
        panic!("{op}: operand must have at least one axis, got shape {shape:?}");
    };
    if let Some(bad) = index.iter().find(|&&i| i >= rows) {
        panic!("{op}: index {bad} out of range for {rows} rows (shape {shape:?})");
    }
}

impl<'a, T: Float, B: Backend<T>> Var<'a, T, B> {
    /// The rows (along axis 0) at `index`, e.g. a mini-batch drawn from a data set. Repeats are allowed; their
    /// gradients add up.
    ///
    /// ```
    /// use autograd::Tape;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(ndarray::array![[1.0], [2.0], [3.0]]);
    /// assert_eq!(x.take_rows(&[2, 0]).value(), ndarray::array![[3.0], [1.0]].into_dyn());
    /// ```
    ///
    /// # Panics
    /// When the value is 0-d or an index is out of range.
    #[track_caller]
    pub fn take_rows(self, index: &[usize]) -> Self {
        self.apply(Op::TakeRows(TakeRows {
            index: index.into(),
        }))
    }

    /// Zeros with `rows` rows, with row `k` of this value added into row `index[k]` (the adjoint of
    /// [`take_rows`](Var::take_rows)).
    ///
    /// # Panics
    /// When the value's first axis differs from `index`'s length, or an index is out of range.
    #[track_caller]
    pub fn scatter_rows(self, rows: usize, index: &[usize]) -> Self {
        let index = index.into();
        self.apply(Op::ScatterRows(ScatterRows { rows, index }))
    }
}
