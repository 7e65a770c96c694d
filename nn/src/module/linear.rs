//! [`Linear`]: `y = x·Wᵀ + b`, PyTorch's fully connected layer (the lecture's Affine with `W` stored
//! transposed, as PyTorch stores it).

use std::fmt;

use autograd::{Float, Var};
use ndarray::ArrayD;
use rand::Rng;

use super::tensors::tensors;
use super::{Init, Module, Pass};

/// A fully connected layer: `[…, in_features]` to `[…, out_features]` by `x·Wᵀ + b`.
///
/// `weight` is `[out_features, in_features]` and `bias` `[out_features]`, as in PyTorch, so the arrays
/// load into `torch.nn.Linear` as they are.
///
/// # Panics
/// In [`forward`](Module::forward), when the input's last axis is not `in_features` long.
///
/// ```
/// use nn::module::{Linear, ModuleExt};
/// use ndarray::array;
///
/// let mut layer = Linear::<f64>::new(2, 1, &mut rand::rng());
/// layer.weight = array![[1.0, 2.0]].into_dyn();
/// layer.bias = Some(array![0.5].into_dyn());
/// assert_eq!(layer.predict(array![[3.0, 4.0]].into_dyn()), array![[11.5]].into_dyn());
/// ```
#[derive(Clone, Debug)]
pub struct Linear<T> {
    /// `[out_features, in_features]`.
    pub weight: ArrayD<T>,
    /// `[out_features]`, or none for a layer without bias.
    pub bias: Option<ArrayD<T>>,
}

impl<T: Float> Linear<T> {
    /// A layer with PyTorch's default initialisation ([`Init::PyTorch`]).
    ///
    /// ```
    /// let layer = nn::module::Linear::<f64>::new(784, 100, &mut rand::rng());
    /// assert_eq!((layer.weight.shape(), layer.bias.unwrap().shape()), (&[100, 784][..], &[100][..]));
    /// ```
    pub fn new(in_features: usize, out_features: usize, rng: &mut impl Rng) -> Self {
        Self::with_init(in_features, out_features, Init::PyTorch, rng)
    }

    /// A layer initialised by `init`, weight first.
    ///
    /// ```
    /// use nn::module::{Init, Linear};
    /// let layer = Linear::<f64>::with_init(3, 2, Init::Normal(0.01), &mut rand::rng());
    /// assert!(layer.bias.unwrap().iter().all(|&b| b == 0.0));
    /// ```
    pub fn with_init(
        in_features: usize,
        out_features: usize,
        init: Init,
        rng: &mut impl Rng,
    ) -> Self {
        let weight = init.weight(&[out_features, in_features], in_features, rng);
        let bias = Some(init.bias(out_features, in_features, rng));
        Linear { weight, bias }
    }

    /// The same layer without its bias.
    ///
    /// ```
    /// use nn::module::{Linear, ModuleExt};
    /// let layer = Linear::<f64>::new(3, 2, &mut rand::rng()).without_bias();
    /// assert_eq!(layer.num_parameters(), 6);
    /// ```
    pub fn without_bias(self) -> Self {
        Linear { bias: None, ..self }
    }
}

impl<T: Float> Module<T> for Linear<T> {
    #[track_caller]
    fn forward<'t>(&self, x: Var<'t, T>, pass: &Pass<'_, 't, T>) -> Var<'t, T> {
        let (shape, ws) = (x.shape(), self.weight.shape());
        if shape.last() != ws.get(1) {
            panic!(
                "Linear(in_features={}, out_features={}): input of shape {shape:?} (need [..., {}])",
                ws.get(1).unwrap_or(&0),
                ws.first().unwrap_or(&0),
                ws.get(1).unwrap_or(&0)
            );
        }
        let y = x.matmul(pass.param(&self.weight).t());
        match &self.bias {
            Some(b) => y + pass.param(b),
            None => y,
        }
    }

    tensors!(Parameter weight, Parameter bias);

    fn describe(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [out_features, in_features] = self.weight.shape() else {
            return write!(f, "Linear(weight={:?})", self.weight.shape());
        };
        write!(
            f,
            "Linear(in_features={in_features}, out_features={out_features}, bias={})",
            self.bias.is_some()
        )
    }
}
