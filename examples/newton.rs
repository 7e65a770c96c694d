//! Newton's method with second derivatives from the engine (the lecture's successor book, steps 29 and 33).
//!
//! 1. `y = x⁴ − 2x²` from `x = 2`: `x ← x − f'(x)/f''(x)`, with `f''` from differentiating `f'` again.
//! 2. The Rosenbrock function `(1 − x)² + 100 (y − x²)²` from `(0, 2)`: Newton steps `x ← x − H⁻¹∇f` with the
//!    Hessian from `autograd::func::hessian`, beside plain gradient descent (learning rate 0.001) run to the
//!    same tolerance.
//!
//! ```sh
//! cargo run --release --example newton
//! ```

use autograd::{func, Tape, Var};
use ndarray::{arr1, ArrayD};

/// The distance to the minimum at which both methods stop.
const TOLERANCE: f64 = 1e-10;

fn quartic<'t>(x: Var<'t, f64>) -> Var<'t, f64> {
    x.powf(4.0) - 2.0 * x * x
}

fn rosenbrock<'t>(v: &[Var<'t, f64>]) -> Var<'t, f64> {
    let (x, y) = (v[0].take_rows(&[0]), v[0].take_rows(&[1]));
    let one_minus_x = 1.0 - x;
    let valley = y - x * x;
    (one_minus_x * one_minus_x + valley * valley * 100.0).sum()
}

/// Newton's method on the quartic: the iterates, each from a tape of its own.
fn newton_quartic(x0: f64, steps: usize) -> Vec<f64> {
    let mut iterates = vec![x0];
    let mut x = x0;
    for _ in 0..steps {
        let tape = Tape::<f64>::new();
        let v = tape.var(x);
        let d1 = quartic(v).backward_graph()[v]; // f'(x) = 4x³ − 4x, a node
        let d2 = d1.backward().scalar(v); // f''(x) = 12x² − 4
        x -= d1.scalar() / d2;
        iterates.push(x);
        if (x - 1.0).abs() < TOLERANCE {
            break;
        }
    }
    iterates
}

/// Newton steps on Rosenbrock until within the tolerance of (1, 1); the points visited.
fn newton_rosenbrock(start: [f64; 2], max_steps: usize) -> Vec<[f64; 2]> {
    let mut p = start;
    let mut path = vec![p];
    for _ in 0..max_steps {
        let x: ArrayD<f64> = arr1(&p).into_dyn();
        let g = &func::grad(rosenbrock, std::slice::from_ref(&x))[0];
        let h = &func::hessian(rosenbrock, std::slice::from_ref(&x))[0][0];
        // Solve the 2 × 2 system H d = ∇f.
        let (a, b, c, d) = (h[[0, 0]], h[[0, 1]], h[[1, 0]], h[[1, 1]]);
        let det = a * d - b * c;
        let step = [(d * g[0] - b * g[1]) / det, (a * g[1] - c * g[0]) / det];
        p = [p[0] - step[0], p[1] - step[1]];
        path.push(p);
        if distance(p) < TOLERANCE {
            break;
        }
    }
    path
}

/// Gradient descent on Rosenbrock until within the tolerance of (1, 1): the number of steps.
fn descent_rosenbrock(start: [f64; 2], lr: f64, max_steps: usize) -> Option<usize> {
    let mut x = arr1(&start).into_dyn();
    for step in 1..=max_steps {
        let g = func::grad(rosenbrock, std::slice::from_ref(&x)).remove(0);
        x = x - g * lr;
        if distance([x[0], x[1]]) < TOLERANCE {
            return Some(step);
        }
    }
    None
}

fn distance(p: [f64; 2]) -> f64 {
    ((p[0] - 1.0).powi(2) + (p[1] - 1.0).powi(2)).sqrt()
}

fn main() {
    println!("Newton's method on y = x⁴ − 2x², from x = 2:");
    let iterates = newton_quartic(2.0, 20);
    for (k, x) in iterates.iter().enumerate() {
        println!("  {k}: {x}");
    }
    let steps = iterates.len() - 1;
    // The same iteration with the derivatives written by hand: f' = 4x³ − 4x, f'' = 12x² − 4.
    let mut by_hand = 2.0f64;
    for (k, &x) in iterates.iter().enumerate().skip(1) {
        by_hand -= (4.0 * by_hand.powi(3) - 4.0 * by_hand) / (12.0 * by_hand * by_hand - 4.0);
        assert!((x - by_hand).abs() < 1e-12, "step {k}: {x} != {by_hand}");
    }
    assert!(
        (iterates[1] - 16.0 / 11.0).abs() < 1e-15,
        "the first step is 16/11"
    );
    assert!(
        steps <= 7 && (iterates[steps] - 1.0).abs() < TOLERANCE,
        "Newton did not converge to 1 within 7 steps"
    );
    println!("  converged to 1 in {steps} steps");

    println!("\nRosenbrock from (0, 2), stopping within {TOLERANCE:e} of (1, 1):");
    let path = newton_rosenbrock([0.0, 2.0], 50);
    for (k, p) in path.iter().enumerate() {
        println!("  Newton {k}: ({:.12}, {:.12})", p[0], p[1]);
    }
    let newton_steps = path.len() - 1;
    assert!(
        newton_steps < 10 && distance(path[newton_steps]) < TOLERANCE,
        "Newton took {newton_steps} steps"
    );
    let descent =
        descent_rosenbrock([0.0, 2.0], 0.001, 200_000).expect("gradient descent converges");
    println!(
        "  Newton's method: {newton_steps} steps; gradient descent (lr 0.001): {descent} steps"
    );
    assert!(descent > 100 * newton_steps);
}

/// `cargo test` runs the example, with all its checks.
#[test]
fn its_checks_hold() {
    main();
}
