//! Layers without parameters: [`ReLU`], [`Sigmoid`], [`Tanh`], [`Flatten`] and [`Dropout`].

use std::fmt;

use autograd::{Float, Var};
use ndarray::ArrayD;
use rand::Rng;

use super::{Module, Pass};

/// Declares an element-wise activation layer over a `Var` method.
macro_rules! activation {
    ($(#[$doc:meta])* $name:ident, $method:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct $name;

        impl<T: Float> Module<T> for $name {
            fn forward<'t>(&self, x: Var<'t, T>, _pass: &Pass<'_, 't, T>) -> Var<'t, T> {
                x.$method()
            }

            fn describe(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "()"))
            }
        }
    };
}

activation!(
    /// `max(x, 0)`, element-wise (`torch.nn.ReLU`).
    ///
    /// ```
    /// use nn::module::{ModuleExt, ReLU};
    /// assert_eq!(ReLU.predict(ndarray::arr1(&[-1.0, 2.0]).into_dyn()), ndarray::arr1(&[0.0, 2.0]).into_dyn());
    /// ```
    ReLU,
    relu
);

activation!(
    /// `1 / (1 + e⁻ˣ)`, element-wise (`torch.nn.Sigmoid`).
    ///
    /// ```
    /// use nn::module::{ModuleExt, Sigmoid};
    /// assert_eq!(Sigmoid.predict(ndarray::arr1(&[0.0]).into_dyn()), ndarray::arr1(&[0.5]).into_dyn());
    /// ```
    Sigmoid,
    sigmoid
);

activation!(
    /// `tanh x`, element-wise (`torch.nn.Tanh`).
    ///
    /// ```
    /// use nn::module::{ModuleExt, Tanh};
    /// assert_eq!(Tanh.predict(ndarray::arr1(&[0.0]).into_dyn()), ndarray::arr1(&[0.0]).into_dyn());
    /// ```
    Tanh,
    tanh
);

/// `[N, …]` to `[N, product of the rest]` (`torch.nn.Flatten` with its defaults).
///
/// # Panics
/// In [`forward`](Module::forward), when the input has fewer than 2 axes.
///
/// ```
/// use nn::module::{Flatten, ModuleExt};
/// assert_eq!(Flatten.predict(ndarray::Array4::<f64>::zeros((2, 3, 4, 5)).into_dyn()).shape(), [2, 60]);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flatten;

impl<T: Float> Module<T> for Flatten {
    #[track_caller]
    fn forward<'t>(&self, x: Var<'t, T>, _pass: &Pass<'_, 't, T>) -> Var<'t, T> {
        if x.ndim() < 2 {
            panic!(
                "Flatten(): input of shape {:?} has no axes after the batch axis",
                x.shape()
            );
        }
        x.flatten(1, -1)
    }

    fn describe(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Flatten()")
    }
}

/// Inverted dropout (`torch.nn.Dropout`): in training, each element is zeroed with probability `p` and the
/// others are scaled by `1/(1 − p)`, so that evaluation, where the layer does nothing, needs no rescaling.
/// The mask comes from the pass's random numbers ([`Pass::rng`]).
///
/// ```
/// use autograd::Tape;
/// use nn::module::{Dropout, ModuleExt, Pass};
///
/// let x = ndarray::Array1::<f64>::ones(8).into_dyn();
/// assert_eq!(Dropout::new(0.5).predict(x.clone()), x); // off in evaluation
/// let (tape, dropout) = (Tape::new(), Dropout::new(0.75));
/// let pass = Pass::train(&dropout, &tape, rand::SeedableRng::seed_from_u64(0));
/// let y = pass.forward(tape.constant(x)).value();
/// assert!(y.iter().all(|&v| v == 0.0 || v == 4.0)); // zeroed, or scaled by 1/(1 − 0.75)
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dropout {
    /// The probability of zeroing an element.
    pub p: f64,
}

impl Dropout {
    /// Dropout with probability `p`.
    ///
    /// # Panics
    /// When `p` is not in `[0, 1)`.
    ///
    /// ```
    /// assert_eq!(nn::module::Dropout::new(0.2).p, 0.2);
    /// assert!(std::panic::catch_unwind(|| nn::module::Dropout::new(1.0)).is_err());
    /// ```
    #[track_caller]
    pub fn new(p: f64) -> Self {
        assert!((0.0..1.0).contains(&p), "Dropout: p = {p} is not in [0, 1)");
        Dropout { p }
    }
}

impl<T: Float> Module<T> for Dropout {
    fn forward<'t>(&self, x: Var<'t, T>, pass: &Pass<'_, 't, T>) -> Var<'t, T> {
        if !pass.training() || self.p == 0.0 {
            return x;
        }
        let keep = T::lit(1.0 / (1.0 - self.p));
        let mut rng = pass.rng();
        let mask = ArrayD::from_shape_simple_fn(x.shape(), || match rng.random::<f64>() < self.p {
            true => T::zero(),
            false => keep,
        });
        x * pass.tape().constant(mask)
    }

    fn describe(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Dropout(p={})", self.p)
    }
}
