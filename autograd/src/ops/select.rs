//! Choosing by boolean masks: comparisons that make masks (arrays, not graph nodes — they have no gradient),
//! and `where_`, which picks element-wise between two values by a mask.

use std::fmt;
use std::rc::Rc;

use ndarray::{ArrayBase, ArrayD, Data, Dimension};
use smallvec::smallvec;

use super::{InputGrads, Op, Primitive};
use crate::arith::Scalar;
use crate::{kernels, Backend, Float, Operand, Value, Var};

/// A boolean mask of any rank, shared cheaply (an `Rc`). Made from an owned array (moved, not copied), a
/// reference to any array or view of `bool` (copied), or another mask.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mask(pub Rc<ArrayD<bool>>);

impl<D: Dimension> From<ArrayBase<ndarray::OwnedRepr<bool>, D>> for Mask {
    fn from(mask: ArrayBase<ndarray::OwnedRepr<bool>, D>) -> Self {
        Mask(Rc::new(mask.into_dyn()))
    }
}

impl<S: Data<Elem = bool>, D: Dimension> From<&ArrayBase<S, D>> for Mask {
    fn from(mask: &ArrayBase<S, D>) -> Self {
        Mask(Rc::new(mask.to_owned().into_dyn()))
    }
}

impl From<&Mask> for Mask {
    fn from(mask: &Mask) -> Self {
        mask.clone()
    }
}

/// `mask ? a : b` element-wise, with the mask, `a` and `b` broadcast together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Where {
    /// The mask: where it holds, the result is `a`.
    pub mask: Mask,
}

impl<T: Float> Primitive<T> for Where {
    const KINDS: &'static [&'static str] = &["where"];

    #[track_caller]
    fn forward(&self, x: &[Operand<'_, T>]) -> Value<T> {
        kernels::select("where", &self.mask.0, x[0], x[1])
    }

    /// The gradient goes to `a` where the mask holds and to `b` elsewhere.
    fn vjp<'a, B: Backend<T>>(
        &self,
        _x: &[Var<'a, T, B>],
        _y: Var<'a, T, B>,
        g: Var<'a, T, B>,
        needs: &[bool],
    ) -> InputGrads<Var<'a, T, B>> {
        smallvec![
            needs[0].then(|| g.where_(&self.mask, 0)),
            needs[1].then(|| g.masked_fill(&self.mask, 0)),
        ]
    }

    /// The tangent of `a` where the mask holds, of `b` elsewhere.
    fn jvp<'a, B: Backend<T>>(
        &self,
        _x: &[Var<'a, T, B>],
        _y: Var<'a, T, B>,
        dx: &[Option<Var<'a, T, B>>],
    ) -> Option<Var<'a, T, B>> {
        match (dx[0], dx[1]) {
            (Some(da), Some(db)) => Some(da.where_(&self.mask, db)),
            (Some(da), None) => Some(da.where_(&self.mask, 0)),
            (None, Some(db)) => Some(db.masked_fill(&self.mask, 0)),
            (None, None) => None,
        }
    }

    fn label(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("where")
    }
}

/// What ops that take "a tensor or a number" accept: a handle, or a number (which becomes a constant).
pub trait IntoVar<'a, T: Float, B: Backend<T>>: Copy {
    /// The value as a handle on `like`'s backend.
    fn into_var(self, like: Var<'a, T, B>) -> Var<'a, T, B>;
    /// Runs `f` on the value, without recording anything.
    fn with_operand<R>(self, like: Var<'a, T, B>, f: impl FnOnce(Operand<'_, T>) -> R) -> R;
}

impl<'a, T: Float, B: Backend<T>> IntoVar<'a, T, B> for Var<'a, T, B> {
    fn into_var(self, _like: Var<'a, T, B>) -> Var<'a, T, B> {
        self
    }

    fn with_operand<R>(self, _like: Var<'a, T, B>, f: impl FnOnce(Operand<'_, T>) -> R) -> R {
        self.backend().with_operand(self.id, f)
    }
}

impl<'a, T: Float, B: Backend<T>, S: Scalar> IntoVar<'a, T, B> for S {
    fn into_var(self, like: Var<'a, T, B>) -> Var<'a, T, B> {
        like.constant_like(T::lit(self.as_f64()))
    }

    fn with_operand<R>(self, _like: Var<'a, T, B>, f: impl FnOnce(Operand<'_, T>) -> R) -> R {
        f(Operand::Num(T::lit(self.as_f64())))
    }
}

macro_rules! comparisons {
    ($($(#[$doc:meta])* $name:ident $op:tt;)*) => {
        impl<'a, T: Float, B: Backend<T>> Var<'a, T, B> {
            $(
                $(#[$doc])*
                ///
                /// A boolean array (no node, no gradient), broadcast with NumPy's rules; `other` is a handle
                /// or a number.
                ///
                /// # Panics
                /// When the shapes do not broadcast together.
                #[track_caller]
                pub fn $name(self, other: impl IntoVar<'a, T, B>) -> ArrayD<bool> {
                    self.backend().with_operand(self.id, |a| {
                        other.with_operand(self, |b| kernels::zip_to(stringify!($name), a, b, |x, y| x $op y))
                    })
                }
            )*
        }
    };
}

comparisons! {
    /// `self > other` element-wise.
    gt >;
    /// `self ≥ other` element-wise.
    ge >=;
    /// `self < other` element-wise.
    lt <;
    /// `self ≤ other` element-wise.
    le <=;
    /// `self == other` element-wise.
    eq ==;
    /// `self ≠ other` element-wise.
    ne !=;
}

impl<'a, T: Float, B: Backend<T>> Var<'a, T, B> {
    /// `mask ? self : other` element-wise (NumPy's `where(mask, self, other)`); the mask (any rank, see
    /// [`Mask`]), `self` and `other` (a handle or a number) broadcast together. The gradient flows to `self`
    /// where the mask holds and to `other` elsewhere.
    ///
    /// ```
    /// use autograd::Tape;
    /// let tape = Tape::<f64>::new();
    /// let x = tape.var(ndarray::array![-1.0, 2.0]);
    /// let y = x.where_(x.gt(0), 0); // relu
    /// assert_eq!(y.value(), ndarray::array![0.0, 2.0].into_dyn());
    /// ```
    ///
    /// # Panics
    /// When the shapes do not broadcast together.
    #[track_caller]
    pub fn where_(self, mask: impl Into<Mask>, other: impl IntoVar<'a, T, B>) -> Self {
        let other = other.into_var(self);
        self.apply2(Op::Where(Where { mask: mask.into() }), other)
    }

    /// `mask ? value : self` element-wise (PyTorch's `masked_fill`); `value` is a handle or a number.
    ///
    /// # Panics
    /// When the shapes do not broadcast together.
    #[track_caller]
    pub fn masked_fill(self, mask: impl Into<Mask>, value: impl IntoVar<'a, T, B>) -> Self {
        value.into_var(self).where_(mask, self)
    }
}
