//! One training iteration of the lecture's net (784-50-10, batch 100, SGD) with fused and composed layers and
//! of the book's SimpleConvNet (batch 100, Adam), an evaluation chunk, and the pixel conversion (u8 -> f32 / 255) of a mini-batch and of an evaluation chunk, on
//! synthetic data of MNIST's shape (no data files needed).
//!
//! `cargo bench -p mnist --bench step`

use autograd::SparseMatrix;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use mnist::config::{LayerChoice, ModelChoice, RunConfig};
use mnist::dataset::Split;
use mnist::model::Model;
use mnist::train::{Images, Learner};
use ndarray::Array2;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn synthetic_batch(rows: usize) -> (Array2<f32>, Vec<usize>) {
    let mut rng = StdRng::seed_from_u64(1);
    // As sparse as MNIST's images: about 19% of the pixels are not background.
    let x = Array2::from_shape_fn((rows, 784), |_| {
        if rng.random_bool(0.19) {
            rng.random_range(0.0..1.0)
        } else {
            0.0
        }
    });
    let labels = (0..rows).map(|i| i % 10).collect();
    (x, labels)
}

fn training_step(c: &mut Criterion) {
    // The trainer's allocator settings (its `main` makes the same call), so that these are the trainer's
    // step times: without them the CNN's step page-faults its freed columns back in every iteration.
    mnist::allocator::retain_freed_memory();
    let (x, labels) = synthetic_batch(100);
    for layers in [LayerChoice::Fused, LayerChoice::Composed] {
        let config = RunConfig {
            layers,
            ..RunConfig::default()
        };
        let mut model = Model::<f32>::new(&config);
        c.bench_function(&format!("training step ({layers:?})"), |b| {
            b.iter_batched(
                || x.clone(),
                |x| model.step(Images::Dense(x), &labels),
                BatchSize::SmallInput,
            )
        });
    }
    // The two-layer net as the trainer feeds it: sparse images holding their transpose (the batch thread makes it).
    let sparse = SparseMatrix::from_dense(x.view()).with_transpose();
    let mut model = Model::<f32>::new(&RunConfig::default());
    c.bench_function("training step (Fused), sparse images", |b| {
        b.iter_batched(
            || Images::Sparse(sparse.clone()),
            |x| model.step(x, &labels),
            BatchSize::SmallInput,
        )
    });
    // As the trainer runs its steps: the larger products halved with a helper thread.
    let mut model = Model::<f32>::new(&RunConfig::default());
    autograd::with_product_helper(|| {
        c.bench_function("training step (Fused), with the product helper", |b| {
            b.iter_batched(
                || x.clone(),
                |x| model.step(Images::Dense(x), &labels),
                BatchSize::SmallInput,
            )
        })
    });
    let mut cnn = Model::<f32>::new(&ModelChoice::Cnn.defaults());
    c.bench_function("training step (SimpleConvNet)", |b| {
        b.iter_batched(
            || x.clone(),
            |x| cnn.step(Images::Dense(x), &labels),
            BatchSize::SmallInput,
        )
    });
    autograd::with_product_helper(|| {
        c.bench_function(
            "training step (SimpleConvNet), with the product helper",
            |b| {
                b.iter_batched(
                    || x.clone(),
                    |x| cnn.step(Images::Dense(x), &labels),
                    BatchSize::SmallInput,
                )
            },
        )
    });
}

fn evaluation_chunk(c: &mut Criterion) {
    let (x, _) = synthetic_batch(500);
    let sparse = Images::Sparse(SparseMatrix::from_dense(x.view()));
    let x = Images::Dense(x);
    let model = Model::<f32>::new(&RunConfig::default());
    c.bench_function("predict 500 images", |b| {
        b.iter(|| model.predict_classes(&x))
    });
    c.bench_function("predict 500 images, sparse", |b| {
        b.iter(|| model.predict_classes(&sparse))
    });
}

/// Each iteration converts the next batch or chunk, as the trainer does, so the bytes come from memory rather
/// than from a cache that the previous iteration warmed.
fn pixel_conversion(c: &mut Criterion) {
    let mut rng = StdRng::seed_from_u64(2);
    // As the trainer loads them: in a buffer backed by huge pages where the kernel has them.
    let mut pixels = Vec::with_capacity(60_000 * 784);
    mnist::allocator::advise_huge_pages(&mut pixels);
    pixels.extend((0..60_000 * 784).map(|_| rng.random::<u8>()));
    let images = Array2::from_shape_vec((60_000, 784), pixels).expect("60,000 rows");
    let split = Split::new(images, vec![0; 60_000]);
    let batches: Vec<Vec<usize>> = (0..600)
        .map(|_| (0..100).map(|_| rng.random_range(0..60_000)).collect())
        .collect();
    let mut next = batches.iter().cycle();
    c.bench_function("convert a mini-batch (100 random rows)", |b| {
        b.iter(|| split.batch::<f32>(next.next().expect("cycles")))
    });
    let mut chunks = (0..120).map(|i| i * 500..(i + 1) * 500).cycle();
    c.bench_function("convert an evaluation chunk (500 rows)", |b| {
        b.iter(|| split.images_float::<f32>(chunks.next().expect("cycles")))
    });
}

criterion_group!(benches, training_step, evaluation_chunk, pixel_conversion);
criterion_main!(benches);
