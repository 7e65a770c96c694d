//! Anomaly detection: where did the NaN come from?
//!
//! A cross-entropy loss `-Σ t·log y` with a predicted probability of exactly 0 gives `log 0 = -inf`, then
//! `0 · -inf = NaN`, and the loss is NaN with nothing saying why. With anomaly detection on, the first bad
//! value stops the computation with the op and the line of code that created it: forward anomalies panic at
//! that line, backward ones come back from `try_backward` as an error (and make `backward` panic).
//!
//! Run: `cargo run --example anomaly`

use std::panic::{self, AssertUnwindSafe};

use autograd::{format_number as num, Tape};
use ndarray::array;

fn main() {
    let y = array![0.0, 0.3, 0.7]; // predicted probabilities
    let t = array![0.0, 0.0, 1.0]; // one-hot target

    // 1. Without anomaly detection the NaN travels silently.
    let tape = Tape::<f64>::new();
    let loss = -(tape.var(y.clone()).log() * tape.constant(t.clone())).sum();
    println!("1. loss without anomaly detection: {}", num(loss.scalar()));

    // 2. With it, the `ln` that produced -inf is named, with its line. It panics (there is no Result to return
    //    from an operator), so we catch the panic here to print its message.
    let tape = Tape::<f64>::with_anomaly_detection();
    let p = tape.var(y.clone());
    let message = panic_message(|| p.log());
    println!("2. with anomaly detection: {message}");

    // 3. The usual fix: keep log's argument away from 0.
    let tape = Tape::<f64>::with_anomaly_detection();
    let p = tape.var(y);
    let loss = -((p + 1e-7).log() * tape.constant(t)).sum();
    let grads = loss.backward();
    let dp: Vec<String> = grads.get(p).unwrap().iter().map(|&g| num(g)).collect();
    println!(
        "3. with log(y + 1e-7): loss {}, gradient [{}]",
        num(loss.scalar()),
        dp.join(", ")
    );

    // 4. Backward anomalies: √x is fine at 0, but its slope 1/(2√x) is infinite there.
    let tape = Tape::<f64>::with_anomaly_detection();
    let x = tape.var_named("x", 0.0);
    let distance = (x * x + x).sqrt();
    match distance.try_backward() {
        Ok(grads) => println!("4. gradient {}", num(grads.scalar(x))),
        Err(anomaly) => println!("4. backward: {anomaly}"),
    }
}

/// Runs `f`, which panics, and returns its message (without the default panic report on stderr).
fn panic_message<R>(f: impl FnOnce() -> R) -> String {
    let default_hook = panic::take_hook();
    panic::set_hook(Box::new(|_| {}));
    let outcome = panic::catch_unwind(AssertUnwindSafe(f));
    panic::set_hook(default_hook);
    match outcome {
        Ok(_) => "no anomaly".to_owned(),
        Err(payload) => match payload.downcast::<String>() {
            Ok(message) => *message,
            Err(_) => "a panic without a message".to_owned(),
        },
    }
}
