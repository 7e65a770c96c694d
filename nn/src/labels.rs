//! Training labels: one-hot rows or class indices.

use autograd::Float;
use ndarray::{Array2, ArrayView2};

use crate::functions::argmax;

/// The labels of a batch, in either of the lecture's two forms.
///
/// Every function that takes labels accepts `impl Into<Labels>`, so a one-hot matrix (`&Array2`, `ArrayView2`)
/// or a slice of class indices (`&[usize]`, `&Vec<usize>`) can be passed as is.
///
/// ```
/// use ndarray::array;
/// use nn::Labels;
///
/// let one_hot = array![[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]];
/// let indices = [1, 0];
/// let (a, b) = (Labels::from(&one_hot), Labels::<f64>::from(&indices[..]));
/// assert_eq!((a.class(0), a.class(1)), (b.class(0), b.class(1)));
/// assert_eq!(b.to_one_hot(3), one_hot);
/// ```
#[derive(Clone, Copy, Debug)]
pub enum Labels<'a, T> {
    /// One row per example over the classes; each row sums to 1 (a one-hot row, or any distribution).
    OneHot(ArrayView2<'a, T>),
    /// The class of each example.
    Indices(&'a [usize]),
}

impl<'a, T: Float> Labels<'a, T> {
    /// The number of examples.
    pub fn len(&self) -> usize {
        match self {
            Labels::OneHot(t) => t.nrows(),
            Labels::Indices(index) => index.len(),
        }
    }

    /// True when there are no examples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The class of example `i`: its index, or the position of the largest entry of its one-hot row.
    ///
    /// # Panics
    /// When `i` is out of range.
    #[track_caller]
    pub fn class(&self, i: usize) -> usize {
        match self {
            Labels::OneHot(t) => argmax(t.row(i)),
            Labels::Indices(index) => index[i],
        }
    }

    /// The labels as one-hot rows over `classes` classes (one-hot labels are copied as they are).
    ///
    /// # Panics
    /// When one-hot labels are not `classes` wide, or an index is not below `classes`.
    #[track_caller]
    pub fn to_one_hot(&self, classes: usize) -> Array2<T> {
        self.check("to_one_hot", (self.len(), classes));
        match self {
            Labels::OneHot(t) => t.to_owned(),
            Labels::Indices(index) => {
                let mut t = Array2::zeros((index.len(), classes));
                for (i, &c) in index.iter().enumerate() {
                    t[[i, c]] = T::one();
                }
                t
            }
        }
    }

    /// Checks that the labels fit scores of shape `(rows, classes)`: one label per row, one-hot rows `classes`
    /// wide and each summing to 1 (within `1e-4`), indices below `classes`. The gradient `(y − t)/N` of
    /// Softmax-with-Loss relies on the rows summing to 1.
    ///
    /// # Panics
    /// When they do not, with `op` and the offending shape, row or index in the message.
    #[track_caller]
    pub fn check(&self, op: &str, (rows, classes): (usize, usize)) {
        assert!(
            self.len() == rows,
            "{op}: {} labels for a batch of {rows}",
            self.len()
        );
        match self {
            Labels::OneHot(t) => {
                assert!(
                    t.ncols() == classes,
                    "{op}: one-hot labels of shape {:?} for {classes} classes",
                    t.shape()
                );
                for (i, row) in t.rows().into_iter().enumerate() {
                    let sum = row.sum().to_f64();
                    assert!(
                        (sum - 1.0).abs() <= 1e-4,
                        "{op}: label row {i} sums to {sum}, not 1"
                    );
                }
            }
            Labels::Indices(index) => {
                if let Some((i, &c)) = index.iter().enumerate().find(|(_, &c)| c >= classes) {
                    panic!("{op}: label {i} is class {c}, but there are only {classes} classes");
                }
            }
        }
    }
}

impl<'a, T> From<ArrayView2<'a, T>> for Labels<'a, T> {
    fn from(t: ArrayView2<'a, T>) -> Self {
        Labels::OneHot(t)
    }
}

impl<'a, T> From<&'a Array2<T>> for Labels<'a, T> {
    fn from(t: &'a Array2<T>) -> Self {
        Labels::OneHot(t.view())
    }
}

impl<'a, T> From<&'a [usize]> for Labels<'a, T> {
    fn from(index: &'a [usize]) -> Self {
        Labels::Indices(index)
    }
}

impl<'a, T> From<&'a Vec<usize>> for Labels<'a, T> {
    fn from(index: &'a Vec<usize>) -> Self {
        Labels::Indices(index)
    }
}
