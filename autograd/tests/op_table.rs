//! The per-variant check table: every kind of primitive ([`Op::kinds`]) must appear in a case here, and each
//! case passes, over several shapes with broadcasting where the op has it:
//! - a first-order finite-difference check ([`common::check`], which also refuses vacuous checks);
//! - a second-order check ([`gradgradcheck`]);
//! - a forward-mode check ([`jvpcheck`]) of the function, and of its vector–Jacobian product (so the
//!   forward-mode rules also meet the nodes the backward rules record: forward over reverse).
//!
//! Coverage is observed, not declared: each case's function is run on a fresh tape and the kinds of the ops it
//! recorded are collected. A new primitive therefore fails `every_primitive_is_checked_to_second_order` until
//! a case here exercises it.

mod common;

use std::collections::BTreeSet;

use autograd::{gradgradcheck, jvpcheck, Op, Tape, Var};
use common::cases::{table, Function};
use common::{check, rng};
use ndarray::{Array2, ArrayD};

/// First-order tolerance on `max_rel_error` (as in `gradcheck_ops.rs`).
const TOL: f64 = 1e-8;
/// Second-order tolerance: the finite differences are taken of a gradient, one order less exact.
const TOL2: f64 = 1e-6;

/// `⟨u, ∂⟨v, f(x)⟩/∂x⟩` for fixed `u` and `v`: `f`'s vector–Jacobian product as a function of `x`, built with
/// `backward_graph`.
fn reverse<'t>(f: Function, x: &[Var<'t, f64>]) -> Var<'t, f64> {
    let y = f(x);
    let v = y.constant_like(ArrayD::from_elem(y.shape(), 0.7));
    let grads = y.backward_graph_with_seed(v);
    let terms = x.iter().filter_map(|&xk| {
        let g = grads.get(xk)?;
        Some((g * xk.constant_like(ArrayD::from_elem(xk.shape(), -1.3))).sum())
    });
    terms
        .reduce(|a, b| a + b)
        .unwrap_or_else(|| y.constant_like(0.0))
}

/// The kinds of the ops `f` records at `inputs`.
fn kinds_recorded(f: Function, inputs: &[ArrayD<f64>]) -> BTreeSet<&'static str> {
    let tape = Tape::<f64>::new();
    let vars: Vec<Var<'_, f64>> = inputs.iter().map(|x| tape.var(x.clone())).collect();
    f(&vars);
    (inputs.len()..tape.len())
        .map(|i| tape.node(i).op().kind())
        .collect()
}

#[test]
fn every_primitive_is_checked_to_second_order() {
    let mut first: BTreeSet<&str> = BTreeSet::new();
    let mut second: BTreeSet<&str> = BTreeSet::new();
    let mut forward: BTreeSet<&str> = BTreeSet::new();
    let mut r = rng(11);
    for case in table() {
        for inputs in (case.inputs)(&mut r) {
            let shapes: Vec<&[usize]> = inputs.iter().map(|x| x.shape()).collect();
            let kinds = kinds_recorded(case.f, &inputs);
            eprintln!("case {} at shapes {shapes:?}", case.name); // shown when a check below fails
            check(case.f, &inputs, TOL);
            first.extend(&kinds);
            let report = gradgradcheck(case.f, &inputs);
            assert!(
                report.max_rel_error() <= TOL2,
                "{}: second-order check failed at shapes {shapes:?}:\n{report}",
                case.name
            );
            second.extend(&kinds);
            for (mode, report) in [
                ("forward-mode", jvpcheck(case.f, &inputs)),
                (
                    "forward-over-reverse",
                    jvpcheck(|v| reverse(case.f, v), &inputs),
                ),
            ] {
                assert!(
                    report.max_rel_error() <= TOL,
                    "{}: {mode} check failed at shapes {shapes:?}:\n{report}",
                    case.name
                );
            }
            forward.extend(&kinds);
        }
    }
    let all: BTreeSet<&str> = Op::<f64>::kinds().into_iter().collect();
    let unchecked: Vec<_> = all.difference(&first).collect();
    assert!(
        unchecked.is_empty(),
        "no first-order check for {unchecked:?}"
    );
    let unchecked: Vec<_> = all.difference(&second).collect();
    assert!(
        unchecked.is_empty(),
        "no second-order check for {unchecked:?}"
    );
    let unchecked: Vec<_> = all.difference(&forward).collect();
    assert!(
        unchecked.is_empty(),
        "no forward-mode check for {unchecked:?}"
    );
}

/// The table is not vacuous: an op missing from it is reported.
#[test]
fn a_kind_without_a_case_is_reported() {
    let recorded = kinds_recorded(|v| v[0].exp(), &[Array2::<f64>::zeros((2, 2)).into_dyn()]);
    let missing: Vec<_> = Op::<f64>::kinds()
        .into_iter()
        .filter(|k| !recorded.contains(k))
        .collect();
    assert!(missing.contains(&"tanh") && !missing.contains(&"exp"));
}
