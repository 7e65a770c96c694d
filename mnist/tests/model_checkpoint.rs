//! A model saved with its optimizer state and loaded again continues training exactly like the original, for
//! every optimizer and both networks (synthetic data; no MNIST needed).

use std::path::Path;

use mnist::config::{ModelChoice, OptimizerChoice, RunConfig};
use mnist::model::{Element, InferenceModel, Model};
use mnist::train::Learner;
use ndarray::{Array2, ArrayD, IxDyn};
use nn::Params;

/// A checkpoint's model back from its file, as `--resume` loads it.
fn resume<T: Element>(config: &RunConfig, path: &Path) -> Result<Model<T>, String> {
    let params = Params::<T>::load_npz(path).map_err(|e| e.to_string())?;
    Model::resume(config, params, path)
}

fn batch(k: usize) -> (Array2<f32>, Vec<usize>) {
    let x = Array2::from_shape_fn((8, 784), |(i, j)| {
        ((i * 31 + j * 7 + k * 13) % 97) as f32 / 97.0
    });
    (x, (0..8).map(|i| (i + k) % 10).collect())
}

#[test]
fn a_reloaded_checkpoint_continues_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let optimizers = [
        OptimizerChoice::Sgd,
        OptimizerChoice::Momentum,
        OptimizerChoice::AdaGrad,
        OptimizerChoice::Adam,
    ];
    let runs = [ModelChoice::Mlp, ModelChoice::Cnn]
        .into_iter()
        .flat_map(|model| optimizers.map(|optimizer| (model, optimizer)));
    for (model, optimizer) in runs {
        let config = RunConfig {
            optimizer,
            hidden_size: 16,
            learning_rate: 0.05,
            ..model.defaults()
        };
        let optimizer = format!("{model:?} {optimizer:?}");
        let mut original = Model::<f32>::new(&config);
        for k in 0..3 {
            let (x, t) = batch(k);
            original.step(x.clone().into(), &t);
        }
        let path = dir.path().join(format!("{optimizer}.npz"));
        original.save_checkpoint(&path).unwrap();
        let mut reloaded = resume::<f32>(&config, &path).unwrap();
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for k in 3..6 {
            let (x, t) = batch(k);
            a.push(original.step(x.clone().into(), &t));
            b.push(reloaded.step(x.clone().into(), &t));
        }
        assert_eq!(a, b, "{optimizer}");
        assert!(
            a.iter().all(|l| l.is_finite() && *l > 0.0),
            "{optimizer}: {a:?}"
        );
        let (x, _) = batch(9);
        assert_eq!(
            original.probabilities(x.view()),
            reloaded.probabilities(x.view()),
            "{optimizer}"
        );
    }
}

#[test]
fn final_parameters_load_for_evaluation_without_optimizer_state() {
    let dir = tempfile::tempdir().unwrap();
    for choice in [ModelChoice::Mlp, ModelChoice::Cnn] {
        let config = RunConfig {
            hidden_size: 12,
            seed: 3,
            ..choice.defaults()
        };
        let model = Model::<f32>::new(&config);
        let path = dir.path().join(format!("{choice:?}.npz"));
        model.save(&path).unwrap();
        let InferenceModel::F32(loaded) = InferenceModel::load(&path).unwrap() else {
            panic!("an f32 file loads as f32")
        };
        // A fresh model of another seed differs, so equal probabilities mean the file's arrays were loaded.
        let other = Model::<f32>::new(&RunConfig { seed: 4, ..config });
        let (x, _) = batch(0);
        assert_eq!(
            model.probabilities(x.view()),
            loaded.probabilities(x.view()),
            "{choice:?}"
        );
        assert_ne!(
            other.probabilities(x.view()),
            loaded.probabilities(x.view()),
            "{choice:?}"
        );
    }
    let missing = InferenceModel::load(&dir.path().join("nope.npz"))
        .err()
        .unwrap();
    assert!(missing.contains("nope.npz"), "{missing}");
}

/// The parameters of an `--dtype f64` run load for evaluation in f64 (they used to be refused: "dtype '<f8',
/// expected '<f4'"), with exactly the saved values.
#[test]
fn f64_parameters_load_for_evaluation_in_f64() {
    let dir = tempfile::tempdir().unwrap();
    let model = Model::<f64>::new(&RunConfig {
        hidden_size: 7,
        ..RunConfig::default()
    });
    let path = dir.path().join("params.npz");
    model.save(&path).unwrap();
    let InferenceModel::F64(loaded) = InferenceModel::load(&path).unwrap() else {
        panic!("an f64 file loads as f64")
    };
    let x = batch(1).0.mapv(f64::from);
    assert_eq!(
        model.probabilities(x.view()),
        loaded.probabilities(x.view())
    );
}

/// Arrays are matched by name whatever their order in the file; a wrong one is named with its shape.
#[test]
fn arrays_are_matched_by_name_and_a_wrong_one_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let model = Model::<f32>::new(&RunConfig {
        hidden_size: 5,
        ..RunConfig::default()
    });
    let path = dir.path().join("params.npz");
    model.save(&path).unwrap();
    let mut params = Params::<f32>::load_npz(&path).unwrap();
    let sorted: Params<f32> = ["W1", "W2", "b1", "b2"]
        .into_iter()
        .map(|name| (name, params[name].clone()))
        .collect();
    sorted.save_npz(&path).unwrap();
    let InferenceModel::F32(loaded) = InferenceModel::load(&path).unwrap() else {
        panic!("f32")
    };
    let (x, _) = batch(2);
    assert_eq!(
        model.probabilities(x.view()),
        loaded.probabilities(x.view())
    );

    params.insert("W2", ArrayD::zeros(IxDyn(&[5, 3])));
    params.save_npz(&path).unwrap();
    let err = InferenceModel::load(&path).err().unwrap();
    assert_eq!(
        err,
        format!(
            "{}: array 'W2' has shape [5, 3], expected [5, 10]",
            path.display()
        )
    );
}

/// Resuming needs the optimizer's complete state: a missing part is an error naming the array (it used to
/// reset silently and give another run), and one of the wrong shape too (it used to panic).
#[test]
fn a_checkpoint_without_its_optimizer_state_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let config = RunConfig {
        optimizer: OptimizerChoice::Momentum,
        hidden_size: 4,
        ..RunConfig::default()
    };
    let mut model = Model::<f32>::new(&config);
    let (x, t) = batch(0);
    model.step(x.clone().into(), &t);
    let path = dir.path().join("checkpoint.npz");
    model.save_checkpoint(&path).unwrap();
    let mut params = Params::<f32>::load_npz(&path).unwrap();
    assert!(params.get("optimizer.v.W1").is_some());

    let mut wrong = params.clone();
    wrong.insert("optimizer.v.W1", ArrayD::zeros(IxDyn(&[3, 3])));
    wrong.save_npz(&path).unwrap();
    let err = resume::<f32>(&config, &path).err().unwrap();
    assert!(
        err.ends_with("optimizer state array v.W1 has shape [3, 3], expected [784, 4]"),
        "{err}"
    );

    params.remove("optimizer.v.b2");
    params.save_npz(&path).unwrap();
    let err = resume::<f32>(&config, &path).err().unwrap();
    assert_eq!(
        err,
        format!("{}: optimizer state array v.b2 is missing", path.display())
    );
}
