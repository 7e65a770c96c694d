//! Gradients of whole models in f64: `Pass::gradients` (the parameters') and the input's against central
//! differences, and second derivatives through `Conv2d` + `BatchNorm` (a Hessian-vector product in the
//! parameters against differences of gradients, `gradgradcheck` in the input).

mod module_common;

use autograd::gradcheck::{gradcheck, gradgradcheck};
use autograd::{Tape, Var};
use module_common::{max_rel_error, normal, numeric_param_grads, rng, uniform};
use ndarray::ArrayD;
use nn::module::{
    BatchNorm, Conv2d, Flatten, Kind, Linear, MaxPool2d, Module, ModuleExt, Pass, ReLU, Sequential,
    Tanh,
};
use nn::Params;

/// Batch norm with γ and β away from their defaults of 1 and 0 (so that their gradients are not special).
fn batch_norm_2d(channels: usize, seed: u64) -> BatchNorm<f64> {
    let r = &mut rng(seed);
    let mut bn = BatchNorm::new_2d(channels);
    bn.weight = uniform(r, &[channels], 0.5, 1.5);
    bn.bias = uniform(r, &[channels], -0.5, 0.5);
    bn
}

/// Conv2d(2→3, 3×3, stride 2, padding 1) → BatchNorm2d → ReLU → MaxPool2d(2) → Flatten → Linear(12→5) →
/// Tanh → Linear(5→2), for `[N, 2, 8, 8]` inputs.
fn small_cnn() -> Sequential<f64> {
    let r = &mut rng(20);
    Sequential::new()
        .push(Conv2d::new(2, 3, 3, r).stride(2).padding(1))
        .push(batch_norm_2d(3, 21))
        .push(ReLU)
        .push(MaxPool2d::new(2))
        .push(Flatten)
        .push(Linear::new(12, 5, r))
        .push(Tanh)
        .push(Linear::new(5, 2, r))
}

/// The loss `Σ c ⊙ model(x)` of a training pass, and the pass's parameter gradients.
fn loss_and_gradients(
    model: &dyn Module<f64>,
    x: &ArrayD<f64>,
    c: &ArrayD<f64>,
) -> (f64, Params<f64>) {
    let tape = Tape::new();
    let pass = Pass::train(model, &tape, rng(0));
    let loss = (pass.forward(tape.constant(x.clone())) * tape.constant(c.clone())).sum();
    (loss.scalar(), pass.gradients(&mut loss.backward()))
}

#[test]
fn parameter_gradients_of_a_small_cnn_are_those_of_finite_differences() {
    let mut model = small_cnn();
    let x = normal(&mut rng(22), &[4, 2, 8, 8]);
    let c = uniform(&mut rng(23), &[4, 2], -1.0, 1.0);
    let (_, analytic) = loss_and_gradients(&model, &x, &c);
    assert_eq!(
        analytic.names().collect::<Vec<_>>(),
        model.parameters().names().collect::<Vec<_>>()
    );
    let numeric = numeric_param_grads(&mut model, 1e-6, |m| loss_and_gradients(m, &x, &c).0);
    for ((name, a), (numeric_name, n)) in analytic.iter().zip(&numeric) {
        assert_eq!(name, numeric_name);
        let err = max_rel_error(a.view(), n.view());
        assert!(
            err < 1e-7,
            "{name}: max rel error {err:e}\nanalytic {a}\nnumeric {n}"
        );
        if name == "0.bias" {
            // Batch norm subtracts each channel's batch mean, so the convolution's bias cannot matter.
            assert!(a.iter().all(|g| g.abs() < 1e-12), "0.bias has gradient {a}");
        } else {
            assert!(
                n.iter().any(|g| g.abs() > 1e-3),
                "{name}: vacuous check, numeric {n}"
            );
        }
    }
}

#[test]
fn the_input_gradient_of_a_small_cnn_is_that_of_finite_differences() {
    let model = small_cnn();
    let x = normal(&mut rng(24), &[4, 2, 8, 8]);
    let report = gradcheck(
        |v: &[Var<'_, f64>]| Pass::train(&model, v[0].tape(), rng(0)).forward(v[0]),
        &[x],
    );
    assert!(
        report.inputs[0].numeric.iter().any(|g| g.abs() > 1e-3),
        "{report}"
    );
    assert!(report.max_rel_error() < 1e-7, "{report}");
    // In an evaluation pass too (batch norm's running statistics are then constants).
    let x = normal(&mut rng(25), &[3, 2, 8, 8]);
    let report = gradcheck(
        |v: &[Var<'_, f64>]| Pass::eval(&model, v[0].tape()).forward(v[0]),
        &[x],
    );
    assert!(report.max_rel_error() < 1e-7, "{report}");
}

/// Conv2d(2→3, 3×3, stride 2, padding 1) → BatchNorm2d → Tanh.
fn conv_bn_tanh() -> Sequential<f64> {
    Sequential::new()
        .push(Conv2d::new(2, 3, 3, &mut rng(30)).stride(2).padding(1))
        .push(batch_norm_2d(3, 31))
        .push(Tanh)
}

/// Each parameter of `model` moved by `step·u` (in place).
fn shift(model: &mut dyn Module<f64>, u: &Params<f64>, step: f64) {
    model.visit_mut(&mut |name, kind, a| {
        if kind == Kind::Parameter {
            a.scaled_add(step, &u[name]);
        }
    });
}

#[test]
fn the_parameter_hessian_through_conv_and_batch_norm_is_that_of_differences_of_gradients() {
    let mut model = conv_bn_tanh();
    let x = normal(&mut rng(32), &[3, 2, 6, 6]);
    let c = uniform(&mut rng(33), &[3, 3, 3, 3], -1.0, 1.0);
    let r = &mut rng(34);
    let u: Params<f64> = model
        .parameters()
        .iter()
        .map(|(n, a)| (n, normal(r, a.shape())))
        .collect();

    // H·u by double backpropagation: the gradient of Σ_p ⟨∂L/∂p, u_p⟩.
    let hu = {
        let tape = Tape::new();
        let pass = Pass::train(&model, &tape, rng(0));
        let loss = (pass.forward(tape.constant(x.clone())) * tape.constant(c.clone())).sum();
        let grads = loss.backward_graph();
        let mut vars = Vec::new();
        model.visit(&mut |name, kind, a| {
            if kind == Kind::Parameter {
                vars.push((name.to_owned(), pass.param(a)));
            }
        });
        let directional = vars
            .iter()
            .map(|(name, v)| {
                (grads.get(*v).expect("reached") * tape.constant(u[name.as_str()].clone())).sum()
            })
            .reduce(|a, b| a + b)
            .unwrap();
        let mut second = directional.backward();
        vars.iter()
            .map(|(name, v)| (name.clone(), second.take(*v).expect("reached")))
            .collect::<Vec<_>>()
    };

    // (∇L(θ + h·u) − ∇L(θ − h·u)) / 2h, from `Pass::gradients`.
    let h = 1e-6;
    shift(&mut model, &u, h);
    let (_, up) = loss_and_gradients(&model, &x, &c);
    shift(&mut model, &u, -2.0 * h);
    let (_, down) = loss_and_gradients(&model, &x, &c);
    for (name, analytic) in &hu {
        let numeric = (&up[name.as_str()] - &down[name.as_str()]) / (2.0 * h);
        let err = max_rel_error(analytic.view(), numeric.view());
        assert!(
            err < 1e-7,
            "{name}: max rel error {err:e}\nanalytic {analytic}\nnumeric {numeric}"
        );
        if name != "0.bias" {
            assert!(
                numeric.iter().any(|g| g.abs() > 1e-2),
                "{name}: vacuous, H·u = {numeric}"
            );
        }
    }
}

#[test]
fn second_derivatives_in_the_input_through_conv_and_batch_norm_pass_gradgradcheck() {
    let model = Sequential::new()
        .push(Conv2d::new(2, 3, 3, &mut rng(40)).stride(2).padding(1))
        .push(batch_norm_2d(3, 41));
    let x = normal(&mut rng(42), &[3, 2, 6, 6]);
    let report = gradgradcheck(
        |v: &[Var<'_, f64>]| Pass::train(&model, v[0].tape(), rng(0)).forward(v[0]),
        &[x],
    );
    // The check differentiates ⟨∇ₓ⟨y, w⟩, u⟩ in x and in the cotangent w: both must be non-trivial.
    for input in &report.inputs {
        assert!(
            input.numeric.iter().any(|g| g.abs() > 1e-3),
            "vacuous:\n{report}"
        );
    }
    assert!(report.max_rel_error() < 1e-6, "{report}");
}
