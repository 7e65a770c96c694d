//! Running sums along an axis. The adjoint of a running sum is the running sum in the other direction, so one
//! struct with a direction serves both, and the rules stay one line each.

use std::fmt;

use ndarray::{Axis, Slice};
use smallvec::smallvec;

use super::{InputGrads, Op, Primitive};
use crate::shape::resolve_axis;
use crate::{Backend, Float, Operand, Value, Var};

/// The running sum along `axis`: element `i` is the sum of elements `0..=i` (or `i..` when `reverse`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CumSum {
    /// The axis summed along.
    pub axis: usize,
    /// Sum from the end of the axis towards its start.
    pub reverse: bool,
}

impl<T: Float> Primitive<T> for CumSum {
    const KINDS: &'static [&'static str] = &["cumsum"];

    #[track_caller]
    fn forward(&self, x: &[Operand<'_, T>]) -> Value<T> {
        let mut out = x[0].to_array();
        if self.axis >= out.ndim() {
            panic!(
                "cumsum: axis {} out of range for shape {:?}",
                self.axis,
                out.shape()
            );
        }
        let step = if self.reverse { -1 } else { 1 };
        out.slice_axis_mut(Axis(self.axis), Slice::new(0, None, step))
            .accumulate_axis_inplace(Axis(self.axis), |&before, here| *here += before);
        Value::from_array(out)
    }

    /// Each element feeds every later running sum: the gradient is the running sum of `g` taken backwards.
    fn vjp<'a, B: Backend<T>>(
        &self,
        _x: &[Var<'a, T, B>],
        _y: Var<'a, T, B>,
        g: Var<'a, T, B>,
        _needs: &[bool],
    ) -> InputGrads<Var<'a, T, B>> {
        let backwards = CumSum {
            reverse: !self.reverse,
            ..*self
        };
        smallvec![Some(g.apply(Op::CumSum(backwards)))]
    }

    linear_jvp!();

    fn label(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let direction = if self.reverse { ", reversed" } else { "" };
        write!(f, "cumsum(axis {}{direction})", self.axis)
    }
}

impl<'a, T: Float, B: Backend<T>> Var<'a, T, B> {
    /// The running sum along `axis` (negative counts from the end), as `torch.cumsum`.
    ///
    /// ```
    /// use autograd::Tape;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(ndarray::array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    /// assert_eq!(x.cumsum(-1).value(), ndarray::array![[1.0, 3.0, 6.0], [4.0, 9.0, 15.0]].into_dyn());
    /// ```
    ///
    /// # Panics
    /// When `axis` is out of range.
    #[track_caller]
    pub fn cumsum(self, axis: isize) -> Self {
        let axis = resolve_axis("cumsum", axis, self.ndim());
        self.apply(Op::CumSum(CumSum {
            axis,
            reverse: false,
        }))
    }
}
