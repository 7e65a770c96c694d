//! The two-layer net: initialisation, the lecture's methods, backprop against numerical gradients and against
//! the manual layers, and that it learns.

use ndarray::{array, Array1, Array2, ArrayD, Ix1, Ix2};
use nn::layers::manual;
use nn::net::Layer;
use nn::optim::{Optimizer, Sgd};
use nn::{Labels, LayerKind, Params, TwoLayerNet};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const KINDS: [LayerKind; 2] = [LayerKind::Composed, LayerKind::Fused];

/// A batch of `n` inputs of width `d` and random class indices below `c`.
fn batch(seed: u64, n: usize, d: usize, c: usize) -> (Array2<f64>, Vec<usize>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let x = Array2::from_shape_fn((n, d), |_| rng.random_range(-1.0..1.0));
    let t = (0..n).map(|_| rng.random_range(0..c)).collect();
    (x, t)
}

fn max_rel_diff(a: &Params<f64>, b: &Params<f64>) -> f64 {
    assert!(a.same_layout(b), "layouts differ");
    a.iter()
        .zip(b)
        .map(|((_, a), (_, b))| {
            let scale = a.iter().chain(b.iter()).fold(0.0f64, |m, v| m.max(v.abs()));
            let diff = a
                .iter()
                .zip(b)
                .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()));
            diff / scale.max(f64::MIN_POSITIVE)
        })
        .fold(0.0, f64::max)
}

#[test]
fn the_net_has_the_lectures_parameters_and_layers_in_order() {
    let net = TwoLayerNet::<f32>::new(784, 50, 10, 0.01);
    let layout: Vec<(&str, Vec<usize>)> = net
        .params
        .iter()
        .map(|(n, a)| (n, a.shape().to_vec()))
        .collect();
    assert_eq!(
        layout,
        [
            ("W1", vec![784, 50]),
            ("b1", vec![50]),
            ("W2", vec![50, 10]),
            ("b2", vec![10])
        ]
    );
    let names: Vec<&str> = net.layers().iter().map(|(name, _)| *name).collect();
    assert_eq!(names, ["Affine1", "Relu1", "Affine2"]);
    assert_eq!(
        net.layers()[0].1,
        Layer::Affine {
            weight: "W1",
            bias: "b1"
        }
    );
    assert_eq!(net.kind, LayerKind::Fused);
}

#[test]
fn weights_are_scaled_standard_normal_draws_and_biases_are_zero() {
    let net = TwoLayerNet::<f64>::new_seeded(784, 50, 10, 0.01, 1);
    let w1 = &net.params["W1"];
    let n = w1.len() as f64;
    let mean = w1.sum() / n;
    let std = (w1.mapv(|v| (v - mean).powi(2)).sum() / n).sqrt();
    assert!(
        mean.abs() < 0.0005 && (std - 0.01).abs() < 0.0005,
        "mean {mean}, std {std}"
    );
    assert!(net.params["b1"]
        .iter()
        .chain(net.params["b2"].iter())
        .all(|&b| b == 0.0));
}

#[test]
fn the_same_seed_gives_the_same_net_in_f32_and_f64_and_another_seed_does_not() {
    let a = TwoLayerNet::<f64>::new_seeded(6, 5, 3, 0.1, 42);
    let b = TwoLayerNet::<f64>::new_seeded(6, 5, 3, 0.1, 42);
    let c = TwoLayerNet::<f64>::new_seeded(6, 5, 3, 0.1, 43);
    let single = TwoLayerNet::<f32>::new_seeded(6, 5, 3, 0.1, 42);
    assert_eq!(a.params, b.params);
    assert_ne!(a.params, c.params);
    for ((_, x), (_, y)) in a.params.iter().zip(&single.params) {
        assert!(x.iter().zip(y).all(|(&x, &y)| x as f32 == y));
    }
    let mut rng = StdRng::seed_from_u64(42);
    assert_eq!(
        TwoLayerNet::<f64>::with_rng(6, 5, 3, 0.1, &mut rng).params,
        a.params
    );
}

#[test]
fn backprop_gradient_matches_the_numerical_gradient_for_both_layer_kinds_and_label_forms() {
    let (x, t) = batch(1, 6, 5, 3);
    let one_hot = Labels::<f64>::Indices(&t).to_one_hot(3);
    let mut net = TwoLayerNet::<f64>::new_seeded(5, 4, 3, 1.0, 2);
    for kind in KINDS {
        net.kind = kind;
        for labels in [Labels::Indices(&t), Labels::OneHot(one_hot.view())] {
            let (loss, backprop) = net.gradient(x.view(), labels);
            let numerical = net.numerical_gradient(x.view(), labels);
            let r = max_rel_diff(&backprop, &numerical);
            assert!(r < 1e-6, "{kind:?}: relative difference {r:e}");
            assert!((loss - net.loss(x.view(), labels)).abs() < 1e-12);
        }
    }
}

#[test]
fn composed_and_fused_nets_give_the_same_loss_and_gradients() {
    let (x, t) = batch(3, 8, 7, 4);
    let mut net = TwoLayerNet::<f64>::new_seeded(7, 6, 4, 0.5, 4);
    net.kind = LayerKind::Composed;
    let (loss_c, grads_c) = net.gradient(x.view(), &t);
    net.kind = LayerKind::Fused;
    let (loss_f, grads_f) = net.gradient(x.view(), &t);
    assert!((loss_c - loss_f).abs() <= 1e-10 * loss_c.abs());
    assert!(max_rel_diff(&grads_c, &grads_f) <= 1e-10);
}

#[test]
fn backprop_gradient_equals_the_manual_layers_chain_rule_by_hand() {
    let (x, t) = batch(5, 8, 7, 4);
    let net = TwoLayerNet::<f64>::new_seeded(7, 6, 4, 0.5, 6);
    let matrix = |a: &ArrayD<f64>| a.clone().into_dimensionality::<Ix2>().unwrap();
    let vector = |a: &ArrayD<f64>| a.clone().into_dimensionality::<Ix1>().unwrap();
    let p = &net.params;
    let mut affine1 = manual::Affine::new(matrix(&p["W1"]), vector(&p["b1"]));
    let mut relu1 = manual::Relu::new();
    let mut affine2 = manual::Affine::new(matrix(&p["W2"]), vector(&p["b2"]));
    let mut last = manual::SoftmaxWithLoss::new();
    let scores = affine2.forward(relu1.forward(affine1.forward(x.view()).view()).view());
    let loss = last.forward(scores.view(), Labels::Indices(&t));
    affine1.backward(
        relu1
            .backward(affine2.backward(last.backward(1.0).view()).view())
            .view(),
    );
    let manual: Params<f64> = [
        ("W1", affine1.dw.unwrap().into_dyn()),
        ("b1", affine1.db.unwrap().into_dyn()),
        ("W2", affine2.dw.unwrap().into_dyn()),
        ("b2", affine2.db.unwrap().into_dyn()),
    ]
    .into_iter()
    .collect();

    let (net_loss, grads) = net.gradient(x.view(), &t);
    assert!((net_loss - loss).abs() <= 1e-10 * loss);
    assert!(max_rel_diff(&grads, &manual) <= 1e-10);
    let predicted = net.predict(&x.view());
    assert!(predicted
        .iter()
        .zip(&scores)
        .all(|(a, b)| (a - b).abs() <= 1e-12));
}

#[test]
fn f32_gradients_are_close_to_f64_gradients() {
    let (x, t) = batch(7, 10, 8, 5);
    let net64 = TwoLayerNet::<f64>::new_seeded(8, 6, 5, 0.3, 8);
    let net32 = TwoLayerNet::<f32>::new_seeded(8, 6, 5, 0.3, 8);
    let (loss64, grads64) = net64.gradient(x.view(), &t);
    let (loss32, grads32) = net32.gradient(x.mapv(|v| v as f32).view(), &t);
    let widened: Params<f64> = grads32
        .iter()
        .map(|(n, a)| (n, a.mapv(f64::from)))
        .collect();
    assert!((f64::from(loss32) - loss64).abs() < 1e-5);
    assert!(max_rel_diff(&widened, &grads64) < 1e-4);
}

#[test]
fn accuracy_counts_rows_whose_top_score_is_the_label_for_indices_and_one_hot_labels() {
    // W2 = I and zero biases: the scores are relu(x·W1) = x for non-negative x with W1 = I.
    let mut net = TwoLayerNet::<f64>::new_seeded(3, 3, 3, 0.1, 0);
    net.params["W1"] = Array2::eye(3).into_dyn();
    net.params["W2"] = Array2::eye(3).into_dyn();
    let x = array![
        [1.0, 0.0, 0.0],
        [0.0, 2.0, 1.0],
        [0.0, 0.0, 3.0],
        [5.0, 4.0, 0.0]
    ];
    let t = vec![0, 1, 2, 1]; // the last row's top score is class 0
    assert_eq!(net.predict(&x.view()), x);
    assert_eq!(net.accuracy(x.view(), &t), 0.75);
    assert_eq!(
        net.accuracy(x.view(), &Labels::<f64>::Indices(&t).to_one_hot(3)),
        0.75
    );
}

#[test]
fn loss_of_a_net_with_tiny_weights_is_ln_of_the_class_count() {
    let net = TwoLayerNet::<f32>::new_seeded(784, 50, 10, 1e-6, 3);
    let x = Array2::<f32>::from_elem((4, 784), 0.5);
    let loss = net.loss(x.view(), &vec![0, 3, 9, 5]);
    assert!((loss - 10f32.ln()).abs() < 1e-4, "{loss}");
}

#[test]
fn sgd_on_the_gradient_learns_a_separable_problem() {
    // Three clusters in the plane; the net must separate them.
    let mut rng = StdRng::seed_from_u64(9);
    let centres = [[2.0, 0.0], [-1.0, 1.7], [-1.0, -1.7]];
    let t: Vec<usize> = (0..150).map(|i| i % 3).collect();
    let x = Array2::from_shape_fn((150, 2), |(i, j)| {
        centres[t[i]][j] + rng.random_range(-0.5f32..0.5)
    });
    let mut net = TwoLayerNet::<f32>::new_seeded(2, 16, 3, 0.5, 10);
    let mut sgd = Sgd::new(0.5);
    let first = net.loss(x.view(), &t);
    for _ in 0..200 {
        let (_, grads) = net.gradient(x.view(), &t);
        sgd.update(&mut net.params, &grads);
    }
    let last = net.loss(x.view(), &t);
    assert!(last < first / 10.0, "loss {first} -> {last}");
    assert_eq!(net.accuracy(x.view(), &t), 1.0);
}

#[test]
#[should_panic(expected = "2 labels for a batch of 3")]
fn gradient_rejects_labels_for_another_batch_size() {
    let net = TwoLayerNet::<f64>::new_seeded(2, 2, 2, 0.1, 0);
    net.gradient(Array2::zeros((3, 2)).view(), &vec![0, 1]);
}

#[test]
fn gradients_come_back_with_the_parameters_names_shapes_and_order() {
    let (x, t) = batch(11, 4, 5, 3);
    let net = TwoLayerNet::<f64>::new_seeded(5, 4, 3, 0.1, 12);
    let (_, grads) = net.gradient(x.view(), &t);
    assert!(grads.same_layout(&net.params));
    let db2: Array1<f64> = grads["b2"].clone().into_dimensionality().unwrap();
    assert!(
        db2.sum().abs() < 1e-12,
        "the output bias gradient Σ(y − t)/N sums to 0"
    );
}
