//! The lecture's layers three ways — [`composed`] from primitives, [`fused`] as single nodes, [`manual`] on
//! plain arrays — and [`LayerKind`], which picks between the first two on a tape.

pub mod composed;
pub mod fused;
pub mod manual;

use autograd::{Float, Var};

use crate::Labels;

/// Which tape layers to build with: the same maths, as a graph of primitives or as one node per layer.
///
/// ```
/// use autograd::Tape;
/// use nn::LayerKind;
///
/// for kind in [LayerKind::Composed, LayerKind::Fused] {
///     let tape = Tape::<f64>::new();
///     let y = kind.sigmoid(tape.var(0.0));
///     assert_eq!(y.scalar(), 0.5);
/// }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum LayerKind {
    /// [`composed`] layers: many small nodes, gradients by the chain rule.
    Composed,
    /// [`fused`] layers: one node each with a hand-derived backward rule (fewer nodes, less memory, faster).
    #[default]
    Fused,
}

impl LayerKind {
    /// ReLU ([`composed::relu`] or [`fused::relu`]).
    pub fn relu<'t, T: Float>(self, x: Var<'t, T>) -> Var<'t, T> {
        match self {
            LayerKind::Composed => composed::relu(x),
            LayerKind::Fused => fused::relu(x),
        }
    }

    /// Sigmoid ([`composed::sigmoid`] or [`fused::sigmoid`]).
    pub fn sigmoid<'t, T: Float>(self, x: Var<'t, T>) -> Var<'t, T> {
        match self {
            LayerKind::Composed => composed::sigmoid(x),
            LayerKind::Fused => fused::sigmoid(x),
        }
    }

    /// Affine `x·W + b` ([`composed::affine`] or [`fused::affine`]).
    #[track_caller]
    pub fn affine<'t, T: Float>(self, x: Var<'t, T>, w: Var<'t, T>, b: Var<'t, T>) -> Var<'t, T> {
        match self {
            LayerKind::Composed => composed::affine(x, w, b),
            LayerKind::Fused => fused::affine(x, w, b),
        }
    }

    /// Row-wise softmax ([`composed::softmax`] or [`fused::softmax`]).
    #[track_caller]
    pub fn softmax<'t, T: Float>(self, x: Var<'t, T>) -> Var<'t, T> {
        match self {
            LayerKind::Composed => composed::softmax(x),
            LayerKind::Fused => fused::softmax(x),
        }
    }

    /// Softmax-with-Loss ([`composed::softmax_with_loss`] or [`fused::softmax_with_loss`]).
    #[track_caller]
    pub fn softmax_with_loss<'t, 'l, T: Float>(
        self,
        x: Var<'t, T>,
        t: impl Into<Labels<'l, T>>,
    ) -> Var<'t, T> {
        let t = t.into();
        match self {
            LayerKind::Composed => composed::softmax_with_loss(x, t),
            LayerKind::Fused => fused::softmax_with_loss(x, t),
        }
    }
}
