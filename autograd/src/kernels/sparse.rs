//! The sparse-times-dense products: for each stored entry `(i, c, v)` of the sparse matrix, a row of the dense
//! operand scaled by `v` is added into a row of the output, `out[i] += v·b[c]` (the product) or
//! `out[c] += v·b[i]` (the transpose's). The rows are contiguous runs of floats, so the inner loop is one
//! vectorised multiply and add per group of lanes; it is compiled for AVX-512 and AVX2 as well as baseline
//! x86-64 and picked at run time. It multiplies and adds without fusing them, so every path gives the same
//! floats.

use crate::sparse::Columns;
use crate::Float;

/// `out += A·b` (or `Aᵀ·b` when `transposed`) for the sparse `A` given by its row extents `starts`, column
/// indices and values, with `b` and `out` row-major with `n` columns.
pub(crate) fn sparse_dot<T: Float>(
    starts: &[(usize, usize)],
    columns: &Columns,
    values: &[T],
    b: &[T],
    n: usize,
    out: &mut [T],
    transposed: bool,
) {
    match columns {
        Columns::Narrow(c) => dispatch(starts, c, values, b, n, out, transposed),
        Columns::Wide(c) => dispatch(starts, c, values, b, n, out, transposed),
    }
}

/// A column index of either width.
trait Column: Copy {
    fn index(self) -> usize;
}

impl Column for u16 {
    #[inline(always)]
    fn index(self) -> usize {
        usize::from(self)
    }
}

impl Column for u32 {
    #[inline(always)]
    fn index(self) -> usize {
        self as usize
    }
}

fn dispatch<T: Float, C: Column>(
    starts: &[(usize, usize)],
    columns: &[C],
    values: &[T],
    b: &[T],
    n: usize,
    out: &mut [T],
    transposed: bool,
) {
    #[cfg(target_arch = "x86_64")]
    {
        #[cfg(feature = "avx512")]
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the processor supports AVX-512F, checked just above.
            return unsafe { entries_avx512(starts, columns, values, b, n, out, transposed) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the processor supports AVX2, checked just above.
            return unsafe { entries_avx2(starts, columns, values, b, n, out, transposed) };
        }
    }
    entries(starts, columns, values, b, n, out, transposed)
}

#[cfg(all(target_arch = "x86_64", feature = "avx512"))]
#[target_feature(enable = "avx512f")]
fn entries_avx512<T: Float, C: Column>(
    starts: &[(usize, usize)],
    columns: &[C],
    values: &[T],
    b: &[T],
    n: usize,
    out: &mut [T],
    transposed: bool,
) {
    entries(starts, columns, values, b, n, out, transposed)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn entries_avx2<T: Float, C: Column>(
    starts: &[(usize, usize)],
    columns: &[C],
    values: &[T],
    b: &[T],
    n: usize,
    out: &mut [T],
    transposed: bool,
) {
    entries(starts, columns, values, b, n, out, transposed)
}

/// The loop over the stored entries, inlined into the versions above so that it is compiled for their
/// instructions.
#[inline(always)]
fn entries<T: Float, C: Column>(
    starts: &[(usize, usize)],
    columns: &[C],
    values: &[T],
    b: &[T],
    n: usize,
    out: &mut [T],
    transposed: bool,
) {
    for (i, &(start, end)) in starts.iter().enumerate() {
        for (&c, &v) in columns[start..end].iter().zip(&values[start..end]) {
            let (from, to) = if transposed {
                (i, c.index())
            } else {
                (c.index(), i)
            };
            let source = &b[from * n..(from + 1) * n];
            for (o, &x) in out[to * n..(to + 1) * n].iter_mut().zip(source) {
                *o += v * x;
            }
        }
    }
}
