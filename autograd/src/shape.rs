//! Shape rules shared by every op: NumPy broadcasting, and reducing a gradient back to an operand's shape.
//!
//! Broadcasting lives here and nowhere else: binary ops ask [`broadcast_shapes`] for their output shape, and the
//! backward pass calls [`sum_to`] once per incoming gradient whose shape differs from its operand's.

use ndarray::{ArrayD, ArrayViewD, Axis, IxDyn};

use crate::Float;

/// The shape two operands broadcast to under NumPy's rules (align trailing axes; a 1 stretches).
///
/// # Panics
/// When the shapes are incompatible, naming `op` and both shapes, at the caller's line.
#[track_caller]
pub fn broadcast_shapes(op: &str, a: &[usize], b: &[usize]) -> Vec<usize> {
    if a == b {
        return a.to_vec();
    }
    let rank = a.len().max(b.len());
    let dim = |s: &[usize], k: usize| {
        if k < rank - s.len() {
            1
        } else {
            s[k - (rank - s.len())]
        }
    };
    // A loop rather than a closure, so that the panic reports the caller's line.
    let mut out = Vec::with_capacity(rank);
    for k in 0..rank {
        out.push(match (dim(a, k), dim(b, k)) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => panic!("{op}: shapes {a:?} and {b:?} cannot be broadcast together"),
        });
    }
    out
}

/// Sums `g` over the axes that broadcasting from `shape` added or stretched, so the result has `shape`.
///
/// `shape` must broadcast to `g`'s shape; this is the one place where broadcast gradients are reduced.
///
/// # Panics
/// When `shape` does not broadcast to `g`'s shape.
#[track_caller]
pub fn sum_to<T: Float>(g: &ArrayViewD<'_, T>, shape: &[usize]) -> ArrayD<T> {
    if same_shape(g.shape(), shape) {
        return g.to_owned();
    }
    let Some(lead) = g.ndim().checked_sub(shape.len()) else {
        panic!(
            "sum_to: shape {shape:?} does not broadcast to {:?}",
            g.shape()
        )
    };
    if shape.is_empty() {
        return ArrayD::from_elem(IxDyn(&[]), g.sum());
    }
    let mut out: Option<ArrayD<T>> = None;
    for _ in 0..lead {
        let current = out.as_ref().map_or_else(|| g.view(), |o| o.view());
        out = Some(current.sum_axis(Axis(0)));
    }
    for (k, &want) in shape.iter().enumerate() {
        let current = out.as_ref().map_or_else(|| g.view(), |o| o.view());
        if current.shape()[k] == want {
            continue;
        }
        assert!(
            want == 1,
            "sum_to: shape {shape:?} does not broadcast to {:?}",
            g.shape()
        );
        out = Some(current.sum_axis(Axis(k)).insert_axis(Axis(k)));
    }
    out.unwrap_or_else(|| g.to_owned())
}

/// `a == b` for two shapes, as a loop: slice equality calls `memcmp`, and the call costs more than comparing
/// the few axes of a shape (it showed as 4% of the cycles of a graph of small tensors).
#[inline]
pub(crate) fn same_shape(a: &[usize], b: &[usize]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// The number of elements of a shape.
pub fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}
