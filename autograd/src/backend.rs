//! Where the values of [`Var`] handles live: on a [`Tape`] (recorded as nodes, so they can be differentiated),
//! or in an [`Eager`] store (computed at once, kept only as long as the store).
//!
//! # Why one handle type for both
//!
//! Every backward rule is written once and serves two passes: the fast first-order pass on plain arrays, and
//! the graph-building pass whose gradients are nodes that can be differentiated again. Earlier versions wrote
//! rules against a trait of methods (`alg.neg(&alg.mul(g, &alg.mul(y, y)))`), which hid the maths and offered
//! rules fewer ops than users had. Now the rule's values are [`Var`]s themselves, generic over the backend:
//! `Var<'a, T, Tape<T>>` (the default, what users hold) or `Var<'a, T, Eager<'s, T>>`. A rule is plain
//! arithmetic on `Copy` handles — tanh's is `g * (1 - y * y)` — and every op a user can call is callable in a
//! rule and in a [`CustomOp`](crate::CustomOp), under the same name, by construction.
//!
//! The eager store is built for the backward loop, where it runs once per node:
//! - a number lives inside the handle itself, so the lecture's scalar graphs never touch the store;
//! - the rule's inputs (the node's inputs, its output and its gradient) are borrowed, not copied;
//! - layout ops on borrowed arrays make views (`broadcast_to`) or share the array's buffer (`t()`, `permute`,
//!   `reshape` of a contiguous one), so `g.matmul(b.t())` hands the kernel a strided array and copies nothing,
//!   and a rule can return such a result as a gradient without a copy.

use std::cell::RefCell;

use ndarray::ArrayViewD;
use smallvec::SmallVec;

use crate::ops::{ErasedOp, InputGrads, Op, Tangent};
use crate::{Float, IntoValue, Operand, Tape, Value, Var};

mod sealed {
    pub trait Sealed {}
}

/// A place where [`Var`] handles' values live and ops run: [`Tape`] (recording) or [`Eager`] (immediate).
///
/// Sealed: the engine's two backends are the only ones. Write backward rules and custom ops generic over it
/// (`fn rule<'a, B: Backend<T>>(x: Var<'a, T, B>) -> Var<'a, T, B>`) so they serve both passes.
pub trait Backend<T: Float>: sealed::Sealed + Sized {
    /// What a handle stores to find its value (a node index for a tape).
    type Id: Copy;

    /// Runs `op` on the values of `inputs` and returns the result's id.
    #[doc(hidden)]
    #[track_caller]
    fn apply(&self, op: Op<T>, inputs: &[Self::Id]) -> Self::Id;

    /// A constant: never differentiated.
    #[doc(hidden)]
    fn constant(&self, value: Value<T>) -> Self::Id;

    /// Runs `f` on the value of `id`.
    #[doc(hidden)]
    fn with_operand<R>(&self, id: Self::Id, f: impl FnOnce(Operand<'_, T>) -> R) -> R;

    /// True when the two handles' backends are the same object.
    #[doc(hidden)]
    fn same(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }

    /// Runs a custom op's forward-mode rule in this backend.
    #[doc(hidden)]
    fn custom_jvp<'a>(
        op: &dyn ErasedOp<T>,
        x: &[Var<'a, T, Self>],
        y: Var<'a, T, Self>,
        dx: &[Option<Var<'a, T, Self>>],
    ) -> Tangent<Var<'a, T, Self>>;

    /// Runs a custom op's backward rule in this backend.
    #[doc(hidden)]
    fn custom_vjp<'a>(
        op: &dyn ErasedOp<T>,
        x: &[Var<'a, T, Self>],
        y: Var<'a, T, Self>,
        g: Var<'a, T, Self>,
        needs: &[bool],
    ) -> InputGrads<Var<'a, T, Self>>;
}

impl<T: Float> sealed::Sealed for Tape<T> {}

impl<T: Float> Backend<T> for Tape<T> {
    type Id = usize;

    #[track_caller]
    #[inline]
    fn apply(&self, op: Op<T>, inputs: &[usize]) -> usize {
        self.push(op, inputs)
    }

    fn constant(&self, value: Value<T>) -> usize {
        self.constant(value).id()
    }

    fn with_operand<R>(&self, id: usize, f: impl FnOnce(Operand<'_, T>) -> R) -> R {
        self.with_node(id, |n| f(n.value.operand()))
    }

    fn custom_vjp<'a>(
        op: &dyn ErasedOp<T>,
        x: &[Var<'a, T, Self>],
        y: Var<'a, T, Self>,
        g: Var<'a, T, Self>,
        needs: &[bool],
    ) -> InputGrads<Var<'a, T, Self>> {
        op.vjp_tape(x, y, g, needs)
    }

    fn custom_jvp<'a>(
        op: &dyn ErasedOp<T>,
        x: &[Var<'a, T, Self>],
        y: Var<'a, T, Self>,
        dx: &[Option<Var<'a, T, Self>>],
    ) -> Tangent<Var<'a, T, Self>> {
        op.jvp_tape(x, y, dx)
    }
}

/// A store that computes each op at once and keeps the results until it is dropped: the backend of the
/// first-order backward pass, and a way to run any rule or [`CustomOp`](crate::CustomOp) on plain arrays.
///
/// ```
/// use autograd::{Eager, Value};
/// use ndarray::array;
///
/// let x = Value::from(array![1.0, 2.0].into_dyn());
/// let eager = Eager::new();
/// let v = eager.borrow(&x);            // no copy
/// let y = (v * v + 1).exp();           // computed at once
/// assert_eq!(y.value()[[1]], 5f64.exp());
/// assert_eq!(eager.var(3.0).scalar(), 3.0);
/// ```
pub struct Eager<'s, T: Float> {
    slots: RefCell<SmallVec<[Slot<'s, T>; 4]>>,
}

/// A value in an [`Eager`] store.
enum Slot<'s, T: Float> {
    /// A value computed here.
    Owned(Value<T>),
    /// A view of a borrowed value (a transpose, a broadcast, a reshape).
    View(ArrayViewD<'s, T>),
    /// Moved out by [`Eager::take`].
    Taken,
}

/// The id of a value in an [`Eager`] store: a number or a borrowed value held in the handle itself, or a slot.
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub enum EagerId<'s, T: Float> {
    /// A 0-d value.
    Num(T),
    /// A value owned by someone else (a tape node, a gradient store), alive for `'s`.
    Ref(&'s Value<T>),
    /// The index of a slot.
    Slot(u32),
}

impl<T: Float> sealed::Sealed for Eager<'_, T> {}

impl<T: Float> Default for Eager<'_, T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'s, T: Float> Eager<'s, T> {
    /// An empty store.
    pub fn new() -> Self {
        Eager {
            slots: RefCell::new(SmallVec::new()),
        }
    }

    /// A handle to `value` without copying it.
    pub fn borrow(&self, value: &'s Value<T>) -> Var<'_, T, Self> {
        let id = match value {
            Value::Scalar(x) => EagerId::Num(*x),
            Value::Array(_) => EagerId::Ref(value),
        };
        Var::from_id(self, id)
    }

    /// A handle to an owned value (a number or any array).
    pub fn var(&self, value: impl IntoValue<T>) -> Var<'_, T, Self> {
        Var::from_id(self, self.store(value.into_value()))
    }

    #[inline]
    /// Moves the value of `v` out of the store (a borrowed or viewed value is copied). Taking a handle whose
    /// value was already taken panics.
    pub fn take(&self, v: Var<'_, T, Self>) -> Value<T> {
        match v.id {
            EagerId::Num(x) => Value::Scalar(x),
            EagerId::Ref(value) => value.clone(),
            EagerId::Slot(k) => self.take_slot(k),
        }
    }

    fn take_slot(&self, k: u32) -> Value<T> {
        let mut slots = self.slots.borrow_mut();
        let slot = &mut slots[k as usize];
        match slot {
            Slot::View(view) => Value::from_array(view.to_owned()),
            Slot::Owned(_) => match std::mem::replace(slot, Slot::Taken) {
                Slot::Owned(value) => value,
                _ => unreachable!("matched as owned"),
            },
            Slot::Taken => panic!("Eager::take: the value was already taken"),
        }
    }

    fn push(&self, slot: Slot<'s, T>) -> EagerId<'s, T> {
        let mut slots = self.slots.borrow_mut();
        slots.push(slot);
        EagerId::Slot((slots.len() - 1) as u32)
    }

    fn store(&self, value: Value<T>) -> EagerId<'s, T> {
        match value {
            Value::Scalar(x) => EagerId::Num(x),
            value => self.push(Slot::Owned(value)),
        }
    }

    /// The view `op` makes of input `id`, when `op` is a layout op that can be a view and the input is
    /// borrowed (so the view can outlive this call).
    fn try_view(&self, op: &Op<T>, id: EagerId<'s, T>) -> Option<EagerId<'s, T>> {
        let source: ArrayViewD<'s, T> = match id {
            // A reshape or permutation of a stored array shares its buffer (see their `forward`), which `take`
            // need not copy, as it must a view.
            EagerId::Ref(Value::Array(_)) if matches!(op, Op::Reshape(_) | Op::Permute(_)) => {
                return None
            }
            EagerId::Ref(Value::Array(a)) => a.view(),
            EagerId::Slot(k) => match &self.slots.borrow()[k as usize] {
                Slot::View(v) => v.clone(),
                _ => return None,
            },
            _ => return None,
        };
        let view = op.view(source)?;
        Some(self.push(Slot::View(view)))
    }
}

fn operand<'a, 's: 'a, T: Float>(slots: &'a [Slot<'s, T>], id: EagerId<'s, T>) -> Operand<'a, T> {
    match id {
        EagerId::Num(x) => Operand::Num(x),
        EagerId::Ref(v) => v.operand(),
        EagerId::Slot(k) => match &slots[k as usize] {
            Slot::Owned(v) => v.operand(),
            Slot::View(v) => Operand::View(v),
            Slot::Taken => panic!("Eager: a value was used after it was taken"),
        },
    }
}

impl<'s, T: Float> Backend<T> for Eager<'s, T> {
    type Id = EagerId<'s, T>;

    #[track_caller]
    #[inline]
    fn apply(&self, op: Op<T>, inputs: &[EagerId<'s, T>]) -> EagerId<'s, T> {
        // Numbers (the lecture's scalar graphs): computed at once, without touching the store.
        match (&op, inputs) {
            (Op::Binary(b), &[EagerId::Num(x), EagerId::Num(y)]) => {
                return EagerId::Num(b.eval(x, y))
            }
            (Op::Unary(u), &[EagerId::Num(x)]) => return EagerId::Num(u.eval(x)),
            _ => {}
        }
        if let [input] = *inputs {
            if let Some(view) = self.try_view(&op, input) {
                return view;
            }
        }
        let value = {
            let slots = self.slots.borrow();
            match *inputs {
                [a] => op.eval(&[operand(&slots, a)]),
                [a, b] => op.eval(&[operand(&slots, a), operand(&slots, b)]),
                _ => {
                    let x: SmallVec<[Operand<'_, T>; 4]> =
                        inputs.iter().map(|&id| operand(&slots, id)).collect();
                    op.eval(&x)
                }
            }
        };
        self.store(value)
    }

    fn constant(&self, value: Value<T>) -> EagerId<'s, T> {
        self.store(value)
    }

    fn with_operand<R>(&self, id: EagerId<'s, T>, f: impl FnOnce(Operand<'_, T>) -> R) -> R {
        match id {
            EagerId::Slot(_) => f(operand(&self.slots.borrow(), id)),
            _ => f(operand(&[], id)),
        }
    }

    fn custom_vjp<'a>(
        op: &dyn ErasedOp<T>,
        x: &[Var<'a, T, Self>],
        y: Var<'a, T, Self>,
        g: Var<'a, T, Self>,
        needs: &[bool],
    ) -> InputGrads<Var<'a, T, Self>> {
        op.vjp_eager(x, y, g, needs)
    }

    fn custom_jvp<'a>(
        op: &dyn ErasedOp<T>,
        x: &[Var<'a, T, Self>],
        y: Var<'a, T, Self>,
        dx: &[Option<Var<'a, T, Self>>],
    ) -> Tangent<Var<'a, T, Self>> {
        op.jvp_eager(x, y, dx)
    }
}
