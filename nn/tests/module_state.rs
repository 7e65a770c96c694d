//! A model's named arrays: PyTorch's `state_dict` names for nested containers, parameters versus buffers,
//! loading with its refusals, `step`, the pass's parameter lookup and gradients.

mod module_common;

use std::fmt;

use autograd::{Float, Tape, Var};
use module_common::{assert_panics_with, normal, rng};
use ndarray::{ArrayD, IxDyn};
use nn::module::{
    BatchNorm, Conv2d, Flatten, Kind, Linear, Module, ModuleExt, Pass, ReLU, Sequential, Tanh,
};
use nn::optim::{Adam, Optimizer, Sgd};
use nn::Params;

/// Conv2d(1→2, 3×3) → BatchNorm2d(2) → ReLU → [Flatten → Linear(8→4) → Tanh → Linear(4→3, no bias)], for
/// `[N, 1, 4, 4]` inputs.
fn nested(seed: u64) -> Sequential<f64> {
    let r = &mut rng(seed);
    let head = Sequential::new()
        .push(Flatten)
        .push(Linear::new(8, 4, r))
        .push(Tanh)
        .push(Linear::new(4, 3, r).without_bias());
    Sequential::new()
        .push(Conv2d::new(1, 2, 3, r))
        .push(BatchNorm::new_2d(2))
        .push(ReLU)
        .push(head)
}

fn layout(params: &Params<f64>) -> Vec<(String, Vec<usize>)> {
    params
        .iter()
        .map(|(n, a)| (n.to_owned(), a.shape().to_vec()))
        .collect()
}

fn owned(list: &[(&str, &[usize])]) -> Vec<(String, Vec<usize>)> {
    list.iter()
        .map(|(n, s)| (n.to_string(), s.to_vec()))
        .collect()
}

#[test]
fn nested_containers_name_arrays_as_pytorch_does() {
    let model = nested(1);
    let state: &[(&str, &[usize])] = &[
        ("0.weight", &[2, 1, 3, 3]),
        ("0.bias", &[2]),
        ("1.weight", &[2]),
        ("1.bias", &[2]),
        ("1.running_mean", &[2]),
        ("1.running_var", &[2]),
        ("3.1.weight", &[4, 8]),
        ("3.1.bias", &[4]),
        ("3.3.weight", &[3, 4]),
    ];
    assert_eq!(layout(&model.state_dict()), owned(state));
    let parameters: Vec<_> = state
        .iter()
        .filter(|(n, _)| !n.contains("running"))
        .copied()
        .collect();
    assert_eq!(layout(&model.parameters()), owned(&parameters));
    // 18 + 2 + 2 + 2 + 32 + 4 + 12 trained numbers; the 4 running statistics are not.
    assert_eq!(model.num_parameters(), 72);
    assert_eq!(
        format!("{model:?}"),
        "Sequential(\n  (0): Conv2d(1, 2, kernel_size=(3, 3), stride=(1, 1), padding=(0, 0), bias=true)\n  \
         (1): BatchNorm2d(2, eps=0.00001, momentum=0.1)\n  (2): ReLU()\n  (3): Sequential(\n    \
         (0): Flatten()\n    (1): Linear(in_features=8, out_features=4, bias=true)\n    (2): Tanh()\n    \
         (3): Linear(in_features=4, out_features=3, bias=false)\n  )\n)"
    );
    // The arrays are copies of the layers' own.
    let mut kinds = Vec::new();
    model.visit(&mut |name, kind, a| kinds.push((name.to_owned(), kind, a.clone())));
    for ((name, a), (visited, kind, b)) in model.state_dict().iter().zip(&kinds) {
        assert_eq!((name, a), (visited.as_str(), b));
        assert_eq!(*kind == Kind::Buffer, name.contains("running"));
    }
}

#[test]
fn a_state_dict_loads_into_another_model_of_the_same_shape() {
    let (source, mut target) = (nested(2), nested(3));
    let x = normal(&mut rng(4), &[5, 1, 4, 4]);
    // Give the source's buffers values of their own: a training pass moves them.
    let tape = Tape::new();
    Pass::train(&source, &tape, rng(0)).forward(tape.constant(x.clone()));
    assert_ne!(source.state_dict(), target.state_dict());
    assert_ne!(source.predict(x.clone()), target.predict(x.clone()));
    target.load_state_dict(source.state_dict()).unwrap();
    assert_eq!(target.state_dict(), source.state_dict());
    assert_eq!(target.predict(x.clone()), source.predict(x));
}

#[test]
fn loading_refuses_missing_unexpected_and_misshapen_arrays_and_changes_nothing() {
    let mut model = nested(5);
    let before = model.state_dict();
    let good = nested(6).state_dict();
    let mut refuse = |state: Params<f64>, parts: &[&str]| {
        let message = model.load_state_dict(state).unwrap_err();
        for part in parts {
            assert!(message.contains(part), "{message:?} lacks {part:?}");
        }
        assert_eq!(
            model.state_dict(),
            before,
            "the model changed on {message:?}"
        );
    };
    let mut missing = good.clone();
    missing.remove("1.running_var");
    refuse(missing, &["1.running_var", "missing"]);
    let mut unexpected = good.clone();
    unexpected.insert("3.3.bias", ArrayD::zeros(IxDyn(&[3])));
    refuse(unexpected, &["3.3.bias", "unexpected"]);
    let mut misshapen = good.clone();
    misshapen.insert("3.1.weight", ArrayD::zeros(IxDyn(&[8, 4])));
    refuse(misshapen, &["3.1.weight", "[8, 4]", "[4, 8]"]);
    // The parameters alone lack the buffers.
    refuse(nested(7).parameters(), &["1.running_mean", "missing"]);
    refuse(Params::new(), &["0.weight", "missing"]);
}

/// The loss `Σ model(x)²` of a training pass and its parameter gradients.
fn gradients(model: &dyn Module<f64>, x: &ArrayD<f64>) -> Params<f64> {
    let tape = Tape::new();
    let pass = Pass::train(model, &tape, rng(0));
    let y = pass.forward(tape.constant(x.clone()));
    pass.gradients(&mut (y * y).sum().backward())
}

#[test]
fn step_with_sgd_is_the_hand_update_and_leaves_the_buffers() {
    let mut model = nested(8);
    let x = normal(&mut rng(9), &[5, 1, 4, 4]);
    let grads = gradients(&model, &x);
    assert_eq!(layout(&grads), layout(&model.parameters()));
    assert!(grads.iter().all(|(_, g)| g.iter().any(|&v| v != 0.0)));
    let (params, buffers) = (model.parameters(), model.state_dict());
    let lr = 0.05;
    model.step(&mut Sgd::new(lr), &grads);
    for (name, p) in &model.parameters() {
        let expected =
            ArrayD::from_shape_fn(p.raw_dim(), |i| params[name][&i] - lr * grads[name][&i]);
        assert_eq!(*p, expected, "{name}");
    }
    for name in ["1.running_mean", "1.running_var"] {
        assert_eq!(model.state_dict()[name], buffers[name], "{name}");
    }
}

#[test]
fn step_keeps_a_stateful_optimizer_in_step_with_updating_the_parameters_directly() {
    let mut model = nested(10);
    let mut params = model.parameters();
    let (mut through_model, mut direct) = (Adam::new(0.01), Adam::new(0.01));
    for seed in 0..3 {
        let grads = gradients(&model, &normal(&mut rng(11 + seed), &[4, 1, 4, 4]));
        model.step(&mut through_model, &grads);
        direct.update(&mut params, &grads);
        assert_eq!(model.parameters(), params);
    }
    assert_eq!(through_model.steps(), 3);
}

#[test]
fn step_panics_on_gradients_of_another_layout() {
    let mut model = nested(12);
    let mut grads = model.parameters().zeros_like();
    grads.remove("0.bias");
    let before = model.parameters();
    assert_panics_with(&["Sgd", "0.bias"], || {
        model.step(&mut Sgd::new(0.1), &grads)
    });
    // The arrays lent to the optimizer are back.
    assert_eq!(model.parameters(), before);
    let mut adam = Adam::new(0.1);
    model.step(&mut adam, &model.parameters().zeros_like());
    // Gradients that fit, but an optimizer whose state is another model's: the update panics midway.
    let mut other = nested(13).push(Linear::new(3, 2, &mut rng(14)));
    let (other_before, grads) = (other.parameters(), other.parameters().zeros_like());
    assert_panics_with(&["Adam", "state"], || other.step(&mut adam, &grads));
    assert_eq!(other.parameters(), other_before);
}

/// `y = a·x`, with a second parameter `b` that the forward pass never uses, and optionally one that it looks
/// up without listing it in `visit`.
struct Unused<T> {
    a: ArrayD<T>,
    b: ArrayD<T>,
    unlisted: Option<ArrayD<T>>,
}

impl<T: Float> Module<T> for Unused<T> {
    fn forward<'t>(&self, x: Var<'t, T>, pass: &Pass<'_, 't, T>) -> Var<'t, T> {
        match &self.unlisted {
            Some(c) => x * pass.param(c),
            None => x * pass.param(&self.a),
        }
    }
    fn visit(&self, f: &mut dyn FnMut(&str, Kind, &ArrayD<T>)) {
        f("a", Kind::Parameter, &self.a);
        f("b", Kind::Parameter, &self.b);
    }
    fn visit_mut(&mut self, f: &mut dyn FnMut(&str, Kind, &mut ArrayD<T>)) {
        f("a", Kind::Parameter, &mut self.a);
        f("b", Kind::Parameter, &mut self.b);
    }
    fn describe(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Unused")
    }
}

#[test]
fn a_parameter_the_loss_does_not_reach_gets_zero_gradients() {
    let model = Unused {
        a: ndarray::arr1(&[2.0, 3.0]).into_dyn(),
        b: ArrayD::ones(IxDyn(&[2, 3])),
        unlisted: None,
    };
    let x = ndarray::arr1(&[5.0, 7.0]).into_dyn();
    let grads = gradients(&model, &x);
    // d/da Σ (a·x)² = 2·a·x², and b is not used.
    assert_eq!(
        grads["a"],
        ndarray::arr1(&[2.0 * 2.0 * 25.0, 2.0 * 3.0 * 49.0]).into_dyn()
    );
    assert_eq!(grads["b"], ArrayD::<f64>::zeros(IxDyn(&[2, 3])));
}

#[test]
fn pass_param_panics_for_an_array_that_is_not_the_models() {
    let model = Unused {
        a: ndarray::arr1(&[2.0]).into_dyn(),
        b: ndarray::arr1(&[1.0]).into_dyn(),
        unlisted: Some(ArrayD::zeros(IxDyn(&[4, 1]))),
    };
    assert_panics_with(&["Pass::param", "[4, 1]", "not a parameter"], || {
        model.predict(ndarray::arr1(&[1.0]).into_dyn());
    });
    // An equal copy of a parameter is not the parameter: the lookup is by identity.
    let linear = Linear::<f64>::new(2, 2, &mut rng(13));
    let copy = linear.weight.clone();
    let tape = Tape::new();
    let pass = Pass::train(&linear, &tape, rng(0));
    let weight = pass.param(&linear.weight);
    assert_eq!(weight.value(), copy);
    assert_panics_with(&["Pass::param", "[2, 2]"], || {
        pass.param(&copy);
    });
}

#[test]
fn evaluation_passes_hold_the_parameters_as_constants() {
    let linear = Linear::<f64>::new(3, 2, &mut rng(14));
    let tape = Tape::new();
    let (train, eval) = (
        Pass::train(&linear, &tape, rng(0)),
        Pass::eval(&linear, &tape),
    );
    assert!(train.training() && !eval.training());
    assert!(train.param(&linear.weight).requires_grad());
    assert!(!eval.param(&linear.weight).requires_grad());
    let y = eval.forward(tape.constant(ArrayD::ones(IxDyn(&[1, 3]))));
    let grads = eval.gradients(&mut y.sum().backward());
    assert_eq!(layout(&grads), layout(&linear.parameters()));
    assert!(grads.iter().all(|(_, g)| g.iter().all(|&v| v == 0.0)));
}
