//! The lecture's training loop, written out plainly: a 784-50-10 net, mini-batches of 100 drawn at random,
//! gradients by backpropagation, SGD with learning rate 0.1, 10,000 iterations, and the accuracy on the full
//! training and test sets once per epoch (600 iterations).
//!
//! Run: `cargo run --release --example train_mnist` (finds MNIST like the trainer: `MNIST_DIR`, the cache, or a
//! download). The `mnist` binary runs the same loop with progress, metrics, plots and checkpoints.

use std::process::ExitCode;
use std::time::Instant;

use mnist::Locator;
use nn::optim::{Optimizer, Sgd};
use nn::TwoLayerNet;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn main() -> ExitCode {
    match train() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn train() -> Result<(), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let (data, located) = Locator::from_env(None).load()?;
    eprintln!("MNIST from {located}");

    let iters_num: usize = 10_000;
    let train_size = data.train.len();
    let batch_size = 100;
    let learning_rate = 0.1f32;
    let iter_per_epoch = (train_size / batch_size).max(1);

    let mut network = TwoLayerNet::<f32>::new_seeded(784, 50, 10, 0.01, 0);
    let mut optimizer = Sgd::new(learning_rate);
    let mut rng = StdRng::seed_from_u64(0);
    let labels_of = |split: &mnist::Split, idx: &[usize]| -> Vec<usize> {
        idx.iter()
            .map(|&i| usize::from(split.labels()[i]))
            .collect()
    };
    // Accuracy over a whole split, 10,000 images at a time (converted to floats chunk by chunk).
    let accuracy = |network: &TwoLayerNet<f32>, split: &mnist::Split| -> f64 {
        let correct: f64 = (0..split.len())
            .step_by(10_000)
            .map(|start| {
                let rows: Vec<usize> = (start..(start + 10_000).min(split.len())).collect();
                let acc =
                    network.accuracy(split.batch::<f32>(&rows).view(), &labels_of(split, &rows));
                acc * rows.len() as f64
            })
            .sum();
        correct / split.len() as f64
    };

    for step in 1..=iters_num {
        // A random mini-batch (drawn with replacement, like np.random.choice).
        let batch_mask: Vec<usize> = (0..batch_size)
            .map(|_| rng.random_range(0..train_size))
            .collect();
        let x_batch = data.train.batch::<f32>(&batch_mask);
        let t_batch = labels_of(&data.train, &batch_mask);

        // Backpropagation, then the SGD update.
        let (_loss, grad) = network.gradient(x_batch.view(), &t_batch);
        optimizer.update(&mut network.params, &grad);

        if step.is_multiple_of(iter_per_epoch) {
            let train_acc = accuracy(&network, &data.train);
            let test_acc = accuracy(&network, &data.test);
            println!("Step: {step}\tTrain acc: {train_acc:.5}\tTest acc: {test_acc:.5}");
        }
    }
    println!("Wall time: {:.2} s", started.elapsed().as_secs_f64());
    Ok(())
}
