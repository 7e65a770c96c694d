//! The optimizers follow the lecture's (and, for Adam, PyTorch's) update formulas step by step, minimise a
//! simple function, and check that gradients fit the parameters.

use ndarray::{arr1, arr2, array, ArrayD, ShapeBuilder};
use nn::optim::{AdaGrad, Adam, Momentum, Optimizer, Sgd};
use nn::Params;

fn params(w: &[f64], b: f64) -> Params<f64> {
    [("w", arr1(w).into_dyn()), ("b", arr1(&[b]).into_dyn())]
        .into_iter()
        .collect()
}

/// The gradients of steps 1, 2, 3 for `params(&[1.0, -2.0], 0.5)`.
fn gradient_sequence() -> Vec<Params<f64>> {
    vec![
        params(&[0.5, -1.0], 2.0),
        params(&[0.25, 0.0], -1.0),
        params(&[-0.5, 3.0], 0.1),
    ]
}

/// Runs `optimizer` over [`gradient_sequence`] and compares every step with `expected(step, element, p, g)`,
/// a plain scalar re-implementation that returns the new value of one element.
fn check_steps(
    optimizer: &mut dyn Optimizer<f64>,
    mut expected: impl FnMut(usize, usize, f64, f64) -> f64,
) {
    let mut p = params(&[1.0, -2.0], 0.5);
    let mut reference: Vec<f64> = vec![1.0, -2.0, 0.5];
    for (step, grads) in gradient_sequence().iter().enumerate() {
        optimizer.update(&mut p, grads);
        let g: Vec<f64> = grads.iter().flat_map(|(_, a)| a.iter().copied()).collect();
        for (k, r) in reference.iter_mut().enumerate() {
            *r = expected(step + 1, k, *r, g[k]);
        }
        let got: Vec<f64> = p.iter().flat_map(|(_, a)| a.iter().copied()).collect();
        for (a, b) in got.iter().zip(&reference) {
            assert!(
                (a - b).abs() <= 1e-12 * b.abs().max(1.0),
                "step {}: {got:?} vs {reference:?}",
                step + 1
            );
        }
    }
}

#[test]
fn sgd_subtracts_the_learning_rate_times_the_gradient() {
    check_steps(&mut Sgd::new(0.1), |_, _, p, g| p - 0.1 * g);
}

#[test]
fn momentum_accumulates_a_velocity_from_zero() {
    let mut v = [0.0; 3];
    check_steps(&mut Momentum::new(0.1, 0.9), |_, k, p, g| {
        v[k] = 0.9 * v[k] - 0.1 * g;
        p + v[k]
    });
}

#[test]
fn adagrad_divides_by_the_root_of_the_summed_squared_gradients() {
    let mut h = [0.0; 3];
    check_steps(&mut AdaGrad::new(0.1), |_, k, p, g| {
        h[k] += g * g;
        p - 0.1 * g / (h[k].sqrt() + 1e-7)
    });
}

#[test]
fn adam_follows_pytorchs_bias_corrected_update() {
    let (mut m, mut v) = ([0.0; 3], [0.0; 3]);
    let (lr, b1, b2, eps) = (0.01, 0.9, 0.999, 1e-8);
    check_steps(&mut Adam::new(lr), |t, k, p, g| {
        m[k] = b1 * m[k] + (1.0 - b1) * g;
        v[k] = b2 * v[k] + (1.0 - b2) * g * g;
        let m_hat = m[k] / (1.0 - f64::powi(b1, t as i32));
        let v_hat = v[k] / (1.0 - f64::powi(b2, t as i32));
        p - lr * m_hat / (v_hat.sqrt() + eps)
    });
}

#[test]
fn adam_without_epsilon_equals_the_lectures_form() {
    // The lecture: lr_t = lr·√(1−β₂ᵗ)/(1−β₁ᵗ); m += (1−β₁)(g − m); v += (1−β₂)(g² − v); p −= lr_t·m/√v.
    let (mut m, mut v) = ([0.0; 3], [0.0; 3]);
    let mut adam = Adam::new(0.01);
    adam.eps = 0.0;
    check_steps(&mut adam, |t, k, p, g| {
        let lr_t = 0.01 * (1.0 - 0.999f64.powi(t as i32)).sqrt() / (1.0 - 0.9f64.powi(t as i32));
        m[k] += (1.0 - 0.9) * (g - m[k]);
        v[k] += (1.0 - 0.999) * (g * g - v[k]);
        p - lr_t * m[k] / v[k].sqrt()
    });
    assert_eq!(adam.steps(), 3);
}

#[test]
fn adams_first_step_moves_each_parameter_by_about_the_learning_rate() {
    let mut p = params(&[1.0, -2.0], 0.5);
    Adam::new(0.01).update(&mut p, &params(&[100.0, -0.001], 3.0));
    let moved: Vec<f64> = (&p["w"] - &arr1(&[1.0, -2.0]).into_dyn())
        .iter()
        .copied()
        .collect();
    assert!(
        (moved[0] + 0.01).abs() < 1e-8 && (moved[1] - 0.01).abs() < 1e-7,
        "{moved:?}"
    );
}

#[test]
fn every_optimizer_minimises_a_quadratic_bowl() {
    // f(W) = ½‖W − C‖², ∇f = W − C.
    let target = arr2(&[[1.0, -2.0], [3.0, 0.5]]).into_dyn();
    let optimizers: Vec<(&str, Box<dyn Optimizer<f64>>)> = vec![
        ("SGD", Box::new(Sgd::new(0.1))),
        ("Momentum", Box::new(Momentum::new(0.05, 0.9))),
        ("AdaGrad", Box::new(AdaGrad::new(0.9))),
        ("Adam", Box::new(Adam::new(0.1))),
    ];
    for (name, mut optimizer) in optimizers {
        let mut p: Params<f64> = [("W", ArrayD::zeros(target.raw_dim()))]
            .into_iter()
            .collect();
        for _ in 0..500 {
            let grads: Params<f64> = [("W", &p["W"] - &target)].into_iter().collect();
            optimizer.update(&mut p, &grads);
        }
        let error = (&p["W"] - &target)
            .mapv(f64::abs)
            .fold(0.0, |m: f64, &v| m.max(v));
        assert!(error < 1e-3, "{name}: still {error} away");
    }
}

#[test]
#[should_panic(
    expected = "Sgd: gradients [w [2], c [1]] do not match the parameters [w [2], b [1]]"
)]
fn an_optimizer_rejects_gradients_with_other_names() {
    let grads: Params<f64> = [
        ("w", arr1(&[0.0, 0.0]).into_dyn()),
        ("c", arr1(&[0.0]).into_dyn()),
    ]
    .into_iter()
    .collect();
    Sgd::new(0.1).update(&mut params(&[1.0, 2.0], 0.0), &grads);
}

#[test]
#[should_panic(
    expected = "Adam: the state from earlier updates [w [2], b [1]] do not match the parameters [w [3], b [1]]"
)]
fn an_optimizer_rejects_parameters_that_changed_shape_after_its_state_was_made() {
    let mut adam = Adam::new(0.1);
    adam.update(&mut params(&[1.0, 2.0], 0.0), &params(&[1.0, 2.0], 0.0));
    adam.update(
        &mut params(&[1.0, 2.0, 3.0], 0.0),
        &params(&[1.0, 2.0, 3.0], 0.0),
    );
}

/// Saving an optimizer's state and restoring it into a fresh optimizer continues the run exactly.
#[test]
fn restored_state_continues_exactly_like_the_original() {
    fn check(mut make: impl FnMut() -> Box<dyn Optimizer<f64>>) {
        let grads = |k: f64| -> Params<f64> {
            [
                ("W", array![[0.3, -0.2], [0.1, 0.4]].into_dyn() * k),
                ("b", array![0.5, -1.0].into_dyn() * k),
            ]
            .into_iter()
            .collect()
        };
        let start: Params<f64> = [
            ("W", array![[1.0, 2.0], [3.0, 4.0]].into_dyn()),
            ("b", array![0.0, 1.0].into_dyn()),
        ]
        .into_iter()
        .collect();
        let (mut original, mut p1) = (make(), start.clone());
        for k in 1..=3 {
            original.update(&mut p1, &grads(f64::from(k)));
        }
        let (mut restored, mut p2) = (make(), p1.clone());
        restored.set_state(original.state(&p1), &p1).unwrap();
        for k in 4..=6 {
            original.update(&mut p1, &grads(f64::from(k)));
            restored.update(&mut p2, &grads(f64::from(k)));
        }
        assert_eq!(p1, p2);
    }
    check(|| Box::new(Sgd::new(0.1)));
    check(|| Box::new(Momentum::new(0.1, 0.9)));
    check(|| Box::new(AdaGrad::new(0.1)));
    check(|| Box::new(Adam::new(0.1)));
}

/// The state before the first update is complete (zeros), and restoring it starts exactly like a fresh one.
#[test]
fn the_state_before_the_first_update_is_complete_and_starts_like_a_fresh_one() {
    let start = params(&[1.0, -2.0], 0.5);
    type Maker = fn() -> Box<dyn Optimizer<f64>>;
    let makers: [Maker; 3] = [
        || Box::new(Momentum::new(0.1, 0.9)),
        || Box::new(AdaGrad::new(0.1)),
        || Box::new(Adam::new(0.1)),
    ];
    for make in makers {
        let state = make().state(&start);
        let arrays = if state.get("step").is_some() { 5 } else { 2 };
        assert_eq!(
            state.len(),
            arrays,
            "{:?}",
            state.names().collect::<Vec<_>>()
        );
        assert!(state.iter().all(|(_, a)| a.iter().all(|&x| x == 0.0)));
        let (mut fresh, mut restored) = (make(), make());
        restored.set_state(state, &start).unwrap();
        let (mut p1, mut p2) = (start.clone(), start.clone());
        for g in gradient_sequence() {
            fresh.update(&mut p1, &g);
            restored.update(&mut p2, &g);
        }
        assert_eq!(p1, p2);
    }
}

#[test]
fn foreign_state_is_refused() {
    let layout: Params<f64> = [("W", array![1.0].into_dyn())].into_iter().collect();
    let state: Params<f64> = [("x.W", array![1.0].into_dyn())].into_iter().collect();
    assert!(Momentum::new(0.1, 0.9)
        .set_state(state.clone(), &layout)
        .unwrap_err()
        .contains("v.W is missing"));
    let mut complete = state.clone();
    complete.insert("v.W", array![0.0].into_dyn());
    assert!(Momentum::new(0.1, 0.9)
        .set_state(complete, &layout)
        .unwrap_err()
        .contains("unexpected optimizer state array x.W"));
    assert!(Sgd::new(0.1)
        .set_state(state, &layout)
        .unwrap_err()
        .contains("x.W"));
}

/// A missing part of the state is an error, not a silent reset; so is an array of the wrong shape or a step
/// count that is not a count. Nothing changes on error.
#[test]
fn an_incomplete_or_misshapen_state_is_refused_naming_the_array() {
    let p = params(&[1.0, -2.0], 0.5);
    let mut adam = Adam::new(0.1);
    adam.update(&mut p.clone(), &gradient_sequence()[0]);
    let good = adam.state(&p);
    let with = |name: &str, array: Option<ArrayD<f64>>| {
        let mut state = good.clone();
        match array {
            Some(a) => {
                state.insert(name, a);
            }
            None => {
                state.remove(name);
            }
        }
        let mut target = Adam::new(0.1);
        target.set_state(state, &p).unwrap_err()
    };
    assert!(with("v.w", None).contains("v.w is missing"));
    assert!(with("step", None).contains("step is missing"));
    assert!(
        with("m.w", Some(arr1(&[0.0; 3]).into_dyn())).contains("m.w has shape [3], expected [2]")
    );
    assert!(with("step", Some(arr1(&[1.0]).into_dyn())).contains("step has shape [1]"));
    for bad in [-1.0, 0.5, f64::NAN, 1e12] {
        let err = with("step", Some(ndarray::arr0(bad).into_dyn()));
        assert!(err.contains("not a count of updates"), "{bad}: {err}");
    }
    let mut momentum = Momentum::new(0.1, 0.9);
    assert!(momentum
        .set_state(Params::new(), &p)
        .unwrap_err()
        .contains("v.w is missing"));
    assert_eq!(momentum.state(&p), Momentum::new(0.1, 0.9).state(&p));
}

/// Gradients and parameters in column-major layout (a weight used transposed gets its gradient as a transposed
/// product) update exactly as row-major ones do, for every optimizer, over several steps.
#[test]
fn every_optimizer_updates_other_layouts_exactly_as_row_major_ones() {
    let column_major = |a: &ArrayD<f64>| {
        let mut f = ArrayD::zeros(ndarray::IxDyn(a.shape()).f());
        f.assign(a);
        assert!(!f.is_standard_layout());
        f
    };
    let start = arr2(&[[1.0, -2.0, 0.5], [3.0, 0.25, -1.5]]).into_dyn();
    let gradient = |step: usize| start.mapv(|x| (x * step as f64).sin());
    let make = || -> Vec<Box<dyn Optimizer<f64>>> {
        vec![
            Box::new(Sgd::new(0.1)),
            Box::new(Momentum::new(0.05, 0.9)),
            Box::new(AdaGrad::new(0.3)),
            Box::new(Adam::new(0.1)),
        ]
    };
    for (layout, (mut row_major, mut other)) in make().into_iter().zip(make()).enumerate() {
        let mut p: Params<f64> = [("W", start.clone())].into_iter().collect();
        // Odd optimizers: column-major parameters as well as gradients.
        let q_start = if layout % 2 == 1 {
            column_major(&start)
        } else {
            start.clone()
        };
        let mut q: Params<f64> = [("W", q_start)].into_iter().collect();
        for step in 1..=4 {
            let g: Params<f64> = [("W", gradient(step))].into_iter().collect();
            let h: Params<f64> = [("W", column_major(&gradient(step)))].into_iter().collect();
            row_major.update(&mut p, &g);
            other.update(&mut q, &h);
            assert_eq!(p["W"], q["W"], "optimizer {layout}, step {step}");
        }
    }
}
