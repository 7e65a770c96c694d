//! The tape: an append-only arena of nodes recorded as code runs.
//!
//! A node is its op, the indices of its inputs and its value. Inputs are always recorded before the nodes that
//! use them, so index order is a topological order and the backward pass is a plain reverse loop — no recursion,
//! no sorting, no hash maps. Dropping the tape frees the whole graph.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use ndarray::{ArrayBase, Data, Dimension};
use smallvec::SmallVec;

use crate::ops::Op;
use crate::{Float, Operand, Value, Var};

/// One recorded operation.
pub(crate) struct Node<T: Float> {
    pub(crate) op: Op<T>,
    pub(crate) inputs: SmallVec<[usize; 2]>,
    pub(crate) value: Value<T>,
    /// True when some gradient can flow into this node: it is a variable, or computed from one.
    pub(crate) requires_grad: bool,
}

/// The values of nodes `ids` as operands, built directly for the usual one or two inputs (no `SmallVec`
/// growth logic).
pub(crate) fn operands_of<'a, T: Float>(
    nodes: &'a [Node<T>],
    ids: &[usize],
) -> SmallVec<[Operand<'a, T>; 2]> {
    match *ids {
        [a] => {
            let a = nodes[a].value.operand();
            SmallVec::from_buf_and_len([a, a], 1)
        }
        [a, b] => SmallVec::from_buf([nodes[a].value.operand(), nodes[b].value.operand()]),
        _ => ids.iter().map(|&i| nodes[i].value.operand()).collect(),
    }
}

/// Which of nodes `ids` require a gradient, built like [`values_of`].
pub(crate) fn needs_of<T: Float>(nodes: &[Node<T>], ids: &[usize]) -> SmallVec<[bool; 2]> {
    match *ids {
        [a] => SmallVec::from_buf_and_len([nodes[a].requires_grad, false], 1),
        [a, b] => SmallVec::from_buf([nodes[a].requires_grad, nodes[b].requires_grad]),
        _ => ids.iter().map(|&i| nodes[i].requires_grad).collect(),
    }
}

/// A recording of a computation, built as the code runs (define-by-run).
///
/// Put inputs on it with [`var`](Tape::var) (differentiable) or [`constant`](Tape::constant); every operation on
/// the returned [`Var`] handles computes its value at once and appends a node. The element type is `f32` or
/// `f64`; it is usually inferred from the arrays you put on the tape, and with plain numbers you name it:
/// `Tape::<f64>::new()`.
///
/// ```
/// use autograd::Tape;
///
/// let tape = Tape::<f64>::new();
/// let apple = tape.var_named("apple", 100.0);
/// let num = tape.var_named("apple_num", 2.0);
/// let tax = tape.var_named("tax", 1.1);
/// let price = apple * num * tax;
/// let grads = price.backward();
/// assert!((price.scalar() - 220.0).abs() < 1e-9);
/// assert!((grads.scalar(apple) - 2.2).abs() < 1e-12);
/// ```
pub struct Tape<T: Float = f32> {
    /// A number no other tape of this process has, so that a gradient store can tell whether a handle comes
    /// from its tape even after that tape is gone and another took its place in memory.
    serial: u64,
    nodes: RefCell<Vec<Node<T>>>,
    names: RefCell<HashMap<usize, String>>,
    grad_enabled: Cell<bool>,
    /// Node-id ranges marked as named groups, for graph drawings (see `graph.rs`).
    pub(crate) groups: crate::graph::Groups,
    /// Anomaly detection: off, and then costing one flag test per node, unless switched on (see `anomaly.rs`).
    pub(crate) anomaly: crate::anomaly::Anomaly,
    /// Forward-mode tangents: off, and then costing one flag test per node, until a dual leaf is made (see
    /// `forward.rs`).
    pub(crate) forward: crate::forward::Tangents<T>,
    /// On while `backward_graph` records gradients (see `simplify.rs`).
    pub(crate) simplify: crate::simplify::Simplify,
}

/// Things that can become a node's value: a number (a 0-d tensor), any ndarray array or view, or a [`Value`].
///
/// An owned array moves onto the tape, a view is copied, and a shared [`ArcArray`](ndarray::ArcArray) shares its
/// buffer with the tape (no copy): its holder sees the buffer become unique again (`is_unique`) once the tape
/// is gone, and can then reuse it.
///
/// ```
/// use autograd::Tape;
/// use ndarray::{array, ArcArray2};
///
/// let mut batch: ArcArray2<f32> = array![[1.0, 2.0], [3.0, 4.0]].into_shared();
/// {
///     let tape = Tape::new();
///     let x = tape.constant(batch.clone());
///     assert_eq!(x.with_value(|v| v.as_ptr()), batch.as_ptr());
///     assert!(!batch.is_unique());
/// }
/// assert!(batch.is_unique());
/// batch.as_slice_mut().unwrap()[0] = 5.0; // no copy: the tape has let go of it
/// ```
pub trait IntoValue<T: Float> {
    /// The value, with 0-d arrays stored as numbers.
    fn into_value(self) -> Value<T>;
}

impl<T: Float> IntoValue<T> for T {
    fn into_value(self) -> Value<T> {
        Value::Scalar(self)
    }
}

impl<T: Float> IntoValue<T> for Value<T> {
    fn into_value(self) -> Value<T> {
        self
    }
}

impl<T: Float, S: Data<Elem = T>, D: Dimension> IntoValue<T> for ArrayBase<S, D> {
    fn into_value(self) -> Value<T> {
        match self.into_dyn().try_into_owned_nocopy() {
            Ok(owned) => Value::from_array(owned),
            // A view is copied; a shared array held elsewhere as well only gains a reference.
            Err(borrowed_or_shared) => Value::from_shared(borrowed_or_shared.to_shared()),
        }
    }
}

impl<T: Float> Default for Tape<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Float> Tape<T> {
    /// An empty tape that records gradients.
    pub fn new() -> Self {
        static NEXT_SERIAL: AtomicU64 = AtomicU64::new(0);
        Tape {
            serial: NEXT_SERIAL.fetch_add(1, Ordering::Relaxed),
            nodes: RefCell::new(Vec::new()),
            names: RefCell::new(HashMap::new()),
            grad_enabled: Cell::new(true),
            groups: Default::default(),
            anomaly: Default::default(),
            forward: Default::default(),
            simplify: Default::default(),
        }
    }

    /// This tape's serial number, unique in the process.
    pub(crate) fn serial(&self) -> u64 {
        self.serial
    }

    /// A tape for inference: values are computed as usual but no graph is kept — every node is stored as a
    /// constant with no links to its inputs, so `backward` finds nothing to differentiate. Use one per
    /// evaluation chunk; dropping it frees everything.
    pub fn inference() -> Self {
        let tape = Self::new();
        tape.grad_enabled.set(false);
        tape
    }

    /// Runs `f` with gradient recording switched off: nodes created inside are constants (like PyTorch's
    /// `no_grad`). Recording is restored afterwards, even if `f` panics.
    pub fn no_grad<R>(&self, f: impl FnOnce() -> R) -> R {
        struct Restore<'a>(&'a Cell<bool>, bool);
        impl Drop for Restore<'_> {
            fn drop(&mut self) {
                self.0.set(self.1);
            }
        }
        let _restore = Restore(&self.grad_enabled, self.grad_enabled.replace(false));
        f()
    }

    /// A differentiable leaf (a number or any array). On an [`inference`](Tape::inference) tape and inside
    /// [`no_grad`](Tape::no_grad) nothing is differentiable, so the leaf is recorded as a constant.
    pub fn var(&self, value: impl IntoValue<T>) -> Var<'_, T> {
        self.leaf(value.into_value(), self.grad_enabled.get())
    }

    /// A differentiable leaf with a name, shown in graph drawings.
    pub fn var_named(&self, name: &str, value: impl IntoValue<T>) -> Var<'_, T> {
        let v = self.var(value);
        v.set_name(name);
        v
    }

    /// A constant leaf: never differentiated, and neither is anything computed only from constants.
    pub fn constant(&self, value: impl IntoValue<T>) -> Var<'_, T> {
        self.leaf(value.into_value(), false)
    }

    /// A constant leaf with a name, shown in graph drawings.
    pub fn constant_named(&self, name: &str, value: impl IntoValue<T>) -> Var<'_, T> {
        let v = self.constant(value);
        v.set_name(name);
        v
    }

    /// The number of recorded nodes.
    pub fn len(&self) -> usize {
        self.nodes.borrow().len()
    }

    /// True when nothing has been recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True unless this is an inference tape or inside [`no_grad`](Tape::no_grad).
    pub fn is_grad_enabled(&self) -> bool {
        self.grad_enabled.get()
    }

    /// The handle of node `id`.
    ///
    /// # Panics
    /// When no such node was recorded.
    #[track_caller]
    pub fn node(&self, id: usize) -> Var<'_, T> {
        let len = self.len();
        assert!(
            id < len,
            "node {id} does not exist: the tape has {len} nodes"
        );
        Var::from_id(self, id)
    }

    fn leaf(&self, value: Value<T>, requires_grad: bool) -> Var<'_, T> {
        let node = Node {
            op: Op::Leaf,
            inputs: SmallVec::new(),
            value,
            requires_grad,
        };
        Var::from_id(self, self.append(node, None))
    }

    /// Appends a node (and its tangent, in forward mode) and returns its id.
    fn append(&self, node: Node<T>, tangent: Option<Value<T>>) -> usize {
        let mut nodes = self.nodes.borrow_mut();
        nodes.push(node);
        if self.forward.is_active() {
            self.forward.push(tangent);
        }
        nodes.len() - 1
    }

    /// Computes `op` on the values of nodes `inputs`, records the result and returns its id.
    #[track_caller]
    pub(crate) fn push(&self, op: Op<T>, inputs: &[usize]) -> usize {
        let (value, requires_grad, tangent) = {
            let nodes = self.nodes.borrow();
            if self.simplify.is_on() {
                if let Some(id) = crate::simplify::existing(&self.simplify, &op, inputs, &nodes) {
                    return id;
                }
            }
            let x = operands_of(&nodes, inputs);
            let requires_grad = inputs.iter().any(|&i| nodes[i].requires_grad);
            let value = op.eval(&x);
            if self.anomaly.is_enabled() {
                self.anomaly.check_forward(nodes.len(), &op, &x, &value);
            }
            let tangent = match self.forward.is_active() {
                true => self.forward.of(&op, &nodes, inputs, &value),
                false => None,
            };
            (value, requires_grad, tangent)
        };
        if self.simplify.is_on() {
            self.simplify.note(&op, inputs, self.len());
        }
        let node = match self.grad_enabled.get() {
            true => Node {
                op,
                inputs: SmallVec::from_slice(inputs),
                value,
                requires_grad,
            },
            false => Node {
                op: Op::Leaf,
                inputs: SmallVec::new(),
                value,
                requires_grad: false,
            },
        };
        self.append(node, tangent)
    }

    /// Runs `f` on node `id`.
    pub(crate) fn with_node<R>(&self, id: usize, f: impl FnOnce(&Node<T>) -> R) -> R {
        f(&self.nodes.borrow()[id])
    }

    /// Runs `f` on all nodes (read-only).
    pub(crate) fn with_nodes<R>(&self, f: impl FnOnce(&[Node<T>]) -> R) -> R {
        f(&self.nodes.borrow())
    }

    pub(crate) fn set_name(&self, id: usize, name: &str) {
        self.names.borrow_mut().insert(id, name.to_owned());
    }

    pub(crate) fn name(&self, id: usize) -> Option<String> {
        self.names.borrow().get(&id).cloned()
    }
}
