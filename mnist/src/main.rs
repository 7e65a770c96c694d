//! `mnist`: train the lecture's two-layer network on MNIST, evaluate saved parameters, classify one image.
//!
//! `cargo run --release -p mnist -- train` runs the lecture's configuration; `--help` on each subcommand lists
//! the options. Errors are printed on one line and the process exits non-zero.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use mnist::checkpoint::{self, RunState};
use mnist::config::{LayerChoice, OptimizerChoice, Precision, RunConfig};
use mnist::history::{Evaluation, History};
use mnist::model::{Element, Model};
use mnist::train::{self, Observer, Outcome};
use mnist::{Locator, Mnist};

type CliResult<T> = Result<T, Box<dyn std::error::Error>>;

/// Train, evaluate and use the lecture's two-layer network (784-50-10) on MNIST.
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train the network (defaults: the lecture's run — 10,000 iterations of SGD, lr 0.1, batch 100,
    /// evaluating on all 70,000 images every 600 iterations).
    Train(TrainArgs),
    /// Evaluate saved parameters on the training and test sets.
    Eval(EvalArgs),
    /// Classify one image and print the three most likely digits.
    Predict(PredictArgs),
}

#[derive(Args)]
struct DataArgs {
    /// Directory holding the four MNIST files (.gz or raw). Default: $MNIST_DIR, then the cache
    /// (~/.cache/backprop-rs/mnist), then a verified download into the cache.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

#[derive(Args)]
struct TrainArgs {
    /// Number of training iterations (mini-batch steps).
    #[arg(long, default_value_t = 10_000, conflicts_with = "epochs")]
    iterations: usize,
    /// Train for this many epochs instead (one epoch = training-set size / batch size iterations).
    #[arg(long)]
    epochs: Option<usize>,
    /// Examples per mini-batch.
    #[arg(long, default_value_t = 100)]
    batch_size: usize,
    /// Learning rate.
    #[arg(long, default_value_t = 0.1, allow_negative_numbers = true)]
    lr: f64,
    /// Width of the hidden layer.
    #[arg(long, default_value_t = 50)]
    hidden: usize,
    /// Standard deviation of the initial weights.
    #[arg(long, default_value_t = 0.01)]
    weight_init_std: f64,
    /// Parameter update rule.
    #[arg(long, value_enum, default_value_t = OptimizerArg::Sgd)]
    optimizer: OptimizerArg,
    /// Layers built from primitive nodes (composed, as the lecture decomposes them) or one node each (fused).
    #[arg(long, value_enum, default_value_t = LayersArg::Fused)]
    layers: LayersArg,
    /// Floating-point precision.
    #[arg(long, value_enum, default_value_t = PrecisionArg::F32)]
    dtype: PrecisionArg,
    /// Seed of the weight initialisation and the mini-batch draws (same seed, same result).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Evaluate, print and checkpoint every this many iterations (default: one epoch).
    #[arg(long)]
    eval_every: Option<usize>,
    /// Where metrics, plots, checkpoints and the final parameters go.
    #[arg(long, value_name = "DIR", default_value = "runs/latest")]
    out: PathBuf,
    /// Continue the run whose output directory is DIR from its last checkpoint (its settings are reused;
    /// only --iterations/--epochs may extend it).
    #[arg(long, value_name = "DIR")]
    resume: Option<PathBuf>,
    /// Do not draw the loss and accuracy plots.
    #[arg(long)]
    no_plots: bool,
    #[command(flatten)]
    data: DataArgs,
}

#[derive(Args)]
struct EvalArgs {
    /// Parameters saved by `train` (e.g. runs/latest/params.npz).
    #[arg(long, value_name = "FILE")]
    params: PathBuf,
    #[command(flatten)]
    data: DataArgs,
}

#[derive(Args)]
struct PredictArgs {
    /// Parameters saved by `train` (e.g. runs/latest/params.npz).
    #[arg(long, value_name = "FILE")]
    params: PathBuf,
    /// Classify test image number N (0-9999).
    #[arg(
        long,
        value_name = "N",
        required_unless_present = "image",
        conflicts_with = "image"
    )]
    index: Option<usize>,
    /// Classify a 28x28 grayscale PNG or PGM file (white digit on black, like MNIST).
    #[arg(long, value_name = "FILE")]
    image: Option<PathBuf>,
    /// The image is a dark digit on a light background.
    #[arg(long, requires = "image")]
    invert: bool,
    #[command(flatten)]
    data: DataArgs,
}

#[derive(Clone, Copy, ValueEnum)]
enum OptimizerArg {
    Sgd,
    Momentum,
    Adagrad,
    Adam,
}

#[derive(Clone, Copy, ValueEnum)]
enum LayersArg {
    Composed,
    Fused,
}

#[derive(Clone, Copy, ValueEnum)]
enum PrecisionArg {
    F32,
    F64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Train(args) => train_command(args),
        Command::Eval(args) => eval_command(&args).map(|()| ExitCode::SUCCESS),
        Command::Predict(args) => predict_command(&args).map(|()| ExitCode::SUCCESS),
    };
    result.unwrap_or_else(|error| {
        eprintln!("error: {error}");
        ExitCode::FAILURE
    })
}

fn load_data(args: &DataArgs) -> CliResult<Mnist> {
    let (data, located) = Locator::from_env(args.data_dir.as_deref()).load()?;
    eprintln!("MNIST from {located}");
    Ok(data)
}

/// The settings of a new run from the flags.
fn config_from(args: &TrainArgs, train_size: usize) -> CliResult<RunConfig> {
    if args.batch_size == 0 || args.batch_size > train_size {
        return Err(format!("--batch-size must be between 1 and {train_size}").into());
    }
    let per_epoch = (train_size / args.batch_size).max(1);
    let iterations = args.epochs.map_or(args.iterations, |e| e * per_epoch);
    if iterations == 0 {
        return Err("nothing to do: --iterations/--epochs must be at least 1".into());
    }
    if !(args.lr.is_finite() && args.lr > 0.0) {
        return Err(format!("--lr must be a positive number, got {}", args.lr).into());
    }
    if args.hidden == 0 {
        return Err("--hidden must be at least 1".into());
    }
    Ok(RunConfig {
        iterations,
        batch_size: args.batch_size,
        learning_rate: args.lr,
        hidden_size: args.hidden,
        weight_init_std: args.weight_init_std,
        optimizer: match args.optimizer {
            OptimizerArg::Sgd => OptimizerChoice::Sgd,
            OptimizerArg::Momentum => OptimizerChoice::Momentum,
            OptimizerArg::Adagrad => OptimizerChoice::AdaGrad,
            OptimizerArg::Adam => OptimizerChoice::Adam,
        },
        layers: match args.layers {
            LayersArg::Composed => LayerChoice::Composed,
            LayersArg::Fused => LayerChoice::Fused,
        },
        precision: match args.dtype {
            PrecisionArg::F32 => Precision::F32,
            PrecisionArg::F64 => Precision::F64,
        },
        seed: args.seed,
        eval_every: args.eval_every.unwrap_or(per_epoch).max(1),
    })
}

fn train_command(args: TrainArgs) -> CliResult<ExitCode> {
    let resumed = args
        .resume
        .as_deref()
        .map(checkpoint::read_state)
        .transpose()?;
    let data = load_data(&args.data)?;
    let (config, out) = match (&resumed, &args.resume) {
        (Some(state), Some(dir)) => {
            let mut config = state.config.clone();
            let per_epoch = (data.train.len() / config.batch_size).max(1);
            config.iterations = args
                .epochs
                .map(|e| e * per_epoch)
                .unwrap_or(config.iterations.max(args.iterations));
            (config, dir.clone())
        }
        _ => (config_from(&args, data.train.len())?, args.out.clone()),
    };
    match config.precision {
        Precision::F32 => run::<f32>(&config, &data, &out, resumed, !args.no_plots),
        Precision::F64 => run::<f64>(&config, &data, &out, resumed, !args.no_plots),
    }
}

/// Prints progress, writes metrics and checkpoints, and notices Ctrl-C.
struct Console<'a> {
    bar: ProgressBar,
    smoothed_loss: Option<f64>,
    out: &'a Path,
    config: &'a RunConfig,
    interrupted: Arc<AtomicBool>,
}

impl<L: SaveParams> Observer<L> for Console<'_> {
    fn on_step(&mut self, step: usize, loss: f64) {
        let smoothed = self.smoothed_loss.map_or(loss, |s| 0.98 * s + 0.02 * loss);
        self.smoothed_loss = Some(smoothed);
        self.bar.set_position(step as u64);
        if step.is_multiple_of(20) {
            self.bar.set_message(format!("loss {smoothed:.4}"));
        }
    }

    fn on_evaluation(
        &mut self,
        e: &Evaluation,
        history: &History,
        learner: &L,
    ) -> Result<(), String> {
        self.bar.suspend(|| {
            println!(
                "Step: {}\tTrain acc: {:.5}\tTest acc: {:.5}",
                e.step, e.train_acc, e.test_acc
            );
        });
        save_outputs(self.out, self.config, history, learner).map_err(|e| e.to_string())
    }

    fn should_stop(&self) -> bool {
        self.interrupted.load(Ordering::Relaxed)
    }
}

/// Saving a learner's parameters to a file.
trait SaveParams {
    fn save_params(&self, path: &Path) -> Result<(), String>;
}

impl<T: Element> SaveParams for Model<T> {
    fn save_params(&self, path: &Path) -> Result<(), String> {
        self.save_checkpoint(path)
    }
}

/// The checkpoint and the metrics files.
fn save_outputs(
    out: &Path,
    config: &RunConfig,
    history: &History,
    learner: &impl SaveParams,
) -> CliResult<()> {
    checkpoint::save(out, config, history, |path| learner.save_params(path))?;
    history
        .write(out)
        .map_err(|(path, e)| format!("{}: {e}", path.display()))?;
    Ok(())
}

fn run<T: Element>(
    config: &RunConfig,
    data: &Mnist,
    out: &Path,
    resumed: Option<RunState>,
    plots: bool,
) -> CliResult<ExitCode> {
    let (mut model, mut history) = match resumed {
        Some(state) => {
            let params = checkpoint::params_path(out, &state);
            let model = Model::<T>::load(config, &params)?;
            eprintln!(
                "resuming {} from step {}",
                out.display(),
                state.history.losses.len()
            );
            (model, state.history)
        }
        None => (Model::<T>::new(config), History::default()),
    };
    let interrupted = Arc::new(AtomicBool::new(false));
    let flag = interrupted.clone();
    ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed))
        .map_err(|e| format!("cannot install the Ctrl-C handler: {e}"))?;

    let bar = ProgressBar::new(config.iterations as u64).with_position(history.losses.len() as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:40} {pos}/{len} {msg} [{elapsed_precise} < {eta_precise}]",
        )
        .expect("valid progress template"),
    );
    let mut console = Console {
        bar,
        smoothed_loss: None,
        out,
        config,
        interrupted,
    };
    let started = Instant::now();
    let start_step = history.losses.len();
    let (outcome, timing) = train::train(
        &mut model,
        data,
        &config.schedule(),
        &mut history,
        &mut console,
    )?;
    console.bar.finish_and_clear();
    let wall = started.elapsed();

    save_outputs(out, config, &history, &model)?;
    let final_params = out.join("params.npz");
    model
        .save(&final_params)
        .map_err(|e| format!("{}: {e}", final_params.display()))?;
    if plots {
        mnist::plot::write_plots(&history, out)?;
    }

    let steps = history.losses.len() - start_step;
    let images = steps * config.batch_size;
    let images_per_s = images as f64 / f64::max(timing.training.as_secs_f64(), 1e-9);
    if let Some(last) = history.evaluations.last() {
        println!(
            "Final (step {}): train acc {:.5}, test acc {:.5}",
            last.step, last.train_acc, last.test_acc
        );
    }
    println!(
        "Wall time: {:.2} s (training {:.2} s, {:.0} images/s; evaluation {:.2} s)",
        wall.as_secs_f64(),
        timing.training.as_secs_f64(),
        images_per_s,
        timing.evaluation.as_secs_f64()
    );
    println!("Outputs in {}", out.display());
    match outcome {
        Outcome::Finished => Ok(ExitCode::SUCCESS),
        Outcome::Stopped(step) => {
            eprintln!(
                "interrupted after step {step}; checkpoint saved. Continue with: mnist train --resume {}",
                out.display()
            );
            Ok(ExitCode::from(130))
        }
    }
}

fn eval_command(args: &EvalArgs) -> CliResult<()> {
    // The parameters first: a wrong path fails at once, before any data lookup or download.
    let model = Model::<f32>::load_params(&args.params)?;
    let data = load_data(&args.data)?;
    let train_acc = train::accuracy(&model, &data.train);
    let test_acc = train::accuracy(&model, &data.test);
    println!("Train acc: {train_acc:.5}\tTest acc: {test_acc:.5}");
    Ok(())
}

fn predict_command(args: &PredictArgs) -> CliResult<()> {
    let model = Model::<f32>::load_params(&args.params)?;
    let (pixels, truth) = match (&args.image, args.index) {
        (Some(path), _) => (mnist::image::read_digit(path, args.invert)?, None),
        (None, Some(i)) => {
            let data = load_data(&args.data)?;
            if i >= data.test.len() {
                return Err(format!(
                    "--index {i} is out of range: the test set has {} images",
                    data.test.len()
                )
                .into());
            }
            (data.test.image_28x28(i), Some(data.test.labels()[i]))
        }
        (None, None) => unreachable!("clap requires --index or --image"),
    };
    let x = pixels
        .into_shape_with_order((1, 784))
        .expect("28x28 is 784 pixels")
        .mapv(|p| f32::from(p) / 255.0);
    let probabilities = model.probabilities(x.view());
    let mut ranked: Vec<(usize, f32)> = probabilities.row(0).iter().copied().enumerate().collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    for (digit, p) in ranked.iter().take(3) {
        println!("{digit}: {p:.4}");
    }
    if let Some(label) = truth {
        println!("label: {label}");
    }
    Ok(())
}
