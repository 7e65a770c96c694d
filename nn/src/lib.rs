//! Neural-network layers and the lecture's two-layer net, on the [`autograd`] engine.
//!
//! Each layer of the backpropagation lecture — ReLU, Sigmoid, Affine, Softmax-with-Loss — exists three ways,
//! which must agree to rounding:
//!
//! - [`layers::composed`]: built from autograd primitives exactly as the lecture draws its computational
//!   graphs (Sigmoid is `×-1 → exp → +1 → 1/x`), so the chain rule does all the work.
//! - [`layers::fused`]: one [`CustomOp`](autograd::CustomOp) node per layer with the lecture's hand-derived
//!   backward rule (Sigmoid: `dout·y·(1−y)`, Softmax-with-Loss: `(y − t)/N`).
//! - [`layers::manual`]: the lecture's own plain structs with `forward` and `backward` on arrays and no tape —
//!   for teaching, and as an independent oracle for the other two.
//!
//! Around them: [`TwoLayerNet`] (the lecture's 784-50-10 net with `predict`, `loss`, `accuracy`,
//! `numerical_gradient` and `gradient`), named parameters [`Params`], the [`optim`] optimizers (SGD,
//! Momentum, AdaGrad, Adam) and saving parameters as NumPy `.npz` files ([`Params::save_npz`]).
//!
//! ```
//! use nn::{Labels, TwoLayerNet, optim::{Optimizer, Sgd}};
//! use ndarray::array;
//!
//! let mut net = TwoLayerNet::<f64>::new_seeded(2, 4, 2, 0.5, 7);
//! let x = array![[1.0, 0.0], [0.0, 1.0]];
//! let t = [0, 1]; // class indices; one-hot rows work too
//! let mut sgd = Sgd::new(0.5);
//! let before = net.loss(x.view(), &t[..]);
//! for _ in 0..20 {
//!     let (_loss, grads) = net.gradient(x.view(), &t[..]);
//!     sgd.update(&mut net.params, &grads);
//! }
//! assert!(net.loss(x.view(), Labels::Indices(&t)) < before);
//! assert_eq!(net.accuracy(x.view(), &t[..]), 1.0);
//! ```

#![warn(missing_docs)]

pub mod error;
pub mod functions;
pub mod input;
pub mod io;
pub mod labels;
pub mod layers;
pub mod loss;
pub mod module;
pub mod net;
pub mod optim;
pub mod params;

pub use error::NpzError;
pub use input::Input;
pub use labels::Labels;
pub use layers::LayerKind;
pub use net::TwoLayerNet;
pub use params::Params;

/// The README's Rust examples (autograd's and nn's), compiled and run as doc tests so that the front page cannot
/// go stale. They live here because nn sees both crates.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeExamples;
