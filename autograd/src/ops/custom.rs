//! User-defined differentiable ops: forward on arrays, backward written once with [`Var`] handles.
//!
//! A custom op is a first-class node: it draws as one box, passes [`gradcheck`](crate::gradcheck()), and —
//! because its backward rule is generic over the [`Backend`] — supports higher-order gradients like the
//! built-in ops.

use std::fmt;
use std::rc::Rc;

use ndarray::{ArrayD, ArrayViewD};
use smallvec::SmallVec;

use super::{InputGrads, Op, Primitive};
use crate::value::scalar_view;
use crate::{Backend, Eager, Float, Operand, Tape, Value, Var};

/// A differentiable operation defined outside the engine.
///
/// `forward` computes the output from the inputs' arrays. `backward` returns, for each input that `needs` a
/// gradient, the gradient of the loss with respect to it, given the upstream gradient `grad` of the output;
/// return `None` for the others (and you may return `None` for any input that is not differentiable). Write
/// `backward` with [`Var`]'s methods and operators, generic over the backend `B`: run on arrays
/// ([`Eager`]) it is the fast first-order rule, run on the tape it builds a differentiable graph, so second
/// derivatives of your op work too. Every op a user can call on a `Var` is available.
///
/// # Example: a fused `sigmoid` node, `y = 1/(1+e⁻ˣ)` with `dx = g·y·(1−y)`
/// ```
/// use autograd::{gradcheck, Backend, CustomOp, Float, Tape, Var};
/// use ndarray::{ArrayD, ArrayViewD};
///
/// struct Sigmoid;
///
/// impl<T: Float> CustomOp<T> for Sigmoid {
///     fn name(&self) -> &str { "sigmoid" }
///     fn forward(&self, x: &[ArrayViewD<T>]) -> ArrayD<T> {
///         x[0].mapv(|v| T::one() / (T::one() + (-v).exp()))
///     }
///     fn backward<'a, B: Backend<T>>(&self, _x: &[Var<'a, T, B>], y: Var<'a, T, B>, g: Var<'a, T, B>,
///                                   _needs: &[bool]) -> Vec<Option<Var<'a, T, B>>> {
///         vec![Some(g * y * (1 - y))]
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
    fn backward<'a, B: Backend<T>>(
        &self,
        inputs: &[Var<'a, T, B>],
        output: Var<'a, T, B>,
        grad: Var<'a, T, B>,
        needs: &[bool],
    ) -> Vec<Option<Var<'a, T, B>>>;

    /// The forward-mode rule: the output's tangent, given each input's tangent (`None` for zero).
    ///
    /// The default returns [`Tangent::FromBackward`]: the engine then derives the tangent from
    /// [`backward`](CustomOp::backward) by the double-VJP trick — `backward` is linear in `grad`, so
    /// differentiating `Σₖ ⟨tₖ, backward(u)ₖ⟩` with respect to `u` gives `Σₖ Jₖ tₖ`. That is exact, but costs a
    /// small reverse pass on a scratch tape per node; write this rule when forward mode matters.
    fn jvp<'a, B: Backend<T>>(
        &self,
        _inputs: &[Var<'a, T, B>],
        _output: Var<'a, T, B>,
        _tangents: &[Option<Var<'a, T, B>>],
    ) -> Tangent<Var<'a, T, B>> {
        Tangent::FromBackward
    }
}

/// What a custom op's forward-mode rule ([`CustomOp::jvp`]) returns.
#[derive(Clone, Copy, Debug)]
pub enum Tangent<V> {
    /// The output's tangent (of any shape that broadcasts to the output's).
    Of(V),
    /// The output's tangent is zero.
    Zero,
    /// The op has no forward-mode rule: derive the tangent from the backward rule.
    FromBackward,
}

/// The object-safe face of a [`CustomOp`], implemented for every `CustomOp` automatically. The tape stores
/// custom ops as `Rc<dyn ErasedOp<T>>`; you never implement this yourself.
pub trait ErasedOp<T: Float> {
    /// See [`CustomOp::name`].
    fn name(&self) -> &str;
    /// See [`CustomOp::forward`].
    fn forward(&self, inputs: &[ArrayViewD<'_, T>]) -> ArrayD<T>;
    /// The backward rule run on arrays.
    fn vjp_eager<'a, 's>(
        &self,
        x: &[Var<'a, T, Eager<'s, T>>],
        y: Var<'a, T, Eager<'s, T>>,
        g: Var<'a, T, Eager<'s, T>>,
        needs: &[bool],
    ) -> InputGrads<Var<'a, T, Eager<'s, T>>>;
    /// The backward rule recorded on the tape.
    fn vjp_tape<'t>(
        &self,
        x: &[Var<'t, T>],
        y: Var<'t, T>,
        g: Var<'t, T>,
        needs: &[bool],
    ) -> InputGrads<Var<'t, T>>;
    /// The forward-mode rule run on arrays.
    fn jvp_eager<'a, 's>(
        &self,
        x: &[Var<'a, T, Eager<'s, T>>],
        y: Var<'a, T, Eager<'s, T>>,
        dx: &[Option<Var<'a, T, Eager<'s, T>>>],
    ) -> Tangent<Var<'a, T, Eager<'s, T>>>;
    /// The forward-mode rule recorded on the tape.
    fn jvp_tape<'t>(
        &self,
        x: &[Var<'t, T>],
        y: Var<'t, T>,
        dx: &[Option<Var<'t, T>>],
    ) -> Tangent<Var<'t, T>>;
}

impl<T: Float, O: CustomOp<T>> ErasedOp<T> for O {
    fn name(&self) -> &str {
        CustomOp::name(self)
    }

    fn forward(&self, inputs: &[ArrayViewD<'_, T>]) -> ArrayD<T> {
        CustomOp::forward(self, inputs)
    }

    fn vjp_eager<'a, 's>(
        &self,
        x: &[Var<'a, T, Eager<'s, T>>],
        y: Var<'a, T, Eager<'s, T>>,
        g: Var<'a, T, Eager<'s, T>>,
        needs: &[bool],
    ) -> InputGrads<Var<'a, T, Eager<'s, T>>> {
        checked(self, x.len(), self.backward(x, y, g, needs))
    }

    fn vjp_tape<'t>(
        &self,
        x: &[Var<'t, T>],
        y: Var<'t, T>,
        g: Var<'t, T>,
        needs: &[bool],
    ) -> InputGrads<Var<'t, T, Tape<T>>> {
        checked(self, x.len(), self.backward(x, y, g, needs))
    }

    fn jvp_eager<'a, 's>(
        &self,
        x: &[Var<'a, T, Eager<'s, T>>],
        y: Var<'a, T, Eager<'s, T>>,
        dx: &[Option<Var<'a, T, Eager<'s, T>>>],
    ) -> Tangent<Var<'a, T, Eager<'s, T>>> {
        self.jvp(x, y, dx)
    }

    fn jvp_tape<'t>(
        &self,
        x: &[Var<'t, T>],
        y: Var<'t, T>,
        dx: &[Option<Var<'t, T>>],
    ) -> Tangent<Var<'t, T>> {
        self.jvp(x, y, dx)
    }
}

#[track_caller]
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

/// A user-defined op on the tape (see [`CustomOp`]).
#[derive(Clone)]
pub struct Custom<T: Float>(pub Rc<dyn ErasedOp<T>>);

impl<T: Float> Primitive<T> for Custom<T> {
    const KINDS: &'static [&'static str] = &["custom"];

    fn forward(&self, x: &[Operand<'_, T>]) -> Value<T> {
        let numbers: SmallVec<[T; 4]> = x
            .iter()
            .map(|o| match o {
                Operand::Num(v) => *v,
                _ => T::zero(),
            })
            .collect();
        let views: SmallVec<[ArrayViewD<'_, T>; 4]> = x
            .iter()
            .zip(&numbers)
            .map(|(o, n)| match o.array() {
                None => scalar_view(n),
                Some(a) => a.view(),
            })
            .collect();
        Value::from_array(self.0.forward(&views))
    }

    fn vjp<'a, B: Backend<T>>(
        &self,
        x: &[Var<'a, T, B>],
        y: Var<'a, T, B>,
        g: Var<'a, T, B>,
        needs: &[bool],
    ) -> InputGrads<Var<'a, T, B>> {
        B::custom_vjp(self.0.as_ref(), x, y, g, needs)
    }

    fn jvp<'a, B: Backend<T>>(
        &self,
        x: &[Var<'a, T, B>],
        y: Var<'a, T, B>,
        dx: &[Option<Var<'a, T, B>>],
    ) -> Option<Var<'a, T, B>> {
        match B::custom_jvp(self.0.as_ref(), x, y, dx) {
            Tangent::Of(t) => Some(t),
            Tangent::Zero => None,
            Tangent::FromBackward => jvp_from_backward(self.0.as_ref(), x, y, dx),
        }
    }

    fn label(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.name())
    }
}

/// A custom op's tangent derived from its backward rule (the double-VJP trick): on a scratch tape, the rule
/// applied to a variable cotangent `u` gives `Jₖᵀ u` for each input; `Σₖ ⟨tₖ, Jₖᵀ u⟩` differentiated with
/// respect to `u` is `Σₖ Jₖ tₖ`. The result is a constant on the caller's backend.
fn jvp_from_backward<'a, T: Float, B: Backend<T>>(
    op: &dyn ErasedOp<T>,
    x: &[Var<'a, T, B>],
    y: Var<'a, T, B>,
    dx: &[Option<Var<'a, T, B>>],
) -> Option<Var<'a, T, B>> {
    let scratch = Tape::<T>::new();
    let inputs: Vec<Var<'_, T>> = x.iter().map(|v| scratch.constant(v.value())).collect();
    let output = scratch.constant(y.value());
    let u = scratch.var(ArrayD::zeros(y.shape()));
    let needs: Vec<bool> = dx.iter().map(Option::is_some).collect();
    let grads = op.vjp_tape(&inputs, output, u, &needs);
    let terms = grads
        .into_iter()
        .zip(dx)
        .zip(&inputs)
        .filter_map(|((g, t), input)| {
            let (mut g, t) = (g?, (*t)?);
            if g.shape() != input.shape() {
                g = g.sum_to(&input.shape());
            }
            Some((g * scratch.constant(t.value())).sum())
        });
    let total = terms.reduce(|a, b| a + b)?;
    let tangent = total.backward().get(u)?.to_owned();
    Some(y.constant_like(tangent))
}

impl<'a, T: Float, B: Backend<T>> Var<'a, T, B> {
    /// Applies a custom op to `self` followed by `others` (in that input order).
    ///
    /// # Panics
    /// When the handles belong to different tapes, or as the op's `forward` does.
    #[track_caller]
    pub fn custom(self, op: impl CustomOp<T>, others: &[Self]) -> Self {
        self.custom_rc(Rc::new(op), others)
    }

    /// Like [`Var::custom`] for an op shared by several nodes.
    ///
    /// # Panics
    /// As [`Var::custom`].
    #[track_caller]
    pub fn custom_rc(self, op: Rc<dyn ErasedOp<T>>, others: &[Self]) -> Self {
        self.apply_n(Op::Custom(Custom(op)), others)
    }
}
