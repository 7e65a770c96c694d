//! Reductions: sums over an axis on the slice, sums down to a broadcast shape, maxima over lanes.

use ndarray::{ArrayD, ArrayRef, ArrayViewD, Axis, IxDyn, Zip};

use super::same_shape;
use crate::shape::numel;
use crate::Float;

/// `x.sum_axis(Axis(axis))`, with ndarray's result to the last bit, without its per-row `Zip` in the common case.
///
/// ndarray sums along its lane axis (the smallest stride) lane by lane; over any other axis it adds the subviews
/// one after the other into zeros, setting up a `Zip` for each — more work than the additions for rows of tens
/// of elements (a bias gradient: 100 rows of 50). For an operand in standard layout, that second case is done
/// here on the slice, adding the rows in the same order.
pub(crate) fn sum_axis<T: Float>(x: &ArrayRef<T, IxDyn>, axis: usize) -> ArrayD<T> {
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

/// Sums `g` over the axes that broadcasting from `shape` added or stretched, so the result has `shape`.
///
/// # Panics
/// When `shape` does not broadcast to `g`'s shape.
#[track_caller]
pub(crate) fn sum_to<T: Float>(g: &ArrayRef<T, IxDyn>, shape: &[usize]) -> ArrayD<T> {
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

/// The fold of each lane along `axis` (the axis removed) from `init` with `pick` (`T::max` from −∞ for a
/// maximum).
pub(crate) fn max_axis<T: Float>(
    x: &ArrayRef<T, IxDyn>,
    axis: usize,
    init: T,
    pick: impl Fn(T, T) -> T,
) -> ArrayD<T> {
    x.map_axis(Axis(axis), |lane| lane.iter().copied().fold(init, &pick))
}

/// For each lane along `axis`, `1/k` at the `k` elements equal to the lane's extreme `top` (from
/// [`max_axis`] with the axis kept) and 0 elsewhere: how a maximum's gradient is shared among ties.
pub(crate) fn tie_shares<T: Float>(
    x: &ArrayViewD<'_, T>,
    top: &ArrayViewD<'_, T>,
    axis: usize,
) -> ArrayD<T> {
    let mut share = ArrayD::zeros(x.raw_dim());
    Zip::from(share.lanes_mut(Axis(axis)))
        .and(x.lanes(Axis(axis)))
        .and(top.lanes(Axis(axis)))
        .for_each(|mut s, lane, top| {
            let top = top[0];
            let count = lane.iter().filter(|&&v| v == top).count();
            let weight = T::one() / T::lit(count as f64);
            Zip::from(&mut s)
                .and(&lane)
                .for_each(|s, &v| *s = if v == top { weight } else { T::zero() });
        });
    share
}
