//! `sin` by its Taylor series, `Σ (−1)ⁱ x²ⁱ⁺¹ / (2i+1)!` until a term is below a threshold, beside the
//! primitive `sin` (the lecture's successor book, step 27): the values, the gradients (the series'
//! derivative, found by backpropagation through every term), and how many nodes each records.
//!
//! ```sh
//! cargo run --release --example taylor_sin
//! ```

use autograd::{Tape, Var};

/// `sin x` from its Taylor series: terms are added while they exceed `threshold` in magnitude.
fn taylor_sin<'t>(x: Var<'t, f64>, threshold: f64) -> Var<'t, f64> {
    let mut y = x * 0.0;
    let mut factorial = 1.0;
    for i in 0..50 {
        if i > 0 {
            factorial *= ((2 * i) * (2 * i + 1)) as f64;
        }
        let term = x.powf((2 * i + 1) as f64) * ((-1f64).powi(i) / factorial);
        y += term;
        if term.scalar().abs() < threshold {
            break;
        }
    }
    y
}

fn main() {
    println!("      x | series sin(x) | primitive sin(x) | series d/dx | primitive cos(x) | nodes (series, primitive)");
    for &x0 in &[0.0, std::f64::consts::FRAC_PI_4, 1.0, 2.5, -3.0] {
        let series_tape = Tape::<f64>::new();
        let x = series_tape.var(x0);
        let series = taylor_sin(x, 1e-12);
        let series_grad = series.backward().scalar(x);

        let tape = Tape::<f64>::new();
        let xp = tape.var(x0);
        let primitive = xp.sin();
        let primitive_grad = primitive.backward().scalar(xp);

        println!(
            "{x0:>+7.4} | {:>+13.10} | {:>+16.10} | {:>+11.10} | {:>+16.10} | {}, {}",
            series.scalar(),
            primitive.scalar(),
            series_grad,
            primitive_grad,
            series_tape.len(),
            tape.len()
        );
        assert!((series.scalar() - primitive.scalar()).abs() < 1e-10);
        assert!((series_grad - primitive_grad).abs() < 1e-10);
        assert!((primitive_grad - x0.cos()).abs() < 1e-15);
    }
}

/// `cargo test` runs the example, with all its checks.
#[test]
fn its_checks_hold() {
    main();
}
