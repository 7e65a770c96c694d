//! Reductions: `sum_to` (summing broadcast axes away, the adjoint of broadcasting), and sums and maxima over one
//! axis. Composed reductions (`sum`, `mean`, `mean_axis`) are methods built on these.

use std::fmt;
use std::rc::Rc;

use ndarray::{Axis, IxDyn};
use smallvec::smallvec;

use super::{InputGrads, Op, Primitive};
use crate::shape::numel;
use crate::{kernels, Backend, Float, Operand, Value, Var};

/// Sums over the axes that broadcasting to the operand's shape would add or stretch, down to `shape` (`[]`
/// sums everything).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SumTo {
    /// The result's shape.
    pub shape: Rc<[usize]>,
}

impl<T: Float> Primitive<T> for SumTo {
    const KINDS: &'static [&'static str] = &["sum_to"];

    #[track_caller]
    fn forward(&self, x: &[Operand<'_, T>]) -> Value<T> {
        match x[0].array() {
            Some(a) => Value::from_array(kernels::sum_to(a, &self.shape)),
            None if self.shape.is_empty() => x[0].to_value(),
            None => panic!("sum_to: shape {:?} does not broadcast to []", self.shape),
        }
    }

    fn vjp<'a, B: Backend<T>>(
        &self,
        x: &[Var<'a, T, B>],
        _y: Var<'a, T, B>,
        g: Var<'a, T, B>,
        _needs: &[bool],
    ) -> InputGrads<Var<'a, T, B>> {
        smallvec![Some(g.broadcast_to(&x[0].shape()))]
    }

    linear_jvp!();

    fn label(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.shape.len() {
            0 => f.write_str("sum"),
            _ => write!(f, "sum_to{:?}", self.shape),
        }
    }
}

/// A sum over one axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SumAxis {
    /// The axis summed over.
    pub axis: usize,
    /// Keep the axis, with length 1.
    pub keepdims: bool,
}

impl<T: Float> Primitive<T> for SumAxis {
    const KINDS: &'static [&'static str] = &["sum_axis"];

    #[track_caller]
    fn forward(&self, x: &[Operand<'_, T>]) -> Value<T> {
        let a = check_axis("sum_axis", x[0], self.axis);
        let s = kernels::sum_axis(a, self.axis);
        Value::from_array(if self.keepdims {
            s.insert_axis(Axis(self.axis))
        } else {
            s
        })
    }

    fn vjp<'a, B: Backend<T>>(
        &self,
        x: &[Var<'a, T, B>],
        _y: Var<'a, T, B>,
        g: Var<'a, T, B>,
        _needs: &[bool],
    ) -> InputGrads<Var<'a, T, B>> {
        smallvec![Some(spread(g, x[0], self.axis, self.keepdims))]
    }

    linear_jvp!();

    fn label(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sum(axis {})", self.axis)
    }
}

/// A maximum over one axis; ties share the gradient equally.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaxAxis {
    /// The axis reduced.
    pub axis: usize,
    /// Keep the axis, with length 1.
    pub keepdims: bool,
}

impl<T: Float> Primitive<T> for MaxAxis {
    const KINDS: &'static [&'static str] = &["max_axis"];

    #[track_caller]
    fn forward(&self, x: &[Operand<'_, T>]) -> Value<T> {
        let a = check_axis("max_axis", x[0], self.axis);
        if a.shape()[self.axis] == 0 {
            panic!(
                "max_axis: axis {} of shape {:?} is empty",
                self.axis,
                a.shape()
            );
        }
        let m = kernels::max_axis(a, self.axis, T::neg_infinity(), T::max);
        Value::from_array(if self.keepdims {
            m.insert_axis(Axis(self.axis))
        } else {
            m
        })
    }

    /// The gradient flows to the maximal elements of each lane, shared equally among ties.
    fn vjp<'a, B: Backend<T>>(
        &self,
        x: &[Var<'a, T, B>],
        y: Var<'a, T, B>,
        g: Var<'a, T, B>,
        _needs: &[bool],
    ) -> InputGrads<Var<'a, T, B>> {
        let shares = self.shares(x[0], y);
        smallvec![Some(spread(g, x[0], self.axis, self.keepdims) * shares)]
    }

    /// The tangent of each lane's maximum: the tangents of its maximal elements, averaged over ties.
    fn jvp<'a, B: Backend<T>>(
        &self,
        x: &[Var<'a, T, B>],
        y: Var<'a, T, B>,
        dx: &[Option<Var<'a, T, B>>],
    ) -> Option<Var<'a, T, B>> {
        let shares = self.shares(x[0], y);
        let sum = SumAxis {
            axis: self.axis,
            keepdims: self.keepdims,
        };
        Some((dx[0]? * shares).apply(Op::SumAxis(sum)))
    }

    fn label(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "max(axis {})", self.axis)
    }
}

impl MaxAxis {
    /// How each lane's gradient is shared among its maximal elements (a constant, at `x`'s shape).
    fn shares<'a, T: Float, B: Backend<T>>(
        &self,
        x: Var<'a, T, B>,
        y: Var<'a, T, B>,
    ) -> Var<'a, T, B> {
        let (axis, keepdims) = (self.axis, self.keepdims);
        let shares = x.zip_values(y, |x, y| {
            x.with_view(|x| {
                y.with_view(|top| {
                    let top = if keepdims {
                        top
                    } else {
                        top.insert_axis(Axis(axis))
                    };
                    kernels::tie_shares(&x, &top, axis)
                })
            })
        });
        x.constant_like(shares)
    }
}

/// The operand as an array with `axis` in range.
#[track_caller]
fn check_axis<'x, T: Float>(
    op: &str,
    x: Operand<'x, T>,
    axis: usize,
) -> &'x ndarray::ArrayRef<T, IxDyn> {
    match x.array() {
        Some(a) if axis < a.ndim() => a,
        _ => panic!("{op}: axis {axis} out of range for shape {:?}", x.shape()),
    }
}

/// A reduction's gradient `g` spread back over the reduced axis of `x` (re-inserted when it was dropped).
fn spread<'a, T: Float, B: Backend<T>>(
    g: Var<'a, T, B>,
    x: Var<'a, T, B>,
    axis: usize,
    keepdims: bool,
) -> Var<'a, T, B> {
    let shape = x.shape();
    let g = if keepdims {
        g
    } else {
        let mut kept = shape.clone();
        kept[axis] = 1;
        g.reshape(&kept)
    };
    g.broadcast_to(&shape)
}

impl<'a, T: Float, B: Backend<T>> Var<'a, T, B> {
    /// Sums over broadcast axes down to `shape` (the adjoint of [`broadcast_to`](Var::broadcast_to)).
    ///
    /// ```
    /// use autograd::Tape;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(ndarray::array![[1.0, 2.0], [3.0, 4.0]]);
    /// assert_eq!(x.sum_to(&[1, 2]).value(), ndarray::array![[4.0, 6.0]].into_dyn());
    /// ```
    ///
    /// # Panics
    /// When `shape` does not broadcast to the node's shape.
    #[track_caller]
    pub fn sum_to(self, shape: &[usize]) -> Self {
        self.apply(Op::SumTo(SumTo {
            shape: shape.into(),
        }))
    }

    /// The sum of all elements (a 0-d value).
    #[track_caller]
    pub fn sum(self) -> Self {
        self.sum_to(&[])
    }

    /// The mean of all elements (a 0-d value).
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
        self.apply(Op::SumAxis(SumAxis {
            axis: axis.index(),
            keepdims: false,
        }))
    }

    /// Sum over `axis`, kept with length 1 (so the result broadcasts against the input).
    ///
    /// # Panics
    /// When `axis` is out of range.
    #[track_caller]
    pub fn sum_axis_keepdims(self, axis: Axis) -> Self {
        self.apply(Op::SumAxis(SumAxis {
            axis: axis.index(),
            keepdims: true,
        }))
    }

    /// Mean over `axis`, which is removed.
    ///
    /// # Panics
    /// When `axis` is out of range.
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
        self.apply(Op::MaxAxis(MaxAxis {
            axis: axis.index(),
            keepdims: false,
        }))
    }

    /// Maximum over `axis`, kept with length 1.
    ///
    /// # Panics
    /// When `axis` is out of range or empty.
    #[track_caller]
    pub fn max_axis_keepdims(self, axis: Axis) -> Self {
        self.apply(Op::MaxAxis(MaxAxis {
            axis: axis.index(),
            keepdims: true,
        }))
    }
}
