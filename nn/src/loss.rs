//! Loss functions on the tape, as `torch.nn.functional` has them: each composed from autograd ops, so it is
//! differentiable to any order and stable for large logits (a logit gap of 1,000 gives a finite loss and
//! gradient, through `log_softmax` and `softplus`).
//!
//! ```
//! use autograd::Tape;
//! use nn::loss::{cross_entropy, Reduction};
//!
//! let tape = Tape::<f64>::new();
//! let logits = tape.var(ndarray::array![[0.0, 1000.0], [0.0, 0.0]]);
//! let loss = cross_entropy(logits, &[0, 1][..], Reduction::Mean);
//! assert_eq!(loss.scalar(), (1000.0 + 2f64.ln()) / 2.0);
//! assert!(loss.backward().get(logits).unwrap().iter().all(|g| g.is_finite()));
//! ```

use autograd::{Float, Var};
use ndarray::{ArrayD, Axis, IxDyn};

use crate::Labels;

/// How a loss over many elements becomes the result: their mean, their sum, or each on its own (PyTorch's
/// `reduction="mean" | "sum" | "none"`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Reduction {
    /// The mean over the examples.
    #[default]
    Mean,
    /// The sum over the examples.
    Sum,
    /// One loss per example, unreduced.
    None,
}

impl Reduction {
    fn apply<'t, T: Float>(self, losses: Var<'t, T>) -> Var<'t, T> {
        match self {
            Reduction::Mean => losses.mean(),
            Reduction::Sum => losses.sum(),
            Reduction::None => losses,
        }
    }
}

/// The target of a classification loss: a class index per example, or a probability distribution over the
/// classes per example (one-hot rows or soft labels), which is a constant.
#[derive(Clone, Debug, PartialEq)]
pub enum Target<T> {
    /// The class of each example: shape `[N]`, or `[N, d₁, …]` for logits `[N, C, d₁, …]`.
    Classes(ArrayD<usize>),
    /// The probability of each class: the logits' shape.
    Probabilities(ArrayD<T>),
}

impl<T> From<&[usize]> for Target<T> {
    fn from(classes: &[usize]) -> Self {
        Target::Classes(
            ArrayD::from_shape_vec(IxDyn(&[classes.len()]), classes.to_vec()).expect("1-D"),
        )
    }
}

impl<T> From<&Vec<usize>> for Target<T> {
    fn from(classes: &Vec<usize>) -> Self {
        Target::from(classes.as_slice())
    }
}

impl<T: Float> From<Labels<'_, T>> for Target<T> {
    fn from(labels: Labels<'_, T>) -> Self {
        match labels {
            Labels::Indices(classes) => Target::from(classes),
            Labels::OneHot(rows) => Target::Probabilities(rows.to_owned().into_dyn()),
        }
    }
}

/// The cross-entropy of `softmax(logits)` along axis 1 (the classes) against `target`
/// (`torch.nn.functional.cross_entropy`): `−log p[class]` per example for class indices, `−Σ t · log p` for
/// probabilities.
///
/// # Panics
/// When `logits` has fewer than two axes, or the target does not fit them (naming both shapes), or a class is
/// out of range.
#[track_caller]
pub fn cross_entropy<'t, T: Float>(
    logits: Var<'t, T>,
    target: impl Into<Target<T>>,
    reduction: Reduction,
) -> Var<'t, T> {
    nll_loss(log_softmax_of("cross_entropy", logits), target, reduction)
}

/// The negative log-likelihood of `log_probs` (classes along axis 1, e.g. from `log_softmax(1)`) at `target`
/// (`torch.nn.functional.nll_loss`; probabilities are also accepted, as `cross_entropy` does).
///
/// # Panics
/// When `log_probs` has fewer than two axes, or the target does not fit them, or a class is out of range.
#[track_caller]
pub fn nll_loss<'t, T: Float>(
    log_probs: Var<'t, T>,
    target: impl Into<Target<T>>,
    reduction: Reduction,
) -> Var<'t, T> {
    let shape = log_probs.shape();
    if shape.len() < 2 {
        panic!("nll_loss: log-probabilities of shape {shape:?} have no class axis (expected [N, C, …])");
    }
    let losses = match target.into() {
        Target::Classes(classes) => {
            let mut expected = shape.clone();
            expected.remove(1);
            if classes.shape() != expected.as_slice() {
                panic!(
                    "nll_loss: classes of shape {:?} for log-probabilities of shape {shape:?} (expected {expected:?})",
                    classes.shape()
                );
            }
            -log_probs
                .gather(1, &classes.insert_axis(Axis(1)))
                .squeeze(1)
        }
        Target::Probabilities(t) => {
            if t.shape() != shape.as_slice() {
                panic!(
                    "nll_loss: probabilities of shape {:?} for log-probabilities of shape {shape:?}",
                    t.shape()
                );
            }
            -(log_probs * log_probs.constant_like(t)).sum_axis(Axis(1))
        }
    };
    reduction.apply(losses)
}

/// The mean (or sum) of squared differences (`torch.nn.functional.mse_loss`); the shapes broadcast.
///
/// ```
/// use autograd::Tape;
/// use nn::loss::{mse_loss, Reduction};
/// let tape = Tape::<f64>::new();
/// let (y, t) = (tape.var(ndarray::array![1.0, 2.0]), tape.var(ndarray::array![0.0, 0.0]));
/// assert_eq!(mse_loss(y, t, Reduction::Mean).scalar(), 2.5);
/// ```
///
/// # Panics
/// When the shapes do not broadcast.
#[track_caller]
pub fn mse_loss<'t, T: Float>(
    prediction: Var<'t, T>,
    target: Var<'t, T>,
    reduction: Reduction,
) -> Var<'t, T> {
    reduction.apply((prediction - target).square())
}

/// The binary cross-entropy of `sigmoid(logits)` against targets in `[0, 1]`
/// (`torch.nn.functional.binary_cross_entropy_with_logits`), computed as `softplus(x) − x·t`, finite for any
/// logit.
///
/// ```
/// use autograd::Tape;
/// use nn::loss::{binary_cross_entropy_with_logits, Reduction};
/// let tape = Tape::<f64>::new();
/// let x = tape.var(ndarray::array![-1000.0, 0.0]);
/// let t = tape.var(ndarray::array![1.0, 0.0]);
/// assert_eq!(binary_cross_entropy_with_logits(x, t, Reduction::Sum).scalar(), 1000.0 + 2f64.ln());
/// ```
///
/// # Panics
/// When the shapes do not broadcast.
#[track_caller]
pub fn binary_cross_entropy_with_logits<'t, T: Float>(
    logits: Var<'t, T>,
    target: Var<'t, T>,
    reduction: Reduction,
) -> Var<'t, T> {
    reduction.apply(logits.softplus() - logits * target)
}

#[track_caller]
fn log_softmax_of<'t, T: Float>(op: &str, logits: Var<'t, T>) -> Var<'t, T> {
    let shape = logits.shape();
    if shape.len() < 2 {
        panic!("{op}: logits of shape {shape:?} have no class axis (expected [N, C, …])");
    }
    logits.log_softmax(1)
}
