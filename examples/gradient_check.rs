//! The lecture's gradient check: a 784-50-10 net on the first 3 training images; the gradients from
//! backpropagation against central differences, as the mean absolute difference per parameter (in f64).
//!
//! Run: `cargo run --release --example gradient_check`

use mnist::Locator;
use nn::TwoLayerNet;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (data, located) = Locator::from_env(None).load()?;
    eprintln!("MNIST from {located}");

    let network = TwoLayerNet::<f64>::new_seeded(784, 50, 10, 0.01, 0);
    let first = [0, 1, 2];
    let x_batch = data.train.batch::<f64>(&first);
    let t_batch = data.train.one_hot::<f64>(&first);

    let grad_numerical = network.numerical_gradient(x_batch.view(), &t_batch);
    let (_loss, grad_backprop) = network.gradient(x_batch.view(), &t_batch);

    let mut worst = 0.0f64;
    for (name, backprop) in &grad_backprop {
        let numerical = &grad_numerical[name];
        let diff = (backprop - numerical).mapv(f64::abs).mean().unwrap_or(0.0);
        worst = worst.max(diff);
        println!("{name}: {diff:.3e}");
    }
    if worst < 1e-7 {
        println!("all below 1e-7: backpropagation agrees with numerical differentiation");
        Ok(())
    } else {
        Err(format!("largest mean difference {worst:.3e} is not below 1e-7").into())
    }
}
