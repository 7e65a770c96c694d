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
        out = Some(sum_axis(&current, 0));
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
        out = Some(sum_axis(&current, k).insert_axis(Axis(k)));
    }
    out.unwrap_or_else(|| g.to_owned())
}

/// `x.sum_axis(Axis(axis))`, with ndarray's result to the last bit, without its per-row `Zip` in the common case.
///
/// ndarray sums along its lane axis (the smallest stride) lane by lane; over any other axis it adds the subviews
/// one after the other into zeros, setting up a `Zip` for each — more work than the additions for rows of tens
/// of elements (a bias gradient: 100 rows of 50). For an operand in standard layout, that second case is done
/// here on the slice, adding the rows in the same order.
pub(crate) fn sum_axis<T: Float>(x: &ArrayViewD<'_, T>, axis: usize) -> ArrayD<T> {
    let (shape, strides) = (x.shape(), x.strides());
    let lane_axis = match shape.len() {
        1 => 0,
        n => (0..n)
            .rev()
            .min_by_key(|&k| strides[k].unsigned_abs())
            .unwrap_or(0),
    };
    match x.as_slice() {
        Some(s) if axis != lane_axis && !s.is_empty() => {
            let (len, inner) = (shape[axis], numel(&shape[axis + 1..]));
            let mut out = vec![T::zero(); s.len() / len];
            for (out, block) in out.chunks_exact_mut(inner).zip(s.chunks_exact(len * inner)) {
                for row in block.chunks_exact(inner) {
                    out.iter_mut().zip(row).for_each(|(o, &r)| *o += r);
                }
            }
            let mut out_shape = shape.to_vec();
            out_shape.remove(axis);
            ArrayD::from_shape_vec(out_shape, out).expect("one sum per remaining element")
        }
        _ => x.sum_axis(Axis(axis)),
    }
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
