//! `Value`: what a node holds — a plain number, or an array.
//!
//! Scalars are the common case in teaching graphs and the worst case for per-node overhead, so a one-number
//! value is stored inline (no heap allocation, no dynamic-shape bookkeeping) and element-wise ops on two scalars
//! take a direct path. Everything else is an `ndarray::ArrayD`. A 0-d result is always stored as `Scalar`.

use std::fmt;

use ndarray::{ArrayD, ArrayRef, ArrayViewD, IxDyn};

use crate::Float;

/// What a forward computation reads: a number, an owned array (a node's value), or a view of one (the zero-copy
/// transposes of the first-order backward pass), all borrowed.
///
/// Every primitive's forward takes its inputs as operands, so one kernel serves tape values, gradients and
/// views. Use [`array`](Operand::array) to treat the last two alike.
#[derive(Clone, Copy, Debug)]
pub enum Operand<'a, T: Float> {
    /// A 0-d value, by value.
    Num(T),
    /// An owned array of rank 1 or more.
    Arr(&'a ArrayD<T>),
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
            Operand::Arr(a) => a.clone(),
            Operand::View(v) => v.to_owned(),
        }
    }

    /// The operand as an owned value.
    pub fn to_value(&self) -> Value<T> {
        match *self {
            Operand::Num(x) => Value::Scalar(x),
            _ => Value::from_array(self.to_array()),
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

/// A node's value or gradient: a number (0-d) held inline, or an array of any rank.
#[derive(Clone, PartialEq)]
pub enum Value<T: Float> {
    /// A 0-d value.
    Scalar(T),
    /// A value of rank 1 or more (boxed, so that a `Value` stays two words and scalar graphs stay compact).
    Array(Box<ArrayD<T>>),
}

impl<T: Float> Value<T> {
    /// Wraps an array, storing a 0-d array as `Scalar`.
    pub fn from_array(a: ArrayD<T>) -> Self {
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

    /// The value as an owned array (a 0-d array for a scalar).
    pub fn into_array(self) -> ArrayD<T> {
        match self {
            Value::Scalar(x) => ArrayD::from_elem(IxDyn(&[]), x),
            Value::Array(a) => *a,
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
            Value::Array(a) => Value::Array(Box::new(ArrayD::ones(a.raw_dim()))),
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
