//! Softmax regression on MNIST: one affine map 784 → 10, `log_softmax` and the cross-entropy against the
//! labels, trained by mini-batch SGD. It reaches at least 92% test accuracy (asserted).
//!
//! ```sh
//! cargo run --release --example softmax_regression
//! ```
//!
//! MNIST is found as the trainer finds it (`MNIST_DIR`, the cache, or a verified download).

use std::process::ExitCode;

use autograd::Tape;
use mnist::{Locator, Mnist, Split};
use ndarray::{Array1, Array2};
use nn::loss::{cross_entropy, Reduction};
use nn::optim::{Optimizer, Sgd};
use nn::Params;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const EPOCHS: usize = 5;
const BATCH: usize = 100;
const LEARNING_RATE: f32 = 0.5;
/// The test accuracy the example must reach.
const REQUIRED: f64 = 0.92;

/// The labels of `rows` of `split`, as class indices.
fn labels(split: &Split, rows: &[usize]) -> Vec<usize> {
    rows.iter()
        .map(|&i| usize::from(split.labels()[i]))
        .collect()
}

/// The fraction of `split` whose highest score is its label.
fn accuracy(params: &Params<f32>, split: &Split) -> f64 {
    let rows: Vec<usize> = (0..split.len()).collect();
    let tape = Tape::inference();
    let p = params.on_tape(&tape);
    let scores = tape.constant(split.batch::<f32>(&rows)).matmul(p[0]) + p[1];
    let predicted = scores.argmax(-1);
    let correct = predicted
        .iter()
        .zip(labels(split, &rows))
        .filter(|&(&p, t)| p == t)
        .count();
    correct as f64 / split.len() as f64
}

/// Trains for `EPOCHS` epochs of shuffled mini-batches; returns the parameters.
fn train(data: &Mnist) -> Params<f32> {
    let mut params: Params<f32> = [
        ("W", Array2::<f32>::zeros((784, 10)).into_dyn()),
        ("b", Array1::<f32>::zeros(10).into_dyn()),
    ]
    .into_iter()
    .collect();
    let mut sgd = Sgd::new(LEARNING_RATE);
    let mut rng = StdRng::seed_from_u64(0);
    let mut order: Vec<usize> = (0..data.train.len()).collect();
    for epoch in 1..=EPOCHS {
        for i in (1..order.len()).rev() {
            order.swap(i, rng.random_range(0..=i));
        }
        let mut total = 0.0;
        for rows in order.chunks(BATCH) {
            let tape = Tape::new();
            let p = params.on_tape(&tape);
            let x = tape.constant(data.train.batch::<f32>(rows));
            let logits = x.matmul(p[0]) + p[1];
            let loss = cross_entropy(logits, &labels(&data.train, rows), Reduction::Mean);
            total += loss.scalar();
            let grads = params.take_gradients(&p, &mut loss.backward());
            sgd.update(&mut params, &grads);
        }
        let batches = order.len().div_ceil(BATCH) as f32;
        println!("epoch {epoch}: mean training loss {:.4}", total / batches);
    }
    params
}

/// Trains on `data`, prints both accuracies, and checks the test accuracy; returns it.
fn run(data: &Mnist) -> f64 {
    let params = train(data);
    let (train_acc, test_acc) = (
        accuracy(&params, &data.train),
        accuracy(&params, &data.test),
    );
    println!("train accuracy {train_acc:.4}, test accuracy {test_acc:.4}");
    assert!(
        test_acc >= REQUIRED,
        "test accuracy {test_acc} below {REQUIRED}"
    );
    test_acc
}

fn main() -> ExitCode {
    match Locator::from_env(None).load() {
        Ok((data, located)) => {
            eprintln!("MNIST from {located}");
            run(&data);
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// `cargo test` runs the example on real MNIST (skipped without `MNIST_DIR` outside CI).
#[test]
fn its_checks_hold() {
    let Some(dir) = mnist::mnist_dir_for_tests() else {
        return;
    };
    let data = Mnist::load(&dir).unwrap_or_else(|e| panic!("{e}"));
    run(&data);
}
