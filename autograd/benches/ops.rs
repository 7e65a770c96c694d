//! Primitive ops at the MNIST workload's shapes (batch 100, 784-50-10): each recorded on a fresh tape with its
//! inputs, then differentiated (`backward` of the sum of its output). One iteration is the op's forward and
//! backward plus fixed costs a training step does not always pay: copying the inputs onto a new tape, the
//! `sum` node and its seed.
//!
//! `cargo bench -p autograd --bench ops`

use autograd::{Tape, Var};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use ndarray::{Array2, Axis};
use rand::{rngs::StdRng, Rng, SeedableRng};

fn random(rng: &mut StdRng, rows: usize, cols: usize) -> Array2<f32> {
    Array2::from_shape_fn((rows, cols), |_| rng.random_range(-1.0..1.0))
}

/// Records `op` on its inputs (the first a constant, like the image batch, when `first_constant`), then
/// runs backward from the sum of its output; returns a gradient element so that nothing is optimised away.
fn forward_backward(
    inputs: &[Array2<f32>],
    first_constant: bool,
    op: impl for<'t> Fn(&[Var<'t, f32>]) -> Var<'t, f32>,
) -> f32 {
    let tape = Tape::new();
    let vars: Vec<_> = inputs
        .iter()
        .enumerate()
        .map(|(i, x)| {
            if i == 0 && first_constant {
                tape.constant(x.clone())
            } else {
                tape.var(x.clone())
            }
        })
        .collect();
    let grads = op(&vars).sum().backward();
    let last = *vars.last().expect("at least one input");
    grads.get(last).map_or(0.0, |g| g[[0, 0]])
}

type OpFn = for<'t> fn(&[Var<'t, f32>]) -> Var<'t, f32>;

fn ops(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(11);
    let x = random(&mut rng, 100, 784);
    let w1 = random(&mut rng, 784, 50);
    let h = random(&mut rng, 100, 50);
    let b1 = random(&mut rng, 1, 50);
    let w2 = random(&mut rng, 50, 10);
    let scores = random(&mut rng, 100, 10);

    let cases: Vec<(&str, Vec<Array2<f32>>, bool, OpFn)> = vec![
        (
            "matmul x·W1 [100,784]·[784,50], x constant",
            vec![x, w1],
            true,
            |v| v[0].matmul(v[1]),
        ),
        (
            "matmul h·W2 [100,50]·[50,10]",
            vec![h.clone(), w2],
            false,
            |v| v[0].matmul(v[1]),
        ),
        (
            "add bias [100,50]+[1,50] (broadcast)",
            vec![h.clone(), b1],
            false,
            |v| v[0] + v[1],
        ),
        ("relu [100,50]", vec![h.clone()], false, |v| v[0].relu()),
        (
            "mul [100,50]*[100,50]",
            vec![h.clone(), h.clone()],
            false,
            |v| v[0] * v[1],
        ),
        ("sum over rows [100,50] -> [50]", vec![h], false, |v| {
            v[0].sum_axis(Axis(0))
        }),
        ("exp [100,10]", vec![scores.clone()], false, |v| v[0].exp()),
        (
            "max over columns [100,10] -> [100,1]",
            vec![scores],
            false,
            |v| v[0].max_axis_keepdims(Axis(1)),
        ),
    ];
    let mut group = c.benchmark_group("op forward+backward");
    for (name, inputs, first_constant, op) in cases {
        group.bench_function(BenchmarkId::from_parameter(name), |bench| {
            bench.iter(|| forward_backward(&inputs, first_constant, op))
        });
    }
    group.finish();
}

criterion_group!(benches, ops);
criterion_main!(benches);
