//! Higher-order gradients through `backward_graph()`: second (and third) derivatives against closed forms, mixed
//! partials, a Hessian, a Hessian–vector product of a small MLP against finite differences of its gradient, and
//! second derivatives through a custom op.

mod common;

use autograd::{Tape, Var};
use common::{assert_near, normal, one_hot, rel_error, rng, softmax_cross_entropy, Hypot};
use ndarray::{arr1, ArrayD, Axis};

/// `(f(x₀), f'(x₀), f''(x₀))` of a scalar function, the derivatives through `backward_graph` then `backward`.
fn derivatives<F>(f: F, x0: f64) -> (f64, f64, f64)
where
    F: for<'t> Fn(Var<'t, f64>) -> Var<'t, f64>,
{
    let tape = Tape::<f64>::new();
    let x = tape.var(x0);
    let y = f(x);
    let dy = y.backward_graph()[x];
    assert!(
        dy.requires_grad(),
        "the first derivative must depend on x to be differentiated again"
    );
    let d2 = dy.backward().scalar(x);
    (y.scalar(), dy.scalar(), d2)
}

/// Checks `f`, `f'` and `f''` at each point against closed forms.
#[track_caller]
fn check_second<F>(f: F, points: &[f64], closed: impl Fn(f64) -> (f64, f64, f64))
where
    F: for<'t> Fn(Var<'t, f64>) -> Var<'t, f64>,
{
    for &x in points {
        let (y, d1, d2) = derivatives(&f, x);
        let (ey, ed1, ed2) = closed(x);
        let tol = |e: f64| 1e-12 * e.abs().max(1.0);
        assert_near(y, ey, tol(ey));
        assert_near(d1, ed1, tol(ed1));
        assert!(
            (d2 - ed2).abs() <= tol(ed2),
            "second derivative at x = {x}: {d2} != {ed2}"
        );
    }
}

const POINTS: &[f64] = &[-1.7, -0.4, 0.3, 1.1, 2.5];
const POSITIVE: &[f64] = &[0.2, 0.7, 1.0, 2.5, 4.0];

#[test]
fn cube_second_derivative_is_6x() {
    check_second(|x| x * x * x, POINTS, |x| (x * x * x, 3.0 * x * x, 6.0 * x));
}

#[test]
fn exp_second_derivative_is_exp() {
    check_second(|x| x.exp(), POINTS, |x| (x.exp(), x.exp(), x.exp()));
}

#[test]
fn tanh_second_derivative() {
    check_second(
        |x| x.tanh(),
        POINTS,
        |x| {
            let t = x.tanh();
            (t, 1.0 - t * t, -2.0 * t * (1.0 - t * t))
        },
    );
}

#[test]
fn sin_and_cos_second_derivatives() {
    check_second(|x| x.sin(), POINTS, |x| (x.sin(), x.cos(), -x.sin()));
    check_second(|x| x.cos(), POINTS, |x| (x.cos(), -x.sin(), -x.cos()));
}

/// `sin` differentiated four times is `sin` again.
#[test]
fn sin_fourth_derivative_is_sin() {
    let tape = Tape::<f64>::new();
    let x = tape.var(0.7);
    let mut d = x.sin();
    for _ in 0..4 {
        d = d.backward_graph()[x];
    }
    assert!((d.scalar() - 0.7f64.sin()).abs() < 1e-14, "{}", d.scalar());
}

#[test]
fn sigmoid_second_derivative() {
    check_second(
        |x| 1.0 / (1.0 + (-x).exp()),
        POINTS,
        |x| {
            let s = 1.0 / (1.0 + (-x).exp());
            (s, s * (1.0 - s), s * (1.0 - s) * (1.0 - 2.0 * s))
        },
    );
}

#[test]
fn ln_second_derivative() {
    check_second(|x| x.log(), POSITIVE, |x| (x.ln(), 1.0 / x, -1.0 / (x * x)));
}

#[test]
fn recip_second_derivative() {
    check_second(
        |x| x.recip(),
        POINTS,
        |x| (1.0 / x, -1.0 / (x * x), 2.0 / (x * x * x)),
    );
}

#[test]
fn sqrt_second_derivative() {
    check_second(
        |x| x.sqrt(),
        POSITIVE,
        |x| (x.sqrt(), 0.5 / x.sqrt(), -0.25 / (x * x.sqrt())),
    );
}

#[test]
fn powf_second_derivative() {
    for c in [2.5, 3.0, 0.5, -1.5] {
        check_second(
            move |x| x.powf(c),
            POSITIVE,
            |x| {
                (
                    x.powf(c),
                    c * x.powf(c - 1.0),
                    c * (c - 1.0) * x.powf(c - 2.0),
                )
            },
        );
    }
}

/// Quotient and number ops twice: `d²/dx² (x / (1 + x²)) = 2x(x² − 3) / (1 + x²)³`.
#[test]
fn quotient_second_derivative() {
    check_second(
        |x| x / (x * x + 1.0),
        POINTS,
        |x| {
            let q = 1.0 + x * x;
            (
                x / q,
                (1.0 - x * x) / (q * q),
                2.0 * x * (x * x - 3.0) / (q * q * q),
            )
        },
    );
}

/// Piecewise-linear ops pass the second derivative through their (constant) masks: for `relu(x)²`,
/// `abs(x)²` and `max(x, 0.5)²` it is 2 on the active side and 0 elsewhere.
#[test]
fn piecewise_linear_ops_second_derivative() {
    check_second(
        |x| x.relu() * x.relu(),
        &[-1.2, 0.8],
        |x| {
            if x > 0.0 {
                (x * x, 2.0 * x, 2.0)
            } else {
                (0.0, 0.0, 0.0)
            }
        },
    );
    check_second(
        |x| x.abs() * x.abs(),
        &[-1.2, 0.8],
        |x| (x * x, 2.0 * x, 2.0),
    );
    check_second(
        |x| {
            let m = x.maximum(x.tape().constant(0.5));
            m * m * x.minimum(x.tape().constant(10.0))
        },
        &[1.5],
        |x| (x * x * x, 3.0 * x * x, 6.0 * x),
    );
}

/// `d³/dx³ x⁴ = 24x` and `d⁴/dx⁴ x⁴ = 24`, differentiating the gradient graph again and again.
#[test]
fn fourth_power_third_and_fourth_derivatives() {
    for x0 in [-1.3, 0.6, 2.0] {
        for powf in [false, true] {
            let tape = Tape::<f64>::new();
            let x = tape.var(x0);
            let y = if powf { x.powf(4.0) } else { x * x * x * x };
            let d1 = y.backward_graph()[x];
            let d2 = d1.backward_graph()[x];
            let d3 = d2.backward_graph()[x];
            let d4 = d3.backward().scalar(x);
            let tol = 1e-11;
            assert_near(d1.scalar(), 4.0 * x0.powi(3), tol);
            assert_near(d2.scalar(), 12.0 * x0 * x0, tol);
            assert_near(d3.scalar(), 24.0 * x0, tol);
            assert_near(d4, 24.0, tol);
        }
    }
}

/// `∂²(x·y²)/∂x∂y = 2y`, in both orders of differentiation.
#[test]
fn mixed_partial_of_x_y_squared() {
    for (x0, y0) in [(1.5, -2.0), (-0.3, 0.7)] {
        let tape = Tape::<f64>::new();
        let (x, y) = (tape.var(x0), tape.var(y0));
        let f = x * y * y;
        let grads = f.backward_graph();
        let (fx, fy) = (grads[x], grads[y]);
        assert_near(fx.scalar(), y0 * y0, 1e-14);
        assert_near(fy.scalar(), 2.0 * x0 * y0, 1e-14);
        let fxy = fx.backward();
        let fyx = fy.backward();
        assert_near(fxy.scalar(y), 2.0 * y0, 1e-14);
        assert_near(fyx.scalar(x), 2.0 * y0, 1e-14);
        // ∂²f/∂x² = 0: y² does not depend on x at all.
        assert!(fxy.get(x).is_none());
        assert_near(fyx.scalar(y), 2.0 * x0, 1e-14);
    }
}

/// The full Hessian of `f(x) = (Σx)² + Σx³` on a vector, row by row as `∂(∇f · eᵢ)/∂x`: `H = 2·𝟙𝟙ᵀ + diag(6x)`.
#[test]
fn hessian_of_a_vector_function() {
    let x0 = arr1(&[0.5, -1.0, 2.0, 0.25]);
    let n = x0.len();
    let tape = Tape::<f64>::new();
    let x = tape.var(x0.clone());
    let s = x.sum();
    let f = s * s + (x * x * x).sum();
    let g = f.backward_graph()[x];
    for i in 0..n {
        let mut e = ArrayD::zeros(ndarray::IxDyn(&[n]));
        e[i] = 1.0;
        let row = (g * tape.constant(e)).sum().backward();
        let row = row.get(x).unwrap();
        for j in 0..n {
            let expected = 2.0 + if i == j { 6.0 * x0[i] } else { 0.0 };
            assert_near(row[j], expected, 1e-12);
        }
    }
}

/// A 4-5-3 MLP with tanh and a softmax cross-entropy built from primitives.
struct Mlp {
    x: ArrayD<f64>,
    targets: ArrayD<f64>,
    params: Vec<ArrayD<f64>>,
}

impl Mlp {
    fn new(seed: u64) -> Self {
        let mut r = rng(seed);
        let shapes: [&[usize]; 4] = [&[4, 5], &[5], &[5, 3], &[3]];
        Mlp {
            x: normal(&mut r, &[7, 4]),
            targets: one_hot(&[0, 1, 2, 2, 1, 0, 1], 3),
            params: shapes.iter().map(|s| normal(&mut r, s)).collect(),
        }
    }

    fn loss<'t>(&self, p: &[Var<'t, f64>]) -> Var<'t, f64> {
        let tape = p[0].tape();
        let x = tape.constant(self.x.clone());
        let h = (x.matmul(p[0]) + p[1]).tanh();
        let logits = h.matmul(p[2]) + p[3];
        softmax_cross_entropy(logits, tape.constant(self.targets.clone()))
    }

    /// The gradient at `params` (first-order backward).
    fn gradient(&self, params: &[ArrayD<f64>]) -> Vec<ArrayD<f64>> {
        let tape = Tape::<f64>::new();
        let p: Vec<_> = params.iter().map(|a| tape.var(a.clone())).collect();
        let grads = self.loss(&p).backward();
        p.iter()
            .map(|&v| grads.get(v).unwrap().to_owned())
            .collect()
    }

    /// `H·v` by differentiating `∇L · v` (double backward).
    fn hvp(&self, v: &[ArrayD<f64>]) -> Vec<ArrayD<f64>> {
        let tape = Tape::<f64>::new();
        let p: Vec<_> = self.params.iter().map(|a| tape.var(a.clone())).collect();
        let grads = self.loss(&p).backward_graph();
        let mut dot = tape.constant(0.0);
        for (&pk, vk) in p.iter().zip(v) {
            dot += (grads[pk] * tape.constant(vk.clone())).sum();
        }
        let h = dot.backward();
        p.iter().map(|&pk| h.get(pk).unwrap().to_owned()).collect()
    }

    /// `(∇L(w + εv) − ∇L(w − εv)) / 2ε`.
    fn hvp_numeric(&self, v: &[ArrayD<f64>], eps: f64) -> Vec<ArrayD<f64>> {
        let shifted = |sign: f64| -> Vec<ArrayD<f64>> {
            self.params
                .iter()
                .zip(v)
                .map(|(w, d)| w + &(d * (sign * eps)))
                .collect()
        };
        let (up, down) = (self.gradient(&shifted(1.0)), self.gradient(&shifted(-1.0)));
        up.iter()
            .zip(&down)
            .map(|(u, d)| (u - d) / (2.0 * eps))
            .collect()
    }
}

fn flatten(parts: &[ArrayD<f64>]) -> ArrayD<f64> {
    let all: Vec<f64> = parts.iter().flat_map(|p| p.iter().copied()).collect();
    ArrayD::from_shape_vec(ndarray::IxDyn(&[all.len()]), all).unwrap()
}

#[test]
fn mlp_hessian_vector_product_matches_finite_differences() {
    let mlp = Mlp::new(300);
    let mut r = rng(301);
    for _ in 0..3 {
        let v: Vec<_> = mlp
            .params
            .iter()
            .map(|p| normal(&mut r, p.shape()))
            .collect();
        let hv = mlp.hvp(&v);
        for (h, p) in hv.iter().zip(&mlp.params) {
            assert_eq!(h.shape(), p.shape());
        }
        let numeric = mlp.hvp_numeric(&v, 1e-5);
        let (hv, numeric) = (flatten(&hv), flatten(&numeric));
        assert!(numeric.iter().any(|x| x.abs() > 1e-3), "vacuous check");
        let err = rel_error(&hv.view(), &numeric.view(), 1e-12);
        assert!(
            err < 1e-6,
            "HVP rel error {err:e}\nhvp: {hv}\nnumeric: {numeric}"
        );
    }
}

/// The Hessian is symmetric: `uᵀ(Hv) = vᵀ(Hu)`.
#[test]
fn mlp_hessian_is_symmetric() {
    let mlp = Mlp::new(302);
    let mut r = rng(303);
    let u: Vec<_> = mlp
        .params
        .iter()
        .map(|p| normal(&mut r, p.shape()))
        .collect();
    let v: Vec<_> = mlp
        .params
        .iter()
        .map(|p| normal(&mut r, p.shape()))
        .collect();
    let u_hv = (flatten(&u) * flatten(&mlp.hvp(&v))).sum();
    let v_hu = (flatten(&v) * flatten(&mlp.hvp(&u))).sum();
    assert!(u_hv.abs() > 1e-3);
    assert_near(u_hv, v_hu, 1e-10 * u_hv.abs().max(1.0));
}

/// The gradient nodes of `backward_graph` hold the same values as the first-order `backward`.
#[test]
fn backward_graph_values_equal_backward() {
    let mlp = Mlp::new(304);
    let first_order = mlp.gradient(&mlp.params);
    let tape = Tape::<f64>::new();
    let p: Vec<_> = mlp.params.iter().map(|a| tape.var(a.clone())).collect();
    let graph = mlp.loss(&p).backward_graph();
    for (&pk, g) in p.iter().zip(&first_order) {
        let node = graph[pk].value();
        assert!(rel_error(&node.view(), &g.view(), 1e-12) < 1e-14);
    }
}

/// Second derivatives of the custom `hypot` op: with `r = √(x² + y²)`, `∂²r/∂x² = y²/r³` and
/// `∂²r/∂x∂y = −xy/r³`.
#[test]
fn custom_op_second_derivatives() {
    for (x0, y0) in [(3.0, 4.0), (-1.2, 0.5)] {
        let tape = Tape::<f64>::new();
        let (x, y) = (tape.var(x0), tape.var(y0));
        let r = x.custom(Hypot, &[y]);
        let grads = r.backward_graph();
        let rho: f64 = f64::hypot(x0, y0);
        assert_near(grads[x].scalar(), x0 / rho, 1e-14);
        let second = grads[x].backward();
        let r3 = rho.powi(3);
        assert_near(second.scalar(x), y0 * y0 / r3, 1e-14);
        assert_near(second.scalar(y), -x0 * y0 / r3, 1e-14);
    }
}

/// A Hessian–vector product through the custom op on tensors, against finite differences of its gradient.
#[test]
fn custom_op_hessian_vector_product() {
    let mut r = rng(305);
    let (a, b) = (normal(&mut r, &[2, 3]), normal(&mut r, &[2, 3]));
    let (va, vb) = (normal(&mut r, &[2, 3]), normal(&mut r, &[2, 3]));
    // L = Σ hypot(a, b)·a, so the Hessian has both diagonal and cross terms.
    let gradient = |a: &ArrayD<f64>, b: &ArrayD<f64>| {
        let tape = Tape::<f64>::new();
        let (x, y) = (tape.var(a.clone()), tape.var(b.clone()));
        let g = (x.custom(Hypot, &[y]) * x).sum().backward();
        (g.get(x).unwrap().to_owned(), g.get(y).unwrap().to_owned())
    };
    let tape = Tape::<f64>::new();
    let (x, y) = (tape.var(a.clone()), tape.var(b.clone()));
    let g = (x.custom(Hypot, &[y]) * x).sum().backward_graph();
    let dot = (g[x] * tape.constant(va.clone())).sum() + (g[y] * tape.constant(vb.clone())).sum();
    let h = dot.backward();
    let eps = 1e-5;
    let (up_a, up_b) = gradient(&(&a + &(&va * eps)), &(&b + &(&vb * eps)));
    let (dn_a, dn_b) = gradient(&(&a - &(&va * eps)), &(&b - &(&vb * eps)));
    let num_a = (up_a - dn_a) / (2.0 * eps);
    let num_b = (up_b - dn_b) / (2.0 * eps);
    assert!(rel_error(&h.get(x).unwrap(), &num_a.view(), 1e-12) < 1e-6);
    assert!(rel_error(&h.get(y).unwrap(), &num_b.view(), 1e-12) < 1e-6);
}

/// Second order through reductions and broadcasting: for `L = Σ_ij (x_i · w_j)²` summed with `sum_axis`,
/// `∂²L/∂x_i∂w_j = 4·x_i·w_j`, read off a Hessian–vector product with a basis vector.
#[test]
fn second_order_through_broadcast_and_sum_axis() {
    let (x0, w0) = (arr1(&[0.5, -1.5, 2.0]), arr1(&[1.0, 0.25]));
    let tape = Tape::<f64>::new();
    let x = tape.var(x0.clone().into_shape_with_order((3, 1)).unwrap());
    let w = tape.var(w0.clone());
    let outer = x * w; // [3, 1] · [2] → [3, 2]
    let l = (outer * outer).sum_axis(Axis(1)).sum();
    let gx = l.backward_graph()[x]; // 2·x_i·Σ_j w_j², shape [3, 1]
    assert_eq!(gx.shape(), [3, 1]);
    for i in 0..3 {
        let mut e = ArrayD::zeros(ndarray::IxDyn(&[3, 1]));
        e[[i, 0]] = 1.0;
        let h = (gx * tape.constant(e)).sum().backward();
        let hw = h.get(w).unwrap();
        for j in 0..2 {
            assert_near(hw[j], 4.0 * x0[i] * w0[j], 1e-12);
        }
        let hx = h.get(x).unwrap();
        assert_near(hx[[i, 0]], 2.0 * (w0[0] * w0[0] + w0[1] * w0[1]), 1e-12);
    }
}

/// `backward_graph_with_seed` with a seed that is itself a variable: for `y = x²` (element-wise) the VJP is
/// `u = 2x ⊙ s`, so `∂Σu/∂x = 2s` and `∂Σu/∂s = 2x`.
#[test]
fn backward_graph_with_a_variable_seed() {
    let (x0, s0) = (arr1(&[1.5, -2.0, 0.5]), arr1(&[0.25, 3.0, -1.0]));
    let tape = Tape::<f64>::new();
    let (x, s) = (tape.var(x0.clone()), tape.var(s0.clone()));
    let y = x * x;
    let u = y.backward_graph_with_seed(s)[x];
    assert_eq!(u.value(), (&x0 * &s0 * 2.0).into_dyn());
    let grads = u.sum().backward();
    assert_eq!(grads.get(x).unwrap(), (&s0 * 2.0).into_dyn());
    assert_eq!(grads.get(s).unwrap(), (&x0 * 2.0).into_dyn());
}

/// Repeated differentiation records only what is new: the n-th derivative of tanh adds 3, 5, 8, 15, 28, 51, 102,
/// 203 nodes (the simplifications of `simplify.rs`; 4, 9, 14, 32, 80, 212, 584, 1652 without them), and the
/// values still equal the closed forms (see `tanh_derivatives`).
#[test]
fn repeated_derivatives_of_tanh_record_only_new_nodes() {
    let tape = Tape::<f64>::new();
    let x = tape.var(0.5);
    let mut d = x.tanh();
    let mut counts = Vec::new();
    for _ in 0..8 {
        let before = tape.len();
        d = d.backward_graph()[x];
        counts.push(tape.len() - before);
    }
    assert_eq!(counts, [3, 5, 8, 15, 28, 51, 102, 203]);
    // The eighth derivative of tanh at 0.5, from the closed-form polynomial in t = tanh(0.5).
    assert!(
        (d.scalar() - 322.859_318_123_668).abs() < 1e-9,
        "{}",
        d.scalar()
    );
}

/// Only gradient graphs are simplified: a user's own `x × 1` and `−(−x)` are recorded as written.
#[test]
fn user_code_is_recorded_as_written() {
    let tape = Tape::<f64>::new();
    let x = tape.var(2.0);
    let one = tape.constant(1.0);
    let y = -(-(x * one));
    assert_eq!(tape.len(), 5);
    assert_eq!(y.op().kind(), "neg");
    assert_eq!(y.backward().scalar(x), 1.0);
}
