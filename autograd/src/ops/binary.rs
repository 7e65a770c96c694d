//! Element-wise functions of two operands broadcast with NumPy's rules, one row each: the variant, its kind, the
//! `Var` method (the arithmetic ones are operators, see `arith.rs`), the drawing label, the function of two
//! numbers, and the derivative rule for each operand, written with `a`, `b`, the output `y` and `g`. With `g`
//! the output's gradient they are the backward rules (at the broadcast output's shape; the backward pass sums
//! them to each operand's shape, in one place); applied to each operand's tangent and summed they are the
//! forward-mode rule.

use std::fmt;

use smallvec::smallvec;

use super::{InputGrads, IntoVar, Op, Primitive};
use crate::{kernels, Backend, Float, Operand, Value, Var};

/// The table. Each row: `Variant: "kind" method(name) label("text") fn(|a, b| f(a, b)) da(|a, b, y, g| rule)
/// db(|a, b, y, g| rule)`; `method` is optional.
macro_rules! binary_ops {
    ($(
        $(#[$doc:meta])*
        $variant:ident: $kind:literal $(method($method:ident))? label($label:literal)
            fn(|$fa:ident, $fb:ident| $f:expr)
            da(|$a0:ident, $b0:ident, $y0:ident, $g0:ident| $da:expr)
            db(|$a1:ident, $b1:ident, $y1:ident, $g1:ident| $db:expr);
    )*) => {
        /// An element-wise function of two operands, broadcast with NumPy's rules.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum Binary {
            $($(#[$doc])* $variant,)*
        }

        impl Binary {
            /// The function of two numbers.
            pub fn eval<T: Float>(self, a: T, b: T) -> T {
                match self {
                    $(Binary::$variant => {
                        let ($fa, $fb) = (a, b);
                        $f
                    })*
                }
            }
        }

        impl<T: Float> Primitive<T> for Binary {
            const KINDS: &'static [&'static str] = &[$($kind),*];

            fn kind(&self) -> &'static str {
                match self {
                    $(Binary::$variant => $kind,)*
                }
            }

            #[track_caller]
            fn forward(&self, x: &[Operand<'_, T>]) -> Value<T> {
                // One arm per op, each with its own closure: each op gets its own, vectorised loop.
                match self {
                    $(Binary::$variant => kernels::zip($kind, x[0], x[1], |$fa, $fb| $f),)*
                }
            }

            #[allow(unused_variables)]
            fn vjp<'a, B: Backend<T>>(
                &self,
                x: &[Var<'a, T, B>],
                y: Var<'a, T, B>,
                g: Var<'a, T, B>,
                needs: &[bool],
            ) -> InputGrads<Var<'a, T, B>> {
                let (a, b) = (x[0], x[1]);
                match self {
                    $(Binary::$variant => smallvec![
                        needs[0].then(|| {
                            let ($a0, $b0, $y0, $g0) = (a, b, y, g);
                            $da
                        }),
                        needs[1].then(|| {
                            let ($a1, $b1, $y1, $g1) = (a, b, y, g);
                            $db
                        }),
                    ],)*
                }
            }

            /// Each operand's derivative applied to its tangent, summed (the Jacobian of each operand is
            /// diagonal, so the rules are the backward ones).
            #[allow(unused_variables)]
            fn jvp<'a, B: Backend<T>>(
                &self,
                x: &[Var<'a, T, B>],
                y: Var<'a, T, B>,
                dx: &[Option<Var<'a, T, B>>],
            ) -> Option<Var<'a, T, B>> {
                let (a, b) = (x[0], x[1]);
                let (ta, tb) = match self {
                    $(Binary::$variant => (
                        dx[0].map(|g| {
                            let ($a0, $b0, $y0, $g0) = (a, b, y, g);
                            $da
                        }),
                        dx[1].map(|g| {
                            let ($a1, $b1, $y1, $g1) = (a, b, y, g);
                            $db
                        }),
                    ),)*
                };
                match (ta, tb) {
                    (Some(ta), Some(tb)) => Some(ta + tb),
                    (ta, tb) => ta.or(tb),
                }
            }

            fn label(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self {
                    $(Binary::$variant => f.write_str($label),)*
                }
            }
        }

        impl<'a, T: Float, B: Backend<T>> Var<'a, T, B> {
            $(binary_ops!(@method [$($method)?] $variant $(#[$doc])*);)*
        }
    };

    (@method [] $($rest:tt)*) => {};
    (@method [$method:ident] $variant:ident $(#[$doc:meta])*) => {
        $(#[$doc])*
        ///
        /// `other` is a handle or a number.
        ///
        /// # Panics
        /// When the shapes do not broadcast together, or the handles belong to different tapes.
        #[track_caller]
        pub fn $method(self, other: impl IntoVar<'a, T, B>) -> Self {
            let other = other.into_var(self);
            self.apply2(Op::Binary(Binary::$variant), other)
        }
    };
}

binary_ops! {
    /// `a + b` (the operator `a + b`).
    Add: "add" label("+") fn(|a, b| a + b) da(|a, b, y, g| g) db(|a, b, y, g| g);
    /// `a − b` (the operator `a - b`).
    Sub: "sub" label("-") fn(|a, b| a - b) da(|a, b, y, g| g) db(|a, b, y, g| -g);
    /// `a · b` (the operator `a * b`).
    Mul: "mul" label("×") fn(|a, b| a * b) da(|a, b, y, g| g * b) db(|a, b, y, g| g * a);
    /// `a / b` (the operator `a / b`); with `y = a/b`, `∂y/∂b = −y/b`.
    Div: "div" label("/") fn(|a, b| a / b) da(|a, b, y, g| g / b) db(|a, b, y, g| -g * y / b);
    /// `aᵇ` element-wise with a tensor exponent, broadcast (`powf` and `powi` take a constant one). The
    /// exponent's gradient `g · y · log a` is taken as 0 where `a = 0`, as in PyTorch.
    Pow: "pow" method(pow) label("^") fn(|a, b| a.powf(b))
        da(|a, b, y, g| g * b * a.pow(b - 1))
        db(|a, b, y, g| (g * y * a.log()).where_(a.ne(0), 0));
    /// The element-wise maximum, broadcast; at ties each operand gets half the gradient.
    Maximum: "maximum" method(maximum) label("max") fn(|a, b| a.max(b))
        da(|a, b, y, g| g * share(a, b, |a, b| a > b))
        db(|a, b, y, g| g * share(b, a, |b, a| b > a));
    /// The element-wise minimum, broadcast; at ties each operand gets half the gradient.
    Minimum: "minimum" method(minimum) label("min") fn(|a, b| a.min(b))
        da(|a, b, y, g| g * share(a, b, |a, b| a < b))
        db(|a, b, y, g| g * share(b, a, |b, a| b < a));
}

/// The share of the gradient of `max(a, b)` (with `wins` as `>`) or `min(a, b)` (`<`) that goes to `a`: 1 where
/// `a` wins, ½ at ties, 0 elsewhere — a constant, at the broadcast shape.
fn share<'a, T: Float, B: Backend<T>>(
    a: Var<'a, T, B>,
    b: Var<'a, T, B>,
    wins: fn(T, T) -> bool,
) -> Var<'a, T, B> {
    let share = a.zip_values(b, |a, b| {
        kernels::zip_to("share", a, b, |x, y| {
            if x == y {
                T::lit(0.5)
            } else if wins(x, y) {
                T::one()
            } else {
                T::zero()
            }
        })
    });
    a.constant_like(share)
}
