//! A small expression language over the engine's scalar ops, for drawing any formula:
//! `1/(1+exp(-x))`, `(x + y)^2`, `price = apple * apple_num * tax`.
//!
//! - numbers (`2`, `0.5`, `1e-3`), the constants `pi` and `e`, and named inputs (`x`, `apple_num`);
//! - `+ -` below `* /` below unary minus below `^`, which is right-associative: `2^3^2` is `2^(3^2)` and
//!   `-x^2` is `-(x^2)`, as in mathematics;
//! - functions: see [`FUNCTIONS`];
//! - optionally a name for the result first: `price = …`.
//!
//! ```
//! use backprop::expr::parse;
//! let formula = parse("y = -x^2 + 2*x")?;
//! assert_eq!(formula.name.as_deref(), Some("y"));
//! assert_eq!(formula.body.to_string(), "((-(x ^ 2)) + (2 * x))");
//! # Ok::<(), backprop::expr::ExprError>(())
//! ```

mod eval;
mod parse;

use std::fmt;

pub use eval::{build, constant, Built};
pub use parse::{parse, MAX_DEPTH, MAX_TOKENS};

/// The functions a formula may call, with their number of arguments and what they do.
pub const FUNCTIONS: &[(&str, usize, &str)] = &[
    ("exp", 1, "e to the x"),
    ("log", 1, "natural logarithm (also `ln`)"),
    ("ln", 1, "natural logarithm"),
    ("sqrt", 1, "square root"),
    ("sin", 1, "sine"),
    ("cos", 1, "cosine"),
    ("tanh", 1, "hyperbolic tangent"),
    ("relu", 1, "max(x, 0)"),
    ("abs", 1, "absolute value"),
    (
        "sigmoid",
        1,
        "1/(1+exp(-x)), drawn as one box unless expanded",
    ),
    ("max", 2, "the larger of two"),
    ("min", 2, "the smaller of two"),
];

/// A parsed formula: an optional name for its result, and its expression.
#[derive(Clone, Debug, PartialEq)]
pub struct Formula {
    /// The name before `=`, if any: it labels the output arrow and the printed results.
    pub name: Option<String>,
    /// The expression.
    pub body: Expr,
}

/// An expression with the columns it spans in the source (counted in characters from 1).
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    /// What it is.
    pub kind: Kind,
    /// The first column of its text (of the operator, for a binary operation).
    pub column: usize,
}

/// The kinds of expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    /// A number literal.
    Number(f64),
    /// A named input, or the constant `pi` or `e`.
    Name(String),
    /// `-a`.
    Neg(Box<Expr>),
    /// `a op b`.
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `f(a, …)`.
    Call(String, Vec<Expr>),
}

/// The binary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `^`
    Pow,
}

impl BinOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Pow => "^",
        }
    }
}

/// Fully parenthesised, to show how a formula was read: `-x^2` displays as `(-(x ^ 2))`.
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Number(x) => write!(f, "{x}"),
            Kind::Name(name) => f.write_str(name),
            Kind::Neg(a) => write!(f, "(-{a})"),
            Kind::Binary(op, a, b) => write!(f, "({a} {} {b})", op.symbol()),
            Kind::Call(name, args) => {
                write!(f, "{name}(")?;
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{a}")?;
                }
                f.write_str(")")
            }
        }
    }
}

/// A problem with a formula, at a column of its text (counted in characters from 1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExprError {
    /// Where the problem is.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl ExprError {
    pub(crate) fn new(column: usize, message: impl Into<String>) -> Self {
        ExprError {
            column,
            message: message.into(),
        }
    }

    /// The message, then the formula and a caret under the column, as the `backprop` command prints it.
    ///
    /// ```
    /// use backprop::expr::parse;
    /// let e = parse("1 + * 2").unwrap_err();
    /// assert_eq!(e.pointed("1 + * 2"), "expected a number, a name or `(` but found `*` (column 5)\n  1 + * 2\n      ^");
    /// ```
    pub fn pointed(&self, source: &str) -> String {
        let pad = " ".repeat(self.column.saturating_sub(1) + 2);
        format!("{self}\n  {source}\n{pad}^")
    }
}

impl fmt::Display for ExprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (column {})", self.message, self.column)
    }
}

impl std::error::Error for ExprError {}
