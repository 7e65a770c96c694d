//! Sparse constant matrices in compressed-row form, for products with dense graph nodes.
//!
//! A [`SparseMatrix`] stores only its non-zero entries: per row, a run of `(column, value)` pairs. It is
//! immutable and cheap to clone (the entries are shared), and [`select_rows`](SparseMatrix::select_rows)
//! makes a mini-batch of rows without copying a single entry, so a data set converted once can be drawn from
//! for a whole run. Column indices take 16 bits when the matrix has at most 65,536 columns and 32 bits
//! otherwise (as SciPy picks its index width from the size).
//!
//! On the graph it is a constant operand: [`matmul`](SparseMatrix::matmul) multiplies it with a dense node,
//! and the gradient flows to the dense node only (PyTorch's `torch.sparse.mm` with a sparse matrix that does
//! not require a gradient).

use std::sync::Arc;

use ndarray::{Array2, ArrayView2};

use crate::{kernels, Float};

/// A constant sparse matrix: only its non-zero entries are stored, in rows.
///
/// ```
/// use autograd::SparseMatrix;
/// use ndarray::array;
///
/// let a = SparseMatrix::from_dense(array![[0.0, 2.0, 0.0], [1.0, 0.0, 0.0]].view());
/// assert_eq!((a.shape(), a.nnz()), ((2, 3), 2));
/// let w = array![[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]];
/// assert_eq!(a.dot(&w.view()), array![[6.0, 8.0], [1.0, 2.0]]);
/// assert_eq!(a.select_rows([1, 1]).to_dense(), array![[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]]);
/// ```
#[derive(Clone)]
pub struct SparseMatrix<T>(Arc<Layout<T>>);

/// The rows of a matrix: where each row's entries lie in the (shared) entry store.
struct Layout<T> {
    cols: usize,
    rows: Vec<(usize, usize)>,
    entries: Arc<Entries<T>>,
    /// The transpose, when [`with_transpose`](SparseMatrix::with_transpose) made it.
    transpose: Option<SparseMatrix<T>>,
}

/// The stored entries of all rows, one after the other.
struct Entries<T> {
    values: Vec<T>,
    columns: Columns,
}

/// Column indices, as narrow as the column count allows.
pub(crate) enum Columns {
    Narrow(Vec<u16>),
    Wide(Vec<u32>),
}

impl<T> SparseMatrix<T> {
    /// `(rows, columns)`.
    ///
    /// ```
    /// assert_eq!(autograd::SparseMatrix::<f64>::from_rows(5, [vec![]]).shape(), (1, 5));
    /// ```
    pub fn shape(&self) -> (usize, usize) {
        (self.0.rows.len(), self.0.cols)
    }

    /// The number of stored entries.
    ///
    /// ```
    /// assert_eq!(autograd::SparseMatrix::from_rows(2, [vec![(0, 1.0), (1, 0.0)]]).nnz(), 2);
    /// ```
    pub fn nnz(&self) -> usize {
        self.0.rows.iter().map(|(start, end)| end - start).sum()
    }
}

impl<T: Float> SparseMatrix<T> {
    /// A matrix with `cols` columns and one row per item of `rows`, each row given as its `(column, value)`
    /// entries (in any order; entries at the same column add up).
    ///
    /// ```
    /// let a = autograd::SparseMatrix::from_rows(4, [vec![(3, 1.5)], vec![], vec![(0, -1.0), (2, 2.0)]]);
    /// assert_eq!(a.to_dense(), ndarray::array![[0.0, 0.0, 0.0, 1.5], [0.0; 4], [-1.0, 0.0, 2.0, 0.0]]);
    /// ```
    ///
    /// # Panics
    /// If a column is not below `cols`, or `cols` exceeds 2³².
    #[track_caller]
    pub fn from_rows<R, E>(cols: usize, rows: R) -> Self
    where
        R: IntoIterator<Item = E>,
        E: IntoIterator<Item = (usize, T)>,
    {
        Self::from_rows_with_capacity(cols, 0, rows)
    }

    /// As [`from_rows`](SparseMatrix::from_rows), with room for `entries` entries made at the start: a large
    /// matrix whose entry count is known then grows by no reallocation (each of which would leave the old
    /// buffer behind in an allocator that keeps freed memory).
    ///
    /// ```
    /// let a = autograd::SparseMatrix::from_rows_with_capacity(3, 2, [vec![(0, 1.0), (2, 2.0)]]);
    /// assert_eq!(a.nnz(), 2);
    /// ```
    ///
    /// # Panics
    /// As `from_rows`.
    #[track_caller]
    pub fn from_rows_with_capacity<R, E>(cols: usize, entries: usize, rows: R) -> Self
    where
        R: IntoIterator<Item = E>,
        E: IntoIterator<Item = (usize, T)>,
    {
        assert!(
            cols <= 1 << 32,
            "SparseMatrix: {cols} columns do not fit 32-bit indices"
        );
        let narrow = cols <= 1 << 16;
        let mut values = Vec::with_capacity(entries);
        let (mut wide, mut short) = if narrow {
            (Vec::new(), Vec::with_capacity(entries))
        } else {
            (Vec::with_capacity(entries), Vec::new())
        };
        let rows = rows.into_iter();
        let mut starts = Vec::with_capacity(rows.size_hint().0);
        for row in rows {
            let start = values.len();
            for (column, value) in row {
                assert!(
                    column < cols,
                    "SparseMatrix: column {column} out of range for {cols} columns (row {})",
                    starts.len()
                );
                values.push(value);
                if narrow {
                    short.push(column as u16);
                } else {
                    wide.push(column as u32);
                }
            }
            starts.push((start, values.len()));
        }
        let columns = if narrow {
            Columns::Narrow(short)
        } else {
            Columns::Wide(wide)
        };
        SparseMatrix(Arc::new(Layout {
            cols,
            rows: starts,
            entries: Arc::new(Entries { values, columns }),
            transpose: None,
        }))
    }

    /// The non-zero entries of a dense matrix.
    ///
    /// ```
    /// let a = autograd::SparseMatrix::from_dense(ndarray::array![[0.0f32, 3.0], [0.0, 0.0]].view());
    /// assert_eq!(a.nnz(), 1);
    /// ```
    pub fn from_dense(dense: ArrayView2<'_, T>) -> Self {
        let cols = dense.ncols();
        Self::from_rows(
            cols,
            dense.rows().into_iter().map(|row| {
                row.into_iter()
                    .enumerate()
                    .filter(|&(_, &v)| v != T::zero())
                    .map(|(j, &v)| (j, v))
                    .collect::<Vec<_>>()
            }),
        )
    }

    /// The rows at `index`, in order (repeats allowed), sharing this matrix's entries: no entry is copied.
    ///
    /// ```
    /// let a = autograd::SparseMatrix::from_dense(ndarray::array![[1.0], [2.0], [3.0]].view());
    /// assert_eq!(a.select_rows([2, 0]).to_dense(), ndarray::array![[3.0], [1.0]]);
    /// ```
    ///
    /// # Panics
    /// If an index is not below the number of rows.
    #[track_caller]
    pub fn select_rows(&self, index: impl IntoIterator<Item = usize>) -> Self {
        let rows = index
            .into_iter()
            .map(|i| {
                *self.0.rows.get(i).unwrap_or_else(|| {
                    panic!(
                        "SparseMatrix::select_rows: row {i} out of range for shape {:?}",
                        self.shape()
                    )
                })
            })
            .collect();
        SparseMatrix(Arc::new(Layout {
            cols: self.0.cols,
            rows,
            entries: self.0.entries.clone(),
            transpose: None,
        }))
    }

    /// This matrix holding its transpose as well (its entries sorted by column, one pass over them), so that
    /// products with the transpose — [`transpose_matmul`](SparseMatrix::transpose_matmul), the backward rule
    /// of [`matmul`](SparseMatrix::matmul) — add each output row up in registers, as the product does, instead
    /// of adding every entry into memory: for a mini-batch of 100 MNIST-like images (19% non-zero) times a
    /// 100 × 50 gradient, 64 → 41 µs in f32 on a Zen 4, while making the transpose takes about 45 µs. The floats
    /// are the same either way (each output element adds its entries in the same order). It takes as much
    /// memory again; worth it where the transpose is made off the critical path (the trainer makes each
    /// mini-batch's on its batch thread) or used more than once.
    ///
    /// ```
    /// let a = autograd::SparseMatrix::from_rows(3, [vec![(2, 4.0)], vec![(0, 1.0), (2, -1.0)]]);
    /// let g = ndarray::array![[1.0], [2.0]];
    /// assert_eq!(a.with_transpose().transpose_dot(&g.view()), a.transpose_dot(&g.view()));
    /// ```
    pub fn with_transpose(&self) -> Self {
        let (rows, cols) = self.shape();
        // A counting sort by column: where each column's run starts, then every entry placed in its run (rows
        // in order, so each run lists its rows in order).
        let mut starts = vec![0; cols + 1];
        self.for_each_entry(|_, j, _| starts[j + 1] += 1);
        for j in 0..cols {
            starts[j + 1] += starts[j];
        }
        let mut next = starts.clone();
        let entries = starts[cols];
        let (mut values, mut indices) = (vec![T::zero(); entries], vec![0u32; entries]);
        self.for_each_entry(|i, j, v| {
            values[next[j]] = v;
            indices[next[j]] = i as u32;
            next[j] += 1;
        });
        let columns = if rows <= 1 << 16 {
            Columns::Narrow(indices.into_iter().map(|i| i as u16).collect())
        } else {
            Columns::Wide(indices)
        };
        let transpose = SparseMatrix(Arc::new(Layout {
            cols: rows,
            rows: starts.windows(2).map(|w| (w[0], w[1])).collect(),
            entries: Arc::new(Entries { values, columns }),
            transpose: None,
        }));
        SparseMatrix(Arc::new(Layout {
            cols,
            rows: self.0.rows.clone(),
            entries: self.0.entries.clone(),
            transpose: Some(transpose),
        }))
    }

    /// The matrix with its zeros written out.
    ///
    /// ```
    /// let a = autograd::SparseMatrix::from_rows(2, [vec![(1, 4.0)]]);
    /// assert_eq!(a.to_dense(), ndarray::array![[0.0, 4.0]]);
    /// ```
    pub fn to_dense(&self) -> Array2<T> {
        let mut out = Array2::zeros(self.shape());
        self.for_each_entry(|i, j, v| out[[i, j]] += v);
        out
    }

    /// The product `self · dense` on arrays (the forward of [`matmul`](SparseMatrix::matmul)). Each output
    /// element adds its row's entries in their stored order; zeros are never multiplied, so an infinite or NaN
    /// element of `dense` reaches only the outputs of rows with an entry in its row.
    ///
    /// ```
    /// let a = autograd::SparseMatrix::from_rows(2, [vec![(1, 2.0)]]);
    /// assert_eq!(a.dot(&ndarray::array![[1.0], [5.0]].view()), ndarray::array![[10.0]]);
    /// ```
    ///
    /// # Panics
    /// If `dense` does not have as many rows as `self` has columns.
    #[track_caller]
    pub fn dot(&self, dense: &ArrayView2<'_, T>) -> Array2<T> {
        let (rows, cols) = self.shape();
        if dense.nrows() != cols {
            panic!(
                "sparse_matmul: shapes {:?} and {:?} are incompatible",
                [rows, cols],
                dense.shape()
            );
        }
        let dense = dense.as_standard_layout();
        let n = dense.ncols();
        let mut out = Array2::zeros((rows, n));
        let b = dense.as_slice().expect("standard layout");
        let o = out.as_slice_mut().expect("a new array is standard");
        self.with_rows(|starts, columns, values| {
            kernels::sparse_dot(starts, columns, values, b, n, o, false)
        });
        out
    }

    /// The product `selfᵀ · dense` on arrays (the forward of
    /// [`transpose_matmul`](SparseMatrix::transpose_matmul)): with the transpose's rows when the matrix holds
    /// them ([`with_transpose`](SparseMatrix::with_transpose)), else adding each entry's scaled row of `dense`
    /// into the output row it belongs to.
    ///
    /// ```
    /// let a = autograd::SparseMatrix::from_rows(2, [vec![(1, 2.0)]]);
    /// assert_eq!(a.transpose_dot(&ndarray::array![[3.0]].view()), ndarray::array![[0.0], [6.0]]);
    /// ```
    ///
    /// # Panics
    /// If `dense` does not have as many rows as `self`.
    #[track_caller]
    pub fn transpose_dot(&self, dense: &ArrayView2<'_, T>) -> Array2<T> {
        let (rows, cols) = self.shape();
        if dense.nrows() != rows {
            panic!(
                "sparse_matmul_t: shapes {:?} (transposed) and {:?} are incompatible",
                [rows, cols],
                dense.shape()
            );
        }
        if let Some(transpose) = &self.0.transpose {
            return transpose.dot(dense);
        }
        let dense = dense.as_standard_layout();
        let n = dense.ncols();
        let mut out = Array2::zeros((cols, n));
        let g = dense.as_slice().expect("standard layout");
        let o = out.as_slice_mut().expect("a new array is standard");
        self.with_rows(|starts, columns, values| {
            kernels::sparse_dot(starts, columns, values, g, n, o, true)
        });
        out
    }

    /// Calls `f(row, column, value)` for every stored entry.
    fn for_each_entry(&self, f: impl FnMut(usize, usize, T)) {
        /// The loop for one index width.
        fn visit<T: Copy, C: Copy + Into<u64>>(
            rows: &[(usize, usize)],
            columns: &[C],
            values: &[T],
            mut f: impl FnMut(usize, usize, T),
        ) {
            for (i, &(start, end)) in rows.iter().enumerate() {
                // Rows selected at random from a large matrix lie anywhere in memory: ask for a row a few
                // ahead while this one is read, as the hardware's prefetcher does within a row.
                if let Some(&(ahead, ahead_end)) = rows.get(i + PREFETCH_AHEAD) {
                    prefetch(&columns[ahead..ahead_end]);
                    prefetch(&values[ahead..ahead_end]);
                }
                for (&c, &v) in columns[start..end].iter().zip(&values[start..end]) {
                    f(i, c.into() as usize, v);
                }
            }
        }
        let Entries { values, columns } = &*self.0.entries;
        match columns {
            Columns::Narrow(c) => visit(&self.0.rows, c, values, f),
            Columns::Wide(c) => visit(&self.0.rows, c, values, f),
        }
    }

    /// Hands the row extents, column indices and values to a kernel.
    fn with_rows<R>(&self, f: impl FnOnce(&[(usize, usize)], &Columns, &[T]) -> R) -> R {
        f(
            &self.0.rows,
            &self.0.entries.columns,
            &self.0.entries.values,
        )
    }
}

impl<T> std::fmt::Debug for SparseMatrix<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (rows, cols) = self.shape();
        write!(f, "SparseMatrix({rows}×{cols}, {} entries)", self.nnz())
    }
}

/// How many rows ahead of the one being read [`SparseMatrix::for_each_entry`] prefetches.
const PREFETCH_AHEAD: usize = 4;

/// Asks the processor to start loading every cache line of `items` (only a hint).
#[inline(always)]
fn prefetch<X>(items: &[X]) {
    #[cfg(target_arch = "x86_64")]
    for line in (0..std::mem::size_of_val(items)).step_by(64) {
        // SAFETY: prefetching is only a hint (SSE, part of baseline x86-64); the address is inside `items`.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                items.as_ptr().cast::<i8>().add(line),
            )
        };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = items;
}
