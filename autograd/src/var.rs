//! `Var`: a small `Copy` handle to a value on a backend — a tape node for users, an eager value inside backward
//! rules — with the accessors every backend offers, and those only a tape has. The ops themselves are methods
//! too, defined next to each op in `ops/`.

use std::fmt;

use ndarray::{ArrayD, ArrayViewD};

use crate::backend::Backend;
use crate::ops::Op;
use crate::{Float, IntoValue, Tape};

/// A handle to a value: a backend reference plus an id. It is `Copy`, so formulas read like maths:
///
/// ```
/// use autograd::Tape;
/// let tape = Tape::<f64>::new();
/// let x = tape.var(0.0);
/// let y = 1.0 / (1.0 + (-x).exp());
/// assert_eq!(y.scalar(), 0.5);
/// assert_eq!(y.backward().scalar(x), 0.25);
/// ```
///
/// Every method computes its result at once and, on a [`Tape`] (the default backend `B`), records a node.
/// Shapes follow ndarray's (row-major) and NumPy's broadcasting rules; contract violations panic at the caller's
/// line with the op's name and shapes. Inside backward rules and [`CustomOp`](crate::CustomOp)s the same type
/// runs on the [`Eager`](crate::Eager) backend, so rules use exactly the methods and operators users do.
pub struct Var<'a, T: Float = f32, B: Backend<T> = Tape<T>> {
    backend: &'a B,
    pub(crate) id: B::Id,
}

impl<T: Float, B: Backend<T>> Clone for Var<'_, T, B> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Float, B: Backend<T>> Copy for Var<'_, T, B> {}

impl<'a, T: Float, B: Backend<T>> Var<'a, T, B> {
    #[inline]
    pub(crate) fn from_id(backend: &'a B, id: B::Id) -> Self {
        Var { backend, id }
    }

    /// The backend this handle's value lives on.
    pub fn backend(self) -> &'a B {
        self.backend
    }

    /// Runs `op` on this handle alone.
    #[track_caller]
    #[inline]
    pub(crate) fn apply(self, op: Op<T>) -> Self {
        Var::from_id(self.backend, self.backend.apply(op, &[self.id]))
    }

    /// Runs `op` on this handle and `other`.
    #[track_caller]
    #[inline]
    pub(crate) fn apply2(self, op: Op<T>, other: Self) -> Self {
        self.check_same(other, &op);
        Var::from_id(self.backend, self.backend.apply(op, &[self.id, other.id]))
    }

    /// Runs `op` on this handle followed by `others`.
    #[track_caller]
    pub(crate) fn apply_n(self, op: Op<T>, others: &[Self]) -> Self {
        let mut ids: smallvec::SmallVec<[B::Id; 4]> = smallvec::smallvec![self.id];
        for &other in others {
            self.check_same(other, &op);
            ids.push(other.id);
        }
        Var::from_id(self.backend, self.backend.apply(op, &ids))
    }

    #[track_caller]
    #[inline]
    fn check_same(self, other: Self, op: &Op<T>) {
        if !self.backend.same(other.backend) {
            panic!("{}: operands belong to different tapes", op.name());
        }
    }

    /// Runs `f` on the values of `self` and `other`, without recording anything.
    pub(crate) fn zip_values<R>(
        self,
        other: Self,
        f: impl FnOnce(crate::Operand<'_, T>, crate::Operand<'_, T>) -> R,
    ) -> R {
        let backend = self.backend;
        backend.with_operand(self.id, |a| backend.with_operand(other.id, |b| f(a, b)))
    }

    /// A constant on the same backend: never differentiated (a number or any array).
    pub fn constant_like(self, value: impl IntoValue<T>) -> Self {
        Var::from_id(self.backend, self.backend.constant(value.into_value()))
    }

    /// The same value as a constant: gradients do not flow through it (`torch.Tensor.detach`, JAX's
    /// `stop_gradient`).
    ///
    /// ```
    /// use autograd::Tape;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(3.0);
    /// let y = x * x.detach(); // x² with one factor held constant
    /// assert_eq!(y.backward().scalar(x), 3.0);
    /// ```
    pub fn detach(self) -> Self {
        let value = self.backend.with_operand(self.id, |x| x.to_value());
        Var::from_id(self.backend, self.backend.constant(value))
    }

    /// Runs `f` on a view of the value, without copying it. Do not compute with handles inside `f`.
    pub fn with_value<R>(self, f: impl FnOnce(ArrayViewD<'_, T>) -> R) -> R {
        self.backend.with_operand(self.id, |x| x.with_view(f))
    }

    /// A copy of the value as an array (0-d for a number).
    pub fn value(self) -> ArrayD<T> {
        self.backend.with_operand(self.id, |x| x.to_array())
    }

    /// The value of a one-element handle as a number.
    ///
    /// # Panics
    /// When the value holds more than one element.
    #[track_caller]
    pub fn scalar(self) -> T {
        let only = self.backend.with_operand(self.id, |x| match x.array() {
            None => Some(x.num()),
            Some(a) if a.len() == 1 => a.first().copied(),
            Some(_) => None,
        });
        let Some(x) = only else {
            panic!("scalar: node has shape {:?}, not one element", self.shape())
        };
        x
    }

    /// The shape.
    pub fn shape(self) -> Vec<usize> {
        self.backend.with_operand(self.id, |x| x.shape().to_vec())
    }

    /// The number of axes.
    pub fn ndim(self) -> usize {
        self.backend.with_operand(self.id, |x| x.shape().len())
    }

    /// The number of elements.
    pub fn len(self) -> usize {
        self.backend.with_operand(self.id, |x| x.len())
    }

    /// True when the value has no elements.
    pub fn is_empty(self) -> bool {
        self.len() == 0
    }
}

/// What only a tape handle has: its node, its place in the graph, its name.
impl<'t, T: Float> Var<'t, T> {
    /// The node's index on its tape (its position in the topological order).
    pub fn id(self) -> usize {
        self.id
    }

    /// The tape this handle records onto.
    pub fn tape(self) -> &'t Tape<T> {
        self.backend()
    }

    /// True when gradients can flow into this node (it is a variable, or computed from one).
    pub fn requires_grad(self) -> bool {
        self.tape().with_node(self.id, |n| n.requires_grad)
    }

    /// The op that produced this node (`Op::Leaf` for inputs).
    pub fn op(self) -> Op<T> {
        self.tape().with_node(self.id, |n| n.op.clone())
    }

    /// The handles of the node's inputs.
    pub fn inputs(self) -> Vec<Var<'t, T>> {
        let ids = self.tape().with_node(self.id, |n| n.inputs.clone());
        ids.into_iter().map(|id| self.tape().node(id)).collect()
    }

    /// The node's name, if it was given one.
    pub fn name(self) -> Option<String> {
        self.tape().name(self.id)
    }

    /// Names the node for graph drawings; returns the handle for chaining.
    pub fn set_name(self, name: &str) -> Self {
        self.tape().set_name(self.id, name);
        self
    }
}

impl<T: Float> fmt::Debug for Var<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = self.op();
        write!(f, "Var#{} {op} ", self.id)?;
        self.tape().with_node(self.id, |n| write!(f, "{}", n.value))
    }
}
