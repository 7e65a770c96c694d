//! The lecture's worked examples as exact tests in `f64`: the apple shopping graph, apples and oranges, and the
//! chain rule on `z = (x + y)²` (first and second derivative).

mod common;

use autograd::Tape;
use common::assert_near;

/// Floating-point tolerance for the lecture's decimal numbers (1.1 is not exact in binary).
const TOL: f64 = 1e-9;

/// 2 apples at 100 each, tax 1.1: price 220; d/dapple 2.2, d/dapple_num 110, d/dtax 200.
#[test]
fn apple() {
    let tape = Tape::<f64>::new();
    let common::Apple {
        apple,
        apple_num,
        tax,
        apple_price,
        price,
    } = common::apple(&tape);
    assert_near(apple_price.scalar(), 200.0, TOL);
    assert_near(price.scalar(), 220.0, TOL);

    let grads = price.backward();
    assert_near(grads.scalar(price), 1.0, TOL);
    assert_near(grads.scalar(apple_price), 1.1, TOL);
    assert_near(grads.scalar(apple), 2.2, TOL);
    assert_near(grads.scalar(apple_num), 110.0, TOL);
    assert_near(grads.scalar(tax), 200.0, TOL);
    assert_eq!(apple.name().as_deref(), Some("apple"));
}

/// 2 apples at 100, 3 oranges at 150, tax 1.1: price 715; d/dapple 2.2, d/dapple_num 110, d/dorange 3.3,
/// d/dorange_num 165, d/dtax 650.
#[test]
fn apple_and_orange() {
    let tape = Tape::<f64>::new();
    let common::AppleOrange {
        apple,
        apple_num,
        orange,
        orange_num,
        tax,
        apple_price,
        orange_price,
        all_price,
        price,
    } = common::apple_orange(&tape);
    assert_near(apple_price.scalar(), 200.0, TOL);
    assert_near(orange_price.scalar(), 450.0, TOL);
    assert_near(all_price.scalar(), 650.0, TOL);
    assert_near(price.scalar(), 715.0, TOL);

    let grads = price.backward();
    assert_near(grads.scalar(all_price), 1.1, TOL);
    assert_near(grads.scalar(apple_price), 1.1, TOL);
    assert_near(grads.scalar(orange_price), 1.1, TOL);
    assert_near(grads.scalar(apple), 2.2, TOL);
    assert_near(grads.scalar(apple_num), 110.0, TOL);
    assert_near(grads.scalar(orange), 3.3, TOL);
    assert_near(grads.scalar(orange_num), 165.0, TOL);
    assert_near(grads.scalar(tax), 650.0, TOL);
}

/// The chain rule: `z = t²` with `t = x + y`, so `dz/dx = dz/dt · dt/dx = 2t · 1 = 2(x + y)`, and
/// `d²z/dx² = 2`, written both as `t·t` and as `t.powf(2)`.
#[test]
fn chain_rule_square_of_a_sum() {
    for (x0, y0) in [(3.0, 4.0), (-1.5, 0.25)] {
        for use_powf in [false, true] {
            let tape = Tape::<f64>::new();
            let (x, y) = (tape.var_named("x", x0), tape.var_named("y", y0));
            let t = x + y;
            let z = if use_powf { t.powf(2.0) } else { t * t };
            assert_near(z.scalar(), (x0 + y0) * (x0 + y0), TOL);

            let grads = z.backward();
            assert_near(grads.scalar(t), 2.0 * (x0 + y0), TOL);
            assert_near(grads.scalar(x), 2.0 * (x0 + y0), TOL);
            assert_near(grads.scalar(y), 2.0 * (x0 + y0), TOL);

            let dz_dx = z.backward_graph()[x];
            assert_near(dz_dx.scalar(), 2.0 * (x0 + y0), TOL);
            let second = dz_dx.backward();
            assert_near(second.scalar(x), 2.0, TOL);
            assert_near(second.scalar(y), 2.0, TOL); // ∂²z/∂x∂y
        }
    }
}
