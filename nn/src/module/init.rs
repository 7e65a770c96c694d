//! [`Init`]: how a layer's weights and biases start.

use autograd::Float;
use ndarray::{ArrayD, IxDyn};
use rand::Rng;
use rand_distr::{StandardNormal, Uniform};

/// A weight initialisation, in terms of the layer's fan-in `n` (inputs per output: `in_features` for
/// [`Linear`](super::Linear), `in_channels·kh·kw` for [`Conv2d`](super::Conv2d)).
///
/// ```
/// use nn::module::{Init, Linear};
/// use rand::{rngs::StdRng, SeedableRng};
///
/// let layer = Linear::<f64>::with_init(400, 100, Init::He, &mut StdRng::seed_from_u64(0));
/// let std = (layer.weight.mapv(|w| w * w).mean().unwrap()).sqrt();
/// assert!((std - (2.0f64 / 400.0).sqrt()).abs() < 0.002); // He: √(2/n)
/// assert!(layer.bias.unwrap().iter().all(|&b| b == 0.0));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Init {
    /// PyTorch's default for `Linear` and `Conv2d`: weights and biases uniform in `±1/√n`.
    PyTorch,
    /// Weights normal with this standard deviation (the lecture's `weight_init_std`, 0.01), biases zero.
    Normal(f64),
    /// Weights normal with standard deviation `√(1/n)`, biases zero: the Xavier value as the lecture's book
    /// uses it for sigmoid and tanh nets (Glorot's paper averages fan-in and fan-out).
    Xavier,
    /// Weights normal with standard deviation `√(2/n)`, biases zero: He's value, for ReLU nets.
    He,
}

impl Init {
    /// A weight array of `shape` for fan-in `fan_in`, drawn from `rng` in row-major order.
    ///
    /// ```
    /// use nn::module::Init;
    /// let w = Init::PyTorch.weight::<f64>(&[20, 4], 4, &mut rand::rng());
    /// assert!(w.iter().all(|v| v.abs() <= 0.5)); // 1/√4
    /// ```
    pub fn weight<T: Float>(self, shape: &[usize], fan_in: usize, rng: &mut impl Rng) -> ArrayD<T> {
        let n = fan_in as f64;
        match self {
            Init::PyTorch => uniform(shape, pytorch_bound(fan_in), rng),
            Init::Normal(std) => normal(shape, std, rng),
            Init::Xavier => normal(shape, (1.0 / n).sqrt(), rng),
            Init::He => normal(shape, (2.0 / n).sqrt(), rng),
        }
    }

    /// A bias array of `len` for fan-in `fan_in`: zeros, or uniform in `±1/√n` for [`Init::PyTorch`].
    ///
    /// ```
    /// use nn::module::Init;
    /// assert_eq!(Init::He.bias::<f64>(3, 10, &mut rand::rng()), ndarray::Array1::<f64>::zeros(3).into_dyn());
    /// ```
    pub fn bias<T: Float>(self, len: usize, fan_in: usize, rng: &mut impl Rng) -> ArrayD<T> {
        match self {
            Init::PyTorch => uniform(&[len], pytorch_bound(fan_in), rng),
            _ => ArrayD::zeros(IxDyn(&[len])),
        }
    }
}

/// `1/√fan_in`, or 0 for a layer without inputs (as PyTorch, whose biases are then zeros).
fn pytorch_bound(fan_in: usize) -> f64 {
    match fan_in {
        0 => 0.0,
        n => 1.0 / (n as f64).sqrt(),
    }
}

fn normal<T: Float>(shape: &[usize], std: f64, rng: &mut impl Rng) -> ArrayD<T> {
    ArrayD::from_shape_simple_fn(IxDyn(shape), || {
        T::lit(std * rng.sample::<f64, _>(StandardNormal))
    })
}

fn uniform<T: Float>(shape: &[usize], bound: f64, rng: &mut impl Rng) -> ArrayD<T> {
    let range = Uniform::new_inclusive(-bound, bound).expect("a finite bound");
    ArrayD::from_shape_simple_fn(IxDyn(shape), || T::lit(rng.sample(range)))
}
