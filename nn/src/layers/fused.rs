//! Each layer as one [`CustomOp`] node with the lecture's hand-derived backward rule.
//!
//! The forward passes reuse the array math of [`crate::functions`] (as the manual layers do). The backward
//! rules are arithmetic on [`Var`] handles generic over the [`Backend`], so run on arrays they are the fast
//! first-order rule and run on the tape they are differentiable again: every fused layer supports second derivatives wherever the maths has
//! them (ReLU's step is a constant).
//!
//! ```
//! use autograd::Tape;
//! use nn::layers::fused;
//!
//! let tape = Tape::<f64>::new();
//! let x = tape.var(0.0);
//! let y = fused::sigmoid(x); // one node: dx = dout · y · (1 − y)
//! assert_eq!(tape.len(), 2);
//! assert_eq!((y.scalar(), y.backward().scalar(x)), (0.5, 0.25));
//! ```

use autograd::{Backend, CustomOp, Float, Value, Var};
use ndarray::{ArrayD, ArrayView2, ArrayViewD, Axis, Ix2};

use crate::functions::{self, cross_entropy};
use crate::Labels;

/// ReLU: passes the upstream gradient where `x > 0`, 0 elsewhere.
pub fn relu<'t, T: Float>(x: Var<'t, T>) -> Var<'t, T> {
    x.custom(ReluOp, &[])
}

/// Sigmoid: `y = 1/(1 + e⁻ˣ)`, `dx = dout · y · (1 − y)`.
pub fn sigmoid<'t, T: Float>(x: Var<'t, T>) -> Var<'t, T> {
    x.custom(SigmoidOp, &[])
}

/// Affine: `y = x·W + b`, `dX = dY·Wᵀ`, `dW = Xᵀ·dY`, `db = Σ_axis0 dY`. The bias may have any shape that
/// broadcasts to `N × M` (`[M]`, `[1, M]`, …), as [`composed::affine`](crate::layers::composed::affine)
/// accepts; its gradient is summed back to that shape.
///
/// # Panics
/// When the shapes do not fit (`x` is `N × D`, `W` is `D × M`, `b` broadcasts to `N × M`).
#[track_caller]
pub fn affine<'t, T: Float>(x: Var<'t, T>, w: Var<'t, T>, b: Var<'t, T>) -> Var<'t, T> {
    x.custom(AffineOp, &[w, b])
}

/// Row-wise softmax of scores `x` (`N × C`): `dx = y ⊙ (dout − Σ_row dout ⊙ y)`.
///
/// # Panics
/// When `x` is not 2-D.
#[track_caller]
pub fn softmax<'t, T: Float>(x: Var<'t, T>) -> Var<'t, T> {
    x.custom(SoftmaxOp, &[])
}

/// Softmax-with-Loss: the mean cross-entropy of `softmax(x)` against `t`, with `dx = dout · (y − t) / N`.
///
/// # Panics
/// When `x` is not 2-D or the labels do not fit it (see [`Labels::check`]).
#[track_caller]
pub fn softmax_with_loss<'t, 'l, T: Float>(
    x: Var<'t, T>,
    t: impl Into<Labels<'l, T>>,
) -> Var<'t, T> {
    let t = t.into();
    let shape = x.shape();
    assert!(
        shape.len() == 2,
        "softmax_with_loss: scores of shape {shape:?} are not N × C"
    );
    t.check("softmax_with_loss", (shape[0], shape[1]));
    let t = Value::from_array(t.to_one_hot(shape[1]).into_dyn());
    x.custom(SoftmaxWithLossOp { t }, &[])
}

/// A 2-D view of an op's input, or a panic naming the op and the shape.
#[track_caller]
fn matrix<'a, T: Float>(op: &str, what: &str, x: &ArrayViewD<'a, T>) -> ArrayView2<'a, T> {
    x.clone()
        .into_dimensionality::<Ix2>()
        .unwrap_or_else(|_| panic!("{op}: {what} of shape {:?} is not 2-D", x.shape()))
}

/// The fused ReLU node (see [`relu`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct ReluOp;

impl<T: Float> CustomOp<T> for ReluOp {
    fn name(&self) -> &str {
        "ReLU"
    }

    fn forward(&self, x: &[ArrayViewD<'_, T>]) -> ArrayD<T> {
        x[0].mapv(functions::relu)
    }

    fn backward<'a, B: Backend<T>>(
        &self,
        x: &[Var<'a, T, B>],
        _y: Var<'a, T, B>,
        g: Var<'a, T, B>,
        _needs: &[bool],
    ) -> Vec<Option<Var<'a, T, B>>> {
        vec![Some(g.where_(x[0].gt(0), 0))]
    }
}

/// The fused Sigmoid node (see [`sigmoid`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct SigmoidOp;

impl<T: Float> CustomOp<T> for SigmoidOp {
    fn name(&self) -> &str {
        "Sigmoid"
    }

    fn forward(&self, x: &[ArrayViewD<'_, T>]) -> ArrayD<T> {
        x[0].mapv(functions::sigmoid)
    }

    fn backward<'a, B: Backend<T>>(
        &self,
        _x: &[Var<'a, T, B>],
        y: Var<'a, T, B>,
        g: Var<'a, T, B>,
        _needs: &[bool],
    ) -> Vec<Option<Var<'a, T, B>>> {
        vec![Some(g * y * (1 - y))]
    }
}

/// The fused Affine node (see [`affine`]); its inputs are `x`, `W`, `b`.
#[derive(Clone, Copy, Debug, Default)]
pub struct AffineOp;

impl<T: Float> CustomOp<T> for AffineOp {
    fn name(&self) -> &str {
        "Affine"
    }

    #[track_caller]
    fn forward(&self, inputs: &[ArrayViewD<'_, T>]) -> ArrayD<T> {
        let x = matrix("Affine", "x", &inputs[0]);
        let w = matrix("Affine", "W", &inputs[1]);
        let bias = &inputs[2];
        let out = ndarray::IxDyn(&[x.nrows(), w.ncols()]);
        let b = match bias.broadcast(out) {
            Some(b) if x.ncols() == w.nrows() => b,
            _ => panic!(
                "affine: x {:?}, W {:?} and b {:?} do not fit (need N×D, D×M and a bias that broadcasts to N×M)",
                x.shape(),
                w.shape(),
                bias.shape()
            ),
        };
        let mut y = autograd::matmul(&x, &w).into_dyn();
        y += &b;
        y
    }

    /// Only the gradients that are needed are computed: for a constant image batch, `dX` is skipped.
    fn backward<'a, B: Backend<T>>(
        &self,
        inputs: &[Var<'a, T, B>],
        _y: Var<'a, T, B>,
        g: Var<'a, T, B>,
        needs: &[bool],
    ) -> Vec<Option<Var<'a, T, B>>> {
        let (x, w, b) = (inputs[0], inputs[1], inputs[2]);
        vec![
            needs[0].then(|| g.matmul(w.t())),
            needs[1].then(|| x.t().matmul(g)),
            needs[2].then(|| g.sum_to(&b.shape())),
        ]
    }
}

/// The fused softmax node (see [`softmax`]); also how [`SoftmaxWithLossOp`] recomputes `y` in its backward
/// pass so that it stays differentiable.
#[derive(Clone, Copy, Debug, Default)]
pub struct SoftmaxOp;

impl<T: Float> CustomOp<T> for SoftmaxOp {
    fn name(&self) -> &str {
        "Softmax"
    }

    #[track_caller]
    fn forward(&self, x: &[ArrayViewD<'_, T>]) -> ArrayD<T> {
        functions::softmax(matrix("Softmax", "scores", &x[0])).into_dyn()
    }

    fn backward<'a, B: Backend<T>>(
        &self,
        _x: &[Var<'a, T, B>],
        y: Var<'a, T, B>,
        g: Var<'a, T, B>,
        _needs: &[bool],
    ) -> Vec<Option<Var<'a, T, B>>> {
        let row_dot = (g * y).sum_axis_keepdims(Axis(1));
        vec![Some(y * (g - row_dot))]
    }
}

/// The fused Softmax-with-Loss node (see [`softmax_with_loss`]), holding the labels as one-hot rows.
#[derive(Clone, Debug)]
pub struct SoftmaxWithLossOp<T: Float> {
    t: Value<T>,
}

impl<T: Float> CustomOp<T> for SoftmaxWithLossOp<T> {
    fn name(&self) -> &str {
        "SoftmaxWithLoss"
    }

    #[track_caller]
    fn forward(&self, x: &[ArrayViewD<'_, T>]) -> ArrayD<T> {
        let y = functions::softmax(matrix("SoftmaxWithLoss", "scores", &x[0]));
        let t = matrix("SoftmaxWithLoss", "labels", &self.t.view());
        ArrayD::from_elem(vec![], cross_entropy(y.view(), Labels::OneHot(t)))
    }

    /// `dx = dout · (y − t) / N`, with `y` recomputed by a [`SoftmaxOp`] node so that the rule can be
    /// differentiated again.
    fn backward<'a, B: Backend<T>>(
        &self,
        x: &[Var<'a, T, B>],
        _loss: Var<'a, T, B>,
        g: Var<'a, T, B>,
        _needs: &[bool],
    ) -> Vec<Option<Var<'a, T, B>>> {
        let y = x[0].custom(SoftmaxOp, &[]);
        let t = x[0].constant_like(self.t.clone());
        let n = x[0].shape()[0] as f64;
        vec![Some((y - t) * (g / n))]
    }
}
