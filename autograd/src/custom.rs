//! User-defined differentiable ops: forward on arrays, backward written once against [`Algebra`].
//!
//! A custom op is a first-class node: it draws as one box, passes [`gradcheck`](crate::gradcheck), and — because
//! its backward rule is generic over the algebra — supports higher-order gradients like the built-in ops.

use std::rc::Rc;

use ndarray::{ArrayD, ArrayViewD};

use crate::ops::{InputGrads, Op};
use crate::{Algebra, ArrayAlgebra, Float, TapeAlgebra, Value, Var};

/// A differentiable operation defined outside the engine.
///
/// `forward` computes the output from the inputs' arrays. `backward` returns, for each input that `needs` a
/// gradient, the gradient of the loss with respect to it, given the upstream gradient `grad` of the output;
/// return `None` for the others (and you may return `None` for any input that is not differentiable). Write
/// `backward` with the [`Algebra`] operations only: run on arrays it is the fast first-order rule, run on the
/// tape it builds a differentiable graph, so second derivatives of your op work too.
///
/// # Example: a fused `sigmoid` node, `y = 1/(1+e⁻ˣ)` with `dx = g·y·(1−y)`
/// ```
/// use autograd::{Algebra, CustomOp, Float, Tape, gradcheck};
/// use ndarray::{ArrayD, ArrayViewD};
///
/// struct Sigmoid;
///
/// impl<T: Float> CustomOp<T> for Sigmoid {
///     fn name(&self) -> &str { "sigmoid" }
///     fn forward(&self, x: &[ArrayViewD<T>]) -> ArrayD<T> {
///         x[0].mapv(|v| T::one() / (T::one() + (-v).exp()))
///     }
///     fn backward<A: Algebra<T>>(&self, alg: &A, _x: &[&A::V], y: &A::V, g: &A::V, _needs: &[bool])
///         -> Vec<Option<A::V>> {
///         let one_minus_y = alg.add_scalar(&alg.neg(y), T::one());
///         vec![Some(alg.mul(g, &alg.mul(y, &one_minus_y)))]
///     }
/// }
///
/// let tape = Tape::<f64>::new();
/// let x = tape.var(0.0);
/// let y = x.custom(Sigmoid, &[]);
/// assert_eq!(y.scalar(), 0.5);
/// assert_eq!(y.backward().scalar(x), 0.25);
///
/// // Checked against finite differences, and twice differentiable: σ''(0) = 0.
/// let report = gradcheck(|v| v[0].custom(Sigmoid, &[]).sum(), &[ndarray::arr1(&[-1.0, 0.5]).into_dyn()]);
/// assert!(report.max_abs_error() < 1e-8);
/// let dy = y.backward_graph()[x];
/// assert!(dy.backward().scalar(x).abs() < 1e-12);
/// ```
pub trait CustomOp<T: Float>: 'static {
    /// The label drawn for this node and used in error messages.
    fn name(&self) -> &str;

    /// The output computed from the inputs' arrays. Panic with the op's name and the shapes on bad input.
    fn forward(&self, inputs: &[ArrayViewD<'_, T>]) -> ArrayD<T>;

    /// One gradient per input (`None` where not needed), given the upstream gradient `grad` of `output`.
    fn backward<A: Algebra<T>>(
        &self,
        alg: &A,
        inputs: &[&A::V],
        output: &A::V,
        grad: &A::V,
        needs: &[bool],
    ) -> Vec<Option<A::V>>;
}

/// The object-safe face of a [`CustomOp`], implemented for every `CustomOp` automatically. The tape stores
/// custom ops as `Rc<dyn ErasedOp<T>>`; you never implement this yourself.
pub trait ErasedOp<T: Float> {
    /// See [`CustomOp::name`].
    fn name(&self) -> &str;
    /// See [`CustomOp::forward`].
    fn forward(&self, inputs: &[ArrayViewD<'_, T>]) -> ArrayD<T>;
    /// The backward rule run on arrays.
    fn backward_arrays(
        &self,
        x: &[&Value<T>],
        y: &Value<T>,
        g: &Value<T>,
        needs: &[bool],
    ) -> InputGrads<Value<T>>;
    /// The backward rule recorded on the tape.
    fn backward_tape<'t>(
        &self,
        alg: &TapeAlgebra<'t, T>,
        x: &[&Var<'t, T>],
        y: &Var<'t, T>,
        g: &Var<'t, T>,
        needs: &[bool],
    ) -> InputGrads<Var<'t, T>>;
}

impl<T: Float, O: CustomOp<T>> ErasedOp<T> for O {
    fn name(&self) -> &str {
        CustomOp::name(self)
    }

    fn forward(&self, inputs: &[ArrayViewD<'_, T>]) -> ArrayD<T> {
        CustomOp::forward(self, inputs)
    }

    fn backward_arrays(
        &self,
        x: &[&Value<T>],
        y: &Value<T>,
        g: &Value<T>,
        needs: &[bool],
    ) -> InputGrads<Value<T>> {
        let grads = checked(self, x.len(), self.backward(&ArrayAlgebra, x, y, g, needs));
        // The backward pass takes a number as a gradient that needs no reduction to its input's shape, which
        // holds only for a 0-d input; a number for a larger input is refused here, where the inputs are at hand.
        for (k, (grad, input)) in grads.iter().zip(x).enumerate() {
            if let (Some(Value::Scalar(_)), shape @ [_, ..]) = (grad, input.shape()) {
                panic!(
                    "custom op {}: backward returned a number as the gradient of input {k}, of shape {shape:?}",
                    CustomOp::name(self)
                );
            }
        }
        grads
    }

    fn backward_tape<'t>(
        &self,
        alg: &TapeAlgebra<'t, T>,
        x: &[&Var<'t, T>],
        y: &Var<'t, T>,
        g: &Var<'t, T>,
        needs: &[bool],
    ) -> InputGrads<Var<'t, T>> {
        checked(self, x.len(), self.backward(alg, x, y, g, needs))
    }
}

fn checked<T: Float, V>(
    op: &dyn ErasedOp<T>,
    inputs: usize,
    grads: Vec<Option<V>>,
) -> InputGrads<V> {
    assert!(
        grads.len() == inputs,
        "custom op {}: backward returned {} gradients for {} inputs",
        op.name(),
        grads.len(),
        inputs
    );
    grads.into()
}

impl<'t, T: Float> Var<'t, T> {
    /// Applies a custom op to `self` followed by `others` (in that input order).
    ///
    /// # Panics
    /// When the handles belong to different tapes, or as the op's `forward` does.
    #[track_caller]
    pub fn custom(self, op: impl CustomOp<T>, others: &[Var<'t, T>]) -> Var<'t, T> {
        self.custom_rc(Rc::new(op), others)
    }

    /// Like [`Var::custom`] for an op shared by several nodes.
    #[track_caller]
    pub fn custom_rc(self, op: Rc<dyn ErasedOp<T>>, others: &[Var<'t, T>]) -> Var<'t, T> {
        let mut ids = vec![self.id()];
        for other in others {
            ids.push(self.same_tape(*other, op.name()));
        }
        self.tape().push(Op::Custom(op), &ids)
    }
}
