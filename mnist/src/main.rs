//! `mnist`: train the lecture's two-layer network on MNIST, evaluate saved parameters, classify one image.
//!
//! `cargo run --release -p mnist -- train` runs the lecture's configuration; `--help` on each subcommand lists
//! the options. Errors are printed on one line and the process exits non-zero.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use clap::{CommandFactory, FromArgMatches};
use indicatif::{ProgressBar, ProgressStyle};
use mnist::checkpoint::{self, RunState};
use mnist::config::{
    LayerChoice, ModelChoice, OptimizerChoice, Precision, RunConfig, MAX_ITERATIONS,
};
use mnist::history::{Evaluation, History};
use mnist::model::{Element, InferenceModel, Model};
use mnist::run_dir::RunDir;
use mnist::train::{self, Observer, Outcome};
use mnist::{Locator, Mnist};
use nn::Params;

mod args;
use args::{
    Cli, Command, DataArgs, EvalArgs, LayersArg, ModelArg, OptimizerArg, PrecisionArg, PredictArgs,
    TrainArgs,
};

type CliResult<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> ExitCode {
    mnist::allocator::retain_freed_memory();
    let cli = match Cli::command().try_get_matches() {
        Ok(matches) => Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit()),
        Err(e) => return usage_error(&e),
    };
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

/// Prints `--help`/`--version` as clap does; any other command-line error as its one line (naming the flag),
/// with exit code 2.
fn usage_error(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        e.exit();
    }
    let rendered = e.render().to_string();
    let line = rendered
        .lines()
        .next()
        .unwrap_or("error: invalid command line");
    eprintln!("{line}");
    ExitCode::from(2)
}

fn load_data(args: &DataArgs) -> CliResult<Mnist> {
    let (data, located) = Locator::from_env(args.data_dir.as_deref()).load()?;
    eprintln!("MNIST from {located}");
    Ok(data)
}

/// The iterations of `epochs` epochs of `per_epoch` iterations, if that is not absurd.
fn epochs_to_iterations(epochs: usize, per_epoch: usize) -> CliResult<usize> {
    epochs
        .checked_mul(per_epoch)
        .filter(|&n| n <= MAX_ITERATIONS)
        .ok_or_else(|| {
            let epochs_allowed = match per_epoch {
                1 => String::new(),
                n => format!(" ({} epochs of {n})", MAX_ITERATIONS / n),
            };
            format!(
                "--epochs {epochs} is too many: a run has at most {MAX_ITERATIONS} iterations{epochs_allowed}"
            )
            .into()
        })
}

/// The settings of a new run from the flags, every one checked. `train_size` fixes what depends on the data
/// (the iterations of `--epochs`, the default `--eval-every` of one epoch, the largest `--batch-size`); before
/// the data is loaded (`None`), the rest is checked so that a wrong flag fails at once.
fn config_from(args: &TrainArgs, train_size: Option<usize>) -> CliResult<RunConfig> {
    let defaults = match args.model {
        ModelArg::Mlp => ModelChoice::Mlp,
        ModelArg::Cnn => ModelChoice::Cnn,
    }
    .defaults();
    let per_epoch = train_size.map_or(1, |n| (n / args.batch_size.max(1)).max(1));
    let iterations = match (args.epochs, args.iterations, defaults.model) {
        (Some(epochs), _, _) => epochs_to_iterations(epochs, per_epoch)?,
        (None, Some(iterations), _) => iterations,
        (None, None, ModelChoice::Cnn) => epochs_to_iterations(20, per_epoch)?,
        (None, None, ModelChoice::Mlp) => defaults.iterations,
    };
    let config = RunConfig {
        model: defaults.model,
        iterations,
        batch_size: args.batch_size,
        learning_rate: args.lr.unwrap_or(defaults.learning_rate),
        hidden_size: args.hidden.unwrap_or(defaults.hidden_size),
        weight_init_std: args.weight_init_std,
        optimizer: match args.optimizer {
            None => defaults.optimizer,
            Some(OptimizerArg::Sgd) => OptimizerChoice::Sgd,
            Some(OptimizerArg::Momentum) => OptimizerChoice::Momentum,
            Some(OptimizerArg::Adagrad) => OptimizerChoice::AdaGrad,
            Some(OptimizerArg::Adam) => OptimizerChoice::Adam,
        },
        weight_decay: args.weight_decay,
        layers: match args.layers {
            LayersArg::Composed => LayerChoice::Composed,
            LayersArg::Fused => LayerChoice::Fused,
        },
        dense_images: args.dense_images,
        precision: match args.dtype {
            PrecisionArg::F32 => Precision::F32,
            PrecisionArg::F64 => Precision::F64,
        },
        seed: args.seed,
        eval_every: args.eval_every.unwrap_or(per_epoch),
    };
    config.validate()?;
    if let Some(n) = train_size {
        config.check_batch_size(n)?;
    }
    Ok(config)
}

/// The settings of a resumed run: the checkpoint's, to its own length or to the longer one that
/// `--iterations`/`--epochs` ask for.
fn resumed_config(args: &TrainArgs, saved: &RunConfig, train_size: usize) -> CliResult<RunConfig> {
    saved.check_batch_size(train_size)?;
    let per_epoch = (train_size / saved.batch_size).max(1);
    let (flag, asked) = match (args.epochs, args.iterations) {
        (Some(epochs), _) => ("--epochs", epochs_to_iterations(epochs, per_epoch)?),
        (None, Some(iterations)) => ("--iterations", iterations),
        (None, None) => return Ok(saved.clone()),
    };
    if asked < saved.iterations {
        return Err(format!(
            "{flag} asks for {asked} iterations, fewer than the {} of the run being resumed; a resumed run can only be extended",
            saved.iterations
        )
        .into());
    }
    let config = RunConfig {
        iterations: asked,
        ..saved.clone()
    };
    config.validate()?;
    Ok(config)
}

/// How a run begins: fresh, or from a checkpoint (its state and its verified parameters file).
enum Start {
    New,
    Resume {
        state: Box<RunState>,
        params_path: PathBuf,
        params: Vec<u8>,
    },
}

fn train_command(args: TrainArgs) -> CliResult<ExitCode> {
    // Everything that can be checked without the data is checked before it is loaded (or downloaded).
    let (run_dir, start) = match &args.resume {
        Some(dir) => {
            let run_dir = RunDir::lock(dir).map_err(|e| format!("--resume {e}"))?;
            let state = checkpoint::read_state(dir)?;
            let (params_path, params) = checkpoint::read_params(dir, &state)?;
            let start = Start::Resume {
                state: Box::new(state),
                params_path,
                params,
            };
            (run_dir, start)
        }
        None => {
            config_from(&args, None)?;
            let run_dir = RunDir::lock(&args.out).map_err(|e| format!("--out {e}"))?;
            check_new_run_dir(&run_dir, args.force)?;
            (run_dir, Start::New)
        }
    };
    let data = load_data(&args.data)?;
    let config = match &start {
        Start::New => config_from(&args, Some(data.train.len()))?,
        Start::Resume { state, .. } => resumed_config(&args, &state.config, data.train.len())?,
    };
    let plots = !args.no_plots;
    match config.precision {
        Precision::F32 => run::<f32>(&config, &data, &run_dir, start, plots),
        Precision::F64 => run::<f64>(&config, &data, &run_dir, start, plots),
    }
}

/// A new run needs an empty directory, or `--force` to replace what is there.
fn check_new_run_dir(run_dir: &RunDir, force: bool) -> CliResult<()> {
    let contents = run_dir.contents()?;
    if contents.is_empty() || force {
        return Ok(());
    }
    let dir = run_dir.path().display();
    if run_dir.has_checkpoint() {
        return Err(format!(
            "--out {dir}: holds another run; continue it with --resume {dir}, or replace it with --force"
        )
        .into());
    }
    let mut shown: Vec<&str> = contents.iter().take(3).map(String::as_str).collect();
    if contents.len() > 3 {
        shown.push("…");
    }
    Err(format!(
        "--out {dir}: is not empty (it holds {}); use a new directory, or --force to replace the run files in it",
        shown.join(", ")
    )
    .into())
}

/// Prints progress, writes metrics and checkpoints, and notices Ctrl-C.
struct Console<'a> {
    bar: ProgressBar,
    smoothed_loss: Option<f64>,
    /// Whether a loss that is not finite has been reported.
    diverged: bool,
    out: &'a Path,
    config: &'a RunConfig,
    interrupted: Arc<AtomicBool>,
}

impl<L: SaveParams> Observer<L> for Console<'_> {
    fn on_step(&mut self, step: usize, loss: f64) {
        if !loss.is_finite() && !self.diverged {
            self.diverged = true;
            self.bar.suspend(|| {
                eprintln!(
                    "warning: the loss is {loss} at step {step}: training has diverged (a smaller --lr may help); the run goes on"
                );
            });
        }
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
    /// The error without the path, which the checkpoint's error adds.
    fn save_params(&self, path: &Path) -> Result<(), String> {
        self.save_checkpoint(path).map_err(|e| match e {
            nn::NpzError::Io { source, .. } => source.to_string(),
            other => other.to_string(),
        })
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
    run_dir: &RunDir,
    start: Start,
    plots: bool,
) -> CliResult<ExitCode> {
    let out = run_dir.path();
    let (mut model, mut history) = match start {
        Start::Resume {
            state,
            params_path,
            params,
        } => {
            let params = Params::<T>::from_npz_bytes(&params, &params_path)?;
            let model = Model::<T>::resume(config, params, &params_path)?;
            run_dir.remove_temporary_files()?;
            checkpoint::remove_stale_params(
                &checkpoint::checkpoint_dir(out),
                Some(&state.params_file),
            )
            .map_err(|e| format!("{}: {e}", out.display()))?;
            let step = state.step();
            if step == config.iterations {
                eprintln!(
                    "{} is already complete at step {step}; writing its final outputs",
                    out.display()
                );
            } else {
                eprintln!("resuming {} from step {step}", out.display());
            }
            (model, state.history)
        }
        Start::New => {
            run_dir.remove_run()?;
            let (model, history) = (Model::<T>::new(config), History::default());
            // A checkpoint at step 0: the directory is a resumable run from the start, and a directory that
            // cannot be written fails now, not an epoch later.
            save_outputs(out, config, &history, &model)?;
            (model, history)
        }
    };
    let interrupted = Arc::new(AtomicBool::new(false));
    let flag = interrupted.clone();
    ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::Relaxed) {
            // The second Ctrl-C: stop at once (every file is written atomically, so none is left half-written).
            std::process::exit(130);
        }
        eprintln!("\nstopping after this iteration (Ctrl-C again to quit at once)");
    })
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
        diverged: false,
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
    model.save(&final_params)?;
    if plots {
        if let Err(e) = mnist::plot::write_plots(&history, out) {
            eprintln!(
                "warning: no plots: {e}; the run's results are saved (pass --no-plots to skip the plots)"
            );
        }
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
    match InferenceModel::load(&args.params)? {
        InferenceModel::F32(model) => evaluate(&model, args),
        InferenceModel::F64(model) => evaluate(&model, args),
    }
}

fn evaluate<T: Element>(model: &Model<T>, args: &EvalArgs) -> CliResult<()> {
    let data = load_data(&args.data)?;
    let train_acc = train::accuracy(model, &data.train);
    let test_acc = train::accuracy(model, &data.test);
    println!("Train acc: {train_acc:.5}\tTest acc: {test_acc:.5}");
    Ok(())
}

fn predict_command(args: &PredictArgs) -> CliResult<()> {
    let model = InferenceModel::load(&args.params)?;
    let (pixels, truth) = match (&args.image, args.index) {
        (Some(path), _) => (mnist::image::read_digit(path, args.invert)?, None),
        (None, Some(i)) => {
            let data = load_data(&args.data)?;
            if i >= data.test.len() {
                return Err(format!(
                    "--index {i} is out of range: the test set has {} images (0-{})",
                    data.test.len(),
                    data.test.len() - 1
                )
                .into());
            }
            (data.test.image_28x28(i), Some(data.test.labels()[i]))
        }
        (None, None) => unreachable!("clap requires --index or --image"),
    };
    let ranked = match model {
        InferenceModel::F32(model) => rank(&model, &pixels),
        InferenceModel::F64(model) => rank(&model, &pixels),
    };
    for (digit, p) in ranked.iter().take(3) {
        println!("{digit}: {p:.4}");
    }
    if let Some(label) = truth {
        println!("label: {label}");
    }
    Ok(())
}

/// The digits from most to least likely for a 28x28 image, with their probabilities.
fn rank<T: Element>(model: &Model<T>, pixels: &ndarray::Array2<u8>) -> Vec<(usize, f64)> {
    let x = pixels
        .to_shape((1, 784))
        .expect("28x28 is 784 pixels")
        .mapv(|p| <T as From<u8>>::from(p) / <T as From<u8>>::from(255));
    let probabilities = model.probabilities(x.view());
    let mut ranked: Vec<(usize, f64)> = probabilities
        .row(0)
        .iter()
        .map(|&p| autograd::Float::to_f64(p))
        .enumerate()
        .collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    ranked
}
