//! The element types a tape can hold: `f32` for training, `f64` for gradient checks.

use std::fmt::{Debug, Display};
use std::iter::Sum;
use std::ops::{AddAssign, DivAssign, MulAssign, SubAssign};

/// A floating-point element type the engine computes with.
///
/// Implemented for `f32` and `f64`; the bounds are what ndarray's arithmetic, matrix products and reductions
/// need. Use [`Float::lit`] to turn an `f64` constant into the element type inside generic code.
///
/// ```
/// use autograd::Float;
/// fn half<T: Float>() -> T { T::lit(0.5) }
/// assert_eq!(half::<f32>(), 0.5f32);
/// ```
pub trait Float:
    num_traits::Float
    + crate::Scalar
    + num_traits::FromPrimitive
    + ndarray::LinalgScalar
    + ndarray::ScalarOperand
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + Sum
    + Debug
    + Display
    + Default
    + Send
    + Sync
    + 'static
{
    /// The value of an `f64` constant in this type (rounded for `f32`).
    fn lit(x: f64) -> Self;
    /// This value widened (or kept) as `f64`.
    fn to_f64(self) -> f64;
    /// The nearest integer, halves rounded to even (NumPy's and PyTorch's `round`).
    fn round_half_even(self) -> Self;
}

impl Float for f32 {
    fn lit(x: f64) -> Self {
        x as f32
    }
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    fn round_half_even(self) -> Self {
        self.round_ties_even()
    }
}

impl Float for f64 {
    fn lit(x: f64) -> Self {
        x
    }
    fn to_f64(self) -> f64 {
        self
    }
    fn round_half_even(self) -> Self {
        self.round_ties_even()
    }
}
