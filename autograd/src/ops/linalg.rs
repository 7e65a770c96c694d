//! The 2-D matrix product, with either operand optionally transposed so that backward passes hand transposed
//! operands to the kernel as strided views instead of copying them.
//!
//! The kernel is the `gemm` crate's, with its AVX-512 kernels compiled in (`x86-v4`; the kernel is chosen at
//! run time, so machines without AVX-512 fall back to AVX2 or scalar code) and any strides. Measured on the
//! MNIST shapes against ndarray's `dot` (matrixmultiply, AVX2) on a quiet AVX-512 machine
//! (`cargo bench -p autograd --bench matmul`, figures in `bench/README.md`): `[100, 784]·[784, 50]` 2.4x
//! faster, `[100, 784]ᵀ·[100, 50]` (a transposed view) 1.9x, `[2000, 784]·[784, 50]` 2.3x.

use ndarray::{Array2, ArrayD, ArrayView2, ArrayViewD, Ix2};
use smallvec::smallvec;

use super::InputGrads;
use crate::{Algebra, Float};

#[track_caller]
fn as_matrix<'a, T: Float>(
    x: &ArrayViewD<'a, T>,
    transpose: bool,
    other: &ArrayViewD<'_, T>,
) -> ArrayView2<'a, T> {
    let Ok(m) = x.clone().into_dimensionality::<Ix2>() else {
        panic!(
            "matmul: expected 2-D operands, got shapes {:?} and {:?}",
            x.shape(),
            other.shape()
        )
    };
    if transpose {
        m.reversed_axes()
    } else {
        m
    }
}

/// `op(a) · op(b)` where `op` transposes when its flag is set.
///
/// # Panics
/// When an operand is not 2-D or the inner dimensions differ.
#[track_caller]
pub(crate) fn matmul<T: Float>(
    a: &ArrayViewD<'_, T>,
    b: &ArrayViewD<'_, T>,
    ta: bool,
    tb: bool,
) -> ArrayD<T> {
    let (ma, mb) = (as_matrix(a, ta, b), as_matrix(b, tb, a));
    product(&ma, &mb).into_dyn()
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
pub fn product<T: Float>(a: &ArrayView2<'_, T>, b: &ArrayView2<'_, T>) -> Array2<T> {
    product_with(a, b, gemm::Parallelism::None)
}

/// [`matmul`](crate::matmul) split over up to `threads` threads of rayon's global pool (the `rayon` feature;
/// 0 counts as 1). gemm splits only products large enough to pay for it, so small ones stay on one thread. The
/// threads share out blocks of the output, so each element is summed as on one thread and the results are
/// equal (the example below and `benches/matmul.rs` check it).
///
/// The engine itself always multiplies on the calling thread: on the lecture's shapes (a few MFLOP per
/// product) threads cost more than they save, and the MNIST trainer already keeps both cores busy (a batch
/// thread while training, one evaluation chunk per core). This is for larger products; `cargo bench -p
/// autograd --bench matmul --features rayon` measures both on the workload's shapes.
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
pub fn product_parallel<T: Float>(
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
    let (m, k, n) = (a.nrows(), a.ncols(), b.ncols());
    if b.nrows() != k {
        panic!(
            "matmul: shapes {:?} and {:?} are incompatible",
            a.shape(),
            b.shape()
        );
    }
    let mut c = Array2::<T>::zeros((m, n));
    if m == 0 || n == 0 || k == 0 {
        return c;
    }
    let (a_rs, a_cs) = (a.strides()[0], a.strides()[1]);
    let (b_rs, b_cs) = (b.strides()[0], b.strides()[1]);
    // SAFETY: `c` is a freshly allocated, contiguous m x n row-major matrix (row stride n, column stride 1),
    // and `a` (m x k) and `b` (k x n) are valid views whose strides, in elements, are passed as they are, so
    // every index gemm reads or writes lies inside the three arrays. `T` is f32 or f64 (the only `Float`
    // types), which gemm supports; with `read_dst = false` the initial contents of `c` are ignored.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            false,
            a.as_ptr(),
            a_cs,
            a_rs,
            b.as_ptr(),
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
    c
}

/// For `C = op(A)·op(B)`: `dA` and `dB` as matrix products of the same family, so no operand is ever copied
/// to transpose it (`dA = g·Bᵀ`, `dB = Aᵀ·g` in the plain case).
pub(crate) fn matmul_backward<T: Float, A: Algebra<T>>(
    alg: &A,
    a: &A::V,
    b: &A::V,
    g: &A::V,
    ta: bool,
    tb: bool,
    needs: &[bool],
) -> InputGrads<A::V> {
    let da = needs[0].then(|| {
        if ta {
            alg.matmul_t(b, g, tb, true)
        } else {
            alg.matmul_t(g, b, false, !tb)
        }
    });
    let db = needs[1].then(|| {
        if tb {
            alg.matmul_t(g, a, true, ta)
        } else {
            alg.matmul_t(a, g, !ta, false)
        }
    });
    smallvec![da, db]
}
