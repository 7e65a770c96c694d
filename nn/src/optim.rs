//! Optimizers: SGD, Momentum, AdaGrad and Adam behind one [`Optimizer`] trait, as in the lecture's
//! `optimizer.py`.
//!
//! Each updates the parameters in place from gradients with the same names, shapes and order. State (velocity,
//! squared-gradient sums, moments) is allocated on the first update and reused after that: a steady-state
//! update allocates nothing.
//!
//! ```
//! use ndarray::arr1;
//! use nn::optim::{Optimizer, Sgd};
//! use nn::Params;
//!
//! let mut params: Params<f64> = [("w", arr1(&[1.0, -2.0]).into_dyn())].into_iter().collect();
//! let grads: Params<f64> = [("w", arr1(&[0.5, 0.5]).into_dyn())].into_iter().collect();
//! Sgd::new(0.1).update(&mut params, &grads); // w -= 0.1 · dw
//! assert_eq!(params["w"], arr1(&[0.95, -2.05]).into_dyn());
//! ```

use autograd::Float;
use ndarray::Zip;

use crate::Params;

/// Updates parameters from their gradients.
pub trait Optimizer<T: Float> {
    /// One step: changes every array of `params` using the array of the same name in `grads`.
    ///
    /// # Panics
    /// When `grads` (or the state from earlier steps) does not have `params`'s names, order and shapes.
    fn update(&mut self, params: &mut Params<T>, grads: &Params<T>);

    /// The state carried from one update to the next, as named arrays (`v.W1`, …; Adam adds its update count
    /// as the 0-d array `step`), so that a checkpoint can save it. Empty for SGD and before the first update.
    fn state(&self) -> Params<T> {
        Params::new()
    }

    /// Restores a state returned by [`state`](Optimizer::state) (an empty one resets nothing).
    ///
    /// # Errors
    /// When `state` holds arrays this optimizer does not keep.
    fn set_state(&mut self, state: Params<T>) -> Result<(), String> {
        match state.names().next() {
            None => Ok(()),
            Some(name) => Err(format!("unexpected optimizer state array {name}")),
        }
    }
}

/// `state`'s arrays with `prefix.` before their names.
fn prefixed<T: Float>(
    prefix: &str,
    state: &Option<Params<T>>,
) -> Vec<(String, ndarray::ArrayD<T>)> {
    state
        .iter()
        .flat_map(|p| p.iter())
        .map(|(name, a)| (format!("{prefix}.{name}"), a.clone()))
        .collect()
}

/// Splits a saved state into the parts under each prefix (`v.W1` → part `v`, name `W1`).
///
/// # Errors
/// When a name has none of the prefixes.
fn split_state<T: Float, const N: usize>(
    state: Params<T>,
    prefixes: [&str; N],
) -> Result<[Option<Params<T>>; N], String> {
    let mut parts: [Option<Params<T>>; N] = std::array::from_fn(|_| None);
    for (name, array) in state.iter() {
        let (prefix, rest) = name
            .split_once('.')
            .ok_or_else(|| format!("unexpected optimizer state array {name}"))?;
        let k = prefixes
            .iter()
            .position(|p| *p == prefix)
            .ok_or_else(|| format!("unexpected optimizer state array {name}"))?;
        parts[k]
            .get_or_insert_with(Params::new)
            .insert(rest, array.clone());
    }
    Ok(parts)
}

/// The optimizer state for `params`: allocated as zeros on first use, checked against `params` after that.
#[track_caller]
fn state_for<'s, T: Float>(
    state: &'s mut Option<Params<T>>,
    params: &Params<T>,
    who: &str,
) -> &'s mut Params<T> {
    let state = state.get_or_insert_with(|| params.zeros_like());
    params.assert_same_layout(state, who);
    state
}

/// Stochastic gradient descent: `W ← W − lr · dW`.
#[derive(Clone, Debug)]
pub struct Sgd<T> {
    /// The learning rate (the lecture's default is 0.01).
    pub lr: T,
}

impl<T: Float> Sgd<T> {
    /// SGD with learning rate `lr`.
    pub fn new(lr: T) -> Self {
        Sgd { lr }
    }
}

impl<T: Float> Optimizer<T> for Sgd<T> {
    #[track_caller]
    fn update(&mut self, params: &mut Params<T>, grads: &Params<T>) {
        params.assert_same_layout(grads, "Sgd: gradients");
        let lr = self.lr;
        for ((_, p), (_, g)) in params.iter_mut().zip(grads) {
            Zip::from(p).and(g).for_each(|p, &g| *p -= lr * g);
        }
    }
}

/// Momentum: `v ← α·v − lr·dW`, `W ← W + v`, with `v` starting at 0.
#[derive(Clone, Debug)]
pub struct Momentum<T: Float> {
    /// The learning rate (the lecture's default is 0.01).
    pub lr: T,
    /// The momentum `α` (the lecture's default is 0.9).
    pub momentum: T,
    v: Option<Params<T>>,
}

impl<T: Float> Momentum<T> {
    /// Momentum with learning rate `lr` and momentum `momentum`.
    pub fn new(lr: T, momentum: T) -> Self {
        Momentum {
            lr,
            momentum,
            v: None,
        }
    }
}

impl<T: Float> Optimizer<T> for Momentum<T> {
    #[track_caller]
    fn update(&mut self, params: &mut Params<T>, grads: &Params<T>) {
        params.assert_same_layout(grads, "Momentum: gradients");
        let (lr, momentum) = (self.lr, self.momentum);
        let v = state_for(
            &mut self.v,
            params,
            "Momentum: the state from earlier updates",
        );
        for (((_, p), (_, v)), (_, g)) in params.iter_mut().zip(v.iter_mut()).zip(grads) {
            Zip::from(p).and(v).and(g).for_each(|p, v, &g| {
                *v = momentum * *v - lr * g;
                *p += *v;
            });
        }
    }

    fn state(&self) -> Params<T> {
        prefixed("v", &self.v).into_iter().collect()
    }

    fn set_state(&mut self, state: Params<T>) -> Result<(), String> {
        [self.v] = split_state(state, ["v"])?;
        Ok(())
    }
}

/// AdaGrad: `h ← h + dW²`, `W ← W − lr · dW / (√h + ε)`, with `h` starting at 0.
#[derive(Clone, Debug)]
pub struct AdaGrad<T: Float> {
    /// The learning rate (the lecture's default is 0.01).
    pub lr: T,
    /// `ε`, which keeps the division finite (the lecture's `1e-7`).
    pub eps: T,
    h: Option<Params<T>>,
}

impl<T: Float> AdaGrad<T> {
    /// AdaGrad with learning rate `lr` and `ε = 1e-7`.
    pub fn new(lr: T) -> Self {
        AdaGrad {
            lr,
            eps: T::lit(1e-7),
            h: None,
        }
    }
}

impl<T: Float> Optimizer<T> for AdaGrad<T> {
    #[track_caller]
    fn update(&mut self, params: &mut Params<T>, grads: &Params<T>) {
        params.assert_same_layout(grads, "AdaGrad: gradients");
        let (lr, eps) = (self.lr, self.eps);
        let h = state_for(
            &mut self.h,
            params,
            "AdaGrad: the state from earlier updates",
        );
        for (((_, p), (_, h)), (_, g)) in params.iter_mut().zip(h.iter_mut()).zip(grads) {
            Zip::from(p).and(h).and(g).for_each(|p, h, &g| {
                *h += g * g;
                *p -= lr * g / (h.sqrt() + eps);
            });
        }
    }

    fn state(&self) -> Params<T> {
        prefixed("h", &self.h).into_iter().collect()
    }

    fn set_state(&mut self, state: Params<T>) -> Result<(), String> {
        [self.h] = split_state(state, ["h"])?;
        Ok(())
    }
}

/// Adam, with PyTorch's formulas: at step `t` (from 1), `m ← β₁m + (1−β₁)·dW`, `v ← β₂v + (1−β₂)·dW²`,
/// `W ← W − lr · m̂ / (√v̂ + ε)` with the bias corrections `m̂ = m/(1−β₁ᵗ)`, `v̂ = v/(1−β₂ᵗ)`.
///
/// The lecture folds the corrections into the learning rate (`lr_t = lr·√(1−β₂ᵗ)/(1−β₁ᵗ)`,
/// `W ← W − lr_t·m/(√v + ε)`); that is the same update except that its `ε` is added before the correction
/// (it equals this one with `ε` scaled by `√(1−β₂ᵗ)`).
#[derive(Clone, Debug)]
pub struct Adam<T: Float> {
    /// The learning rate (default 0.001).
    pub lr: T,
    /// `β₁`, the decay of the first moment (default 0.9).
    pub beta1: T,
    /// `β₂`, the decay of the second moment (default 0.999).
    pub beta2: T,
    /// `ε` (PyTorch's default `1e-8`).
    pub eps: T,
    step: i32,
    m: Option<Params<T>>,
    v: Option<Params<T>>,
}

impl<T: Float> Adam<T> {
    /// Adam with learning rate `lr`, `β₁ = 0.9`, `β₂ = 0.999` and `ε = 1e-8`.
    pub fn new(lr: T) -> Self {
        Adam {
            lr,
            beta1: T::lit(0.9),
            beta2: T::lit(0.999),
            eps: T::lit(1e-8),
            step: 0,
            m: None,
            v: None,
        }
    }

    /// The number of updates so far.
    pub fn steps(&self) -> i32 {
        self.step
    }
}

impl<T: Float> Optimizer<T> for Adam<T> {
    #[track_caller]
    fn update(&mut self, params: &mut Params<T>, grads: &Params<T>) {
        params.assert_same_layout(grads, "Adam: gradients");
        let m = state_for(&mut self.m, params, "Adam: the state from earlier updates");
        let v = state_for(&mut self.v, params, "Adam: the state from earlier updates");
        self.step = self.step.saturating_add(1);
        let (lr, beta1, beta2, eps) = (self.lr, self.beta1, self.beta2, self.eps);
        let correction1 = T::one() - beta1.powi(self.step);
        let correction2 = T::one() - beta2.powi(self.step);
        let arrays = params
            .iter_mut()
            .zip(m.iter_mut())
            .zip(v.iter_mut())
            .zip(grads);
        for ((((_, p), (_, m)), (_, v)), (_, g)) in arrays {
            Zip::from(p).and(m).and(v).and(g).for_each(|p, m, v, &g| {
                *m = beta1 * *m + (T::one() - beta1) * g;
                *v = beta2 * *v + (T::one() - beta2) * g * g;
                *p -= lr * (*m / correction1) / ((*v / correction2).sqrt() + eps);
            });
        }
    }

    fn state(&self) -> Params<T> {
        let mut state: Params<T> = prefixed("m", &self.m)
            .into_iter()
            .chain(prefixed("v", &self.v))
            .collect();
        if self.step > 0 {
            state.insert(
                "step",
                ndarray::arr0(T::lit(f64::from(self.step))).into_dyn(),
            );
        }
        state
    }

    fn set_state(&mut self, mut state: Params<T>) -> Result<(), String> {
        let step = state.remove("step");
        [self.m, self.v] = split_state(state, ["m", "v"])?;
        self.step = match step {
            Some(s) if s.len() == 1 => s
                .iter()
                .next()
                .map_or(0, |x| autograd::Float::to_f64(*x) as i32),
            Some(s) => {
                return Err(format!(
                    "optimizer state step has shape {:?}, not one number",
                    s.shape()
                ))
            }
            None => 0,
        };
        Ok(())
    }
}
