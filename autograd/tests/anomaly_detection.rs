//! Anomaly detection: the first NaN or infinity, forward or backward, is reported with its op and line.

use std::panic::{catch_unwind, AssertUnwindSafe};

use autograd::{NonFinite, Pass, Tape};
use ndarray::array;

/// Runs `f`, which must panic, and returns the panic message.
fn panic_message<R>(f: impl FnOnce() -> R) -> String {
    let Err(payload) = catch_unwind(AssertUnwindSafe(f)) else {
        panic!("expected a panic")
    };
    match payload.downcast::<String>() {
        Ok(s) => *s,
        Err(payload) => payload.downcast_ref::<&str>().unwrap().to_string(),
    }
}

/// `file:line:` of a line in this file.
fn at(line: u32) -> String {
    format!(" at {}:{line}:", file!())
}

#[test]
fn anomaly_forward_log_of_zero() {
    let tape = Tape::<f64>::with_anomaly_detection();
    let x = tape.var_named("x", array![1.0, 0.5, 0.0]);
    let scaled = x * 2.0;
    let line = line!() + 1;
    let message = panic_message(|| scaled.log()); // -inf for the last element
    assert!(
        message.starts_with("anomaly: log produced -inf at "),
        "{message}"
    );
    assert!(message.contains(&at(line)), "{message}");
    assert!(message.ends_with("(input shapes [3])"), "{message}");
    assert_eq!(tape.len(), 2, "the bad node was not recorded");
}

#[test]
fn anomaly_forward_zero_times_inf() {
    let tape = Tape::<f64>::with_anomaly_detection();
    let zero = tape.var(0.0);
    let inf = tape.constant(f64::INFINITY); // leaves are data: not checked
    let a = zero + 1.0;
    let b = a - 1.0;
    let line = line!() + 1;
    let message = panic_message(|| b * inf);
    assert!(
        message.starts_with("anomaly: × produced NaN at "),
        "{message}"
    );
    assert!(message.contains(&at(line)), "{message}");
    assert!(
        message.ends_with("(input shapes [], []; input 1 held inf)"),
        "{message}"
    );
}

#[test]
fn anomaly_forward_names_the_callers_line_through_operators_and_methods() {
    let tape = Tape::<f32>::with_anomaly_detection();
    let x = tape.var(array![[100.0f32]]);
    let line = line!() + 1;
    let message = panic_message(|| (x * 1.0).exp().sum());
    assert!(
        message.starts_with("anomaly: exp produced inf"),
        "{message}"
    );
    assert!(message.contains(&at(line)) && message.ends_with("(input shapes [1, 1])"));
}

#[test]
fn anomaly_forward_is_checked_without_recording_too() {
    let tape = Tape::<f64>::with_anomaly_detection();
    let x = tape.var(-1.0);
    let message = tape.no_grad(|| panic_message(|| x.sqrt()));
    assert!(
        message.starts_with("anomaly: sqrt produced NaN"),
        "{message}"
    );

    let inference = Tape::<f64>::inference();
    inference.set_anomaly_detection(true);
    let x = inference.var(0.0);
    let message = panic_message(|| x.recip());
    assert!(
        message.starts_with("anomaly: 1/x produced inf"),
        "{message}"
    );
}

#[test]
fn anomaly_backward_sqrt_of_zero() {
    let tape = Tape::<f64>::with_anomaly_detection();
    let x = tape.var_named("x", 0.0);
    let (y, line) = (x.sqrt(), line!()); // y = 0 is fine, dy/dx = 1/(2√x) is not
    let z = y * 3.0;
    let Err(err) = z.try_backward() else {
        panic!("expected an anomaly")
    };
    assert_eq!(err.pass, Pass::Backward);
    assert_eq!(
        (err.op.as_str(), err.node, err.found),
        ("sqrt", y.id(), NonFinite::Inf)
    );
    assert_eq!(err.input, Some(0));
    assert_eq!(err.input_shapes, [Vec::<usize>::new()]);
    let location = err.location.expect("recorded in anomaly mode");
    assert_eq!((location.file(), location.line()), (file!(), line));
    let message = err.to_string();
    let expected =
        format!("anomaly: backward of sqrt produced inf (gradient of input 0) at {location}");
    assert_eq!(message, format!("{expected} (input shapes [])"));

    // `backward` panics with the same message.
    assert_eq!(panic_message(|| z.backward()), message);
}

#[test]
fn anomaly_backward_graph_and_seeded_passes() {
    let tape = Tape::<f64>::with_anomaly_detection();
    let x = tape.var(array![4.0, 0.0]);
    let (y, line) = (x.sqrt(), line!());
    let s = y.sum();

    let Err(err) = s.try_backward_graph() else {
        panic!("expected an anomaly")
    };
    assert_eq!((err.op.as_str(), err.found), ("sqrt", NonFinite::Inf));
    assert_eq!(err.location.unwrap().line(), line);
    assert_eq!(err.input_shapes, [vec![2]]);
    let message = panic_message(|| s.backward_graph());
    assert_eq!(message, err.to_string());

    let seeded = y.try_backward_with_seed(array![1.0, 0.0]);
    let Err(err) = seeded else {
        panic!("0 · inf is NaN")
    };
    assert_eq!((err.op.as_str(), err.found), ("sqrt", NonFinite::NaN));
}

#[test]
fn anomaly_free_passes_agree_with_detection_off() {
    let build = |tape: &Tape<f64>| {
        let x = tape.var(array![0.5, 2.0]);
        let loss = (x.log() * x).sum();
        let d = loss.backward_graph()[x];
        let d2 = d.sum().backward().get(x).unwrap().to_owned();
        let d1 = loss.backward().get(x).unwrap().to_owned();
        (d1, d2)
    };
    let checked = Tape::<f64>::with_anomaly_detection();
    assert!(checked.is_anomaly_detection_enabled());
    assert_eq!(build(&checked), build(&Tape::new()));
    let x = checked.var(1.0);
    assert!(x.exp().try_backward().is_ok());
}

#[test]
fn anomaly_detection_off_stays_silent_and_records_nothing() {
    let tape = Tape::<f64>::new();
    assert!(!tape.is_anomaly_detection_enabled());
    let x = tape.var(0.0);
    let y = x.log() * 0.0; // -inf · 0 = NaN, silently
    assert!(y.scalar().is_nan());
    assert!(y.created_at().is_none());
    assert!(y.try_backward().is_ok());
}

#[test]
fn anomaly_in_nodes_recorded_before_detection_was_switched_on() {
    let tape = Tape::<f64>::new();
    let x = tape.var(0.0);
    let y = x.sqrt();
    tape.set_anomaly_detection(true);
    let (z, line) = (y * 2.0, line!());
    assert_eq!(z.created_at().unwrap().line(), line);
    let Err(err) = z.try_backward() else {
        panic!("expected an anomaly")
    };
    assert_eq!((err.op.as_str(), err.location), ("sqrt", None));
    assert!(err.to_string().contains(&format!(
        "at node {} (recorded before anomaly detection was switched on)",
        y.id()
    )));

    tape.set_anomaly_detection(false);
    assert!(z.try_backward().is_ok());
}
