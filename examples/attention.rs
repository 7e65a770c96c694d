//! A single-head causal self-attention block, written as plainly as on paper:
//!
//! ```text
//! q, k, v = x·Wq, x·Wk, x·Wv                       x: [batch, time, channels]
//! scores  = q·kᵀ / √channels, masked above the diagonal
//! out     = softmax(scores, last axis) · v · Wo
//! ```
//!
//! with batched matrix products (the weights broadcast over the batch) and a masked softmax. The example
//! checks the block three ways: against the same attention computed with plain loops over arrays, by a
//! finite-difference gradient check of every input, and causality — the output at time `t` has zero gradient
//! with respect to every input after `t`.
//!
//! ```sh
//! cargo run --example attention
//! ```

use autograd::{gradcheck, Tape, Var};
use ndarray::{s, Array2, Array3, ArrayD};
use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};

const BATCH: usize = 2;
const TIME: usize = 5;
const CHANNELS: usize = 4;

/// The block: `x` and the weights `Wq`, `Wk`, `Wv`, `Wo`.
fn attention<'t>(v: &[Var<'t, f64>]) -> Var<'t, f64> {
    let (x, wq, wk, wv, wo) = (v[0], v[1], v[2], v[3], v[4]);
    let (q, k, values) = (x.matmul(wq), x.matmul(wk), x.matmul(wv));
    let scores = q.matmul(k.transpose(1, 2)) / (CHANNELS as f64).sqrt();
    let future = Array2::from_shape_fn((TIME, TIME), |(i, j)| j > i); // broadcast over the batch
    let weights = scores.masked_fill(future, f64::NEG_INFINITY).softmax(-1);
    weights.matmul(values).matmul(wo)
}

/// The same block with loops over plain arrays, as the reference.
fn attention_by_loops(x: &Array3<f64>, w: &[Array2<f64>]) -> Array3<f64> {
    let mut out = Array3::zeros((BATCH, TIME, CHANNELS));
    for b in 0..BATCH {
        let xb = x.slice(s![b, .., ..]);
        let (q, k, v) = (xb.dot(&w[0]), xb.dot(&w[1]), xb.dot(&w[2]));
        let mut mixed = Array2::<f64>::zeros((TIME, CHANNELS));
        for i in 0..TIME {
            let scores: Vec<f64> = (0..=i)
                .map(|j| q.row(i).dot(&k.row(j)) / (CHANNELS as f64).sqrt())
                .collect();
            let top = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let total: f64 = scores.iter().map(|s| (s - top).exp()).sum();
            for (j, s) in scores.iter().enumerate() {
                let weight = (s - top).exp() / total;
                let mut row = mixed.row_mut(i);
                row.scaled_add(weight, &v.row(j));
            }
        }
        out.slice_mut(s![b, .., ..]).assign(&mixed.dot(&w[3]));
    }
    out
}

/// Runs the three checks and prints what they found; returns the largest differences seen.
fn run() -> (f64, f64) {
    let mut rng = StdRng::seed_from_u64(7);
    let mut gaussian = |shape: &[usize], scale: f64| {
        ArrayD::from_shape_fn(shape, |_| {
            scale * Distribution::<f64>::sample(&StandardNormal, &mut rng)
        })
    };
    let x = gaussian(&[BATCH, TIME, CHANNELS], 1.0);
    let weights: Vec<ArrayD<f64>> = (0..4)
        .map(|_| gaussian(&[CHANNELS, CHANNELS], 0.5))
        .collect();
    let inputs: Vec<ArrayD<f64>> = std::iter::once(x.clone()).chain(weights.clone()).collect();

    // 1. Against loops.
    let tape = Tape::<f64>::new();
    let vars: Vec<Var<'_, f64>> = inputs.iter().map(|a| tape.var(a.clone())).collect();
    let out = attention(&vars);
    let matrices: Vec<Array2<f64>> = weights
        .iter()
        .map(|w| w.clone().into_dimensionality().expect("2-D"))
        .collect();
    let reference = attention_by_loops(&x.clone().into_dimensionality().expect("3-D"), &matrices);
    let difference = (&out.value() - &reference.into_dyn())
        .mapv(f64::abs)
        .fold(0.0, |m: f64, &d| m.max(d));
    println!(
        "output {:?}, largest difference from the loops: {difference:.2e}",
        out.shape()
    );
    assert!(difference < 1e-12);

    // 2. Finite differences, every input.
    let report = gradcheck(|v| attention(v).square().sum(), &inputs);
    println!(
        "gradient check of x, Wq, Wk, Wv, Wo: max relative error {:.2e}",
        report.max_rel_error()
    );
    assert!(report.max_rel_error() < 1e-7, "{report}");

    // 3. Causality: d out[:, t, :] / d x[:, s, :] is zero for every s > t.
    let mut leaked: f64 = 0.0;
    for t in 0..TIME {
        let tape = Tape::<f64>::new();
        let vars: Vec<Var<'_, f64>> = inputs.iter().map(|a| tape.var(a.clone())).collect();
        let at_t = attention(&vars).slice(1, t, t + 1, 1).sum();
        let grads = at_t.backward();
        let dx = grads.get(vars[0]).expect("x has a gradient");
        let future = dx.slice(s![.., t + 1.., ..]);
        leaked = future.iter().fold(leaked, |m, g| m.max(g.abs()));
        let past = dx.slice(s![.., ..=t, ..]);
        assert!(
            past.iter().any(|g| g.abs() > 0.0),
            "time {t} depends on its past"
        );
    }
    println!("largest gradient of an output with respect to a later input: {leaked}");
    assert_eq!(leaked, 0.0);
    (difference, report.max_rel_error())
}

fn main() {
    run();
}

/// `cargo test` runs the example, with its checks.
#[test]
fn its_checks_hold() {
    run();
}
