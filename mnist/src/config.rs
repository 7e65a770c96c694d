//! A training run's settings, with the lecture's values as defaults. Saved in every checkpoint, so a resumed
//! run continues with exactly the settings it started with.

use serde::{Deserialize, Serialize};

use crate::train::Schedule;

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

/// Everything that defines a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
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
    /// Composed or fused layers.
    pub layers: LayerChoice,
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
            iterations: 10_000,
            batch_size: 100,
            learning_rate: 0.1,
            hidden_size: 50,
            weight_init_std: 0.01,
            optimizer: OptimizerChoice::Sgd,
            layers: LayerChoice::Fused,
            precision: Precision::F32,
            seed: 0,
            eval_every: 600,
        }
    }
}

impl RunConfig {
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
