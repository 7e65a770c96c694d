//! `logsumexp`, `softmax` and `log_softmax`, stable for logits of any size: the largest logit of each lane is
//! subtracted first, as a constant (its derivative would cancel anyway), so `exp` never overflows and a gap of
//! thousands between logits still gives finite values and gradients.

use ndarray::Axis;

use crate::shape::{resolve_axis, Axes};
use crate::{Backend, Float, Var};

impl<'a, T: Float, B: Backend<T>> Var<'a, T, B> {
    /// `log Σ exp(x)` over `axes`, removed unless `keepdims` (`torch.logsumexp`), computed as
    /// `m + log Σ exp(x − m)` with `m` the lane's maximum. Its gradient is the softmax. Lanes whose maximum is
    /// infinite give that infinity (or NaN for `+∞` and `−∞` together), as in PyTorch.
    ///
    /// ```
    /// use autograd::Tape;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(ndarray::array![1000.0, 1000.0]);
    /// assert_eq!(x.logsumexp(.., false).scalar(), 1000.0 + 2f64.ln());
    /// ```
    ///
    /// # Panics
    /// When an axis is out of range or repeated.
    #[track_caller]
    pub fn logsumexp(self, axes: impl Into<Axes>, keepdims: bool) -> Self {
        let shape = self.shape();
        let axes = axes.into().resolve("logsumexp", &shape);
        let top = self.with_value(|v| {
            let mut top = v.to_owned();
            for &a in &axes {
                top = top
                    .fold_axis(Axis(a), T::neg_infinity(), |&m, &x| m.max(x))
                    .insert_axis(Axis(a));
            }
            top.mapv_into(|m| if m.is_finite() { m } else { T::zero() })
        });
        let top = self.constant_like(top);
        let lse = (self - top).exp().sum_axes(axes.as_slice(), true).log() + top;
        if keepdims {
            lse
        } else {
            let kept: Vec<usize> = (0..shape.len())
                .filter(|a| !axes.contains(a))
                .map(|a| shape[a])
                .collect();
            lse.reshape(&kept)
        }
    }

    /// The softmax along `axis` (negative from the end): `exp(x) / Σ exp(x)`, each lane summing to 1
    /// (`torch.softmax`).
    ///
    /// ```
    /// use autograd::Tape;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(ndarray::array![[0.0, 2f64.ln()]]);
    /// let p = x.softmax(-1).value();
    /// assert!((p[[0, 0]] - 1.0 / 3.0).abs() < 1e-15 && (p[[0, 1]] - 2.0 / 3.0).abs() < 1e-15);
    /// ```
    ///
    /// # Panics
    /// When `axis` is out of range or empty.
    #[track_caller]
    pub fn softmax(self, axis: isize) -> Self {
        self.log_softmax(axis).exp()
    }

    /// The log of the softmax along `axis`: `x − logsumexp(x)` (`torch.log_softmax`), finite however far apart
    /// the logits are.
    ///
    /// ```
    /// use autograd::Tape;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(ndarray::array![0.0, 1000.0]);
    /// assert_eq!(x.log_softmax(0).value(), ndarray::array![-1000.0, 0.0].into_dyn());
    /// ```
    ///
    /// # Panics
    /// When `axis` is out of range or empty.
    #[track_caller]
    pub fn log_softmax(self, axis: isize) -> Self {
        let axis = resolve_axis("log_softmax", axis, self.ndim()) as isize;
        self - self.logsumexp(axis, true)
    }
}
