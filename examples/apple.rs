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
//! Run: `cargo run --example apple`

use autograd::{format_number as num, Tape};

fn main() {
    let tape = Tape::<f64>::new();
    let apple = tape.var_named("apple", 100.0);
    let apple_num = tape.var_named("apple_num", 2.0);
    let tax = tape.var_named("tax", 1.1);

    let price = apple * apple_num * tax;
    let grads = price.backward();

    println!("price: {}", num(price.scalar()));
    println!("dApple: {}", num(grads.scalar(apple)));
    println!("dApple_num: {}", num(grads.scalar(apple_num)));
    println!("dTax: {}", num(grads.scalar(tax)));
}
