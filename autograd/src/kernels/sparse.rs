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

/// The products, a block of output columns at a time: blocks of 64 columns (four AVX-512 or eight AVX2
/// registers of f32), then whatever is left in blocks of 48, 32, 16, 8, 4, 2 and 1, each a width known at
/// compile time so that the block's loop is whole vector instructions. The product keeps each output block in
/// registers while it adds the row's entries (in their stored order), so the additions do not wait on stores;
/// the transpose's adds each entry's scaled row into the output row it belongs to. Inlined into the versions
/// above so that it is compiled for their instructions.
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
    let mut start = 0;
    while start < n {
        let block = Block { start, stride: n };
        let x = (starts, columns, values, b);
        start += match n - start {
            64.. => block.run::<T, C, 64>(x, out, transposed),
            48.. => block.run::<T, C, 48>(x, out, transposed),
            32.. => block.run::<T, C, 32>(x, out, transposed),
            16.. => block.run::<T, C, 16>(x, out, transposed),
            8.. => block.run::<T, C, 8>(x, out, transposed),
            4.. => block.run::<T, C, 4>(x, out, transposed),
            2.. => block.run::<T, C, 2>(x, out, transposed),
            _ => block.run::<T, C, 1>(x, out, transposed),
        };
    }
}

/// The sparse operand (row extents, column indices, values) and the dense one.
type Operands<'x, T, C> = (&'x [(usize, usize)], &'x [C], &'x [T], &'x [T]);

/// Columns `start..start + L` of rows of `stride` floats.
#[derive(Clone, Copy)]
struct Block {
    start: usize,
    stride: usize,
}

impl Block {
    /// This block of `A·b` (or `Aᵀ·b`) added into `out`; returns its width.
    #[inline(always)]
    fn run<T: Float, C: Column, const L: usize>(
        self,
        (starts, columns, values, b): Operands<'_, T, C>,
        out: &mut [T],
        transposed: bool,
    ) -> usize {
        for (i, &(first, end)) in starts.iter().enumerate() {
            let (columns, values) = (&columns[first..end], &values[first..end]);
            if transposed {
                let source: [T; L] = *self.row(b, i);
                for (&c, &v) in columns.iter().zip(values) {
                    let target: &mut [T; L] = self.row_mut(out, c.index());
                    for j in 0..L {
                        target[j] += v * source[j];
                    }
                }
            } else {
                let mut sum = [T::zero(); L];
                for (&c, &v) in columns.iter().zip(values) {
                    let source: &[T; L] = self.row(b, c.index());
                    for j in 0..L {
                        sum[j] += v * source[j];
                    }
                }
                let target: &mut [T; L] = self.row_mut(out, i);
                for j in 0..L {
                    target[j] += sum[j];
                }
            }
        }
        L
    }

    #[inline(always)]
    fn row<T, const L: usize>(self, rows: &[T], i: usize) -> &[T; L] {
        let at = i * self.stride + self.start;
        rows[at..at + L]
            .try_into()
            .expect("a block lies inside its row")
    }

    #[inline(always)]
    fn row_mut<T, const L: usize>(self, rows: &mut [T], i: usize) -> &mut [T; L] {
        let at = i * self.stride + self.start;
        (&mut rows[at..at + L])
            .try_into()
            .expect("a block lies inside its row")
    }
}
