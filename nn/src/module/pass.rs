//! [`Pass`]: one run of a model on a tape, in training or evaluation mode.

use std::cell::{RefCell, RefMut};

use autograd::{Float, Gradients, Tape, Var};
use ndarray::ArrayD;
use rand::rngs::StdRng;
use rand::SeedableRng;

use super::{Kind, Module};
use crate::Params;

/// One forward run of a model on a tape: the model's parameters as tape variables (constants in evaluation),
/// the mode, and the random numbers dropout draws in training.
///
/// It borrows the model, so the model cannot change while the pass lives; [`gradients`](Pass::gradients)
/// ends it with the parameters' gradients, named as the model names them.
///
/// ```
/// use autograd::Tape;
/// use nn::module::{Dropout, Module, Pass};
///
/// let dropout = Dropout::new(0.5);
/// let tape = Tape::<f64>::new();
/// let x = tape.constant(ndarray::Array1::ones(1000).into_dyn());
/// let eval = Pass::eval(&dropout, &tape).forward(x);
/// assert_eq!(eval.value(), x.value()); // off in evaluation
/// let train = Pass::train(&dropout, &tape, rand::SeedableRng::seed_from_u64(3)).forward(x);
/// let kept = train.value().iter().filter(|&&v| v == 2.0).count(); // kept ones are scaled by 1/(1 − p)
/// assert!((400..600).contains(&kept));
/// ```
pub struct Pass<'m, 't, T: Float> {
    model: &'m dyn Module<T>,
    tape: &'t Tape<T>,
    params: Vec<Bound<'t, T>>,
    training: bool,
    rng: RefCell<StdRng>,
}

/// A parameter of the model and its node on the tape.
struct Bound<'t, T: Float> {
    array: *const ArrayD<T>,
    name: String,
    var: Var<'t, T>,
}

impl<'m, 't, T: Float> Pass<'m, 't, T> {
    /// A training pass: parameters become named variables, dropout draws from `rng`, batch norm uses and
    /// updates batch statistics.
    ///
    /// ```
    /// use nn::module::{Linear, Pass};
    /// let layer = Linear::<f64>::new(2, 1, &mut rand::rng());
    /// let tape = autograd::Tape::new();
    /// let pass = Pass::train(&layer, &tape, rand::SeedableRng::seed_from_u64(0));
    /// assert!(pass.training() && pass.param(&layer.weight).requires_grad());
    /// ```
    pub fn train(model: &'m dyn Module<T>, tape: &'t Tape<T>, rng: StdRng) -> Self {
        Self::new(model, tape, true, rng)
    }

    /// An evaluation pass: parameters are constants (no gradients), dropout is off, batch norm uses its running
    /// statistics.
    ///
    /// ```
    /// use nn::module::{Linear, Pass};
    /// let layer = Linear::<f64>::new(2, 1, &mut rand::rng());
    /// let tape = autograd::Tape::new();
    /// let pass = Pass::eval(&layer, &tape);
    /// assert!(!pass.training() && !pass.param(&layer.weight).requires_grad());
    /// ```
    pub fn eval(model: &'m dyn Module<T>, tape: &'t Tape<T>) -> Self {
        Self::new(model, tape, false, StdRng::seed_from_u64(0))
    }

    fn new(model: &'m dyn Module<T>, tape: &'t Tape<T>, training: bool, rng: StdRng) -> Self {
        let mut params = Vec::new();
        model.visit(&mut |name, kind, a| {
            if kind == Kind::Parameter {
                let var = match training {
                    true => tape.var_named(name, a.view()),
                    false => tape.constant_named(name, a.view()),
                };
                params.push(Bound {
                    array: a,
                    name: name.to_owned(),
                    var,
                });
            }
        });
        Pass {
            model,
            tape,
            params,
            training,
            rng: RefCell::new(rng),
        }
    }

    /// The model's output for `x`.
    ///
    /// ```
    /// use nn::module::{Pass, ReLU};
    /// let tape = autograd::Tape::<f64>::new();
    /// let y = Pass::eval(&ReLU, &tape).forward(tape.constant(ndarray::arr1(&[-1.0, 2.0])));
    /// assert_eq!(y.value(), ndarray::arr1(&[0.0, 2.0]).into_dyn());
    /// ```
    #[track_caller]
    pub fn forward(&self, x: Var<'t, T>) -> Var<'t, T> {
        self.model.forward(x, self)
    }

    /// The tape node of the model's parameter `array` (a field of one of its layers), for a layer's forward.
    ///
    /// The lookup is by identity (the array's address), not by value: a copy of a parameter is not it.
    ///
    /// # Panics
    /// When `array` is not a parameter of the model this pass runs.
    ///
    /// ```
    /// use nn::module::{Linear, Pass};
    /// let layer = Linear::<f64>::new(2, 1, &mut rand::rng());
    /// let tape = autograd::Tape::new();
    /// let pass = Pass::eval(&layer, &tape);
    /// assert_eq!(pass.param(&layer.weight).value(), layer.weight);
    /// ```
    #[track_caller]
    pub fn param(&self, array: &ArrayD<T>) -> Var<'t, T> {
        match self.params.iter().find(|b| std::ptr::eq(b.array, array)) {
            Some(bound) => bound.var,
            None => panic!(
                "Pass::param: an array of shape {:?} is not a parameter of the model this pass runs \
                 (is it listed in the layer's visit?)",
                array.shape()
            ),
        }
    }

    /// True in a training pass.
    ///
    /// ```
    /// let tape = autograd::Tape::<f64>::new();
    /// assert!(!nn::module::Pass::eval(&nn::module::ReLU, &tape).training());
    /// ```
    pub fn training(&self) -> bool {
        self.training
    }

    /// The tape the pass records on.
    ///
    /// ```
    /// let tape = autograd::Tape::<f64>::new();
    /// let pass = nn::module::Pass::eval(&nn::module::ReLU, &tape);
    /// assert!(std::ptr::eq(pass.tape(), &tape));
    /// ```
    pub fn tape(&self) -> &'t Tape<T> {
        self.tape
    }

    /// The random numbers of a training pass (for dropout), from the generator the pass was given.
    ///
    /// ```
    /// use rand::{Rng, SeedableRng};
    /// let tape = autograd::Tape::<f64>::new();
    /// let pass = nn::module::Pass::train(&nn::module::ReLU, &tape, rand::rngs::StdRng::seed_from_u64(7));
    /// let first: u64 = pass.rng().random();
    /// assert_eq!(first, rand::rngs::StdRng::seed_from_u64(7).random::<u64>());
    /// ```
    pub fn rng(&self) -> RefMut<'_, StdRng> {
        self.rng.borrow_mut()
    }

    /// The gradients of the model's parameters, moved out of `grads`, named and ordered like
    /// [`parameters`](super::ModuleExt::parameters): what [`step`](super::ModuleExt::step) and the optimizers
    /// take. A parameter the loss does not reach gets zeros.
    ///
    /// ```
    /// use nn::module::{Linear, Pass};
    /// let mut layer = Linear::<f64>::new(2, 1, &mut rand::rng());
    /// layer.weight = ndarray::array![[3.0, 4.0]].into_dyn();
    /// let tape = autograd::Tape::new();
    /// let pass = Pass::train(&layer, &tape, rand::SeedableRng::seed_from_u64(0));
    /// let y = pass.forward(tape.constant(ndarray::array![[1.0, 2.0]]));
    /// let grads = pass.gradients(&mut y.sum().backward()); // ∂y/∂W = x, ∂y/∂b = 1
    /// assert_eq!(grads["weight"], ndarray::array![[1.0, 2.0]].into_dyn());
    /// assert_eq!(grads["bias"], ndarray::array![1.0].into_dyn());
    /// ```
    pub fn gradients(&self, grads: &mut Gradients<T>) -> Params<T> {
        self.params
            .iter()
            .map(|b| {
                let g = grads
                    .take(b.var)
                    .unwrap_or_else(|| ArrayD::zeros(b.var.shape()));
                (b.name.as_str(), g)
            })
            .collect()
    }
}
