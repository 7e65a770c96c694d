//! `Init`: the empirical spread of large layers' weights against each rule's standard deviation, PyTorch's
//! uniform bounds, zero or non-zero biases, and determinism for a seed.

mod module_common;

use module_common::rng;
use ndarray::ArrayD;
use nn::module::{Conv2d, Init, Linear};

/// The sample mean and standard deviation.
fn mean_std(a: &ArrayD<f64>) -> (f64, f64) {
    let n = a.len() as f64;
    let mean = a.sum() / n;
    let var = a.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1.0);
    (mean, var.sqrt())
}

/// Asserts that `weights` look drawn from a distribution of mean 0 and standard deviation `std`: the
/// sample mean within 5 standard errors (`std/√n`), the sample deviation within 5 of its standard errors
/// (`std·√(κ−1)/(2√n)` with kurtosis κ: 3 for a normal, 1.8 for a uniform; `κ = 3` bounds both).
#[track_caller]
fn assert_spread(what: &str, weights: &ArrayD<f64>, std: f64) {
    let (mean, sample_std) = mean_std(weights);
    let n = weights.len() as f64;
    assert!(mean.abs() < 5.0 * std / n.sqrt(), "{what}: mean {mean}");
    let tolerance = 5.0 * std * (2.0f64).sqrt() / (2.0 * n.sqrt());
    assert!(
        (sample_std - std).abs() < tolerance,
        "{what}: std {sample_std}, expected {std} ± {tolerance}"
    );
}

#[test]
fn normal_rules_have_their_standard_deviations_and_zero_biases() {
    // (rule, expected standard deviation for fan-in 1000)
    let rules = [
        (Init::He, (2.0f64 / 1000.0).sqrt()),
        (Init::Xavier, (1.0f64 / 1000.0).sqrt()),
        (Init::Normal(0.01), 0.01),
    ];
    for (init, std) in rules {
        let layer = Linear::<f64>::with_init(1000, 300, init, &mut rng(1));
        assert_spread(&format!("Linear {init:?}"), &layer.weight, std);
        assert!(layer.bias.unwrap().iter().all(|&b| b == 0.0), "{init:?}");
    }
    // A convolution's fan-in is in_channels·kh·kw = 16·5·3 = 240.
    let conv = Conv2d::<f64>::with_init(16, 100, (5, 3), Init::He, &mut rng(2));
    assert_eq!(conv.weight.shape(), [100, 16, 5, 3]);
    assert_spread("Conv2d He", &conv.weight, (2.0f64 / 240.0).sqrt());
    assert!(conv.bias.unwrap().iter().all(|&b| b == 0.0));
}

#[test]
fn pytorchs_rule_is_uniform_within_one_over_root_fan_in_biases_included() {
    let layer = Linear::<f64>::new(400, 500, &mut rng(3));
    let bound = 1.0 / 400f64.sqrt();
    let conv = Conv2d::<f64>::new(8, 50, 3, &mut rng(4)); // fan-in 72
    let conv_bound = 1.0 / 72f64.sqrt();
    let arrays = [
        ("Linear weight", &layer.weight, bound),
        ("Linear bias", layer.bias.as_ref().unwrap(), bound),
        ("Conv2d weight", &conv.weight, conv_bound),
        ("Conv2d bias", conv.bias.as_ref().unwrap(), conv_bound),
    ];
    for (what, a, bound) in arrays {
        assert!(
            a.iter().all(|v| v.abs() <= bound),
            "{what}: outside ±{bound}"
        );
        // Non-zero, and not all the same.
        assert!(a.iter().all(|&v| v != 0.0), "{what}: a zero");
        let first = *a.iter().next().unwrap();
        assert!(a.iter().any(|&v| v != first), "{what}: all equal");
    }
    // Uniform on ±b: standard deviation b/√3, extremes near ±b.
    assert_spread("Linear weight", &layer.weight, bound / 3f64.sqrt());
    assert_spread("Conv2d weight", &conv.weight, conv_bound / 3f64.sqrt());
    let max = layer.weight.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    assert!(max > 0.999 * bound, "largest weight {max} of ±{bound}");
    let biases = layer.bias.as_ref().unwrap();
    assert!(biases.iter().any(|&b| b > bound / 2.0) && biases.iter().any(|&b| b < -bound / 2.0));
}

#[test]
fn layers_are_a_function_of_the_seed() {
    for init in [Init::PyTorch, Init::He, Init::Xavier, Init::Normal(0.1)] {
        let a = Linear::<f64>::with_init(20, 10, init, &mut rng(5));
        let b = Linear::<f64>::with_init(20, 10, init, &mut rng(5));
        let c = Linear::<f64>::with_init(20, 10, init, &mut rng(6));
        assert_eq!((&a.weight, &a.bias), (&b.weight, &b.bias), "{init:?}");
        assert_ne!(a.weight, c.weight, "{init:?}");
        let conv = |seed| Conv2d::<f64>::with_init(3, 4, (3, 3), init, &mut rng(seed)).weight;
        assert_eq!(conv(7), conv(7));
        assert_ne!(conv(7), conv(8));
    }
    // The weight is drawn first, in row-major order, then the bias: a layer is the rule's own draws.
    let mut r = rng(9);
    let weight = Init::PyTorch.weight::<f64>(&[3, 4], 4, &mut r);
    let bias = Init::PyTorch.bias::<f64>(3, 4, &mut r);
    let layer = Linear::<f64>::new(4, 3, &mut rng(9));
    assert_eq!((layer.weight, layer.bias), (weight, Some(bias)));
}

#[test]
fn f32_layers_draw_the_same_numbers_rounded() {
    let wide = Linear::<f64>::with_init(30, 20, Init::He, &mut rng(10));
    let narrow = Linear::<f32>::with_init(30, 20, Init::He, &mut rng(10));
    assert_eq!(narrow.weight, wide.weight.mapv(|w| w as f32));
}

#[test]
fn a_layer_without_inputs_gets_zero_biases_as_in_pytorch() {
    // PyTorch's bound is 1/√fan_in for fan_in > 0 and 0 otherwise.
    let layer = Linear::<f64>::new(0, 3, &mut rng(11));
    assert_eq!(layer.weight.shape(), [3, 0]);
    assert_eq!(
        layer.bias.unwrap(),
        ArrayD::<f64>::zeros(ndarray::IxDyn(&[3]))
    );
    let conv = Conv2d::<f64>::new(0, 2, 3, &mut rng(12));
    assert_eq!(
        conv.bias.unwrap(),
        ArrayD::<f64>::zeros(ndarray::IxDyn(&[2]))
    );
}
