//! The Python interpreter that checks the parameter files the tests write, and writes files for them to read,
//! with NumPy and safetensors: the one `PYTHON_FOR_TESTS` names, else `python3`. `.ci/run` makes a virtual
//! environment with both and points `PYTHON_FOR_TESTS` at it.
//!
//! The policy is `mnist::mnist_dir_for_tests`'s: without the modules a test skips locally, saying so, but fails
//! when `CI` is set, so that a check CI cannot run is never mistaken for one that passed.

use std::env;
use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::process::Command;

/// The variable naming the interpreter.
pub const PYTHON_VAR: &str = "PYTHON_FOR_TESTS";

/// The interpreter, if it can import every module of `modules` (e.g. `["numpy", "safetensors.numpy"]`).
///
/// When it cannot: `None` after a `skipped:` line written straight to stderr (past the test harness's
/// capture, so that the skip is seen), and the test returns early.
///
/// # Panics
/// When it cannot and `CI` is set: in CI the Python checks must run, not skip.
pub fn python_with(modules: &[&str]) -> Option<OsString> {
    let (python, origin) = match env::var_os(PYTHON_VAR).filter(|v| !v.is_empty()) {
        Some(python) => (python, format!("from {PYTHON_VAR}")),
        None => (OsString::from("python3"), format!("{PYTHON_VAR} is unset")),
    };
    let import = format!("import {}", modules.join(", "));
    let problem = match Command::new(&python).args(["-c", &import]).output() {
        Ok(out) if out.status.success() => return Some(python),
        Ok(out) => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            stderr
                .trim()
                .lines()
                .last()
                .unwrap_or("it failed")
                .to_owned()
        }
        Err(e) => format!("it cannot be run: {e}"),
    };
    let what = format!(
        "{} ({origin}) cannot `{import}`: {problem}",
        python.to_string_lossy()
    );
    if env::var_os("CI").is_some() {
        panic!(
            "{what}; CI is set, so the Python checks must run, not skip: set {PYTHON_VAR} to a Python \
             with {modules:?} (.ci/run makes one in target/pyenv-tests)"
        );
    }
    let test = std::thread::current().name().unwrap_or("a test").to_owned();
    let _ = writeln!(
        std::io::stderr(),
        "{test}: skipped: {what} (set {PYTHON_VAR} to a Python that has them)"
    );
    None
}

/// Runs `script` with `python`, its arguments `args` in `sys.argv[1:]`, and returns what it prints.
///
/// # Panics
/// When the script fails, with its stderr.
pub fn run(python: &OsStr, script: &str, args: &[&OsStr]) -> String {
    let out = Command::new(python)
        .args(["-c", script])
        .args(args)
        .output()
        .expect("the interpreter ran a moment ago");
    assert!(
        out.status.success(),
        "the Python script failed:\n{script}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("the script prints text")
}

/// The bytes as lowercase hexadecimal, as Python's `bytes.hex()` writes them.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An array's elements as little-endian bytes in C order, as hexadecimal: what Python prints for
/// `a.astype(a.dtype.newbyteorder("<")).tobytes("C").hex()`.
pub fn array_hex<T: Copy>(array: &ndarray::ArrayD<T>, le_bytes: impl Fn(T) -> Vec<u8>) -> String {
    hex(&array.iter().flat_map(|&x| le_bytes(x)).collect::<Vec<u8>>())
}
