//! What the tape promises beyond each op's derivative: accumulation, which nodes get gradients, seeds and
//! vector–Jacobian products, error messages, inference and `no_grad`, long graphs without recursion, tape
//! identity, and both element types.

mod common;

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;

use autograd::{Backend, CustomOp, Float, Tape, Value, Var};
use common::{assert_close, assert_near, normal, rng};
use ndarray::{arr1, arr2, Array2, ArrayD, ArrayViewD, Axis, IxDyn};

// ---------------------------------------------------------------------------------------------------------------
// Accumulation

#[test]
fn x_times_x_accumulates_both_uses() {
    let tape = Tape::<f64>::new();
    let x = tape.var(3.0);
    assert_eq!((x * x).backward().scalar(x), 6.0);
}

#[test]
fn x_plus_x_accumulates_both_uses() {
    let tape = Tape::<f64>::new();
    let x = tape.var(3.0);
    assert_eq!((x + x).backward().scalar(x), 2.0);
}

/// `y = x + x + … + x` (eleven uses, through a chain of nodes) gives 11.
#[test]
fn repeated_use_along_a_chain_accumulates() {
    let tape = Tape::<f64>::new();
    let x = tape.var(0.5);
    let mut y = x;
    for _ in 0..10 {
        y += x;
    }
    assert_eq!(y.backward().scalar(x), 11.0);
}

/// A diamond: `a = 2x`, `b = eˣ`, `y = a·b`, so `dy/dx = 2eˣ + 2x·eˣ`; the shared intermediate nodes receive
/// their own gradients too (`dy/da = b`, `dy/db = a`).
#[test]
fn diamond_graph_sums_both_paths() {
    let tape = Tape::<f64>::new();
    let x0 = 0.7f64;
    let x = tape.var(x0);
    let (a, b) = (x * 2.0, x.exp());
    let y = a * b;
    let grads = y.backward();
    assert_near(grads.scalar(x), 2.0 * x0.exp() + 2.0 * x0 * x0.exp(), 1e-14);
    assert_near(grads.scalar(a), x0.exp(), 1e-14);
    assert_near(grads.scalar(b), 2.0 * x0, 1e-14);
}

/// A diamond of tensors where the two paths broadcast differently: `y = Σ(x + M) + Σ(x·x)` for `x: [3]`,
/// `M: [2, 3]`, so `dy/dx = 2 + 2x` (x is broadcast over two rows on one path).
#[test]
fn diamond_with_broadcasting_accumulates_reduced_gradients() {
    let tape = Tape::<f64>::new();
    let x = tape.var(arr1(&[1.0, -2.0, 0.5]));
    let m = tape.var(Array2::<f64>::zeros((2, 3)));
    let y = (x + m).sum() + (x * x).sum();
    let grads = y.backward();
    assert_eq!(grads.get(x).unwrap(), arr1(&[4.0, -2.0, 3.0]).into_dyn());
    assert_eq!(
        grads.get(m).unwrap(),
        Array2::<f64>::ones((2, 3)).into_dyn()
    );
}

/// Gradients live in the returned store, not in the nodes: a second backward pass gives the same numbers, and a
/// backward pass from an intermediate node is independent of the first.
#[test]
fn backward_twice_gives_the_same_gradients() {
    let tape = Tape::<f64>::new();
    let x = tape.var(2.0);
    let h = x * x;
    let y = h * x;
    let first = y.backward();
    let second = y.backward();
    assert_eq!(first.scalar(x), 12.0);
    assert_eq!(second.scalar(x), 12.0);
    let from_h = h.backward();
    assert_eq!(from_h.scalar(x), 4.0);
    assert!(from_h.get(y).is_none(), "y comes after h");
}

/// The output's own gradient is the seed; `grads[x]` is the stored `Value`; `take` moves it out.
#[test]
fn gradient_store_accessors() {
    let tape = Tape::<f64>::new();
    let x = tape.var(arr1(&[1.0, 2.0]));
    let s = tape.var(3.0);
    let y = (x * s).sum();
    let mut grads = y.backward();
    assert_eq!(grads.scalar(y), 1.0);
    assert_eq!(grads[s], Value::Scalar(3.0));
    assert_eq!(grads[x].shape(), [2]);
    assert_eq!(grads.take(x), Some(arr1(&[3.0, 3.0]).into_dyn()));
    assert!(grads.get(x).is_none(), "taken");
    assert_eq!(grads.scalar(s), 3.0);
}

// ---------------------------------------------------------------------------------------------------------------
// Which nodes receive gradients

#[test]
fn constants_receive_no_gradient() {
    let tape = Tape::<f64>::new();
    let x = tape.var(3.0);
    let c = tape.constant(2.0);
    let y = x * c;
    let grads = y.backward();
    assert_eq!(grads.scalar(x), 2.0);
    assert!(grads.get(c).is_none());
    assert!(!c.requires_grad());
}

/// Nodes computed only from constants are constants: they get no gradient and no rule runs for them.
#[test]
fn nodes_computed_only_from_constants_are_skipped() {
    let tape = Tape::<f64>::new();
    let x = tape.var(3.0);
    let c = tape.constant(2.0);
    let c2 = c * c + 1.0; // 5, from constants only
    assert!(!c2.requires_grad());
    let y = x * c2;
    assert!(y.requires_grad());
    let grads = y.backward();
    assert_eq!(grads.scalar(x), 5.0);
    assert!(grads.get(c2).is_none());
    assert!(grads.get(c).is_none());
}

/// An identity op that counts how often its backward rule runs.
struct CountBackward(Rc<Cell<usize>>);

impl<T: Float> CustomOp<T> for CountBackward {
    fn name(&self) -> &str {
        "count_backward"
    }

    fn forward(&self, x: &[ArrayViewD<'_, T>]) -> ArrayD<T> {
        x[0].to_owned()
    }

    fn backward<'a, B: Backend<T>>(
        &self,
        _x: &[Var<'a, T, B>],
        _y: Var<'a, T, B>,
        g: Var<'a, T, B>,
        _needs: &[bool],
    ) -> Vec<Option<Var<'a, T, B>>> {
        self.0.set(self.0.get() + 1);
        vec![Some(g)]
    }
}

/// The backward pass runs no rule for a node computed only from constants (observed through a custom op), and
/// runs it once for a node that depends on a variable.
#[test]
fn no_backward_rule_runs_for_constant_only_nodes() {
    let count = Rc::new(Cell::new(0));
    let tape = Tape::<f64>::new();
    let x = tape.var(3.0);
    let c = tape.constant(2.0);
    let from_constant = c.custom(CountBackward(count.clone()), &[]);
    let from_variable = x.custom(CountBackward(count.clone()), &[]);
    assert!(!from_constant.requires_grad());
    let grads = (from_constant * from_variable).backward();
    assert_eq!(grads.scalar(x), 2.0);
    assert_eq!(count.get(), 1, "the constant-only node's rule ran");
    // Even as the output itself: nothing to differentiate, so no rule runs and the constant gets nothing.
    let grads = from_constant.backward();
    assert_eq!(count.get(), 1, "backward from a constant output ran a rule");
    assert!(grads.get(c).is_none());
}

#[test]
#[should_panic(
    expected = "no gradient for node 1: it does not influence the output, or it is a constant"
)]
fn indexing_the_gradient_of_a_constant_panics() {
    let tape = Tape::<f64>::new();
    let x = tape.var(3.0);
    let c = tape.constant(2.0);
    let grads = (x * c).backward();
    let _ = &grads[c];
}

#[test]
fn variable_that_does_not_influence_the_output_has_no_gradient() {
    let tape = Tape::<f64>::new();
    let x = tape.var(3.0);
    let unused = tape.var(arr1(&[1.0, 2.0]));
    let side = unused.exp().sum(); // computed, but not part of y
    let y = x * x;
    let later = tape.var(1.0); // created after y
    let grads = y.backward();
    assert_eq!(grads.scalar(x), 6.0);
    assert!(grads.get(unused).is_none());
    assert!(grads.get(side).is_none());
    assert!(grads.get(later).is_none());
}

/// Multiplying by zero still connects: the gradient exists (and is 0), unlike for an unrelated variable.
#[test]
fn a_zero_gradient_is_not_a_missing_gradient() {
    let tape = Tape::<f64>::new();
    let x = tape.var(3.0);
    let y = x * 0.0;
    assert_eq!(y.backward().get(x).unwrap(), ndarray::arr0(0.0).into_dyn());
}

// ---------------------------------------------------------------------------------------------------------------
// Kinks and ties (as documented: derivative 0 at the kink of relu/abs, ties share the gradient equally)

#[test]
fn relu_and_abs_have_derivative_zero_at_zero() {
    let tape = Tape::<f64>::new();
    let x = tape.var(arr1(&[-1.0, 0.0, 2.0]));
    let relu = x.relu().sum().backward();
    assert_eq!(relu.get(x).unwrap(), arr1(&[0.0, 0.0, 1.0]).into_dyn());
    let abs = x.abs().sum().backward();
    assert_eq!(abs.get(x).unwrap(), arr1(&[-1.0, 0.0, 1.0]).into_dyn());
}

/// The p-norm's gradient at a zero vector is zero (PyTorch's subgradient) for p = 2 and p = 3, beside a lane
/// that is not zero, whose gradient is still `x·|x|ᵖ⁻²/‖x‖ᵖ⁻¹`; the second derivatives are finite there too.
#[test]
fn norm_gradient_is_zero_at_a_zero_vector() {
    for p in [2.0, 3.0] {
        let tape = Tape::<f64>::new();
        let x = tape.var(arr2(&[[0.0, 0.0], [3.0, -4.0]]));
        let norms = x.norm(p, 1, false);
        let n1: f64 = (3f64.powf(p) + 4f64.powf(p)).powf(1.0 / p);
        assert_eq!(norms.value(), arr1(&[0.0, n1]).into_dyn(), "p = {p}");
        let dx = norms.sum().backward_graph()[x];
        let slope = |v: f64| v * v.abs().powf(p - 2.0) / n1.powf(p - 1.0);
        let expected = arr2(&[[0.0, 0.0], [slope(3.0), slope(-4.0)]]).into_dyn();
        assert_close(&dx.value().view(), &expected.view(), 1e-12);
        let second = dx.sum().backward();
        let d2 = second.get(x).unwrap();
        assert!(d2.iter().all(|v| v.is_finite()), "p = {p}: {d2}");
        assert_eq!((d2[[0, 0]], d2[[0, 1]]), (0.0, 0.0), "p = {p}");
    }
}

#[test]
fn maximum_and_minimum_split_ties_equally() {
    let tape = Tape::<f64>::new();
    let a = tape.var(arr1(&[1.0, 2.0, 3.0]));
    let b = tape.var(arr1(&[1.0, 5.0, 0.0]));
    let max = a.maximum(b).sum().backward();
    assert_eq!(max.get(a).unwrap(), arr1(&[0.5, 0.0, 1.0]).into_dyn());
    assert_eq!(max.get(b).unwrap(), arr1(&[0.5, 1.0, 0.0]).into_dyn());
    let min = a.minimum(b).sum().backward();
    assert_eq!(min.get(a).unwrap(), arr1(&[0.5, 1.0, 0.0]).into_dyn());
    assert_eq!(min.get(b).unwrap(), arr1(&[0.5, 0.0, 1.0]).into_dyn());
}

/// `max_axis` sends each lane's gradient to its maximum, shared among tied maxima.
#[test]
fn max_axis_shares_the_gradient_among_tied_maxima() {
    let tape = Tape::<f64>::new();
    let x = tape.var(arr2(&[[1.0, 3.0, 3.0], [4.0, 0.0, 2.0], [7.0, 7.0, 7.0]]));
    let grads = x
        .max_axis(Axis(1))
        .backward_with_seed(arr1(&[1.0, 2.0, 3.0]));
    let expected = arr2(&[[0.0, 0.5, 0.5], [2.0, 0.0, 0.0], [1.0, 1.0, 1.0]]);
    assert_eq!(grads.get(x).unwrap(), expected.into_dyn());
    let down_columns = x.max_axis_keepdims(Axis(0)).sum().backward();
    let expected = arr2(&[[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]]);
    assert_eq!(down_columns.get(x).unwrap(), expected.into_dyn());
}

// ---------------------------------------------------------------------------------------------------------------
// Outputs, seeds and vector–Jacobian products

#[test]
#[should_panic(
    expected = "backward: output has shape [2, 3]; a non-scalar output needs a seed of that shape (backward_with_seed)"
)]
fn backward_on_a_non_scalar_output_panics() {
    let tape = Tape::<f64>::new();
    let x = tape.var(Array2::<f64>::ones((2, 3)));
    let _ = (x * 2.0).backward();
}

#[test]
#[should_panic(expected = "backward_graph: output has shape [3]")]
fn backward_graph_on_a_non_scalar_output_panics() {
    let tape = Tape::<f64>::new();
    let x = tape.var(arr1(&[1.0, 2.0, 3.0]));
    let _ = x.exp().backward_graph();
}

/// A one-element output of any rank is a valid loss.
#[test]
fn backward_on_a_one_element_matrix() {
    let tape = Tape::<f64>::new();
    let a = tape.var(arr2(&[[1.0, 2.0]]));
    let b = tape.var(arr2(&[[3.0], [4.0]]));
    let y = a.matmul(b); // [1, 1]
    assert_eq!(y.shape(), [1, 1]);
    let grads = y.backward();
    assert_eq!(grads.get(a).unwrap(), arr2(&[[3.0, 4.0]]).into_dyn());
    assert_eq!(grads.get(b).unwrap(), arr2(&[[1.0], [2.0]]).into_dyn());
}

/// `backward_with_seed(s)` on `y = a ⊙ eᵇ` is `sᵀJ`: `da = s ⊙ eᵇ`, `db = s ⊙ a ⊙ eᵇ`.
#[test]
fn backward_with_seed_is_the_vector_jacobian_product() {
    let mut r = rng(500);
    let (a0, b0, s) = (
        normal(&mut r, &[2, 3]),
        normal(&mut r, &[2, 3]),
        normal(&mut r, &[2, 3]),
    );
    let tape = Tape::<f64>::new();
    let (a, b) = (tape.var(a0.clone()), tape.var(b0.clone()));
    let grads = (a * b.exp()).backward_with_seed(s.clone());
    let eb = b0.mapv(f64::exp);
    assert_close(&grads.get(a).unwrap(), &(&s * &eb).view(), 1e-14);
    assert_close(&grads.get(b).unwrap(), &(&s * &a0 * &eb).view(), 1e-14);
}

/// For `y = W·x` (matrix times column) the VJP with respect to `x` is `Wᵀs`, computed from the full Jacobian
/// by hand; and the VJP with a one-hot seed is one row of the Jacobian.
#[test]
fn backward_with_seed_matches_the_explicit_jacobian() {
    let mut r = rng(501);
    let (w0, x0, s) = (
        normal(&mut r, &[3, 4]),
        normal(&mut r, &[4, 1]),
        normal(&mut r, &[3, 1]),
    );
    let tape = Tape::<f64>::new();
    let (w, x) = (tape.var(w0.clone()), tape.var(x0.clone()));
    let y = w.matmul(x).tanh();
    // J[i][k] = (1 − tanh²(Wx)_i) · W[i][k]
    let wx = w0
        .clone()
        .into_dimensionality::<ndarray::Ix2>()
        .unwrap()
        .dot(&x0.clone().into_dimensionality::<ndarray::Ix2>().unwrap());
    let jac = |i: usize, k: usize| (1.0 - wx[[i, 0]].tanh().powi(2)) * w0[[i, k]];
    let expected = ArrayD::from_shape_fn(IxDyn(&[4, 1]), |idx| {
        (0..3).map(|i| s[[i, 0]] * jac(i, idx[0])).sum::<f64>()
    });
    let grads = y.backward_with_seed(s.clone());
    assert_close(&grads.get(x).unwrap(), &expected.view(), 1e-13);
    for i in 0..3 {
        let mut e = ArrayD::zeros(IxDyn(&[3, 1]));
        e[[i, 0]] = 1.0;
        let row = y.backward_with_seed(e);
        let row_expected = ArrayD::from_shape_fn(IxDyn(&[4, 1]), |idx| jac(i, idx[0]));
        assert_close(&row.get(x).unwrap(), &row_expected.view(), 1e-13);
    }
}

#[test]
#[should_panic(expected = "backward: seed shape [3] does not match output shape [2, 3]")]
fn seed_shape_mismatch_panics() {
    let tape = Tape::<f64>::new();
    let x = tape.var(Array2::<f64>::ones((2, 3)));
    let _ = x.exp().backward_with_seed(arr1(&[1.0, 1.0, 1.0]));
}

#[test]
#[should_panic(expected = "backward: seed shape [] does not match output shape [1]")]
fn scalar_seed_for_a_one_element_vector_panics() {
    let tape = Tape::<f64>::new();
    let x = tape.var(arr1(&[2.0]));
    let _ = x.exp().backward_with_seed(1.0);
}

// ---------------------------------------------------------------------------------------------------------------
// Inference tapes and no_grad

#[test]
fn inference_tape_computes_values_without_gradients() {
    let tape = Tape::<f64>::inference();
    assert!(!tape.is_grad_enabled());
    let x = tape.var(2.0);
    let y = x * x + x.exp();
    assert_near(y.scalar(), 4.0 + 2f64.exp(), 1e-14);
    assert!(!x.requires_grad());
    assert!(y.inputs().is_empty(), "no links to inputs are kept");
    let grads = y.backward();
    assert!(grads.get(x).is_none());
}

#[test]
fn no_grad_records_constants_and_restores_recording() {
    let tape = Tape::<f64>::new();
    let x = tape.var(3.0);
    let z = tape.no_grad(|| {
        assert!(!tape.is_grad_enabled());
        x * x
    });
    assert!(tape.is_grad_enabled());
    assert!(!z.requires_grad());
    assert_eq!(z.scalar(), 9.0);
    // y = z·x with z a constant: dy/dx = z = 9, not 3x² = 27.
    let y = z * x;
    assert!(y.requires_grad());
    let grads = y.backward();
    assert_eq!(grads.scalar(x), 9.0);
    assert!(grads.get(z).is_none());
}

#[test]
fn no_grad_restores_recording_after_a_panic_and_when_nested() {
    let tape = Tape::<f64>::new();
    let caught = catch_unwind(AssertUnwindSafe(|| {
        tape.no_grad(|| panic!("inside no_grad"))
    }));
    assert!(caught.is_err());
    assert!(tape.is_grad_enabled());
    tape.no_grad(|| {
        tape.no_grad(|| ());
        assert!(
            !tape.is_grad_enabled(),
            "the inner no_grad restored the outer state"
        );
    });
    assert!(tape.is_grad_enabled());
    let inference = Tape::<f64>::inference();
    inference.no_grad(|| ());
    assert!(!inference.is_grad_enabled());
}

// ---------------------------------------------------------------------------------------------------------------
// Long graphs: no recursion

/// Runs `f` on a thread with a 256 KiB stack: any recursion proportional to the graph length would overflow it.
fn on_small_stack<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(f)
        .expect("spawn")
        .join()
        .expect("the small-stack thread panicked")
}

/// A chain of 1,000,000 scalar nodes, `y ← y·1.000001 + 1`, built, differentiated and dropped on a small stack:
/// `dy/dx = 1.000001ⁿ` for `n = 500,000` multiplications, and the value equals the plain recurrence.
#[test]
fn million_node_chain_backpropagates_without_recursion() {
    let (value, dx, len) = on_small_stack(|| {
        let tape = Tape::<f64>::new();
        let x = tape.var(1.0);
        let mut y = x;
        for _ in 0..500_000 {
            y = y * 1.000_001 + 1.0;
        }
        let grads = y.backward();
        (y.scalar(), grads.scalar(x), tape.len())
    });
    assert_eq!(len, 1_000_001);
    let n = 500_000;
    assert!((dx - 1.000_001f64.powi(n)).abs() < 1e-9 * dx);
    let mut expected = 1.0f64;
    for _ in 0..n {
        expected = expected * 1.000_001 + 1.0;
    }
    assert_eq!(value, expected);
}

/// The same with a variable multiplier shared by every step, so its gradient accumulates 500,000 times:
/// for `y ← y·a` from `y₀ = x`, `dy/da = n·aⁿ⁻¹·x`.
#[test]
fn million_node_chain_accumulates_into_a_shared_leaf() {
    let (da, dx) = on_small_stack(|| {
        let tape = Tape::<f64>::new();
        let x = tape.var(2.0);
        let a = tape.var(1.000_001);
        let mut y = x;
        for _ in 0..500_000 {
            y *= a;
            y = y + 0.0;
        }
        let grads = y.backward();
        (grads.scalar(a), grads.scalar(x))
    });
    let (n, a) = (500_000f64, 1.000_001f64);
    assert!((da - n * a.powf(n - 1.0) * 2.0).abs() < 1e-8 * da);
    assert!((dx - a.powf(n)).abs() < 1e-9 * dx);
}

/// The graph-building backward pass is a loop too: second derivative of a 200,000-node chain on a small stack.
#[test]
fn long_chain_backward_graph_without_recursion() {
    let d2 = on_small_stack(|| {
        let tape = Tape::<f64>::new();
        let x = tape.var(0.5);
        let mut y = x * x; // x²
        for _ in 0..100_000 {
            y = y + 1.0;
            y = y - 1.0;
        }
        let dy = y.backward_graph()[x]; // 2x
        dy.backward().scalar(x)
    });
    assert_eq!(d2, 2.0);
}

// ---------------------------------------------------------------------------------------------------------------
// Element types

/// A small generic model: `σ(w·x + b)` summed, in any element type.
fn logistic<T: Float>(tape: &Tape<T>) -> (T, Vec<ArrayD<T>>) {
    let x = tape.constant(arr2(&[[0.5, -1.0], [2.0, 0.25], [-0.3, 0.8]]).mapv(T::lit));
    let w = tape.var(arr2(&[[0.3], [-0.7]]).mapv(T::lit));
    let b = tape.var(T::lit(0.1));
    let y = (-(x.matmul(w) + b)).exp() + T::one();
    let loss = y.recip().sum();
    let grads = loss.backward();
    (
        loss.scalar(),
        vec![
            grads.get(w).unwrap().to_owned(),
            grads.get(b).unwrap().to_owned(),
        ],
    )
}

#[test]
fn f32_and_f64_agree() {
    let (l32, g32) = logistic(&Tape::<f32>::new());
    let (l64, g64) = logistic(&Tape::<f64>::new());
    assert!((f64::from(l32) - l64).abs() < 1e-6);
    for (a, b) in g32.iter().zip(&g64) {
        assert_close(&a.mapv(f64::from).view(), &b.view(), 1e-6);
    }
    // And the f64 gradient is right: dL/db = Σ σ(1 − σ).
    let z: [f64; 3] = [0.5 * 0.3 + 0.7 + 0.1, 0.6 - 0.175 + 0.1, -0.09 - 0.56 + 0.1];
    let expected: f64 = z
        .iter()
        .map(|z| {
            let s = 1.0 / (1.0 + (-z).exp());
            s * (1.0 - s)
        })
        .sum();
    assert_near(g64[1].sum(), expected, 1e-14);
}

#[test]
fn f32_numbers_and_operators() {
    let tape = Tape::<f32>::new();
    let x = tape.var(2.0f32);
    let y = 1.0 / x + 3.0 * x - x / 4.0 + (2.0 - x) * x;
    // y = 1/x + 3x − x/4 + 2x − x²; dy/dx = −1/x² + 3 − 1/4 + 2 − 2x
    assert!((y.scalar() - (0.5 + 6.0 - 0.5 + 0.0)).abs() < 1e-6);
    assert!((y.backward().scalar(x) - (-0.25 + 3.0 - 0.25 + 2.0 - 4.0)).abs() < 1e-6);
}
