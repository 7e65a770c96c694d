//! The matrix-product kernel: the `gemm` crate's, with its AVX-512 kernels compiled in (`x86-v4`; the kernel is
//! chosen at run time, so machines without AVX-512 fall back to AVX2 or scalar code) and any strides, so
//! transposed operands are passed as strided views instead of being copied.
//!
//! Measured on the MNIST shapes against ndarray's `dot` (matrixmultiply, AVX2) on a quiet AVX-512 machine
//! (`cargo bench -p autograd --bench matmul`, figures in `bench/README.md`): `[100, 784]·[784, 50]` 2.4x
//! faster, `[100, 784]ᵀ·[100, 50]` (a transposed view) 1.9x, `[2000, 784]·[784, 50]` 2.3x.

use ndarray::{Array2, ArrayD, ArrayRef, ArrayView2, Ix2, IxDyn};

use crate::Float;

/// The `matmul` op's forward: the product of two 2-D operands of any strides.
///
/// # Panics
/// When an operand is not 2-D or the inner dimensions differ, naming both shapes.
#[track_caller]
pub(crate) fn matmul_dyn<T: Float>(a: &ArrayRef<T, IxDyn>, b: &ArrayRef<T, IxDyn>) -> ArrayD<T> {
    fn as_matrix<T: Float>(x: &ArrayRef<T, IxDyn>) -> Option<ArrayView2<'_, T>> {
        x.view().into_dimensionality::<Ix2>().ok()
    }
    let (Some(ma), Some(mb)) = (as_matrix(a), as_matrix(b)) else {
        panic!(
            "matmul: expected 2-D operands, got shapes {:?} and {:?}",
            a.shape(),
            b.shape()
        )
    };
    matmul(&ma, &mb).into_dyn()
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
