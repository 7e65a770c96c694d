//! The matrix product's values and gradients against naive loops: `C = A·B`, `dA = G·Bᵀ`, `dB = Aᵀ·G`.

mod common;

use autograd::Tape;
use common::{assert_close, normal, rng};
use ndarray::{Array2, ArrayD, Ix2};

const SHAPES: &[(usize, usize, usize)] = &[
    (1, 1, 1),
    (1, 7, 1), // row · column
    (5, 1, 4), // column · row
    (1, 4, 3), // 1xN · NxM
    (3, 4, 1), // MxN · Nx1
    (2, 3, 4),
    (6, 5, 7),
    (16, 9, 12),
];

fn m2(x: &ArrayD<f64>) -> Array2<f64> {
    x.clone().into_dimensionality::<Ix2>().expect("a matrix")
}

/// `C[i][j] = Σ_k A[i][k]·B[k][j]`.
fn naive_matmul(a: &Array2<f64>, b: &Array2<f64>) -> Array2<f64> {
    let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
    assert_eq!(b.nrows(), k);
    let mut c = Array2::zeros((m, n));
    for i in 0..m {
        for j in 0..n {
            let mut s = 0.0;
            for p in 0..k {
                s += a[[i, p]] * b[[p, j]];
            }
            c[[i, j]] = s;
        }
    }
    c
}

/// `dA[i][p] = Σ_j G[i][j]·B[p][j]` (that is `G·Bᵀ`).
fn naive_grad_a(g: &Array2<f64>, b: &Array2<f64>) -> Array2<f64> {
    let (m, n, k) = (g.nrows(), g.ncols(), b.nrows());
    let mut da = Array2::zeros((m, k));
    for i in 0..m {
        for p in 0..k {
            let mut s = 0.0;
            for j in 0..n {
                s += g[[i, j]] * b[[p, j]];
            }
            da[[i, p]] = s;
        }
    }
    da
}

/// `dB[p][j] = Σ_i A[i][p]·G[i][j]` (that is `Aᵀ·G`).
fn naive_grad_b(a: &Array2<f64>, g: &Array2<f64>) -> Array2<f64> {
    let (m, k, n) = (a.nrows(), a.ncols(), g.ncols());
    let mut db = Array2::zeros((k, n));
    for p in 0..k {
        for j in 0..n {
            let mut s = 0.0;
            for i in 0..m {
                s += a[[i, p]] * g[[i, j]];
            }
            db[[p, j]] = s;
        }
    }
    db
}

#[test]
fn values_match_naive_loops() {
    let mut r = rng(100);
    for &(m, k, n) in SHAPES {
        let (a, b) = (normal(&mut r, &[m, k]), normal(&mut r, &[k, n]));
        let tape = Tape::<f64>::new();
        let c = tape.var(a.clone()).matmul(tape.var(b.clone()));
        assert_eq!(c.shape(), [m, n]);
        let expected = naive_matmul(&m2(&a), &m2(&b)).into_dyn();
        assert_close(&c.value().view(), &expected.view(), 1e-12);
    }
}

#[test]
fn gradients_match_naive_formulas() {
    let mut r = rng(101);
    for &(m, k, n) in SHAPES {
        let (a, b, g) = (
            normal(&mut r, &[m, k]),
            normal(&mut r, &[k, n]),
            normal(&mut r, &[m, n]),
        );
        let tape = Tape::<f64>::new();
        let (va, vb) = (tape.var(a.clone()), tape.var(b.clone()));
        let grads = va.matmul(vb).backward_with_seed(g.clone());
        let da = naive_grad_a(&m2(&g), &m2(&b)).into_dyn();
        let db = naive_grad_b(&m2(&a), &m2(&g)).into_dyn();
        assert_close(&grads.get(va).unwrap(), &da.view(), 1e-12);
        assert_close(&grads.get(vb).unwrap(), &db.view(), 1e-12);
    }
}

/// With a sum as the loss the seed is all ones: `dA[i][p] = Σ_j B[p][j]`, `dB[p][j] = Σ_i A[i][p]`.
#[test]
fn gradient_of_sum_is_row_and_column_sums() {
    let mut r = rng(102);
    let (a, b) = (normal(&mut r, &[3, 4]), normal(&mut r, &[4, 2]));
    let tape = Tape::<f64>::new();
    let (va, vb) = (tape.var(a.clone()), tape.var(b.clone()));
    let grads = va.matmul(vb).sum().backward();
    let b_row_sums = m2(&b).sum_axis(ndarray::Axis(1));
    let a_col_sums = m2(&a).sum_axis(ndarray::Axis(0));
    let da = grads.get(va).unwrap().into_dimensionality::<Ix2>().unwrap();
    let db = grads.get(vb).unwrap().into_dimensionality::<Ix2>().unwrap();
    for i in 0..3 {
        for p in 0..4 {
            assert!((da[[i, p]] - b_row_sums[p]).abs() < 1e-12);
        }
    }
    for p in 0..4 {
        for j in 0..2 {
            assert!((db[[p, j]] - a_col_sums[p]).abs() < 1e-12);
        }
    }
}

/// `aᵗ.t().matmul(b)` must give `aᵗ` the transpose of the gradient that `a.matmul(b)` gives `a`; the same for
/// a transposed right operand.
#[test]
fn transposed_operand_gives_the_transposed_gradient() {
    let mut r = rng(103);
    for &(m, k, n) in SHAPES {
        let (a, b, g) = (
            normal(&mut r, &[m, k]),
            normal(&mut r, &[k, n]),
            normal(&mut r, &[m, n]),
        );
        let a_t = a.t().to_owned();
        let b_t = b.t().to_owned();

        let tape = Tape::<f64>::new();
        let (va, vb) = (tape.var(a.clone()), tape.var(b.clone()));
        let plain = va.matmul(vb).backward_with_seed(g.clone());

        let (va_t, vb_t) = (tape.var(a_t), tape.var(b_t));
        let left = va_t.t().matmul(vb);
        let right = va.matmul(vb_t.t());
        assert_close(&left.value().view(), &va.matmul(vb).value().view(), 1e-12);
        assert_close(&right.value().view(), &va.matmul(vb).value().view(), 1e-12);
        let left = left.backward_with_seed(g.clone());
        let right = right.backward_with_seed(g.clone());

        let da = plain.get(va).unwrap();
        let db = plain.get(vb).unwrap();
        assert_close(&left.get(va_t).unwrap(), &da.t(), 1e-12);
        assert_close(&left.get(vb).unwrap(), &db, 1e-12);
        assert_close(&right.get(vb_t).unwrap(), &db.t(), 1e-12);
        assert_close(&right.get(va).unwrap(), &da, 1e-12);
        // And against the loops, independently of the plain product.
        let da_naive = naive_grad_a(&m2(&g), &m2(&b)).reversed_axes().into_dyn();
        assert_close(&left.get(va_t).unwrap(), &da_naive.view(), 1e-12);
    }
}

/// `A·A` uses `A` as both operands: `dA = G·Aᵀ + Aᵀ·G`.
#[test]
fn same_matrix_on_both_sides_accumulates() {
    let mut r = rng(104);
    let (a, g) = (normal(&mut r, &[4, 4]), normal(&mut r, &[4, 4]));
    let tape = Tape::<f64>::new();
    let va = tape.var(a.clone());
    let grads = va.matmul(va).backward_with_seed(g.clone());
    let (a2, g2) = (m2(&a), m2(&g));
    let expected = (naive_grad_a(&g2, &a2) + naive_grad_b(&a2, &g2)).into_dyn();
    assert_close(&grads.get(va).unwrap(), &expected.view(), 1e-12);
}

/// A chain of products (a two-layer linear map) against the loops applied step by step.
#[test]
fn chained_products_match_naive_backpropagation() {
    let mut r = rng(105);
    let (x, w1, w2, g) = (
        normal(&mut r, &[5, 3]),
        normal(&mut r, &[3, 4]),
        normal(&mut r, &[4, 2]),
        normal(&mut r, &[5, 2]),
    );
    let tape = Tape::<f64>::new();
    let (vx, vw1, vw2) = (
        tape.var(x.clone()),
        tape.var(w1.clone()),
        tape.var(w2.clone()),
    );
    let grads = vx.matmul(vw1).matmul(vw2).backward_with_seed(g.clone());

    let (x, w1, w2, g) = (m2(&x), m2(&w1), m2(&w2), m2(&g));
    let h = naive_matmul(&x, &w1);
    let dh = naive_grad_a(&g, &w2);
    let dw2 = naive_grad_b(&h, &g);
    let dw1 = naive_grad_b(&x, &dh);
    let dx = naive_grad_a(&dh, &w1);
    assert_close(&grads.get(vw2).unwrap(), &dw2.into_dyn().view(), 1e-12);
    assert_close(&grads.get(vw1).unwrap(), &dw1.into_dyn().view(), 1e-12);
    assert_close(&grads.get(vx).unwrap(), &dx.into_dyn().view(), 1e-12);
}

/// `f32` products agree with the `f64` loops to single precision.
#[test]
fn f32_matmul_and_gradient() {
    let mut r = rng(106);
    let (a, b) = (normal(&mut r, &[3, 5]), normal(&mut r, &[5, 2]));
    let tape = Tape::<f32>::new();
    let va = tape.var(a.mapv(|v| v as f32));
    let vb = tape.var(b.mapv(|v| v as f32));
    let c = va.matmul(vb);
    let grads = c.sum().backward();
    let expected = naive_matmul(&m2(&a), &m2(&b)).into_dyn();
    assert_close(&c.value().mapv(f64::from).view(), &expected.view(), 1e-5);
    let da = naive_grad_a(&Array2::ones((3, 2)), &m2(&b)).into_dyn();
    assert_close(
        &grads.get(va).unwrap().mapv(f64::from).view(),
        &da.view(),
        1e-5,
    );
}

/// Products whose destination is written without being zeroed first: an inner dimension of 0 gives zeros, empty
/// outer dimensions give empty results, and every product of a batch (the broadcast one conv2d takes included)
/// equals the loops.
#[test]
fn empty_and_batched_products_are_fully_written() {
    let tape = Tape::<f64>::new();
    for &(m, n) in &[(3, 4), (1, 1), (0, 2), (2, 0)] {
        let (a, b) = (ArrayD::zeros(vec![m, 0]), ArrayD::zeros(vec![0, n]));
        let c = tape.var(a).matmul(tape.var(b)).value();
        assert_eq!(c, ArrayD::<f64>::zeros(vec![m, n]));
        let stacked = tape.var(ArrayD::zeros(vec![2, m, 0]));
        let c = stacked
            .matmul(tape.var(ArrayD::zeros(vec![2, 0, n])))
            .value();
        assert_eq!(c, ArrayD::<f64>::zeros(vec![2, m, n]));
    }
    let empty_batch = tape.var(ArrayD::zeros(vec![0, 3, 4]));
    let c = empty_batch.matmul(tape.var(ArrayD::zeros(vec![0, 4, 5])));
    assert_eq!(c.shape(), [0, 3, 5]);

    let mut r = rng(106);
    let (filters, columns) = (normal(&mut r, &[4, 6]), normal(&mut r, &[3, 6, 5]));
    let c = tape
        .var(filters.clone())
        .matmul(tape.var(columns.clone()))
        .value();
    for i in 0..3 {
        let column = columns
            .index_axis(ndarray::Axis(0), i)
            .to_owned()
            .into_dyn();
        let expected = naive_matmul(&m2(&filters), &m2(&column)).into_dyn();
        assert_close(&c.index_axis(ndarray::Axis(0), i), &expected.view(), 1e-12);
    }
}
