//! `select(mask, a, b)`: element-wise choice by a constant boolean mask.

use ndarray::{ArrayD, ArrayViewD, Zip};
use smallvec::smallvec;

use super::InputGrads;
use crate::shape::broadcast_shapes;
use crate::{Algebra, Float};

/// `mask ? a : b` element-wise, with `mask`, `a` and `b` broadcast together.
///
/// # Panics
/// When the three shapes do not broadcast together.
#[track_caller]
pub(crate) fn select<T: Float>(
    mask: &ArrayD<bool>,
    a: &ArrayViewD<'_, T>,
    b: &ArrayViewD<'_, T>,
) -> ArrayD<T> {
    let shape = broadcast_shapes("select", a.shape(), b.shape());
    let shape = broadcast_shapes("select", mask.shape(), &shape);
    let view_err = "broadcast shape";
    Zip::from(&mask.broadcast(shape.clone()).expect(view_err))
        .and(&a.broadcast(shape.clone()).expect(view_err))
        .and(&b.broadcast(shape).expect(view_err))
        .map_collect(|&m, &x, &y| if m { x } else { y })
}

/// The gradient goes to `a` where the mask holds and to `b` elsewhere.
pub(crate) fn select_backward<T: Float, A: Algebra<T>>(
    alg: &A,
    mask: &std::rc::Rc<ArrayD<bool>>,
    g: &A::V,
    needs: &[bool],
) -> InputGrads<A::V> {
    let zero = alg.constant(crate::Value::Scalar(T::zero()));
    smallvec![
        needs[0].then(|| alg.select(mask, g, &zero)),
        needs[1].then(|| alg.select(mask, &zero, g))
    ]
}
