//! The book's multi-layer net and its training loop, as the chapter-6 experiments use them: an MLP of ReLU
//! layers built from [`nn::module`], mini-batches drawn at random with replacement (the book's
//! `np.random.choice(train_size, batch_size)`), an "epoch" of `train_size / batch_size` such batches, and the
//! accuracy of a model on the first examples of a split.

use autograd::Tape;
use mnist::Split;
use ndarray::{ArrayD, IxDyn};
use nn::loss::{cross_entropy, Reduction};
use nn::module::{BatchNorm, Dropout, Init, Linear, ModuleExt, Pass, ReLU, Sequential};
use nn::optim::Optimizer;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// MNIST's input size and number of classes.
pub const INPUTS: usize = 784;
pub const CLASSES: usize = 10;

/// The ε the book's `BatchNormalization` adds to the variance (`10e-7`); PyTorch's, `BatchNorm`'s default, is
/// `1e-5`, which at tiny weight scales exceeds the batch variance and shrinks the normalised signal layer by
/// layer.
pub const BOOK_BATCH_NORM_EPS: f64 = 1e-6;

/// Images per evaluation pass, to bound the memory one pass takes.
const EVAL_CHUNK: usize = 1000;

/// The book's `MultiLayerNet(Extend)`: `hidden.len()` hidden layers, each `Linear → [BatchNorm] → ReLU →
/// [Dropout]`, then a `Linear` to the 10 classes; every `Linear` is initialised by `init`.
#[derive(Clone, Debug)]
pub struct Mlp {
    /// The widths of the hidden layers.
    pub hidden: Vec<usize>,
    /// The initialisation of every `Linear` (the book's `weight_init_std`).
    pub init: Init,
    /// Whether a `BatchNorm1d` (with the book's ε, [`BOOK_BATCH_NORM_EPS`]) follows each hidden `Linear`.
    pub batch_norm: bool,
    /// The dropout probability after each hidden ReLU, if any.
    pub dropout: Option<f64>,
}

impl Mlp {
    /// `layers` hidden ReLU layers of `width` units, initialised by `init`, without batch norm or dropout.
    pub fn new(layers: usize, width: usize, init: Init) -> Self {
        Mlp {
            hidden: vec![width; layers],
            init,
            batch_norm: false,
            dropout: None,
        }
    }

    /// The same net with a `BatchNorm1d` after each hidden `Linear`, before its ReLU.
    pub fn with_batch_norm(self) -> Self {
        Mlp {
            batch_norm: true,
            ..self
        }
    }

    /// The same net with dropout of probability `p` after each hidden ReLU.
    pub fn with_dropout(self, p: f64) -> Self {
        Mlp {
            dropout: Some(p),
            ..self
        }
    }

    /// The model, its weights drawn from `seed` layer by layer (batch norm and dropout draw nothing, so the
    /// same seed gives the same weights with and without them).
    pub fn build(&self, seed: u64) -> Sequential<f32> {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut model = Sequential::new();
        let mut inputs = INPUTS;
        for &width in &self.hidden {
            model = model.push(Linear::with_init(inputs, width, self.init, &mut rng));
            if self.batch_norm {
                let mut norm = BatchNorm::new_1d(width);
                norm.eps = BOOK_BATCH_NORM_EPS;
                model = model.push(norm);
            }
            model = model.push(ReLU);
            if let Some(p) = self.dropout {
                model = model.push(Dropout::new(p));
            }
            inputs = width;
        }
        model.push(Linear::with_init(inputs, CLASSES, self.init, &mut rng))
    }
}

/// The batches an "epoch" has in the book: `train_size / batch_size`, at least 1.
pub fn iterations_per_epoch(train_size: usize, batch: usize) -> usize {
    (train_size / batch).max(1)
}

/// One model in training: the model, its optimizer, the shape one example is fed in, and the random numbers of
/// its batches and of its dropout masks (separate, so that the batches are the same with and without dropout).
pub struct Training {
    /// The model being trained.
    pub model: Sequential<f32>,
    optimizer: Box<dyn Optimizer<f32>>,
    example_shape: Vec<usize>,
    batches: StdRng,
    masks: StdRng,
}

impl Training {
    /// Training `model` with `optimizer`, its batches drawn from `seed`: equal seeds draw equal batches. Examples
    /// are fed as rows of 784 pixels.
    pub fn new(model: Sequential<f32>, optimizer: Box<dyn Optimizer<f32>>, seed: u64) -> Self {
        Training {
            model,
            optimizer,
            example_shape: vec![INPUTS],
            batches: StdRng::seed_from_u64(seed),
            masks: StdRng::seed_from_u64(seed ^ 0x6d61_736b),
        }
    }

    /// The same, examples fed as `[1, 28, 28]` images (for a convolutional model).
    pub fn on_images(self) -> Self {
        Training {
            example_shape: vec![1, 28, 28],
            ..self
        }
    }

    /// The examples at `rows` of `split`, in the model's input shape.
    fn inputs(&self, split: &Split, rows: &[usize]) -> ArrayD<f32> {
        let shape: Vec<usize> = std::iter::once(rows.len())
            .chain(self.example_shape.iter().copied())
            .collect();
        split
            .batch::<f32>(rows)
            .into_shape_with_order(IxDyn(&shape))
            .expect("784 pixels per example")
    }

    /// One update on `batch` examples drawn at random (with replacement) from the first `train_size` of
    /// `split`; returns the batch's mean cross-entropy before the update.
    pub fn step(&mut self, split: &Split, train_size: usize, batch: usize) -> f32 {
        let rows: Vec<usize> = (0..batch)
            .map(|_| self.batches.random_range(0..train_size))
            .collect();
        let labels: Vec<usize> = rows
            .iter()
            .map(|&i| usize::from(split.labels()[i]))
            .collect();
        let tape = Tape::new();
        let mask_seed: u64 = self.masks.random();
        let pass = Pass::train(&self.model, &tape, StdRng::seed_from_u64(mask_seed));
        let logits = pass.forward(tape.constant(self.inputs(split, &rows)));
        let loss = cross_entropy(logits, &labels, Reduction::Mean);
        let grads = pass.gradients(&mut loss.backward());
        self.model.step(&mut *self.optimizer, &grads);
        loss.scalar()
    }

    /// Trains for `epochs` epochs of the book's size on the first `train_size` examples of `split`, calling
    /// `evaluate` before training and after each epoch; returns its `epochs + 1` results.
    pub fn epochs<E>(
        &mut self,
        split: &Split,
        train_size: usize,
        batch: usize,
        epochs: usize,
        mut evaluate: impl FnMut(&Training) -> E,
    ) -> Vec<E> {
        let mut results = vec![evaluate(self)];
        for _ in 0..epochs {
            for _ in 0..iterations_per_epoch(train_size, batch) {
                self.step(split, train_size, batch);
            }
            results.push(evaluate(self));
        }
        results
    }

    /// The fraction of the first `count` examples of `split` that the model (in evaluation mode) classifies
    /// correctly.
    pub fn accuracy(&self, split: &Split, count: usize) -> f64 {
        let count = count.min(split.len());
        let mut correct = 0;
        for start in (0..count).step_by(EVAL_CHUNK) {
            let rows: Vec<usize> = (start..(start + EVAL_CHUNK).min(count)).collect();
            let tape = Tape::inference();
            let pass = Pass::eval(&self.model, &tape);
            let predicted = pass
                .forward(tape.constant(self.inputs(split, &rows)))
                .argmax(-1);
            correct += predicted
                .iter()
                .zip(&rows)
                .filter(|&(&p, &i)| p == usize::from(split.labels()[i]))
                .count();
        }
        correct as f64 / count.max(1) as f64
    }
}

/// The example's flags parsed by `spec`, then MNIST; on failure the error is printed and `Err` holds the status
/// for `main` to return.
pub fn flags_and_mnist(
    spec: &super::flags::Spec,
) -> Result<(super::flags::Flags, mnist::Mnist), std::process::ExitCode> {
    let flags = spec.parse_env()?;
    Ok((flags, load_mnist()?))
}

/// MNIST, found as the trainer finds it (`MNIST_DIR`, the cache, or a verified download); on failure the error
/// is printed and `Err` holds the status for `main` to return.
pub fn load_mnist() -> Result<mnist::Mnist, std::process::ExitCode> {
    match mnist::Locator::from_env(None).load() {
        Ok((data, located)) => {
            eprintln!("MNIST from {located}");
            Ok(data)
        }
        Err(error) => {
            eprintln!("error: {error}");
            Err(std::process::ExitCode::FAILURE)
        }
    }
}
