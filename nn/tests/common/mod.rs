//! Helpers shared by the layer tests: seeded random arrays, one-hot labels and relative comparisons.
//!
//! Each test file uses a different subset, hence the `dead_code` allowance.
#![allow(dead_code)]

pub mod npz_files;
pub mod python;
pub mod safetensors_files;

use ndarray::{Array2, ArrayD, ArrayViewD};
use nn::Labels;
use rand::rngs::StdRng;
use rand::Rng;

/// `max |a − b| / max(|a|, |b|)` over all elements: the difference relative to the arrays' scale.
pub fn rel_diff(a: ArrayViewD<'_, f64>, b: ArrayViewD<'_, f64>) -> f64 {
    diff_over_scale(a, b, 0.0)
}

/// `max |a − b| / max(floor, |a|, |b|)` (the plain difference when that scale is 0).
fn diff_over_scale(a: ArrayViewD<'_, f64>, b: ArrayViewD<'_, f64>, floor: f64) -> f64 {
    assert_eq!(a.shape(), b.shape(), "shapes differ");
    let scale = a.iter().chain(b.iter()).fold(floor, |m, v| m.max(v.abs()));
    let diff = a
        .iter()
        .zip(&b)
        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()));
    if scale == 0.0 {
        diff
    } else {
        diff / scale
    }
}

#[track_caller]
pub fn assert_close(what: &str, a: ArrayViewD<'_, f64>, b: ArrayViewD<'_, f64>) {
    assert_close_at_scale(what, a, b, 0.0);
}

/// [`assert_close`] with the difference measured against a scale of at least `floor`: for results that are
/// differences of larger terms (softmax-with-loss's `(y − t)/N` with `y` near one-hot), whose rounding is relative
/// to those terms, not to the small result.
#[track_caller]
pub fn assert_close_at_scale(
    what: &str,
    a: ArrayViewD<'_, f64>,
    b: ArrayViewD<'_, f64>,
    floor: f64,
) {
    let r = diff_over_scale(a.view(), b.view(), floor);
    assert!(
        r <= 1e-10,
        "{what}: relative difference {r:e}\n{a}\nvs\n{b}"
    );
}

pub fn random(rng: &mut StdRng, shape: &[usize], range: f64) -> ArrayD<f64> {
    ArrayD::from_shape_fn(shape, |_| rng.random_range(-range..range))
}

/// Values away from ReLU's kink at 0, where finite differences are meaningless.
pub fn away_from_zero(rng: &mut StdRng, shape: &[usize]) -> ArrayD<f64> {
    random(rng, shape, 2.0).mapv(|v| {
        if v.abs() < 0.05 {
            v + 0.1f64.copysign(v)
        } else {
            v
        }
    })
}

pub fn one_hot(index: &[usize], classes: usize) -> Array2<f64> {
    Labels::<f64>::Indices(index).to_one_hot(classes)
}

pub fn matrix(a: &ArrayD<f64>) -> ndarray::ArrayView2<'_, f64> {
    a.view().into_dimensionality().unwrap()
}
