//! Layers composed from autograd primitives, node for node as the lecture draws their computational graphs.
//! Nothing here has a backward rule of its own: the gradients come from the chain rule over the primitives.
//!
//! ```
//! use autograd::Tape;
//! use nn::layers::composed;
//!
//! let tape = Tape::<f64>::new();
//! let x = tape.var(0.0);
//! let y = composed::sigmoid(x); // x → ×-1 → exp → +1 → 1/x
//! assert_eq!(tape.len(), 5);
//! assert_eq!((y.scalar(), y.backward().scalar(x)), (0.5, 0.25));
//! ```

use autograd::{Float, Var};
use ndarray::{ArrayD, Axis};

use crate::Labels;

/// ReLU, the `relu` primitive: passes `x` where it is positive, 0 elsewhere.
pub fn relu<'t, T: Float>(x: Var<'t, T>) -> Var<'t, T> {
    x.relu()
}

/// Sigmoid as the lecture's four nodes: `×-1`, `exp`, `+1`, `1/x`, recorded as the group `sigmoid` so a
/// drawing can frame them or collapse them into one box.
pub fn sigmoid<'t, T: Float>(x: Var<'t, T>) -> Var<'t, T> {
    x.tape()
        .group("sigmoid", || ((-x).exp() + T::one()).recip())
}

/// Affine, `x·W + b`: a `matmul` node and an `add` node broadcasting `b` over the batch. The bias gradient
/// `Σ_axis0 dY` falls out of that broadcast.
///
/// # Panics
/// When the shapes do not fit (from `matmul` or `add`).
#[track_caller]
pub fn affine<'t, T: Float>(x: Var<'t, T>, w: Var<'t, T>, b: Var<'t, T>) -> Var<'t, T> {
    x.matmul(w) + b
}

/// Row-wise softmax of scores `x` (`N × C`): each row's maximum is subtracted as a constant (computed without
/// recording a graph), then `exp`, the row sum (kept as `N × 1`) and a division.
///
/// # Panics
/// When `x` is not 2-D.
#[track_caller]
pub fn softmax<'t, T: Float>(x: Var<'t, T>) -> Var<'t, T> {
    assert!(
        x.ndim() == 2,
        "softmax: scores of shape {:?} are not N × C",
        x.shape()
    );
    let row_max = x.tape().no_grad(|| x.max_axis_keepdims(Axis(1)));
    let e = (x - row_max).exp();
    e / e.sum_axis_keepdims(Axis(1))
}

/// The mean cross-entropy of probabilities `y` (`N × C`) against labels `t`, as the lecture's graph:
/// `log`, `×t`, `sum`, `×-1`, `÷N`.
///
/// For class indices the target probabilities `y[i, tᵢ]` are picked first (a `select` with a constant mask and
/// a row sum), so only they are logged. For one-hot rows every entry is logged as in the lecture, so a
/// probability that underflowed to exactly 0 makes the loss NaN (`0·ln 0`); the fused and manual layers skip
/// zero targets instead.
///
/// # Panics
/// When the labels do not fit `y` (see [`Labels::check`]).
#[track_caller]
pub fn cross_entropy<'t, 'l, T: Float>(y: Var<'t, T>, t: impl Into<Labels<'l, T>>) -> Var<'t, T> {
    let t = t.into();
    let shape = y.shape();
    assert!(
        shape.len() == 2,
        "cross_entropy: probabilities of shape {shape:?} are not N × C"
    );
    let (n, classes) = (shape[0], shape[1]);
    t.check("cross_entropy", (n, classes));
    let tape = y.tape();
    let total = match t {
        Labels::OneHot(t) => (y.log() * tape.constant_named("t", t)).sum(),
        Labels::Indices(index) => {
            let mut mask = ArrayD::from_elem(shape.as_slice(), false);
            for (i, &c) in index.iter().enumerate() {
                mask[[i, c]] = true;
            }
            let picked = y.where_(&mask, tape.constant(T::zero()));
            picked.sum_axis(Axis(1)).log().sum()
        }
    };
    -total / T::lit(n as f64)
}

/// Softmax-with-Loss: [`softmax`] followed by [`cross_entropy`], the mean loss of scores `x` (`N × C`).
///
/// # Panics
/// As [`softmax`] and [`cross_entropy`] do.
#[track_caller]
pub fn softmax_with_loss<'t, 'l, T: Float>(
    x: Var<'t, T>,
    t: impl Into<Labels<'l, T>>,
) -> Var<'t, T> {
    let t = t.into();
    cross_entropy(softmax(x), t)
}
