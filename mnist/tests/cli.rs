//! The `mnist` binary as a user meets it when something is wrong: a bad flag, a missing or corrupt file.
//! Each case must end with a one-line error that names the problem, a non-zero exit code and no panic.
//! None of them needs the MNIST data, and none may reach the network: the data lookup is pointed at empty
//! or corrupt directories.

use std::path::Path;
use std::process::{Command, Output};

/// Runs the binary with `args`, with `$MNIST_DIR` and the cache pointed into `home`.
fn mnist(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mnist"))
        .args(args)
        .env("MNIST_DIR", home.join("no-data"))
        .env("HOME", home)
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("the mnist binary runs")
}

/// The process failed with `code`, printed no panic or backtrace, and its stderr mentions every one of
/// `mentions`; returns stderr.
fn assert_fails(output: &Output, code: i32, mentions: &[&str]) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(code), "stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "a panic: {stderr}");
    for m in mentions {
        assert!(stderr.contains(m), "stderr lacks {m:?}: {stderr}");
    }
    stderr
}

#[test]
fn a_bad_flag_value_is_a_usage_error() {
    let home = tempfile::tempdir().unwrap();
    let output = mnist(home.path(), &["train", "--lr", "abc"]);
    assert_fails(&output, 2, &["--lr", "abc"]);
}

#[test]
fn a_data_directory_without_mnist_is_named() {
    let home = tempfile::tempdir().unwrap();
    let empty = home.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let dir = empty.to_str().unwrap();
    let output = mnist(home.path(), &["train", "--data-dir", dir, "--out", dir]);
    assert_fails(&output, 1, &["error:", dir, "train-images-idx3-ubyte"]);
}

#[test]
fn a_corrupt_gzip_file_is_named() {
    let home = tempfile::tempdir().unwrap();
    let data = home.path().join("corrupt");
    std::fs::create_dir(&data).unwrap();
    for name in [
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ] {
        // The gzip magic, then nothing a decoder accepts.
        std::fs::write(data.join(name), [0x1f, 0x8b, 0x08, 0x00, 1, 2, 3]).unwrap();
    }
    let dir = data.to_str().unwrap();
    let out = home.path().join("out");
    let output = mnist(
        home.path(),
        &["train", "--data-dir", dir, "--out", out.to_str().unwrap()],
    );
    assert_fails(&output, 1, &["error:", dir, "-ubyte.gz"]);
}

/// A wrong `--params` path fails before the data are looked up (so a typo never starts a download).
#[test]
fn eval_with_missing_parameters_names_the_file_before_looking_for_data() {
    let home = tempfile::tempdir().unwrap();
    let params = home.path().join("missing.npz");
    let params = params.to_str().unwrap();
    let output = mnist(home.path(), &["eval", "--params", params]);
    let stderr = assert_fails(&output, 1, &["error:", params]);
    assert!(!stderr.contains("MNIST"), "looked for data first: {stderr}");
}

#[test]
fn a_corrupt_parameter_file_is_named() {
    let home = tempfile::tempdir().unwrap();
    let params = home.path().join("bad.npz");
    std::fs::write(&params, b"not a zip archive").unwrap();
    let params = params.to_str().unwrap();
    let output = mnist(
        home.path(),
        &["predict", "--params", params, "--index", "0"],
    );
    assert_fails(&output, 1, &["error:", params, "npz"]);
}
