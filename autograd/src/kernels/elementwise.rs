//! Element-wise loops: one function application per element (or per broadcast pair), with direct paths for
//! numbers and for operands that are one contiguous slice, where ndarray's general iteration costs more than
//! the arithmetic.

use ndarray::{ArrayD, ArrayRef, IxDyn, Zip};

use crate::shape::broadcast_shapes;
use crate::{Float, Operand, SharedArray, Value};

/// `a == b` for two shapes, as a loop: slice equality calls `memcmp`, and the call costs more than comparing
/// the few axes of a shape (it showed as 4% of the cycles of a graph of small tensors).
#[inline]
pub(crate) fn same_shape(a: &[usize], b: &[usize]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// `f` applied to every element. Each op calls this with its own closure, so each gets its own loop, compiled
/// and vectorised for that function.
#[inline]
pub(crate) fn map<T: Float>(x: Operand<'_, T>, f: impl Fn(T) -> T) -> Value<T> {
    match x.array() {
        None => Value::Scalar(f(x.num())),
        Some(a) => Value::from_array(a.mapv(f)),
    }
}

/// `f` applied to `a` and `b` broadcast together with NumPy's rules.
///
/// # Panics
/// When the shapes do not broadcast, naming `op` and both shapes.
#[track_caller]
#[inline]
pub(crate) fn zip<T: Float>(
    op: &str,
    a: Operand<'_, T>,
    b: Operand<'_, T>,
    f: impl Fn(T, T) -> T,
) -> Value<T> {
    match (a.array(), b.array()) {
        (None, None) => Value::Scalar(f(a.num(), b.num())),
        (None, Some(b)) => Value::from_array(b.mapv(|y| f(a.num(), y))),
        (Some(a), None) => Value::from_array(a.mapv(|x| f(x, b.num()))),
        (Some(x), Some(y)) => match (a, b) {
            (Operand::Arr(a), Operand::Arr(b)) => zip_owned(op, a, b, f),
            _ => Value::from_array(broadcast_zip(op, x, y, f)),
        },
    }
}

/// [`zip`] for two stored arrays: with one shape and standard layout, the result starts as a copy of `a`'s
/// buffer (which copies its shape and strides instead of recomputing them, as building a new array does) and
/// is updated in place.
#[track_caller]
fn zip_owned<T: Float>(
    op: &str,
    a: &SharedArray<T>,
    b: &SharedArray<T>,
    f: impl Fn(T, T) -> T,
) -> Value<T> {
    if same_shape(a.shape(), b.shape()) && a.is_standard_layout() {
        if let Some(y) = b.as_slice() {
            let mut out = a.clone();
            let x = out
                .as_slice_mut()
                .expect("a copy-on-write of a standard layout stays standard");
            x.iter_mut().zip(y).for_each(|(x, &y)| *x = f(*x, y));
            return Value::from_shared(out);
        }
    }
    Value::from_array(broadcast_zip(op, a, b, f))
}

/// `f` applied to `a` and `b` broadcast together, into any element type (masks, tie shares).
///
/// # Panics
/// When the shapes do not broadcast, naming `op` and both shapes.
#[track_caller]
pub(crate) fn zip_to<T: Float, U: Copy>(
    op: &str,
    a: Operand<'_, T>,
    b: Operand<'_, T>,
    f: impl Fn(T, T) -> U,
) -> ArrayD<U> {
    match (a.array(), b.array()) {
        (Some(x), None) => x.map(|&x| f(x, b.num())),
        (None, Some(y)) => y.map(|&y| f(a.num(), y)),
        _ => a.with_view(|a| b.with_view(|b| broadcast_zip(op, &a, &b, f))),
    }
}

/// The general case: operands of one shape and contiguous take a loop over slices, others `Zip` over broadcast
/// views.
#[track_caller]
fn broadcast_zip<T: Float, U: Copy>(
    op: &str,
    a: &ArrayRef<T, IxDyn>,
    b: &ArrayRef<T, IxDyn>,
    f: impl Fn(T, T) -> U,
) -> ArrayD<U> {
    if same_shape(a.shape(), b.shape()) {
        if let (Some(x), Some(y)) = (a.as_slice(), b.as_slice()) {
            let out: Vec<U> = x.iter().zip(y).map(|(&x, &y)| f(x, y)).collect();
            return ArrayD::from_shape_vec(a.raw_dim(), out)
                .expect("one element per element of `a`");
        }
        return Zip::from(a).and(b).map_collect(|&x, &y| f(x, y));
    }
    let shape = broadcast_shapes(op, a.shape(), b.shape());
    let (a, b) = (a.broadcast(shape.clone()), b.broadcast(shape));
    let (a, b) = (a.expect("broadcast shape"), b.expect("broadcast shape"));
    Zip::from(&a).and(&b).map_collect(|&x, &y| f(x, y))
}

/// `mask ? a : b` element-wise, the three broadcast together.
///
/// # Panics
/// When the shapes do not broadcast together, naming `op`.
#[track_caller]
pub(crate) fn select<T: Float>(
    op: &str,
    mask: &ArrayD<bool>,
    a: Operand<'_, T>,
    b: Operand<'_, T>,
) -> Value<T> {
    if let (Some(a), None) = (a.array(), b.array()) {
        let y = b.num();
        if same_shape(mask.shape(), a.shape()) {
            if let (Some(m), Some(x)) = (mask.as_slice(), a.as_slice()) {
                let out: Vec<T> = m
                    .iter()
                    .zip(x)
                    // The mask is data (ReLU's is a coin flip per element): a branch would be
                    // mispredicted half the time.
                    .map(|(&m, &x)| std::hint::select_unpredictable(m, x, y))
                    .collect();
                let out =
                    ArrayD::from_shape_vec(a.raw_dim(), out).expect("one element per element");
                return Value::from_array(out);
            }
        }
    }
    let shape = broadcast_shapes(op, a.shape(), b.shape());
    let shape = broadcast_shapes(op, mask.shape(), &shape);
    a.with_view(|a| {
        b.with_view(|b| {
            let view_err = "broadcast shape";
            let out = Zip::from(&mask.broadcast(shape.clone()).expect(view_err))
                .and(&a.broadcast(shape.clone()).expect(view_err))
                .and(&b.broadcast(shape.clone()).expect(view_err))
                .map_collect(|&m, &x, &y| std::hint::select_unpredictable(m, x, y));
            Value::from_array(out)
        })
    })
}

/// `acc += g` for two values of one shape (or `g` broadcasting to `acc`'s), with a loop over slices in the usual
/// case of two contiguous arrays.
pub(crate) fn add_assign<T: Float>(acc: &mut Value<T>, g: &Value<T>) {
    match (acc, g) {
        (Value::Scalar(a), Value::Scalar(b)) => *a += *b,
        (Value::Array(a), Value::Array(b)) if same_shape(a.shape(), b.shape()) => {
            match (a.as_slice_mut(), b.as_slice()) {
                (Some(x), Some(y)) => x.iter_mut().zip(y).for_each(|(x, &y)| *x += y),
                _ => **a += &**b,
            }
        }
        (Value::Array(a), b) => **a += &b.view(),
        (a @ Value::Scalar(_), b) => *a = Value::from_array(&a.view() + &b.view()),
    }
}
