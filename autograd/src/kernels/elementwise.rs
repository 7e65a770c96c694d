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
    if let Some(out) = by_rows(a, b, &shape, &f) {
        return out;
    }
    let (a, b) = (a.broadcast(shape.clone()), b.broadcast(shape));
    let (a, b) = (a.expect("broadcast shape"), b.expect("broadcast shape"));
    Zip::from(&a).and(&b).map_collect(|&x, &y| f(x, y))
}

/// Rows shorter than this go through `Zip`: the loop over rows costs more than it saves on them.
const MIN_ROW: usize = 16;

/// The most axes [`by_rows`] works on (its bookkeeping lives on the stack, so that trying costs nothing).
const MAX_RANK: usize = 6;

/// [`broadcast_zip`] one output row at a time, for operands each stored in one block of memory: trailing axes
/// along which both operands step evenly are merged into one row (a conv2d bias `[C, 1, 1]` added to
/// `[N, C, H, W]` has rows of `H·W`), and when along the row each operand is contiguous or one repeated
/// element, every row is a loop over slices, which vectorises. `Zip` steps a general stride per element,
/// and took 10% of a SimpleConvNet training run's samples, all in that bias add. `None` for other layouts,
/// for rows shorter than [`MIN_ROW`] and for more than [`MAX_RANK`] axes.
fn by_rows<T: Float, U: Copy>(
    a: &ArrayRef<T, IxDyn>,
    b: &ArrayRef<T, IxDyn>,
    shape: &[usize],
    f: &impl Fn(T, T) -> U,
) -> Option<ArrayD<U>> {
    let mut rank = shape.len();
    if rank == 0 || rank > MAX_RANK {
        return None;
    }
    let mut dims = [0; MAX_RANK];
    dims[..rank].copy_from_slice(shape);
    let (mut sa, mut sb) = ([0; MAX_RANK], [0; MAX_RANK]);
    broadcast_strides(a, &mut sa[..rank]);
    broadcast_strides(b, &mut sb[..rank]);
    while rank > 1 {
        let k = rank - 1;
        let even = |s: &[isize]| s[k - 1] == s[k] * dims[k] as isize;
        if !(even(&sa) && even(&sb)) {
            break;
        }
        dims[k - 1] *= dims[k];
        (sa[k - 1], sb[k - 1]) = (sa[k], sb[k]);
        rank -= 1;
    }
    let (row, step_a, step_b) = (dims[rank - 1], sa[rank - 1], sb[rank - 1]);
    if row < MIN_ROW || !(0..=1).contains(&step_a) || !(0..=1).contains(&step_b) {
        return None;
    }
    let (x, y) = (memory(a)?, memory(b)?);
    let outer = &dims[..rank - 1];
    let mut out = Vec::with_capacity(shape.iter().product());
    let mut index = [0; MAX_RANK];
    let (mut at_a, mut at_b) = (0, 0);
    for _ in 0..outer.iter().product::<usize>() {
        let (xs, ys) = (&x[at_a as usize..], &y[at_b as usize..]);
        match (step_a, step_b) {
            (1, 1) => out.extend(xs[..row].iter().zip(&ys[..row]).map(|(&x, &y)| f(x, y))),
            (1, _) => out.extend(xs[..row].iter().map(|&x| f(x, ys[0]))),
            (_, 1) => out.extend(ys[..row].iter().map(|&y| f(xs[0], y))),
            _ => out.extend(std::iter::repeat_n(f(xs[0], ys[0]), row)),
        }
        // The next row: the odometer over the outer axes, offsets updated as it turns.
        for k in (0..outer.len()).rev() {
            index[k] += 1;
            (at_a, at_b) = (at_a + sa[k], at_b + sb[k]);
            if index[k] < outer[k] {
                break;
            }
            index[k] = 0;
            let turns = outer[k] as isize;
            (at_a, at_b) = (at_a - sa[k] * turns, at_b - sb[k] * turns);
        }
    }
    Some(ArrayD::from_shape_vec(IxDyn(shape), out).expect("one element per element of the shape"))
}

/// The elements of `a` as they lie in memory, if they fill one block and every axis that has more than one
/// element steps forwards (so element `[0, …, 0]` is the block's first and offsets from it are positive).
fn memory<T>(a: &ArrayRef<T, IxDyn>) -> Option<&[T]> {
    let forwards = a
        .shape()
        .iter()
        .zip(a.strides())
        .all(|(&n, &s)| n <= 1 || s > 0);
    forwards.then(|| a.as_slice_memory_order()).flatten()
}

/// Writes into `strides` (one per axis of the broadcast shape) `a`'s strides for `a` broadcast to that shape:
/// 0 along the axes it is repeated over (the missing leading ones and those of length 1).
fn broadcast_strides<T>(a: &ArrayRef<T, IxDyn>, strides: &mut [isize]) {
    let missing = strides.len() - a.ndim();
    strides[..missing].fill(0);
    let own = a.shape().iter().zip(a.strides());
    for (out, (&n, &s)) in strides[missing..].iter_mut().zip(own) {
        *out = if n == 1 { 0 } else { s };
    }
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
