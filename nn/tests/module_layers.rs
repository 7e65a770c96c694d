//! The layers' forward passes against independent references written as loops over the definitions (in f64,
//! to 1e-12), their input gradients against finite differences, and their refusals of wrong shapes.

mod module_common;

use autograd::{gradcheck, Tape, Var};
use module_common::{assert_close, assert_panics_with, normal, rng, uniform};
use ndarray::{Array4, ArrayD, Ix4, IxDyn};
use nn::module::{
    AvgPool2d, Conv2d, Flatten, Linear, MaxPool2d, Module, ModuleExt, Pass, ReLU, Sigmoid, Tanh,
};

/// `y[…, o] = b[o] + Σ_k x[…, k]·W[o, k]`, over every leading index of `x`.
fn linear_by_loops(x: &ArrayD<f64>, w: &ArrayD<f64>, b: Option<&ArrayD<f64>>) -> ArrayD<f64> {
    let (out, inp) = (w.shape()[0], w.shape()[1]);
    let rows = x.len() / inp;
    let xs = x.as_slice().unwrap();
    let mut shape = x.shape().to_vec();
    *shape.last_mut().unwrap() = out;
    let mut y = Vec::with_capacity(rows * out);
    for r in 0..rows {
        for o in 0..out {
            let mut sum = b.map_or(0.0, |b| b[[o]]);
            for k in 0..inp {
                sum += xs[r * inp + k] * w[[o, k]];
            }
            y.push(sum);
        }
    }
    ArrayD::from_shape_vec(IxDyn(&shape), y).unwrap()
}

#[test]
fn linear_is_x_times_w_transposed_plus_b() {
    let r = &mut rng(1);
    let mut layer = Linear::<f64>::new(4, 3, r);
    assert_eq!(layer.weight.shape(), [3, 4]);
    assert_eq!(layer.bias.as_ref().unwrap().shape(), [3]);
    layer.weight = normal(r, &[3, 4]);
    layer.bias = Some(normal(r, &[3]));
    for shape in [vec![5, 4], vec![2, 3, 4], vec![4]] {
        let x = normal(r, &shape);
        let expected = linear_by_loops(&x, &layer.weight, layer.bias.as_ref());
        assert_close(
            &format!("Linear on {shape:?}"),
            layer.predict(x.clone()).view(),
            expected.view(),
            1e-12,
        );
    }
    let unbiased = layer.clone().without_bias();
    assert!(unbiased.bias.is_none());
    let x = normal(r, &[6, 4]);
    assert_close(
        "Linear without bias",
        unbiased.predict(x.clone()).view(),
        linear_by_loops(&x, &unbiased.weight, None).view(),
        1e-12,
    );
    assert_eq!(
        format!("{:?}", &unbiased as &dyn Module<f64>),
        "Linear(in_features=4, out_features=3, bias=false)"
    );
}

/// `y[n, o, i, j] = b[o] + Σ_{c, p, q} x_padded[n, c, i·sh + p, j·sw + q]·w[o, c, p, q]`.
fn conv_by_loops(
    x: &Array4<f64>,
    w: &Array4<f64>,
    b: Option<&[f64]>,
    stride: (usize, usize),
    pad: (usize, usize),
) -> Array4<f64> {
    let (n, c, h, wd) = x.dim();
    let (o, _, kh, kw) = w.dim();
    let oh = (h + 2 * pad.0 - kh) / stride.0 + 1;
    let ow = (wd + 2 * pad.1 - kw) / stride.1 + 1;
    let at = |bn: usize, ch: usize, row: usize, col: usize| -> f64 {
        match (row.checked_sub(pad.0), col.checked_sub(pad.1)) {
            (Some(r), Some(c)) if r < h && c < wd => x[[bn, ch, r, c]],
            _ => 0.0,
        }
    };
    Array4::from_shape_fn((n, o, oh, ow), |(bn, oc, i, j)| {
        let mut sum = b.map_or(0.0, |b| b[oc]);
        for ch in 0..c {
            for p in 0..kh {
                for q in 0..kw {
                    sum += at(bn, ch, i * stride.0 + p, j * stride.1 + q) * w[[oc, ch, p, q]];
                }
            }
        }
        sum
    })
}

#[test]
fn conv2d_is_the_loop_convolution_over_strides_paddings_channels_and_odd_sizes() {
    let r = &mut rng(2);
    // (in channels, out channels, kernel, stride, padding, height, width)
    let cases = [
        (1, 2, (3, 3), (1, 1), (0, 0), 5, 5),
        (3, 4, (3, 3), (2, 2), (1, 1), 7, 9),
        (2, 3, (3, 2), (2, 1), (1, 2), 6, 5),
        (2, 2, (2, 3), (3, 2), (2, 0), 9, 8),
        (4, 1, (1, 1), (1, 1), (0, 0), 3, 3),
        (1, 3, (5, 5), (1, 1), (2, 2), 5, 7),
    ];
    for (c, oc, kernel, stride, padding, h, w) in cases {
        let mut conv = Conv2d::<f64>::with_init(c, oc, kernel, nn::module::Init::PyTorch, r);
        assert_eq!(conv.weight.shape(), [oc, c, kernel.0, kernel.1]);
        conv.weight = normal(r, &[oc, c, kernel.0, kernel.1]);
        conv.bias = Some(normal(r, &[oc]));
        conv.stride = stride;
        conv.padding = padding;
        let x = normal(r, &[2, c, h, w]);
        let x4 = x.clone().into_dimensionality::<Ix4>().unwrap();
        let w4 = conv.weight.clone().into_dimensionality::<Ix4>().unwrap();
        let b = conv.bias.as_ref().unwrap().as_slice().unwrap().to_vec();
        let what = format!(
            "Conv2d {c}→{oc} kernel {kernel:?} stride {stride:?} padding {padding:?} on {h}×{w}"
        );
        let expected = conv_by_loops(&x4, &w4, Some(&b), stride, padding).into_dyn();
        assert_close(
            &what,
            conv.predict(x.clone()).view(),
            expected.view(),
            1e-12,
        );
        let unbiased = conv.without_bias();
        let expected = conv_by_loops(&x4, &w4, None, stride, padding).into_dyn();
        assert_close(&what, unbiased.predict(x).view(), expected.view(), 1e-12);
    }
}

#[test]
fn conv2d_builders_set_both_directions_and_describe_like_pytorch() {
    let conv = Conv2d::<f64>::new(3, 8, 5, &mut rng(3))
        .stride(2)
        .padding(1);
    assert_eq!((conv.stride, conv.padding), ((2, 2), (1, 1)));
    assert_eq!(
        format!("{:?}", &conv as &dyn Module<f64>),
        "Conv2d(3, 8, kernel_size=(5, 5), stride=(2, 2), padding=(1, 1), bias=true)"
    );
}

/// Each window's maximum (`max = true`, padding −∞) or mean over `kh·kw` (padding zeros, counted).
fn pool_by_loops(
    x: &Array4<f64>,
    kernel: (usize, usize),
    stride: (usize, usize),
    pad: (usize, usize),
    max: bool,
) -> Array4<f64> {
    let (n, c, h, w) = x.dim();
    let oh = (h + 2 * pad.0 - kernel.0) / stride.0 + 1;
    let ow = (w + 2 * pad.1 - kernel.1) / stride.1 + 1;
    Array4::from_shape_fn((n, c, oh, ow), |(bn, ch, i, j)| {
        let mut acc = if max { f64::NEG_INFINITY } else { 0.0 };
        for p in 0..kernel.0 {
            for q in 0..kernel.1 {
                let (row, col) = (i * stride.0 + p, j * stride.1 + q);
                let v = match (row.checked_sub(pad.0), col.checked_sub(pad.1)) {
                    (Some(r), Some(c)) if r < h && c < w => x[[bn, ch, r, c]],
                    _ if max => f64::NEG_INFINITY,
                    _ => 0.0,
                };
                acc = if max { acc.max(v) } else { acc + v };
            }
        }
        if max {
            acc
        } else {
            acc / (kernel.0 * kernel.1) as f64
        }
    })
}

#[test]
fn pools_are_the_loop_maximum_and_mean_of_each_window() {
    let r = &mut rng(4);
    // (kernel, stride, padding, height, width)
    let cases = [
        (2, 2, 0, 4, 4),
        (3, 2, 1, 7, 6),
        (2, 1, 0, 5, 3),
        (3, 3, 1, 8, 7),
    ];
    for (k, s, p, h, w) in cases {
        let x = normal(r, &[2, 3, h, w]);
        let x4 = x.clone().into_dimensionality::<Ix4>().unwrap();
        let what = format!("kernel {k} stride {s} padding {p} on {h}×{w}");
        let max = MaxPool2d::new(k).stride(s).padding(p);
        let avg = AvgPool2d::new(k).stride(s).padding(p);
        let expected = pool_by_loops(&x4, (k, k), (s, s), (p, p), true).into_dyn();
        assert_close(
            &format!("MaxPool2d {what}"),
            max.predict(x.clone()).view(),
            expected.view(),
            1e-12,
        );
        let expected = pool_by_loops(&x4, (k, k), (s, s), (p, p), false).into_dyn();
        assert_close(
            &format!("AvgPool2d {what}"),
            avg.predict(x).view(),
            expected.view(),
            1e-12,
        );
    }
    // PyTorch's default stride is the kernel.
    assert_eq!(MaxPool2d::new(3).0.stride, (3, 3));
    assert_eq!(
        format!("{:?}", &AvgPool2d::new(2) as &dyn Module<f64>),
        "AvgPool2d(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0))"
    );
}

#[test]
fn flatten_keeps_the_batch_axis_and_the_row_major_order() {
    let x = ndarray::Array::range(0.0, 120.0, 1.0)
        .into_shape_with_order(IxDyn(&[2, 3, 4, 5]))
        .unwrap();
    let y = Flatten.predict(x.clone());
    assert_eq!(y.shape(), [2, 60]);
    assert_eq!(y.as_slice().unwrap(), x.as_slice().unwrap());
    assert_eq!(y[[1, 0]], 60.0);
    let matrix = normal(&mut rng(5), &[3, 7]);
    assert_eq!(Flatten.predict(matrix.clone()), matrix);
}

#[test]
fn activations_are_their_functions_element_wise() {
    let x = uniform(&mut rng(6), &[4, 5], -6.0, 6.0);
    assert_eq!(ReLU.predict(x.clone()), x.mapv(|v| v.max(0.0)));
    let sigmoid = x.mapv(|v| 1.0 / (1.0 + (-v).exp()));
    assert_close(
        "Sigmoid",
        Sigmoid.predict(x.clone()).view(),
        sigmoid.view(),
        1e-15,
    );
    assert_close(
        "Tanh",
        Tanh.predict(x.clone()).view(),
        x.mapv(f64::tanh).view(),
        1e-15,
    );
    assert_eq!(format!("{:?}", &Sigmoid as &dyn Module<f64>), "Sigmoid()");
}

/// `layer`'s gradient with respect to its input, in a training pass, against central differences.
#[track_caller]
fn check_input_gradient(what: &str, layer: &dyn Module<f64>, x: ArrayD<f64>) {
    let report = gradcheck(
        |v: &[Var<'_, f64>]| Pass::train(layer, v[0].tape(), rng(0)).forward(v[0]),
        &[x],
    );
    assert!(
        report.inputs[0].numeric.iter().any(|g| g.abs() > 1e-3),
        "{what}: vacuous check\n{report}"
    );
    assert!(report.max_rel_error() < 1e-8, "{what}:\n{report}");
}

#[test]
fn parameterless_layers_have_the_input_gradients_of_finite_differences() {
    let r = &mut rng(7);
    let x = uniform(r, &[2, 2, 5, 6], -2.0, 2.0);
    check_input_gradient("Sigmoid", &Sigmoid, x.clone());
    check_input_gradient("Tanh", &Tanh, x.clone());
    check_input_gradient(
        "AvgPool2d",
        &AvgPool2d::new(3).stride(2).padding(1),
        x.clone(),
    );
    check_input_gradient("Flatten", &Flatten, x.clone());
    // Distinct values a grid step apart: each window's maximum is unique and stays so under the step.
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by_key(|&i| (i * 7919) % x.len());
    let distinct = ArrayD::from_shape_vec(
        x.raw_dim(),
        order.iter().map(|&i| i as f64 * 0.01).collect(),
    )
    .unwrap();
    check_input_gradient("MaxPool2d", &MaxPool2d::new(2).stride(2), distinct.clone());
    check_input_gradient("ReLU", &ReLU, distinct - 0.295);
}

#[test]
fn wrong_shapes_panic_naming_the_layer_and_the_shapes() {
    let r = &mut rng(8);
    let linear = Linear::<f64>::new(4, 3, r);
    assert_panics_with(&["Linear(in_features=4, out_features=3)", "[2, 5]"], || {
        linear.predict(ArrayD::zeros(IxDyn(&[2, 5])));
    });
    let conv = Conv2d::<f64>::new(3, 2, 3, r);
    let name = "Conv2d(3, 2, kernel_size=(3, 3), stride=(1, 1), padding=(0, 0), bias=true)";
    assert_panics_with(
        &[name, "[1, 2, 5, 5]", "2 channels", "[2, 3, 3, 3]"],
        || {
            conv.predict(ArrayD::zeros(IxDyn(&[1, 2, 5, 5])));
        },
    );
    assert_panics_with(&[name, "[1, 3, 5]", "[N, C, H, W]"], || {
        conv.predict(ArrayD::zeros(IxDyn(&[1, 3, 5])));
    });
    assert_panics_with(&[name, "3×3 window", "[1, 3, 2, 5]"], || {
        conv.predict(ArrayD::zeros(IxDyn(&[1, 3, 2, 5])));
    });
    assert_panics_with(&["Conv2d(3, 2", "stride=(0, 1)", "[1, 3, 5, 5]"], || {
        let conv = Conv2d {
            stride: (0, 1),
            ..conv.clone()
        };
        conv.predict(ArrayD::zeros(IxDyn(&[1, 3, 5, 5])));
    });
    let pool = "MaxPool2d(kernel_size=(3, 3), stride=(3, 3), padding=(0, 0))";
    assert_panics_with(&[pool, "3×3 window", "[1, 1, 2, 2]"], || {
        MaxPool2d::new(3).predict(ArrayD::<f64>::zeros(IxDyn(&[1, 1, 2, 2])));
    });
    assert_panics_with(
        &["AvgPool2d(kernel_size=(2, 2)", "[4, 4]", "[N, C, H, W]"],
        || {
            AvgPool2d::new(2).predict(ArrayD::<f64>::zeros(IxDyn(&[4, 4])));
        },
    );
    // PyTorch's limit: padding at most half the kernel, else a max-pool window may be padding only.
    assert_panics_with(
        &[
            "MaxPool2d(kernel_size=(2, 2), stride=(1, 1), padding=(2, 2))",
            "half",
        ],
        || {
            MaxPool2d::new(2)
                .stride(1)
                .padding(2)
                .predict(ArrayD::<f64>::zeros(IxDyn(&[1, 1, 4, 4])));
        },
    );
    assert_panics_with(&["Flatten", "[3]"], || {
        Flatten.predict(ArrayD::<f64>::zeros(IxDyn(&[3])));
    });
}

/// A tape constant of `x`, for forward passes that are not differentiated.
fn constant<'t>(tape: &'t Tape<f64>, x: &ArrayD<f64>) -> Var<'t, f64> {
    tape.constant(x.clone())
}

mod dropout {
    use super::*;
    use nn::module::{Dropout, Sequential};

    #[test]
    fn evaluation_is_the_identity() {
        let x = normal(&mut rng(10), &[50, 20]);
        assert_eq!(Dropout::new(0.5).predict(x.clone()), x);
        // p = 0 is the identity in training too.
        let tape = Tape::new();
        let y = Pass::train(&Dropout::new(0.0), &tape, rng(1)).forward(constant(&tape, &x));
        assert_eq!(y.value(), x);
    }

    #[test]
    fn training_zeroes_a_fraction_p_and_scales_the_rest_by_exactly_one_over_one_minus_p() {
        let n = 100_000;
        let x = uniform(&mut rng(11), &[100, 1000], 0.5, 1.5); // no zeros of its own
        for p in [0.1, 0.3, 0.5, 0.9] {
            let tape = Tape::new();
            let y = Pass::train(&Dropout::new(p), &tape, rng(12))
                .forward(constant(&tape, &x))
                .value();
            let zeros = y.iter().filter(|&&v| v == 0.0).count() as f64;
            // The count of zeros is binomial(n, p): within 4 standard deviations of n·p.
            let sigma = (n as f64 * p * (1.0 - p)).sqrt();
            assert!(
                (zeros - n as f64 * p).abs() < 4.0 * sigma,
                "p = {p}: {zeros} zeros of {n}, expected {} ± {sigma:.0}",
                n as f64 * p
            );
            let scale = 1.0 / (1.0 - p);
            for (&out, &inp) in y.iter().zip(&x) {
                assert!(
                    out == 0.0 || out == inp * scale,
                    "p = {p}: {inp} became {out}"
                );
            }
        }
    }

    fn mask(p: f64, seed: u64) -> ArrayD<f64> {
        let tape = Tape::new();
        let ones = ArrayD::ones(IxDyn(&[1000]));
        Pass::train(&Dropout::new(p), &tape, rng(seed))
            .forward(constant(&tape, &ones))
            .value()
    }

    #[test]
    fn the_mask_is_a_function_of_the_seed() {
        assert_eq!(mask(0.5, 3), mask(0.5, 3));
        assert_ne!(mask(0.5, 3), mask(0.5, 4));
        // Two dropout layers in one pass draw from the pass's one stream: different masks.
        let model = Sequential::new()
            .push(Dropout::new(0.5))
            .push(Dropout::new(0.5));
        let tape = Tape::new();
        let pass = Pass::train(&model, &tape, rng(3));
        let ones = constant(&tape, &ArrayD::ones(IxDyn(&[1000])));
        let first = mask(0.5, 3);
        let both = pass.forward(ones).value();
        // The second layer multiplies the first one's mask by a fresh one: zeros where either drew one.
        assert!(both.iter().zip(&first).all(|(&b, &f)| f != 0.0 || b == 0.0));
        assert!(
            both.iter().filter(|&&v| v == 0.0).count()
                > first.iter().filter(|&&v| v == 0.0).count()
        );
    }

    #[test]
    fn the_gradient_is_the_mask() {
        let p = 0.25;
        let x = uniform(&mut rng(13), &[40, 25], -2.0, 2.0);
        let tape = Tape::new();
        let xv = tape.var(x.clone());
        let y = Pass::train(&Dropout::new(p), &tape, rng(14)).forward(xv);
        let grad = y.sum().backward().get(xv).unwrap().to_owned();
        let expected = y
            .value()
            .mapv(|v| if v == 0.0 { 0.0 } else { 1.0 / (1.0 - p) });
        assert_eq!(grad, expected);
        assert!(expected.iter().any(|&g| g == 0.0) && expected.iter().any(|&g| g != 0.0));
    }

    #[test]
    fn a_probability_outside_zero_to_one_panics() {
        for p in [1.0, 1.5, -0.1, f64::NAN, f64::INFINITY] {
            assert_panics_with(&["Dropout", &format!("{p}")], || {
                Dropout::new(p);
            });
        }
    }
}
