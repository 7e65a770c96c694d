//! The network the trainer trains — `nn`'s two-layer net or the book's SimpleConvNet on `nn`'s layer library —
//! with its optimizer, as a [`Learner`].

use std::path::Path;

use autograd::{Float, Tape};
use ndarray::{Array2, ArrayD, ArrayView2, ArrayViewD, Axis, Ix2, Zip};
use nn::io::{AnyParams, NpyFloat};
use nn::loss::{cross_entropy, Reduction};
use nn::module::{
    Conv2d, Flatten, Init, Linear, MaxPool2d, Module, ModuleExt, Pass, ReLU, Sequential,
};
use nn::optim::{AdaGrad, Adam, Momentum, Optimizer, Sgd, WeightDecay};
use nn::{functions, LayerKind, NpzError, Params, TwoLayerNet};
use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::config::{LayerChoice, ModelChoice, OptimizerChoice, RunConfig};
use crate::dataset::Mnist;
use crate::history::History;
use crate::train::{self, Images, Learner, Silent};

/// The element types the trainer works in (`f32`, `f64`): computable, savable as `.npy`, convertible from pixels.
pub trait Element: Float + NpyFloat + From<u8> {}

impl<T: Float + NpyFloat + From<u8>> Element for T {}

/// The name prefix of the optimizer's arrays in a checkpoint's parameters file.
const OPTIMIZER_PREFIX: &str = "optimizer.";

/// MNIST's image size, side and number of classes.
const INPUT: usize = 784;
const SIDE: usize = 28;
const CLASSES: usize = 10;

/// A network and the optimizer that trains it.
pub struct Model<T: Element> {
    net: Net<T>,
    optimizer: Box<dyn Optimizer<T> + Send + Sync>,
    /// Whether the trainer hands the net sparse images (the two-layer net, unless dense ones were asked for).
    sparse_images: bool,
}

/// The two networks the trainer knows.
enum Net<T: Element> {
    /// The lecture's two-layer net.
    Mlp(TwoLayerNet<T>),
    /// The book's SimpleConvNet on the layer library.
    Cnn(Sequential<T>),
}

/// The book's SimpleConvNet: `filters` convolutions of `kernel × kernel` (stride 1, no padding) → ReLU →
/// max-pool 2×2 → Affine `hidden` → ReLU → Affine 10, its weights normal with standard deviation `std` and its
/// biases zero (the book's `weight_init_std`, 0.01), drawn from `seed`.
pub fn simple_conv_net<T: Element>(
    filters: usize,
    kernel: usize,
    hidden: usize,
    std: f64,
    seed: u64,
) -> Sequential<T> {
    let mut rng = StdRng::seed_from_u64(seed);
    let init = Init::Normal(std);
    // The convolution's output side, then the pooling's (windows of POOL, floor division as in PyTorch).
    let side = (SIDE - kernel + 1) / POOL;
    Sequential::new()
        .push(Conv2d::with_init(
            1,
            filters,
            (kernel, kernel),
            init,
            &mut rng,
        ))
        .push(ReLU)
        .push(MaxPool2d::new(POOL))
        .push(Flatten)
        .push(Linear::with_init(
            filters * side * side,
            hidden,
            init,
            &mut rng,
        ))
        .push(ReLU)
        .push(Linear::with_init(hidden, CLASSES, init, &mut rng))
}

/// The book's SimpleConvNet's filters: 30 of 5×5.
const FILTERS: usize = 30;
const KERNEL: usize = 5;
/// Its max-pooling windows: 2×2, stride 2.
const POOL: usize = 2;
/// SimpleConvNet's layers that work image by image (convolution, ReLU, pooling, flattening): when predicting,
/// they run on [`CNN_FEATURE_BATCH`] images at a time and the Linear layers after them on [`CNN_PREDICT_BATCH`].
const CNN_FEATURE_LAYERS: usize = 4;
/// Images per forward pass of the layers before the Linear ones when the CNN predicts. Each of the convolution's
/// activations is 69 KiB an image, so 25 images keep them near the core's L2 cache from one element-wise pass to
/// the next where 100 (6.6 MiB) went out to L3 and back: `mnist eval` (70,000 images) 2.15-2.22 s -> 1.79-1.90 s
/// (Zen 4, alternating; 10, 16, 40 and 50 were slower).
const CNN_FEATURE_BATCH: usize = 25;
/// Images per forward pass of the Linear layers when the CNN predicts: their product packs the 4320 x 100 weight
/// once a pass and the pass copies it onto its tape, which with 25 rows a pass took a fifth of the work. With
/// 500 (8.4 MiB of f32 features): `mnist eval` 2.04-2.10 s -> 1.57-1.61 s (Zen 4, alternating).
const CNN_PREDICT_BATCH: usize = 500;

impl<T: Element> Net<T> {
    fn new(config: &RunConfig) -> Self {
        match config.model {
            ModelChoice::Mlp => {
                let mut net = TwoLayerNet::new_seeded(
                    INPUT,
                    config.hidden_size,
                    CLASSES,
                    config.weight_init_std,
                    config.seed,
                );
                net.kind = layer_kind(config);
                Net::Mlp(net)
            }
            ModelChoice::Cnn => Net::Cnn(simple_conv_net(
                FILTERS,
                KERNEL,
                config.hidden_size,
                config.weight_init_std,
                config.seed,
            )),
        }
    }

    /// The trained arrays, named (what the optimizer's state is laid out like).
    fn params(&self) -> Params<T> {
        match self {
            Net::Mlp(net) => net.params.clone(),
            Net::Cnn(net) => net.state_dict(),
        }
    }

    /// Replaces the arrays by `params` (read from `path`, which names it in errors), checking names and shapes.
    fn load(&mut self, params: Params<T>, path: &Path) -> Result<(), String> {
        match self {
            Net::Mlp(net) => net
                .params
                .replace_from(params, path)
                .map_err(|e| e.to_string()),
            Net::Cnn(net) => net
                .load_state_dict(params)
                .map_err(|e| format!("{}: {e}", path.display())),
        }
    }

    /// The class scores of each row of `x`.
    fn scores(&self, x: ArrayView2<'_, T>) -> Array2<T> {
        match self {
            Net::Mlp(net) => net.predict(&x),
            Net::Cnn(net) => {
                let (features, classifier) = net.layers().split_at(CNN_FEATURE_LAYERS);
                let mut scores = Array2::zeros((x.nrows(), CLASSES));
                for (rows, out) in x
                    .axis_chunks_iter(Axis(0), CNN_PREDICT_BATCH)
                    .zip(scores.axis_chunks_iter_mut(Axis(0), CNN_PREDICT_BATCH))
                {
                    // Each feature pass's output is copied from its tape straight into the classifier's input.
                    let mut flat = Vec::new();
                    for images_rows in rows.axis_chunks_iter(Axis(0), CNN_FEATURE_BATCH) {
                        evaluate(features, images(images_rows.to_owned()), |y| {
                            match y.as_slice() {
                                Some(y) => flat.extend_from_slice(y),
                                None => flat.extend(y.iter().copied()),
                            }
                        });
                    }
                    let width = flat.len() / rows.nrows();
                    let flat = ArrayD::from_shape_vec(vec![rows.nrows(), width], flat)
                        .expect("[n, features] rows");
                    evaluate(classifier, flat, |y| {
                        let y = y.into_dimensionality::<Ix2>().expect("[N, 10] scores");
                        Zip::from(out).and(&y).for_each(|o, &v| *o = v);
                    });
                }
                scores
            }
        }
    }
}

/// `layers` run one after the other on `x` in evaluation mode, on a tape that keeps no graph; `f` reads the
/// output where the tape holds it.
fn evaluate<T: Element, R>(
    layers: &[Box<dyn Module<T> + Send + Sync>],
    x: ArrayD<T>,
    f: impl FnOnce(ArrayViewD<'_, T>) -> R,
) -> R {
    let tape = Tape::inference();
    let y = layers.iter().fold(tape.constant(x), |h, layer| {
        layer.forward(h, &Pass::eval(layer.as_ref(), &tape))
    });
    y.with_value(f)
}

/// Rows of 784 pixels as `[N, 1, 28, 28]` images.
fn images<T: Element>(rows: Array2<T>) -> ArrayD<T> {
    let n = rows.nrows();
    rows.into_shape_with_order((n, 1, SIDE, SIDE))
        .expect("rows of 784 pixels")
        .into_dyn()
}

fn optimizer<T: Float>(config: &RunConfig) -> Box<dyn Optimizer<T> + Send + Sync> {
    let (lr, decay) = (T::lit(config.learning_rate), T::lit(config.weight_decay));
    match config.optimizer {
        OptimizerChoice::Sgd => Box::new(Sgd::new(lr).with_weight_decay(decay)),
        OptimizerChoice::Momentum => {
            Box::new(Momentum::new(lr, T::lit(0.9)).with_weight_decay(decay))
        }
        OptimizerChoice::AdaGrad => Box::new(AdaGrad::new(lr).with_weight_decay(decay)),
        OptimizerChoice::Adam => Box::new(Adam::new(lr).with_weight_decay(decay)),
    }
}

fn layer_kind(config: &RunConfig) -> LayerKind {
    match config.layers {
        LayerChoice::Composed => LayerKind::Composed,
        LayerChoice::Fused => LayerKind::Fused,
    }
}

impl<T: Element> Model<T> {
    /// A fresh net for `config` (weights from `config.seed`).
    pub fn new(config: &RunConfig) -> Self {
        Model {
            net: Net::new(config),
            optimizer: optimizer(config),
            sparse_images: config.model == ModelChoice::Mlp && !config.dense_images,
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
        model.net.load(net, path)?;
        model
            .optimizer
            .set_state(state, &model.net.params())
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(model)
    }

    /// A net (for evaluation and prediction) with the parameters `params` read from `path` (which names it in
    /// errors): a two-layer net when the file has `W1` (its hidden width read from it), a SimpleConvNet when it
    /// has `0.weight` (its hidden width read from `4.weight`). Optimizer state in the file is ignored.
    ///
    /// # Errors
    /// When the arrays are not those of either net for MNIST (each wrong array is named).
    pub fn for_inference(params: Params<T>, path: &Path) -> Result<Self, String> {
        let (net, _) = split_optimizer_state(params);
        let matrix = |name: &str, rows: Option<usize>| {
            net.get(name)
                .filter(|w| {
                    w.ndim() == 2 && rows.is_none_or(|r| w.shape()[0] == r) && w.shape()[1] >= 1
                })
                .map(|w| w.shape().to_vec())
        };
        let config = match (matrix("W1", Some(INPUT)), net.get("0.weight")) {
            (Some(w1), _) => RunConfig {
                hidden_size: w1[1],
                ..RunConfig::default()
            },
            (None, Some(_)) => RunConfig {
                hidden_size: matrix("4.weight", None).map_or(0, |w| w[0]),
                ..ModelChoice::Cnn.defaults()
            },
            (None, None) => {
                return Err(format!(
                    "{}: no 784 x H array W1 and no 0.weight (the file has [{}]): not a two-layer net or a \
                     SimpleConvNet for MNIST",
                    path.display(),
                    net.layout()
                ))
            }
        };
        let mut model = Self::new(&config);
        model.net.load(net, path)?;
        Ok(model)
    }

    /// Saves the parameters and the optimizer's state (its arrays named `optimizer.…`) to `path`, so that
    /// [`resume`](Model::resume) continues training exactly.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn save_checkpoint(&self, path: &Path) -> Result<(), NpzError> {
        let params = self.net.params();
        let mut all = params.clone();
        for (name, array) in self.optimizer.state(&params) {
            all.insert(format!("{OPTIMIZER_PREFIX}{name}"), array);
        }
        all.save_npz(path)
    }

    /// Saves the parameters to `path` (`.npz`, written atomically).
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn save(&self, path: &Path) -> Result<(), NpzError> {
        self.net.params().save_npz(path)
    }

    /// Class probabilities (softmax of the scores) of each row of `x`.
    pub fn probabilities(&self, x: ArrayView2<'_, T>) -> Array2<T> {
        functions::softmax(self.net.scores(x).view())
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
    /// Loads the parameters saved in `path` (`params.npz` of a run, a checkpoint's parameters file, or the same
    /// arrays as `.safetensors`) in their own dtype, f32 or f64.
    ///
    /// # Errors
    /// When the file cannot be read or does not hold a two-layer MNIST net; the message names the file.
    pub fn load(path: &Path) -> Result<Self, String> {
        // `.safetensors` by its name; anything else is read as `.npz`, whatever it is called, as before.
        let is_safetensors = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("safetensors"));
        let params = match is_safetensors {
            true => AnyParams::load_safetensors(path),
            false => AnyParams::load_npz(path),
        };
        match params.map_err(|e| e.to_string())? {
            AnyParams::F32(params) => Model::for_inference(params, path).map(InferenceModel::F32),
            AnyParams::F64(params) => Model::for_inference(params, path).map(InferenceModel::F64),
        }
    }
}

impl<T: Element> Learner<T> for Model<T> {
    fn step(&mut self, x: Images<T>, labels: &[usize]) -> T {
        match &mut self.net {
            Net::Mlp(net) => {
                let (loss, grads) = match x {
                    Images::Dense(x) => net.gradient(x, labels),
                    Images::Sparse(x) => net.gradient(x, labels),
                };
                self.optimizer.update(&mut net.params, &grads);
                loss
            }
            Net::Cnn(net) => {
                let Images::Dense(x) = x else {
                    panic!("SimpleConvNet takes dense images, got sparse ones");
                };
                let tape = Tape::new();
                // SimpleConvNet has no dropout: the pass's random numbers are never drawn.
                let pass = Pass::train(net, &tape, StdRng::seed_from_u64(0));
                let scores = pass.forward(tape.constant(images(x)));
                let loss = cross_entropy(scores, labels, Reduction::Mean);
                let grads = pass.gradients(&mut loss.backward());
                net.step(&mut *self.optimizer, &grads);
                loss.scalar()
            }
        }
    }

    fn predict_classes(&self, x: &Images<T>) -> Vec<usize> {
        let scores = match (x, &self.net) {
            (Images::Dense(x), net) => net.scores(x.view()),
            (Images::Sparse(x), Net::Mlp(net)) => net.predict(x),
            (Images::Sparse(_), Net::Cnn(_)) => {
                panic!("SimpleConvNet takes dense images, got sparse ones")
            }
        };
        scores.rows().into_iter().map(functions::argmax).collect()
    }

    /// The two-layer net takes sparse images unless the run asked for dense ones: its first layer then
    /// multiplies only the non-zero pixels.
    fn takes_sparse_images(&self) -> bool {
        self.sparse_images
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The CNN's scores, computed in feature and classifier passes of their own sizes, are the whole model's
    /// forward pass: over more images than a feature pass and a classifier pass, neither dividing them.
    #[test]
    fn cnn_scores_in_passes_are_the_model_s_forward_pass() {
        let net = simple_conv_net::<f64>(FILTERS, KERNEL, 8, 0.5, 3);
        let n = CNN_PREDICT_BATCH + CNN_FEATURE_BATCH + 7;
        let x = Array2::from_shape_fn((n, INPUT), |(i, j)| ((i * 31 + j * 7) % 256) as f64 / 255.0);
        let whole = net.predict(images(x.clone()));
        let scores = Net::Cnn(net).scores(x.view());
        assert_eq!(scores.dim(), (n, CLASSES));
        for (a, b) in scores.iter().zip(whole.iter()) {
            assert!((a - b).abs() <= 1e-12 * b.abs().max(1.0), "{a} against {b}");
        }
    }
}
