//! The matrix-product kernel: the `gemm` crate's, with its AVX-512 kernels compiled in (`x86-v4`; the kernel is
//! chosen at run time, so machines without AVX-512 fall back to AVX2 or scalar code) and any strides, so
//! transposed operands are passed as strided views instead of being copied.
//!
//! Measured on the MNIST shapes against ndarray's `dot` (matrixmultiply, AVX2) on a quiet AVX-512 machine
//! (`cargo bench -p autograd --bench matmul`, figures in `bench/README.md`): `[100, 784]·[784, 50]` 2.4x
//! faster, `[100, 784]ᵀ·[100, 50]` (a transposed view) 1.9x, `[2000, 784]·[784, 50]` 2.3x.

use std::mem::MaybeUninit;
use std::ops::Range;

use ndarray::{Array2, ArrayD, ArrayRef, ArrayView2, Axis, CowArray, Ix2, Ix3, IxDyn};

use super::helper;
use crate::Float;

/// The `matmul` op's forward: the product of two 2-D operands of any strides, or of two stacks of matrices with
/// the same batch axes (`[.., m, k]·[.., k, n]`, one product per batch element).
///
/// # Panics
/// When the operands have fewer than two axes, different batch axes, or different inner dimensions, naming
/// both shapes.
#[track_caller]
pub(crate) fn matmul_dyn<T: Float>(a: &ArrayRef<T, IxDyn>, b: &ArrayRef<T, IxDyn>) -> ArrayD<T> {
    let (sa, sb) = (a.shape(), b.shape());
    let n = sa.len();
    if n < 2 || sb.len() != n || sa[..n - 2] != sb[..n - 2] || sa[n - 1] != sb[n - 2] {
        panic!("matmul: shapes {sa:?} and {sb:?} are incompatible");
    }
    if n == 2 {
        return matmul(&matrices(a), &matrices(b)).into_dyn();
    }
    let mut shape = sa.to_vec();
    shape[n - 1] = sb[n - 1];
    let mut out = ArrayD::uninit(shape);
    let (stack_a, stack_b) = (stacked(a), stacked(b));
    let (count, (m, k, p)) = (stack_a.shape()[0], (sa[n - 2], sa[n - 1], sb[n - 1]));
    let out_at = out.as_mut_ptr() as usize;
    // The products `range` of the stack, each into its own `m·p` elements of `out`.
    let products = |range: Range<usize>| {
        for i in range {
            // SAFETY: `out` is a contiguous `[count, m, p]` array, so product `i < count` owns the `m·p`
            // elements from `i·m·p`, which no other product touches.
            let to = unsafe {
                std::slice::from_raw_parts_mut(
                    (out_at as *mut MaybeUninit<T>).add(i * m * p),
                    m * p,
                )
            };
            let (ma, mb) = (
                stack_a.index_axis(Axis(0), i),
                stack_b.index_axis(Axis(0), i),
            );
            product_into(&ma, &mb, to, gemm::Parallelism::None);
        }
    };
    // A stack of products each too small to be halved (as conv2d's, one per image), but large together, is
    // halved between this thread and its helper; a product that would be halved itself is not, so that only
    // one split is ever published at a time.
    let halve_stack = count >= 2 && split(m, p, k).is_none() && count * m * p * k >= 1 << 20;
    let helped = halve_stack
        && helper::run_halves(&|half| match half {
            0 => products(0..count / 2),
            _ => products(count / 2..count),
        });
    if !helped {
        products(0..count);
    }
    // SAFETY: the products cover the whole `[count, m, p]` buffer, and `product_into` initialises every
    // element of its destination.
    unsafe { out.assume_init() }
}

/// A 2-D operand as a matrix view.
fn matrices<T: Float>(x: &ArrayRef<T, IxDyn>) -> ArrayView2<'_, T> {
    x.view()
        .into_dimensionality::<Ix2>()
        .expect("a 2-D operand")
}

/// An operand of shape `[.., m, k]` as a stack `[count, m, k]` (a view when the layout allows).
fn stacked<T: Float>(x: &ArrayRef<T, IxDyn>) -> CowArray<'_, T, Ix3> {
    let n = x.ndim();
    let count: usize = x.shape()[..n - 2].iter().product();
    x.to_shape((count, x.shape()[n - 2], x.shape()[n - 1]))
        .expect("a stack of matrices")
}

/// The engine's matrix product on plain arrays: `a · b` for matrices of any strides (transposed views
/// included), with the kernel the `matmul` op uses.
///
/// ```
/// use ndarray::array;
/// let a = array![[1.0, 2.0], [3.0, 4.0]];
/// assert_eq!(autograd::matmul(&a.view(), &a.t()), array![[5.0, 11.0], [11.0, 25.0]]);
/// ```
///
/// # Panics
/// When the inner dimensions differ.
#[track_caller]
pub fn matmul<T: Float>(a: &ArrayView2<'_, T>, b: &ArrayView2<'_, T>) -> Array2<T> {
    product_with(a, b, gemm::Parallelism::None)
}

/// [`matmul`] split over up to `threads` threads of rayon's global pool (the `rayon` feature;
/// 0 counts as 1). gemm splits only products large enough to pay for it, so small ones stay on one thread. The
/// threads share out blocks of the output, so each element is summed as on one thread and the results are
/// equal (the example below and `benches/matmul.rs` check it).
///
/// The engine multiplies on the calling thread unless asked otherwise: on the lecture's shapes (a few MFLOP per
/// product) waking a pool's threads costs more than it saves; [`with_product_helper`](crate::with_product_helper)
/// is what pays there (one spinning helper thread, the MNIST trainer's choice). This is for larger products;
/// `cargo bench -p autograd --bench matmul --features rayon` measures both on the workload's shapes.
///
/// ```
/// use ndarray::Array2;
/// let a = Array2::from_shape_fn((300, 200), |(i, j)| (i + j) as f64);
/// assert_eq!(autograd::matmul_parallel(&a.view(), &a.t(), 2), autograd::matmul(&a.view(), &a.t()));
/// ```
///
/// # Panics
/// When the inner dimensions differ.
#[cfg(feature = "rayon")]
#[track_caller]
pub fn matmul_parallel<T: Float>(
    a: &ArrayView2<'_, T>,
    b: &ArrayView2<'_, T>,
    threads: usize,
) -> Array2<T> {
    product_with(a, b, gemm::Parallelism::Rayon(threads.max(1)))
}

#[track_caller]
fn product_with<T: Float>(
    a: &ArrayView2<'_, T>,
    b: &ArrayView2<'_, T>,
    parallelism: gemm::Parallelism,
) -> Array2<T> {
    let mut c = Array2::uninit((a.nrows(), b.ncols()));
    let c_slice = c.as_slice_mut().expect("a new array is contiguous");
    product_into(a, b, c_slice, parallelism);
    // SAFETY: `product_into` initialises every element of its destination.
    unsafe { c.assume_init() }
}

/// Writes `a · b` into `c`, an m x n row-major matrix, every element of which it initialises (its contents are
/// never read, so the caller need not zero it).
///
/// # Panics
/// When the inner dimensions differ or `c` does not hold m·n elements.
#[track_caller]
fn product_into<T: Float>(
    a: &ArrayView2<'_, T>,
    b: &ArrayView2<'_, T>,
    c: &mut [MaybeUninit<T>],
    parallelism: gemm::Parallelism,
) {
    let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
    if b.nrows() != k {
        panic!(
            "matmul: shapes {:?} and {:?} are incompatible",
            a.shape(),
            b.shape()
        );
    }
    assert_eq!(c.len(), m * n, "matmul: the destination holds m·n elements");
    if k == 0 {
        c.fill(MaybeUninit::new(T::zero()));
        return;
    }
    if m == 0 || n == 0 {
        return;
    }
    let (a_rs, a_cs) = (a.strides()[0], a.strides()[1]);
    let (b_rs, b_cs) = (b.strides()[0], b.strides()[1]);
    // Addresses as integers, so that the closure below can be shared with the helper thread.
    let (c_at, a_at, b_at) = (
        c.as_mut_ptr() as usize,
        a.as_ptr() as usize,
        b.as_ptr() as usize,
    );
    // The block `rows` x `cols` of the product.
    let product_block = |rows: Range<usize>, cols: Range<usize>| {
        // SAFETY: `c` is a contiguous m x n row-major matrix (row stride n, column stride 1), and `a` (m x k)
        // and `b` (k x n) are valid views whose strides, in elements, are passed as they are; `rows` lies
        // inside 0..m and `cols` inside 0..n, and the block's first addresses in `a`, `b` and `c` are offset by
        // the strides, so every index gemm reads or writes lies inside the three arrays (and disjoint blocks
        // write disjoint parts of `c`). `T` is f32 or f64 (the only `Float` types), which gemm supports; with
        // `read_dst = false` gemm never reads `c` and writes every element of the block, so the uninitialised
        // contents are neither read nor left behind.
        unsafe {
            gemm::gemm(
                rows.len(),
                cols.len(),
                k,
                (c_at as *mut T).add(rows.start * n + cols.start),
                1,
                n as isize,
                false,
                (a_at as *const T).offset(rows.start as isize * a_rs),
                a_cs,
                a_rs,
                (b_at as *const T).offset(cols.start as isize * b_cs),
                b_cs,
                b_rs,
                T::zero(),
                T::one(),
                false,
                false,
                false,
                parallelism,
            );
        }
    };
    let helped = matches!(parallelism, gemm::Parallelism::None)
        && split(m, n, k).is_some_and(|split| {
            helper::run_halves(&|half| match (split, half) {
                (Split::Rows(at), 0) => product_block(0..at, 0..n),
                (Split::Rows(at), _) => product_block(at..m, 0..n),
                (Split::Columns(at), 0) => product_block(0..m, 0..at),
                (Split::Columns(at), _) => product_block(0..m, at..n),
            })
        });
    if !helped {
        product_block(0..m, 0..n);
    }
}

/// Two halves of an `m x k · k x n` product, for a thread and its [helper](crate::with_product_helper).
#[derive(Clone, Copy)]
enum Split {
    /// Rows `..at` and `at..`.
    Rows(usize),
    /// Columns `..at` and `at..`.
    Columns(usize),
}

/// How a product of at least 2^20 multiply-adds is halved (`None` for smaller ones, where the hand-over would
/// cost more than it saves): rows split at a multiple of 64, else columns at a multiple of 12 (whole blocks of
/// gemm's AVX-512 and AVX2 kernels, so that neither half computes padding the whole would not).
///
/// gemm sums each element over `k` in blocks whose size depends on whether both `m` and `n` are at most 64;
/// a split is taken only when both halves fall on the same side of that as the whole product, so each element
/// is summed exactly as without the split.
fn split(m: usize, n: usize, k: usize) -> Option<Split> {
    const SMALL: usize = 64;
    let small = |m: usize, n: usize| m <= SMALL && n <= SMALL;
    let near_half = |len: usize, block: usize| (len / 2 + block / 2) / block * block;
    let keeps_blocking = |m1: usize, n1: usize, m2: usize, n2: usize| {
        small(m1, n1) == small(m, n) && small(m2, n2) == small(m, n)
    };
    if m * n * k < 1 << 20 {
        return None;
    }
    let rows = near_half(m, 64);
    if rows > 0 && rows < m && keeps_blocking(rows, n, m - rows, n) {
        return Some(Split::Rows(rows));
    }
    let cols = near_half(n, 12);
    (cols > 0 && cols < n && keeps_blocking(m, cols, m, n - cols)).then_some(Split::Columns(cols))
}
