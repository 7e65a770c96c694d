//! Ops that move elements without changing them: reshape, permute, broadcast. Each can also be a view of its
//! operand where the layout allows, which the eager backend uses so that `g.matmul(b.t())` copies nothing.

use std::fmt;
use std::rc::Rc;

use ndarray::{ArrayD, ArrayViewD, IxDyn, Order};
use smallvec::smallvec;

use super::{InputGrads, Op, Primitive};
use crate::shape::numel;
use crate::{Backend, Float, Operand, Value, Var};

/// The same elements in row-major order, in a new shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reshape {
    /// The new shape.
    pub shape: Rc<[usize]>,
}

impl Reshape {
    #[track_caller]
    fn check(&self, from: &[usize]) {
        if numel(&self.shape) != numel(from) {
            panic!("reshape: cannot reshape {from:?} into {:?}", self.shape);
        }
    }
}

impl<T: Float> Primitive<T> for Reshape {
    const KINDS: &'static [&'static str] = &["reshape"];

    #[track_caller]
    fn forward(&self, x: &[Operand<'_, T>]) -> Value<T> {
        self.check(x[0].shape());
        let shape = (IxDyn(&self.shape), Order::RowMajor);
        if let Operand::Arr(a) = x[0] {
            // A contiguous stored array: the result shares its buffer (no element is copied).
            if let Ok(shared) = a.clone().into_shape_with_order(shape.clone()) {
                return Value::from_shared(shared);
            }
        }
        let reshaped = x[0].with_view(|v| {
            v.to_shape(shape)
                .expect("element counts match")
                .into_owned()
        });
        Value::from_array(reshaped)
    }

    fn vjp<'a, B: Backend<T>>(
        &self,
        x: &[Var<'a, T, B>],
        _y: Var<'a, T, B>,
        g: Var<'a, T, B>,
        _needs: &[bool],
    ) -> InputGrads<Var<'a, T, B>> {
        smallvec![Some(g.reshape(&x[0].shape()))]
    }

    linear_jvp!();

    fn label(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "reshape{:?}", self.shape)
    }

    /// A view when the operand is contiguous in row-major order.
    #[track_caller]
    fn view<'s>(&self, x: ArrayViewD<'s, T>) -> Option<ArrayViewD<'s, T>> {
        self.check(x.shape());
        x.into_shape_with_order((IxDyn(&self.shape), Order::RowMajor))
            .ok()
    }
}

/// A reordering of axes: output axis `k` is input axis `axes[k]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Permute {
    /// The input axis of each output axis.
    pub axes: Rc<[usize]>,
}

impl Permute {
    #[track_caller]
    fn check(&self, shape: &[usize]) {
        let mut seen = vec![false; shape.len()];
        let valid = self.axes.len() == shape.len()
            && self
                .axes
                .iter()
                .all(|&a| a < seen.len() && !std::mem::replace(&mut seen[a], true));
        if !valid {
            panic!(
                "permute: axes {:?} are not a permutation of the axes of shape {shape:?}",
                self.axes
            );
        }
    }
}

impl<T: Float> Primitive<T> for Permute {
    const KINDS: &'static [&'static str] = &["permute"];

    #[track_caller]
    fn forward(&self, x: &[Operand<'_, T>]) -> Value<T> {
        self.check(x[0].shape());
        if let Operand::Arr(a) = x[0] {
            // A stored array: the result shares its buffer with the axes' strides permuted (no copy).
            return Value::from_shared(a.clone().permuted_axes(IxDyn(&self.axes)));
        }
        let permuted = x[0].with_view(|v| v.permuted_axes(IxDyn(&self.axes)).to_owned());
        Value::from_array(permuted)
    }

    /// The gradient of a permutation is the inverse permutation of the gradient.
    fn vjp<'a, B: Backend<T>>(
        &self,
        _x: &[Var<'a, T, B>],
        _y: Var<'a, T, B>,
        g: Var<'a, T, B>,
        _needs: &[bool],
    ) -> InputGrads<Var<'a, T, B>> {
        let mut inverse = vec![0; self.axes.len()];
        for (k, &a) in self.axes.iter().enumerate() {
            inverse[a] = k;
        }
        smallvec![Some(g.permute(&inverse))]
    }

    linear_jvp!();

    fn label(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "permute{:?}", self.axes)
    }

    #[track_caller]
    fn view<'s>(&self, x: ArrayViewD<'s, T>) -> Option<ArrayViewD<'s, T>> {
        self.check(x.shape());
        Some(x.permuted_axes(IxDyn(&self.axes)))
    }
}

/// Repetition along broadcast axes, to reach a shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BroadcastTo {
    /// The result's shape.
    pub shape: Rc<[usize]>,
}

impl<T: Float> Primitive<T> for BroadcastTo {
    const KINDS: &'static [&'static str] = &["broadcast_to"];

    #[track_caller]
    fn forward(&self, x: &[Operand<'_, T>]) -> Value<T> {
        let shape = &*self.shape;
        let out = match x[0].array() {
            None => ArrayD::from_elem(IxDyn(shape), x[0].num()),
            Some(a) => match a.broadcast(shape) {
                Some(view) => view.to_owned(),
                None => panic!(
                    "broadcast_to: shape {:?} cannot be broadcast to {shape:?}",
                    a.shape()
                ),
            },
        };
        Value::from_array(out)
    }

    fn vjp<'a, B: Backend<T>>(
        &self,
        x: &[Var<'a, T, B>],
        _y: Var<'a, T, B>,
        g: Var<'a, T, B>,
        _needs: &[bool],
    ) -> InputGrads<Var<'a, T, B>> {
        smallvec![Some(g.sum_to(&x[0].shape()))]
    }

    linear_jvp!();

    fn label(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "broadcast{:?}", self.shape)
    }
}

impl<'a, T: Float, B: Backend<T>> Var<'a, T, B> {
    /// The same elements (row-major order) in a new shape.
    ///
    /// ```
    /// use autograd::Tape;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(ndarray::array![1.0, 2.0, 3.0, 4.0]);
    /// assert_eq!(x.reshape(&[2, 2]).shape(), [2, 2]);
    /// ```
    ///
    /// # Panics
    /// When the element counts differ.
    #[track_caller]
    pub fn reshape(self, shape: &[usize]) -> Self {
        self.apply(Op::Reshape(Reshape {
            shape: shape.into(),
        }))
    }

    /// Reorders axes: output axis `k` is input axis `axes[k]` (NumPy's `transpose(axes)`).
    ///
    /// # Panics
    /// When `axes` is not a permutation of the node's axes.
    #[track_caller]
    pub fn permute(self, axes: &[usize]) -> Self {
        self.apply(Op::Permute(Permute { axes: axes.into() }))
    }

    /// Swaps axes `a` and `b` (PyTorch's `transpose(a, b)`, NumPy's `swapaxes`).
    ///
    /// ```
    /// use autograd::Tape;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(ndarray::Array3::<f64>::zeros((2, 3, 4)));
    /// assert_eq!(x.transpose(0, 2).shape(), [4, 3, 2]);
    /// ```
    ///
    /// # Panics
    /// When an axis is out of range.
    #[track_caller]
    pub fn transpose(self, a: usize, b: usize) -> Self {
        let ndim = self.ndim();
        if a >= ndim || b >= ndim {
            panic!("transpose: axes {a} and {b} out of range for {ndim} axes");
        }
        let mut axes: Vec<usize> = (0..ndim).collect();
        axes.swap(a, b);
        self.permute(&axes)
    }

    /// The matrix transpose: rows and columns of a 2-D value swapped. A 0-d or 1-D value is returned as it is
    /// (as PyTorch's `t()`); for more axes use [`transpose`](Var::transpose) or [`permute`](Var::permute).
    ///
    /// # Panics
    /// When the value has more than two axes.
    #[track_caller]
    pub fn t(self) -> Self {
        match self.ndim() {
            0 | 1 => self,
            2 => self.permute(&[1, 0]),
            n => panic!("t: expects at most 2 axes, got {n}; use transpose(a, b) or permute"),
        }
    }

    /// Repeats the value along broadcast axes to reach `shape`.
    ///
    /// # Panics
    /// When the value's shape does not broadcast to `shape`.
    #[track_caller]
    pub fn broadcast_to(self, shape: &[usize]) -> Self {
        self.apply(Op::BroadcastTo(BroadcastTo {
            shape: shape.into(),
        }))
    }
}
