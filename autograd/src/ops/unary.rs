//! Element-wise functions of one operand, one row each: the variant, its kind, the `Var` method, the drawing
//! label, the function of one number, and the derivative rule — `g · f'(x)`, written with `x`, the output
//! `y = f(x)` and `g` as handles. With `g` the output's gradient it is the backward rule; with `g` the input's
//! tangent it is the forward-mode rule (the Jacobian is diagonal).
//!
//! ```
//! use autograd::Tape;
//! let tape = Tape::<f64>::new();
//! let x = tape.var(0.5);
//! let y = x.tanh();
//! assert_eq!(y.backward().scalar(x), 1.0 - 0.5f64.tanh().powi(2)); // the rule `g * (1 - y * y)`
//! ```

use std::fmt;

use smallvec::smallvec;

use super::{InputGrads, Op, Primitive};
use crate::{kernels, Backend, Float, Operand, Value, Var};

/// The table. Each row: `Variant(payload): "kind" method(name) label(expr) fn(|x| f(x)) grad(|x, y, g| rule)`;
/// `method` and `label` are optional (the label defaults to the kind), and `grad(none)` marks a function whose
/// gradient is zero wherever it is defined.
macro_rules! unary_ops {
    ($(
        $(#[$doc:meta])*
        $variant:ident $(($($p:ident: $pt:ty),+))?: $kind:literal
            $(method($method:ident))?
            $(label($label:expr))?
            fn(|$x:ident| $f:expr)
            grad($($rule:tt)+);
    )*) => {
        /// An element-wise function of one operand.
        #[derive(Clone, Copy, Debug, PartialEq)]
        pub enum Unary<T> {
            $($(#[$doc])* $variant $(($($pt),+))?,)*
        }

        impl<T: Float> Unary<T> {
            /// The bits of the op's constants (zeros where it has fewer than two), to tell two ops apart.
            pub(crate) fn constants(self) -> [u64; 2] {
                match self {
                    $(Unary::$variant $(($($p),+))? => {
                        let constants: &[u64] = &[$($(crate::arith::Scalar::as_f64($p).to_bits()),+)?];
                        let mut bits = [0u64; 2];
                        bits[..constants.len()].copy_from_slice(constants);
                        bits
                    })*
                }
            }

            /// The function of one number.
            pub fn eval(self, value: T) -> T {
                match self {
                    $(Unary::$variant $(($($p),+))? => {
                        let $x = value;
                        $f
                    })*
                }
            }
        }

        impl<T: Float> Primitive<T> for Unary<T> {
            const KINDS: &'static [&'static str] = &[$($kind),*];

            fn kind(&self) -> &'static str {
                match self {
                    $(Unary::$variant { .. } => $kind,)*
                }
            }

            fn forward(&self, x: &[Operand<'_, T>]) -> Value<T> {
                // One arm per op, each with its own closure: each op gets its own, vectorised loop.
                match *self {
                    $(Unary::$variant $(($($p),+))? => kernels::map(x[0], |$x| $f),)*
                }
            }

            #[allow(unused_variables)]
            fn vjp<'a, B: Backend<T>>(
                &self,
                x: &[Var<'a, T, B>],
                y: Var<'a, T, B>,
                g: Var<'a, T, B>,
                _needs: &[bool],
            ) -> InputGrads<Var<'a, T, B>> {
                let x = x[0];
                let grad = match *self {
                    $(Unary::$variant $(($($p),+))? => unary_ops!(@grad x, y, g; $($rule)+),)*
                };
                smallvec![grad]
            }

            /// The same derivative as the backward rule: the Jacobian of an element-wise op is diagonal.
            #[allow(unused_variables)]
            fn jvp<'a, B: Backend<T>>(
                &self,
                x: &[Var<'a, T, B>],
                y: Var<'a, T, B>,
                dx: &[Option<Var<'a, T, B>>],
            ) -> Option<Var<'a, T, B>> {
                let (x, g) = (x[0], dx[0]?);
                match *self {
                    $(Unary::$variant $(($($p),+))? => unary_ops!(@grad x, y, g; $($rule)+),)*
                }
            }

            fn label(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match *self {
                    $(Unary::$variant $(($($p),+))? => unary_ops!(@label f, $kind $(, $label)?),)*
                }
            }
        }

        impl<'a, T: Float, B: Backend<T>> Var<'a, T, B> {
            $(unary_ops!(@method [$($method)?] $variant [$($($p: $pt),+)?] $(#[$doc])*);)*
        }
    };

    (@grad $x:ident, $y:ident, $g:ident; none) => { None };
    (@grad $x0:ident, $y0:ident, $g0:ident; |$x:ident, $y:ident, $g:ident| $rule:expr) => {{
        let ($x, $y, $g) = ($x0, $y0, $g0);
        Some($rule)
    }};
    (@label $f:ident, $kind:literal) => { $f.write_str($kind) };
    (@label $f:ident, $kind:literal, $label:expr) => { write!($f, "{}", $label) };
    (@method [] $($rest:tt)*) => {};
    (@method [$method:ident] $variant:ident [] $(#[$doc:meta])*) => {
        $(#[$doc])*
        #[track_caller]
        pub fn $method(self) -> Self {
            self.apply(Op::Unary(Unary::$variant))
        }
    };
    (@method [$method:ident] $variant:ident [$($p:ident: $pt:ty),+] $(#[$doc:meta])*) => {
        $(#[$doc])*
        #[track_caller]
        pub fn $method(self, $($p: $pt),+) -> Self {
            self.apply(Op::Unary(Unary::$variant($($p),+)))
        }
    };
}

unary_ops! {
    /// `−x`, drawn `×-1` as in the lecture.
    Neg: "neg" label("×-1") fn(|x| -x) grad(|x, y, g| -g);
    /// `eˣ`, element-wise.
    Exp: "exp" method(exp) fn(|x| x.exp()) grad(|x, y, g| g * y);
    /// The natural logarithm, element-wise.
    Log: "log" method(log) fn(|x| x.ln()) grad(|x, y, g| g / x);
    /// `1/x`, element-wise.
    Recip: "recip" method(recip) label("1/x") fn(|x| x.recip()) grad(|x, y, g| -g * y * y);
    /// `√x`, element-wise.
    Sqrt: "sqrt" method(sqrt) fn(|x| x.sqrt()) grad(|x, y, g| g / (y * 2));
    /// The sine, element-wise.
    Sin: "sin" method(sin) fn(|x| x.sin()) grad(|x, y, g| g * x.cos());
    /// The cosine, element-wise.
    Cos: "cos" method(cos) fn(|x| x.cos()) grad(|x, y, g| -g * x.sin());
    /// The tangent, element-wise.
    Tan: "tan" method(tan) fn(|x| x.tan()) grad(|x, y, g| g * (1 + y * y));
    /// The hyperbolic tangent, element-wise.
    Tanh: "tanh" method(tanh) fn(|x| x.tanh()) grad(|x, y, g| g * (1 - y * y));
    /// The logistic sigmoid `1 / (1 + e⁻ˣ)`, element-wise, as one node with the rule `g · y (1 − y)` (nn's
    /// composed sigmoid draws the lecture's four nodes instead).
    Sigmoid: "sigmoid" method(sigmoid) fn(|x| logistic(x)) grad(|x, y, g| g * y * (1 - y));
    /// `log(1 + eˣ)`, element-wise, without overflow for large `x`; its derivative is the sigmoid.
    Softplus: "softplus" method(softplus) fn(|x| x.max(T::zero()) + (-x.abs()).exp().ln_1p())
        grad(|x, y, g| g * x.sigmoid());
    /// `log(1 + x)`, element-wise, accurate for small `x`.
    Log1p: "log1p" method(log1p) fn(|x| x.ln_1p()) grad(|x, y, g| g / (x + 1));
    /// `eˣ − 1`, element-wise, accurate for small `x`.
    Expm1: "expm1" method(expm1) fn(|x| x.exp_m1()) grad(|x, y, g| g * (y + 1));
    /// `x²`, element-wise.
    Square: "square" method(square) label("²") fn(|x| x * x) grad(|x, y, g| g * x * 2);
    /// `xⁿ` element-wise, for an integer `n` of any sign (exact for negative `x`, unlike `powf`).
    Powi(n: i32): "powi" method(powi) label(format!("^{n}"))
        fn(|x| x.powi(n)) grad(|x, y, g| if n == 0 { g * T::zero() } else { g * x.powi(n - 1) * n });
    /// `x` limited to `[lo, hi]`, element-wise; the gradient passes where `lo ≤ x ≤ hi` (as in PyTorch).
    Clamp(lo: T, hi: T): "clamp" method(clamp) label(format!("clamp[{lo}, {hi}]"))
        fn(|x| x.max(lo).min(hi)) grad(|x, y, g| g.where_(x.ge(lo), 0).where_(x.le(hi), 0));
    /// `max(x, 0)`, element-wise; its derivative at 0 is taken as 0.
    Relu: "relu" method(relu) fn(|x| x.max(T::zero())) grad(|x, y, g| g.where_(x.gt(0), 0));
    /// `|x|`, element-wise; its derivative at 0 is taken as 0.
    Abs: "abs" method(abs) fn(|x| x.abs()) grad(|x, y, g| g * x.sign());
    /// The sign, element-wise: −1, 0 (at 0, and NaN for NaN) or 1. Its gradient is zero.
    Sign: "sign" method(sign) fn(|x| if x == T::zero() { x } else { x.signum() }) grad(none);
    /// The largest integer not above `x`, element-wise. Its gradient is zero.
    Floor: "floor" method(floor) fn(|x| x.floor()) grad(none);
    /// The smallest integer not below `x`, element-wise. Its gradient is zero.
    Ceil: "ceil" method(ceil) fn(|x| x.ceil()) grad(none);
    /// The nearest integer, halves to even (as NumPy and PyTorch round), element-wise. Its gradient is zero.
    Round: "round" method(round) fn(|x| x.round_half_even()) grad(none);
    /// `xᶜ` element-wise, for a constant exponent `c`.
    Powf(c: T): "powf" method(powf) label(format!("^{c}"))
        fn(|x| x.powf(c)) grad(|x, y, g| g * x.powf(c - T::one()) * c);
    /// `x + c` for a constant `c` (the operator `x + c`).
    AddScalar(c: T): "add_scalar" label(signed(c))
        fn(|x| x + c) grad(|x, y, g| g);
    /// `c − x` for a constant `c` (the operator `c - x`).
    RsubScalar(c: T): "rsub_scalar" label(format!("{c}−x"))
        fn(|x| c - x) grad(|x, y, g| -g);
    /// `x · c` for a constant `c` (the operator `x * c`).
    MulScalar(c: T): "mul_scalar" label(format!("×{c}"))
        fn(|x| x * c) grad(|x, y, g| g * c);
    /// `x / c` for a constant `c` (the operator `x / c`).
    DivScalar(c: T): "div_scalar" label(format!("÷{c}"))
        fn(|x| x / c) grad(|x, y, g| g / c);
}

/// The logistic function `1 / (1 + e⁻ˣ)`, branch-free so that it vectorises. It cannot overflow into a wrong
/// value: for very negative `x`, `e⁻ˣ` is `∞` and the result `1/∞ = 0`.
fn logistic<T: Float>(x: T) -> T {
    (T::one() + (-x).exp()).recip()
}

/// `+c` or `-c`, as the lecture labels adding a number.
fn signed<T: Float>(c: T) -> String {
    if c < T::zero() {
        format!("-{}", -c)
    } else {
        format!("+{c}")
    }
}
