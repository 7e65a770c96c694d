//! The chain rule on `z = (x + y)²`: `t = x + y`, `z = t²`, so `∂z/∂x = ∂z/∂t · ∂t/∂x = 2t · 1 = 2(x + y)`.
//!
//! The first derivative is computed as graph nodes (`backward_graph`), so it can be differentiated again:
//! `∂²z/∂x² = 2`.
//!
//! Run: `cargo run --example chain_rule`; add `--dot chain_rule.dot` or `--svg chain_rule.svg` to draw
//! `z = t · t` with its forward values above the arrows and the first-order gradients below.

mod common;

use autograd::{dot::Dot, format_number as num, Tape};

fn main() {
    let files = common::GraphFiles::from_args();
    let (x0, y0) = (3.0, 4.0);
    let tape = Tape::<f64>::new();
    let x = tape.var_named("x", x0);
    let y = tape.var_named("y", y0);

    let t = (x + y).set_name("t");
    let z = (t * t).set_name("z");

    let dz = z.backward_graph();
    let dz_dx = dz[x];
    let d2z_dx2 = dz_dx.backward().scalar(x);

    println!("z = (x + y)^2 at x = {}, y = {}", num(x0), num(y0));
    println!("z: {}", num(z.scalar()));
    println!(
        "dz/dx: {}  (2(x + y) = {})",
        num(dz_dx.scalar()),
        num(2.0 * (x0 + y0))
    );
    println!("dz/dy: {}", num(dz[y].scalar()));
    println!("d2z/dx2: {}  (expected 2)", num(d2z_dx2));
    assert_eq!(dz_dx.scalar(), 2.0 * (x0 + y0), "dz/dx must be 2(x + y)");
    assert_eq!(d2z_dx2, 2.0, "d2z/dx2 must be 2");

    // The drawing shows the forward graph with first-order gradients: each use of t gets t = 7 back, which add
    // up to 2t = 14 at t and flow on to x and y.
    files.write(&Dot::new(&tape).output(z).gradients(&z.backward()));
}
