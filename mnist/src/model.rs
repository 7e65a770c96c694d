//! The network the trainer trains: `nn`'s two-layer net with its optimizer, as a [`Learner`].

use std::path::Path;

use autograd::Float;
use ndarray::{Array2, ArrayView2};
use nn::io::{AnyParams, NpyFloat};
use nn::optim::{AdaGrad, Adam, Momentum, Optimizer, Sgd};
use nn::{functions, LayerKind, NpzError, Params, TwoLayerNet};

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

    /// A net for `config` with the parameters and the optimizer state of a checkpoint's parameters file
    /// (`params`, read from `path`, which names it in errors), to resume training.
    ///
    /// # Errors
    /// When the arrays do not fit this net (each wrong array is named) or the optimizer's state is missing,
    /// incomplete or of the wrong shape.
    pub fn resume(config: &RunConfig, params: Params<T>, path: &Path) -> Result<Self, String> {
        let mut model = Self::new(config);
        let (net, state) = split_optimizer_state(params);
        model
            .net
            .params
            .replace_from(net, path)
            .map_err(|e| e.to_string())?;
        model
            .optimizer
            .set_state(state, &model.net.params)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(model)
    }

    /// A net (for evaluation and prediction) with the parameters `params` read from `path` (which names it in
    /// errors); its hidden width is read from `W1`, and optimizer state in the file is ignored.
    ///
    /// # Errors
    /// When the arrays are not those of a two-layer net for MNIST (each wrong array is named).
    pub fn for_inference(params: Params<T>, path: &Path) -> Result<Self, String> {
        let (net, _) = split_optimizer_state(params);
        let hidden = net
            .get("W1")
            .filter(|w| w.ndim() == 2 && w.shape()[0] == INPUT && w.shape()[1] >= 1)
            .map(|w| w.shape()[1])
            .ok_or_else(|| {
                format!(
                    "{}: no 784 x H array W1 (the file has [{}]): not a two-layer MNIST net",
                    path.display(),
                    net.layout()
                )
            })?;
        let config = RunConfig {
            hidden_size: hidden,
            ..RunConfig::default()
        };
        let mut model = Self::new(&config);
        model
            .net
            .params
            .replace_from(net, path)
            .map_err(|e| e.to_string())?;
        Ok(model)
    }

    /// Saves the parameters and the optimizer's state (its arrays named `optimizer.…`) to `path`, so that
    /// [`resume`](Model::resume) continues training exactly.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn save_checkpoint(&self, path: &Path) -> Result<(), NpzError> {
        let mut all = self.net.params.clone();
        for (name, array) in self.optimizer.state(&self.net.params) {
            all.insert(format!("{OPTIMIZER_PREFIX}{name}"), array);
        }
        all.save_npz(path)
    }

    /// Saves the parameters to `path` (`.npz`, written atomically).
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn save(&self, path: &Path) -> Result<(), NpzError> {
        self.net.params.save_npz(path)
    }

    /// Class probabilities (softmax of the scores) of each row of `x`.
    pub fn probabilities(&self, x: ArrayView2<'_, T>) -> Array2<T> {
        functions::softmax(self.net.predict(x).view())
    }
}

/// Splits a parameters file's arrays into the net's and the optimizer's (named `optimizer.…`, returned without
/// that prefix).
fn split_optimizer_state<T: Element>(params: Params<T>) -> (Params<T>, Params<T>) {
    let (mut net, mut state) = (Params::new(), Params::new());
    for (name, array) in params {
        match name.strip_prefix(OPTIMIZER_PREFIX) {
            Some(rest) => state.insert(rest, array),
            None => net.insert(name, array),
        };
    }
    (net, state)
}

/// A net loaded for evaluation or prediction, in the element type its parameters file has.
pub enum InferenceModel {
    /// The file holds `<f4` arrays (a `--dtype f32` run).
    F32(Model<f32>),
    /// The file holds `<f8` arrays (a `--dtype f64` run).
    F64(Model<f64>),
}

impl InferenceModel {
    /// Loads the parameters saved in `path` (`params.npz` of a run, or a checkpoint's parameters file) in
    /// their own dtype, f32 or f64.
    ///
    /// # Errors
    /// When the file cannot be read or does not hold a two-layer MNIST net; the message names the file.
    pub fn load(path: &Path) -> Result<Self, String> {
        match AnyParams::load_npz(path).map_err(|e| e.to_string())? {
            AnyParams::F32(params) => Model::for_inference(params, path).map(InferenceModel::F32),
            AnyParams::F64(params) => Model::for_inference(params, path).map(InferenceModel::F64),
        }
    }
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
