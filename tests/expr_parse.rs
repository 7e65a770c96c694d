//! The expression language of `backprop draw`: how formulas are read (shown fully parenthesised), and the
//! columns of their errors.

use autograd::Tape;
use backprop::expr::{build, constant, parse, ExprError};

/// How `source` is read, fully parenthesised.
fn read(source: &str) -> String {
    parse(source)
        .unwrap_or_else(|e| panic!("{source}: {e}"))
        .body
        .to_string()
}

fn error(source: &str) -> ExprError {
    parse(source).expect_err(source)
}

fn value(source: &str) -> f64 {
    constant(&parse(source).unwrap().body).unwrap()
}

#[test]
fn precedence_products_before_sums_and_left_association() {
    assert_eq!(read("1 + 2 * 3"), "(1 + (2 * 3))");
    assert_eq!(read("1 * 2 + 3"), "((1 * 2) + 3)");
    assert_eq!(read("1 - 2 - 3"), "((1 - 2) - 3)");
    assert_eq!(read("8 / 4 / 2"), "((8 / 4) / 2)");
    assert_eq!(read("(1 + 2) * 3"), "((1 + 2) * 3)");
    assert_eq!(read("a*b + c*d"), "((a * b) + (c * d))");
    assert_eq!(value("8 / 4 / 2"), 1.0);
    assert_eq!(value("1 - 2 - 3"), -4.0);
}

#[test]
fn unary_minus() {
    assert_eq!(read("-x"), "(-x)");
    assert_eq!(read("--x"), "(-(-x))");
    assert_eq!(read("2 * -x"), "(2 * (-x))");
    assert_eq!(read("-x * y"), "((-x) * y)");
    assert_eq!(read("1 - -x"), "(1 - (-x))");
    assert_eq!(read("exp(-x)"), "exp((-x))");
}

#[test]
fn powers_bind_tighter_than_minus_and_associate_right() {
    assert_eq!(read("2^3^2"), "(2 ^ (3 ^ 2))");
    assert_eq!(value("2^3^2"), 512.0);
    assert_eq!(read("-x^2"), "(-(x ^ 2))");
    assert_eq!(value("-2^2"), -4.0);
    assert_eq!(read("(-x)^2"), "((-x) ^ 2)");
    assert_eq!(value("(-2)^2"), 4.0);
    assert_eq!(read("x^-1"), "(x ^ (-1))");
    assert_eq!(value("2^-1"), 0.5);
    assert_eq!(read("2*x^2"), "(2 * (x ^ 2))");
    assert_eq!(read("(x + y)^2"), "((x + y) ^ 2)");
}

#[test]
fn functions_numbers_and_names() {
    assert_eq!(read("1/(1+exp(-x))"), "(1 / (1 + exp((-x))))");
    assert_eq!(read("max(x, y + 1)"), "max(x, (y + 1))");
    assert_eq!(read("sigmoid(2*x)^2"), "(sigmoid((2 * x)) ^ 2)");
    assert_eq!(value("1e-3 + 2.5E+2 + .5"), 250.501);
    assert_eq!(value("cos(pi)"), -1.0);
    assert_eq!(value("log(e)"), 1.0);
    let f = parse("price = apple * apple_num * tax").unwrap();
    assert_eq!(f.name.as_deref(), Some("price"));
    assert_eq!(f.body.to_string(), "((apple * apple_num) * tax)");
}

#[test]
fn parse_errors_point_at_their_column() {
    let e = error("1 + * 2");
    assert_eq!(e.column, 5);
    assert_eq!(e.message, "expected a number, a name or `(` but found `*`");
    assert_eq!(
        e.pointed("1 + * 2"),
        "expected a number, a name or `(` but found `*` (column 5)\n  1 + * 2\n      ^"
    );
    let unclosed = error("(x + 1");
    assert_eq!(unclosed.column, 7);
    assert!(
        unclosed.message.contains("to close the `(` of column 1"),
        "{unclosed}"
    );
    assert_eq!(error("x + 1)").column, 6);
    assert!(error("x + 1)").message.contains("closes no `(`"));
    assert_eq!(error("2 $ x").column, 3);
    assert_eq!(error("2 $ x").message, "unexpected character `$`");
    assert_eq!(error("1..2").column, 1);
    assert_eq!(error("x y").column, 3);
    assert_eq!(error("").column, 1);
    assert_eq!(error("exp(x,)").column, 7);
    assert_eq!(error("f(x").column, 4);
    assert!(error("f(x").message.contains("the `(` of column 2"));
}

#[test]
fn evaluation_errors_point_at_their_column() {
    let fails = |source: &str, inputs: &[(&str, f64)]| {
        let tape = Tape::<f64>::new();
        let inputs: Vec<(String, f64)> = inputs.iter().map(|&(n, x)| (n.to_owned(), x)).collect();
        match build(&tape, &parse(source).unwrap(), &inputs) {
            Ok(_) => panic!("{source} should not evaluate"),
            Err(e) => e,
        }
    };
    let unknown = fails("2 * foo(x)", &[("x", 1.0)]);
    assert_eq!(unknown.column, 5);
    assert!(unknown
        .message
        .starts_with("unknown function `foo`; the functions are exp, log"));
    let arity = fails("exp(x, x)", &[("x", 1.0)]);
    assert_eq!(
        (arity.column, arity.message.as_str()),
        (1, "`exp` takes 1 argument, not 2")
    );
    let name = fails("x + y", &[("x", 1.0)]);
    assert_eq!(
        (name.column, name.message.as_str()),
        (5, "`y` has no value: give it one as an input, e.g. y=1")
    );
    let nan = fails("1 + log(x)", &[("x", -1.0)]);
    assert_eq!(
        (nan.column, nan.message.as_str()),
        (5, "this gives NaN here")
    );
    let inf = fails("2 + 1/x", &[("x", 0.0)]);
    assert_eq!(
        (inf.column, inf.message.as_str()),
        (6, "this gives inf here")
    );
    assert_eq!(fails("2 * 3", &[]).column, 3);
}

#[test]
fn the_lecture_graphs_are_recorded_node_for_node() {
    let tape = Tape::<f64>::new();
    let built = build(
        &tape,
        &parse("1/(1+exp(-x))").unwrap(),
        &[("x".into(), 0.0)],
    )
    .unwrap();
    // x, ×-1, exp, +1, 1/x: the lecture's sigmoid graph.
    let ops: Vec<String> = (1..tape.len())
        .map(|i| tape.node(i).op().to_string())
        .collect();
    assert_eq!(ops, ["×-1", "exp", "+1", "1/x"]);
    assert_eq!(built.columns, [0, 10, 6, 5, 2]); // the columns of -, exp, + and /
    assert_eq!(built.output.backward().scalar(built.inputs[0].1), 0.25);
}

/// Formulas nested or long enough to exhaust the stack are refused with an error at a column, not a crash.
#[test]
fn formulas_too_deep_or_too_long_are_errors() {
    use backprop::expr::{MAX_DEPTH, MAX_TOKENS};
    let deep = format!("{}x{}", "(".repeat(900), ")".repeat(900));
    let e = error(&deep);
    assert!(
        e.message
            .contains(&format!("nests deeper than {MAX_DEPTH} levels")),
        "{}",
        e.message
    );
    assert_eq!(e.column, MAX_DEPTH + 1, "the first `(` past the limit");
    let signs = format!("{}x", "-".repeat(500));
    assert!(error(&signs).message.contains("nests deeper"));
    let long = vec!["x"; 100_000].join("+");
    let e = error(&long);
    assert!(
        e.message
            .contains(&format!("longer than {MAX_TOKENS} tokens")),
        "{}",
        e.message
    );
    assert_eq!(e.column, MAX_TOKENS + 1);
    // Just inside both limits, the formula is read.
    let nested = format!(
        "{}x{}",
        "(".repeat(MAX_DEPTH - 1),
        ")".repeat(MAX_DEPTH - 1)
    );
    assert_eq!(read(&nested), "x");
}
