//! Arithmetic operators on handles and numbers, so formulas need no `&` and no method calls:
//! `apple * num * tax`, `1.0 / (1.0 + (-x).exp())`, and in backward rules `g * (1 - y * y)`.
//!
//! A number on the right may be any [`Scalar`] (`f32`, `f64`, `i32`), so generic code can write `x * 0.5`,
//! `x * c` with `c: T`, or `y * 2`. On the left, `f32` and `f64` work with handles of their own type, and an
//! integer (`1 - y`) with handles of any element type — the form generic code uses.

use std::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

use crate::ops::{Binary, Op, Unary};
use crate::{Backend, Float, Var};

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
    impl Sealed for i32 {}
}

/// A plain number usable with handles: `f32`, `f64` or `i32` (converted to the handle's element type).
pub trait Scalar: sealed::Sealed + Copy {
    /// The number as an `f64` (exact for all three types).
    fn as_f64(self) -> f64;
}

impl Scalar for f32 {
    fn as_f64(self) -> f64 {
        f64::from(self)
    }
}

impl Scalar for f64 {
    fn as_f64(self) -> f64 {
        self
    }
}

impl Scalar for i32 {
    fn as_f64(self) -> f64 {
        f64::from(self)
    }
}

fn lit<T: Float, S: Scalar>(c: S) -> T {
    T::lit(c.as_f64())
}

macro_rules! var_var_op {
    ($trait:ident, $method:ident, $assign_trait:ident, $assign:ident, $binary:expr) => {
        impl<'a, T: Float, B: Backend<T>> $trait for Var<'a, T, B> {
            type Output = Self;
            #[track_caller]
            #[inline]
            fn $method(self, rhs: Self) -> Self {
                self.apply2(Op::Binary($binary), rhs)
            }
        }

        impl<'a, T: Float, B: Backend<T>> $assign_trait for Var<'a, T, B> {
            #[track_caller]
            fn $assign(&mut self, rhs: Self) {
                *self = self.$method(rhs);
            }
        }
    };
}

var_var_op!(Add, add, AddAssign, add_assign, Binary::Add);
var_var_op!(Sub, sub, SubAssign, sub_assign, Binary::Sub);
var_var_op!(Mul, mul, MulAssign, mul_assign, Binary::Mul);
var_var_op!(Div, div, DivAssign, div_assign, Binary::Div);

impl<'a, T: Float, B: Backend<T>> Neg for Var<'a, T, B> {
    type Output = Self;
    #[track_caller]
    #[inline]
    fn neg(self) -> Self {
        self.apply(Op::Unary(Unary::Neg))
    }
}

impl<'a, T: Float, B: Backend<T>, S: Scalar> Add<S> for Var<'a, T, B> {
    type Output = Self;
    #[track_caller]
    #[inline]
    fn add(self, c: S) -> Self {
        self.apply(Op::Unary(Unary::AddScalar(lit(c))))
    }
}

impl<'a, T: Float, B: Backend<T>, S: Scalar> Sub<S> for Var<'a, T, B> {
    type Output = Self;
    #[track_caller]
    #[inline]
    fn sub(self, c: S) -> Self {
        self.apply(Op::Unary(Unary::AddScalar(-lit::<T, S>(c))))
    }
}

impl<'a, T: Float, B: Backend<T>, S: Scalar> Mul<S> for Var<'a, T, B> {
    type Output = Self;
    #[track_caller]
    #[inline]
    fn mul(self, c: S) -> Self {
        self.apply(Op::Unary(Unary::MulScalar(lit(c))))
    }
}

impl<'a, T: Float, B: Backend<T>, S: Scalar> Div<S> for Var<'a, T, B> {
    type Output = Self;
    #[track_caller]
    #[inline]
    fn div(self, c: S) -> Self {
        self.apply(Op::Unary(Unary::DivScalar(lit(c))))
    }
}

/// `c + x`, `c − x`, `c · x` and `c / x` for a number `c` of type `$t` on the left, for handles of element
/// type `$elem` (`c / x` is recorded as the node `1/x`, followed by `×c` unless `c` is 1).
macro_rules! number_var_ops {
    ($t:ty, $elem:ty, [$($gen:tt)*]) => {
        impl<'a, $($gen)* B: Backend<$elem>> Add<Var<'a, $elem, B>> for $t {
            type Output = Var<'a, $elem, B>;
            #[track_caller]
            fn add(self, x: Var<'a, $elem, B>) -> Var<'a, $elem, B> {
                x + self
            }
        }

        impl<'a, $($gen)* B: Backend<$elem>> Sub<Var<'a, $elem, B>> for $t {
            type Output = Var<'a, $elem, B>;
            #[track_caller]
            fn sub(self, x: Var<'a, $elem, B>) -> Var<'a, $elem, B> {
                x.apply(Op::Unary(Unary::RsubScalar(lit(self))))
            }
        }

        impl<'a, $($gen)* B: Backend<$elem>> Mul<Var<'a, $elem, B>> for $t {
            type Output = Var<'a, $elem, B>;
            #[track_caller]
            fn mul(self, x: Var<'a, $elem, B>) -> Var<'a, $elem, B> {
                x * self
            }
        }

        impl<'a, $($gen)* B: Backend<$elem>> Div<Var<'a, $elem, B>> for $t {
            type Output = Var<'a, $elem, B>;
            #[track_caller]
            fn div(self, x: Var<'a, $elem, B>) -> Var<'a, $elem, B> {
                let r = x.recip();
                if self.as_f64() == 1.0 {
                    r
                } else {
                    r * self
                }
            }
        }
    };
}

number_var_ops!(f32, f32, []);
number_var_ops!(f64, f64, []);
number_var_ops!(i32, T, [T: Float,]);
