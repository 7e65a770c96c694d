//! A layer library in the shape of `torch.nn`: the [`Module`] trait, layers that own their parameters as
//! arrays, [`Sequential`], initialisations ([`Init`]) and the [`Pass`] that runs a model on a tape.
//!
//! A model is plain data: each layer holds its parameters (`weight`, `bias`) and buffers (`running_mean`,
//! `running_var`) as arrays, under PyTorch's names, so a saved model's file has the names a PyTorch
//! `state_dict` has (`0.weight`, `0.bias`, …). A [`Pass`] is one run of the model on a tape, in training or in
//! evaluation mode: it puts the parameters on the tape as variables, runs [`Module::forward`], and turns the
//! tape's gradients into the named [`Params`] the [`optim`](crate::optim) optimizers take. The mode belongs to
//! the pass, not to the model, so a model cannot be left in the wrong mode by accident.
//!
//! ```
//! use nn::module::{Linear, ModuleExt, Pass, ReLU, Sequential};
//! use nn::optim::Sgd;
//! use autograd::Tape;
//! use rand::{rngs::StdRng, SeedableRng};
//!
//! let mut rng = StdRng::seed_from_u64(0);
//! let mut model = Sequential::new()
//!     .push(Linear::new(2, 8, &mut rng))
//!     .push(ReLU)
//!     .push(Linear::new(8, 1, &mut rng));
//! let x = ndarray::array![[0.0, 1.0], [1.0, 0.0]].into_dyn();
//! let target = ndarray::array![[1.0], [-1.0]].into_dyn();
//! let mut sgd = Sgd::new(0.1);
//! let mut losses = Vec::new();
//! for _ in 0..50 {
//!     let tape = Tape::<f64>::new();
//!     let pass = Pass::train(&model, &tape, StdRng::seed_from_u64(1));
//!     let error = pass.forward(tape.constant(x.clone())) - tape.constant(target.clone());
//!     let loss = (error * error).mean();
//!     losses.push(loss.scalar());
//!     let grads = pass.gradients(&mut loss.backward());
//!     model.step(&mut sgd, &grads);
//! }
//! assert!(losses[49] < 0.01 * losses[0]);
//! assert_eq!(model.state_dict().names().collect::<Vec<_>>(), ["0.weight", "0.bias", "2.weight", "2.bias"]);
//! ```

mod activation;
mod conv;
mod init;
mod linear;
mod norm;
mod pass;
mod sequential;
mod tensors;

use std::fmt;

use autograd::{Float, Var};
use ndarray::ArrayD;

use crate::optim::Optimizer;
use crate::Params;

pub use activation::{Dropout, Flatten, ReLU, Sigmoid, Tanh};
pub use conv::{AvgPool2d, Conv2d, MaxPool2d, Pooling};
pub use init::Init;
pub use linear::Linear;
pub use norm::BatchNorm;
pub use pass::Pass;
pub use sequential::Sequential;

/// What a module's array is: a parameter (trained by the optimizer, given a gradient) or a buffer (state the
/// forward pass keeps, such as batch norm's running statistics).
///
/// ```
/// use nn::module::{BatchNorm, Kind, Module};
/// let mut kinds = Vec::new();
/// BatchNorm::<f64>::new_1d(3).visit(&mut |name, kind, _| kinds.push((name.to_owned(), kind)));
/// assert_eq!(kinds[1], ("bias".to_owned(), Kind::Parameter));
/// assert_eq!(kinds[2], ("running_mean".to_owned(), Kind::Buffer));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Trained: on the tape as a variable in a training pass.
    Parameter,
    /// Kept: saved and loaded with the model, never trained.
    Buffer,
}

/// A layer or a model: a forward computation on a tape and the named arrays it owns.
///
/// A layer without arrays (ReLU, pooling) implements only [`forward`](Module::forward); a layer with arrays
/// also lists them in [`visit`](Module::visit) and [`visit_mut`](Module::visit_mut), in the same order, under
/// PyTorch's names; a container visits its children with their names as prefixes (`"0.weight"`).
///
/// ```
/// use autograd::{Float, Var};
/// use nn::module::{Kind, Module, ModuleExt, Pass};
///
/// /// `y = a·x`, with a learned scalar `a`.
/// struct Scale<T> { a: ndarray::ArrayD<T> }
///
/// impl<T: Float> Module<T> for Scale<T> {
///     fn forward<'t>(&self, x: Var<'t, T>, pass: &Pass<'_, 't, T>) -> Var<'t, T> {
///         x * pass.param(&self.a)
///     }
///     fn visit(&self, f: &mut dyn FnMut(&str, Kind, &ndarray::ArrayD<T>)) {
///         f("a", Kind::Parameter, &self.a)
///     }
///     fn visit_mut(&mut self, f: &mut dyn FnMut(&str, Kind, &mut ndarray::ArrayD<T>)) {
///         f("a", Kind::Parameter, &mut self.a)
///     }
/// }
///
/// let model = Scale { a: ndarray::arr0(3.0).into_dyn() };
/// assert_eq!(model.predict(ndarray::arr1(&[2.0]).into_dyn()), ndarray::arr1(&[6.0]).into_dyn());
/// assert_eq!(model.num_parameters(), 1);
/// assert_eq!(format!("{:?}", &model as &dyn Module<f64>), "Scale()"); // the default `describe`
/// ```
pub trait Module<T: Float> {
    /// The output for input `x`, recorded on the pass's tape. Parameters come from
    /// [`pass.param`](Pass::param), the mode from [`pass.training`](Pass::training).
    fn forward<'t>(&self, x: Var<'t, T>, pass: &Pass<'_, 't, T>) -> Var<'t, T>;

    /// Calls `f(name, kind, array)` for each array this module owns, children's names prefixed with theirs.
    fn visit(&self, f: &mut dyn FnMut(&str, Kind, &ArrayD<T>)) {
        let _ = f;
    }

    /// [`visit`](Module::visit) with mutable arrays, in the same order.
    fn visit_mut(&mut self, f: &mut dyn FnMut(&str, Kind, &mut ArrayD<T>)) {
        let _ = f;
    }

    /// How the module prints: its name and settings, PyTorch-style (`Linear(in_features=784,
    /// out_features=100, bias=true)`). By default the type's name without its path and generic arguments,
    /// with `()` (`Scale()` for `Scale<f64>`).
    fn describe(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = std::any::type_name::<Self>();
        let name = name.split('<').next().unwrap_or(name);
        write!(f, "{}()", name.rsplit("::").next().unwrap_or(name))
    }
}

/// What every [`Module`] can do through its [`visit`](Module::visit)s: list, count, save, load and train its
/// arrays. Every module has these methods.
///
/// ```
/// use nn::module::{BatchNorm, Linear, ModuleExt, Sequential};
/// let model = Sequential::<f64>::new().push(Linear::new(3, 2, &mut rand::rng())).push(BatchNorm::new_1d(2));
/// assert_eq!(model.num_parameters(), 3 * 2 + 2 + 2 + 2);
/// assert_eq!(model.parameters().len(), 4); // 0.weight, 0.bias, 1.weight, 1.bias
/// assert_eq!(model.state_dict().len(), 6); // and 1.running_mean, 1.running_var
/// ```
pub trait ModuleExt<T: Float>: Module<T> {
    /// The parameters, copied, in visiting order (the arrays an optimizer trains).
    ///
    /// ```
    /// use nn::module::{Linear, ModuleExt};
    /// let layer = Linear::<f64>::new(3, 2, &mut rand::rng());
    /// assert_eq!(layer.parameters().names().collect::<Vec<_>>(), ["weight", "bias"]);
    /// assert_eq!(layer.parameters()["weight"], layer.weight);
    /// ```
    fn parameters(&self) -> Params<T> {
        collect(self, Some(Kind::Parameter))
    }

    /// The parameters and buffers, copied, in visiting order: everything that is saved (PyTorch's
    /// `state_dict`).
    ///
    /// ```
    /// use nn::module::{BatchNorm, ModuleExt};
    /// let names = BatchNorm::<f64>::new_2d(4).state_dict().names().map(str::to_owned).collect::<Vec<_>>();
    /// assert_eq!(names, ["weight", "bias", "running_mean", "running_var"]);
    /// ```
    fn state_dict(&self) -> Params<T> {
        collect(self, None)
    }

    /// The number of trained numbers.
    ///
    /// ```
    /// use nn::module::{Conv2d, ModuleExt};
    /// assert_eq!(Conv2d::<f64>::new(3, 8, 5, &mut rand::rng()).num_parameters(), 8 * 3 * 5 * 5 + 8);
    /// ```
    fn num_parameters(&self) -> usize {
        let mut count = 0;
        self.visit(&mut |_, kind, a| {
            if kind == Kind::Parameter {
                count += a.len();
            }
        });
        count
    }

    /// Replaces every array by the one of the same name in `state` (from [`state_dict`](ModuleExt::state_dict)
    /// or a file), checking first that the names and shapes are exactly the model's.
    ///
    /// # Errors
    /// A message naming the first missing, unexpected or wrongly shaped array; the model is unchanged then.
    ///
    /// ```
    /// use nn::module::{Linear, ModuleExt};
    /// let mut rng = rand::rng();
    /// let (trained, mut fresh) = (Linear::<f64>::new(3, 2, &mut rng), Linear::<f64>::new(3, 2, &mut rng));
    /// fresh.load_state_dict(trained.state_dict()).unwrap();
    /// assert_eq!(fresh.weight, trained.weight);
    /// let wider = Linear::<f64>::new(4, 2, &mut rng).state_dict();
    /// assert_eq!(fresh.load_state_dict(wider).unwrap_err(), "array weight has shape [2, 4], the model's is [2, 3]");
    /// ```
    fn load_state_dict(&mut self, mut state: Params<T>) -> Result<(), String> {
        let expected = self.state_dict();
        for (name, a) in &expected {
            match state.get(name) {
                None => return Err(format!("array {name} is missing")),
                Some(b) if b.shape() != a.shape() => {
                    return Err(format!(
                        "array {name} has shape {:?}, the model's is {:?}",
                        b.shape(),
                        a.shape()
                    ))
                }
                Some(_) => {}
            }
        }
        if let Some(name) = state.names().find(|n| expected.get(n).is_none()) {
            return Err(format!("unexpected array {name}"));
        }
        self.visit_mut(&mut |name, _, a| *a = state.remove(name).expect("checked above"));
        Ok(())
    }

    /// One optimizer step: updates the parameters in place from `grads` (named like
    /// [`parameters`](ModuleExt::parameters), as [`Pass::gradients`] returns them). No array is copied.
    ///
    /// # Panics
    /// When `grads` does not have the parameters' names, order and shapes (the optimizer's message). The
    /// parameters stay in the model then (this crate's optimizers check before they change anything).
    ///
    /// ```
    /// use nn::module::{Linear, ModuleExt};
    /// use nn::optim::Sgd;
    /// let mut layer = Linear::<f64>::new(2, 1, &mut rand::rng());
    /// let before = layer.weight.clone();
    /// let mut grads = layer.parameters().zeros_like();
    /// grads["weight"].fill(1.0);
    /// layer.step(&mut Sgd::new(0.5), &grads); // W ← W − 0.5·1
    /// assert_eq!(layer.weight, before - 0.5);
    /// ```
    #[track_caller]
    fn step(&mut self, optimizer: &mut (impl Optimizer<T> + ?Sized), grads: &Params<T>) {
        let mut params = Params::new();
        self.visit_mut(&mut |name, kind, a| {
            if kind == Kind::Parameter {
                params.insert(name, std::mem::take(a));
            }
        });
        // Returned to the model when dropped, also when the optimizer panics.
        let mut lent = Lent {
            model: self,
            params,
        };
        optimizer.update(&mut lent.params, grads);
    }

    /// The output for `x` in evaluation mode, as an array (a pass on a tape of its own).
    ///
    /// ```
    /// use nn::module::{ModuleExt, Tanh};
    /// assert_eq!(Tanh.predict(ndarray::arr1(&[0.0f64]).into_dyn())[[0]], 0.0);
    /// ```
    fn predict(&self, x: ArrayD<T>) -> ArrayD<T>
    where
        Self: Sized,
    {
        let tape = autograd::Tape::new();
        let pass = Pass::eval(self, &tape);
        pass.forward(tape.constant(x)).value().to_owned()
    }
}

impl<T: Float, M: Module<T> + ?Sized> ModuleExt<T> for M {}

/// A model's parameters moved out for an optimizer, moved back in when dropped (so a panicking update cannot
/// leave the model without them).
struct Lent<'a, T: Float, M: Module<T> + ?Sized> {
    model: &'a mut M,
    params: Params<T>,
}

impl<T: Float, M: Module<T> + ?Sized> Drop for Lent<'_, T, M> {
    fn drop(&mut self) {
        let mut arrays = std::mem::take(&mut self.params).into_iter();
        self.model.visit_mut(&mut |_, kind, a| {
            if kind == Kind::Parameter {
                if let Some((_, array)) = arrays.next() {
                    *a = array;
                }
            }
        });
    }
}

/// The arrays of `kind` (or all), copied, in visiting order.
fn collect<T: Float, M: Module<T> + ?Sized>(module: &M, kind: Option<Kind>) -> Params<T> {
    let mut params = Params::new();
    module.visit(&mut |name, k, a| {
        if kind.is_none_or(|kind| kind == k) {
            params.insert(name, a.clone());
        }
    });
    params
}

/// Prints a module as its [`describe`](Module::describe) does, for `dyn Module` and for the `dyn Module + Send
/// + Sync` that [`Sequential`] holds.
macro_rules! debug_as_describe {
    ($($bounds:tt)*) => {
        impl<T: Float> fmt::Debug for dyn Module<T> $($bounds)* + '_ {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.describe(f)
            }
        }
    };
}

debug_as_describe!();
debug_as_describe!(+ Send + Sync);
