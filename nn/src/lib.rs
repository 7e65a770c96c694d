//! Neural-network layers and the lecture's two-layer net, on the [`autograd`] engine.

#![warn(missing_docs)]

pub mod functions;
pub mod labels;
pub mod layers;
pub mod optim;
pub mod params;

pub use labels::Labels;
pub use layers::LayerKind;
pub use params::Params;
