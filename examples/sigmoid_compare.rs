//! Composed vs fused sigmoid on the same random batch.
//!
//! The composed layer is the lecture's graph of four primitive nodes (`×-1 → exp → +1 → 1/x`) differentiated
//! by the chain rule; the fused layer is one node whose backward rule is the hand-derived `dout·y·(1−y)`. Both
//! get the same batch and the same upstream gradient; the example prints their graphs' nodes and how far
//! their outputs and gradients differ.
//!
//! ```text
//! cargo run --example sigmoid_compare
//! cargo run --example sigmoid_compare -- --dot sigmoid   # also writes sigmoid-composed.dot, sigmoid-fused.dot
//! ```

use autograd::dot::Dot;
use autograd::{Tape, Var};
use ndarray::{Array2, ArrayD};
use nn::layers::{composed, fused};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// What one run of a sigmoid layer produced.
struct Run {
    nodes: Vec<String>,
    /// The graph with forward and backward values, in Graphviz DOT.
    dot: String,
    y: ArrayD<f64>,
    dx: ArrayD<f64>,
}

/// Runs `layer` on `x` on a fresh tape and backpropagates `dout` through it.
fn run(
    layer: for<'t> fn(Var<'t, f64>) -> Var<'t, f64>,
    x: &Array2<f64>,
    dout: &Array2<f64>,
) -> Run {
    let tape = Tape::new();
    let xv = tape.var_named("x", x.clone());
    let y = layer(xv);
    let grads = y.backward_with_seed(dout.clone());
    let nodes = (0..tape.len())
        .map(|i| {
            let node = tape.node(i);
            node.name().unwrap_or_else(|| node.op().to_string())
        })
        .collect();
    Run {
        nodes,
        dot: Dot::new(&tape).output(y).gradients(&grads).render(),
        y: y.value(),
        dx: grads[xv].view().to_owned(),
    }
}

fn max_abs_diff(a: &ArrayD<f64>, b: &ArrayD<f64>) -> f64 {
    a.iter()
        .zip(b)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max)
}

fn main() {
    let mut rng = StdRng::seed_from_u64(2024);
    let x = Array2::from_shape_fn((4, 5), |_| rng.random_range(-4.0..4.0));
    let dout = Array2::from_shape_fn((4, 5), |_| rng.random_range(-1.0..1.0));

    let composed = run(composed::sigmoid, &x, &dout);
    let fused = run(fused::sigmoid, &x, &dout);

    println!(
        "Sigmoid on a random 4×5 batch (f64), backpropagating a random upstream gradient dout\n"
    );
    for (name, r) in [("composed", &composed), ("fused", &fused)] {
        println!(
            "{name:>8}: {} nodes: {}",
            r.nodes.len(),
            r.nodes.join(" → ")
        );
    }
    println!();
    println!(
        "max |y(composed) − y(fused)|   = {:.3e}",
        max_abs_diff(&composed.y, &fused.y)
    );
    println!(
        "max |dx(composed) − dx(fused)| = {:.3e}",
        max_abs_diff(&composed.dx, &fused.dx)
    );

    let mut args = std::env::args().skip(1);
    match (args.next().as_deref(), args.next(), args.next()) {
        (None, ..) => {}
        (Some("--dot"), Some(prefix), None) => {
            for (name, r) in [("composed", &composed), ("fused", &fused)] {
                let path = format!("{prefix}-{name}.dot");
                if let Err(e) = std::fs::write(&path, &r.dot) {
                    eprintln!("error: {path}: {e}");
                    std::process::exit(1);
                }
                println!("wrote {path}");
            }
        }
        _ => {
            eprintln!("usage: sigmoid_compare [--dot PREFIX]");
            std::process::exit(2);
        }
    }
}
