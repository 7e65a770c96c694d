//! The backward pass: one reverse loop over the tape, shared by the first-order pass on arrays and the
//! graph-building pass for higher-order gradients.
//!
//! Gradients land in a store keyed by node index (`Vec<Option<_>>` sized to the tape), never in the nodes, so
//! there is no `zero_grad` and no stale state. The first gradient to reach a node is moved in; later ones are
//! added. Each incoming gradient whose shape differs from its input's (broadcasting) is summed back to that
//! shape here, in one place.

use std::ops::Index;

use ndarray::{ArrayD, ArrayViewD};
use smallvec::SmallVec;

use crate::anomaly::{or_panic, AnomalyError, Checker, Finite};
use crate::ops::Op;
use crate::tape::{needs_of, Node};
use crate::{kernels, Eager, Float, IntoValue, Tape, Value, Var};

/// The two worlds a backward pass can run in.
pub(crate) trait Sweep {
    type V;
    /// Runs node `i`'s backward rule on its gradient `g` and hands each gradient it produced for an input that
    /// needs one to `f`, as (input slot `k`, input node `j`, gradient), in input order. Does nothing for leaves
    /// and constant nodes. (A callback rather than a returned list: moving small vectors out of the rule cost
    /// store-forwarding stalls on every node.)
    fn rule<E>(
        &self,
        i: usize,
        g: &Self::V,
        f: impl FnMut(usize, usize, Self::V) -> Result<(), E>,
    ) -> Result<(), E>;
    /// Sums `g` back to the shape of node `j` where broadcasting widened it.
    fn reduce_to(&self, g: &mut Self::V, j: usize);
    /// Adds `g` into a gradient slot.
    fn accumulate(&self, slot: &mut Option<Self::V>, g: Self::V);
}

/// The order in which the reverse loop visits the nodes up to `out`: from `out` down to node 0 (the tape's
/// index order is topological, so every node comes after all the nodes that use it). Drawings of the backward
/// pass step by step ([`Dot::step`](crate::dot::Dot::step)) follow the same order.
pub(crate) fn visit_order(out: usize) -> impl Iterator<Item = usize> {
    (0..=out).rev()
}

/// The reverse loop: gradients of node `out` (seeded with `seed`) with respect to every node before it. With a
/// `check` (anomaly detection), it stops at the first gradient that is not finite.
fn sweep<T: Float, S: Sweep>(
    s: &S,
    out: usize,
    seed: S::V,
    check: Option<&Checker<'_, T>>,
) -> Result<Vec<Option<S::V>>, AnomalyError>
where
    S::V: Finite,
{
    let mut grads: Vec<Option<S::V>> = std::iter::repeat_with(|| None).take(out + 1).collect();
    grads[out] = Some(seed);
    for i in visit_order(out) {
        let (before, rest) = grads.split_at_mut(i);
        let Some(g) = rest[0].as_ref() else { continue };
        s.rule(i, g, |_, j, mut gj| {
            s.reduce_to(&mut gj, j);
            s.accumulate(&mut before[j], gj);
            if let (Some(check), Some(acc)) = (check, &before[j]) {
                check.gradient(i, j, acc)?;
            }
            Ok(())
        })?;
    }
    Ok(grads)
}

/// The first-order pass: plain arrays, read straight from the tape's nodes, each rule run on an [`Eager`]
/// store that borrows the node's inputs, output and gradient.
///
/// **The scalar-gradient invariant.** A rule returns each input's gradient at that input's shape, or (for
/// element-wise ops) at the broadcast output's shape, which has at least the input's rank. So a 0-d gradient
/// belongs to a 0-d input and never needs reducing: [`reduce_to`](Sweep::reduce_to) skips numbers without
/// reading the input, which measurably speeds up scalar graphs. The invariant is checked here, where every
/// rule's results (built-in and custom) pass, with the input's value at hand.
pub(crate) struct ArraySweep<'a, T: Float> {
    pub(crate) nodes: &'a [Node<T>],
}

impl<T: Float> Sweep for ArraySweep<'_, T> {
    type V = Value<T>;

    fn rule<E>(
        &self,
        i: usize,
        g: &Value<T>,
        mut f: impl FnMut(usize, usize, Value<T>) -> Result<(), E>,
    ) -> Result<(), E> {
        let node = &self.nodes[i];
        if node.inputs.is_empty() || !node.requires_grad {
            return Ok(());
        }
        let needs = needs_of(self.nodes, &node.inputs);
        let eager = Eager::new();
        let input = |j: usize| eager.borrow(&self.nodes[j].value);
        let x: SmallVec<[Var<'_, T, Eager<'_, T>>; 2]> = match *node.inputs {
            [a] => SmallVec::from_buf_and_len([input(a), input(a)], 1),
            [a, b] => SmallVec::from_buf([input(a), input(b)]),
            ref many => many.iter().map(|&j| input(j)).collect(),
        };
        let grads = node
            .op
            .vjp(&x, eager.borrow(&node.value), eager.borrow(g), &needs);
        for (k, gj) in grads.into_iter().enumerate() {
            if let (Some(gj), true) = (gj, needs[k]) {
                let j = node.inputs[k];
                let gj = eager.take(gj);
                if let (Value::Scalar(_), Value::Array(input)) = (&gj, &self.nodes[j].value) {
                    let op = match &node.op {
                        Op::Custom(_) => format!("custom op {}", node.op.name()),
                        op => op.name().to_owned(),
                    };
                    panic!(
                        "{op}: backward returned a number as the gradient of input {k}, of shape {:?}",
                        input.shape()
                    );
                }
                f(k, j, gj)?;
            }
        }
        Ok(())
    }

    fn reduce_to(&self, g: &mut Value<T>, j: usize) {
        // A number needs no reduction (the invariant above); not reading node `j` here speeds up scalar graphs.
        if let Value::Scalar(_) = g {
            return;
        }
        let target = self.nodes[j].value.shape();
        if !kernels::same_shape(g.shape(), target) {
            *g = Value::from_array(kernels::sum_to(&g.view(), target));
        }
    }

    fn accumulate(&self, slot: &mut Option<Value<T>>, g: Value<T>) {
        match slot {
            Some(acc) => acc.add_assign(&g),
            None => *slot = Some(g),
        }
    }
}

/// The graph-building pass: every gradient is a new node on the same tape.
pub(crate) struct TapeSweep<'t, T: Float> {
    pub(crate) tape: &'t Tape<T>,
}

impl<'t, T: Float> Sweep for TapeSweep<'t, T> {
    type V = Var<'t, T>;

    fn rule<E>(
        &self,
        i: usize,
        g: &Var<'t, T>,
        mut f: impl FnMut(usize, usize, Var<'t, T>) -> Result<(), E>,
    ) -> Result<(), E> {
        let tape = self.tape;
        let Some((op, inputs, needs)) = tape.with_nodes(|nodes| {
            let node = &nodes[i];
            let needs = needs_of(nodes, &node.inputs);
            let inputs: SmallVec<[usize; 2]> = SmallVec::from_slice(&node.inputs);
            (!node.inputs.is_empty() && node.requires_grad)
                .then(|| (node.op.clone(), inputs, needs))
        }) else {
            return Ok(());
        };
        let x: SmallVec<[Var<'t, T>; 2]> = inputs.iter().map(|&j| tape.node(j)).collect();
        let grads = op.vjp(&x, tape.node(i), *g, &needs);
        for (k, gj) in grads.into_iter().enumerate() {
            if let (Some(gj), true) = (gj, needs[k]) {
                f(k, inputs[k], gj)?;
            }
        }
        Ok(())
    }

    fn reduce_to(&self, g: &mut Var<'t, T>, j: usize) {
        let target = self.tape.node(j).shape();
        if g.shape() != target {
            *g = g.sum_to(&target);
        }
    }

    fn accumulate(&self, slot: &mut Option<Var<'t, T>>, g: Var<'t, T>) {
        *slot = Some(match slot.take() {
            Some(acc) => acc + g,
            None => g,
        });
    }
}

/// Gradients from [`Var::backward`]: one array per node that the output depends on, queried by handle.
///
/// ```
/// use autograd::Tape;
/// let tape = Tape::<f64>::new();
/// let x = tape.var(3.0);
/// let y = x * x;
/// let grads = y.backward();
/// assert_eq!(grads.scalar(x), 6.0);                  // a number
/// assert_eq!(grads.get(x).unwrap(), ndarray::arr0(6.0).into_dyn()); // an array view
/// assert_eq!(grads[x].to_string(), "6");              // the stored value
/// ```
pub struct Gradients<T: Float> {
    /// The serial number of the tape the gradients belong to (see `Tape::serial`).
    tape: u64,
    grads: Vec<Option<Value<T>>>,
}

impl<T: Float> Gradients<T> {
    #[track_caller]
    fn check_tape(&self, v: Var<'_, T>) {
        assert!(
            self.tape == v.tape().serial(),
            "gradient store queried with a handle from another tape"
        );
    }

    /// The gradient of the output with respect to `v`, or `None` when `v` does not influence the output (or is
    /// a constant).
    #[track_caller]
    pub fn get(&self, v: Var<'_, T>) -> Option<ArrayViewD<'_, T>> {
        self.value(v).map(Value::view)
    }

    /// The stored gradient of `v` (a number or an array), or `None` as for [`get`](Gradients::get).
    #[track_caller]
    pub fn value(&self, v: Var<'_, T>) -> Option<&Value<T>> {
        self.check_tape(v);
        self.grads.get(v.id()).and_then(Option::as_ref)
    }

    /// The gradient with respect to a one-element node, as a number.
    ///
    /// # Panics
    /// When `v` received no gradient or holds more than one element.
    #[track_caller]
    pub fn scalar(&self, v: Var<'_, T>) -> T {
        let g = &self[v];
        let Some(x) = g.only() else {
            panic!(
                "scalar: gradient has shape {:?}, not one element",
                g.shape()
            )
        };
        x
    }

    /// Takes the gradient of `v` out of the store (for handing to an optimizer without copying).
    #[track_caller]
    pub fn take(&mut self, v: Var<'_, T>) -> Option<ArrayD<T>> {
        self.check_tape(v);
        self.grads
            .get_mut(v.id())
            .and_then(Option::take)
            .map(Value::into_array)
    }
}

impl<T: Float> Index<Var<'_, T>> for Gradients<T> {
    type Output = Value<T>;

    /// # Panics
    /// When `v` received no gradient: it does not influence the output, or it is a constant.
    #[track_caller]
    fn index(&self, v: Var<'_, T>) -> &Value<T> {
        let Some(g) = self.value(v) else {
            panic!(
                "no gradient for node {}: it does not influence the output, or it is a constant",
                v.id()
            )
        };
        g
    }
}

/// Gradients from [`Var::backward_graph`]: each gradient is itself a node on the tape, so it can be
/// differentiated again (second derivatives, Hessian–vector products).
///
/// ```
/// use autograd::Tape;
/// let tape = Tape::<f64>::new();
/// let x = tape.var(2.0);
/// let y = x * x * x;                  // y = x³
/// let dy = y.backward_graph()[x];     // 3x² = 12, a node
/// let d2y = dy.backward().scalar(x);  // 6x = 12
/// assert_eq!((dy.scalar(), d2y), (12.0, 12.0));
/// ```
pub struct GradGraph<'t, T: Float> {
    tape: &'t Tape<T>,
    grads: Vec<Option<Var<'t, T>>>,
}

impl<'t, T: Float> GradGraph<'t, T> {
    #[track_caller]
    fn check_tape(&self, v: Var<'t, T>) {
        assert!(
            std::ptr::eq(self.tape, v.tape()),
            "gradient graph queried with a handle from another tape"
        );
    }

    /// The gradient node for `v`, or `None` when `v` does not influence the output (or is a constant).
    #[track_caller]
    pub fn get(&self, v: Var<'t, T>) -> Option<Var<'t, T>> {
        self.check_tape(v);
        self.grads.get(v.id()).copied().flatten()
    }
}

impl<'t, T: Float> Index<Var<'t, T>> for GradGraph<'t, T> {
    type Output = Var<'t, T>;

    /// # Panics
    /// When `v` received no gradient: it does not influence the output, or it is a constant.
    #[track_caller]
    fn index(&self, v: Var<'t, T>) -> &Var<'t, T> {
        self.check_tape(v);
        let Some(g) = self.grads.get(v.id()).and_then(Option::as_ref) else {
            panic!(
                "no gradient for node {}: it does not influence the output, or it is a constant",
                v.id()
            )
        };
        g
    }
}

impl<'t, T: Float> Var<'t, T> {
    #[track_caller]
    fn check_scalar_output(self, how: &str) {
        let shape = self.shape();
        if shape.iter().product::<usize>() != 1 {
            panic!(
                "{how}: output has shape {shape:?}; a non-scalar output needs a seed of that shape \
                 ({how}_with_seed)"
            );
        }
    }

    #[track_caller]
    fn check_seed_shape(self, seed: &[usize]) {
        let shape = self.shape();
        if seed != shape.as_slice() {
            panic!("backward: seed shape {seed:?} does not match output shape {shape:?}");
        }
    }

    /// Gradients of this one-element output (seeded with 1) with respect to every node it depends on.
    ///
    /// # Panics
    /// When the output has more than one element: use [`backward_with_seed`](Var::backward_with_seed). In
    /// anomaly-detection mode, also at the first gradient that is NaN or infinite (see [`Var::try_backward`]).
    #[track_caller]
    pub fn backward(self) -> Gradients<T> {
        or_panic(self.try_backward())
    }

    /// Like [`backward`](Var::backward), but in anomaly-detection mode
    /// ([`Tape::set_anomaly_detection`]) the first gradient that is NaN or infinite stops the pass and is
    /// returned as an error naming the op whose backward rule produced it and where that op was created.
    /// With detection off it always succeeds.
    ///
    /// # Panics
    /// When the output has more than one element.
    #[track_caller]
    pub fn try_backward(self) -> Result<Gradients<T>, AnomalyError> {
        self.check_scalar_output("backward");
        let seed = self.tape().with_node(self.id(), |n| n.value.ones_like());
        self.try_backward_with_seed(seed)
    }

    /// The vector–Jacobian product: gradients of `sum(seed · self)`, for a seed of this node's shape.
    ///
    /// # Panics
    /// When the seed's shape differs from the output's; in anomaly-detection mode, as [`Var::backward`].
    #[track_caller]
    pub fn backward_with_seed(self, seed: impl IntoValue<T>) -> Gradients<T> {
        or_panic(self.try_backward_with_seed(seed))
    }

    /// [`backward_with_seed`](Var::backward_with_seed), returning anomalies as [`Var::try_backward`] does.
    ///
    /// # Panics
    /// When the seed's shape differs from the output's.
    #[track_caller]
    pub fn try_backward_with_seed(
        self,
        seed: impl IntoValue<T>,
    ) -> Result<Gradients<T>, AnomalyError> {
        let seed = seed.into_value();
        self.check_seed_shape(seed.shape());
        let check = Checker::new(self.tape());
        let grads = self
            .tape()
            .with_nodes(|nodes| sweep(&ArraySweep { nodes }, self.id(), seed, check.as_ref()))?;
        Ok(Gradients {
            tape: self.tape().serial(),
            grads,
        })
    }

    /// Like [`backward`](Var::backward), but each gradient is recorded as a node on the tape (PyTorch's
    /// `create_graph=True`), so it can be differentiated again.
    ///
    /// # Panics
    /// When the output has more than one element: use
    /// [`backward_graph_with_seed`](Var::backward_graph_with_seed); in anomaly-detection mode, as
    /// [`Var::backward`].
    #[track_caller]
    pub fn backward_graph(self) -> GradGraph<'t, T> {
        or_panic(self.try_backward_graph())
    }

    /// [`backward_graph`](Var::backward_graph), returning anomalies as [`Var::try_backward`] does.
    ///
    /// # Panics
    /// When the output has more than one element.
    #[track_caller]
    pub fn try_backward_graph(self) -> Result<GradGraph<'t, T>, AnomalyError> {
        self.check_scalar_output("backward_graph");
        let seed = self.tape().with_node(self.id(), |n| n.value.ones_like());
        self.try_backward_graph_with_seed(self.tape().constant(seed))
    }

    /// The vector–Jacobian product as graph nodes, for a seed node of this node's shape (it may itself depend
    /// on variables).
    ///
    /// # Panics
    /// When the seed's shape differs from the output's; in anomaly-detection mode, as [`Var::backward`].
    #[track_caller]
    pub fn backward_graph_with_seed(self, seed: Var<'t, T>) -> GradGraph<'t, T> {
        or_panic(self.try_backward_graph_with_seed(seed))
    }

    /// [`backward_graph_with_seed`](Var::backward_graph_with_seed), returning anomalies as
    /// [`Var::try_backward`] does.
    ///
    /// # Panics
    /// When the seed's shape differs from the output's.
    #[track_caller]
    pub fn try_backward_graph_with_seed(
        self,
        seed: Var<'t, T>,
    ) -> Result<GradGraph<'t, T>, AnomalyError> {
        self.check_seed_shape(&seed.shape());
        let check = Checker::new(self.tape());
        let tape = self.tape();
        let grads =
            tape.simplifying(|| sweep(&TapeSweep { tape }, self.id(), seed, check.as_ref()))?;
        Ok(GradGraph {
            tape: self.tape(),
            grads,
        })
    }
}
