//! A model saved with its optimizer state and loaded again continues training exactly like the original, for
//! every optimizer (synthetic data; no MNIST needed).

use mnist::config::{OptimizerChoice, RunConfig};
use mnist::model::Model;
use mnist::train::Learner;
use ndarray::Array2;

fn batch(k: usize) -> (Array2<f32>, Vec<usize>) {
    let x = Array2::from_shape_fn((8, 784), |(i, j)| {
        ((i * 31 + j * 7 + k * 13) % 97) as f32 / 97.0
    });
    (x, (0..8).map(|i| (i + k) % 10).collect())
}

#[test]
fn a_reloaded_checkpoint_continues_exactly() {
    let dir = tempfile::tempdir().unwrap();
    for optimizer in [
        OptimizerChoice::Sgd,
        OptimizerChoice::Momentum,
        OptimizerChoice::AdaGrad,
        OptimizerChoice::Adam,
    ] {
        let config = RunConfig {
            optimizer,
            hidden_size: 16,
            learning_rate: 0.05,
            ..RunConfig::default()
        };
        let mut original = Model::<f32>::new(&config);
        for k in 0..3 {
            let (x, t) = batch(k);
            original.step(x.view(), &t);
        }
        let path = dir.path().join(format!("{optimizer:?}.npz"));
        original.save_checkpoint(&path).unwrap();
        let mut reloaded = Model::<f32>::load(&config, &path).unwrap();
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for k in 3..6 {
            let (x, t) = batch(k);
            a.push(original.step(x.view(), &t));
            b.push(reloaded.step(x.view(), &t));
        }
        assert_eq!(a, b, "{optimizer:?}");
        let (x, _) = batch(9);
        assert_eq!(
            original.probabilities(x.view()),
            reloaded.probabilities(x.view()),
            "{optimizer:?}"
        );
    }
}

#[test]
fn final_parameters_load_for_evaluation_without_optimizer_state() {
    let dir = tempfile::tempdir().unwrap();
    let config = RunConfig {
        hidden_size: 12,
        ..RunConfig::default()
    };
    let model = Model::<f32>::new(&config);
    let path = dir.path().join("params.npz");
    model.save(&path).unwrap();
    let loaded = Model::<f32>::load_params(&path).unwrap();
    let (x, _) = batch(0);
    assert_eq!(
        model.probabilities(x.view()),
        loaded.probabilities(x.view())
    );
    let missing = Model::<f32>::load_params(&dir.path().join("nope.npz"))
        .err()
        .unwrap();
    assert!(missing.contains("nope.npz"), "{missing}");
}
