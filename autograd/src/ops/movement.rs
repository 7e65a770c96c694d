//! Ops that move elements without changing them: permute, reshape, broadcast, and row gather/scatter.

use ndarray::{ArrayD, ArrayViewD, Axis, IxDyn, Order};

use crate::shape::numel;
use crate::{Algebra, Float};

/// Reorders axes: output axis `k` is input axis `axes[k]`.
///
/// # Panics
/// When `axes` is not a permutation of the operand's axes.
#[track_caller]
pub(crate) fn permute<T: Float>(x: &ArrayViewD<'_, T>, axes: &[usize]) -> ArrayD<T> {
    let mut seen = vec![false; x.ndim()];
    let valid = axes.len() == x.ndim()
        && axes
            .iter()
            .all(|&a| a < seen.len() && !std::mem::replace(&mut seen[a], true));
    if !valid {
        panic!(
            "permute: axes {axes:?} are not a permutation of the axes of shape {:?}",
            x.shape()
        );
    }
    x.clone().permuted_axes(IxDyn(axes)).to_owned()
}

/// The gradient of a permutation is the inverse permutation of the gradient.
pub(crate) fn permute_backward<T: Float, A: Algebra<T>>(alg: &A, axes: &[usize], g: &A::V) -> A::V {
    let mut inverse = vec![0; axes.len()];
    for (k, &a) in axes.iter().enumerate() {
        inverse[a] = k;
    }
    alg.permute(g, &inverse)
}

/// The same elements in row-major order, in a new shape.
///
/// # Panics
/// When the element counts differ.
#[track_caller]
pub(crate) fn reshape<T: Float>(x: &ArrayViewD<'_, T>, shape: &[usize]) -> ArrayD<T> {
    if numel(shape) != x.len() {
        panic!("reshape: cannot reshape {:?} into {shape:?}", x.shape());
    }
    x.to_shape((IxDyn(shape), Order::RowMajor))
        .expect("element counts match")
        .into_owned()
}

/// The operand repeated along broadcast axes to reach `shape`.
///
/// # Panics
/// When the operand's shape does not broadcast to `shape`.
#[track_caller]
pub(crate) fn broadcast_to<T: Float>(x: &ArrayViewD<'_, T>, shape: &[usize]) -> ArrayD<T> {
    match x.broadcast(shape) {
        Some(view) => view.to_owned(),
        None => panic!(
            "broadcast_to: shape {:?} cannot be broadcast to {shape:?}",
            x.shape()
        ),
    }
}

/// Rows of `x` (along axis 0) at `index`.
///
/// # Panics
/// When `x` is 0-d or an index is out of range.
#[track_caller]
pub(crate) fn take_rows<T: Float>(x: &ArrayViewD<'_, T>, index: &[usize]) -> ArrayD<T> {
    check_rows("take_rows", x.shape(), index);
    x.select(Axis(0), index)
}

/// A zero tensor with `rows` rows where row `k` of `x` is added into row `index[k]`.
///
/// # Panics
/// When `x`'s first axis differs from `index`'s length, or an index is out of range.
#[track_caller]
pub(crate) fn scatter_rows<T: Float>(
    x: &ArrayViewD<'_, T>,
    rows: usize,
    index: &[usize],
) -> ArrayD<T> {
    if x.ndim() == 0 || x.shape()[0] != index.len() {
        panic!(
            "scatter_rows: operand of shape {:?} does not have {} rows",
            x.shape(),
            index.len()
        );
    }
    let mut shape = x.shape().to_vec();
    shape[0] = rows;
    check_rows("scatter_rows", &shape, index);
    let mut out = ArrayD::zeros(shape);
    for (row, &dest) in x.outer_iter().zip(index) {
        let mut target = out.index_axis_mut(Axis(0), dest);
        target += &row;
    }
    out
}

#[track_caller]
fn check_rows(op: &str, shape: &[usize], index: &[usize]) {
    let Some(&rows) = shape.first() else {
        panic!("{op}: operand must have at least one axis, got shape {shape:?}");
    };
    if let Some(bad) = index.iter().find(|&&i| i >= rows) {
        panic!("{op}: index {bad} out of range for {rows} rows (shape {shape:?})");
    }
}
