//! The network the trainer trains: `nn`'s two-layer net with its optimizer, as a [`Learner`].

use std::path::Path;

use autograd::Float;
use ndarray::{Array2, ArrayView2};
use nn::io::NpyFloat;
use nn::optim::{AdaGrad, Adam, Momentum, Optimizer, Sgd};
use nn::{functions, LayerKind, Params, TwoLayerNet};

use crate::config::{LayerChoice, OptimizerChoice, RunConfig};
use crate::dataset::Mnist;
use crate::history::History;
use crate::train::{self, Learner, Silent};

/// The element types the trainer works in (`f32`, `f64`): computable, savable as `.npy`, convertible from pixels.
pub trait Element: Float + NpyFloat + From<u8> {}

impl<T: Float + NpyFloat + From<u8>> Element for T {}

/// The name prefix of the optimizer's arrays in a checkpoint's parameters file.
const OPTIMIZER_PREFIX: &str = "optimizer.";

/// MNIST's image size and number of classes.
const INPUT: usize = 784;
const CLASSES: usize = 10;

/// A two-layer net and the optimizer that trains it.
pub struct Model<T: Element> {
    net: TwoLayerNet<T>,
    optimizer: Box<dyn Optimizer<T> + Send + Sync>,
}

fn optimizer<T: Float>(config: &RunConfig) -> Box<dyn Optimizer<T> + Send + Sync> {
    let lr = T::lit(config.learning_rate);
    match config.optimizer {
        OptimizerChoice::Sgd => Box::new(Sgd::new(lr)),
        OptimizerChoice::Momentum => Box::new(Momentum::new(lr, T::lit(0.9))),
        OptimizerChoice::AdaGrad => Box::new(AdaGrad::new(lr)),
        OptimizerChoice::Adam => Box::new(Adam::new(lr)),
    }
}

fn layer_kind(config: &RunConfig) -> LayerKind {
    match config.layers {
        LayerChoice::Composed => LayerKind::Composed,
        LayerChoice::Fused => LayerKind::Fused,
    }
}

impl<T: Element> Model<T> {
    /// A fresh net for `config` (784-hidden-10, weights from `config.seed`).
    pub fn new(config: &RunConfig) -> Self {
        let mut net = TwoLayerNet::new_seeded(
            INPUT,
            config.hidden_size,
            CLASSES,
            config.weight_init_std,
            config.seed,
        );
        net.kind = layer_kind(config);
        Model {
            net,
            optimizer: optimizer(config),
        }
    }

    /// A net for `config` with the parameters (and optimizer state, if saved) in `path`, to resume training.
    ///
    /// # Errors
    /// When the file cannot be read or does not hold this net's parameters.
    pub fn load(config: &RunConfig, path: &Path) -> Result<Self, String> {
        let mut model = Self::new(config);
        let mut params = read_params::<T>(path)?;
        let saved: Vec<String> = params
            .names()
            .filter(|n| n.starts_with(OPTIMIZER_PREFIX))
            .map(str::to_owned)
            .collect();
        let state: Params<T> = saved
            .iter()
            .filter_map(|n| Some((&n[OPTIMIZER_PREFIX.len()..], params.remove(n)?)))
            .collect();
        model
            .optimizer
            .set_state(state)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if !params.same_layout(&model.net.params) {
            return Err(format!(
                "{}: the parameters do not fit a 784-{}-10 net",
                path.display(),
                config.hidden_size
            ));
        }
        model.net.params = params;
        Ok(model)
    }

    /// A net (for evaluation and prediction) with the parameters saved in `path`; its sizes are read from them.
    ///
    /// # Errors
    /// When the file cannot be read or does not hold a two-layer net for MNIST.
    pub fn load_params(path: &Path) -> Result<Self, String> {
        let params = read_params::<T>(path)?;
        let hidden = params
            .get("W1")
            .filter(|w| w.shape().len() == 2 && w.shape()[0] == INPUT)
            .map(|w| w.shape()[1])
            .ok_or_else(|| {
                format!(
                    "{}: no 784 x H array W1: not a two-layer MNIST net",
                    path.display()
                )
            })?;
        let config = RunConfig {
            hidden_size: hidden,
            ..RunConfig::default()
        };
        Self::load(&config, path)
    }

    /// Saves the parameters and the optimizer's state (its arrays named `optimizer.…`) to `path`, so that
    /// [`load`](Model::load) resumes training exactly.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn save_checkpoint(&self, path: &Path) -> Result<(), String> {
        let mut all = self.net.params.clone();
        for (name, array) in self.optimizer.state().iter() {
            all.insert(format!("{OPTIMIZER_PREFIX}{name}"), array.clone());
        }
        all.save_npz(path).map_err(|e| e.to_string())
    }

    /// Saves the parameters to `path` (`.npz`, written atomically).
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn save(&self, path: &Path) -> Result<(), String> {
        self.net.params.save_npz(path).map_err(|e| e.to_string())
    }

    /// Class probabilities (softmax of the scores) of each row of `x`.
    pub fn probabilities(&self, x: ArrayView2<'_, T>) -> Array2<T> {
        functions::softmax(self.net.predict(x).view())
    }
}

fn read_params<T: Element>(path: &Path) -> Result<Params<T>, String> {
    Params::load_npz(path).map_err(|e| e.to_string())
}

impl<T: Element> Learner<T> for Model<T> {
    fn step(&mut self, x: ArrayView2<'_, T>, labels: &[usize]) -> T {
        let (loss, grads) = self.net.gradient(x, labels);
        self.optimizer.update(&mut self.net.params, &grads);
        loss
    }

    fn predict_classes(&self, x: ArrayView2<'_, T>) -> Vec<usize> {
        self.net
            .predict(x)
            .rows()
            .into_iter()
            .map(functions::argmax)
            .collect()
    }
}

/// Trains a fresh model for `config` on `data` without any output (no progress, no files) and returns the run's
/// history — for tests and scripts.
pub fn train_silently<T: Element>(config: &RunConfig, data: &Mnist) -> History {
    let mut model = Model::<T>::new(config);
    let mut history = History::default();
    train::train(
        &mut model,
        data,
        &config.schedule(),
        &mut history,
        &mut Silent,
    )
    .expect("a silent run has no observer that can fail");
    history
}
