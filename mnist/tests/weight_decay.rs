//! `mnist train --weight-decay λ` reaches the optimizer of both networks: the first SGD step is the plain one
//! minus `lr·λ·W`, every optimizer's updates change with it, and a run's settings without the field (written
//! before it existed) read as λ = 0 (synthetic data; no MNIST needed).

use mnist::config::{ModelChoice, OptimizerChoice, RunConfig};
use mnist::model::Model;
use mnist::train::Learner;
use ndarray::Array2;
use nn::Params;

/// The model's parameters after one step on a fixed batch.
fn after_one_step(config: &RunConfig) -> Params<f64> {
    let mut model = Model::<f64>::new(config);
    let x = Array2::from_shape_fn((6, 784), |(i, j)| ((i * 29 + j * 11) % 89) as f64 / 89.0);
    model.step(x.into(), &[3, 1, 4, 1, 5, 9]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("params.npz");
    model.save(&path).unwrap();
    Params::load_npz(&path).unwrap()
}

fn initial(config: &RunConfig) -> Params<f64> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("params.npz");
    Model::<f64>::new(config).save(&path).unwrap();
    Params::load_npz(&path).unwrap()
}

#[test]
fn the_first_sgd_step_subtracts_lr_times_lambda_times_each_weight() {
    let (lr, lambda) = (0.1, 0.25);
    for model in [ModelChoice::Mlp, ModelChoice::Cnn] {
        let plain = RunConfig {
            optimizer: OptimizerChoice::Sgd,
            learning_rate: lr,
            hidden_size: 8,
            ..model.defaults()
        };
        let decayed = RunConfig {
            weight_decay: lambda,
            ..plain.clone()
        };
        let (w0, without, with) = (
            initial(&plain),
            after_one_step(&plain),
            after_one_step(&decayed),
        );
        for (name, start) in w0.iter() {
            let expected = &without[name] - &(start * (lr * lambda));
            let largest_gap = (&with[name] - &expected)
                .iter()
                .fold(0.0f64, |m, d| m.max(d.abs()));
            assert!(
                largest_gap < 1e-15,
                "{model:?} {name}: off by {largest_gap}"
            );
        }
        // The decay is not vanishing: some weight moved by more than rounding.
        let moved = w0
            .iter()
            .any(|(_, w)| w.iter().any(|&v| (v * lr * lambda).abs() > 1e-6));
        assert!(moved, "{model:?}");
    }
}

#[test]
fn every_optimizer_is_given_the_decay() {
    for optimizer in [
        OptimizerChoice::Sgd,
        OptimizerChoice::Momentum,
        OptimizerChoice::AdaGrad,
        OptimizerChoice::Adam,
    ] {
        let plain = RunConfig {
            optimizer,
            hidden_size: 8,
            ..RunConfig::default()
        };
        let decayed = RunConfig {
            weight_decay: 0.5,
            ..plain.clone()
        };
        let (without, with) = (after_one_step(&plain), after_one_step(&decayed));
        assert_ne!(without["W1"], with["W1"], "{optimizer:?}");
        let zero = RunConfig {
            weight_decay: 0.0,
            ..plain.clone()
        };
        assert_eq!(without, after_one_step(&zero), "{optimizer:?}");
    }
}

#[test]
fn settings_saved_before_weight_decay_existed_read_as_none() {
    let mut saved = serde_json::to_value(RunConfig::default()).unwrap();
    saved
        .as_object_mut()
        .unwrap()
        .remove("weight_decay")
        .unwrap();
    let config: RunConfig = serde_json::from_value(saved).unwrap();
    assert_eq!(config.weight_decay, 0.0);
    assert_eq!(config, RunConfig::default());
}
