//! Property tests of broadcasting over random shapes (rank 0–4, dimensions 1–5): gradients of broadcast binary
//! ops have exactly their operand's shape and equal closed forms computed here by explicit index loops, and
//! `sum_to` is the adjoint of `broadcast_to`.

mod common;

use autograd::Tape;
use common::{assert_close, broadcast_shape, broadcast_source, indices, normal, rng};
use ndarray::{ArrayD, Dimension, IxDyn};
use proptest::prelude::*;

/// A shape of rank 0–4 with dimensions 1–5.
fn shape() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(1usize..=5, 0..=4)
}

/// A shape that broadcasts to `out`: a trailing slice of it with some dimensions replaced by 1.
fn broadcasting_to(out: Vec<usize>) -> impl Strategy<Value = Vec<usize>> {
    let n = out.len();
    (0..=n, prop::collection::vec(any::<bool>(), n)).prop_map(move |(rank, ones)| {
        (n - rank..n)
            .map(|k| if ones[k] { 1 } else { out[k] })
            .collect()
    })
}

/// Two broadcast-compatible operand shapes and a seed for their values.
fn compatible_pair() -> impl Strategy<Value = (Vec<usize>, Vec<usize>, u64)> {
    shape().prop_flat_map(|out| {
        (
            broadcasting_to(out.clone()),
            broadcasting_to(out),
            any::<u64>(),
        )
    })
}

/// A shape, a shape it broadcasts to, and a seed.
fn shape_and_target() -> impl Strategy<Value = (Vec<usize>, Vec<usize>, u64)> {
    shape().prop_flat_map(|out| (broadcasting_to(out.clone()), Just(out), any::<u64>()))
}

/// For every element of an operand of shape `shape` broadcast to `out`, the sum of `weight` over the output
/// positions that read it (a loop over the output, independent of the engine).
fn scatter_by_source(
    shape: &[usize],
    out: &[usize],
    weight: impl Fn(&[usize]) -> f64,
) -> ArrayD<f64> {
    let mut acc = ArrayD::zeros(IxDyn(shape));
    for idx in indices(out) {
        acc[IxDyn(&broadcast_source(&idx, shape))] += weight(&idx);
    }
    acc
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// `d sum(a + b) / da` counts how many output positions each element of `a` was broadcast to.
    #[test]
    fn add_gradient_counts_broadcast_copies((a_shape, b_shape, seed) in compatible_pair()) {
        let mut r = rng(seed);
        let (a, b) = (normal(&mut r, &a_shape), normal(&mut r, &b_shape));
        let out = broadcast_shape(&a_shape, &b_shape);
        let tape = Tape::<f64>::new();
        let (va, vb) = (tape.var(a), tape.var(b));
        let y = va + vb;
        prop_assert_eq!(y.shape(), out.clone());
        let grads = y.sum().backward();
        let (ga, gb) = (grads.get(va).unwrap(), grads.get(vb).unwrap());
        prop_assert_eq!(ga.shape(), a_shape.as_slice());
        prop_assert_eq!(gb.shape(), b_shape.as_slice());
        assert_close(&ga, &scatter_by_source(&a_shape, &out, |_| 1.0).view(), 0.0);
        assert_close(&gb, &scatter_by_source(&b_shape, &out, |_| 1.0).view(), 0.0);
    }

    /// `d sum(a · b) / da` is the sum of `b` over the positions where each element of `a` was used.
    #[test]
    fn mul_gradient_sums_the_other_operand((a_shape, b_shape, seed) in compatible_pair()) {
        let mut r = rng(seed);
        let (a, b) = (normal(&mut r, &a_shape), normal(&mut r, &b_shape));
        let out = broadcast_shape(&a_shape, &b_shape);
        let tape = Tape::<f64>::new();
        let (va, vb) = (tape.var(a.clone()), tape.var(b.clone()));
        let y = va * vb;
        prop_assert_eq!(y.shape(), out.clone());
        let grads = y.sum().backward();
        let (ga, gb) = (grads.get(va).unwrap(), grads.get(vb).unwrap());
        prop_assert_eq!(ga.shape(), a_shape.as_slice());
        prop_assert_eq!(gb.shape(), b_shape.as_slice());
        let expected_a = scatter_by_source(&a_shape, &out, |i| b[IxDyn(&broadcast_source(i, &b_shape))]);
        let expected_b = scatter_by_source(&b_shape, &out, |i| a[IxDyn(&broadcast_source(i, &a_shape))]);
        assert_close(&ga, &expected_a.view(), 1e-12);
        assert_close(&gb, &expected_b.view(), 1e-12);
    }

    /// `broadcast_to` copies each element to the positions that read it, and `sum_to` of that gives the
    /// element times its number of copies.
    #[test]
    fn sum_to_after_broadcast_to_multiplies_by_copies((shape, target, seed) in shape_and_target()) {
        let mut r = rng(seed);
        let x = normal(&mut r, &shape);
        let tape = Tape::<f64>::new();
        let vx = tape.var(x.clone());
        let wide = vx.broadcast_to(&target);
        prop_assert_eq!(wide.shape(), target.clone());
        let wide_value = wide.value();
        for idx in indices(&target) {
            prop_assert_eq!(wide_value[IxDyn(&idx)], x[IxDyn(&broadcast_source(&idx, &shape))]);
        }
        let back = wide.sum_to(&shape);
        prop_assert_eq!(back.shape(), shape.clone());
        let copies = (target.iter().product::<usize>() / shape.iter().product::<usize>()) as f64;
        assert_close(&back.value().view(), &(&x * copies).view(), 1e-12);
    }

    /// `sum_to` is the adjoint of `broadcast_to`: `⟨broadcast_to(x), y⟩ = ⟨x, sum_to(y)⟩`, and each one's
    /// gradient is the other applied to the seed.
    #[test]
    fn sum_to_is_the_adjoint_of_broadcast_to((shape, target, seed) in shape_and_target()) {
        let mut r = rng(seed);
        let (x, y) = (normal(&mut r, &shape), normal(&mut r, &target));
        let tape = Tape::<f64>::new();
        let (vx, vy) = (tape.var(x.clone()), tape.var(y.clone()));
        let lhs = (vx.broadcast_to(&target) * tape.constant(y.clone())).sum();
        let rhs = (tape.constant(x.clone()) * vy.sum_to(&shape)).sum();
        prop_assert!((lhs.scalar() - rhs.scalar()).abs() < 1e-10 * (1.0 + lhs.scalar().abs()));

        let expected_gx = scatter_by_source(&shape, &target, |i| y[IxDyn(i)]);
        assert_close(&lhs.backward().get(vx).unwrap(), &expected_gx.view(), 1e-12);
        let expected_gy = ArrayD::from_shape_fn(IxDyn(&target), |i| {
            x[IxDyn(&broadcast_source(i.slice(), &shape))]
        });
        assert_close(&rhs.backward().get(vy).unwrap(), &expected_gy.view(), 0.0);
    }

    /// Broadcasting a shape to itself and summing to the same shape are identities (values and gradients).
    #[test]
    fn same_shape_broadcast_and_sum_are_identities((shape, seed) in (shape(), any::<u64>())) {
        let mut r = rng(seed);
        let (x, g) = (normal(&mut r, &shape), normal(&mut r, &shape));
        let tape = Tape::<f64>::new();
        let vx = tape.var(x.clone());
        let y = vx.broadcast_to(&shape).sum_to(&shape);
        prop_assert_eq!(y.value(), x);
        let grads = y.backward_with_seed(g.clone());
        prop_assert_eq!(grads.get(vx).unwrap().to_owned(), g);
    }
}
