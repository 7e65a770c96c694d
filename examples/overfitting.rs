//! The book's overfitting experiments: only the first 300 MNIST training images, a net of six hidden ReLU layers
//! of 100 (784 → 100 ×6 → 10, He-initialised), SGD with learning rate 0.01 on mini-batches of 100 for 200 epochs
//! (of 3 batches), trained three ways from the same weights on the same batches: plainly, with weight decay
//! λ = 0.1, and with dropout of probability 0.2 after each hidden ReLU.
//!
//! ```sh
//! cargo run --release --example overfitting [-- --epochs N --out DIR]
//! ```
//!
//! Prints the final accuracy on the 300 training images and on the 10,000 test images, and the gap between
//! them, for each run, and draws the two accuracies per epoch, one panel per run (`accuracy.svg`,
//! `accuracy.png`), into `target/examples/overfitting/` or `--out DIR`. The plain net learns the 300 images
//! perfectly and stops improving on the test set; weight decay and dropout narrow the gap.
//!
//! Where this differs from the book:
//! - Weight decay is the optimizer's ([`nn::optim::WeightDecay`]): `λ·p` is added to the gradient of every
//!   parameter, biases included, as PyTorch's `weight_decay` does. The book adds `½λ‖W‖²` to the loss for the
//!   weight matrices only, so its biases are not decayed; the weights' update is the same.
//! - Dropout is [`nn::module::Dropout`], inverted dropout: in training the kept activations are scaled by
//!   `1/(1 − p)` and evaluation does nothing, where the book's `Dropout` leaves training unscaled and multiplies
//!   by `1 − p` in evaluation. The two agree in expectation; the network's outputs differ by that constant.
//! - The book runs the dropout experiment for 301 epochs; here all three runs have the same length.

mod common;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use common::flags::Spec;
use common::plot::{self, Line, LinePlot, Panel};
use common::training::{self, Mlp, Training};
use mnist::Mnist;
use nn::module::Init;
use nn::optim::{Optimizer, Sgd, WeightDecay};
use plotters::prelude::SeriesLabelPosition;

const SPEC: Spec = Spec {
    example: "overfitting",
    length: "epochs",
    default_length: 200,
    params: false,
};
/// The training images used, the first of the set.
const TRAIN_SIZE: usize = 300;
const BATCH: usize = 100;
const LEARNING_RATE: f32 = 0.01;
const WEIGHT_DECAY: f32 = 0.1;
const DROPOUT: f64 = 0.2;
/// The seed of the initial weights, the batches and the dropout masks.
const SEED: u64 = 1;

/// One run's accuracies per epoch (from epoch 0, before training): on the training images and on the test
/// images.
struct Outcome {
    name: &'static str,
    train: Vec<f64>,
    test: Vec<f64>,
}

impl Outcome {
    /// The final training accuracy minus the final test accuracy.
    fn gap(&self) -> f64 {
        self.train.last().unwrap_or(&0.0) - self.test.last().unwrap_or(&0.0)
    }
}

/// The three runs: their names, nets and optimizers.
fn runs() -> [(&'static str, Mlp, Box<dyn Optimizer<f32>>); 3] {
    let net = Mlp::new(6, 100, Init::He);
    let sgd = Sgd::new(LEARNING_RATE);
    [
        ("plain", net.clone(), Box::new(sgd.clone())),
        (
            "weight decay 0.1",
            net.clone(),
            Box::new(sgd.clone().with_weight_decay(WEIGHT_DECAY)),
        ),
        ("dropout 0.2", net.with_dropout(DROPOUT), Box::new(sgd)),
    ]
}

/// Trains each run for `epochs` epochs, measuring the accuracy on the first `test_count` test images.
fn train(data: &Mnist, epochs: usize, test_count: usize) -> Vec<Outcome> {
    runs()
        .into_iter()
        .map(|(name, net, optimizer)| {
            let mut run = Training::new(net.build(SEED), optimizer, SEED);
            let accuracies = run.epochs(&data.train, TRAIN_SIZE, BATCH, epochs, |run| {
                (
                    run.accuracy(&data.train, TRAIN_SIZE),
                    run.accuracy(&data.test, test_count),
                )
            });
            eprintln!("{name}: trained");
            let (train, test) = accuracies.into_iter().unzip();
            Outcome { name, train, test }
        })
        .collect()
}

/// Prints the final accuracies and gaps.
fn print_table(outcomes: &[Outcome], test_count: usize) {
    println!("accuracy after the last epoch: on the {TRAIN_SIZE} training images, on {test_count} test images");
    println!("{:<18}{:>8}{:>8}{:>8}", "run", "train", "test", "gap");
    for o in outcomes {
        let last = |v: &[f64]| v.last().copied().unwrap_or(f64::NAN);
        println!(
            "{:<18}{:>8.4}{:>8.4}{:>8.4}",
            o.name,
            last(&o.train),
            last(&o.test),
            o.gap()
        );
    }
}

/// Draws one panel per run into `dir/accuracy.{svg,png}`.
fn plot(outcomes: &[Outcome], dir: &Path) -> Result<Vec<PathBuf>, String> {
    let panels = outcomes
        .iter()
        .map(|o| Panel {
            title: o.name.to_owned(),
            x_label: "epoch".into(),
            y_label: "accuracy".into(),
            y_range: Some(0.0..1.0),
            lines: vec![
                Line::from_values("train", 0.0, o.train.iter().copied()),
                Line::from_values("test", 0.0, o.test.iter().copied()),
            ],
            legend: Some(SeriesLabelPosition::LowerRight),
        })
        .collect();
    let figure = LinePlot {
        panels,
        columns: 3,
        panel_size: (480, 380),
    };
    plot::write_figure(&figure, dir, "accuracy").map(Vec::from)
}

fn main() -> ExitCode {
    let (flags, data) = match training::flags_and_mnist(&SPEC) {
        Ok(both) => both,
        Err(code) => return code,
    };
    let outcomes = train(&data, flags.length, data.test.len());
    print_table(&outcomes, data.test.len());
    plot::report_written(plot(&outcomes, &flags.out))
}

/// `cargo test` runs 100 epochs on real MNIST (skipped without `MNIST_DIR` outside CI), testing on 1000 test
/// images: the plain net must fit its 300 images and its train–test gap must exceed the regularised nets'. (With
/// seeds 1–3 the gaps are 0.28–0.31 plain, 0.17–0.20 with weight decay, 0.11–0.15 with dropout.)
#[test]
fn its_checks_hold() {
    let Some(dir) = mnist::mnist_dir_for_tests() else {
        return;
    };
    let data = Mnist::load(&dir).unwrap_or_else(|e| panic!("{e}"));
    let outcomes = train(&data, 100, 1000);
    print_table(&outcomes, 1000);
    let [plain, decay, dropout] = [0, 1, 2].map(|i| &outcomes[i]);
    assert!(
        plain.train[100] > 0.95,
        "the plain net fits its 300 images: {}",
        plain.train[100]
    );
    for regularised in [decay, dropout] {
        assert!(
            plain.gap() > regularised.gap() + 0.05,
            "gap: plain {}, {} {}",
            plain.gap(),
            regularised.name,
            regularised.gap()
        );
    }
    let out = tempfile::tempdir().expect("a temporary directory");
    let written = plot(&outcomes, out.path()).unwrap_or_else(|e| panic!("{e}"));
    assert!(written.iter().all(|path| path.exists()));
}
