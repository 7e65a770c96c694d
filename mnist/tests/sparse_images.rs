//! The two-layer net's sparse images: the same floats as the dense conversion, bit for bit, and training on
//! them is training on the dense batch (to rounding).

use autograd::SparseMatrix;
use mnist::config::{ModelChoice, RunConfig};
use mnist::model::Model;
use mnist::train::{Images, Learner};
use mnist::Split;
use ndarray::Array2;

/// Three images that hold every byte value (and zeros at a fifth of the pixels).
fn every_byte_value() -> Split {
    let images = Array2::from_shape_fn((3, 784), |(i, j)| {
        if j % 5 == 0 {
            0
        } else {
            ((i * 784 + j) % 256) as u8
        }
    });
    Split::new(images, vec![1, 2, 3])
}

#[test]
fn sparse_images_hold_exactly_the_dense_conversions_floats() {
    let split = every_byte_value();
    let bytes = split.images_u8();
    assert!((0..=255u8).all(|p| bytes.iter().any(|&b| b == p)));
    let sparse = split.sparse::<f32>();
    assert_eq!(sparse.nnz(), bytes.iter().filter(|&&p| p != 0).count());
    let (dense, from_sparse) = (split.images_float::<f32>(0..3), sparse.to_dense());
    assert!(dense
        .iter()
        .zip(&from_sparse)
        .all(|(a, b)| a.to_bits() == b.to_bits()));
    let (dense, from_sparse) = (
        split.images_float::<f64>(0..3),
        split.sparse::<f64>().to_dense(),
    );
    assert!(dense
        .iter()
        .zip(&from_sparse)
        .all(|(a, b)| a.to_bits() == b.to_bits()));
    // Rows drawn from the sparse matrix are the rows of the dense batch.
    let rows = [2, 0, 2];
    let drawn = sparse.select_rows(rows).to_dense();
    assert_eq!(drawn, split.batch::<f32>(&rows));
}

#[test]
fn the_two_layer_net_trains_on_sparse_images_as_on_dense_ones() {
    let config = RunConfig {
        hidden_size: 8,
        learning_rate: 0.5,
        ..RunConfig::default()
    };
    let (mut dense, mut sparse) = (Model::<f64>::new(&config), Model::<f64>::new(&config));
    assert!(sparse.takes_sparse_images());
    let split = every_byte_value();
    let x = split.images_float::<f64>(0..3);
    let labels = [1, 2, 3];
    for _ in 0..5 {
        let a = dense.step(Images::Dense(x.clone()), &labels);
        let b = sparse.step(Images::Sparse(SparseMatrix::from_dense(x.view())), &labels);
        assert!(
            (a - b).abs() <= 1e-12 * a.abs(),
            "loss {a} dense, {b} sparse"
        );
    }
    let probe = Images::Dense(x.clone());
    assert_eq!(
        dense.predict_classes(&probe),
        sparse.predict_classes(&probe)
    );
    let sparse_probe = Images::Sparse(split.sparse::<f64>());
    assert_eq!(
        sparse.predict_classes(&sparse_probe),
        sparse.predict_classes(&probe)
    );
}

#[test]
fn the_convolutional_net_takes_dense_images() {
    let cnn = Model::<f32>::new(&ModelChoice::Cnn.defaults());
    assert!(!cnn.takes_sparse_images());
}

#[test]
#[should_panic(expected = "SimpleConvNet takes dense images, got sparse ones")]
fn sparse_images_for_the_convolutional_net_are_refused() {
    let mut cnn = Model::<f32>::new(&ModelChoice::Cnn.defaults());
    let x = every_byte_value().sparse::<f32>();
    cnn.step(Images::Sparse(x), &[1, 2, 3]);
}

#[test]
fn a_run_that_asks_for_dense_images_gets_them() {
    let dense = Model::<f32>::new(&RunConfig {
        dense_images: true,
        ..RunConfig::default()
    });
    assert!(!dense.takes_sparse_images());
    assert!(Model::<f32>::new(&RunConfig::default()).takes_sparse_images());
}

#[test]
fn settings_saved_before_sparse_images_read_as_sparse() {
    let mut saved = serde_json::to_value(RunConfig::default()).unwrap();
    assert_eq!(saved["dense_images"], false);
    saved.as_object_mut().unwrap().remove("dense_images");
    let read: RunConfig = serde_json::from_value(saved).unwrap();
    assert_eq!(read, RunConfig::default());
}
