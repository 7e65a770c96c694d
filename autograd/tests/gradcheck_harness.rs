//! The gradient checker itself: it reports a wrong first derivative, a wrong second derivative that a
//! first-order check cannot see, and it checks functions that differentiate inside them.

mod common;

use autograd::{gradcheck, gradgradcheck, Backend, CustomOp, Float, Var};
use common::{check, rng, uniform};
use ndarray::{ArrayD, ArrayViewD};

const TOL: f64 = 1e-8;

/// `x²` with a deliberately wrong derivative (`x` instead of `2x`).
struct WrongSquare;

impl<T: Float> CustomOp<T> for WrongSquare {
    fn name(&self) -> &str {
        "wrong_square"
    }

    fn forward(&self, x: &[ArrayViewD<'_, T>]) -> ArrayD<T> {
        x[0].mapv(|v| v * v)
    }

    fn backward<'a, B: Backend<T>>(
        &self,
        x: &[Var<'a, T, B>],
        _y: Var<'a, T, B>,
        g: Var<'a, T, B>,
        _needs: &[bool],
    ) -> Vec<Option<Var<'a, T, B>>> {
        vec![Some(g * x[0])]
    }
}

/// The harness itself can fail: a wrong backward rule is reported with a large error.
#[test]
fn gradcheck_detects_a_wrong_gradient() {
    let x = ndarray::arr1(&[1.0, -2.0, 3.0]).into_dyn();
    let report = gradcheck(|v| v[0].custom(WrongSquare, &[]), &[x]);
    assert!(report.max_rel_error() > 0.4, "{report}");
    assert!(report.max_abs_error() > 1.0, "{report}");
    let caught = std::panic::catch_unwind(|| report.assert_within(1e-3));
    assert!(caught.is_err(), "assert_within accepted a wrong gradient");
}

/// A function that differentiates inside it can be checked: the finite-difference side records, so
/// `backward_graph` works there (it used to run on an inference tape and panic).
#[test]
fn gradcheck_of_a_function_that_differentiates_inside() {
    let mut r = rng(40);
    let x = uniform(&mut r, &[4], -1.0, 1.0);
    // d/dx of tanh(x)·x², differentiated again through gradcheck: the second derivative.
    let report = check(
        |v| {
            let y = (v[0].tanh() * v[0] * v[0]).sum();
            y.backward_graph()[v[0]].sum()
        },
        &[x],
        TOL,
    );
    assert_eq!(report.inputs[0].analytic.shape(), [4]);
}

/// `gradgradcheck` catches a wrong second derivative that a first-order check cannot see: a custom op whose
/// first-order rule is right but which records a wrong graph for second order.
#[test]
fn gradgradcheck_detects_a_wrong_second_derivative() {
    let x = ndarray::arr1(&[0.7, -1.3, 0.4]).into_dyn();
    gradcheck(
        |v| v[0].custom(FrozenCube, &[]).sum(),
        std::slice::from_ref(&x),
    )
    .assert_within(TOL);
    let report = gradgradcheck(|v| v[0].custom(FrozenCube, &[]).sum(), &[x]);
    assert!(report.max_rel_error() > 0.1, "{report}");
}

/// `x³` whose rule `3x²·g` is right, but computed from a constant copy of `x`: first order is exact, second
/// order is missing the `6x` term.
struct FrozenCube;

impl<T: Float> CustomOp<T> for FrozenCube {
    fn name(&self) -> &str {
        "frozen_cube"
    }

    fn forward(&self, x: &[ArrayViewD<'_, T>]) -> ArrayD<T> {
        x[0].mapv(|v| v * v * v)
    }

    fn backward<'a, B: Backend<T>>(
        &self,
        x: &[Var<'a, T, B>],
        _y: Var<'a, T, B>,
        g: Var<'a, T, B>,
        _needs: &[bool],
    ) -> Vec<Option<Var<'a, T, B>>> {
        let frozen = x[0].constant_like(x[0].value());
        vec![Some(g * frozen * frozen * 3)]
    }
}

/// PyTorch's pass criterion with its defaults accepts a right gradient and refuses the wrong one.
#[test]
fn passes_uses_pytorchs_criterion() {
    let x = ndarray::arr1(&[1.0, -2.0, 3.0]).into_dyn();
    assert!(gradcheck(|v| (v[0] * v[0]).sum(), std::slice::from_ref(&x)).passes());
    let wrong = gradcheck(|v| v[0].custom(WrongSquare, &[]), std::slice::from_ref(&x));
    assert!(!wrong.passes());
    assert!(
        wrong.passes_with(10.0, 0.0),
        "an absolute tolerance of 10 covers |2x − x| ≤ 3"
    );
}

/// `Σ x²`.
fn sum_of_squares<'t>(v: &[Var<'t, f64>]) -> Var<'t, f64> {
    (v[0] * v[0]).sum()
}

/// The tests' tolerance grows with the function's size only as far as the finite differences' rounding noise:
/// for a sum of 2,000 squares (about 2,000) the central differences are off by more than `1e-8` from the
/// exact gradient `2x`, and within the noise bound; for a function near 1 the bound is far below `1e-8`, so
/// the tolerance stays `1e-8` there.
#[test]
fn tolerance_widens_with_rounding_noise_only() {
    let x = common::normal(&mut rng(5), &[50, 40]);
    let report = gradcheck(sum_of_squares, std::slice::from_ref(&x));
    let noise = common::rounding_noise(&sum_of_squares, std::slice::from_ref(&x));
    assert!(report.max_rel_error() > TOL, "{}", report.max_rel_error());
    assert!(
        report.max_rel_error() <= noise,
        "{} > {noise}",
        report.max_rel_error()
    );
    check(sum_of_squares, &[x], TOL);

    let small = common::normal(&mut rng(6), &[3]) * 0.3;
    let noise = common::rounding_noise(&sum_of_squares, &[small]);
    assert!(noise < TOL / 10.0, "{noise}");
}
