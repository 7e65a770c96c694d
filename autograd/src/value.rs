//! `Value`: what a node holds — a plain number, or an array.
//!
//! Scalars are the common case in teaching graphs and the worst case for per-node overhead, so a one-number
//! value is stored inline (no heap allocation, no dynamic-shape bookkeeping) and element-wise ops on two scalars
//! take a direct path. Everything else is an `ndarray::ArcArray` (shared storage, copied on write). A 0-d
//! result is always stored as `Scalar`.
//!
//! # Why shared storage
//!
//! A reshape is a change of shape only, yet with owned arrays it had to copy: the tape keeps its input's value
//! (other nodes may read it), so the output could not take the buffer. In a convolutional net the reshapes
//! around the im2col product and the pooling gather moved about 34 MB per training step, 14–17% of its time.
//! Sharing the buffer makes a reshape of a contiguous array (forward, and of a gradient in the backward pass)
//! cost a reference count. Writes stay safe: an in-place update of a value whose buffer is shared copies it
//! first (`ArcArray`'s copy-on-write), so no value ever changes under another.

use std::fmt;

use ndarray::{ArcArray, ArrayD, ArrayRef, ArrayViewD, IxDyn};

use crate::Float;

/// What a forward computation reads: a number, a stored array (a node's value, whose buffer a result may
/// share), or a view of one (the zero-copy transposes of the first-order backward pass), all borrowed.
///
/// Every primitive's forward takes its inputs as operands, so one kernel serves tape values, gradients and
/// views. Use [`array`](Operand::array) to treat the last two alike.
#[derive(Clone, Copy, Debug)]
pub enum Operand<'a, T: Float> {
    /// A 0-d value, by value.
    Num(T),
    /// A stored array of rank 1 or more.
    Arr(&'a SharedArray<T>),
    /// A view, of any rank and strides.
    View(&'a ArrayViewD<'a, T>),
}

impl<'a, T: Float> Operand<'a, T> {
    /// The array, owned or viewed; `None` for a number.
    #[inline]
    pub fn array(&self) -> Option<&'a ArrayRef<T, IxDyn>> {
        match *self {
            Operand::Num(_) => None,
            Operand::Arr(a) => Some(a),
            Operand::View(v) => Some(v),
        }
    }

    /// The number of a 0-d operand (only called where [`array`](Operand::array) is `None`).
    #[inline]
    pub(crate) fn num(&self) -> T {
        match *self {
            Operand::Num(x) => x,
            _ => unreachable!("an array operand has no single number"),
        }
    }

    /// The shape (`[]` for a number).
    pub fn shape(&self) -> &'a [usize] {
        self.array().map_or(&[], |a| a.shape())
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.array().map_or(1, |a| a.len())
    }

    /// True for an array with no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The operand as an owned array (0-d for a number).
    pub fn to_array(&self) -> ArrayD<T> {
        match *self {
            Operand::Num(x) => ArrayD::from_elem(IxDyn(&[]), x),
            Operand::Arr(a) => a.to_owned(),
            Operand::View(v) => v.to_owned(),
        }
    }

    /// The operand as an owned value (a stored array's buffer is shared, not copied).
    pub fn to_value(&self) -> Value<T> {
        match *self {
            Operand::Num(x) => Value::Scalar(x),
            Operand::Arr(a) => Value::Array(Box::new(a.clone())),
            Operand::View(_) => Value::from_array(self.to_array()),
        }
    }

    /// Runs `f` on a view of the operand (a 0-d view for a number).
    pub fn with_view<R>(&self, f: impl FnOnce(ArrayViewD<'_, T>) -> R) -> R {
        match *self {
            Operand::Num(x) => f(scalar_view(&x)),
            Operand::Arr(a) => f(a.view()),
            Operand::View(v) => f(v.view()),
        }
    }
}

/// A 0-d view of one number.
pub(crate) fn scalar_view<T: Float>(x: &T) -> ArrayViewD<'_, T> {
    ArrayViewD::from_shape(IxDyn(&[]), std::slice::from_ref(x))
        .expect("one element fits a 0-d shape")
}

/// An array whose buffer values may share: cloning it, or reshaping it while contiguous, copies no elements,
/// and writing to it copies the buffer first if another array shares it.
///
/// ```
/// use autograd::SharedArray;
/// use ndarray::array;
///
/// let a: SharedArray<f64> = array![1.0, 2.0].into_dyn().into_shared();
/// let mut b = a.clone(); // shares a's buffer
/// b[[0]] = 5.0;          // copies it first
/// assert_eq!((a[[0]], b[[0]]), (1.0, 5.0));
/// ```
pub type SharedArray<T> = ArcArray<T, IxDyn>;

/// A node's value or gradient: a number (0-d) held inline, or an array of any rank.
///
/// Cloning a value shares its buffer (see [`SharedArray`]).
#[derive(Clone, PartialEq)]
pub enum Value<T: Float> {
    /// A 0-d value.
    Scalar(T),
    /// A value of rank 1 or more (boxed, so that a `Value` stays two words and scalar graphs stay compact).
    Array(Box<SharedArray<T>>),
}

impl<T: Float> Value<T> {
    /// Wraps an array, storing a 0-d array as `Scalar`.
    pub fn from_array(a: ArrayD<T>) -> Self {
        Self::from_shared(a.into_shared())
    }

    /// Wraps a shared array without copying it, storing a 0-d array as `Scalar`.
    pub fn from_shared(a: SharedArray<T>) -> Self {
        if a.ndim() == 0 {
            Value::Scalar(a.first().copied().expect("a 0-d array has one element"))
        } else {
            Value::Array(Box::new(a))
        }
    }

    /// A read-only view (for a scalar, a 0-d view of the inline number).
    pub fn view(&self) -> ArrayViewD<'_, T> {
        match self {
            Value::Scalar(x) => scalar_view(x),
            Value::Array(a) => a.view(),
        }
    }

    /// The value as a forward computation's input.
    #[inline]
    pub fn operand(&self) -> Operand<'_, T> {
        match self {
            Value::Scalar(x) => Operand::Num(*x),
            Value::Array(a) => Operand::Arr(a),
        }
    }

    /// The value as an owned array (a 0-d array for a scalar); the buffer is moved when no other value shares
    /// it, copied otherwise.
    pub fn into_array(self) -> ArrayD<T> {
        match self {
            Value::Scalar(x) => ArrayD::from_elem(IxDyn(&[]), x),
            Value::Array(a) => a.into_owned(),
        }
    }

    /// The shape (`[]` for a scalar).
    pub fn shape(&self) -> &[usize] {
        match self {
            Value::Scalar(_) => &[],
            Value::Array(a) => a.shape(),
        }
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        match self {
            Value::Scalar(_) => 1,
            Value::Array(a) => a.len(),
        }
    }

    /// True for an array with no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The only element of a one-element value.
    pub fn only(&self) -> Option<T> {
        match self {
            Value::Scalar(x) => Some(*x),
            Value::Array(a) if a.len() == 1 => a.first().copied(),
            Value::Array(_) => None,
        }
    }

    /// Ones of the same shape.
    pub fn ones_like(&self) -> Self {
        match self {
            Value::Scalar(_) => Value::Scalar(T::one()),
            Value::Array(a) => Value::from_array(ArrayD::ones(a.raw_dim())),
        }
    }

    /// Adds `other` (of the same shape) in place.
    pub(crate) fn add_assign(&mut self, other: &Value<T>) {
        crate::kernels::add_assign(self, other);
    }
}

impl<T: Float> From<T> for Value<T> {
    fn from(x: T) -> Self {
        Value::Scalar(x)
    }
}

impl<T: Float> From<ArrayD<T>> for Value<T> {
    fn from(a: ArrayD<T>) -> Self {
        Value::from_array(a)
    }
}

impl<T: Float> fmt::Display for Value<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Scalar(x) => fmt::Display::fmt(x, f),
            Value::Array(a) => fmt::Display::fmt(a, f),
        }
    }
}

impl<T: Float> fmt::Debug for Value<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Scalar(x) => write!(f, "Scalar({x:?})"),
            Value::Array(a) => write!(f, "Array({a:?})"),
        }
    }
}
