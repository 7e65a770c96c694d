//! Arithmetic operators on handles and plain numbers, so formulas need no `&` and no method calls:
//! `apple * num * tax`, `1.0 / (1.0 + (-x).exp())`.

use std::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

use crate::ops::{Binary, Op, Unary};
use crate::{Float, Var};

macro_rules! var_var_op {
    ($trait:ident, $method:ident, $assign_trait:ident, $assign:ident, $binary:expr, $name:literal) => {
        impl<'t, T: Float> $trait for Var<'t, T> {
            type Output = Var<'t, T>;
            #[track_caller]
            fn $method(self, rhs: Var<'t, T>) -> Var<'t, T> {
                self.binary(Op::Binary($binary), $name, rhs)
            }
        }

        impl<'t, T: Float> $assign_trait for Var<'t, T> {
            #[track_caller]
            fn $assign(&mut self, rhs: Var<'t, T>) {
                *self = self.$method(rhs);
            }
        }
    };
}

var_var_op!(Add, add, AddAssign, add_assign, Binary::Add, "add");
var_var_op!(Sub, sub, SubAssign, sub_assign, Binary::Sub, "sub");
var_var_op!(Mul, mul, MulAssign, mul_assign, Binary::Mul, "mul");
var_var_op!(Div, div, DivAssign, div_assign, Binary::Div, "div");

impl<T: Float> Var<'_, T> {
    #[track_caller]
    fn scalar_op(self, f: Unary<T>) -> Self {
        self.tape().push(Op::Unary(f), &[self.id()])
    }
}

impl<'t, T: Float> Neg for Var<'t, T> {
    type Output = Var<'t, T>;
    #[track_caller]
    fn neg(self) -> Var<'t, T> {
        self.scalar_op(Unary::Neg)
    }
}

impl<'t, T: Float> Add<T> for Var<'t, T> {
    type Output = Var<'t, T>;
    #[track_caller]
    fn add(self, c: T) -> Var<'t, T> {
        self.scalar_op(Unary::AddScalar(c))
    }
}

impl<'t, T: Float> Sub<T> for Var<'t, T> {
    type Output = Var<'t, T>;
    #[track_caller]
    fn sub(self, c: T) -> Var<'t, T> {
        self.scalar_op(Unary::AddScalar(-c))
    }
}

impl<'t, T: Float> Mul<T> for Var<'t, T> {
    type Output = Var<'t, T>;
    #[track_caller]
    fn mul(self, c: T) -> Var<'t, T> {
        self.scalar_op(Unary::MulScalar(c))
    }
}

impl<'t, T: Float> Div<T> for Var<'t, T> {
    type Output = Var<'t, T>;
    #[track_caller]
    fn div(self, c: T) -> Var<'t, T> {
        self.scalar_op(Unary::DivScalar(c))
    }
}

macro_rules! number_var_ops {
    ($t:ty) => {
        impl<'t> Add<Var<'t, $t>> for $t {
            type Output = Var<'t, $t>;
            #[track_caller]
            fn add(self, x: Var<'t, $t>) -> Var<'t, $t> {
                x + self
            }
        }

        impl<'t> Sub<Var<'t, $t>> for $t {
            type Output = Var<'t, $t>;
            #[track_caller]
            fn sub(self, x: Var<'t, $t>) -> Var<'t, $t> {
                -x + self
            }
        }

        impl<'t> Mul<Var<'t, $t>> for $t {
            type Output = Var<'t, $t>;
            #[track_caller]
            fn mul(self, x: Var<'t, $t>) -> Var<'t, $t> {
                x * self
            }
        }

        /// `c / x`, recorded as the node `1/x` (followed by `×c` unless `c` is 1).
        impl<'t> Div<Var<'t, $t>> for $t {
            type Output = Var<'t, $t>;
            #[track_caller]
            fn div(self, x: Var<'t, $t>) -> Var<'t, $t> {
                let r = x.recip();
                if self == 1.0 {
                    r
                } else {
                    r * self
                }
            }
        }
    };
}

number_var_ops!(f32);
number_var_ops!(f64);
