//! `mnist train --model cnn` on real MNIST (`MNIST_DIR`; skipped without it outside CI): the book's
//! SimpleConvNet trains, checkpoints, resumes to exactly the uninterrupted run's parameters, and its saved
//! parameters evaluate and predict like the MLP's.

mod common;

use common::binary::{mnist_with_data, stderr_of, stdout_of};
use mnist::mnist_dir_for_tests;
use nn::Params;

/// The text after `label` in `text`, up to the next whitespace.
fn after<'a>(text: &'a str, label: &str) -> &'a str {
    let rest = text
        .split(label)
        .nth(1)
        .unwrap_or_else(|| panic!("no {label:?} in {text}"));
    rest.split_whitespace().next().unwrap()
}

#[test]
fn a_cnn_run_resumes_exactly_and_its_parameters_evaluate_and_predict() {
    let Some(_) = mnist_dir_for_tests() else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let output = mnist_with_data(home.path(), args).unwrap();
        assert_eq!(
            output.status.code(),
            Some(0),
            "{args:?}: {}",
            stderr_of(&output)
        );
        stdout_of(&output)
    };
    let common = ["--model", "cnn", "--eval-every", "8", "--no-plots"];
    // Straight to 16 iterations, and to 8 then resumed to 16.
    run(&[
        &["train", "--iterations", "16", "--out", "straight"],
        &common[..],
    ]
    .concat());
    run(&[
        &["train", "--iterations", "8", "--out", "resumed"],
        &common[..],
    ]
    .concat());
    let resumed = run(&["train", "--resume", "resumed", "--iterations", "16"]);
    assert!(resumed.contains("Final (step 16)"), "{resumed}");
    let load =
        |dir: &str| Params::<f32>::load_npz(home.path().join(dir).join("params.npz")).unwrap();
    let (straight, again) = (load("straight"), load("resumed"));
    assert_eq!(
        straight.names().collect::<Vec<_>>(),
        ["0.weight", "0.bias", "4.weight", "4.bias", "6.weight", "6.bias"]
    );
    assert_eq!(straight["0.weight"].shape(), [30, 1, 5, 5]);
    assert_eq!(straight["4.weight"].shape(), [100, 4320]);
    assert_eq!(straight, again, "resuming changed the parameters");

    let eval = run(&["eval", "--params", "straight/params.npz"]);
    assert_eq!(
        after(&eval, "Test acc: "),
        after(&resumed, "test acc "),
        "{eval} vs {resumed}"
    );
    let test_acc: f64 = after(&eval, "Test acc: ").parse().unwrap();
    assert!(test_acc > 0.3, "16 Adam steps learn something: {test_acc}");
    // The same arrays as .safetensors evaluate the same.
    straight
        .save(home.path().join("straight.safetensors"))
        .unwrap();
    assert_eq!(run(&["eval", "--params", "straight.safetensors"]), eval);
    let predict = run(&["predict", "--params", "straight/params.npz", "--index", "0"]);
    assert!(predict.ends_with("label: 7\n"), "{predict}");
    assert_eq!(predict.lines().count(), 4, "{predict}");
}
