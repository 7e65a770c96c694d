//! What a net's first affine layer multiplies: a dense batch (put on the tape as a constant) or a constant
//! [`SparseMatrix`], whose product skips its zeros (most of an MNIST image is background).

use autograd::{Float, IntoValue, SparseMatrix, Tape, Var};
use ndarray::{Array2, ArrayBase, ArrayView1, ArrayView2, Data, Ix2};

use crate::{functions, LayerKind};

/// A batch of inputs, one example per row, as a first affine layer `x·W + b` takes it.
///
/// Dense arrays (owned, views or shared) go on the tape as the constant `x` and through the layer `kind`
/// builds; a [`SparseMatrix`] goes through its sparse product, the same for both kinds.
///
/// ```
/// use autograd::SparseMatrix;
/// use ndarray::array;
/// use nn::TwoLayerNet;
///
/// let net = TwoLayerNet::<f64>::new_seeded(3, 4, 2, 0.5, 1);
/// let x = array![[0.0, 0.5, 0.0], [1.0, 0.0, 0.0]];
/// let sparse = SparseMatrix::from_dense(x.view());
/// let (dense_loss, dense_grads) = net.gradient(x.view(), &vec![0, 1]);
/// let (sparse_loss, sparse_grads) = net.gradient(sparse.clone(), &vec![0, 1]);
/// assert!((dense_loss - sparse_loss).abs() < 1e-12);
/// assert!((&dense_grads["W1"] - &sparse_grads["W1"]).iter().all(|d| d.abs() < 1e-12));
/// assert!((net.predict(&x.view()) - net.predict(&sparse)).iter().all(|d| d.abs() < 1e-12));
/// ```
pub trait Input<T: Float> {
    /// `x·w + b` on the tape of `w`.
    fn affine<'t>(self, kind: LayerKind, w: Var<'t, T>, b: Var<'t, T>) -> Var<'t, T>;

    /// `x·w + b` on arrays, for prediction without a tape.
    fn affine_values(&self, w: ArrayView2<'_, T>, b: ArrayView1<'_, T>) -> Array2<T>;
}

impl<T: Float, S: Data<Elem = T>> Input<T> for ArrayBase<S, Ix2>
where
    ArrayBase<S, Ix2>: IntoValue<T>,
{
    #[track_caller]
    fn affine<'t>(self, kind: LayerKind, w: Var<'t, T>, b: Var<'t, T>) -> Var<'t, T> {
        let tape: &'t Tape<T> = w.backend();
        kind.affine(tape.constant_named("x", self), w, b)
    }

    #[track_caller]
    fn affine_values(&self, w: ArrayView2<'_, T>, b: ArrayView1<'_, T>) -> Array2<T> {
        functions::affine(self.view(), w, b)
    }
}

/// A sparse batch: its product with `w` skips its zeros; cloning one to pass it is cheap (the entries are
/// shared).
impl<T: Float> Input<T> for SparseMatrix<T> {
    #[track_caller]
    fn affine<'t>(self, _kind: LayerKind, w: Var<'t, T>, b: Var<'t, T>) -> Var<'t, T> {
        self.matmul(w) + b
    }

    #[track_caller]
    fn affine_values(&self, w: ArrayView2<'_, T>, b: ArrayView1<'_, T>) -> Array2<T> {
        assert!(
            w.ncols() == b.len(),
            "affine: x {:?} (sparse), W {:?} and b {:?} do not fit (need N×D, D×M and M)",
            self.shape(),
            w.shape(),
            b.shape()
        );
        let mut y = self.dot(&w);
        y += &b;
        y
    }
}
