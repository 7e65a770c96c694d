//! End to end: a `Sequential` MLP trained with `Pass` and `step` on XOR-like data reaches a near-zero loss,
//! and a CNN with batch norm and dropout trains too.

mod module_common;

use autograd::Tape;
use module_common::{normal, rng};
use ndarray::{ArrayD, IxDyn};
use nn::loss::{mse_loss, Reduction};
use nn::module::{
    BatchNorm, Conv2d, Dropout, Flatten, Init, Linear, MaxPool2d, Module, ModuleExt, Pass, ReLU,
    Sequential, Tanh,
};
use nn::optim::{Adam, Optimizer, WeightDecay};

/// `n` points around each corner of the square `(±1, ±1)` (noise of standard deviation 0.15), with target
/// `sign(x·y)`: XOR in ±1 terms, not linearly separable.
fn noisy_xor(n: usize, seed: u64) -> (ArrayD<f64>, ArrayD<f64>) {
    let r = &mut rng(seed);
    let noise = normal(r, &[4 * n, 2]);
    let mut x = ArrayD::zeros(IxDyn(&[4 * n, 2]));
    let mut t = ArrayD::zeros(IxDyn(&[4 * n, 1]));
    for i in 0..4 * n {
        let (a, b) = (
            if i % 2 == 0 { 1.0 } else { -1.0 },
            if i % 4 < 2 { 1.0 } else { -1.0 },
        );
        x[[i, 0]] = a + 0.15 * noise[[i, 0]];
        x[[i, 1]] = b + 0.15 * noise[[i, 1]];
        t[[i, 0]] = a * b;
    }
    (x, t)
}

/// `steps` full-batch updates of the mean squared error; the loss before each.
fn train(
    model: &mut Sequential<f64>,
    optimizer: &mut impl Optimizer<f64>,
    x: &ArrayD<f64>,
    t: &ArrayD<f64>,
    steps: usize,
) -> Vec<f64> {
    let mut losses = Vec::with_capacity(steps);
    for step in 0..steps {
        let tape = Tape::new();
        let pass = Pass::train(&*model, &tape, rng(step as u64));
        let y = pass.forward(tape.constant(x.clone()));
        let loss = mse_loss(y, tape.constant(t.clone()), Reduction::Mean);
        losses.push(loss.scalar());
        let grads = pass.gradients(&mut loss.backward());
        model.step(optimizer, &grads);
    }
    losses
}

#[test]
fn an_mlp_learns_noisy_xor_to_a_near_zero_loss() {
    let r = &mut rng(1);
    let mut model = Sequential::new()
        .push(Linear::with_init(2, 16, Init::Xavier, r))
        .push(Tanh)
        .push(Linear::with_init(16, 1, Init::Xavier, r));
    let (x, t) = noisy_xor(25, 2);
    let losses = train(&mut model, &mut Adam::new(0.02), &x, &t, 800);
    // A constant output's best loss is 1 (the targets are ±1, balanced): it starts near there.
    assert!(losses[0] > 0.5, "first loss {}", losses[0]);
    let last = *losses.last().unwrap();
    assert!(
        last < 1e-3,
        "loss {last} after 800 steps (first {})",
        losses[0]
    );
    // The evaluation output agrees with the training one (no dropout, no batch norm) and generalises:
    // fresh points get the right sign with a margin.
    let (fresh, target) = noisy_xor(50, 3);
    let y = model.predict(fresh);
    let worst = y
        .iter()
        .zip(&target)
        .map(|(y, t)| y * t)
        .fold(f64::INFINITY, f64::min);
    assert!(
        worst > 0.5,
        "a fresh point's output has the wrong sign or a small margin: {worst}"
    );
}

#[test]
fn a_cnn_with_batch_norm_dropout_and_weight_decay_fits_a_small_image_task() {
    // Images [N, 1, 6, 6]: a bright 2×2 block in the left half (target −1) or the right half (target +1),
    // on noise.
    let r = &mut rng(4);
    let n = 32;
    let mut x = normal(r, &[n, 1, 6, 6]).mapv(|v| 0.3 * v);
    let mut t = ArrayD::zeros(IxDyn(&[n, 1]));
    for i in 0..n {
        let right = i % 2 == 1;
        let (row, col) = (
            (i / 2) % 5,
            if right { 3 + (i / 4) % 2 } else { (i / 4) % 2 },
        );
        for (dr, dc) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
            x[[i, 0, row + dr, col + dc]] += 2.0;
        }
        t[[i, 0]] = if right { 1.0 } else { -1.0 };
    }
    let r = &mut rng(5);
    let mut model = Sequential::new()
        .push(Conv2d::new(1, 4, 3, r).padding(1))
        .push(BatchNorm::new_2d(4))
        .push(ReLU)
        .push(MaxPool2d::new(2))
        .push(Flatten)
        .push(Dropout::new(0.1))
        .push(Linear::new(36, 1, r));
    let losses = train(
        &mut model,
        &mut Adam::new(0.01).with_weight_decay(1e-4),
        &x,
        &t,
        300,
    );
    let eval = mse_loss_of(&model, &x, &t);
    assert!(
        eval < 0.05,
        "evaluation loss {eval} (training losses {} → {})",
        losses[0],
        losses[299]
    );
    assert!(losses[0] > 0.5, "first loss {}", losses[0]);
    // The running statistics moved from their start (mean 0, variance 1) toward the data's.
    let state = model.state_dict();
    assert!(
        state["1.running_mean"].iter().any(|m| m.abs() > 0.05),
        "{}",
        state["1.running_mean"]
    );
}

fn mse_loss_of(model: &dyn Module<f64>, x: &ArrayD<f64>, t: &ArrayD<f64>) -> f64 {
    let tape = Tape::new();
    let y = Pass::eval(model, &tape).forward(tape.constant(x.clone()));
    mse_loss(y, tape.constant(t.clone()), Reduction::Mean).scalar()
}
