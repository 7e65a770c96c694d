//! Shape rules shared by every op: NumPy broadcasting.
//!
//! Broadcasting lives here and nowhere else: element-wise ops ask [`broadcast_shapes`] for their output shape,
//! and the backward pass sums each incoming gradient whose shape differs from its operand's back to that shape,
//! once, in `backward.rs`.

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

/// The number of elements of a shape.
pub fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}
