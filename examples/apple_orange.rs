//! The lecture's second graph: 2 apples at 100 and 3 oranges at 150, both taxed at 10%.
//!
//! ```text
//! apple (100) ──┐
//!               ×── 200 ──┐
//! apple_num (2) ┘         +── 650 ──┐
//! orange (150) ─┐         │         ×── 715 = price
//!               ×── 450 ──┘         │
//! orange_num (3)┘                   │
//! tax (1.1) ────────────────────────┘
//! ```
//!
//! An add node passes its gradient through unchanged; a multiply node sends each input the gradient times the
//! *other* input.
//!
//! Run: `cargo run --example apple_orange`; add `--dot apple_orange.dot` or `--svg apple_orange.svg` to draw
//! the graph with its forward values above the arrows and the gradients below (`docs/apple_orange.svg`),
//! `--steps DIR` for the lecture's slides of the backward pass (one SVG per step), or `--html FILE` for a
//! page that steps through both passes.

mod common;

use autograd::{dot::Dot, format_number as num, Tape};

fn main() {
    let files = common::GraphFiles::from_args();
    let tape = Tape::<f64>::new();
    let apple = tape.var_named("apple", 100.0);
    let apple_num = tape.var_named("apple_num", 2.0);
    let orange = tape.var_named("orange", 150.0);
    let orange_num = tape.var_named("orange_num", 3.0);
    let tax = tape.var_named("tax", 1.1);

    let apple_price = apple * apple_num;
    let orange_price = orange * orange_num;
    let price = ((apple_price + orange_price) * tax).set_name("price");
    let grads = price.backward();

    println!("price: {}", num(price.scalar()));
    println!("dApple: {}", num(grads.scalar(apple)));
    println!("dApple_num: {}", num(grads.scalar(apple_num)));
    println!("dOrange: {}", num(grads.scalar(orange)));
    println!("dOrange_num: {}", num(grads.scalar(orange_num)));
    println!("dTax: {}", num(grads.scalar(tax)));

    files.write(&Dot::new(&tape).output(price).gradients(&grads));
}
