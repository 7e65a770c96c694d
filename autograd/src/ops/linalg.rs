//! The 2-D matrix product, with either operand optionally transposed so that backward passes hand transposed
//! operands to the kernel as strided views instead of copying them.

use ndarray::{ArrayD, ArrayView2, ArrayViewD, Ix2};
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
    if ma.ncols() != mb.nrows() {
        panic!(
            "matmul: shapes {:?} and {:?} are incompatible",
            ma.shape(),
            mb.shape()
        );
    }
    ma.dot(&mb).into_dyn()
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
