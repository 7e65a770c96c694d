//! Element-wise ops: forward maps and their derivatives.

use std::fmt;

use ndarray::{ArrayD, ArrayRef, IxDyn, Zip};
use smallvec::smallvec;

use super::InputGrads;
use crate::shape::{broadcast_shapes, same_shape};
use crate::{Algebra, Float, Value};

/// An element-wise function of one operand.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Unary<T> {
    /// `-x`
    Neg,
    /// `eˣ`
    Exp,
    /// Natural logarithm.
    Log,
    /// `1/x`
    Recip,
    /// `√x`
    Sqrt,
    /// Hyperbolic tangent.
    Tanh,
    /// `max(x, 0)`; its derivative at 0 is taken as 0.
    Relu,
    /// `|x|`; its derivative at 0 is taken as 0.
    Abs,
    /// `xᶜ` for a constant `c`.
    Powf(T),
    /// `x + c` for a constant `c`.
    AddScalar(T),
    /// `x · c` for a constant `c`.
    MulScalar(T),
    /// `x / c` for a constant `c`.
    DivScalar(T),
}

impl<T: Float> Unary<T> {
    fn eval(self, x: T) -> T {
        match self {
            Unary::Neg => -x,
            Unary::Exp => x.exp(),
            Unary::Log => x.ln(),
            Unary::Recip => x.recip(),
            Unary::Sqrt => x.sqrt(),
            Unary::Tanh => x.tanh(),
            Unary::Relu => x.max(T::zero()),
            Unary::Abs => x.abs(),
            Unary::Powf(c) => x.powf(c),
            Unary::AddScalar(c) => x + c,
            Unary::MulScalar(c) => x * c,
            Unary::DivScalar(c) => x / c,
        }
    }

    pub(crate) fn forward(self, x: &Value<T>) -> Value<T> {
        match x {
            Value::Scalar(v) => Value::Scalar(self.eval(*v)),
            Value::Array(a) => {
                // One loop per op, with the op's `match` outside it, as for `Binary`.
                macro_rules! per_op {
                    ($($op:ident),* ; $($op_c:ident),*) => {
                        match self {
                            $(Unary::$op => a.mapv(|v| Unary::$op.eval(v)),)*
                            $(Unary::$op_c(c) => a.mapv(|v| Unary::$op_c(c).eval(v)),)*
                        }
                    };
                }
                let y = per_op!(
                    Neg, Exp, Log, Recip, Sqrt, Tanh, Relu, Abs;
                    Powf, AddScalar, MulScalar, DivScalar
                );
                Value::Array(Box::new(y))
            }
        }
    }

    /// `g · f'(x)`, written with the output `y = f(x)` where that is simpler.
    pub(crate) fn backward<A: Algebra<T>>(self, alg: &A, x: &A::V, y: &A::V, g: &A::V) -> A::V {
        match self {
            Unary::Neg => alg.neg(g),
            Unary::Exp => alg.mul(g, y),
            Unary::Log => alg.div(g, x),
            Unary::Recip => alg.neg(&alg.mul(g, &alg.mul(y, y))),
            Unary::Sqrt => alg.div(g, &alg.mul_scalar(y, T::lit(2.0))),
            Unary::Tanh => alg.mul(g, &alg.add_scalar(&alg.neg(&alg.mul(y, y)), T::one())),
            Unary::Relu => alg.mul(g, &alg.constant_from(&[x], |v| v[0].mapv(step))),
            Unary::Abs => alg.mul(g, &alg.constant_from(&[x], |v| v[0].mapv(sign))),
            Unary::Powf(c) => alg.mul(g, &alg.mul_scalar(&alg.powf(x, c - T::one()), c)),
            Unary::AddScalar(_) => g.clone(),
            Unary::MulScalar(c) => alg.mul_scalar(g, c),
            Unary::DivScalar(c) => alg.div_scalar(g, c),
        }
    }
}

fn step<T: Float>(x: T) -> T {
    if x > T::zero() {
        T::one()
    } else {
        T::zero()
    }
}

fn sign<T: Float>(x: T) -> T {
    if x == T::zero() {
        T::zero()
    } else {
        x.signum()
    }
}

impl<T: Float> fmt::Display for Unary<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unary::Neg => write!(f, "×-1"),
            Unary::Exp => write!(f, "exp"),
            Unary::Log => write!(f, "log"),
            Unary::Recip => write!(f, "1/x"),
            Unary::Sqrt => write!(f, "sqrt"),
            Unary::Tanh => write!(f, "tanh"),
            Unary::Relu => write!(f, "relu"),
            Unary::Abs => write!(f, "abs"),
            Unary::Powf(c) => write!(f, "^{c}"),
            Unary::AddScalar(c) if *c < T::zero() => write!(f, "-{}", -*c),
            Unary::AddScalar(c) => write!(f, "+{c}"),
            Unary::MulScalar(c) => write!(f, "×{c}"),
            Unary::DivScalar(c) => write!(f, "÷{c}"),
        }
    }
}

/// An element-wise function of two operands, broadcast with NumPy's rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Binary {
    /// `a + b`
    Add,
    /// `a - b`
    Sub,
    /// `a · b`
    Mul,
    /// `a / b`
    Div,
    /// `max(a, b)`; at ties each operand gets half the gradient.
    Maximum,
    /// `min(a, b)`; at ties each operand gets half the gradient.
    Minimum,
}

impl Binary {
    /// The op's name in error messages.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Binary::Add => "add",
            Binary::Sub => "sub",
            Binary::Mul => "mul",
            Binary::Div => "div",
            Binary::Maximum => "maximum",
            Binary::Minimum => "minimum",
        }
    }

    #[track_caller]
    pub(crate) fn forward<T: Float>(self, a: &Value<T>, b: &Value<T>) -> Value<T> {
        let f = |x, y| self.eval(x, y);
        match (a, b) {
            (Value::Scalar(x), Value::Scalar(y)) => Value::Scalar(f(*x, *y)),
            // Both of rank 1 or more, so the result is too: no 0-d check, no views.
            (Value::Array(a), Value::Array(b)) => {
                // One loop per op, with the op's `match` outside it, so that each loop is vectorised.
                macro_rules! per_op {
                    ($($op:ident),*) => {
                        match self {
                            $(Binary::$op => zip_arrays(self, a, b, |x, y| Binary::$op.eval(x, y)),)*
                        }
                    };
                }
                Value::Array(Box::new(per_op!(Add, Sub, Mul, Div, Maximum, Minimum)))
            }
            _ => Value::from_array(zip_broadcast(self, &a.view(), &b.view(), f)),
        }
    }

    fn eval<T: Float>(self, x: T, y: T) -> T {
        match self {
            Binary::Add => x + y,
            Binary::Sub => x - y,
            Binary::Mul => x * y,
            Binary::Div => x / y,
            Binary::Maximum => x.max(y),
            Binary::Minimum => x.min(y),
        }
    }

    /// Gradients at the broadcast output's shape; the caller reduces them to each operand's shape.
    pub(crate) fn backward<T: Float, A: Algebra<T>>(
        self,
        alg: &A,
        a: &A::V,
        b: &A::V,
        y: &A::V,
        g: &A::V,
        needs: &[bool],
    ) -> InputGrads<A::V> {
        let (da, db) = (needs[0], needs[1]);
        match self {
            Binary::Add => smallvec![da.then(|| g.clone()), db.then(|| g.clone())],
            Binary::Sub => smallvec![da.then(|| g.clone()), db.then(|| alg.neg(g))],
            Binary::Mul => smallvec![da.then(|| alg.mul(g, b)), db.then(|| alg.mul(g, a))],
            Binary::Div => smallvec![
                da.then(|| alg.div(g, b)),
                db.then(|| alg.neg(&alg.div(&alg.mul(g, y), b)))
            ],
            Binary::Maximum | Binary::Minimum => {
                let pick_a = if self == Binary::Maximum {
                    |x: T, y: T| x > y
                } else {
                    |x: T, y: T| x < y
                };
                let share_a = alg.constant_from(&[a, b], |v| {
                    zip_broadcast(self, &v[0], &v[1], |x, y| {
                        if x == y {
                            T::lit(0.5)
                        } else if pick_a(x, y) {
                            T::one()
                        } else {
                            T::zero()
                        }
                    })
                });
                smallvec![
                    da.then(|| alg.mul(g, &share_a)),
                    db.then(|| alg.mul(g, &alg.add_scalar(&alg.neg(&share_a), T::one())))
                ]
            }
        }
    }
}

impl fmt::Display for Binary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = match self {
            Binary::Add => "+",
            Binary::Sub => "-",
            Binary::Mul => "×",
            Binary::Div => "/",
            Binary::Maximum => "max",
            Binary::Minimum => "min",
        };
        f.write_str(label)
    }
}

/// [`zip_broadcast`] for two owned arrays: when they have one shape and standard layout, the result starts as
/// a clone of `a` (which copies its shape and strides instead of recomputing them) and is updated in place.
#[track_caller]
fn zip_arrays<T: Float>(
    op: Binary,
    a: &ArrayD<T>,
    b: &ArrayD<T>,
    f: impl Fn(T, T) -> T,
) -> ArrayD<T> {
    if same_shape(a.shape(), b.shape()) {
        if let Some(y) = b.as_slice() {
            // The clone has `a`'s strides, so its layout test is `a`'s.
            let mut out = a.clone();
            if let Some(x) = out.as_slice_mut() {
                x.iter_mut().zip(y).for_each(|(x, &y)| *x = f(*x, y));
                return out;
            }
        }
    }
    zip_broadcast(op, a, b, f)
}

/// Applies `f` element-wise to `a` and `b` broadcast together.
///
/// Operands of one shape, both in standard (row-major, contiguous) layout, take a plain loop over slices — no
/// `Zip` setup and no layout analysis, which dominate for small tensors.
#[track_caller]
fn zip_broadcast<T: Float, U: Copy>(
    op: Binary,
    a: &ArrayRef<T, IxDyn>,
    b: &ArrayRef<T, IxDyn>,
    f: impl Fn(T, T) -> U,
) -> ArrayD<U> {
    if same_shape(a.shape(), b.shape()) {
        if let (Some(x), Some(y)) = (a.as_slice(), b.as_slice()) {
            let out: Vec<U> = x.iter().zip(y).map(|(&x, &y)| f(x, y)).collect();
            return ArrayD::from_shape_vec(a.raw_dim(), out)
                .expect("one element per element of `a`");
        }
        return Zip::from(a).and(b).map_collect(|&x, &y| f(x, y));
    }
    let shape = broadcast_shapes(op.name(), a.shape(), b.shape());
    let (a, b) = (a.broadcast(shape.clone()), b.broadcast(shape));
    let (a, b) = (a.expect("broadcast shape"), b.expect("broadcast shape"));
    Zip::from(&a).and(&b).map_collect(|&x, &y| f(x, y))
}
