//! Evaluating a formula on a tape: each operator and function becomes the engine's op, so that the tape
//! records the lecture's graph (`1/(1+exp(-x))` records `×-1`, `exp`, `+1`, `1/x`). Arithmetic on numbers
//! alone is folded (`2*3` is 6), and a number next to an input becomes a scalar op (`x + 1` is one `+1` node).

use autograd::{format_number, Tape, Var};

use super::{BinOp, Expr, ExprError, Formula, Kind, FUNCTIONS};

/// A formula recorded on a tape.
pub struct Built<'t> {
    /// The result.
    pub output: Var<'t, f64>,
    /// The inputs as given, with their leaves.
    pub inputs: Vec<(String, Var<'t, f64>)>,
    /// For each node of the tape, the column of the expression that recorded it.
    pub columns: Vec<usize>,
}

/// A value while evaluating: a plain number, or a node.
#[derive(Clone, Copy)]
enum Value<'t> {
    Number(f64),
    Node(Var<'t, f64>),
}

/// Records `formula` on `tape` with `inputs` (name, value) as named variables, and names the result.
///
/// ```
/// use autograd::Tape;
/// use backprop::expr::{build, parse};
/// let tape = Tape::<f64>::new();
/// let built = build(&tape, &parse("(x + y)^2")?, &[("x".into(), 1.0), ("y".into(), 2.0)])?;
/// let grads = built.output.backward();
/// assert_eq!((built.output.scalar(), grads.scalar(built.inputs[0].1)), (9.0, 6.0));
/// # Ok::<(), backprop::expr::ExprError>(())
/// ```
///
/// # Errors
/// At the column of a name that is neither an input nor a constant, an unknown function or a wrong number of
/// arguments, a value that is not finite (`log(-1)`), or a result that does not depend on any input.
pub fn build<'t>(
    tape: &'t Tape<f64>,
    formula: &Formula,
    inputs: &[(String, f64)],
) -> Result<Built<'t>, ExprError> {
    let vars: Vec<(String, Var<'t, f64>)> = inputs
        .iter()
        .map(|(name, x)| (name.clone(), tape.var_named(name, *x)))
        .collect();
    let mut eval = Eval {
        tape,
        inputs: &vars,
        columns: vec![0; tape.len()],
    };
    let output = match eval.value(&formula.body)? {
        Value::Node(v) => v,
        Value::Number(_) => {
            return Err(ExprError::new(
                formula.body.column,
                "the formula depends on no input, so there is nothing to differentiate",
            ))
        }
    };
    // An input that is the whole formula keeps its own name.
    if !vars.iter().any(|(_, v)| v.id() == output.id()) {
        output.set_name(formula.name.as_deref().unwrap_or("f"));
    }
    let columns = eval.columns;
    Ok(Built {
        output,
        inputs: vars,
        columns,
    })
}

/// The value of a formula made of numbers and the constants `pi` and `e` only, e.g. an input's `pi/4`.
///
/// ```
/// use backprop::expr::{constant, parse};
/// assert_eq!(constant(&parse("2^-1")?.body)?, 0.5);
/// assert!(constant(&parse("2*x")?.body).is_err());
/// # Ok::<(), backprop::expr::ExprError>(())
/// ```
///
/// # Errors
/// As [`build`] with no inputs.
pub fn constant(expr: &Expr) -> Result<f64, ExprError> {
    let tape = Tape::<f64>::new();
    let mut eval = Eval {
        tape: &tape,
        inputs: &[],
        columns: Vec::new(),
    };
    match eval.value(expr)? {
        Value::Number(x) => Ok(x),
        Value::Node(_) => unreachable!("without inputs there are no nodes"),
    }
}

/// A function of one argument, on a number and on a node.
type Function<'t> = (fn(f64) -> f64, fn(Var<'t, f64>) -> Var<'t, f64>);

struct Eval<'t, 'i> {
    tape: &'t Tape<f64>,
    inputs: &'i [(String, Var<'t, f64>)],
    columns: Vec<usize>,
}

impl<'t> Eval<'t, '_> {
    /// Evaluates `e`, noting its column for the nodes it recorded, and checks that the value is finite.
    fn value(&mut self, e: &Expr) -> Result<Value<'t>, ExprError> {
        let v = self.compute(e)?;
        self.columns.resize(self.tape.len(), e.column);
        let x = match v {
            Value::Number(x) => x,
            Value::Node(node) => node.scalar(),
        };
        if !x.is_finite() {
            return Err(ExprError::new(
                e.column,
                format!("this gives {} here", format_number(x)),
            ));
        }
        Ok(v)
    }

    fn compute(&mut self, e: &Expr) -> Result<Value<'t>, ExprError> {
        Ok(match &e.kind {
            Kind::Number(x) => Value::Number(*x),
            Kind::Name(name) => self.name(name, e.column)?,
            Kind::Neg(a) => match self.value(a)? {
                Value::Number(x) => Value::Number(-x),
                Value::Node(a) => Value::Node(-a),
            },
            Kind::Binary(op, a, b) => {
                let (a, b) = (self.value(a)?, self.value(b)?);
                self.binary(*op, a, b)
            }
            Kind::Call(name, args) => {
                let Some(&(_, arity, _)) = FUNCTIONS.iter().find(|f| f.0 == name) else {
                    let known: Vec<&str> = FUNCTIONS.iter().map(|f| f.0).collect();
                    return Err(ExprError::new(
                        e.column,
                        format!(
                            "unknown function `{name}`; the functions are {}",
                            known.join(", ")
                        ),
                    ));
                };
                if args.len() != arity {
                    let s = if arity == 1 { "" } else { "s" };
                    return Err(ExprError::new(
                        e.column,
                        format!("`{name}` takes {arity} argument{s}, not {}", args.len()),
                    ));
                }
                let args = args
                    .iter()
                    .map(|a| self.value(a))
                    .collect::<Result<Vec<_>, _>>()?;
                self.call(name, &args)
            }
        })
    }

    fn name(&self, name: &str, column: usize) -> Result<Value<'t>, ExprError> {
        if let Some((_, v)) = self.inputs.iter().find(|(n, _)| n == name) {
            return Ok(Value::Node(*v));
        }
        match name {
            "pi" => Ok(Value::Number(std::f64::consts::PI)),
            "e" => Ok(Value::Number(std::f64::consts::E)),
            _ => Err(ExprError::new(
                column,
                format!("`{name}` has no value: give it one as an input, e.g. {name}=1"),
            )),
        }
    }

    fn binary(&self, op: BinOp, a: Value<'t>, b: Value<'t>) -> Value<'t> {
        use Value::{Node, Number};
        match (op, a, b) {
            (BinOp::Add, Number(a), Number(b)) => Number(a + b),
            (BinOp::Add, Node(a), Number(c)) | (BinOp::Add, Number(c), Node(a)) => Node(a + c),
            (BinOp::Add, Node(a), Node(b)) => Node(a + b),
            (BinOp::Sub, Number(a), Number(b)) => Number(a - b),
            (BinOp::Sub, Node(a), Number(c)) => Node(a - c),
            (BinOp::Sub, Number(c), Node(b)) => Node(c - b),
            (BinOp::Sub, Node(a), Node(b)) => Node(a - b),
            (BinOp::Mul, Number(a), Number(b)) => Number(a * b),
            (BinOp::Mul, Node(a), Number(c)) | (BinOp::Mul, Number(c), Node(a)) => Node(a * c),
            (BinOp::Mul, Node(a), Node(b)) => Node(a * b),
            (BinOp::Div, Number(a), Number(b)) => Number(a / b),
            (BinOp::Div, Node(a), Number(c)) => Node(a / c),
            (BinOp::Div, Number(c), Node(b)) => Node(c / b),
            (BinOp::Div, Node(a), Node(b)) => Node(a / b),
            (BinOp::Pow, Number(a), Number(b)) => Number(a.powf(b)),
            (BinOp::Pow, Node(a), Number(c)) => Node(a.powf(c)),
            // A variable exponent: a^b = exp(b·ln a), drawn as one `^` box unless expanded.
            (BinOp::Pow, Number(c), Node(b)) => Node(self.tape.group("^", || (b * c.ln()).exp())),
            (BinOp::Pow, Node(a), Node(b)) => Node(self.tape.group("^", || (b * a.log()).exp())),
        }
    }

    fn call(&self, name: &str, args: &[Value<'t>]) -> Value<'t> {
        use Value::{Node, Number};
        let unary: Function<'t> = match name {
            "exp" => (f64::exp, Var::exp),
            "log" | "ln" => (f64::ln, Var::log),
            "sqrt" => (f64::sqrt, Var::sqrt),
            "sin" => (f64::sin, Var::sin),
            "cos" => (f64::cos, Var::cos),
            "tanh" => (f64::tanh, Var::tanh),
            "relu" => (|x| x.max(0.0), Var::relu),
            "abs" => (f64::abs, Var::abs),
            "sigmoid" => (nn::functions::sigmoid, nn::layers::composed::sigmoid),
            "max" | "min" => return self.extremum(name == "max", args[0], args[1]),
            _ => unreachable!("`{name}` is in FUNCTIONS"),
        };
        match args[0] {
            Number(x) => Number(unary.0(x)),
            Node(x) => Node(unary.1(x)),
        }
    }

    fn extremum(&self, max: bool, a: Value<'t>, b: Value<'t>) -> Value<'t> {
        use Value::{Node, Number};
        match (a, b) {
            (Number(a), Number(b)) => Number(if max { a.max(b) } else { a.min(b) }),
            (Node(a), b) | (b, Node(a)) => {
                let b = match b {
                    Number(c) => a.constant_like(c),
                    Node(b) => b,
                };
                Node(if max { a.maximum(b) } else { a.minimum(b) })
            }
        }
    }
}
