//! Every primitive op's backward rule against central finite differences in `f64`, over several random shapes,
//! with broadcasting for every element-wise binary op.
//!
//! `gradcheck` contracts non-scalar outputs with a fixed pseudo-random cotangent, so each check covers the whole
//! vector–Jacobian product, not just the gradient of a sum. [`common::check`] also refuses vacuous checks (an
//! input whose numeric gradient is zero everywhere).

mod common;

use std::rc::Rc;

use autograd::{gradcheck, Tape, Var};
use common::{
    away_from_zero, check, distinct, mixed_signs, normal, one_hot, rng, separated_pair,
    softmax_cross_entropy, uniform, Hypot,
};
use ndarray::{arr0, ArrayD, Axis, IxDyn};

/// The default tolerance on `max_rel_error`; it holds for every check in this file.
const TOL: f64 = 1e-8;

/// Shapes for element-wise unary ops: a number, a one-element vector, a vector, a matrix, a 3-D tensor.
const SHAPES: &[&[usize]] = &[&[], &[1], &[5], &[3, 4], &[2, 3, 4]];

/// Operand shape pairs for element-wise binary ops.
const PAIRS: &[(&[usize], &[usize])] = &[
    (&[3, 4], &[3, 4]), // same shape
    (&[3, 1], &[1, 4]), // both stretched
    (&[2, 3], &[3]),    // missing leading axis
    (&[3], &[2, 3]),    // the other way round
    (&[], &[2, 3]),     // scalar op tensor
    (&[2, 3], &[]),     // tensor op scalar
    (&[2, 1, 4], &[3, 1]),
    (&[], &[]), // numbers
];

fn check_unary<F>(f: F, gen: impl Fn(&mut rand::rngs::StdRng, &[usize]) -> ArrayD<f64>)
where
    F: for<'t> Fn(Var<'t, f64>) -> Var<'t, f64>,
{
    let mut r = rng(1);
    for shape in SHAPES {
        let x = gen(&mut r, shape);
        check(|v| f(v[0]), &[x], TOL);
    }
}

fn check_binary<F>(
    pairs: &[(&[usize], &[usize])],
    f: F,
    gen: impl Fn(&mut rand::rngs::StdRng, &[usize], &[usize]) -> (ArrayD<f64>, ArrayD<f64>),
) where
    F: for<'t> Fn(Var<'t, f64>, Var<'t, f64>) -> Var<'t, f64>,
{
    let mut r = rng(2);
    for (a_shape, b_shape) in pairs {
        let (a, b) = gen(&mut r, a_shape, b_shape);
        let report = check(|v| f(v[0], v[1]), &[a, b], TOL);
        assert_eq!(report.inputs[0].analytic.shape(), *a_shape);
        assert_eq!(report.inputs[1].analytic.shape(), *b_shape);
    }
}

fn normal_pair(r: &mut rand::rngs::StdRng, a: &[usize], b: &[usize]) -> (ArrayD<f64>, ArrayD<f64>) {
    (normal(r, a), normal(r, b))
}

// ---------------------------------------------------------------------------------------------------------------
// Element-wise binary ops, with broadcasting

#[test]
fn add_broadcast() {
    check_binary(PAIRS, |a, b| a + b, normal_pair);
}

#[test]
fn sub_broadcast() {
    check_binary(PAIRS, |a, b| a - b, normal_pair);
}

#[test]
fn mul_broadcast() {
    check_binary(PAIRS, |a, b| a * b, normal_pair);
}

#[test]
fn div_broadcast() {
    check_binary(
        PAIRS,
        |a, b| a / b,
        |r, a, b| (normal(r, a), away_from_zero(r, b, 0.5, 2.0)),
    );
}

/// For `maximum`/`minimum` each operand must win somewhere, which two numbers cannot both do: they are checked
/// separately below.
const PAIRS_WITHOUT_NUMBERS: &[(&[usize], &[usize])] = PAIRS.split_at(PAIRS.len() - 1).0;

#[test]
fn maximum_broadcast() {
    check_binary(
        PAIRS_WITHOUT_NUMBERS,
        |a, b| a.maximum(b),
        |r, a, b| separated_pair(r, a, b, 0.1),
    );
}

#[test]
fn minimum_broadcast() {
    check_binary(
        PAIRS_WITHOUT_NUMBERS,
        |a, b| a.minimum(b),
        |r, a, b| separated_pair(r, a, b, 0.1),
    );
}

/// The whole gradient goes to the larger (smaller) number, in either argument order.
#[test]
fn maximum_and_minimum_of_numbers() {
    for (a0, b0) in [(-0.7, 1.3), (1.3, -0.7)] {
        let inputs = [arr0(a0).into_dyn(), arr0(b0).into_dyn()];
        gradcheck(|v| v[0].maximum(v[1]), &inputs).assert_within(TOL);
        gradcheck(|v| v[0].minimum(v[1]), &inputs).assert_within(TOL);
        let tape = Tape::<f64>::new();
        let (a, b) = (tape.var(a0), tape.var(b0));
        let a_is_max = if a0 > b0 { 1.0 } else { 0.0 };
        let max = a.maximum(b).backward();
        assert_eq!((max.scalar(a), max.scalar(b)), (a_is_max, 1.0 - a_is_max));
        let min = a.minimum(b).backward();
        assert_eq!((min.scalar(a), min.scalar(b)), (1.0 - a_is_max, a_is_max));
    }
}

#[test]
fn binary_op_with_itself_accumulates() {
    let mut r = rng(3);
    let x = away_from_zero(&mut r, &[3, 4], 0.5, 2.0);
    check(|v| v[0] * v[0] + v[0].exp() / v[0] - v[0], &[x], TOL);
}

// ---------------------------------------------------------------------------------------------------------------
// Element-wise unary ops

#[test]
fn neg() {
    check_unary(|x| -x, normal);
}

#[test]
fn exp() {
    check_unary(|x| x.exp(), |r, s| uniform(r, s, -2.0, 2.0));
}

#[test]
fn ln() {
    check_unary(|x| x.log(), |r, s| uniform(r, s, 0.5, 3.0));
}

#[test]
fn recip() {
    check_unary(|x| x.recip(), |r, s| away_from_zero(r, s, 0.5, 2.0));
}

#[test]
fn powf_constant_exponent() {
    for c in [2.0, 3.0, 0.5, -1.5, 2.7] {
        check_unary(move |x| x.powf(c), |r, s| uniform(r, s, 0.5, 2.0));
    }
}

#[test]
fn sqrt() {
    check_unary(|x| x.sqrt(), |r, s| uniform(r, s, 0.5, 3.0));
}

#[test]
fn tanh() {
    check_unary(|x| x.tanh(), |r, s| uniform(r, s, -2.0, 2.0));
}

#[test]
fn relu() {
    check_unary(|x| x.relu(), |r, s| mixed_signs(r, s, 0.1, 2.0));
}

#[test]
fn abs() {
    check_unary(|x| x.abs(), |r, s| mixed_signs(r, s, 0.1, 2.0));
}

// ---------------------------------------------------------------------------------------------------------------
// Ops with a number

#[test]
fn add_number() {
    check_unary(|x| x + 1.5, normal);
}

#[test]
fn sub_number() {
    check_unary(|x| x - 1.5, normal);
}

#[test]
fn number_sub() {
    check_unary(|x| 1.5 - x, normal);
}

#[test]
fn mul_number() {
    check_unary(|x| x * -2.5, normal);
}

#[test]
fn number_mul() {
    check_unary(|x| -2.5 * x, normal);
}

#[test]
fn number_div() {
    check_unary(|x| 3.0 / x, |r, s| away_from_zero(r, s, 0.5, 2.0));
    check_unary(|x| 1.0 / x, |r, s| away_from_zero(r, s, 0.5, 2.0));
}

#[test]
fn div_number() {
    check_unary(|x| x / 4.0, normal);
}

// ---------------------------------------------------------------------------------------------------------------
// Matrix product

const MATMUL_SHAPES: &[(usize, usize, usize)] = &[
    (1, 1, 1),
    (1, 5, 1), // row · column
    (4, 1, 3), // column · row (outer product)
    (1, 4, 3), // 1xN · NxM
    (3, 4, 1), // MxN · Nx1
    (3, 4, 2),
    (5, 3, 6),
];

#[test]
fn matmul() {
    let mut r = rng(4);
    for &(m, k, n) in MATMUL_SHAPES {
        let (a, b) = (normal(&mut r, &[m, k]), normal(&mut r, &[k, n]));
        check(|v| v[0].matmul(v[1]), &[a, b], TOL);
    }
}

/// The transposed-operand products that backward passes record (and so second derivatives differentiate).
#[test]
fn matmul_with_transposed_operands() {
    let mut r = rng(5);
    for &(m, k, n) in MATMUL_SHAPES {
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let a_shape = if ta { [k, m] } else { [m, k] };
            let b_shape = if tb { [n, k] } else { [k, n] };
            let (a, b) = (normal(&mut r, &a_shape), normal(&mut r, &b_shape));
            let report = check(
                |v| {
                    let a = if ta { v[0].t() } else { v[0] };
                    let b = if tb { v[1].t() } else { v[1] };
                    a.matmul(b)
                },
                &[a, b],
                TOL,
            );
            assert_eq!(report.inputs[0].analytic.shape(), a_shape);
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Movement ops

#[test]
fn transpose() {
    let mut r = rng(6);
    for shape in SHAPES {
        // `t()` is the matrix transpose; reversing all axes of any rank is `permute`.
        let reversed: Vec<usize> = (0..shape.len()).rev().collect();
        check(|v| v[0].permute(&reversed), &[normal(&mut r, shape)], TOL);
        if shape.len() <= 2 {
            check(|v| v[0].t(), &[normal(&mut r, shape)], TOL);
        }
    }
    // Transposing a matrix really swaps the axes seen by a broadcast partner.
    let (x, w) = (normal(&mut r, &[3, 4]), normal(&mut r, &[3]));
    check(|v| v[0].t() * v[1], &[x, w], TOL);
}

#[test]
fn permute() {
    let mut r = rng(7);
    let perms3: &[[usize; 3]] = &[
        [0, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
    ];
    for axes in perms3 {
        let x = normal(&mut r, &[2, 3, 4]);
        check(|v| v[0].permute(axes), &[x], TOL);
    }
    let x = normal(&mut r, &[2, 3, 1, 4]);
    check(|v| v[0].permute(&[3, 0, 2, 1]), &[x], TOL);
}

#[test]
fn reshape() {
    let mut r = rng(8);
    let cases: &[(&[usize], &[usize])] = &[
        (&[2, 3, 4], &[6, 4]),
        (&[2, 3, 4], &[24]),
        (&[2, 3, 4], &[4, 3, 2]),
        (&[6], &[2, 1, 3]),
        (&[1], &[]),
        (&[], &[1, 1]),
    ];
    for (from, to) in cases {
        check(|v| v[0].reshape(to), &[normal(&mut r, from)], TOL);
    }
}

#[test]
fn broadcast_to() {
    let mut r = rng(9);
    let cases: &[(&[usize], &[usize])] = &[
        (&[3], &[2, 3]),
        (&[3, 1], &[3, 4]),
        (&[], &[2, 2]),
        (&[1, 4], &[2, 3, 4]),
        (&[2, 1, 3], &[2, 4, 3]),
        (&[2, 3], &[2, 3]),
    ];
    for (from, to) in cases {
        check(|v| v[0].broadcast_to(to), &[normal(&mut r, from)], TOL);
    }
}

#[test]
fn sum_to() {
    let mut r = rng(10);
    let cases: &[(&[usize], &[usize])] = &[
        (&[2, 3, 4], &[3, 1]),
        (&[2, 3, 4], &[1, 3, 1]),
        (&[2, 3, 4], &[4]),
        (&[2, 3], &[3]),
        (&[2, 3], &[2, 1]),
        (&[2, 3], &[]),
        (&[2, 3], &[2, 3]),
    ];
    for (from, to) in cases {
        check(|v| v[0].sum_to(to), &[normal(&mut r, from)], TOL);
    }
}

#[test]
fn take_rows_with_repeats() {
    let mut r = rng(11);
    // Row 2 is taken three times and row 3 never: its gradient must be zero and row 2's the sum of three.
    let x = normal(&mut r, &[4, 3]);
    let report = check(|v| v[0].take_rows(&[2, 0, 2, 2, 1]), &[x], TOL);
    assert!(report.inputs[0]
        .analytic
        .index_axis(Axis(0), 3)
        .iter()
        .all(|&g| g == 0.0));
    let x = normal(&mut r, &[5]);
    check(|v| v[0].take_rows(&[4, 4, 0]), &[x], TOL);
    let x = normal(&mut r, &[3, 2, 2]);
    check(|v| v[0].take_rows(&[1, 1, 1, 0, 2]), &[x], TOL);
}

#[test]
fn scatter_rows_with_repeats() {
    let mut r = rng(12);
    let x = normal(&mut r, &[5, 3]);
    check(|v| v[0].scatter_rows(4, &[1, 3, 1, 0, 1]), &[x], TOL);
    let x = normal(&mut r, &[3]);
    check(|v| v[0].scatter_rows(6, &[5, 0, 5]), &[x], TOL);
}

#[test]
fn select_with_constant_mask() {
    let mut r = rng(13);
    let mask23 =
        ArrayD::from_shape_vec(IxDyn(&[2, 3]), vec![true, false, true, false, false, true])
            .unwrap();
    let mask3 = ArrayD::from_shape_vec(IxDyn(&[3]), vec![false, true, true]).unwrap();
    let mask21 = ArrayD::from_shape_vec(IxDyn(&[2, 1]), vec![true, false]).unwrap();
    let cases: Vec<(&ArrayD<bool>, &[usize], &[usize])> = vec![
        (&mask23, &[2, 3], &[2, 3]), // same shape
        (&mask23, &[3], &[2, 1]),    // the mask widens both operands
        (&mask3, &[2, 3], &[]),      // a broadcast mask and a scalar operand
        (&mask21, &[], &[3]),        // the output is wider than every input
    ];
    for (mask, a_shape, b_shape) in cases {
        let (a, b) = (normal(&mut r, a_shape), normal(&mut r, b_shape));
        let report = check(|v| v[0].where_(mask, v[1]), &[a, b], TOL);
        assert_eq!(report.inputs[0].analytic.shape(), a_shape);
        assert_eq!(report.inputs[1].analytic.shape(), b_shape);
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Reductions

#[test]
fn sum() {
    let mut r = rng(14);
    for shape in SHAPES {
        check(|v| v[0].sum(), &[normal(&mut r, shape)], TOL);
    }
}

#[test]
fn mean() {
    let mut r = rng(15);
    for shape in SHAPES {
        check(|v| v[0].mean(), &[normal(&mut r, shape)], TOL);
    }
}

/// Shapes with at least one axis, for the per-axis reductions.
const AXIS_SHAPES: &[&[usize]] = &[&[5], &[1, 4], &[3, 4], &[2, 3, 4]];

fn each_axis(seed: u64, f: impl Fn(ArrayD<f64>, usize)) {
    let mut r = rng(seed);
    for shape in AXIS_SHAPES {
        for axis in 0..shape.len() {
            f(normal(&mut r, shape), axis);
        }
    }
}

#[test]
fn sum_axis() {
    each_axis(16, |x, axis| {
        check(|v| v[0].sum_axis(Axis(axis)), &[x], TOL);
    });
}

#[test]
fn sum_axis_keepdims() {
    each_axis(17, |x, axis| {
        check(|v| v[0].sum_axis_keepdims(Axis(axis)), &[x], TOL);
    });
}

#[test]
fn mean_axis() {
    each_axis(18, |x, axis| {
        check(|v| v[0].mean_axis(Axis(axis)), &[x], TOL);
    });
}

#[test]
fn max_axis() {
    let mut r = rng(19);
    for shape in AXIS_SHAPES {
        for axis in 0..shape.len() {
            let x = distinct(&mut r, shape, 0.1);
            check(|v| v[0].max_axis(Axis(axis)), &[x], TOL);
        }
    }
}

#[test]
fn max_axis_keepdims() {
    let mut r = rng(20);
    for shape in AXIS_SHAPES {
        for axis in 0..shape.len() {
            let x = distinct(&mut r, shape, 0.1);
            check(|v| v[0].max_axis_keepdims(Axis(axis)), &[x], TOL);
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// A composed expression and a custom op

#[test]
fn softmax_cross_entropy_from_primitives() {
    let mut r = rng(21);
    let (n, d, c) = (6, 4, 3);
    let x = normal(&mut r, &[n, d]);
    let w = normal(&mut r, &[d, c]);
    let b = normal(&mut r, &[c]);
    let onehot = one_hot(&[0, 2, 1, 1, 0, 2], c);
    let report = check(
        |v| {
            let t = v[0].tape().constant(onehot.clone());
            let logits = v[0].matmul(v[1]) + v[2];
            softmax_cross_entropy(logits, t)
        },
        &[x, w, b],
        TOL,
    );
    // The bias gradient of softmax cross-entropy sums to zero over classes (probabilities and targets both
    // sum to one in every row).
    assert!(report.inputs[2].analytic.sum().abs() < 1e-12);
}

#[test]
fn custom_op() {
    let mut r = rng(22);
    for shape in [&[][..], &[4], &[2, 3]] {
        let (a, b) = (
            away_from_zero(&mut r, shape, 0.3, 2.0),
            normal(&mut r, shape),
        );
        check(|v| v[0].custom(Hypot, &[v[1]]), &[a, b], TOL);
    }
    // Shared through an `Rc` by two nodes, with the same input twice.
    let x = away_from_zero(&mut r, &[3], 0.3, 2.0);
    let op: Rc<dyn autograd::ErasedOp<f64>> = Rc::new(Hypot);
    check(
        |v| v[0].custom_rc(op.clone(), &[v[0]]) * v[0].custom_rc(op.clone(), &[v[0] * 2.0]),
        &[x],
        TOL,
    );
}
