//! The command line of the `mnist` binary: its subcommands and flags, parsed by clap.
//!
//! Part of the binary, not of the library: `main.rs` turns these into the library's settings.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Train, evaluate and use the lecture's two-layer network (784-50-10) or the book's SimpleConvNet on MNIST.
#[derive(Parser)]
#[command(version, about, long_about = None)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    /// Train the network (defaults: the lecture's run — 10,000 iterations of SGD, lr 0.1, batch 100,
    /// evaluating on all 70,000 images every 600 iterations).
    Train(TrainArgs),
    /// Evaluate saved parameters on the training and test sets.
    Eval(EvalArgs),
    /// Classify one image and print the three most likely digits.
    Predict(PredictArgs),
}

#[derive(Args)]
pub(crate) struct DataArgs {
    /// Directory holding the four MNIST files (.gz or raw). Default: $MNIST_DIR, then the cache
    /// (~/.cache/backprop-rs/mnist), then a verified download into the cache.
    #[arg(long, value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,
}

#[derive(Args)]
pub(crate) struct TrainArgs {
    /// The network: the lecture's two-layer net (mlp) or the book's SimpleConvNet (cnn). The defaults of
    /// --lr, --optimizer, --hidden and the run's length are the model's: SGD 0.1, 50 hidden, 10,000
    /// iterations for mlp; Adam 0.001, 100 hidden, 20 epochs for cnn.
    #[arg(long, value_enum, default_value_t = ModelArg::Mlp, conflicts_with = "resume")]
    pub(crate) model: ModelArg,
    /// Number of training iterations (mini-batch steps) [default: 10000 for mlp, 20 epochs for cnn]. With
    /// --resume: extend the run to this many.
    #[arg(long, value_name = "N", conflicts_with = "epochs")]
    pub(crate) iterations: Option<usize>,
    /// Train for this many epochs instead (one epoch = training-set size / batch size iterations). With
    /// --resume: extend the run to this many.
    #[arg(long, value_name = "N")]
    pub(crate) epochs: Option<usize>,
    /// Examples per mini-batch.
    #[arg(long, default_value_t = 100, conflicts_with = "resume")]
    pub(crate) batch_size: usize,
    /// Learning rate [default: 0.1 for mlp, 0.001 for cnn].
    #[arg(long, allow_negative_numbers = true, conflicts_with = "resume")]
    pub(crate) lr: Option<f64>,
    /// Width of the hidden layer (at most 10000) [default: 50 for mlp, 100 for cnn].
    #[arg(long, conflicts_with = "resume")]
    pub(crate) hidden: Option<usize>,
    /// Standard deviation of the initial weights (positive, at most 100).
    #[arg(
        long,
        default_value_t = 0.01,
        allow_negative_numbers = true,
        conflicts_with = "resume"
    )]
    pub(crate) weight_init_std: f64,
    /// Weight decay λ of the optimizer: λ·W is added to every parameter's gradient (the L2 penalty ½λ‖W‖²;
    /// 0 or positive, at most 10).
    #[arg(
        long,
        value_name = "LAMBDA",
        default_value_t = 0.0,
        allow_negative_numbers = true,
        conflicts_with = "resume"
    )]
    pub(crate) weight_decay: f64,
    /// Parameter update rule [default: sgd for mlp, adam for cnn].
    #[arg(long, value_enum, conflicts_with = "resume")]
    pub(crate) optimizer: Option<OptimizerArg>,
    /// Layers built from primitive nodes (composed, as the lecture decomposes them) or one node each (fused).
    #[arg(long, value_enum, default_value_t = LayersArg::Fused, conflicts_with = "resume")]
    pub(crate) layers: LayersArg,
    /// Feed the two-layer net dense float images (as PyTorch's dense layers take them) instead of sparse ones
    /// whose zeros its first layer skips; the same floats either way. SimpleConvNet's are always dense.
    #[arg(long, conflicts_with = "resume")]
    pub(crate) dense_images: bool,
    /// Floating-point precision.
    #[arg(long, value_enum, default_value_t = PrecisionArg::F32, conflicts_with = "resume")]
    pub(crate) dtype: PrecisionArg,
    /// Seed of the weight initialisation and the mini-batch draws (same seed, same result).
    #[arg(long, default_value_t = 0, conflicts_with = "resume")]
    pub(crate) seed: u64,
    /// Evaluate, print and checkpoint every this many iterations (default: one epoch).
    #[arg(long, value_name = "N", conflicts_with = "resume")]
    pub(crate) eval_every: Option<usize>,
    /// Where metrics, plots, checkpoints and the final parameters go. It must be empty or new, unless
    /// --force is given.
    #[arg(
        long,
        value_name = "DIR",
        default_value = "runs/latest",
        conflicts_with = "resume"
    )]
    pub(crate) out: PathBuf,
    /// Replace the run in --out: its outputs (checkpoint, metrics, plots, params.npz) are deleted when the
    /// new run starts; other files there are left alone.
    #[arg(long, conflicts_with = "resume")]
    pub(crate) force: bool,
    /// Continue the run whose output directory is DIR from its last checkpoint, with the settings it
    /// started with, to its own length (or to a longer one given by --iterations/--epochs).
    #[arg(long, value_name = "DIR")]
    pub(crate) resume: Option<PathBuf>,
    /// Do not draw the loss and accuracy plots.
    #[arg(long)]
    pub(crate) no_plots: bool,
    #[command(flatten)]
    pub(crate) data: DataArgs,
}

#[derive(Args)]
pub(crate) struct EvalArgs {
    /// Parameters saved by `train` (e.g. runs/latest/params.npz), or the same arrays as .safetensors.
    #[arg(long, value_name = "FILE")]
    pub(crate) params: PathBuf,
    #[command(flatten)]
    pub(crate) data: DataArgs,
}

#[derive(Args)]
pub(crate) struct PredictArgs {
    /// Parameters saved by `train` (e.g. runs/latest/params.npz), or the same arrays as .safetensors.
    #[arg(long, value_name = "FILE")]
    pub(crate) params: PathBuf,
    /// Classify test image number N (0-9999).
    #[arg(
        long,
        value_name = "N",
        required_unless_present = "image",
        conflicts_with = "image"
    )]
    pub(crate) index: Option<usize>,
    /// Classify a 28x28 grayscale PNG or PGM file (white digit on black, like MNIST).
    #[arg(long, value_name = "FILE")]
    pub(crate) image: Option<PathBuf>,
    /// The image is a dark digit on a light background (only with --image).
    #[arg(long, requires = "image", conflicts_with = "index")]
    pub(crate) invert: bool,
    #[command(flatten)]
    pub(crate) data: DataArgs,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum ModelArg {
    Mlp,
    Cnn,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum OptimizerArg {
    Sgd,
    Momentum,
    Adagrad,
    Adam,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum LayersArg {
    Composed,
    Fused,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum PrecisionArg {
    F32,
    F64,
}
