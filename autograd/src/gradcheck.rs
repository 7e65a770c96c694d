//! Gradient checking: analytic gradients against central finite differences, in `f64`.
//!
//! Works for anything written with the engine — built-in ops, composed expressions, custom ops, and functions
//! that differentiate inside them (the finite-difference side records its evaluations on an ordinary tape, so
//! `backward_graph` works there too). For a function with a non-scalar output, both sides are contracted with
//! one fixed pseudo-random cotangent, which checks the whole vector–Jacobian product rather than a single sum.
//! [`gradgradcheck`] checks second derivatives the same way, [`jvpcheck`] forward mode.
//!
//! # Tolerances, against PyTorch's
//!
//! | | here | `torch.autograd.gradcheck` |
//! | --- | --- | --- |
//! | finite-difference step | [`DEFAULT_EPS`] = 1e-6, central | `eps=1e-6`, central |
//! | pass when, per element | [`GradCheck::passes`]: `\|a − n\| ≤ atol + rtol·\|n\|` | the same formula |
//! | default `atol`, `rtol` | [`DEFAULT_ATOL`] = 1e-5, [`DEFAULT_RTOL`] = 1e-3 | `atol=1e-05`, `rtol=0.001` |
//! | a stricter single number | [`GradCheck::max_rel_error`]: `\|a − n\| / max(\|a\|, \|n\|, 1)` | — |
//!
//! This project's own tests hold every primitive to `max_rel_error ≤ 1e-8` (first order and forward mode) and
//! `1e-6` (second order) — a hundred to ten thousand times stricter than PyTorch's defaults. For functions
//! whose value is large, the first-order bound is the finite differences' own rounding noise instead when
//! that is more (a few `|f|·ε/h`: about `1e-8` at `|f| = 10`).

use std::fmt;

use ndarray::ArrayD;

use crate::{Tape, Var};

/// The default finite-difference step, as PyTorch's.
pub const DEFAULT_EPS: f64 = 1e-6;
/// The default absolute tolerance of [`GradCheck::passes`], as PyTorch's.
pub const DEFAULT_ATOL: f64 = 1e-5;
/// The default relative tolerance of [`GradCheck::passes`], as PyTorch's.
pub const DEFAULT_RTOL: f64 = 1e-3;

/// Per-input result of a [`gradcheck()`].
#[derive(Clone, Debug)]
pub struct InputCheck {
    /// The gradient from the backward pass.
    pub analytic: ArrayD<f64>,
    /// The gradient from central differences.
    pub numeric: ArrayD<f64>,
    /// `max |analytic − numeric|` over the elements.
    pub max_abs: f64,
    /// `max |analytic − numeric| / max(|analytic|, |numeric|, 1)`: relative for large gradients, absolute for
    /// small ones (where finite differences carry absolute noise).
    pub max_rel: f64,
}

/// The result of a [`gradcheck()`]: one [`InputCheck`] per input.
#[derive(Clone, Debug)]
pub struct GradCheck {
    /// One entry per input, in order.
    pub inputs: Vec<InputCheck>,
}

impl GradCheck {
    /// The largest absolute error over all inputs.
    pub fn max_abs_error(&self) -> f64 {
        self.inputs.iter().map(|c| c.max_abs).fold(0.0, f64::max)
    }

    /// The largest relative error over all inputs (see [`InputCheck::max_rel`]).
    pub fn max_rel_error(&self) -> f64 {
        self.inputs.iter().map(|c| c.max_rel).fold(0.0, f64::max)
    }

    /// True when every element satisfies `|analytic − numeric| ≤ DEFAULT_ATOL + DEFAULT_RTOL · |numeric|`, PyTorch's
    /// criterion with its defaults (see [`passes_with`](GradCheck::passes_with)).
    ///
    /// ```
    /// let report = autograd::gradcheck(|v| v[0].tanh().sum(), &[ndarray::arr1(&[0.3, -1.2]).into_dyn()]);
    /// assert!(report.passes());
    /// ```
    pub fn passes(&self) -> bool {
        self.passes_with(DEFAULT_ATOL, DEFAULT_RTOL)
    }

    /// True when every element satisfies `|analytic − numeric| ≤ atol + rtol · |numeric|`.
    pub fn passes_with(&self, atol: f64, rtol: f64) -> bool {
        self.inputs.iter().all(|c| {
            c.analytic
                .iter()
                .zip(&c.numeric)
                .all(|(&a, &n)| (a - n).abs() <= atol + rtol * n.abs())
        })
    }

    /// Panics with the full report unless every relative error is at most `tol`.
    #[track_caller]
    pub fn assert_within(&self, tol: f64) {
        assert!(
            self.max_rel_error() <= tol,
            "gradient check failed (tolerance {tol:e}):\n{self}"
        );
    }
}

impl fmt::Display for GradCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (k, c) in self.inputs.iter().enumerate() {
            writeln!(
                f,
                "input {k} {:?}: max abs error {:.3e}, max rel error {:.3e}",
                c.analytic.shape(),
                c.max_abs,
                c.max_rel
            )?;
            if c.max_rel > 1e-6 {
                writeln!(f, "  analytic: {}\n  numeric:  {}", c.analytic, c.numeric)?;
            }
        }
        Ok(())
    }
}

/// Checks the gradients of `f` at `inputs` against central differences with step `1e-6`.
///
/// `f` receives the inputs as variables on a fresh `f64` tape and returns the output node.
///
/// ```
/// use autograd::gradcheck;
/// use ndarray::array;
/// let report = gradcheck(|v| (v[0] * v[1]).exp().sum(), &[
///     array![[0.1, 0.2], [0.3, 0.4]].into_dyn(),
///     array![0.5, -0.5].into_dyn(),          // broadcast over rows
/// ]);
/// assert!(report.max_rel_error() < 1e-8, "{report}");
/// ```
pub fn gradcheck<F>(f: F, inputs: &[ArrayD<f64>]) -> GradCheck
where
    F: for<'t> Fn(&[Var<'t, f64>]) -> Var<'t, f64>,
{
    gradcheck_with_step(f, inputs, DEFAULT_EPS)
}

/// [`gradcheck()`] with a chosen finite-difference step.
pub fn gradcheck_with_step<F>(f: F, inputs: &[ArrayD<f64>], eps: f64) -> GradCheck
where
    F: for<'t> Fn(&[Var<'t, f64>]) -> Var<'t, f64>,
{
    let tape = Tape::<f64>::new();
    let vars: Vec<Var<'_, f64>> = inputs.iter().map(|x| tape.var(x.clone())).collect();
    let out = f(&vars);
    let cotangent = fixed_cotangent(&out.shape(), 0);
    let grads = out.backward_with_seed(cotangent.clone());

    // The contracted output `sum(cotangent · f(inputs))`, on a tape that records (so that `f` may itself
    // differentiate), but never differentiated.
    let objective = |xs: &[ArrayD<f64>]| {
        let tape = Tape::<f64>::new();
        let vars: Vec<Var<'_, f64>> = xs.iter().map(|x| tape.var(x.clone())).collect();
        f(&vars).with_value(|y| (&y * &cotangent).sum())
    };

    let mut probe: Vec<ArrayD<f64>> = inputs.to_vec();
    let checks = (0..inputs.len())
        .map(|k| {
            let analytic = grads
                .get(vars[k])
                .map_or_else(|| ArrayD::zeros(inputs[k].raw_dim()), |g| g.to_owned());
            let mut numeric = ArrayD::zeros(inputs[k].raw_dim());
            for (idx, slot) in numeric.indexed_iter_mut() {
                let x0 = inputs[k][&idx];
                probe[k][&idx] = x0 + eps;
                let up = objective(&probe);
                probe[k][&idx] = x0 - eps;
                let down = objective(&probe);
                probe[k][&idx] = x0;
                *slot = (up - down) / (2.0 * eps);
            }
            compare(analytic, numeric)
        })
        .collect();
    GradCheck { inputs: checks }
}

/// Checks the second derivatives of `f` at `inputs`: [`gradcheck()`] of the function
/// `F(x, v) = Σₖ ⟨uₖ, ∂⟨v, f(x)⟩/∂xₖ⟩`, whose gradient with respect to `x` is a Hessian–vector product (the
/// backward pass differentiated again, through [`Var::backward_graph_with_seed`]) and with respect to the seed
/// `v` is a Jacobian–vector product. The `uₖ` and the starting `v` are fixed pseudo-random arrays, so every
/// second-order term of the backward rules is exercised, as PyTorch's `gradgradcheck` does. Inputs whose
/// gradient does not depend on anything contribute nothing.
///
/// ```
/// use autograd::gradcheck::gradgradcheck;
/// use ndarray::array;
/// let report = gradgradcheck(|v| (v[0] * v[1]).tanh(), &[
///     array![[0.1, 0.2], [0.3, 0.4]].into_dyn(),
///     array![0.5, -0.5].into_dyn(),
/// ]);
/// assert!(report.max_rel_error() < 1e-7, "{report}");
/// ```
pub fn gradgradcheck<F>(f: F, inputs: &[ArrayD<f64>]) -> GradCheck
where
    F: for<'t> Fn(&[Var<'t, f64>]) -> Var<'t, f64>,
{
    let out_shape = {
        let tape = Tape::<f64>::new();
        let vars: Vec<Var<'_, f64>> = inputs.iter().map(|x| tape.var(x.clone())).collect();
        f(&vars).shape()
    };
    let directions: Vec<ArrayD<f64>> = (0..inputs.len())
        .map(|k| fixed_cotangent(inputs[k].shape(), k as u64 + 1))
        .collect();
    let n = inputs.len();
    let mut all = inputs.to_vec();
    all.push(fixed_cotangent(&out_shape, 0));
    gradcheck(
        |vars| {
            let (xs, seed) = vars.split_at(n);
            let grads = f(xs).backward_graph_with_seed(seed[0]);
            let terms = xs.iter().zip(&directions).filter_map(|(&x, u)| {
                let g = grads.get(x)?;
                Some((g * x.constant_like(u.clone())).sum())
            });
            terms
                .reduce(|a, b| a + b)
                .unwrap_or_else(|| seed[0].constant_like(0.0))
        },
        &all,
    )
}

/// Checks forward mode: the tangent of `f`'s output along fixed pseudo-random directions in every input
/// (computed by the ops' forward-mode rules, see [`Tape::dual`]) against central differences along the same
/// directions, with step `1e-6`. The report has one entry, for the output's tangent.
///
/// `f` runs on a recording tape, so it may differentiate inside: the tangent of a gradient checks the
/// forward-mode rules of the nodes the backward pass records.
///
/// ```
/// use autograd::gradcheck::jvpcheck;
/// use ndarray::array;
/// let report = jvpcheck(|v| (v[0] * v[1]).exp(), &[array![[0.1, 0.2], [0.3, 0.4]].into_dyn(), array![0.5, -0.5].into_dyn()]);
/// assert!(report.max_rel_error() < 1e-8, "{report}");
/// ```
pub fn jvpcheck<F>(f: F, inputs: &[ArrayD<f64>]) -> GradCheck
where
    F: for<'t> Fn(&[Var<'t, f64>]) -> Var<'t, f64>,
{
    let eps = DEFAULT_EPS;
    let directions: Vec<ArrayD<f64>> = (0..inputs.len())
        .map(|k| fixed_cotangent(inputs[k].shape(), 100 + k as u64))
        .collect();
    let analytic = {
        let tape = Tape::<f64>::new();
        let vars: Vec<Var<'_, f64>> = inputs
            .iter()
            .zip(&directions)
            .map(|(x, t)| tape.dual(x.clone(), t.clone()))
            .collect();
        let y = f(&vars);
        y.tangent().unwrap_or_else(|| ArrayD::zeros(y.shape()))
    };
    let at = |step: f64| {
        let tape = Tape::<f64>::new();
        let vars: Vec<Var<'_, f64>> = inputs
            .iter()
            .zip(&directions)
            .map(|(x, t)| tape.var(x + &(t * step)))
            .collect();
        f(&vars).value()
    };
    let numeric = (at(eps) - at(-eps)) / (2.0 * eps);
    GradCheck {
        inputs: vec![compare(analytic, numeric)],
    }
}

fn compare(analytic: ArrayD<f64>, numeric: ArrayD<f64>) -> InputCheck {
    let (mut max_abs, mut max_rel) = (0.0f64, 0.0f64);
    for (&a, &n) in analytic.iter().zip(&numeric) {
        let err = (a - n).abs();
        if err.is_nan() {
            (max_abs, max_rel) = (f64::NAN, f64::NAN);
            break;
        }
        max_abs = max_abs.max(err);
        max_rel = max_rel.max(err / a.abs().max(n.abs()).max(1.0));
    }
    InputCheck {
        analytic,
        numeric,
        max_abs,
        max_rel,
    }
}

/// Deterministic values in [0.5, 1.5) (a fixed linear congruential sequence, one per `stream`), so a failing
/// check reproduces.
fn fixed_cotangent(shape: &[usize], stream: u64) -> ArrayD<f64> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15 ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03);
    ArrayD::from_shape_fn(shape, |_| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        0.5 + (state >> 11) as f64 / (1u64 << 53) as f64
    })
}
