//! Reductions over any set of axes, composed from the one-axis primitives.

use ndarray::{ArrayD, Axis};

use crate::shape::{numel, resolve_axis, Axes};
use crate::{Backend, Float, Var};

impl<'a, T: Float, B: Backend<T>> Var<'a, T, B> {
    /// The sum over `axes` (one, several, or `..` for all; negative from the end), which are removed unless
    /// `keepdims` (`torch.sum(x, dim, keepdim)`).
    ///
    /// ```
    /// use autograd::Tape;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(ndarray::Array3::<f64>::ones((2, 3, 4)));
    /// assert_eq!(x.sum_axes([0, 2], false).value(), ndarray::array![8.0, 8.0, 8.0].into_dyn());
    /// assert_eq!(x.sum_axes(-1, true).shape(), [2, 3, 1]);
    /// ```
    ///
    /// # Panics
    /// When an axis is out of range or repeated.
    #[track_caller]
    pub fn sum_axes(self, axes: impl Into<Axes>, keepdims: bool) -> Self {
        let shape = self.shape();
        let axes = axes.into().resolve("sum_axes", &shape);
        if axes.len() == shape.len() && !keepdims {
            return self.sum();
        }
        axes.iter().rev().fold(self, |x, &axis| {
            if keepdims {
                x.sum_axis_keepdims(Axis(axis))
            } else {
                x.sum_axis(Axis(axis))
            }
        })
    }

    /// The mean over `axes`, removed unless `keepdims` (`torch.mean(x, dim, keepdim)`).
    ///
    /// # Panics
    /// When an axis is out of range or repeated.
    #[track_caller]
    pub fn mean_axes(self, axes: impl Into<Axes>, keepdims: bool) -> Self {
        let axes = axes.into();
        let count = self.count("mean_axes", &axes);
        self.sum_axes(axes, keepdims) / T::lit(count as f64)
    }

    /// The maximum over `axes`, removed unless `keepdims` (`torch.amax`). All tied maxima of a lane share its
    /// gradient equally, however many axes the lane spans.
    ///
    /// ```
    /// use autograd::Tape;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(ndarray::array![[1.0, 5.0], [5.0, 2.0]]);
    /// let top = x.max_axes(.., false);
    /// assert_eq!(top.scalar(), 5.0);
    /// assert_eq!(top.backward().get(x).unwrap(), &ndarray::array![[0.0, 0.5], [0.5, 0.0]].into_dyn());
    /// ```
    ///
    /// # Panics
    /// When an axis is out of range, repeated or empty.
    #[track_caller]
    pub fn max_axes(self, axes: impl Into<Axes>, keepdims: bool) -> Self {
        let shape = self.shape();
        let axes = axes.into().resolve("max_axes", &shape);
        if let [axis] = axes[..] {
            return if keepdims {
                self.max_axis_keepdims(Axis(axis))
            } else {
                self.max_axis(Axis(axis))
            };
        }
        // The reduced axes moved last and merged into one, so that one lane holds all the ties.
        let kept: Vec<usize> = (0..shape.len()).filter(|a| !axes.contains(a)).collect();
        let order: Vec<usize> = kept.iter().chain(&axes).copied().collect();
        let mut merged: Vec<usize> = kept.iter().map(|&a| shape[a]).collect();
        merged.push(axes.iter().map(|&a| shape[a]).product());
        let top = self
            .permute(&order)
            .reshape(&merged)
            .max_axis(Axis(kept.len()));
        top.reshape(&reduced_shape(&shape, &axes, keepdims))
    }

    /// The minimum over `axes`, removed unless `keepdims` (`torch.amin`); ties share the gradient.
    ///
    /// # Panics
    /// When an axis is out of range, repeated or empty.
    #[track_caller]
    pub fn min_axes(self, axes: impl Into<Axes>, keepdims: bool) -> Self {
        -(-self).max_axes(axes, keepdims)
    }

    /// The largest element (a 0-d value); tied maxima share the gradient.
    ///
    /// # Panics
    /// When the value is empty.
    #[track_caller]
    pub fn max(self) -> Self {
        self.max_axes(.., false)
    }

    /// The smallest element (a 0-d value); tied minima share the gradient.
    ///
    /// # Panics
    /// When the value is empty.
    #[track_caller]
    pub fn min(self) -> Self {
        self.min_axes(.., false)
    }

    /// The variance over `axes`: the mean squared deviation, with the sum divided by `n − correction`
    /// (`torch.var(x, dim, correction, keepdim)`; 1 is the unbiased estimate, 0 the population variance).
    ///
    /// ```
    /// use autograd::Tape;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(ndarray::array![1.0, 2.0, 3.0, 4.0]);
    /// assert_eq!(x.var(.., 0, false).scalar(), 1.25);
    /// assert_eq!(x.var(.., 1, false).scalar(), 5.0 / 3.0);
    /// ```
    ///
    /// # Panics
    /// When an axis is out of range or repeated.
    #[track_caller]
    pub fn var(self, axes: impl Into<Axes>, correction: usize, keepdims: bool) -> Self {
        let axes = axes.into();
        let count = self.count("var", &axes);
        let deviation = self - self.mean_axes(axes.clone(), true);
        let squares = (deviation * deviation).sum_axes(axes, keepdims);
        squares / T::lit(count.saturating_sub(correction) as f64)
    }

    /// The standard deviation over `axes`: the square root of [`var`](Var::var) (`torch.std`).
    ///
    /// # Panics
    /// When an axis is out of range or repeated.
    #[track_caller]
    pub fn std(self, axes: impl Into<Axes>, correction: usize, keepdims: bool) -> Self {
        self.var(axes, correction, keepdims).sqrt()
    }

    /// The `p`-norm over `axes`, `(Σ |x|ᵖ)^(1/p)` (`torch.linalg.vector_norm(x, p, dim, keepdim)`); `p =
    /// ∞` is the largest magnitude. At a zero vector the gradient is zero (a subgradient, as in PyTorch), not
    /// the NaN that `√0`'s infinite slope times the zero slope of `x²` would give; so is every higher
    /// derivative there.
    ///
    /// ```
    /// use autograd::Tape;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(ndarray::array![3.0, -4.0]);
    /// assert_eq!(x.norm(2.0, .., false).scalar(), 5.0);
    /// assert_eq!(x.norm(1.0, .., false).scalar(), 7.0);
    /// assert_eq!(x.norm(f64::INFINITY, .., false).scalar(), 4.0);
    /// ```
    ///
    /// # Panics
    /// When `p` is not positive, or an axis is out of range or repeated.
    #[track_caller]
    pub fn norm(self, p: f64, axes: impl Into<Axes>, keepdims: bool) -> Self {
        if p.is_nan() || p <= 0.0 {
            panic!("norm: p must be positive, got {p}");
        }
        if p == f64::INFINITY {
            self.abs().max_axes(axes, keepdims)
        } else if p == 1.0 {
            self.abs().sum_axes(axes, keepdims)
        } else if p == 2.0 {
            root_away_from_zero(self.square().sum_axes(axes, keepdims), Var::sqrt)
        } else {
            let p = T::lit(p);
            let sum = self.abs().powf(p).sum_axes(axes, keepdims);
            root_away_from_zero(sum, |s| s.powf(p.recip()))
        }
    }

    /// The position of the largest element along `axis` (negative from the end), which is removed; the first
    /// one at ties, NaN counting as largest (`torch.argmax`). An array, not a node: it has no gradient.
    ///
    /// ```
    /// use autograd::Tape;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(ndarray::array![[1.0, 3.0, 2.0], [9.0, 0.0, 9.0]]);
    /// assert_eq!(x.argmax(1), ndarray::array![1, 0].into_dyn());
    /// ```
    ///
    /// # Panics
    /// When `axis` is out of range or empty.
    #[track_caller]
    pub fn argmax(self, axis: isize) -> ArrayD<usize> {
        self.arg_best("argmax", axis, |x, best| x > best)
    }

    /// The position of the smallest element along `axis`, which is removed; the first one at ties, NaN
    /// counting as smallest (`torch.argmin`). An array: it has no gradient.
    ///
    /// # Panics
    /// When `axis` is out of range or empty.
    #[track_caller]
    pub fn argmin(self, axis: isize) -> ArrayD<usize> {
        self.arg_best("argmin", axis, |x, best| x < best)
    }

    /// The position along `axis` of the first element that `beats` all before it (NaN beats everything).
    #[track_caller]
    fn arg_best(self, op: &str, axis: isize, beats: fn(T, T) -> bool) -> ArrayD<usize> {
        let shape = self.shape();
        let axis = resolve_axis(op, axis, shape.len());
        if shape[axis] == 0 {
            panic!("{op}: axis {axis} of shape {shape:?} is empty");
        }
        self.with_value(|v| {
            v.map_axis(Axis(axis), |lane| {
                let mut best = (0, lane[0]);
                for (i, &x) in lane.iter().enumerate().skip(1) {
                    if !best.1.is_nan() && (x.is_nan() || beats(x, best.1)) {
                        best = (i, x);
                    }
                }
                best.0
            })
        })
    }

    /// How many elements each lane over `axes` holds.
    #[track_caller]
    fn count(self, op: &str, axes: &Axes) -> usize {
        let shape = self.shape();
        let axes = axes.resolve(op, &shape);
        numel(&axes.iter().map(|&a| shape[a]).collect::<Vec<_>>())
    }
}

/// `shape` with `axes` removed, or set to 1 when `keepdims`.
fn reduced_shape(shape: &[usize], axes: &[usize], keepdims: bool) -> Vec<usize> {
    (0..shape.len())
        .filter_map(|a| match (axes.contains(&a), keepdims) {
            (false, _) => Some(shape[a]),
            (true, true) => Some(1),
            (true, false) => None,
        })
        .collect()
}

/// `root(sum)` where `sum` is positive and 0 where it is 0, with a zero gradient there: the root is taken of 1
/// in those places and the result replaced by 0, so no infinite slope enters the backward pass (the trick of
/// masking the input as well as the output, since masking the output alone still multiplies 0 by ∞).
#[track_caller]
fn root_away_from_zero<'a, T: Float, B: Backend<T>>(
    sum: Var<'a, T, B>,
    root: impl FnOnce(Var<'a, T, B>) -> Var<'a, T, B>,
) -> Var<'a, T, B> {
    let zero = sum.eq(0);
    root(sum.masked_fill(zero.clone(), 1)).masked_fill(zero, 0)
}
