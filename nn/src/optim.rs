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
use ndarray::ArrayD;

use crate::Params;

/// Updates parameters from their gradients.
pub trait Optimizer<T: Float> {
    /// One step: changes every array of `params` using the array of the same name in `grads`.
    ///
    /// # Panics
    /// When `grads` (or the state from earlier steps) does not have `params`'s names, order and shapes.
    fn update(&mut self, params: &mut Params<T>, grads: &Params<T>);

    /// The state carried from one update to the next for parameters laid out like `params`, as named arrays
    /// (`v.W1`, …; Adam adds its update count as the 0-d array `step`), so that a checkpoint can save it. It holds
    /// every array the optimizer keeps — zeros before the first update, which is what the first update starts
    /// from — so a saved state is always complete. Empty for SGD.
    fn state(&self, params: &Params<T>) -> Params<T> {
        let _ = params;
        Params::new()
    }

    /// Restores a state that [`state`](Optimizer::state) returned for parameters laid out like `params`.
    ///
    /// # Errors
    /// When `state` lacks an array this optimizer keeps, holds one it does not keep, or holds one whose shape
    /// differs from its parameter's (the message names the array); nothing is changed then.
    fn set_state(&mut self, state: Params<T>, params: &Params<T>) -> Result<(), String> {
        let [] = split_state(state, params, [])?;
        Ok(())
    }
}

/// The arrays of one part of a state (`part`, or zeros before the first update) for `params`, named
/// `prefix.name`.
fn prefixed<T: Float>(
    prefix: &str,
    part: &Option<Params<T>>,
    params: &Params<T>,
) -> Vec<(String, ndarray::ArrayD<T>)> {
    let zeros;
    let part = match part {
        Some(part) => part,
        None => {
            zeros = params.zeros_like();
            &zeros
        }
    };
    part.iter()
        .map(|(name, a)| (format!("{prefix}.{name}"), a.clone()))
        .collect()
}

/// Splits a saved state into its parts (`v.W1` → part `v`, array `W1`), each laid out exactly like `params`.
///
/// # Errors
/// When an array is missing, has another shape than its parameter, or belongs to no part.
fn split_state<T: Float, const N: usize>(
    mut state: Params<T>,
    params: &Params<T>,
    prefixes: [&str; N],
) -> Result<[Params<T>; N], String> {
    let mut parts: [Params<T>; N] = std::array::from_fn(|_| Params::new());
    for (prefix, part) in prefixes.iter().zip(&mut parts) {
        for (name, param) in params {
            let key = format!("{prefix}.{name}");
            let array = state
                .remove(&key)
                .ok_or_else(|| format!("optimizer state array {key} is missing"))?;
            if array.shape() != param.shape() {
                return Err(format!(
                    "optimizer state array {key} has shape {:?}, expected {:?}",
                    array.shape(),
                    param.shape()
                ));
            }
            part.insert(name, array);
        }
    }
    match state.names().next() {
        Some(name) => Err(format!("unexpected optimizer state array {name}")),
        None => Ok(parts),
    }
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

/// Weight decay, which every optimizer has: `λ·W` is added to each gradient before the update — the gradient
/// of the L2 penalty `½λ‖W‖²` the lecture's book adds to the loss, applied (as PyTorch's `weight_decay`) to
/// every parameter the optimizer is given. With λ = 0, the default, updates are exactly those without it.
///
/// ```
/// use nn::optim::{Adam, Optimizer, Sgd, WeightDecay};
/// use nn::Params;
///
/// let mut params: Params<f64> = [("w", ndarray::arr1(&[2.0]).into_dyn())].into_iter().collect();
/// let grads = params.zeros_like();
/// Sgd::new(0.5).with_weight_decay(0.1).update(&mut params, &grads); // w − 0.5·(0 + 0.1·w)
/// assert_eq!(params["w"][[0]], 1.9);
/// let _adam = Adam::new(0.001).with_weight_decay(1e-4);
/// ```
pub trait WeightDecay<T>: Sized {
    /// The optimizer with L2 penalty `lambda`.
    ///
    /// ```
    /// use nn::optim::{Momentum, WeightDecay};
    /// assert_eq!(Momentum::new(0.1, 0.9).with_weight_decay(5e-4).weight_decay, 5e-4);
    /// ```
    fn with_weight_decay(self, lambda: T) -> Self;
}

/// The gradient `g` of parameter `p` with weight decay `wd`: `g + wd·p`, and `g` itself when `wd` is 0, so
/// that λ = 0 is exactly the update without decay even for a non-finite parameter (where `0·p` is NaN).
#[inline]
fn decayed<T: Float>(g: T, p: T, wd: T) -> T {
    if wd == T::zero() {
        g
    } else {
        g + wd * p
    }
}

/// Runs `step(p, state, g)` on every element of a parameter with its elements of `K` state arrays and of its
/// gradient, as a loop over row-major slices, which vectorises (`Zip` stepped a stride per element and ran
/// Adam's divisions and square roots one at a time: 11% of a SimpleConvNet training step). A gradient in
/// another layout is copied into row-major order first; the engine's rules give gradients in their operand's
/// layout, so a weight used transposed (`x · Wᵀ`, as [`Linear`](crate::module::Linear) does) still gets a
/// row-major one.
fn each_element<T: Float, const K: usize>(
    p: &mut ArrayD<T>,
    state: [&mut ArrayD<T>; K],
    g: &ArrayD<T>,
    step: impl Fn(&mut T, &mut [T; K], T),
) {
    if !(p.is_standard_layout() && state.iter().all(|s| s.is_standard_layout())) {
        // Rare (parameters the caller built in another layout): the same loop on row-major copies.
        let mut p_rows = p.as_standard_layout().into_owned();
        let mut state_rows: [ArrayD<T>; K] =
            std::array::from_fn(|k| state[k].as_standard_layout().into_owned());
        each_element(&mut p_rows, state_rows.each_mut(), g, step);
        p.assign(&p_rows);
        for (s, rows) in state.into_iter().zip(&state_rows) {
            s.assign(rows);
        }
        return;
    }
    let g = g.as_standard_layout();
    let p = p.as_slice_mut().expect("row-major");
    let g = &g.as_slice().expect("row-major")[..p.len()];
    // Cut to the parameter's length, so that the compiler sees every index in range.
    let mut state = state.map(|s| &mut s.as_slice_mut().expect("row-major")[..p.len()]);
    for (i, (p, &g)) in p.iter_mut().zip(g).enumerate() {
        let mut local: [T; K] = std::array::from_fn(|k| state[k][i]);
        step(p, &mut local, g);
        for (s, x) in state.iter_mut().zip(local) {
            s[i] = x;
        }
    }
}

/// Implements [`WeightDecay`] for optimizers with a `weight_decay` field.
macro_rules! weight_decay {
    ($($optimizer:ident),*) => {$(
        impl<T: Float> WeightDecay<T> for $optimizer<T> {
            fn with_weight_decay(self, lambda: T) -> Self {
                $optimizer { weight_decay: lambda, ..self }
            }
        }
    )*};
}

weight_decay!(Sgd, Momentum, AdaGrad, Adam);

/// Stochastic gradient descent: `W ← W − lr · dW`.
#[derive(Clone, Debug)]
pub struct Sgd<T> {
    /// The learning rate (the lecture's default is 0.01).
    pub lr: T,
    /// The L2 penalty λ added to every gradient (see [`WeightDecay`]); 0 by default.
    pub weight_decay: T,
}

impl<T: Float> Sgd<T> {
    /// SGD with learning rate `lr`.
    pub fn new(lr: T) -> Self {
        Sgd {
            lr,
            weight_decay: T::zero(),
        }
    }
}

impl<T: Float> Optimizer<T> for Sgd<T> {
    #[track_caller]
    fn update(&mut self, params: &mut Params<T>, grads: &Params<T>) {
        params.assert_same_layout(grads, "Sgd: gradients");
        let (lr, wd) = (self.lr, self.weight_decay);
        for ((_, p), (_, g)) in params.iter_mut().zip(grads) {
            each_element(p, [], g, |p, [], g| *p -= lr * decayed(g, *p, wd));
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
    /// The L2 penalty λ added to every gradient (see [`WeightDecay`]); 0 by default.
    pub weight_decay: T,
    v: Option<Params<T>>,
}

impl<T: Float> Momentum<T> {
    /// Momentum with learning rate `lr` and momentum `momentum`.
    pub fn new(lr: T, momentum: T) -> Self {
        Momentum {
            lr,
            momentum,
            weight_decay: T::zero(),
            v: None,
        }
    }
}

impl<T: Float> Optimizer<T> for Momentum<T> {
    #[track_caller]
    fn update(&mut self, params: &mut Params<T>, grads: &Params<T>) {
        params.assert_same_layout(grads, "Momentum: gradients");
        let (lr, momentum, wd) = (self.lr, self.momentum, self.weight_decay);
        let v = state_for(
            &mut self.v,
            params,
            "Momentum: the state from earlier updates",
        );
        for (((_, p), (_, v)), (_, g)) in params.iter_mut().zip(v.iter_mut()).zip(grads) {
            each_element(p, [v], g, |p, [v], g| {
                *v = momentum * *v - lr * decayed(g, *p, wd);
                *p += *v;
            });
        }
    }

    fn state(&self, params: &Params<T>) -> Params<T> {
        prefixed("v", &self.v, params).into_iter().collect()
    }

    fn set_state(&mut self, state: Params<T>, params: &Params<T>) -> Result<(), String> {
        let [v] = split_state(state, params, ["v"])?;
        self.v = Some(v);
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
    /// The L2 penalty λ added to every gradient (see [`WeightDecay`]); 0 by default.
    pub weight_decay: T,
    h: Option<Params<T>>,
}

impl<T: Float> AdaGrad<T> {
    /// AdaGrad with learning rate `lr` and `ε = 1e-7`.
    pub fn new(lr: T) -> Self {
        AdaGrad {
            lr,
            eps: T::lit(1e-7),
            weight_decay: T::zero(),
            h: None,
        }
    }
}

impl<T: Float> Optimizer<T> for AdaGrad<T> {
    #[track_caller]
    fn update(&mut self, params: &mut Params<T>, grads: &Params<T>) {
        params.assert_same_layout(grads, "AdaGrad: gradients");
        let (lr, eps, wd) = (self.lr, self.eps, self.weight_decay);
        let h = state_for(
            &mut self.h,
            params,
            "AdaGrad: the state from earlier updates",
        );
        for (((_, p), (_, h)), (_, g)) in params.iter_mut().zip(h.iter_mut()).zip(grads) {
            each_element(p, [h], g, |p, [h], g| {
                let g = decayed(g, *p, wd);
                *h += g * g;
                *p -= lr * g / (h.sqrt() + eps);
            });
        }
    }

    fn state(&self, params: &Params<T>) -> Params<T> {
        prefixed("h", &self.h, params).into_iter().collect()
    }

    fn set_state(&mut self, state: Params<T>, params: &Params<T>) -> Result<(), String> {
        let [h] = split_state(state, params, ["h"])?;
        self.h = Some(h);
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
    /// The L2 penalty λ added to every gradient (see [`WeightDecay`]; PyTorch's `Adam`, not `AdamW`); 0 by
    /// default.
    pub weight_decay: T,
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
            weight_decay: T::zero(),
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
        let (lr, beta1, beta2, eps, wd) =
            (self.lr, self.beta1, self.beta2, self.eps, self.weight_decay);
        let correction1 = T::one() - beta1.powi(self.step);
        let correction2 = T::one() - beta2.powi(self.step);
        let arrays = params
            .iter_mut()
            .zip(m.iter_mut())
            .zip(v.iter_mut())
            .zip(grads);
        for ((((_, p), (_, m)), (_, v)), (_, g)) in arrays {
            each_element(p, [m, v], g, |p, [m, v], g| {
                let g = decayed(g, *p, wd);
                *m = beta1 * *m + (T::one() - beta1) * g;
                *v = beta2 * *v + (T::one() - beta2) * g * g;
                *p -= lr * (*m / correction1) / ((*v / correction2).sqrt() + eps);
            });
        }
    }

    fn state(&self, params: &Params<T>) -> Params<T> {
        let mut state: Params<T> = prefixed("m", &self.m, params)
            .into_iter()
            .chain(prefixed("v", &self.v, params))
            .collect();
        state.insert(
            "step",
            ndarray::arr0(T::lit(f64::from(self.step))).into_dyn(),
        );
        state
    }

    fn set_state(&mut self, mut state: Params<T>, params: &Params<T>) -> Result<(), String> {
        let step = state
            .remove("step")
            .ok_or_else(|| "optimizer state array step is missing".to_owned())?;
        let step = match step.shape() {
            [] => step
                .iter()
                .next()
                .map_or(f64::NAN, |&x| autograd::Float::to_f64(x)),
            shape => {
                return Err(format!(
                    "optimizer state array step has shape {shape:?}, expected [] (one number)"
                ))
            }
        };
        if !(step.fract() == 0.0 && (0.0..=f64::from(i32::MAX)).contains(&step)) {
            return Err(format!(
                "optimizer state array step is {step}, not a count of updates"
            ));
        }
        let [m, v] = split_state(state, params, ["m", "v"])?;
        (self.m, self.v, self.step) = (Some(m), Some(v), step as i32);
        Ok(())
    }
}
