//! `with_product_helper`: products split with a helper thread are the products computed alone, bit for bit,
//! on the tape as well as on plain arrays; a panic inside still propagates; helpers nest.

mod common;

use autograd::{matmul, with_product_helper, Tape};
use common::{normal, rng};
use ndarray::{Array2, Ix2};

/// Shapes `(m, k, n)` around every boundary the split looks at: the MNIST step's products (split by columns
/// and by rows), the 64-row and 64-column limit of gemm's small-product blocking on either side, odd sizes,
/// and products too small to split.
const SHAPES: &[(usize, usize, usize)] = &[
    (100, 784, 50),
    (784, 100, 50),
    (500, 784, 50),
    (64, 784, 64),
    (65, 300, 64),
    (128, 200, 64),
    (129, 200, 63),
    (100, 1000, 30),
    (300, 77, 130),
    (7, 20_000, 9),
    (1000, 3, 1000),
    (20, 30, 40),
];

fn matrix(seed: u64, rows: usize, cols: usize) -> Array2<f64> {
    normal(&mut rng(seed), &[rows, cols])
        .into_dimensionality::<Ix2>()
        .expect("a matrix")
}

#[test]
fn split_products_equal_the_products_alone_bit_for_bit() {
    for (i, &(m, k, n)) in SHAPES.iter().enumerate() {
        let a = matrix(2 * i as u64, m, k);
        let b = matrix(2 * i as u64 + 1, k, n);
        let alone = matmul(&a.view(), &b.view());
        let helped = with_product_helper(|| matmul(&a.view(), &b.view()));
        assert_eq!(alone, helped, "f64 [{m},{k}]·[{k},{n}]");
        // f32, and the left operand as a transposed view (the backward pass's xᵀ·g).
        let (a32, b32) = (a.mapv(|v| v as f32), b.mapv(|v| v as f32));
        let at = a32.t().to_owned();
        let alone = matmul(&at.t(), &b32.view());
        let helped = with_product_helper(|| matmul(&at.t(), &b32.view()));
        assert_eq!(alone, helped, "f32 [{k},{m}]ᵀ·[{k},{n}]");
    }
}

#[test]
fn gradients_through_the_tape_are_the_same_with_a_helper() {
    let x = matrix(10, 100, 784);
    let w = matrix(11, 784, 50);
    let gradient = || {
        let tape = Tape::new();
        let (xv, wv) = (tape.constant(x.clone()), tape.var(w.clone()));
        let loss = xv.matmul(wv).relu().sum();
        let grads = loss.backward();
        (loss.scalar(), grads.get(wv).expect("w is used").to_owned())
    };
    let alone = gradient();
    let helped = with_product_helper(gradient);
    assert_eq!(alone.0.to_bits(), helped.0.to_bits());
    assert_eq!(alone.1, helped.1);
}

#[test]
fn helpers_nest_and_every_call_returns_its_value() {
    let a = matrix(20, 200, 300);
    let b = matrix(21, 300, 100);
    let alone = matmul(&a.view(), &b.view());
    let (outer, inner) = with_product_helper(|| {
        let inner = with_product_helper(|| matmul(&a.view(), &b.view()));
        (matmul(&a.view(), &b.view()), inner)
    });
    assert_eq!(outer, alone);
    assert_eq!(inner, alone);
    // After the helper has gone, products are computed alone again, and many in a row keep working.
    for _ in 0..50 {
        assert_eq!(with_product_helper(|| matmul(&a.view(), &b.view())), alone);
    }
}

#[test]
#[should_panic(expected = "matmul: shapes [200, 300] and [200, 300] are incompatible")]
fn a_panic_inside_reaches_the_caller() {
    let a = matrix(30, 200, 300);
    with_product_helper(|| matmul(&a.view(), &a.view()));
}

/// A stack of products each too small to halve (conv2d's, one per image) is halved between the threads; a
/// stack of large products halves each product instead. Both equal the stack computed alone, bit for bit,
/// forward and in the gradients, for an odd count too.
#[test]
fn stacks_of_products_are_the_same_with_a_helper() {
    for &(count, m, k, n) in &[(100, 30, 25, 576), (7, 30, 576, 25), (3, 200, 300, 100)] {
        let a = normal(&mut rng(30), &[m, k]);
        let b = normal(&mut rng(31), &[count, k, n]);
        let run = || {
            let tape = Tape::<f64>::new();
            let (av, bv) = (tape.var(a.clone()), tape.var(b.clone()));
            let y = av.matmul(bv);
            let grads = y.square().sum().backward();
            (
                y.value(),
                grads.get(av).unwrap().to_owned(),
                grads.get(bv).unwrap().to_owned(),
            )
        };
        let alone = run();
        let helped = with_product_helper(run);
        assert_eq!(alone, helped, "[{m},{k}]·[{count},{k},{n}]");
    }
}
