//! A training run's settings, with the lecture's values as defaults. Saved in every checkpoint, so a resumed
//! run continues with exactly the settings it started with.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::train::Schedule;

/// The most iterations a run may have (1,000 times the lecture's run): bounds the loss history a run keeps
/// in memory and in its checkpoint.
pub const MAX_ITERATIONS: usize = 10_000_000;
/// The widest hidden layer (200 times the lecture's 50): a 784-10000-10 net with Adam's state is 250 MB in
/// f64.
pub const MAX_HIDDEN: usize = 10_000;
/// The largest standard deviation of the initial weights (10,000 times the lecture's 0.01; far past where the
/// activations saturate).
pub const MAX_WEIGHT_INIT_STD: f64 = 100.0;
/// The largest weight decay λ: at λ = 10 the penalty `½λ‖W‖²` outweighs any classification loss, so a larger
/// value is a typo rather than an experiment.
pub const MAX_WEIGHT_DECAY: f64 = 10.0;

/// Which optimizer updates the parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerChoice {
    /// Plain SGD: `W ← W − lr·dW` (the lecture's).
    Sgd,
    /// SGD with momentum 0.9.
    Momentum,
    /// AdaGrad.
    AdaGrad,
    /// Adam (β₁ 0.9, β₂ 0.999).
    Adam,
}

/// Whether the network's layers are composed from primitive nodes or fused into one node each.
/// Which network a run trains.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelChoice {
    /// The lecture's two-layer net, 784-hidden-10 ([`nn::TwoLayerNet`]).
    #[default]
    Mlp,
    /// The book's SimpleConvNet: conv 30×5×5 → ReLU → max-pool 2×2 → Affine hidden → ReLU → Affine 10, on
    /// `nn`'s layer library.
    Cnn,
}

impl ModelChoice {
    /// The learning rate, optimizer, hidden width and iterations a run of this model has by default: the
    /// lecture's for the MLP (SGD 0.1, 50, 10,000), the book's for the CNN (Adam 0.001, 100, 20 epochs of 600).
    pub fn defaults(self) -> RunConfig {
        match self {
            ModelChoice::Mlp => RunConfig::default(),
            ModelChoice::Cnn => RunConfig {
                model: ModelChoice::Cnn,
                iterations: 12_000,
                learning_rate: 0.001,
                optimizer: OptimizerChoice::Adam,
                hidden_size: 100,
                ..RunConfig::default()
            },
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LayerChoice {
    /// Built from primitive graph nodes, as the lecture decomposes them.
    Composed,
    /// One node per layer with the hand-derived backward.
    Fused,
}

/// The floating-point type training computes in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// 32-bit floats (the default; fast).
    F32,
    /// 64-bit floats.
    F64,
}

/// `x` as a person would write it: `0.01`, `1e300`, `NaN`.
fn number(x: f64) -> String {
    let magnitude = x.abs();
    if x.is_finite() && x != 0.0 && !(1e-4..1e6).contains(&magnitude) {
        format!("{x:e}")
    } else {
        x.to_string()
    }
}

impl fmt::Display for Precision {
    /// `f32` or `f64`, as the `--dtype` flag spells it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Precision::F32 => "f32",
            Precision::F64 => "f64",
        })
    }
}

/// Everything that defines a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// The network (absent in checkpoints written before CNNs: the MLP).
    #[serde(default)]
    pub model: ModelChoice,
    /// Iterations in all.
    pub iterations: usize,
    /// Examples per mini-batch.
    pub batch_size: usize,
    /// Learning rate.
    pub learning_rate: f64,
    /// Hidden layer width.
    pub hidden_size: usize,
    /// Standard deviation of the initial weights.
    pub weight_init_std: f64,
    /// The optimizer.
    pub optimizer: OptimizerChoice,
    /// The optimizer's weight decay λ: `λ·W` added to every gradient, the L2 penalty `½λ‖W‖²` (absent in
    /// checkpoints written before it: 0, none).
    #[serde(default)]
    pub weight_decay: f64,
    /// Composed or fused layers.
    pub layers: LayerChoice,
    /// Whether the two-layer net takes its images as dense floats rather than sparse (the default: the same
    /// floats, and its first layer multiplies only the non-zero pixels). SimpleConvNet's are always dense.
    /// Absent in checkpoints written before sparse images: false.
    #[serde(default)]
    pub dense_images: bool,
    /// f32 or f64.
    pub precision: Precision,
    /// Seed of the weight initialisation and of the mini-batch stream.
    pub seed: u64,
    /// Evaluate (and checkpoint) after every this many iterations.
    pub eval_every: usize,
}

impl Default for RunConfig {
    /// The lecture's run: 784-50-10, batch 100, SGD with learning rate 0.1, 10,000 iterations, weights
    /// `0.01·N(0, 1)`, evaluated every epoch (600 iterations).
    fn default() -> Self {
        RunConfig {
            model: ModelChoice::Mlp,
            iterations: 10_000,
            batch_size: 100,
            learning_rate: 0.1,
            hidden_size: 50,
            weight_init_std: 0.01,
            optimizer: OptimizerChoice::Sgd,
            weight_decay: 0.0,
            layers: LayerChoice::Fused,
            dense_images: false,
            precision: Precision::F32,
            seed: 0,
            eval_every: 600,
        }
    }
}

/// A setting out of its range: which one, and what is wrong with its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidSetting {
    /// The field of [`RunConfig`] (as `state.json` names it), e.g. `hidden_size`.
    pub field: &'static str,
    /// The `mnist train` flag that sets it, e.g. `--hidden`.
    pub flag: &'static str,
    /// The value and what is wrong with it, e.g. `100000000 is more than the 10000 allowed`.
    pub problem: String,
}

impl fmt::Display for InvalidSetting {
    /// As a flag: `--hidden 100000000 is more than the 10000 allowed`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.flag, self.problem)
    }
}

impl std::error::Error for InvalidSetting {}

impl RunConfig {
    /// Checks every setting against its range: `iterations` and `eval_every` 1 to [`MAX_ITERATIONS`],
    /// `batch_size` at least 1 (its upper bound is the training set: see [`RunConfig::check_batch_size`]),
    /// `hidden_size` 1 to [`MAX_HIDDEN`], the learning rate and the weights' standard deviation positive
    /// numbers that the run's precision holds (the standard deviation at most [`MAX_WEIGHT_INIT_STD`]), and the
    /// weight decay 0 or such a number, at most [`MAX_WEIGHT_DECAY`].
    ///
    /// # Errors
    /// The first setting out of range.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        let invalid = |field, flag, problem: String| {
            Err(InvalidSetting {
                field,
                flag,
                problem,
            })
        };
        let count = |field, flag, value: usize, max: usize| match value {
            0 => invalid(
                field,
                flag,
                "0 is not allowed: it must be at least 1".to_owned(),
            ),
            v if v > max => invalid(field, flag, format!("{v} is more than the {max} allowed")),
            _ => Ok(()),
        };
        count(
            "iterations",
            "--iterations",
            self.iterations,
            MAX_ITERATIONS,
        )?;
        count(
            "eval_every",
            "--eval-every",
            self.eval_every,
            MAX_ITERATIONS,
        )?;
        count("batch_size", "--batch-size", self.batch_size, usize::MAX)?;
        count("hidden_size", "--hidden", self.hidden_size, MAX_HIDDEN)?;
        let positive = |field, flag, value: f64, max: f64| {
            let held = match self.precision {
                Precision::F32 => f64::from(value as f32),
                Precision::F64 => value,
            };
            let shown = number(value);
            if !(value.is_finite() && value > 0.0) {
                invalid(field, flag, format!("{shown} is not a positive number"))
            } else if value > max {
                invalid(
                    field,
                    flag,
                    format!("{shown} is more than the {max} allowed"),
                )
            } else if !(held.is_finite() && held > 0.0) {
                invalid(
                    field,
                    flag,
                    format!("{shown} is out of the range of {}", self.precision),
                )
            } else {
                Ok(())
            }
        };
        positive("learning_rate", "--lr", self.learning_rate, f64::MAX)?;
        positive(
            "weight_init_std",
            "--weight-init-std",
            self.weight_init_std,
            MAX_WEIGHT_INIT_STD,
        )?;
        // 0 (no decay) is allowed; any other value is checked as the positive ones are.
        if self.weight_decay.is_nan() || self.weight_decay < 0.0 {
            return invalid(
                "weight_decay",
                "--weight-decay",
                format!(
                    "{} is not 0 or a positive number",
                    number(self.weight_decay)
                ),
            );
        }
        if self.weight_decay > 0.0 {
            positive(
                "weight_decay",
                "--weight-decay",
                self.weight_decay,
                MAX_WEIGHT_DECAY,
            )?;
        }
        Ok(())
    }

    /// Checks that a mini-batch fits the training set of `train_size` examples.
    ///
    /// # Errors
    /// When `batch_size` is larger.
    pub fn check_batch_size(&self, train_size: usize) -> Result<(), InvalidSetting> {
        if self.batch_size > train_size {
            return Err(InvalidSetting {
                field: "batch_size",
                flag: "--batch-size",
                problem: format!(
                    "{} is more than the {train_size} training images",
                    self.batch_size
                ),
            });
        }
        Ok(())
    }

    /// The loop's part of the settings.
    pub fn schedule(&self) -> Schedule {
        Schedule {
            iterations: self.iterations,
            batch_size: self.batch_size,
            eval_every: self.eval_every,
            seed: self.seed,
        }
    }
}
