//! The first `n` derivatives of `tanh(x)` by differentiating the gradient graph again and again, checked
//! against their closed forms, with the size of each order's graph — and, with `--dot DIR` or `--svg DIR`, a
//! drawing of each (the picture of how the graph grows, as in the lecture's successor book, step 35).
//!
//! Closed forms: every derivative is a polynomial in `t = tanh x`, since `d/dx P(t) = P'(t) (1 − t²)`.
//!
//! ```sh
//! cargo run --release --example tanh_derivatives -- [N] [--dot DIR | --svg DIR]
//! ```

use std::path::PathBuf;

use autograd::{dot::Dot, Tape, Var};

/// The point where the derivatives are evaluated.
const X: f64 = 0.5;

/// The coefficients (lowest power first) of `P_{k+1}(t) = P_k'(t) (1 − t²)`.
fn next(p: &[f64]) -> Vec<f64> {
    let derivative: Vec<f64> = (1..p.len()).map(|i| i as f64 * p[i]).collect();
    let mut out = vec![0.0; derivative.len() + 2];
    for (i, &c) in derivative.iter().enumerate() {
        out[i] += c;
        out[i + 2] -= c;
    }
    out
}

fn eval(p: &[f64], t: f64) -> f64 {
    p.iter().rev().fold(0.0, |acc, &c| acc * t + c)
}

fn main() {
    run(std::env::args().skip(1));
}

/// The example with its command-line arguments (after the program's name).
fn run(mut args: impl Iterator<Item = String>) {
    let mut orders = 6;
    let mut out: Option<(PathBuf, bool)> = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--dot" | "--svg" => {
                let dir = args
                    .next()
                    .unwrap_or_else(|| fail(&format!("{arg} needs a directory")));
                out = Some((PathBuf::from(dir), arg == "--svg"));
            }
            n => {
                orders = n
                    .parse()
                    .unwrap_or_else(|_| fail(&format!("not a number of orders: {n}")))
            }
        }
    }
    if let Some((dir, _)) = &out {
        std::fs::create_dir_all(dir).unwrap_or_else(|e| fail(&format!("{}: {e}", dir.display())));
    }

    let tape = Tape::<f64>::new();
    let x = tape.var_named("x", X);
    let mut y: Var<'_, f64> = x.tanh();
    let mut closed = vec![0.0, 1.0]; // P₀(t) = t
    let t = X.tanh();
    println!("order | value at x = {X} | closed form | nodes in this order's graph");
    let mut before = tape.len();
    for order in 1..=orders {
        y = y.backward_graph()[x];
        closed = next(&closed);
        let expected = eval(&closed, t);
        let nodes = tape.len() - before;
        before = tape.len();
        println!(
            "{order:>5} | {:>+18.12} | {:>+11.12} | {nodes}",
            y.scalar(),
            expected
        );
        assert!(
            (y.scalar() - expected).abs() <= 1e-10 * expected.abs().max(1.0),
            "order {order}: {} != {expected}",
            y.scalar()
        );
        if let Some((dir, svg)) = &out {
            let drawing = Dot::new(&tape).output(y.set_name(&format!("d{order}")));
            let path = dir.join(format!(
                "tanh_order_{order}.{}",
                if *svg { "svg" } else { "dot" }
            ));
            let written = if *svg {
                drawing.write_svg(&path)
            } else {
                drawing.write(&path)
            };
            written.unwrap_or_else(|e| fail(&e.to_string()));
            println!("      wrote {}", path.display());
        }
    }
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(2)
}

/// `cargo test` runs the example, with all its checks.
#[test]
fn its_checks_hold() {
    run(["8"].map(String::from).into_iter());
}
