//! kill -9 at any moment loses nothing: a short Adam run on real MNIST is killed again and again — after
//! seeded random delays, and right after a checkpoint's temporary file appears (in the middle of writing
//! it) — and continued each time with `--resume` (or started again with `--force` if it was killed before
//! its first checkpoint). Every resume must load, and the finished run's directory must be byte-identical,
//! file for file, to that of a run that was never interrupted: the same parameters, metrics and checkpoint,
//! and nothing else (no temporary file, orphan parameters file or lock left).
//!
//! `KILL_TEST_KILLS` sets the number of kills (default 24: 16 at random delays, 8 targeted at checkpoint
//! writes); `KILL_TEST_KILLS=200` is the longer run, which takes the interrupted run to its end (and compares
//! it) as often as the kills need. Needs `MNIST_DIR` (skipped without it outside CI).

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{snapshot, Rng};
use mnist::mnist_dir_for_tests;

const RUN: [&str; 10] = [
    "--iterations",
    "600",
    "--eval-every",
    "50",
    "--optimizer",
    "adam",
    "--lr",
    "0.002",
    "--seed",
    "7",
];

fn spawn(data: &Path, home: &Path, args: &[impl AsRef<std::ffi::OsStr>]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_mnist"))
        .args(args)
        .args(["--no-plots"])
        .current_dir(home)
        .env("MNIST_DIR", data)
        .env_remove("RUST_BACKTRACE")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the mnist binary runs")
}

/// Whether a temporary file of an atomic write is in the run directory or its checkpoint directory.
fn writing(run: &Path) -> bool {
    [run.to_owned(), run.join("checkpoint")].iter().any(|dir| {
        std::fs::read_dir(dir).is_ok_and(|entries| {
            entries
                .flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with(".partial-"))
        })
    })
}

/// How an attempt ended.
enum Ended {
    Killed,
    Finished,
}

/// Waits for `child` to end by itself, or kills it when `kill_now` says so; a run that ends by itself must
/// succeed.
fn run_until(mut child: Child, mut kill_now: impl FnMut() -> bool) -> Ended {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let output = child.wait_with_output().unwrap();
            assert!(
                status.success(),
                "a run ended with {status}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            return Ended::Finished;
        }
        if kill_now() {
            child.kill().unwrap();
            child.wait().unwrap();
            return Ended::Killed;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "a run hangs");
        std::thread::sleep(Duration::from_micros(200));
    }
}

#[test]
fn killed_at_random_moments_and_resumed_the_run_ends_bit_identical() {
    let Some(data) = mnist_dir_for_tests() else {
        return;
    };
    let kills: usize = std::env::var("KILL_TEST_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24);
    let home = tempfile::tempdir().unwrap();
    let args = |out: &str, extra: &[&'static str]| -> Vec<String> {
        let mut args: Vec<String> = ["train", "--out", out]
            .iter()
            .map(|s| s.to_string())
            .collect();
        args.extend(RUN.iter().chain(extra).map(|s| s.to_string()));
        args
    };

    let reference = spawn(&data, home.path(), &args("reference", &[]));
    assert!(matches!(run_until(reference, || false), Ended::Finished));

    let expected = snapshot(&home.path().join("reference"));
    let mut rng = Rng(16);
    let (mut killed, mut targeted, mut attempts, mut restarts, mut rounds) = (0, 0, 0, 0, 0);
    // One round runs a new directory to its end under kills; more rounds follow while kills are left.
    while killed < kills {
        rounds += 1;
        let name = format!("run{rounds}");
        let run = home.path().join(&name);
        loop {
            attempts += 1;
            let child = if run.join("checkpoint/state.json").exists() {
                spawn(&data, home.path(), &["train", "--resume", &name])
            } else {
                restarts += 1;
                spawn(&data, home.path(), &args(&name, &["--force"]))
            };
            let target = killed % 3 == 2;
            let delay = Duration::from_millis(20 + rng.below(900) as u64);
            let started = Instant::now();
            let ended = run_until(child, || {
                killed < kills
                    && if target {
                        writing(&run)
                    } else {
                        started.elapsed() >= delay
                    }
            });
            match ended {
                Ended::Killed => {
                    killed += 1;
                    targeted += usize::from(target);
                }
                Ended::Finished => break,
            }
            assert!(attempts < 10 * (kills + 10), "no progress");
        }
        let got = snapshot(&run);
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            expected.keys().collect::<Vec<_>>(),
            "{name}: other files than an uninterrupted run's"
        );
        for (file, bytes) in &expected {
            assert!(
                got[file] == *bytes,
                "{name}: {} differs from the uninterrupted run's",
                file.display()
            );
        }
    }
    eprintln!(
        "kill test: {killed} kills ({targeted} during a checkpoint write) over {rounds} runs to the end, {restarts} fresh starts, {attempts} processes; each run bit-identical to the uninterrupted one"
    );
}
