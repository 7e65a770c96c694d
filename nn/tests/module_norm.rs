//! `BatchNorm` against statistics computed by loops: the training pass's normalisation, PyTorch's update of
//! the running statistics, the evaluation pass's use of them, the three input layouts, and wrong shapes.

mod module_common;

use autograd::Tape;
use module_common::{assert_close, assert_panics_with, normal, rng, uniform};
use ndarray::{ArrayD, IxDyn};
use nn::module::{BatchNorm, Module, ModuleExt, Pass};

/// Feature `c`'s mean, biased variance and count over every index of `x` whose axis 1 is `c`, by loops.
fn feature_stats(x: &ArrayD<f64>, c: usize) -> (f64, f64, usize) {
    let values: Vec<f64> = x
        .indexed_iter()
        .filter(|(i, _)| i[1] == c)
        .map(|(_, &v)| v)
        .collect();
    let n = values.len();
    let mean = values.iter().sum::<f64>() / n as f64;
    let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n as f64;
    (mean, var, n)
}

/// `x` with feature `c` scaled by `1 + c·1.5` and offset by `10·c − 5`: features of very different sizes.
fn uneven_features(shape: &[usize], seed: u64) -> ArrayD<f64> {
    let mut x = normal(&mut rng(seed), shape);
    for (i, v) in x.indexed_iter_mut() {
        let c = i[1] as f64;
        *v = *v * (1.0 + 1.5 * c) + 10.0 * c - 5.0;
    }
    x
}

/// `γ_c·(x − mean_c)/√(var_c + ε) + β_c` element-wise, for per-feature `mean` and `var`.
fn normalised_by_loops(
    x: &ArrayD<f64>,
    mean: &[f64],
    var: &[f64],
    bn: &BatchNorm<f64>,
) -> ArrayD<f64> {
    let mut y = x.clone();
    for (i, v) in y.indexed_iter_mut() {
        let c = i[1];
        *v = bn.weight[[c]] * (*v - mean[c]) / (var[c] + bn.eps).sqrt() + bn.bias[[c]];
    }
    y
}

fn train(bn: &BatchNorm<f64>, x: &ArrayD<f64>) -> ArrayD<f64> {
    let tape = Tape::new();
    Pass::train(bn, &tape, rng(0))
        .forward(tape.constant(x.clone()))
        .value()
}

fn layouts() -> [(BatchNorm<f64>, Vec<usize>); 3] {
    [
        (BatchNorm::new_1d(3), vec![8, 3]),
        (BatchNorm::new_1d(3), vec![5, 3, 4]),
        (BatchNorm::new_2d(3), vec![4, 3, 5, 6]),
    ]
}

#[test]
fn a_training_pass_normalises_each_feature_by_its_batch_statistics() {
    for (k, (mut bn, shape)) in layouts().into_iter().enumerate() {
        let x = uneven_features(&shape, 50 + k as u64);
        // γ = 1, β = 0: each feature has mean 0 and biased variance v/(v + ε) (1 but for ε).
        let y = train(&bn, &x);
        for c in 0..3 {
            let (_, v_var, _) = feature_stats(&x, c);
            let (y_mean, y_var, _) = feature_stats(&y, c);
            assert!(y_mean.abs() < 1e-12, "{shape:?} feature {c}: mean {y_mean}");
            let expected = v_var / (v_var + bn.eps);
            assert!(
                (y_var - expected).abs() < 1e-12,
                "{shape:?} feature {c}: var {y_var}, expected {expected}"
            );
        }
        // Any γ and β: the whole formula, element by element.
        bn.weight = uniform(&mut rng(60), &[3], 0.5, 2.0);
        bn.bias = uniform(&mut rng(61), &[3], -1.0, 1.0);
        let (mean, var): (Vec<f64>, Vec<f64>) = (0..3)
            .map(|c| feature_stats(&x, c))
            .map(|(m, v, _)| (m, v))
            .unzip();
        let expected = normalised_by_loops(&x, &mean, &var, &bn);
        assert_close(
            &format!("{shape:?}"),
            train(&bn, &x).view(),
            expected.view(),
            1e-12,
        );
    }
}

#[test]
fn running_statistics_follow_pytorchs_update_over_two_passes() {
    for (k, (bn, shape)) in layouts().into_iter().enumerate() {
        let batches = [
            uneven_features(&shape, 70 + k as u64),
            uneven_features(&shape, 80 + k as u64),
        ];
        // PyTorch: running ← 0.9·running + 0.1·batch, from mean 0 and variance 1, the batch's variance
        // unbiased: biased · n/(n − 1).
        let (mut mean, mut var) = (vec![0.0; 3], vec![1.0; 3]);
        for x in &batches {
            train(&bn, x);
            for c in 0..3 {
                let (m, v, n) = feature_stats(x, c);
                mean[c] = 0.9 * mean[c] + 0.1 * m;
                var[c] = 0.9 * var[c] + 0.1 * v * n as f64 / (n as f64 - 1.0);
            }
        }
        let what = format!("{shape:?}");
        let running_mean = bn.running_mean.lock().unwrap().clone();
        let running_var = bn.running_var.lock().unwrap().clone();
        assert_close(
            &what,
            running_mean.view(),
            ArrayD::from_shape_vec(IxDyn(&[3]), mean).unwrap().view(),
            1e-14,
        );
        assert_close(
            &what,
            running_var.view(),
            ArrayD::from_shape_vec(IxDyn(&[3]), var).unwrap().view(),
            1e-14,
        );
        // The batches' variances are far from 1 and differ between features: the update really happened.
        assert!(
            running_var[[2]] > 2.0 * running_var[[0]],
            "{what}: {running_var}"
        );
    }
}

#[test]
fn the_momentum_field_is_the_weight_of_a_batch() {
    let mut bn = BatchNorm::<f64>::new_1d(2);
    bn.momentum = 0.25;
    let x = ndarray::array![[1.0, -2.0], [3.0, 4.0], [8.0, 1.0]].into_dyn();
    train(&bn, &x);
    // Means 4 and 1; unbiased variances ((9 + 1 + 16)/2, (9 + 9 + 0)/2) = (13, 9).
    let expected_mean = ndarray::array![0.25 * 4.0, 0.25 * 1.0].into_dyn();
    let expected_var = ndarray::array![0.75 + 0.25 * 13.0, 0.75 + 0.25 * 9.0].into_dyn();
    assert_close(
        "mean",
        bn.running_mean.lock().unwrap().view(),
        expected_mean.view(),
        1e-15,
    );
    assert_close(
        "var",
        bn.running_var.lock().unwrap().view(),
        expected_var.view(),
        1e-15,
    );
}

#[test]
fn an_evaluation_pass_uses_the_running_statistics_and_leaves_them_alone() {
    for (k, (mut bn, shape)) in layouts().into_iter().enumerate() {
        let r = &mut rng(90 + k as u64);
        bn.weight = uniform(r, &[3], 0.5, 2.0);
        bn.bias = uniform(r, &[3], -1.0, 1.0);
        let (mean, var) = (uniform(r, &[3], -3.0, 3.0), uniform(r, &[3], 0.5, 4.0));
        *bn.running_mean.lock().unwrap() = mean.clone();
        *bn.running_var.lock().unwrap() = var.clone();
        let x = uneven_features(&shape, 95 + k as u64);
        let expected =
            normalised_by_loops(&x, mean.as_slice().unwrap(), var.as_slice().unwrap(), &bn);
        let what = format!("{shape:?}");
        assert_close(&what, bn.predict(x.clone()).view(), expected.view(), 1e-12);
        // Unchanged, bit for bit; and each sample's output is its own, whatever the rest of the batch.
        assert_eq!(*bn.running_mean.lock().unwrap(), mean);
        assert_eq!(*bn.running_var.lock().unwrap(), var);
        let first = x.slice_axis(ndarray::Axis(0), (0..1).into()).to_owned();
        let alone = bn.predict(first);
        assert_close(
            &what,
            alone.view(),
            expected.slice_axis(ndarray::Axis(0), (0..1).into()),
            1e-12,
        );
    }
}

#[test]
fn the_running_statistics_are_buffers_in_the_state_dict_not_parameters() {
    let bn = BatchNorm::<f64>::new_2d(4);
    let state = bn.state_dict();
    assert_eq!(
        state.names().collect::<Vec<_>>(),
        ["weight", "bias", "running_mean", "running_var"]
    );
    assert_eq!(state["weight"], ArrayD::<f64>::ones(IxDyn(&[4])));
    assert_eq!(state["bias"], ArrayD::<f64>::zeros(IxDyn(&[4])));
    assert_eq!(state["running_mean"], ArrayD::<f64>::zeros(IxDyn(&[4])));
    assert_eq!(state["running_var"], ArrayD::<f64>::ones(IxDyn(&[4])));
    assert_eq!(
        bn.parameters().names().collect::<Vec<_>>(),
        ["weight", "bias"]
    );
    assert_eq!(bn.num_parameters(), 8);
    assert_eq!(
        format!("{:?}", &bn as &dyn Module<f64>),
        "BatchNorm2d(4, eps=0.00001, momentum=0.1)"
    );
}

#[test]
fn wrong_shapes_panic_naming_batch_norm_and_the_shape() {
    let (bn1, bn2) = (BatchNorm::<f64>::new_1d(3), BatchNorm::<f64>::new_2d(3));
    let eval = |bn: &BatchNorm<f64>, shape: &[usize]| {
        bn.predict(ArrayD::zeros(IxDyn(shape)));
    };
    assert_panics_with(&["BatchNorm1d(3)", "[4, 5]"], || eval(&bn1, &[4, 5]));
    assert_panics_with(&["BatchNorm1d(3)", "[4, 3, 2, 2]"], || {
        eval(&bn1, &[4, 3, 2, 2])
    });
    assert_panics_with(&["BatchNorm1d(3)", "[3]"], || eval(&bn1, &[3]));
    assert_panics_with(&["BatchNorm2d(3)", "[4, 3, 5]"], || eval(&bn2, &[4, 3, 5]));
    assert_panics_with(&["BatchNorm2d(3)", "[4, 2, 5, 5]"], || {
        eval(&bn2, &[4, 2, 5, 5])
    });
    // As PyTorch, a training pass needs two values per feature to have a variance; evaluation does not.
    assert_panics_with(&["BatchNorm1d(3)", "[1, 3]", "at least 2"], || {
        train(&bn1, &ArrayD::zeros(IxDyn(&[1, 3])));
    });
    assert_eq!(bn1.predict(ArrayD::zeros(IxDyn(&[1, 3]))).shape(), [1, 3]);
    assert_eq!(
        train(&bn1, &ArrayD::zeros(IxDyn(&[1, 3, 2]))).shape(),
        [1, 3, 2]
    );
}
