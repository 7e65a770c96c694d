//! Helpers shared by the `module_*` tests: seeded arrays, comparisons, a caught panic's message, and central
//! differences of a loss with respect to a model's own parameter arrays.
//!
//! Each test file uses a different subset, hence the `dead_code` allowance.
#![allow(dead_code)]

use std::panic::{catch_unwind, AssertUnwindSafe};

use ndarray::{ArrayD, ArrayViewD, IxDyn, Zip};
use nn::module::{Kind, Module};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

/// A reproducible random number generator.
pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// Uniform entries in `[lo, hi)`.
pub fn uniform(rng: &mut StdRng, shape: &[usize], lo: f64, hi: f64) -> ArrayD<f64> {
    ArrayD::from_shape_fn(IxDyn(shape), |_| rng.random_range(lo..hi))
}

/// Standard normal entries.
pub fn normal(rng: &mut StdRng, shape: &[usize]) -> ArrayD<f64> {
    ArrayD::from_shape_fn(IxDyn(shape), |_| rng.sample(StandardNormal))
}

/// Asserts equal shapes and `|actual − expected| ≤ tol · max(1, |expected|)` element-wise.
#[track_caller]
pub fn assert_close(
    what: &str,
    actual: ArrayViewD<'_, f64>,
    expected: ArrayViewD<'_, f64>,
    tol: f64,
) {
    assert_eq!(actual.shape(), expected.shape(), "{what}: shapes differ");
    Zip::from(&actual).and(&expected).for_each(|&a, &e| {
        assert!(
            (a - e).abs() <= tol * e.abs().max(1.0),
            "{what}: {a} != {e} (tol {tol:e})\nactual:\n{actual}\nexpected:\n{expected}"
        );
    });
}

/// `max |a − n| / max(|a|, |n|, 1)` over the elements: the measure of `autograd::GradCheck::max_rel_error`.
pub fn max_rel_error(a: ArrayViewD<'_, f64>, n: ArrayViewD<'_, f64>) -> f64 {
    assert_eq!(a.shape(), n.shape(), "shapes differ");
    Zip::from(&a).and(&n).fold(0.0f64, |m, &a, &n| {
        m.max((a - n).abs() / a.abs().max(n.abs()).max(1.0))
    })
}

/// The message of the panic `f` raises (a test failure when it does not panic).
#[track_caller]
pub fn panic_message(f: impl FnOnce()) -> String {
    let payload = match catch_unwind(AssertUnwindSafe(f)) {
        Ok(()) => panic!("expected a panic"),
        Err(payload) => payload,
    };
    if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else {
        panic!("a panic without a message")
    }
}

/// Asserts that `f` panics with a message containing every one of `parts`.
#[track_caller]
pub fn assert_panics_with(parts: &[&str], f: impl FnOnce()) {
    let message = panic_message(f);
    for part in parts {
        assert!(
            message.contains(part),
            "panic message {message:?} lacks {part:?}"
        );
    }
}

/// Central differences with step `eps` of `loss(model)` with respect to each parameter element of `model`,
/// named and ordered like `ModuleExt::parameters`: each element is moved by `±eps` in place (through
/// `visit_mut`), the loss evaluated, and the element restored.
pub fn numeric_param_grads<M: Module<f64>>(
    model: &mut M,
    eps: f64,
    loss: impl Fn(&M) -> f64,
) -> Vec<(String, ArrayD<f64>)> {
    let mut layout = Vec::new();
    model.visit(&mut |name, kind, a| {
        if kind == Kind::Parameter {
            layout.push((name.to_owned(), a.raw_dim()));
        }
    });
    let mut grads = Vec::new();
    for (k, (name, dim)) in layout.into_iter().enumerate() {
        let mut g = ArrayD::zeros(dim);
        for i in 0..g.len() {
            let x0 = get(model, k, i);
            set(model, k, i, x0 + eps);
            let up = loss(model);
            set(model, k, i, x0 - eps);
            let down = loss(model);
            set(model, k, i, x0);
            g.as_slice_mut().expect("standard layout")[i] = (up - down) / (2.0 * eps);
        }
        grads.push((name, g));
    }
    grads
}

/// Element `i` (row-major) of the `k`-th parameter.
fn get<M: Module<f64>>(model: &mut M, k: usize, i: usize) -> f64 {
    let mut x = f64::NAN;
    with_param(model, k, |a| x = a.as_slice().expect("standard layout")[i]);
    x
}

fn set<M: Module<f64>>(model: &mut M, k: usize, i: usize, value: f64) {
    with_param(model, k, |a| {
        a.as_slice_mut().expect("standard layout")[i] = value
    });
}

fn with_param<M: Module<f64>>(model: &mut M, k: usize, f: impl FnOnce(&mut ArrayD<f64>)) {
    let (mut seen, mut f) = (0, Some(f));
    model.visit_mut(&mut |_, kind, a| {
        if kind == Kind::Parameter {
            if seen == k {
                (f.take().expect("one parameter per index"))(a);
            }
            seen += 1;
        }
    });
}
