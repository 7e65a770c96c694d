//! The lecture's two-layer net: `Affine1 → Relu1 → Affine2`, then `SoftmaxWithLoss`.

use autograd::{Float, Tape, Var};
use ndarray::{Array1, Array2, ArrayView2, Ix1, Ix2};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

use crate::functions::{self, argmax};
use crate::{Input, Labels, LayerKind, Params};

/// One layer of the net before the loss, naming the parameters it uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layer {
    /// `x·W + b` with the parameters named `weight` and `bias`.
    Affine {
        /// The weight's name in [`TwoLayerNet::params`].
        weight: &'static str,
        /// The bias's name in [`TwoLayerNet::params`].
        bias: &'static str,
    },
    /// ReLU.
    Relu,
}

/// A two-layer fully connected net (input → hidden → output), as in the lecture.
///
/// The parameters are `W1` (`input × hidden`), `b1` (`hidden`), `W2` (`hidden × output`) and `b2` (`output`)
/// in [`params`](TwoLayerNet::params); the layers run in the order `Affine1`, `Relu1`, `Affine2`, and the last
/// layer is `SoftmaxWithLoss`. Each method runs on its own [`Tape`]; [`kind`](TwoLayerNet::kind) picks
/// composed or fused layers (fused by default). Use `f32` to train and `f64` to check gradients.
///
/// ```
/// use ndarray::Array2;
/// use nn::TwoLayerNet;
///
/// let net = TwoLayerNet::<f32>::new_seeded(784, 50, 10, 0.01, 42);
/// let x = Array2::<f32>::zeros((3, 784));
/// let (loss, grads) = net.gradient(x.view(), &vec![1, 2, 3]);
/// assert!((loss - 10f32.ln()).abs() < 1e-3); // tiny weights: all classes equally likely
/// assert_eq!(grads["W1"].shape(), [784, 50]);
/// assert_eq!(net.predict(&x.view()).dim(), (3, 10));
/// ```
#[derive(Clone, Debug)]
pub struct TwoLayerNet<T: Float> {
    /// `W1`, `b1`, `W2`, `b2`, in that order.
    pub params: Params<T>,
    /// Composed or fused layers.
    pub kind: LayerKind,
    layers: Vec<(&'static str, Layer)>,
}

impl<T: Float> TwoLayerNet<T> {
    /// A net with weights `weight_init_std · N(0, 1)` from the thread's random generator and zero biases.
    pub fn new(
        input_size: usize,
        hidden_size: usize,
        output_size: usize,
        weight_init_std: f64,
    ) -> Self {
        Self::with_rng(
            input_size,
            hidden_size,
            output_size,
            weight_init_std,
            &mut rand::rng(),
        )
    }

    /// Like [`new`](TwoLayerNet::new), with the weights drawn from a [`StdRng`] seeded with `seed`: the same
    /// seed gives the same net (in `f32` and `f64` alike, up to rounding).
    pub fn new_seeded(
        input_size: usize,
        hidden_size: usize,
        output_size: usize,
        weight_init_std: f64,
        seed: u64,
    ) -> Self {
        Self::with_rng(
            input_size,
            hidden_size,
            output_size,
            weight_init_std,
            &mut StdRng::seed_from_u64(seed),
        )
    }

    /// Like [`new`](TwoLayerNet::new), with the weights drawn from `rng` (`W1` first, row by row, then `W2`).
    pub fn with_rng(
        input_size: usize,
        hidden_size: usize,
        output_size: usize,
        weight_init_std: f64,
        rng: &mut impl Rng,
    ) -> Self {
        let mut weights = |rows, cols| {
            Array2::from_shape_fn((rows, cols), |_| {
                T::lit(weight_init_std * rng.sample::<f64, _>(StandardNormal))
            })
            .into_dyn()
        };
        let params = [
            ("W1", weights(input_size, hidden_size)),
            ("b1", Array1::zeros(hidden_size).into_dyn()),
            ("W2", weights(hidden_size, output_size)),
            ("b2", Array1::zeros(output_size).into_dyn()),
        ]
        .into_iter()
        .collect();
        let layers = vec![
            (
                "Affine1",
                Layer::Affine {
                    weight: "W1",
                    bias: "b1",
                },
            ),
            ("Relu1", Layer::Relu),
            (
                "Affine2",
                Layer::Affine {
                    weight: "W2",
                    bias: "b2",
                },
            ),
        ];
        TwoLayerNet {
            params,
            kind: LayerKind::default(),
            layers,
        }
    }

    /// The layers before the loss, in order, with their names (`Affine1`, `Relu1`, `Affine2`).
    pub fn layers(&self) -> &[(&'static str, Layer)] {
        &self.layers
    }

    /// The scores (before softmax) of a batch `x` (`N × input`): `N × output`.
    ///
    /// Like the lecture's `predict`, this runs each layer's forward computation on plain arrays — no graph is
    /// recorded and nothing is copied onto a tape — which makes it the fast path for evaluation. The values
    /// are those of either layer kind (they agree to rounding).
    ///
    /// # Panics
    /// When `x` is not `input` wide.
    #[track_caller]
    pub fn predict(&self, x: &impl Input<T>) -> Array2<T> {
        let matrix = |name: &str| {
            let Some(a) = self.params.get(name) else {
                panic!("TwoLayerNet: no parameter named '{name}'")
            };
            a.view()
        };
        let affine = |input: Option<&Array2<T>>, weight: &str, bias: &str| {
            let w = matrix(weight)
                .into_dimensionality::<Ix2>()
                .expect("weights are 2-D");
            let b = matrix(bias)
                .into_dimensionality::<Ix1>()
                .expect("biases are 1-D");
            match input {
                Some(h) => functions::affine(h.view(), w, b),
                None => x.affine_values(w, b),
            }
        };
        let mut h: Option<Array2<T>> = None;
        for (_, layer) in &self.layers {
            h = Some(match *layer {
                Layer::Affine { weight, bias } => affine(h.as_ref(), weight, bias),
                Layer::Relu => {
                    let mut a = h.take().expect("the first layer is affine");
                    a.mapv_inplace(functions::relu);
                    a
                }
            });
        }
        h.expect("the net has layers")
    }

    /// The mean cross-entropy loss of a batch `x` against labels `t`.
    ///
    /// # Panics
    /// When `x` is not `input` wide or the labels do not fit (see [`Labels::check`]).
    #[track_caller]
    pub fn loss<'a>(&self, x: ArrayView2<'_, T>, t: impl Into<Labels<'a, T>>) -> T {
        self.loss_with(&self.params, x, t.into())
    }

    /// The fraction of the batch whose highest score is at its label's class (NaN for an empty batch).
    ///
    /// # Panics
    /// When `x` is not `input` wide or the labels do not fit (see [`Labels::check`]).
    #[track_caller]
    pub fn accuracy<'a>(&self, x: ArrayView2<'_, T>, t: impl Into<Labels<'a, T>>) -> f64 {
        let t = t.into();
        let y = self.predict(&x);
        t.check("accuracy", y.dim());
        let correct = y
            .rows()
            .into_iter()
            .enumerate()
            .filter(|&(i, row)| argmax(row) == t.class(i))
            .count();
        correct as f64 / y.nrows() as f64
    }

    /// The gradient of [`loss`](TwoLayerNet::loss) by central differences, `(L(p + h) − L(p − h)) / 2h` with
    /// `h = 1e-4` for every element of every parameter: two forward passes per element, so slow — for checking
    /// [`gradient`](TwoLayerNet::gradient) on small nets, in `f64`.
    ///
    /// # Panics
    /// As [`loss`](TwoLayerNet::loss).
    #[track_caller]
    pub fn numerical_gradient<'a>(
        &self,
        x: ArrayView2<'_, T>,
        t: impl Into<Labels<'a, T>>,
    ) -> Params<T> {
        let t = t.into();
        let h = T::lit(1e-4);
        let mut probe: Params<T> = self
            .params
            .iter()
            .map(|(name, a)| (name, a.as_standard_layout().into_owned()))
            .collect();
        let mut grads = self.params.zeros_like();
        for name in self.params.names() {
            for i in 0..probe[name].len() {
                let original = *element(&mut probe, name, i);
                *element(&mut probe, name, i) = original + h;
                let up = self.loss_with(&probe, x, t);
                *element(&mut probe, name, i) = original - h;
                let down = self.loss_with(&probe, x, t);
                *element(&mut probe, name, i) = original;
                *element(&mut grads, name, i) = (up - down) / (h + h);
            }
        }
        grads
    }

    /// The loss and its gradient with respect to every parameter, by backpropagation: one tape with the
    /// parameters as variables and the batch as a constant; the gradients are moved out of the gradient store,
    /// not copied. The gradients have the names, order and shapes of [`params`](TwoLayerNet::params).
    ///
    /// `x` is a view (copied onto the tape) or an owned array (moved there: a training loop that is done
    /// with its batch saves the copy, about a tenth of the lecture's step).
    ///
    /// # Panics
    /// As [`loss`](TwoLayerNet::loss).
    #[track_caller]
    pub fn gradient<'a>(&self, x: impl Input<T>, t: impl Into<Labels<'a, T>>) -> (T, Params<T>) {
        let tape = Tape::new();
        let vars = self.params.on_tape(&tape);
        let scores = self.scores(&self.params, &vars, x);
        let loss = self.kind.softmax_with_loss(scores, t.into());
        let grads = self.params.take_gradients(&vars, &mut loss.backward());
        (loss.scalar(), grads)
    }

    /// The loss with parameters `params` (the net's own, or perturbed copies) on an inference tape.
    #[track_caller]
    fn loss_with(&self, params: &Params<T>, x: ArrayView2<'_, T>, t: Labels<'_, T>) -> T {
        let tape = Tape::inference();
        let vars = params.on_tape(&tape);
        let scores = self.scores(params, &vars, x);
        self.kind.softmax_with_loss(scores, t).scalar()
    }

    /// The layers applied to the batch `x`, with the parameters' nodes `vars` (in the order of `params`).
    #[track_caller]
    fn scores<'t>(&self, params: &Params<T>, vars: &[Var<'t, T>], x: impl Input<T>) -> Var<'t, T> {
        let param = |name: &str| {
            let k = params
                .position(name)
                .unwrap_or_else(|| panic!("TwoLayerNet: no parameter named '{name}'"));
            vars[k]
        };
        let mut layers = self.layers.iter();
        let Some((_, Layer::Affine { weight, bias })) = layers.next() else {
            unreachable!("the first layer is affine");
        };
        let first = x.affine(self.kind, param(weight), param(bias));
        layers.fold(first, |h, (_, layer)| match *layer {
            Layer::Affine { weight, bias } => self.kind.affine(h, param(weight), param(bias)),
            Layer::Relu => self.kind.relu(h),
        })
    }
}

/// Element `i` (in memory order) of the standard-layout parameter `name`.
fn element<'p, T: Float>(params: &'p mut Params<T>, name: &str, i: usize) -> &'p mut T {
    &mut params[name].as_slice_mut().expect("standard layout")[i]
}
