//! [`Sequential`]: layers applied one after the other.

use std::fmt;

use autograd::{Float, Var};
use ndarray::ArrayD;

use super::{Kind, Module, Pass};

/// Layers applied in order (`torch.nn.Sequential`); a layer's arrays are named with its position
/// (`0.weight`, `2.bias`, …) as in PyTorch.
///
/// ```
/// use nn::module::{Linear, ReLU, Sequential};
/// let mut rng = rand::rng();
/// let model = Sequential::<f32>::new().push(Linear::new(4, 3, &mut rng)).push(ReLU);
/// assert_eq!(
///     format!("{model:?}"),
///     "Sequential(\n  (0): Linear(in_features=4, out_features=3, bias=true)\n  (1): ReLU()\n)"
/// );
/// ```
#[derive(Default)]
pub struct Sequential<T: Float> {
    layers: Vec<Box<dyn Module<T> + Send + Sync>>,
}

impl<T: Float> Sequential<T> {
    /// No layers (the identity).
    ///
    /// ```
    /// use nn::module::{ModuleExt, Sequential};
    /// let x = ndarray::arr1(&[1.0, -2.0]).into_dyn();
    /// assert_eq!(Sequential::<f64>::new().predict(x.clone()), x);
    /// ```
    pub fn new() -> Self {
        Sequential { layers: Vec::new() }
    }

    /// The same with `layer` appended.
    ///
    /// ```
    /// use nn::module::{ModuleExt, ReLU, Sequential, Tanh};
    /// let model = Sequential::<f64>::new().push(ReLU).push(Tanh);
    /// assert_eq!(model.predict(ndarray::arr1(&[-1.0, 0.5]).into_dyn()), ndarray::arr1(&[0.0, 0.5f64.tanh()]).into_dyn());
    /// ```
    pub fn push(mut self, layer: impl Module<T> + Send + Sync + 'static) -> Self {
        self.layers.push(Box::new(layer));
        self
    }

    /// The layers, in order.
    ///
    /// ```
    /// use nn::module::{ReLU, Sequential, Tanh};
    /// let model = Sequential::<f64>::new().push(ReLU).push(Tanh);
    /// assert_eq!(format!("{:?}", model.layers()[1]), "Tanh()");
    /// ```
    pub fn layers(&self) -> &[Box<dyn Module<T> + Send + Sync>] {
        &self.layers
    }

    /// The layers, mutably (to replace or reinitialise one).
    ///
    /// ```
    /// use nn::module::{Linear, ModuleExt, Sequential};
    /// let mut rng = rand::rng();
    /// let mut model = Sequential::<f64>::new().push(Linear::new(2, 2, &mut rng));
    /// model.layers_mut()[0] = Box::new(Linear::new(2, 2, &mut rng).without_bias());
    /// assert_eq!(model.state_dict().names().collect::<Vec<_>>(), ["0.weight"]);
    /// ```
    pub fn layers_mut(&mut self) -> &mut [Box<dyn Module<T> + Send + Sync>] {
        &mut self.layers
    }
}

impl<T: Float> Module<T> for Sequential<T> {
    #[track_caller]
    fn forward<'t>(&self, x: Var<'t, T>, pass: &Pass<'_, 't, T>) -> Var<'t, T> {
        self.layers
            .iter()
            .fold(x, |x, layer| layer.forward(x, pass))
    }

    fn visit(&self, f: &mut dyn FnMut(&str, Kind, &ArrayD<T>)) {
        for (i, layer) in self.layers.iter().enumerate() {
            layer.visit(&mut |name, kind, a| f(&format!("{i}.{name}"), kind, a));
        }
    }

    fn visit_mut(&mut self, f: &mut dyn FnMut(&str, Kind, &mut ArrayD<T>)) {
        for (i, layer) in self.layers.iter_mut().enumerate() {
            layer.visit_mut(&mut |name, kind, a| f(&format!("{i}.{name}"), kind, a));
        }
    }

    fn describe(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Sequential(")?;
        for (i, layer) in self.layers.iter().enumerate() {
            // A nested container's lines are indented one more level.
            let text = format!("{:?}", &**layer as &dyn Module<T>).replace('\n', "\n  ");
            writeln!(f, "  ({i}): {text}")?;
        }
        f.write_str(")")
    }
}

impl<T: Float> fmt::Debug for Sequential<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.describe(f)
    }
}
