//! Forward-mode differentiation: tangents computed during the forward pass, node by node.
//!
//! A leaf made with [`Tape::dual`] carries a tangent (a direction in input space). From then on the tape
//! keeps a tangent beside every node: each op's forward-mode rule (its Jacobian–vector product, written next
//! to its backward rule) computes the output's tangent from the inputs' tangents as the node is recorded, on
//! plain arrays. No graph is needed for that: on an [`inference`](Tape::inference) tape a function's
//! directional derivative costs one forward pass, which is what makes a forward-mode Jacobian cheap for
//! functions with few inputs and many outputs.
//!
//! Forward mode composes with reverse mode: on a recording tape, the nodes that
//! [`backward_graph`](Var::backward_graph) records get tangents too, so the tangent of a gradient is a
//! Hessian–vector product (forward-over-reverse, as JAX computes `hvp` and `hessian`). Tangents are plain
//! arrays, not nodes: they cannot themselves be differentiated (no forward-over-forward, no reverse over a
//! tangent).
//!
//! Nodes recorded before the first dual leaf, and nodes that depend on no dual leaf, have a zero tangent,
//! stored as none at all. A tape without dual leaves pays one flag test per node.
//!
//! ```
//! use autograd::Tape;
//!
//! let tape = Tape::<f64>::inference();
//! let x = tape.dual(2.0, 1.0); // x = 2, dx = 1
//! let y = x * x * x;            // y = x³
//! assert_eq!(y.scalar(), 8.0);
//! assert_eq!(y.tangent().unwrap()[[]], 12.0); // dy = 3x² dx
//! ```

use std::cell::{Cell, RefCell};

use smallvec::SmallVec;

use crate::ops::Op;
use crate::tape::Node;
use crate::{Eager, Float, IntoValue, Tape, Value, Var};

/// The tape's tangents: one per node while forward mode is on.
#[derive(Default)]
pub(crate) struct Tangents<T: Float> {
    active: Cell<bool>,
    table: RefCell<Vec<Option<Value<T>>>>,
}

impl<T: Float> Tangents<T> {
    /// True once the tape has a dual leaf.
    #[inline]
    pub(crate) fn is_active(&self) -> bool {
        self.active.get()
    }

    /// The tangent of a new node computing `op` from nodes `inputs`, whose value is `value`; `None` when it
    /// is zero.
    pub(crate) fn of(
        &self,
        op: &Op<T>,
        nodes: &[Node<T>],
        inputs: &[usize],
        value: &Value<T>,
    ) -> Option<Value<T>> {
        let table = self.table.borrow();
        if inputs.iter().all(|&j| table[j].is_none()) {
            return None;
        }
        let eager = Eager::new();
        type Handle<'e, 's, T> = Var<'e, T, Eager<'s, T>>;
        let x: SmallVec<[Handle<'_, '_, T>; 2]> = inputs
            .iter()
            .map(|&j| eager.borrow(&nodes[j].value))
            .collect();
        let dx: SmallVec<[Option<Handle<'_, '_, T>>; 2]> = inputs
            .iter()
            .map(|&j| table[j].as_ref().map(|t| eager.borrow(t)))
            .collect();
        let tangent = eager.take(op.jvp(&x, eager.borrow(value), &dx)?);
        // Rules may return a tangent that broadcasts to the output (an operand's own tangent for `a + b`):
        // it is broadcast here, in one place.
        Some(if tangent.shape() == value.shape() {
            tangent
        } else {
            Value::from_array(
                tangent
                    .view()
                    .broadcast(value.shape())
                    .expect("a tangent broadcasts to its node's shape")
                    .to_owned(),
            )
        })
    }

    /// Records the tangent of the node just appended (the table follows the nodes one to one).
    #[inline]
    pub(crate) fn push(&self, tangent: Option<Value<T>>) {
        self.table.borrow_mut().push(tangent);
    }

    /// Switches forward mode on for a tape of `len` nodes (their tangents are zero).
    fn activate(&self, len: usize) {
        if !self.active.replace(true) {
            self.table.borrow_mut().resize_with(len, || None);
        }
    }
}

impl<T: Float> Tape<T> {
    /// A variable with a tangent: forward-mode differentiation follows it through everything computed from
    /// it (see the module `forward`). `tangent` must have the value's shape.
    ///
    /// # Panics
    /// When the shapes differ.
    #[track_caller]
    pub fn dual(&self, value: impl IntoValue<T>, tangent: impl IntoValue<T>) -> Var<'_, T> {
        let (value, tangent) = (value.into_value(), tangent.into_value());
        if value.shape() != tangent.shape() {
            panic!(
                "dual: tangent of shape {:?} for a value of shape {:?}",
                tangent.shape(),
                value.shape()
            );
        }
        self.forward.activate(self.len());
        let v = self.var(value);
        self.forward.table.borrow_mut()[v.id()] = Some(tangent);
        v
    }

    /// True once the tape has a dual leaf (see [`dual`](Tape::dual)).
    pub fn is_forward_mode(&self) -> bool {
        self.forward.is_active()
    }
}

impl<T: Float> Var<'_, T> {
    /// The node's tangent (its forward-mode derivative along the tangents of the tape's
    /// [`dual`](Tape::dual) leaves), or `None` when it is zero — the node depends on no dual leaf, or the tape
    /// has none.
    pub fn tangent(self) -> Option<ndarray::ArrayD<T>> {
        let tangents = &self.tape().forward;
        if !tangents.is_active() {
            return None;
        }
        let table = tangents.table.borrow();
        table[self.id()].as_ref().map(|t| t.clone().into_array())
    }
}
