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
