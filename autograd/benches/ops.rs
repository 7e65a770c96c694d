//! Primitive ops at the MNIST workload's shapes (batch 100, 784-50-10): each recorded on a fresh tape with its
//! inputs, then differentiated (`backward` of the sum of its output). One iteration is the op's forward and
//! backward plus fixed costs a training step does not always pay: copying the inputs onto a new tape, the
//! `sum` node and its seed.
//!
//! The second group times the ops a general program reaches for (softmax, gather, concatenation, batched
//! matrix products, …) at the shapes of the examples: a 10-class head on a batch of 100, an attention block
//! (8 heads or batch elements, 64 positions, 32 channels), an RNN step, a CNN's padded 28×28 input.
//!
//! The third group times the stages of the book's SimpleConvNet (conv 30×5×5 → ReLU → max-pool 2×2 →
//! Affine 4320 → 100) on a batch of 100 MNIST images. Its arrays are megabytes, which glibc returns to the
//! kernel when freed, so the figures are dominated by page faults unless freed memory is kept, as the trainer
//! does (`mnist/src/allocator.rs`): run it with `MALLOC_MMAP_THRESHOLD_=33554432
//! MALLOC_TRIM_THRESHOLD_=268435456` set.
//!
//! `cargo bench -p autograd --bench ops`

use autograd::{Tape, Var};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use ndarray::{ArrayD, Axis, IxDyn};
use rand::{rngs::StdRng, Rng, SeedableRng};

fn random(rng: &mut StdRng, shape: &[usize]) -> ArrayD<f32> {
    ArrayD::from_shape_fn(IxDyn(shape), |_| rng.random_range(-1.0..1.0))
}

/// Records `op` on its inputs (the first a constant, like the image batch, when `first_constant`), then
/// runs backward from the sum of its output; returns a gradient element so that nothing is optimised away.
fn forward_backward(
    inputs: &[ArrayD<f32>],
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
    grads
        .get(last)
        .and_then(|g| g.first().copied())
        .unwrap_or(0.0)
}

type OpFn = for<'t> fn(&[Var<'t, f32>]) -> Var<'t, f32>;

type Case = (&'static str, Vec<ArrayD<f32>>, bool, OpFn);

fn ops(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(11);
    let x = random(&mut rng, &[100, 784]);
    let w1 = random(&mut rng, &[784, 50]);
    let h = random(&mut rng, &[100, 50]);
    let b1 = random(&mut rng, &[1, 50]);
    let w2 = random(&mut rng, &[50, 10]);
    let scores = random(&mut rng, &[100, 10]);

    let cases: Vec<Case> = vec![
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
    run(c, "op forward+backward", cases);
}

fn general_ops(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(12);
    let scores = random(&mut rng, &[100, 10]);
    let h = random(&mut rng, &[100, 50]);
    let x = random(&mut rng, &[100, 784]);
    let w = random(&mut rng, &[784]);
    let q = random(&mut rng, &[8, 64, 32]);
    let k = random(&mut rng, &[8, 32, 64]);
    let images = random(&mut rng, &[100, 1, 28, 28]);
    let cases: Vec<Case> = vec![
        (
            "softmax [100,10] axis -1",
            vec![scores.clone()],
            false,
            |v| v[0].softmax(-1),
        ),
        (
            "log_softmax [100,10] axis -1",
            vec![scores.clone()],
            false,
            |v| v[0].log_softmax(-1),
        ),
        (
            "logsumexp [100,10] axis -1",
            vec![scores.clone()],
            false,
            |v| v[0].logsumexp(-1, false),
        ),
        (
            "gather [100,10] at [100,1] (labels)",
            vec![scores.clone()],
            false,
            |v| {
                let labels = ndarray::Array2::from_shape_fn((100, 1), |(i, _)| i % 10);
                v[0].gather(1, &labels)
            },
        ),
        ("sigmoid primitive [100,50]", vec![h.clone()], false, |v| {
            v[0].sigmoid()
        }),
        (
            "sigmoid composed 1/(1+exp(-x)) [100,50]",
            vec![h.clone()],
            false,
            |v| 1.0 / (1.0 + (-v[0]).exp()),
        ),
        ("var [100,50] axis 0", vec![h.clone()], false, |v| {
            v[0].var(0, 1, false)
        }),
        ("cumsum [100,50] axis 1", vec![h.clone()], false, |v| {
            v[0].cumsum(1)
        }),
        ("slice [100,50] -> [100,25]", vec![h.clone()], false, |v| {
            v[0].slice(1, 0, 25, 1)
        }),
        (
            "concat 2 x [100,50] axis 1",
            vec![h.clone(), h],
            false,
            |v| Var::concat(&[v[0], v[1]], 1),
        ),
        (
            "matmul [100,784]·[784] (matrix · vector)",
            vec![x, w],
            true,
            |v| v[0].matmul(v[1]),
        ),
        (
            "matmul batched [8,64,32]·[8,32,64]",
            vec![q, k],
            false,
            |v| v[0].matmul(v[1]),
        ),
        (
            "pad [100,1,28,28] by 2 (conv input)",
            vec![images],
            false,
            |v| v[0].pad(&[(0, 0), (0, 0), (2, 2), (2, 2)], 0.0),
        ),
    ];
    run(c, "general op forward+backward", cases);
}

fn conv_net_stages(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(13);
    let images = random(&mut rng, &[100, 1, 28, 28]);
    let filters = random(&mut rng, &[30, 1, 5, 5]);
    let bias = random(&mut rng, &[30]);
    let features = random(&mut rng, &[100, 30, 24, 24]);
    let pooled = random(&mut rng, &[100, 4320]);
    let weight = random(&mut rng, &[4320, 100]);
    let cases: Vec<Case> = vec![
        (
            "conv2d [100,1,28,28]*[30,1,5,5]+[30], images constant",
            vec![images, filters, bias],
            true,
            |v| v[0].conv2d(v[1], Some(v[2]), (1, 1), (0, 0)),
        ),
        ("relu [100,30,24,24]", vec![features.clone()], false, |v| {
            v[0].relu()
        }),
        (
            "max_pool2d [100,30,24,24] 2x2",
            vec![features],
            false,
            |v| v[0].max_pool2d((2, 2), (2, 2), (0, 0)),
        ),
        (
            "matmul [100,4320]·[4320,100]",
            vec![pooled, weight],
            false,
            |v| v[0].matmul(v[1]),
        ),
    ];
    run(c, "SimpleConvNet stage forward+backward", cases);
}

fn run(c: &mut Criterion, group: &str, cases: Vec<Case>) {
    let mut group = c.benchmark_group(group);
    for (name, inputs, first_constant, op) in cases {
        group.bench_function(BenchmarkId::from_parameter(name), |bench| {
            bench.iter(|| forward_backward(&inputs, first_constant, op))
        });
    }
    group.finish();
}

criterion_group!(benches, ops, general_ops, conv_net_stages);
criterion_main!(benches);
