//! Helpers shared by the integration tests: seeded random arrays, finite differences and comparisons.
//!
//! Each test file uses a different subset, hence the `dead_code` allowance.
#![allow(dead_code)]

pub mod cases;

use autograd::{gradcheck, Backend, CustomOp, Float, GradCheck, Var};
use ndarray::{ArrayD, ArrayViewD, Axis, IxDyn, Zip};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};

/// A reproducible random number generator.
pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// Standard normal entries.
pub fn normal(rng: &mut StdRng, shape: &[usize]) -> ArrayD<f64> {
    let dist = Normal::new(0.0, 1.0).expect("valid normal");
    ArrayD::from_shape_fn(IxDyn(shape), |_| dist.sample(rng))
}

/// Uniform entries in `[lo, hi)`.
pub fn uniform(rng: &mut StdRng, shape: &[usize], lo: f64, hi: f64) -> ArrayD<f64> {
    ArrayD::from_shape_fn(IxDyn(shape), |_| rng.random_range(lo..hi))
}

/// Entries with a random sign and magnitude in `[min_abs, max_abs)`: away from kinks at 0.
pub fn away_from_zero(
    rng: &mut StdRng,
    shape: &[usize],
    min_abs: f64,
    max_abs: f64,
) -> ArrayD<f64> {
    ArrayD::from_shape_fn(IxDyn(shape), |_| {
        let m = rng.random_range(min_abs..max_abs);
        if rng.random_bool(0.5) {
            m
        } else {
            -m
        }
    })
}

/// Like [`away_from_zero`], but with both signs present whenever there are two or more entries (a positive
/// first entry, a negative second one), so that both branches of a kink are exercised.
pub fn mixed_signs(rng: &mut StdRng, shape: &[usize], min_abs: f64, max_abs: f64) -> ArrayD<f64> {
    let mut x = away_from_zero(rng, shape, min_abs, max_abs);
    for (k, v) in x.iter_mut().take(2).enumerate() {
        *v = if k == 0 { v.abs() } else { -v.abs() };
    }
    x
}

/// Entries whose pairwise differences are all at least `gap` (a shuffled grid with a little jitter), so that
/// maxima are unique and stay unique under a finite-difference step.
pub fn distinct(rng: &mut StdRng, shape: &[usize], gap: f64) -> ArrayD<f64> {
    let n: usize = shape.iter().product();
    let mut values: Vec<f64> = (0..n)
        .map(|k| (k as f64 - n as f64 / 2.0) * 2.0 * gap + rng.random_range(0.0..gap / 2.0))
        .collect();
    for k in (1..n).rev() {
        values.swap(k, rng.random_range(0..=k));
    }
    ArrayD::from_shape_vec(IxDyn(shape), values).expect("shape matches")
}

/// Two arrays of the given (broadcast-compatible) shapes whose broadcast pairs all differ by more than `gap`,
/// so `maximum`/`minimum` never meet a tie near the evaluation point. When the broadcast shape has two or more
/// elements, each operand is the larger one somewhere (so both receive some gradient).
pub fn separated_pair(
    rng: &mut StdRng,
    a_shape: &[usize],
    b_shape: &[usize],
    gap: f64,
) -> (ArrayD<f64>, ArrayD<f64>) {
    loop {
        let a = uniform(rng, a_shape, -2.0, 2.0);
        let b = uniform(rng, b_shape, -2.0, 2.0);
        let shape = broadcast_shape(a_shape, b_shape);
        let (av, bv) = (
            a.broadcast(shape.clone()).unwrap(),
            b.broadcast(shape).unwrap(),
        );
        let (mut ok, mut a_wins, mut b_wins) = (true, false, false);
        Zip::from(&av).and(&bv).for_each(|&x, &y| {
            ok &= (x - y).abs() > gap;
            a_wins |= x > y;
            b_wins |= y > x;
        });
        if ok && (av.len() < 2 || a_wins && b_wins) {
            return (a, b);
        }
    }
}

/// NumPy's broadcast shape, computed independently of the engine.
pub fn broadcast_shape(a: &[usize], b: &[usize]) -> Vec<usize> {
    let rank = a.len().max(b.len());
    let dim = |s: &[usize], k: usize| {
        if k + s.len() < rank {
            1
        } else {
            s[k + s.len() - rank]
        }
    };
    (0..rank)
        .map(|k| {
            let (x, y) = (dim(a, k), dim(b, k));
            assert!(
                x == y || x == 1 || y == 1,
                "{a:?} and {b:?} do not broadcast"
            );
            x.max(y)
        })
        .collect()
}

/// The index into an operand of shape `shape` that output index `out` reads under broadcasting.
pub fn broadcast_source(out: &[usize], shape: &[usize]) -> Vec<usize> {
    let lead = out.len() - shape.len();
    shape
        .iter()
        .enumerate()
        .map(|(k, &d)| if d == 1 { 0 } else { out[lead + k] })
        .collect()
}

/// Every multi-index of `shape` in row-major order (one empty index for a 0-d shape).
pub fn indices(shape: &[usize]) -> Vec<Vec<usize>> {
    let mut out = vec![vec![]];
    for &d in shape {
        out = out
            .into_iter()
            .flat_map(|prefix| {
                (0..d).map(move |i| {
                    let mut p = prefix.clone();
                    p.push(i);
                    p
                })
            })
            .collect();
    }
    out
}

/// Central-difference gradient of a scalar function with respect to input `k`.
pub fn numeric_grad(
    f: impl Fn(&[ArrayD<f64>]) -> f64,
    inputs: &[ArrayD<f64>],
    k: usize,
    eps: f64,
) -> ArrayD<f64> {
    let mut probe = inputs.to_vec();
    let mut grad = ArrayD::zeros(inputs[k].raw_dim());
    for (idx, slot) in grad.indexed_iter_mut() {
        let x0 = inputs[k][&idx];
        probe[k][&idx] = x0 + eps;
        let up = f(&probe);
        probe[k][&idx] = x0 - eps;
        let down = f(&probe);
        probe[k][&idx] = x0;
        *slot = (up - down) / (2.0 * eps);
    }
    grad
}

/// `max |a − b| / max(max |b|, floor)`: the error of `a` relative to the size of the reference `b`.
pub fn rel_error(a: &ArrayViewD<'_, f64>, b: &ArrayViewD<'_, f64>, floor: f64) -> f64 {
    assert_eq!(a.shape(), b.shape(), "shapes differ");
    let scale = b.iter().fold(floor, |m, x| m.max(x.abs()));
    let diff = Zip::from(a)
        .and(b)
        .fold(0.0f64, |m, x, y| m.max((x - y).abs()));
    diff / scale
}

/// Asserts equal shapes and `|actual − expected| ≤ tol · max(1, |expected|)` element-wise.
#[track_caller]
pub fn assert_close(actual: &ArrayViewD<'_, f64>, expected: &ArrayViewD<'_, f64>, tol: f64) {
    assert_eq!(actual.shape(), expected.shape(), "shapes differ");
    Zip::from(actual).and(expected).for_each(|&a, &e| {
        assert!(
            (a - e).abs() <= tol * e.abs().max(1.0),
            "{a} != {e} (tol {tol:e})\nactual:\n{actual}\nexpected:\n{expected}"
        );
    });
}

/// Asserts `|a − b| ≤ tol` for numbers.
#[track_caller]
pub fn assert_near(a: f64, b: f64, tol: f64) {
    assert!((a - b).abs() <= tol, "{a} != {b} (tol {tol:e})");
}

/// Runs [`gradcheck`] and asserts that it passes within `tol` (or within the rounding noise of the finite
/// differences, if `f` is so large that this is more; see [`rounding_noise`]) and that it is not vacuous:
/// every input has a numerically non-zero gradient, so a missing or zeroed analytic gradient would fail.
#[track_caller]
pub fn check<F>(f: F, inputs: &[ArrayD<f64>], tol: f64) -> GradCheck
where
    F: for<'t> Fn(&[Var<'t, f64>]) -> Var<'t, f64>,
{
    let noise = rounding_noise(&f, inputs);
    let report = gradcheck(f, inputs);
    report.assert_within(tol.max(noise));
    for (k, c) in report.inputs.iter().enumerate() {
        assert!(
            c.numeric.iter().any(|g| g.abs() > 1e-6),
            "input {k} has a zero numeric gradient: the check would be vacuous\n{report}"
        );
    }
    report
}

/// How far a central difference of `f` at `inputs` can be off through rounding alone: each of its two
/// evaluations is exact to a few units of `|f|·ε`, so their difference over `2h` is exact to a few `|f|·ε/h`
/// (`|f|` taken as the sum of the output's magnitudes, which bounds its contraction with the check's
/// cotangent). About `1e-10` for outputs near 1, so only large outputs loosen a `1e-8` tolerance: `Σ y²` over
/// a batched product's output, around 60, differs from its exact difference quotient by up to `1.3e-8`.
pub fn rounding_noise<F>(f: &F, inputs: &[ArrayD<f64>]) -> f64
where
    F: for<'t> Fn(&[Var<'t, f64>]) -> Var<'t, f64>,
{
    const UNITS: f64 = 4.0;
    let tape = autograd::Tape::<f64>::new();
    let vars: Vec<Var<'_, f64>> = inputs.iter().map(|x| tape.var(x.clone())).collect();
    let size = f(&vars).with_value(|y| y.iter().map(|v| v.abs()).sum::<f64>());
    UNITS * size * f64::EPSILON / autograd::gradcheck::DEFAULT_EPS
}

/// Mean softmax cross-entropy of `logits` (N×C) against one-hot `targets`, from primitives only, with the
/// max-shift for stability: `mean_n( logsumexp(z_n) − z_n·t_n )`.
pub fn softmax_cross_entropy<'t>(logits: Var<'t, f64>, targets: Var<'t, f64>) -> Var<'t, f64> {
    let shifted = logits - logits.max_axis_keepdims(Axis(1));
    let log_z = shifted.exp().sum_axis_keepdims(Axis(1)).log();
    let log_probs = shifted - log_z;
    -(log_probs * targets).sum_axis(Axis(1)).mean()
}

/// One-hot rows for `labels` over `classes` classes.
pub fn one_hot(labels: &[usize], classes: usize) -> ArrayD<f64> {
    ArrayD::from_shape_fn(IxDyn(&[labels.len(), classes]), |i| {
        if labels[i[0]] == i[1] {
            1.0
        } else {
            0.0
        }
    })
}

/// A custom op for the tests: `sqrt(a² + b²)` element-wise (same shapes) as one node, with `da = g·a/y` and
/// `db = g·b/y` written with `Var` operators, so it is differentiable twice.
pub struct Hypot;

impl<T: Float> CustomOp<T> for Hypot {
    fn name(&self) -> &str {
        "hypot"
    }

    fn forward(&self, x: &[ArrayViewD<'_, T>]) -> ArrayD<T> {
        Zip::from(&x[0]).and(&x[1]).map_collect(|&a, &b| a.hypot(b))
    }

    fn backward<'a, B: Backend<T>>(
        &self,
        x: &[Var<'a, T, B>],
        y: Var<'a, T, B>,
        g: Var<'a, T, B>,
        needs: &[bool],
    ) -> Vec<Option<Var<'a, T, B>>> {
        let g_over_y = g / y;
        vec![
            needs[0].then(|| g_over_y * x[0]),
            needs[1].then(|| g_over_y * x[1]),
        ]
    }
}

/// The lecture's apple shopping graph: 2 apples at 100 each, tax 1.1 (`price` is named "price").
pub struct Apple<'t> {
    pub apple: Var<'t, f64>,
    pub apple_num: Var<'t, f64>,
    pub tax: Var<'t, f64>,
    pub apple_price: Var<'t, f64>,
    pub price: Var<'t, f64>,
}

/// Records [`Apple`] on `tape`, with the calls `examples/apple.rs` makes.
pub fn apple(tape: &autograd::Tape<f64>) -> Apple<'_> {
    let apple = tape.var_named("apple", 100.0);
    let apple_num = tape.var_named("apple_num", 2.0);
    let tax = tape.var_named("tax", 1.1);
    let apple_price = apple * apple_num;
    let price = (apple_price * tax).set_name("price");
    Apple {
        apple,
        apple_num,
        tax,
        apple_price,
        price,
    }
}

/// The lecture's apples-and-oranges graph: 2 apples at 100, 3 oranges at 150, tax 1.1.
pub struct AppleOrange<'t> {
    pub apple: Var<'t, f64>,
    pub apple_num: Var<'t, f64>,
    pub orange: Var<'t, f64>,
    pub orange_num: Var<'t, f64>,
    pub tax: Var<'t, f64>,
    pub apple_price: Var<'t, f64>,
    pub orange_price: Var<'t, f64>,
    pub all_price: Var<'t, f64>,
    pub price: Var<'t, f64>,
}

/// Records [`AppleOrange`] on `tape`, with the calls `examples/apple_orange.rs` makes.
pub fn apple_orange(tape: &autograd::Tape<f64>) -> AppleOrange<'_> {
    let apple = tape.var_named("apple", 100.0);
    let apple_num = tape.var_named("apple_num", 2.0);
    let orange = tape.var_named("orange", 150.0);
    let orange_num = tape.var_named("orange_num", 3.0);
    let tax = tape.var_named("tax", 1.1);
    let apple_price = apple * apple_num;
    let orange_price = orange * orange_num;
    let all_price = apple_price + orange_price;
    let price = (all_price * tax).set_name("price");
    AppleOrange {
        apple,
        apple_num,
        orange,
        orange_num,
        tax,
        apple_price,
        orange_price,
        all_price,
        price,
    }
}
