//! `Value`: what a node holds — a plain number, or an array.
//!
//! Scalars are the common case in teaching graphs and the worst case for per-node overhead, so a one-number
//! value is stored inline (no heap allocation, no dynamic-shape bookkeeping) and element-wise ops on two scalars
//! take a direct path. Everything else is an `ndarray::ArrayD`. A 0-d result is always stored as `Scalar`.

use std::fmt;

use ndarray::{ArrayD, ArrayViewD, IxDyn};

use crate::shape::same_shape;
use crate::Float;

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
            Value::Scalar(x) => ArrayViewD::from_shape(IxDyn(&[]), std::slice::from_ref(x))
                .expect("one element fits a 0-d shape"),
            Value::Array(a) => a.view(),
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
        match (self, other) {
            (Value::Scalar(a), Value::Scalar(b)) => *a += *b,
            // Same shape and both contiguous in standard order (the usual case): a plain loop over slices.
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
