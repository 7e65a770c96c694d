//! Sparse constant matrices: products against the dense product of the same matrix (both column-index
//! widths, any layout of the dense operand), gradients of first and second order against the dense graph, row
//! selection, and the contract panics. The finite-difference, second-order and forward-mode checks of the two
//! product ops are in `op_table.rs`.

mod common;

use autograd::{SparseMatrix, Tape};
use common::{normal, rng};
use ndarray::{Array2, Ix2};
use rand::Rng;

/// A random `rows × cols` matrix with about `density` of its entries non-zero, and its sparse form.
fn random_sparse(
    seed: u64,
    rows: usize,
    cols: usize,
    density: f64,
) -> (Array2<f64>, SparseMatrix<f64>) {
    let mut r = rng(seed);
    let values = normal(&mut r, &[rows, cols])
        .into_dimensionality::<Ix2>()
        .unwrap();
    let dense = values.mapv(|v| if r.random_bool(density) { v } else { 0.0 });
    let sparse = SparseMatrix::from_dense(dense.view());
    (dense, sparse)
}

fn matrix(seed: u64, rows: usize, cols: usize) -> Array2<f64> {
    normal(&mut rng(seed), &[rows, cols])
        .into_dimensionality()
        .unwrap()
}

fn assert_close(a: &Array2<f64>, b: &Array2<f64>, what: &str) {
    assert_eq!(a.shape(), b.shape(), "{what}");
    let err = (a - b).mapv(f64::abs).fold(0.0, |m: f64, &v| m.max(v));
    assert!(err < 1e-12, "{what}: max abs difference {err:e}");
}

#[test]
fn products_equal_the_dense_products_of_the_same_matrix() {
    for (seed, (rows, cols, n)) in [(7, 3, 5), (30, 784, 50), (1, 1, 1), (12, 9, 17)]
        .into_iter()
        .enumerate()
    {
        let (dense, sparse) = random_sparse(seed as u64, rows, cols, 0.2);
        assert_eq!(sparse.nnz(), dense.iter().filter(|&&v| v != 0.0).count());
        assert_eq!(sparse.to_dense(), dense);
        let b = matrix(100 + seed as u64, cols, n);
        assert_close(&sparse.dot(&b.view()), &dense.dot(&b), "A·B");
        let g = matrix(200 + seed as u64, rows, n);
        assert_close(&sparse.transpose_dot(&g.view()), &dense.t().dot(&g), "Aᵀ·G");
        // A dense operand stored transposed (not in standard layout) gives the same product.
        let bt = matrix(300 + seed as u64, n, cols);
        assert_close(&sparse.dot(&bt.t()), &dense.dot(&bt.t()), "A·Bᵀ view");
    }
}

#[test]
fn matrices_with_more_than_65536_columns_take_wide_indices_and_multiply_the_same() {
    let cols = 70_000;
    let rows: Vec<Vec<(usize, f64)>> = vec![vec![(69_999, 2.0), (3, -1.0)], vec![(65_536, 0.5)]];
    let sparse = SparseMatrix::from_rows(cols, rows);
    let dense = sparse.to_dense();
    assert_eq!(
        (dense[[0, 69_999]], dense[[1, 65_536]], dense.sum()),
        (2.0, 0.5, 1.5)
    );
    let b = matrix(5, cols, 3);
    assert_close(&sparse.dot(&b.view()), &dense.dot(&b), "wide A·B");
    let g = matrix(6, 2, 3);
    assert_close(
        &sparse.transpose_dot(&g.view()),
        &dense.t().dot(&g),
        "wide Aᵀ·G",
    );
}

#[test]
fn selected_rows_are_the_dense_rows_and_repeats_are_allowed() {
    let (dense, sparse) = random_sparse(3, 6, 8, 0.4);
    let index = [5, 0, 5, 2];
    let selected = sparse.select_rows(index);
    assert_eq!(selected.shape(), (4, 8));
    assert_eq!(selected.to_dense(), dense.select(ndarray::Axis(0), &index));
    // A selection of a selection.
    assert_eq!(
        selected.select_rows([1, 3]).to_dense(),
        dense.select(ndarray::Axis(0), &[0, 2])
    );
}

#[test]
fn gradients_of_first_and_second_order_equal_those_through_the_dense_constant() {
    let (dense, sparse) = random_sparse(9, 10, 7, 0.3);
    let w0 = matrix(10, 7, 4);
    // f(w) = Σ tanh(A·w)², through the sparse op and through a dense constant.
    let run = |use_sparse: bool| {
        let tape = Tape::<f64>::new();
        let w = tape.var(w0.clone());
        let h = if use_sparse {
            sparse.matmul(w)
        } else {
            tape.constant(dense.clone()).matmul(w)
        };
        let loss = h.tanh().square().sum();
        let grad = loss.backward_graph()[w];
        // A Hessian–vector product: the gradient of ⟨∇f, v⟩.
        let v = tape.constant(matrix(11, 7, 4));
        let hv = (grad * v).sum().backward()[w].clone();
        let g: Array2<f64> = grad.value().into_dimensionality().unwrap();
        (
            loss.scalar(),
            g,
            hv.into_array().into_dimensionality::<Ix2>().unwrap(),
        )
    };
    let (loss_s, grad_s, hv_s) = run(true);
    let (loss_d, grad_d, hv_d) = run(false);
    assert!((loss_s - loss_d).abs() < 1e-12, "{loss_s} vs {loss_d}");
    assert_close(&grad_s, &grad_d, "gradient");
    assert_close(&hv_s, &hv_d, "Hessian–vector product");
    assert!(
        hv_s.iter().any(|&v| v.abs() > 1e-3),
        "a vacuous Hessian check"
    );
}

#[test]
#[should_panic(expected = "sparse_matmul: shapes [3, 4] and [5, 2] are incompatible")]
fn a_product_with_the_wrong_inner_size_names_the_op_and_the_shapes() {
    let (_, sparse) = random_sparse(1, 3, 4, 0.5);
    let tape = Tape::<f64>::new();
    sparse.matmul(tape.var(matrix(2, 5, 2)));
}

#[test]
#[should_panic(
    expected = "sparse_matmul_t: shapes [3, 4] (transposed) and [4, 2] are incompatible"
)]
fn a_transposed_product_with_the_wrong_inner_size_names_the_op_and_the_shapes() {
    let (_, sparse) = random_sparse(1, 3, 4, 0.5);
    let tape = Tape::<f64>::new();
    sparse.transpose_matmul(tape.var(matrix(2, 4, 2)));
}

#[test]
#[should_panic(expected = "SparseMatrix::select_rows: row 3 out of range for shape (3, 4)")]
fn selecting_a_missing_row_panics_with_the_shape() {
    let (_, sparse) = random_sparse(1, 3, 4, 0.5);
    sparse.select_rows([0, 3]);
}

#[test]
#[should_panic(expected = "SparseMatrix: column 4 out of range for 4 columns (row 1)")]
fn an_entry_past_the_last_column_panics() {
    SparseMatrix::from_rows(4, [vec![(0, 1.0)], vec![(4, 1.0)]]);
}

#[test]
fn a_matrix_holding_its_transpose_gives_the_same_floats_in_every_product() {
    for (seed, (rows, cols, n)) in [(100, 784, 50), (7, 3, 5), (12, 9, 1)]
        .into_iter()
        .enumerate()
    {
        let (dense, sparse) = random_sparse(40 + seed as u64, rows, cols, 0.25);
        let held = sparse.with_transpose();
        assert_eq!(held.to_dense(), dense);
        let g = matrix(50 + seed as u64, rows, n);
        let b = matrix(60 + seed as u64, cols, n);
        assert_eq!(
            held.transpose_dot(&g.view()),
            sparse.transpose_dot(&g.view())
        );
        assert_eq!(held.dot(&b.view()), sparse.dot(&b.view()));
        assert_close(&held.transpose_dot(&g.view()), &dense.t().dot(&g), "Aᵀ·G");
        // Rows selected from it are an ordinary matrix again.
        assert_eq!(
            held.select_rows([0]).to_dense(),
            dense.select(ndarray::Axis(0), &[0])
        );
    }
    // With more than 65,536 rows, the transpose's column indices are wide.
    let tall = SparseMatrix::from_rows(2, (0..70_000).map(|i| vec![(i % 2, 1.0 + i as f64)]));
    let g = ndarray::Array2::from_elem((70_000, 1), 0.5);
    assert_eq!(
        tall.with_transpose().transpose_dot(&g.view()),
        tall.transpose_dot(&g.view())
    );
}
