//! Running the `mnist` binary in a scratch home, and what its failures must look like.

use std::path::Path;
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use mnist::checkpoint;
use mnist::mnist_dir_for_tests;

use super::snapshot;

/// The binary with `$MNIST_DIR` and the cache pointed into `home`, and downloads to a closed port.
pub fn command(home: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mnist"));
    command
        .args(args)
        .current_dir(home)
        .env("MNIST_DIR", home.join("no-data"))
        .env("HOME", home)
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("MNIST_MIRROR", "http://127.0.0.1:9/")
        .env_remove("RUST_BACKTRACE");
    command
}

pub fn mnist(home: &Path, args: &[&str]) -> Output {
    command(home, args).output().expect("the mnist binary runs")
}

/// The binary with real MNIST (`None` when the data is not there: the test is skipped).
pub fn mnist_with_data(home: &Path, args: &[&str]) -> Option<Output> {
    let data = mnist_dir_for_tests()?;
    Some(
        command(home, args)
            .env("MNIST_DIR", data)
            .output()
            .expect("the mnist binary runs"),
    )
}

/// The process failed with `code`, printed no panic or backtrace, and its stderr's last line is its only
/// `error:` line and mentions every one of `mentions`; returns that line.
pub fn assert_fails(output: &Output, code: i32, mentions: &[&str]) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(code), "stderr: {stderr}");
    for bad in [
        "panicked",
        "backtrace",
        "RUST_BACKTRACE",
        "os error 22",
        "Os {",
    ] {
        assert!(!stderr.contains(bad), "{bad:?} in: {stderr}");
    }
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "one error line: {stderr}");
    assert_eq!(
        stderr.lines().last(),
        Some(errors[0]),
        "the error comes last: {stderr}"
    );
    for m in mentions {
        assert!(
            errors[0].contains(m),
            "the error lacks {m:?}: {}",
            errors[0]
        );
    }
    errors[0].to_owned()
}

/// Runs `args` in a home holding the user's files from `prepare`, asserts the failure, and that every file
/// is as it was.
pub fn fails_touching_nothing(
    args: &[&str],
    code: i32,
    mentions: &[&str],
    prepare: impl FnOnce(&Path),
) -> String {
    let home = tempfile::tempdir().unwrap();
    prepare(home.path());
    let before = snapshot(home.path());
    let line = assert_fails(&mnist(home.path(), args), code, mentions);
    assert_eq!(snapshot(home.path()), before, "{args:?} changed files");
    line
}

/// Reads a run's checkpoint state.
pub fn state_of(out: &Path) -> checkpoint::RunState {
    checkpoint::read_state(out).unwrap_or_else(|e| panic!("{e}"))
}

pub fn stderr_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn stdout_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Waits for `child` at most `limit`, killing it if it is still running; its output.
pub fn wait_at_most(mut child: Child, limit: Duration) -> Output {
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            child.kill().unwrap();
            panic!("still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}
