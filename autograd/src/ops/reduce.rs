//! Reductions over one axis: sum and max. (Summing down to a broadcast shape lives in [`crate::shape`].)

use ndarray::{ArrayD, ArrayViewD, Axis, Zip};

use crate::{Algebra, Float};

#[track_caller]
fn check_axis(op: &str, x: &ArrayViewD<'_, impl Float>, axis: usize) {
    if axis >= x.ndim() {
        panic!("{op}: axis {axis} out of range for shape {:?}", x.shape());
    }
}

/// Sum over `axis`, keeping it with length 1 when `keepdims`.
///
/// # Panics
/// When `axis` is out of range.
#[track_caller]
pub(crate) fn sum_axis<T: Float>(x: &ArrayViewD<'_, T>, axis: usize, keepdims: bool) -> ArrayD<T> {
    check_axis("sum_axis", x, axis);
    let s = crate::shape::sum_axis(x, axis);
    if keepdims {
        s.insert_axis(Axis(axis))
    } else {
        s
    }
}

/// Maximum over `axis`, keeping it with length 1 when `keepdims`.
///
/// # Panics
/// When `axis` is out of range or has length 0.
#[track_caller]
pub(crate) fn max_axis<T: Float>(x: &ArrayViewD<'_, T>, axis: usize, keepdims: bool) -> ArrayD<T> {
    check_axis("max_axis", x, axis);
    if x.shape()[axis] == 0 {
        panic!("max_axis: axis {axis} of shape {:?} is empty", x.shape());
    }
    let m = x.map_axis(Axis(axis), |lane| {
        lane.iter().copied().fold(T::neg_infinity(), T::max)
    });
    if keepdims {
        m.insert_axis(Axis(axis))
    } else {
        m
    }
}

/// The gradient of a sum over `axis`: `g` spread back over that axis (re-inserted when it was dropped).
pub(crate) fn sum_axis_backward<T: Float, A: Algebra<T>>(
    alg: &A,
    x: &A::V,
    g: &A::V,
    axis: usize,
    keepdims: bool,
) -> A::V {
    let in_shape = alg.shape(x);
    let g = if keepdims {
        g.clone()
    } else {
        let mut kept = in_shape.clone();
        kept[axis] = 1;
        alg.reshape(g, &kept)
    };
    alg.broadcast_to(&g, &in_shape)
}

/// The gradient flows to the maximal elements of each lane, shared equally among ties.
pub(crate) fn max_axis_backward<T: Float, A: Algebra<T>>(
    alg: &A,
    x: &A::V,
    g: &A::V,
    axis: usize,
    keepdims: bool,
) -> A::V {
    let share = alg.constant_from(&[x], |v| {
        let x = &v[0];
        let m = max_axis(x, axis, true);
        let mut share = ArrayD::zeros(x.raw_dim());
        Zip::from(share.lanes_mut(Axis(axis)))
            .and(x.lanes(Axis(axis)))
            .and(m.lanes(Axis(axis)))
            .for_each(|mut s, lane, top| {
                let top = top[0];
                let count = lane.iter().filter(|&&v| v == top).count();
                let weight = T::one() / T::lit(count as f64);
                Zip::from(&mut s)
                    .and(&lane)
                    .for_each(|s, &v| *s = if v == top { weight } else { T::zero() });
            });
        share
    });
    alg.mul(&sum_axis_backward(alg, x, g, axis, keepdims), &share)
}
