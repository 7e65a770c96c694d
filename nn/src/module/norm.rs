//! [`BatchNorm`]: batch normalisation over the batch (and spatial) axes, per feature or channel.

use std::fmt;
use std::sync::Mutex;

use autograd::{Float, Var};
use ndarray::{ArrayD, IxDyn, Zip};

use super::tensors::tensors;
use super::{Module, Pass};

/// Batch normalisation (`torch.nn.BatchNorm1d` and `BatchNorm2d`): each feature (axis 1) is normalised by the
/// mean and variance over every other axis, then scaled by `weight` (γ) and shifted by `bias` (β).
///
/// In a training pass it normalises by the batch's statistics, and updates `running_mean` and `running_var`
/// as PyTorch does (`running ← (1 − momentum)·running + momentum·batch`, the variance unbiased); in an
/// evaluation pass it normalises by the running statistics. The whole normalisation is made of primitives,
/// so its gradient is exact to any order.
///
/// # Panics
/// In [`forward`](Module::forward), when the input is not `[N, C]` or `[N, C, L]` (1d), `[N, C, H, W]` (2d),
/// with `C` the layer's features; in a training pass, also when it has fewer than 2 values per feature.
///
/// ```
/// use autograd::Tape;
/// use nn::module::{BatchNorm, ModuleExt, Pass};
///
/// let bn = BatchNorm::<f64>::new_1d(2);
/// let x = ndarray::array![[1.0, 10.0], [3.0, 30.0]].into_dyn();
/// let tape = Tape::new();
/// let y = Pass::train(&bn, &tape, rand::SeedableRng::seed_from_u64(0)).forward(tape.constant(x));
/// assert!((y.value()[[0, 0]] + 1.0).abs() < 1e-5 && (y.value()[[1, 1]] - 1.0).abs() < 1e-5);
/// assert_eq!(*bn.running_mean.lock().unwrap(), ndarray::array![0.2, 2.0].into_dyn()); // 0.9·0 + 0.1·mean
/// ```
#[derive(Debug)]
pub struct BatchNorm<T> {
    /// γ, `[features]`, starting at ones.
    pub weight: ArrayD<T>,
    /// β, `[features]`, starting at zeros.
    pub bias: ArrayD<T>,
    /// The running mean, `[features]`, starting at zeros.
    pub running_mean: Mutex<ArrayD<T>>,
    /// The running (unbiased) variance, `[features]`, starting at ones.
    pub running_var: Mutex<ArrayD<T>>,
    /// Added to the variance before the square root (PyTorch's `1e-5`).
    pub eps: f64,
    /// The weight of a batch in the running statistics (PyTorch's 0.1).
    pub momentum: f64,
    spatial: usize,
}

impl<T: Float> BatchNorm<T> {
    /// `BatchNorm1d(features)`: input `[N, features]` or `[N, features, L]`.
    ///
    /// ```
    /// use nn::module::{BatchNorm, ModuleExt};
    /// let bn = BatchNorm::<f64>::new_1d(3);
    /// assert_eq!(bn.predict(ndarray::Array3::zeros((2, 3, 5)).into_dyn()).shape(), [2, 3, 5]);
    /// ```
    pub fn new_1d(features: usize) -> Self {
        Self::new(features, 1)
    }

    /// `BatchNorm2d(channels)`: input `[N, channels, H, W]`.
    ///
    /// ```
    /// use nn::module::{BatchNorm, ModuleExt};
    /// let bn = BatchNorm::<f64>::new_2d(3);
    /// // Fresh running statistics are mean 0, variance 1: evaluation divides by √(1 + ε) only.
    /// let y = bn.predict(ndarray::Array4::from_elem((1, 3, 2, 2), 2.0).into_dyn());
    /// assert!(y.iter().all(|&v| (v - 2.0 / (1.0 + 1e-5f64).sqrt()).abs() < 1e-15));
    /// ```
    pub fn new_2d(channels: usize) -> Self {
        Self::new(channels, 2)
    }

    fn new(features: usize, spatial: usize) -> Self {
        let shape = IxDyn(&[features]);
        BatchNorm {
            weight: ArrayD::ones(shape.clone()),
            bias: ArrayD::zeros(shape.clone()),
            running_mean: Mutex::new(ArrayD::zeros(shape.clone())),
            running_var: Mutex::new(ArrayD::ones(shape)),
            eps: 1e-5,
            momentum: 0.1,
            spatial,
        }
    }

    fn features(&self) -> usize {
        self.weight.len()
    }

    /// Moves the running statistics toward a batch's `mean` and biased `var` over `count` values each.
    fn update_running(&self, mean: &ArrayD<T>, var: &ArrayD<T>, count: usize) {
        let m = T::lit(self.momentum);
        let unbias = T::lit(count as f64 / (count - 1) as f64);
        let shape = IxDyn(&[self.features()]);
        let (mean, var) = (
            mean.view()
                .into_shape_with_order(shape.clone())
                .expect("one per feature"),
            var.view()
                .into_shape_with_order(shape)
                .expect("one per feature"),
        );
        Zip::from(&mut *lock(&self.running_mean))
            .and(&mean)
            .for_each(|r, &b| *r = (T::one() - m) * *r + m * b);
        Zip::from(&mut *lock(&self.running_var))
            .and(&var)
            .for_each(|r, &b| *r = (T::one() - m) * *r + m * b * unbias);
    }
}

/// The running statistic behind `m` (a panic while it was held cannot leave it half-written: it is replaced
/// whole, element by element, by plain arithmetic).
fn lock<T>(m: &Mutex<ArrayD<T>>) -> std::sync::MutexGuard<'_, ArrayD<T>> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl<T: Float> Module<T> for BatchNorm<T> {
    #[track_caller]
    fn forward<'t>(&self, x: Var<'t, T>, pass: &Pass<'_, 't, T>) -> Var<'t, T> {
        let shape = x.shape();
        let allowed = match self.spatial {
            1 => [2, 3].contains(&shape.len()),
            _ => shape.len() == 4,
        };
        let c = self.features();
        if !allowed || shape[1] != c {
            match self.spatial {
                1 => panic!(
                    "BatchNorm1d({c}): input of shape {shape:?} (need [N, {c}] or [N, {c}, L])"
                ),
                _ => panic!("BatchNorm2d({c}): input of shape {shape:?} (need [N, {c}, H, W])"),
            }
        }
        let axes: Vec<usize> = (0..shape.len()).filter(|&a| a != 1).collect();
        let mut per_feature = vec![1; shape.len()];
        per_feature[1] = c;
        let (mean, var) = match pass.training() {
            true => {
                let count: usize = axes.iter().map(|&a| shape[a]).product();
                if count < 2 {
                    // As PyTorch: one value per feature has no variance to normalise by.
                    panic!(
                        "BatchNorm{}d({c}): input of shape {shape:?} gives {count} values per feature in a \
                         training pass (need at least 2)",
                        self.spatial
                    );
                }
                let mean = x.mean_axes(axes.clone(), true);
                let var = x.var(axes.clone(), 0, true);
                self.update_running(&mean.value(), &var.value(), count);
                (mean, var)
            }
            false => {
                let tape = pass.tape();
                let running = |a: &Mutex<ArrayD<T>>| {
                    let a = lock(a).clone().into_shape_with_order(per_feature.clone());
                    tape.constant(a.expect("one per feature"))
                };
                (running(&self.running_mean), running(&self.running_var))
            }
        };
        let normalised = (x - mean) / (var + T::lit(self.eps)).sqrt();
        let gamma = pass.param(&self.weight).reshape(&per_feature);
        let beta = pass.param(&self.bias).reshape(&per_feature);
        normalised * gamma + beta
    }

    tensors!(Parameter weight, Parameter bias, Buffer running_mean, Buffer running_var);

    fn describe(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "BatchNorm{}d({}, eps={}, momentum={})",
            self.spatial,
            self.features(),
            self.eps,
            self.momentum
        )
    }
}
