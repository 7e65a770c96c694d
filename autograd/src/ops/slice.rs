//! Ranges along one axis and their joins: `slice` (every `step`-th element of `start..end`), its adjoint
//! `slice_scatter` (a slice placed into zeros), and `concat`, whose adjoint is slices. `narrow`, `split`, `chunk`,
//! `stack` and `pad` are built on these (`composed/shape.rs`).
//!
//! Positions are stored as `u32` so that [`Op`] stays at 32 bytes; the methods take `usize`.

use std::fmt;

use ndarray::{ArrayD, ArrayViewD, Axis, Slice as Range};
use smallvec::{smallvec, SmallVec};

use super::{InputGrads, Op, Primitive};
use crate::shape::resolve_axis;
use crate::{Backend, Float, Operand, Value, Var};

/// Every `step`-th element of `start..end` along `axis`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slice {
    axis: u32,
    start: u32,
    end: u32,
    step: u32,
}

impl Slice {
    /// The slice `start..end` by `step` along `axis` of `shape`, `start` and `end` clamped to the axis.
    #[track_caller]
    fn new(op: &str, shape: &[usize], axis: isize, start: usize, end: usize, step: usize) -> Self {
        let axis = resolve_axis(op, axis, shape.len());
        if step == 0 {
            panic!("{op}: step must be at least 1 (axis {axis} of shape {shape:?})");
        }
        let end = end.min(shape[axis]);
        let start = start.min(end);
        let narrow = |n: usize| {
            u32::try_from(n).unwrap_or_else(|_| panic!("{op}: {n} does not fit in 32 bits"))
        };
        Slice {
            axis: narrow(axis),
            start: narrow(start),
            end: narrow(end),
            step: narrow(step),
        }
    }

    fn range(&self) -> Range {
        Range::new(
            self.start as isize,
            Some(self.end as isize),
            self.step as isize,
        )
    }

    /// How many elements the slice takes.
    fn count(&self) -> usize {
        (self.end - self.start).div_ceil(self.step) as usize
    }

    #[track_caller]
    fn check(&self, op: &str, shape: &[usize]) {
        let axis = self.axis as usize;
        if axis >= shape.len() || shape[axis] < self.end as usize {
            panic!(
                "{op}: {}..{} of axis {axis} is out of range for shape {shape:?}",
                self.start, self.end
            );
        }
    }
}

impl<T: Float> Primitive<T> for Slice {
    const KINDS: &'static [&'static str] = &["slice"];

    #[track_caller]
    fn forward(&self, x: &[Operand<'_, T>]) -> Value<T> {
        self.check("slice", x[0].shape());
        Value::from_array(x[0].with_view(|v| {
            v.slice_axis(Axis(self.axis as usize), self.range())
                .to_owned()
        }))
    }

    /// The gradient goes back to the positions the slice took; the others get zero.
    fn vjp<'a, B: Backend<T>>(
        &self,
        x: &[Var<'a, T, B>],
        _y: Var<'a, T, B>,
        g: Var<'a, T, B>,
        _needs: &[bool],
    ) -> InputGrads<Var<'a, T, B>> {
        let len = x[0].shape()[self.axis as usize] as u32;
        smallvec![Some(
            g.apply(Op::SliceScatter(SliceScatter { slice: *self, len }))
        )]
    }

    linear_jvp!();

    fn label(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}:{}", self.start, self.end)?;
        if self.step != 1 {
            write!(f, ":{}", self.step)?;
        }
        write!(f, "] (axis {})", self.axis)
    }

    #[track_caller]
    fn view<'s>(&self, x: ArrayViewD<'s, T>) -> Option<ArrayViewD<'s, T>> {
        self.check("slice", x.shape());
        Some(x.slice_axis_move(Axis(self.axis as usize), self.range()))
    }
}

/// Zeros of length `len` along the slice's axis, with the operand placed at the slice's positions (the adjoint
/// of [`Slice`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SliceScatter {
    slice: Slice,
    len: u32,
}

impl<T: Float> Primitive<T> for SliceScatter {
    const KINDS: &'static [&'static str] = &["slice_scatter"];

    #[track_caller]
    fn forward(&self, x: &[Operand<'_, T>]) -> Value<T> {
        let (axis, shape) = (self.slice.axis as usize, x[0].shape());
        if axis >= shape.len() || shape[axis] != self.slice.count() || self.slice.end > self.len {
            panic!(
                "slice_scatter: shape {shape:?} does not fill {:?} of {} along axis {axis}",
                self.slice.range(),
                self.len
            );
        }
        let mut out_shape = shape.to_vec();
        out_shape[axis] = self.len as usize;
        let mut out = ArrayD::zeros(out_shape);
        x[0].with_view(|v| {
            out.slice_axis_mut(Axis(axis), self.slice.range())
                .assign(&v)
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
        smallvec![Some(g.apply(Op::Slice(self.slice)))]
    }

    linear_jvp!();

    fn label(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "into {} at ", self.len)?;
        Primitive::<T>::label(&self.slice, f)
    }
}

/// The operands joined along `axis`; every other axis must agree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Concat {
    /// The axis joined along.
    pub axis: usize,
}

impl<T: Float> Primitive<T> for Concat {
    const KINDS: &'static [&'static str] = &["concat"];

    #[track_caller]
    fn forward(&self, x: &[Operand<'_, T>]) -> Value<T> {
        let views: SmallVec<[ArrayViewD<'_, T>; 4]> = x
            .iter()
            .map(|xk| match xk.array() {
                Some(a) if self.axis < a.ndim() => a.view(),
                _ => self.fail(x),
            })
            .collect();
        match ndarray::concatenate(Axis(self.axis), &views) {
            Ok(joined) => Value::from_array(joined),
            Err(_) => self.fail(x),
        }
    }

    /// Each operand's gradient is its own range of `g`.
    fn vjp<'a, B: Backend<T>>(
        &self,
        x: &[Var<'a, T, B>],
        _y: Var<'a, T, B>,
        g: Var<'a, T, B>,
        needs: &[bool],
    ) -> InputGrads<Var<'a, T, B>> {
        let mut start = 0;
        x.iter()
            .zip(needs)
            .map(|(&xk, &need)| {
                let len = xk.shape()[self.axis];
                start += len;
                need.then(|| g.slice(self.axis as isize, start - len, start, 1))
            })
            .collect()
    }

    /// Linear: the tangents joined, with zeros for operands without one.
    fn jvp<'a, B: Backend<T>>(
        &self,
        x: &[Var<'a, T, B>],
        _y: Var<'a, T, B>,
        dx: &[Option<Var<'a, T, B>>],
    ) -> Option<Var<'a, T, B>> {
        dx.iter().flatten().next()?;
        let parts: Vec<Var<'a, T, B>> = x
            .iter()
            .zip(dx)
            .map(|(&xk, t)| t.unwrap_or_else(|| xk.constant_like(ArrayD::zeros(xk.shape()))))
            .collect();
        Some(parts[0].apply_n(Op::Concat(*self), &parts[1..]))
    }

    fn label(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "concat(axis {})", self.axis)
    }
}

impl Concat {
    #[track_caller]
    fn fail<T: Float>(&self, x: &[Operand<'_, T>]) -> ! {
        let shapes: Vec<&[usize]> = x.iter().map(|x| x.shape()).collect();
        panic!(
            "concat: shapes {shapes:?} cannot be joined along axis {}",
            self.axis
        )
    }
}

impl<'a, T: Float, B: Backend<T>> Var<'a, T, B> {
    /// Every `step`-th element of `start..end` along `axis` (negative counts from the end), as Python's
    /// `x[start:end:step]` on that axis: `start` and `end` are clamped to the axis' length.
    ///
    /// ```
    /// use autograd::Tape;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(ndarray::array![[0.0, 1.0, 2.0, 3.0, 4.0]]);
    /// assert_eq!(x.slice(1, 1, 5, 2).value(), ndarray::array![[1.0, 3.0]].into_dyn());
    /// ```
    ///
    /// # Panics
    /// When `axis` is out of range or `step` is 0.
    #[track_caller]
    pub fn slice(self, axis: isize, start: usize, end: usize, step: usize) -> Self {
        let slice = Slice::new("slice", &self.shape(), axis, start, end, step);
        self.apply(Op::Slice(slice))
    }

    /// This value with the elements that [`slice`](Var::slice)`(axis, start, end, step)` takes replaced by
    /// `src` (`torch.slice_scatter`).
    ///
    /// ```
    /// use autograd::Tape;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(ndarray::array![0.0, 0.0, 0.0, 0.0]);
    /// let src = tape.var(ndarray::array![1.0, 2.0]);
    /// assert_eq!(x.slice_scatter(src, 0, 0, 4, 2).value(), ndarray::array![1.0, 0.0, 2.0, 0.0].into_dyn());
    /// ```
    ///
    /// # Panics
    /// When `axis` is out of range, `step` is 0, or `src` does not have the slice's shape.
    #[track_caller]
    pub fn slice_scatter(
        self,
        src: Self,
        axis: isize,
        start: usize,
        end: usize,
        step: usize,
    ) -> Self {
        let shape = self.shape();
        let slice = Slice::new("slice_scatter", &shape, axis, start, end, step);
        let len = shape[slice.axis as usize] as u32;
        let scatter = SliceScatter { slice, len };
        let mut keep = ArrayD::from_elem(shape, T::one());
        keep.slice_axis_mut(Axis(slice.axis as usize), slice.range())
            .fill(T::zero());
        self * self.constant_like(keep) + src.apply(Op::SliceScatter(scatter))
    }

    /// The value with `before` and `after` zeros added along `axis` (a slice scatter into zeros: its gradient
    /// is a slice, a view on the eager backend).
    #[track_caller]
    pub(crate) fn pad_with_zeros(self, axis: usize, before: usize, after: usize) -> Self {
        let mut shape = self.shape();
        let len = shape[axis];
        shape[axis] = before + len + after;
        let slice = Slice::new("pad", &shape, axis as isize, before, before + len, 1);
        let scatter = SliceScatter {
            slice,
            len: shape[axis] as u32,
        };
        self.apply(Op::SliceScatter(scatter))
    }

    /// The operands joined along `axis` (negative counts from the end), as `torch.cat`; the other axes must
    /// agree.
    ///
    /// ```
    /// use autograd::{Tape, Var};
    /// let tape = Tape::<f64>::new();
    /// let a = tape.var(ndarray::array![[1.0, 2.0]]);
    /// let b = tape.var(ndarray::array![[3.0, 4.0]]);
    /// assert_eq!(Var::concat(&[a, b], 0).value(), ndarray::array![[1.0, 2.0], [3.0, 4.0]].into_dyn());
    /// ```
    ///
    /// # Panics
    /// When `parts` is empty, an axis is out of range, or the other axes differ.
    #[track_caller]
    pub fn concat(parts: &[Self], axis: isize) -> Self {
        let Some(first) = parts.first() else {
            panic!("concat: no operands");
        };
        let axis = resolve_axis("concat", axis, first.ndim());
        first.apply_n(Op::Concat(Concat { axis }), &parts[1..])
    }
}
