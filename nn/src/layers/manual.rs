//! The lecture's layers as it writes them: plain structs whose `forward` remembers what `backward` needs, and
//! whose `backward` turns the upstream gradient `dout` into the gradients of the inputs. No tape, no graph —
//! the chain rule is applied by calling the layers' `backward` in reverse order by hand.
//!
//! They are for teaching, and an independent oracle for the composed and fused layers: only the forward math
//! ([`crate::functions`]) is shared; every backward rule here is written out again on arrays.
//!
//! The lecture's shopping example (2 apples at 100 and 3 oranges at 150, with 10% tax):
//!
//! ```
//! use nn::layers::manual::{AddLayer, MulLayer};
//!
//! let (mut apples, mut oranges, mut fruit, mut tax) =
//!     (MulLayer::new(), MulLayer::new(), AddLayer::new(), MulLayer::new());
//! let apple_price = apples.forward(100.0, 2.0);
//! let orange_price = oranges.forward(150.0, 3.0);
//! let price = tax.forward(fruit.forward(apple_price, orange_price), 1.1);
//! assert!((price - 715.0_f64).abs() < 1e-9);
//!
//! let (dall, dtax) = tax.backward(1.0);
//! let (dapple_price, dorange_price) = fruit.backward(dall);
//! let (dapple, dapple_num) = apples.backward(dapple_price);
//! let (dorange, dorange_num) = oranges.backward(dorange_price);
//! assert!((dapple - 2.2).abs() < 1e-9 && (dapple_num - 110.0).abs() < 1e-9);
//! assert!((dorange - 3.3).abs() < 1e-9 && (dorange_num - 165.0).abs() < 1e-9);
//! assert!((dtax - 650.0).abs() < 1e-9);
//! ```

use autograd::Float;
use ndarray::{Array, Array1, Array2, ArrayView, ArrayView2, Axis, Dimension, Zip};

use crate::functions::{self, cross_entropy, softmax};
use crate::Labels;

/// What `backward` needs, or a panic when `forward` has not run.
#[track_caller]
fn saved<'a, S>(layer: &str, state: &'a Option<S>) -> &'a S {
    state
        .as_ref()
        .unwrap_or_else(|| panic!("{layer}::backward called before forward"))
}

/// The multiplication node `x · y` on numbers.
#[derive(Clone, Copy, Debug, Default)]
pub struct MulLayer<T> {
    inputs: Option<(T, T)>,
}

impl<T: Float> MulLayer<T> {
    /// A layer that has not run yet.
    pub fn new() -> Self {
        MulLayer { inputs: None }
    }

    /// `x · y`, remembering both factors.
    pub fn forward(&mut self, x: T, y: T) -> T {
        self.inputs = Some((x, y));
        x * y
    }

    /// `(dout · y, dout · x)`: each factor's gradient is the other factor times `dout`.
    ///
    /// # Panics
    /// When called before `forward`.
    #[track_caller]
    pub fn backward(&self, dout: T) -> (T, T) {
        let &(x, y) = saved("MulLayer", &self.inputs);
        (dout * y, dout * x)
    }
}

/// The addition node `x + y` on numbers.
#[derive(Clone, Copy, Debug, Default)]
pub struct AddLayer;

impl AddLayer {
    /// The layer (it keeps no state).
    pub fn new() -> Self {
        AddLayer
    }

    /// `x + y`.
    pub fn forward<T: Float>(&mut self, x: T, y: T) -> T {
        x + y
    }

    /// `(dout, dout)`: addition passes the gradient on unchanged.
    pub fn backward<T: Float>(&self, dout: T) -> (T, T) {
        (dout, dout)
    }
}

/// ReLU on arrays of any shape: `forward` remembers where `x ≤ 0`, `backward` zeroes the gradient there.
#[derive(Clone, Debug)]
pub struct Relu<D: Dimension> {
    mask: Option<Array<bool, D>>,
}

impl<D: Dimension> Default for Relu<D> {
    fn default() -> Self {
        Relu { mask: None }
    }
}

impl<D: Dimension> Relu<D> {
    /// A layer that has not run yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// `max(x, 0)` element-wise.
    pub fn forward<T: Float>(&mut self, x: ArrayView<'_, T, D>) -> Array<T, D> {
        self.mask = Some(x.mapv(|v| v <= T::zero()));
        x.mapv(functions::relu)
    }

    /// `dout` with the entries where `x ≤ 0` set to 0.
    ///
    /// # Panics
    /// When called before `forward`, or when `dout`'s shape differs from `x`'s.
    #[track_caller]
    pub fn backward<T: Float>(&self, dout: ArrayView<'_, T, D>) -> Array<T, D> {
        let mask = saved("Relu", &self.mask);
        let mut dx = dout.to_owned();
        Zip::from(&mut dx).and(mask).for_each(|d, &off| {
            if off {
                *d = T::zero();
            }
        });
        dx
    }
}

/// Sigmoid on arrays of any shape: `forward` remembers its output `y`, `backward` is `dout · y · (1 − y)`.
#[derive(Clone, Debug)]
pub struct Sigmoid<T, D: Dimension> {
    out: Option<Array<T, D>>,
}

impl<T, D: Dimension> Default for Sigmoid<T, D> {
    fn default() -> Self {
        Sigmoid { out: None }
    }
}

impl<T: Float, D: Dimension> Sigmoid<T, D> {
    /// A layer that has not run yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// `1 / (1 + exp(-x))` element-wise.
    pub fn forward(&mut self, x: ArrayView<'_, T, D>) -> Array<T, D> {
        let out = x.mapv(functions::sigmoid);
        self.out = Some(out.clone());
        out
    }

    /// `dout · y · (1 − y)`.
    ///
    /// # Panics
    /// When called before `forward`, or when `dout`'s shape differs from `x`'s.
    #[track_caller]
    pub fn backward(&self, dout: ArrayView<'_, T, D>) -> Array<T, D> {
        let y = saved("Sigmoid", &self.out);
        Zip::from(&dout)
            .and(y)
            .map_collect(|&d, &y| d * y * (T::one() - y))
    }
}

/// Affine `x·W + b` on a batch (`N × D` in, `N × M` out), owning its parameters and, after `backward`, their
/// gradients.
#[derive(Clone, Debug)]
pub struct Affine<T> {
    /// The weights, `D × M`.
    pub w: Array2<T>,
    /// The bias, `M`.
    pub b: Array1<T>,
    /// `∂L/∂W` from the last `backward`.
    pub dw: Option<Array2<T>>,
    /// `∂L/∂b` from the last `backward`.
    pub db: Option<Array1<T>>,
    x: Option<Array2<T>>,
}

impl<T: Float> Affine<T> {
    /// A layer with these parameters.
    pub fn new(w: Array2<T>, b: Array1<T>) -> Self {
        Affine {
            w,
            b,
            dw: None,
            db: None,
            x: None,
        }
    }

    /// `x·W + b`, remembering `x`.
    ///
    /// # Panics
    /// When the shapes do not fit.
    #[track_caller]
    pub fn forward(&mut self, x: ArrayView2<'_, T>) -> Array2<T> {
        let y = functions::affine(x, self.w.view(), self.b.view());
        self.x = Some(x.to_owned());
        y
    }

    /// Stores `dW = xᵀ·dout` and `db = Σ_axis0 dout`, and returns `dx = dout·Wᵀ`.
    ///
    /// # Panics
    /// When called before `forward`, or when `dout` is not `N × M`.
    #[track_caller]
    pub fn backward(&mut self, dout: ArrayView2<'_, T>) -> Array2<T> {
        let x = saved("Affine", &self.x);
        self.dw = Some(x.t().dot(&dout));
        self.db = Some(dout.sum_axis(Axis(0)));
        dout.dot(&self.w.t())
    }
}

/// Softmax followed by the cross-entropy loss, on scores `x` (`N × C`).
#[derive(Clone, Debug)]
pub struct SoftmaxWithLoss<T> {
    saved: Option<(Array2<T>, Array2<T>)>,
}

impl<T> Default for SoftmaxWithLoss<T> {
    fn default() -> Self {
        SoftmaxWithLoss { saved: None }
    }
}

impl<T: Float> SoftmaxWithLoss<T> {
    /// A layer that has not run yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The mean cross-entropy of `softmax(x)` against `t`, remembering the probabilities `y` and the labels.
    ///
    /// # Panics
    /// When the labels do not fit `x` (see [`Labels::check`]).
    #[track_caller]
    pub fn forward<'l>(&mut self, x: ArrayView2<'_, T>, t: impl Into<Labels<'l, T>>) -> T {
        let t = t.into();
        let y = softmax(x);
        let loss = cross_entropy(y.view(), t);
        self.saved = Some((y, t.to_one_hot(x.ncols())));
        loss
    }

    /// `dout · (y − t) / N`.
    ///
    /// # Panics
    /// When called before `forward`.
    #[track_caller]
    pub fn backward(&self, dout: T) -> Array2<T> {
        let (y, t) = saved("SoftmaxWithLoss", &self.saved);
        let scale = dout / T::lit(y.nrows() as f64);
        (y - t) * scale
    }
}
