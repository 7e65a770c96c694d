//! The lecture's first computational graph: buying 2 apples at 100 each with 10% consumption tax.
//!
//! ```text
//! apple (100) ─┐
//!              ×── 200 ─┐
//! apple_num (2)┘        ×── 220 = price
//! tax (1.1) ────────────┘
//! ```
//!
//! Forward gives the price; backward gives how much the price moves per unit change of each input.
//!
//! Run: `cargo run --example apple`; add `--dot apple.dot` or `--svg apple.svg` to draw the graph with its
//! forward values above the arrows and the gradients below.

mod common;

use autograd::{dot::Dot, format_number as num, Tape};

fn main() {
    let files = common::GraphFiles::from_args();
    let tape = Tape::<f64>::new();
    let apple = tape.var_named("apple", 100.0);
    let apple_num = tape.var_named("apple_num", 2.0);
    let tax = tape.var_named("tax", 1.1);

    let price = (apple * apple_num * tax).set_name("price");
    let grads = price.backward();

    println!("price: {}", num(price.scalar()));
    println!("dApple: {}", num(grads.scalar(apple)));
    println!("dApple_num: {}", num(grads.scalar(apple_num)));
    println!("dTax: {}", num(grads.scalar(tax)));

    files.write(&Dot::new(&tape).output(price).gradients(&grads));
}
