//! Exact simplifications applied while [`backward_graph`](crate::Var::backward_graph) records gradients, so
//! that repeated differentiation records fewer nodes.
//!
//! Two kinds of waste grow with each order. Backward rules multiply by the incoming gradient, and the first
//! one is the seed, a constant 1: every order starts with nodes such as `1 × g`. And each order's rules
//! recompute what is already on the tape (tanh's rule `g · (1 − y²)` records `y · y` at every order). While a
//! gradient graph is recorded, an op whose result is already on the tape is not recorded again:
//!
//! | recorded | is | condition |
//! | --- | --- | --- |
//! | an element-wise op already on the tape with the same inputs (and constants) | that node | |
//! | `a × 1`, `1 × a`, `a / 1` | `a` | the 1 is a constant (every element 1) that does not widen `a` by broadcasting |
//! | `a × c`, `a ÷ c` with `c = 1` | `a` | |
//! | `−(−a)` | `a` | |
//!
//! Each is exact in floating point (the same op on the same values gives the same bits; multiplying by 1 and
//! negating twice change no bit), so gradients and tangents are the same as without it; only the graph is
//! smaller. User code is never simplified: a drawing of `x * 1` shows
//! the multiplication. Node counts of the `n`-th derivative of `tanh` (each order differentiating the previous
//! one, `examples/tanh_derivatives.rs`):
//!
//! | order | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 |
//! | --- | --: | --: | --: | --: | --: | --: | --: | --: |
//! | before the op-layer rework | 5 | 10 | 15 | 33 | 81 | 213 | 585 | 1653 |
//! | one-node `c − x` | 4 | 9 | 14 | 32 | 80 | 212 | 584 | 1652 |
//! | simplified | 3 | 5 | 8 | 15 | 28 | 51 | 102 | 203 |

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use crate::ops::{Binary, Op, Unary};
use crate::tape::Node;
use crate::{Float, Operand, Tape};

/// Whether gradients are being recorded (and so simplified), and the element-wise nodes of the tape by what
/// they compute, so that a computation already recorded is found.
#[derive(Default)]
pub(crate) struct Simplify {
    on: Cell<bool>,
    recorded: RefCell<HashMap<Key, usize>>,
}

/// What an element-wise node computes: its op's kind, the bits of its constants, and its inputs.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Key(&'static str, [u64; 2], [usize; 2]);

impl Key {
    fn of<T: Float>(op: &Op<T>, inputs: &[usize]) -> Option<Key> {
        match (op, inputs) {
            (Op::Unary(u), &[a]) => Some(Key(op.kind(), u.constants(), [a, a])),
            (Op::Binary(_), &[a, b]) => Some(Key(op.kind(), [0, 0], [a, b])),
            _ => None,
        }
    }
}

impl Simplify {
    #[inline]
    pub(crate) fn is_on(&self) -> bool {
        self.on.get()
    }

    /// Notes that node `id` computes `op` on `inputs`.
    pub(crate) fn note<T: Float>(&self, op: &Op<T>, inputs: &[usize], id: usize) {
        if let Some(key) = Key::of(op, inputs) {
            self.recorded.borrow_mut().entry(key).or_insert(id);
        }
    }
}

impl<T: Float> Tape<T> {
    /// Runs `f` with simplification on (restored afterwards, also if `f` panics).
    pub(crate) fn simplifying<R>(&self, f: impl FnOnce() -> R) -> R {
        struct Restore<'a, T: Float>(&'a Tape<T>, bool);
        impl<T: Float> Drop for Restore<'_, T> {
            fn drop(&mut self) {
                self.0.simplify.on.set(self.1);
                if !self.1 {
                    self.0.simplify.recorded.borrow_mut().clear();
                }
            }
        }
        let was_on = self.simplify.on.replace(true);
        if !was_on {
            self.with_nodes(|nodes| {
                for (id, node) in nodes.iter().enumerate() {
                    self.simplify.note(&node.op, &node.inputs, id);
                }
            });
        }
        let _restore = Restore(self, was_on);
        f()
    }
}

/// The node that `op` on nodes `inputs` would equal, if one is already recorded: the same computation, or one
/// of the identities above.
pub(crate) fn existing<T: Float>(
    simplify: &Simplify,
    op: &Op<T>,
    inputs: &[usize],
    nodes: &[Node<T>],
) -> Option<usize> {
    if let Some(key) = Key::of(op, inputs) {
        if let Some(&id) = simplify.recorded.borrow().get(&key) {
            return Some(id);
        }
    }
    let one = T::one();
    match (op, inputs) {
        (Op::Binary(Binary::Mul), &[a, b]) => {
            if is_constant(nodes, b, one) && fits(nodes, b, a) {
                Some(a)
            } else if is_constant(nodes, a, one) && fits(nodes, a, b) {
                Some(b)
            } else {
                None
            }
        }
        (Op::Binary(Binary::Div), &[a, b]) => {
            (is_constant(nodes, b, one) && fits(nodes, b, a)).then_some(a)
        }
        (Op::Unary(Unary::MulScalar(c) | Unary::DivScalar(c)), &[a]) => (*c == one).then_some(a),
        (Op::Unary(Unary::Neg), &[a]) => match (&nodes[a].op, &*nodes[a].inputs) {
            (Op::Unary(Unary::Neg), &[inner]) => Some(inner),
            _ => None,
        },
        _ => None,
    }
}

/// True when node `j` is a constant leaf whose every element is `c`.
fn is_constant<T: Float>(nodes: &[Node<T>], j: usize, c: T) -> bool {
    let node = &nodes[j];
    node.inputs.is_empty()
        && !node.requires_grad
        && match node.value.operand() {
            Operand::Num(x) => x == c,
            other => other.array().is_some_and(|a| a.iter().all(|&x| x == c)),
        }
}

/// True when node `j` broadcasts against node `keep` without widening it (the result has `keep`'s shape).
fn fits<T: Float>(nodes: &[Node<T>], j: usize, keep: usize) -> bool {
    let (small, large) = (nodes[j].value.shape(), nodes[keep].value.shape());
    small.len() <= large.len()
        && small
            .iter()
            .rev()
            .zip(large.iter().rev())
            .all(|(&s, &l)| s == l || s == 1)
}
