//! The lecture's `functions.py` on plain arrays: the forward math shared by the manual layers and the fused
//! ops, so that the two cannot drift apart. (The composed layers compute the same things from tape
//! primitives, independently.)

use autograd::Float;
use ndarray::{Array2, ArrayView1, ArrayView2};

use crate::Labels;

/// `max(x, 0)`.
pub fn relu<T: Float>(x: T) -> T {
    x.max(T::zero())
}

/// The logistic sigmoid `1 / (1 + exp(-x))`.
///
/// ```
/// assert_eq!(nn::functions::sigmoid(0.0_f64), 0.5);
/// ```
pub fn sigmoid<T: Float>(x: T) -> T {
    T::one() / (T::one() + (-x).exp())
}

/// The affine map `x·W + b` of a batch `x` (`N × D`), with `W` (`D × M`) and `b` (`M`) broadcast over the rows.
///
/// # Panics
/// When the shapes do not fit, naming them.
#[track_caller]
pub fn affine<T: Float>(
    x: ArrayView2<'_, T>,
    w: ArrayView2<'_, T>,
    b: ArrayView1<'_, T>,
) -> Array2<T> {
    assert!(
        x.ncols() == w.nrows() && w.ncols() == b.len(),
        "affine: x {:?}, W {:?} and b {:?} do not fit (need N×D, D×M and M)",
        x.shape(),
        w.shape(),
        b.shape()
    );
    let mut y = autograd::matmul(&x, &w);
    y += &b;
    y
}

/// Row-wise softmax of scores `x` (`N × C`): each row is shifted by its own maximum before `exp`, so large
/// scores do not overflow.
///
/// ```
/// use ndarray::array;
/// let y = nn::functions::softmax(array![[0.0, 0.0], [1000.0, 1000.0]].view());
/// assert_eq!(y, array![[0.5, 0.5], [0.5, 0.5]]);
/// ```
pub fn softmax<T: Float>(x: ArrayView2<'_, T>) -> Array2<T> {
    let mut y = x.to_owned();
    for mut row in y.rows_mut() {
        let max = row.fold(T::neg_infinity(), |m, &v| m.max(v));
        row.mapv_inplace(|v| (v - max).exp());
        let sum = row.sum();
        row /= sum;
    }
    y
}

/// The mean cross-entropy `-Σ t·ln y / N` of probabilities `y` (`N × C`) against labels `t`.
///
/// Only the terms with `t ≠ 0` are summed (`0·ln 0 = 0`), so a probability that underflowed to 0 away from the
/// target does not turn the loss into NaN. For class indices this is `-Σᵢ ln y[i, tᵢ] / N`. Unlike the lecture's
/// `cross_entropy_error`, no `1e-7` is added inside the log: the value is the exact function whose gradient the
/// layers compute.
///
/// # Panics
/// When the labels do not fit `y` (see [`Labels::check`]).
#[track_caller]
pub fn cross_entropy<'l, T: Float>(y: ArrayView2<'_, T>, t: impl Into<Labels<'l, T>>) -> T {
    let t = t.into();
    t.check("cross_entropy", y.dim());
    let total = match t {
        Labels::OneHot(t) => y
            .iter()
            .zip(t.iter())
            .filter(|(_, &t)| t != T::zero())
            .map(|(&y, &t)| t * y.ln())
            .sum::<T>(),
        Labels::Indices(index) => index.iter().enumerate().map(|(i, &c)| y[[i, c]].ln()).sum(),
    };
    -total / T::lit(y.nrows() as f64)
}

/// The index of the largest element (the first one on ties), like NumPy's `argmax`; 0 for an empty or all-NaN
/// row.
pub fn argmax<T: Float>(row: ArrayView1<'_, T>) -> usize {
    let mut best = (0, T::neg_infinity());
    for (k, &v) in row.iter().enumerate() {
        if v > best.1 {
            best = (k, v);
        }
    }
    best.0
}
