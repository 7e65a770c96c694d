//! Weight decay in every optimizer: two steps of each against its formulas written out element by element,
//! equality with the gradient of an L2 penalty on the loss, and λ = 0 bit for bit the optimizer without it.

mod module_common;

use autograd::Tape;
use module_common::{assert_close, normal, rng, uniform};
use ndarray::ArrayD;
use nn::module::{Linear, ModuleExt, Pass};
use nn::optim::{AdaGrad, Adam, Momentum, Optimizer, Sgd, WeightDecay};
use nn::Params;

const LAMBDA: f64 = 0.3;

/// Parameters `W [3, 2]` and `b [2]`, and two steps' gradients for them.
fn problem(seed: u64) -> (Params<f64>, [Params<f64>; 2]) {
    let r = &mut rng(seed);
    let mut draw = |shape: &[usize]| normal(r, shape);
    let params: Params<f64> = [("W", draw(&[3, 2])), ("b", draw(&[2]))]
        .into_iter()
        .collect();
    let grads = [(); 2].map(|_| {
        [("W", draw(&[3, 2])), ("b", draw(&[2]))]
            .into_iter()
            .collect()
    });
    (params, grads)
}

/// Two updates of `optimizer` from `problem(seed)`, against `by_hand`, a per-element rule given the
/// parameter's initial value and its two gradients, that returns the value after two steps.
#[track_caller]
fn check_two_steps(
    mut optimizer: impl Optimizer<f64>,
    seed: u64,
    by_hand: impl Fn(f64, [f64; 2]) -> f64,
) {
    let (mut params, grads) = problem(seed);
    let start = params.clone();
    optimizer.update(&mut params, &grads[0]);
    optimizer.update(&mut params, &grads[1]);
    for (name, p) in &params {
        let expected = ArrayD::from_shape_fn(p.raw_dim(), |i| {
            by_hand(start[name][&i], [grads[0][name][&i], grads[1][name][&i]])
        });
        assert_close(name, p.view(), expected.view(), 1e-15);
        assert!(expected.iter().zip(&start[name]).all(|(e, s)| e != s));
    }
}

#[test]
fn sgd_with_weight_decay_subtracts_lr_times_gradient_plus_lambda_w() {
    let lr = 0.1;
    check_two_steps(Sgd::new(lr).with_weight_decay(LAMBDA), 1, |p0, [g1, g2]| {
        let p1 = p0 - lr * (g1 + LAMBDA * p0);
        p1 - lr * (g2 + LAMBDA * p1)
    });
}

#[test]
fn momentum_with_weight_decay_adds_lambda_w_to_each_gradient() {
    let (lr, alpha) = (0.1, 0.9);
    check_two_steps(
        Momentum::new(lr, alpha).with_weight_decay(LAMBDA),
        2,
        |p0, [g1, g2]| {
            let v1 = alpha * 0.0 - lr * (g1 + LAMBDA * p0);
            let p1 = p0 + v1;
            let v2 = alpha * v1 - lr * (g2 + LAMBDA * p1);
            p1 + v2
        },
    );
}

#[test]
fn adagrad_with_weight_decay_accumulates_the_decayed_gradients() {
    let lr = 0.1;
    let eps = 1e-7;
    check_two_steps(
        AdaGrad::new(lr).with_weight_decay(LAMBDA),
        3,
        |p0, [g1, g2]| {
            let d1 = g1 + LAMBDA * p0;
            let h1 = d1 * d1;
            let p1 = p0 - lr * d1 / (h1.sqrt() + eps);
            let d2 = g2 + LAMBDA * p1;
            let h2 = h1 + d2 * d2;
            p1 - lr * d2 / (h2.sqrt() + eps)
        },
    );
}

#[test]
fn adam_with_weight_decay_is_pytorchs_l2_adam_not_adamw() {
    let (lr, b1, b2, eps) = (0.01, 0.9, 0.999, 1e-8);
    check_two_steps(
        Adam::new(lr).with_weight_decay(LAMBDA),
        4,
        |p0, [g1, g2]| {
            let (mut p, mut m, mut v) = (p0, 0.0, 0.0);
            for (t, g) in [(1, g1), (2, g2)] {
                let d = g + LAMBDA * p;
                m = b1 * m + (1.0 - b1) * d;
                v = b2 * v + (1.0 - b2) * d * d;
                let (m_hat, v_hat) = (m / (1.0 - b1.powi(t)), v / (1.0 - b2.powi(t)));
                p -= lr * m_hat / (v_hat.sqrt() + eps);
            }
            p
        },
    );
}

#[test]
fn weight_decay_is_the_gradient_of_half_lambda_times_the_squared_norm() {
    let mut decayed = Linear::<f64>::new(4, 3, &mut rng(5));
    let mut penalised = decayed.clone();
    let x = normal(&mut rng(6), &[6, 4]);
    let lr = 0.2;
    let loss = |model: &Linear<f64>, lambda: f64| {
        let tape = Tape::new();
        let pass = Pass::train(model, &tape, rng(0));
        let y = pass.forward(tape.constant(x.clone()));
        // The penalty ½λ‖θ‖² on the tape, through the pass's own variables for the parameters.
        let weight = pass.param(&model.weight);
        let bias = pass.param(model.bias.as_ref().unwrap());
        let penalty = ((weight * weight).sum() + (bias * bias).sum()) * (0.5 * lambda);
        let loss = (y * y).mean() + penalty;
        pass.gradients(&mut loss.backward())
    };
    for _ in 0..3 {
        let grads = loss(&decayed, 0.0);
        decayed.step(&mut Sgd::new(lr).with_weight_decay(LAMBDA), &grads);
        let grads = loss(&penalised, LAMBDA);
        penalised.step(&mut Sgd::new(lr), &grads);
        for ((name, a), (_, b)) in decayed.parameters().iter().zip(&penalised.parameters()) {
            assert_close(name, a.view(), b.view(), 1e-15);
        }
    }
}

/// Three updates by `optimizer` of one parameter array, holding ordinary values and the edge cases (zeros
/// of both signs and infinities, where `0·∞` is NaN, so λ = 0 must not be multiplied in), with gradients
/// that include zeros of both signs; the parameters' bits after each, and after each of `by_hand`, the
/// update without weight decay written out (given the parameters, the gradients and the step from 1).
fn trajectories(
    mut optimizer: impl Optimizer<f64>,
    mut by_hand: impl FnMut(&mut [f64], &[f64], i32),
) -> [Vec<Vec<u64>>; 2] {
    let r = &mut rng(7);
    let mut start = uniform(r, &[12], -1.0, 1.0);
    start[[0]] = 0.0;
    start[[1]] = -0.0;
    start[[2]] = f64::INFINITY;
    start[[3]] = f64::NEG_INFINITY;
    let mut params: Params<f64> = [("w", start.clone())].into_iter().collect();
    let mut hand = start.into_raw_vec_and_offset().0;
    let mut bits = [Vec::new(), Vec::new()];
    for t in 1..=3 {
        let mut g = uniform(r, &[12], -1.0, 1.0);
        g[[4]] = -0.0;
        g[[5]] = 0.0;
        g[[0]] = -0.0;
        by_hand(&mut hand, g.as_slice().unwrap(), t);
        optimizer.update(&mut params, &[("w", g)].into_iter().collect());
        bits[0].push(params["w"].iter().map(|v| v.to_bits()).collect());
        bits[1].push(hand.iter().map(|v| v.to_bits()).collect());
    }
    bits
}

#[test]
fn lambda_zero_is_bit_for_bit_the_update_without_weight_decay() {
    let lr = 0.1;
    let [a, b] = trajectories(Sgd::new(lr).with_weight_decay(0.0), |p, g, _| {
        p.iter_mut().zip(g).for_each(|(p, g)| *p -= lr * g);
    });
    assert_eq!(a, b, "Sgd");

    let mut velocity = [0.0; 12];
    let [a, b] = trajectories(Momentum::new(lr, 0.9).with_weight_decay(0.0), |p, g, _| {
        for ((p, g), v) in p.iter_mut().zip(g).zip(&mut velocity) {
            *v = 0.9 * *v - lr * g;
            *p += *v;
        }
    });
    assert_eq!(a, b, "Momentum");

    let mut h = [0.0; 12];
    let [a, b] = trajectories(AdaGrad::new(lr).with_weight_decay(0.0), |p, g, _| {
        for ((p, g), h) in p.iter_mut().zip(g).zip(&mut h) {
            *h += g * g;
            *p -= lr * g / (h.sqrt() + 1e-7);
        }
    });
    assert_eq!(a, b, "AdaGrad");

    let (mut m, mut v) = ([0.0; 12], [0.0; 12]);
    let (b1, b2, eps): (f64, f64, f64) = (0.9, 0.999, 1e-8);
    let [a, b] = trajectories(Adam::new(lr).with_weight_decay(0.0), |p, g, t| {
        let (c1, c2) = (1.0 - b1.powi(t), 1.0 - b2.powi(t));
        for (((p, g), m), v) in p.iter_mut().zip(g).zip(&mut m).zip(&mut v) {
            *m = b1 * *m + (1.0 - b1) * g;
            *v = b2 * *v + (1.0 - b2) * g * g;
            *p -= lr * (*m / c1) / ((*v / c2).sqrt() + eps);
        }
    });
    assert_eq!(a, b, "Adam");
    // The constructors' default is λ = 0.
    assert_eq!(Sgd::<f64>::new(0.1).weight_decay, 0.0);
    assert_eq!(Momentum::<f64>::new(0.1, 0.9).weight_decay, 0.0);
    assert_eq!(AdaGrad::<f64>::new(0.1).weight_decay, 0.0);
    assert_eq!(Adam::<f64>::new(0.1).weight_decay, 0.0);
}
