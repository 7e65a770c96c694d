//! The book's batch-normalisation experiment: the first 1000 MNIST training images, a net of five hidden ReLU
//! layers of 100 (784 → 100 ×5 → 10, the book's `MultiLayerNetExtend(784, [100]*5, 10)`), SGD with learning rate
//! 0.01 on mini-batches of 100 for 20 epochs (of 10 batches), with and without a `BatchNorm1d` after each hidden
//! `Linear` (before its ReLU), for 16 initial weight scales: normal weights of standard deviation 10^(−4k/15),
//! k = 0…15, from 1 down to 10⁻⁴ (numpy's `logspace(0, -4, 16)`), as the book's 16-panel figure has them. The
//! two nets of a panel start from the same weights and see the same batches.
//!
//! ```sh
//! cargo run --release --example batch_norm [-- --epochs N --out DIR]
//! ```
//!
//! Prints the final training accuracy (on the 1000 images) with and without batch norm for each scale, and draws
//! the training accuracy per epoch, one panel per scale (`accuracy.svg`, `accuracy.png`), into
//! `target/examples/batch_norm/` or `--out DIR`. Without batch norm the net learns only near the scale that suits
//! it (about He's √(2/n), 0.05–0.14 here); with it, it learns from almost every scale.
//!
//! As in the book, batch norm adds ε = 10⁻⁶ to the batch variance; `BatchNorm`'s default is PyTorch's 10⁻⁵,
//! which at the smallest scales is larger than the variance itself and damps the signal layer by layer (with it
//! the net with batch norm stays at chance from 10⁻⁴).

mod common;

use std::process::ExitCode;

use common::flags::Spec;
use common::plot::{self, Line, LinePlot, Panel};
use common::training::{self, Mlp, Training};
use mnist::Split;
use nn::module::Init;
use nn::optim::Sgd;
use plotters::prelude::SeriesLabelPosition;

const SPEC: Spec = Spec {
    example: "batch_norm",
    length: "epochs",
    default_length: 20,
    params: false,
};
/// The training images used, the first of the set.
const TRAIN_SIZE: usize = 1000;
const BATCH: usize = 100;
const LEARNING_RATE: f32 = 0.01;
/// The seed of the initial weights and of the batch sequence.
const SEED: u64 = 1;
/// The number of weight scales, log-spaced from 1 to 10⁻⁴.
const SCALES: usize = 16;

/// The training accuracy per epoch (from epoch 0, before training) of the net with and without batch norm,
/// from one initial weight scale.
struct Comparison {
    std: f64,
    with_bn: Vec<f64>,
    without_bn: Vec<f64>,
}

/// The `i`-th of `SCALES` standard deviations from 1 to 10⁻⁴.
fn scale(i: usize) -> f64 {
    10f64.powf(-4.0 * i as f64 / (SCALES - 1) as f64)
}

/// The training accuracies of the net with and without batch norm, from weights of standard deviation `std`,
/// over `epochs` epochs.
fn compare(train: &Split, std: f64, epochs: usize) -> Comparison {
    let net = Mlp::new(5, 100, Init::Normal(std));
    let accuracies = |net: &Mlp| {
        let mut run = Training::new(net.build(SEED), Box::new(Sgd::new(LEARNING_RATE)), SEED);
        run.epochs(train, TRAIN_SIZE, BATCH, epochs, |run| {
            run.accuracy(train, TRAIN_SIZE)
        })
    };
    let comparison = Comparison {
        std,
        with_bn: accuracies(&net.clone().with_batch_norm()),
        without_bn: accuracies(&net),
    };
    eprintln!("std {std:.3e}: trained");
    comparison
}

/// Prints the final training accuracies.
fn print_table(comparisons: &[Comparison]) {
    println!("training accuracy on the first {TRAIN_SIZE} images after the last epoch");
    println!(
        "{:>10}  {:>10}  {:>13}",
        "weight std", "batch norm", "no batch norm"
    );
    for c in comparisons {
        let last = |v: &[f64]| v.last().copied().unwrap_or(f64::NAN);
        println!(
            "{:>10.2e}  {:>10.3}  {:>13.3}",
            c.std,
            last(&c.with_bn),
            last(&c.without_bn)
        );
    }
}

/// Draws one panel per weight scale, four to a row, into `dir/accuracy.{svg,png}`.
fn plot(
    comparisons: &[Comparison],
    dir: &std::path::Path,
) -> Result<Vec<std::path::PathBuf>, String> {
    let panels = comparisons
        .iter()
        .enumerate()
        .map(|(i, c)| Panel {
            title: format!("W std {:.2e}", c.std),
            x_label: "epoch".into(),
            y_label: "train accuracy".into(),
            y_range: Some(0.0..1.0),
            lines: vec![
                Line::from_values("batch norm", 0.0, c.with_bn.iter().copied()),
                Line::from_values("no batch norm", 0.0, c.without_bn.iter().copied()),
            ],
            legend: (i == 0).then_some(SeriesLabelPosition::LowerRight),
        })
        .collect();
    let figure = LinePlot {
        panels,
        columns: 4,
        panel_size: (340, 260),
    };
    plot::write_figure(&figure, dir, "accuracy").map(Vec::from)
}

fn main() -> ExitCode {
    let (flags, data) = match training::flags_and_mnist(&SPEC) {
        Ok(both) => both,
        Err(code) => return code,
    };
    let comparisons: Vec<Comparison> = (0..SCALES)
        .map(|i| compare(&data.train, scale(i), flags.length))
        .collect();
    print_table(&comparisons);
    plot::report_written(plot(&comparisons, &flags.out))
}

/// `cargo test` runs 8 epochs from a small scale (std 0.01) on real MNIST (skipped without `MNIST_DIR` outside
/// CI): without batch norm the net stays at chance, with it, it learns.
#[test]
fn its_checks_hold() {
    let Some(dir) = mnist::mnist_dir_for_tests() else {
        return;
    };
    let data = mnist::Mnist::load(&dir).unwrap_or_else(|e| panic!("{e}"));
    assert!(scale(0) == 1.0 && (scale(SCALES - 1) - 1e-4).abs() < 1e-15);
    let comparison = compare(&data.train, 0.01, 8);
    print_table(std::slice::from_ref(&comparison));
    let (with_bn, without_bn) = (comparison.with_bn[8], comparison.without_bn[8]);
    assert!(without_bn < 0.25, "without batch norm: {without_bn}");
    assert!(
        with_bn > without_bn + 0.3,
        "with batch norm: {with_bn}, without: {without_bn}"
    );
    let out = tempfile::tempdir().expect("a temporary directory");
    let written = plot(&[comparison], out.path()).unwrap_or_else(|e| panic!("{e}"));
    assert!(written.iter().all(|path| path.exists()));
}
