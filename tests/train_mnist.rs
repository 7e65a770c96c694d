//! End to end on real MNIST: one epoch (600 iterations) of the lecture's training reaches 90% test accuracy,
//! with composed and with fused layers, and a run is reproducible from its seed.
//!
//! Needs the data: `MNIST_DIR` (CI sets it); without it these tests fail in CI and are skipped locally.

use mnist::config::{LayerChoice, RunConfig};
use mnist::history::History;
use mnist::model::train_silently;
use mnist::{mnist_dir_for_tests, Mnist};

fn one_epoch(data: &Mnist, layers: LayerChoice, seed: u64) -> History {
    let config = RunConfig {
        iterations: 600,
        layers,
        seed,
        ..RunConfig::default()
    };
    train_silently::<f32>(&config, data)
}

fn data() -> Option<Mnist> {
    let dir = mnist_dir_for_tests()?;
    Some(Mnist::load(&dir).expect("MNIST_DIR holds MNIST"))
}

#[test]
fn one_epoch_reaches_ninety_percent_with_either_layer_kind() {
    let Some(data) = data() else { return };
    for layers in [LayerChoice::Fused, LayerChoice::Composed] {
        let history = one_epoch(&data, layers, 1);
        let e = history
            .evaluations
            .last()
            .expect("one evaluation after 600 iterations");
        assert_eq!(e.step, 600);
        assert!(
            e.test_acc >= 0.90,
            "{layers:?}: test accuracy {} < 0.90",
            e.test_acc
        );
        assert!(
            e.train_acc >= 0.89,
            "{layers:?}: train accuracy {}",
            e.train_acc
        );
        let first: f64 = history.losses[..50].iter().sum::<f64>() / 50.0;
        let last: f64 = history.losses[550..].iter().sum::<f64>() / 50.0;
        assert!(
            last < first / 3.0,
            "{layers:?}: loss {first} -> {last} did not fall"
        );
    }
}

#[test]
fn the_same_seed_gives_the_same_run() {
    let Some(data) = data() else { return };
    let config = RunConfig {
        iterations: 50,
        eval_every: 50,
        seed: 5,
        ..RunConfig::default()
    };
    let run = || train_silently::<f32>(&config, &data);
    assert_eq!(run(), run());
}

/// Without data (and offline), the `train_mnist` example prints one `error:` line naming the problem and exits
/// 1 (it used to print the error's Debug struct). Cargo builds the examples with the tests; run alone, this
/// test says it is skipped.
#[test]
fn the_example_without_data_prints_one_error_line() {
    let deps = std::env::current_exe().unwrap();
    let example = deps
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples/train_mnist");
    if !example.exists() {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "skipped: {} is not built",
            example.display()
        );
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(&example)
        .env("MNIST_DIR", home.path().join("nothing"))
        .env("HOME", home.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        format!(
            "error: {} (from MNIST_DIR): no such directory",
            home.path().join("nothing").display()
        )
    );
}
