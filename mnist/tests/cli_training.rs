//! The `mnist` binary on real MNIST (`MNIST_DIR`; skipped without it outside CI): runs that diverge, are
//! interrupted and resumed, or meet a full disk, missing fonts or a second run in the same directory.

#[path = "../../tests/support/file_size_limit.rs"]
mod file_size_limit;

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::binary::{
    assert_fails, command, mnist_with_data, state_of, stderr_of, stdout_of, wait_at_most,
};
use common::snapshot;
use mnist::checkpoint;
use mnist::mnist_dir_for_tests;

/// A run whose loss goes infinite finishes, with its plots (it used to hang forever plotting an infinite
/// axis), says when the loss first went wrong, and its checkpoint loads: resuming the finished run works.
#[test]
fn a_diverging_run_finishes_says_so_and_resumes() {
    let Some(data) = mnist_dir_for_tests() else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let child = command(
        home.path(),
        &[
            "train",
            "--lr",
            "1e10",
            "--iterations",
            "300",
            "--eval-every",
            "100",
            "--out",
            "run",
        ],
    )
    .env("MNIST_DIR", &data)
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let output = wait_at_most(child, Duration::from_secs(120));
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("warning: the loss is") && stderr.contains("at step"),
        "{stderr}"
    );
    let run = home.path().join("run");
    assert!(run.join("loss.png").exists() && run.join("params.npz").exists());
    let state = state_of(&run);
    assert_eq!(state.step(), 300);
    assert!(state.history.losses.iter().any(|l| !l.is_finite()));
    let again = mnist_with_data(home.path(), &["train", "--resume", "run", "--no-plots"]).unwrap();
    assert_eq!(again.status.code(), Some(0), "{}", stderr_of(&again));
    assert!(stderr_of(&again).contains("already complete at step 300"));
}

/// Starts `train` (output in `home/run`) and waits until its checkpoint reaches `step`; returns the child and
/// the checkpoint's step.
fn spawn_until_checkpoint(home: &Path, data: &Path, args: &[&str], step: usize) -> (Child, usize) {
    let child = command(home, args)
        .env("MNIST_DIR", data)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = home.join("run");
    let started = Instant::now();
    loop {
        match checkpoint::read_state(&out) {
            Ok(state) if state.step() >= step => return (child, state.step()),
            _ => {}
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no checkpoint at step {step}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Sends SIGINT to `child`, as Ctrl-C does.
fn interrupt(child: &Child) {
    // SAFETY: a plain kill(2) of our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
}

/// Runs `train` until its checkpoint reaches `step`, then interrupts it; it must stop with a checkpoint.
fn interrupt_after(home: &Path, data: &Path, args: &[&str], step: usize) {
    let (child, _) = spawn_until_checkpoint(home, data, args, step);
    interrupt(&child);
    let output = wait_at_most(child, Duration::from_secs(60));
    assert_eq!(output.status.code(), Some(130), "{}", stderr_of(&output));
}

/// Ctrl-C twice: the first asks the run to stop after its iteration, the second ends it at once with status
/// 130. With an evaluation of the SimpleConvNet after every step (over a second of work, with no file open)
/// both signals arrive before the run could stop by itself, so the graceful stop never gets to save: the last
/// checkpoint is the one left, nothing half-written is left beside it, and the run resumes from it to its end.
#[test]
fn a_second_ctrl_c_quits_at_once_and_leaves_the_last_checkpoint() {
    let Some(data) = mnist_dir_for_tests() else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let args = [
        "train",
        "--model",
        "cnn",
        "--iterations",
        "3",
        "--eval-every",
        "1",
        "--no-plots",
        "--out",
        "run",
    ];
    let (child, last) = spawn_until_checkpoint(home.path(), &data, &args, 1);
    let run = home.path().join("run");
    // The next step takes milliseconds; whether a signal lands in it or in the evaluation after it, the run
    // cannot stop by itself before that evaluation ends.
    std::thread::sleep(Duration::from_millis(60));
    for _ in 0..2 {
        interrupt(&child);
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = wait_at_most(child, Duration::from_secs(60));
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("Ctrl-C again to quit at once"), "{stderr}");
    assert!(
        !stderr.contains("checkpoint saved"),
        "the second Ctrl-C did not end the run at once: {stderr}"
    );
    assert_eq!(state_of(&run).step(), last);
    let partial: Vec<PathBuf> = snapshot(&run)
        .into_keys()
        .filter(|p| p.to_string_lossy().contains(nn::io::TEMP_PREFIX))
        .collect();
    assert!(partial.is_empty(), "half-written files left: {partial:?}");
    let resumed =
        mnist_with_data(home.path(), &["train", "--resume", "run", "--no-plots"]).unwrap();
    assert_eq!(resumed.status.code(), Some(0), "{}", stderr_of(&resumed));
    assert_eq!(state_of(&run).step(), 3);
}

/// An interrupted `--epochs 3` run resumed ends at its own length (1800), not the default 10,000 (it used
/// to end at step 9600); asking for fewer iterations than the run's is refused.
#[test]
fn a_resumed_run_continues_to_its_own_length() {
    let Some(data) = mnist_dir_for_tests() else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    interrupt_after(
        home.path(),
        &data,
        &[
            "train",
            "--epochs",
            "3",
            "--eval-every",
            "600",
            "--no-plots",
            "--out",
            "run",
        ],
        600,
    );
    let step = state_of(&home.path().join("run")).step();
    assert!((600..1800).contains(&step), "stopped at {step}");
    let before = snapshot(home.path());
    let shorter = mnist_with_data(
        home.path(),
        &["train", "--resume", "run", "--iterations", "100"],
    )
    .unwrap();
    assert_fails(
        &shorter,
        1,
        &["--iterations asks for 100 iterations, fewer than the 1800"],
    );
    assert_eq!(snapshot(home.path()), before);
    let resumed =
        mnist_with_data(home.path(), &["train", "--resume", "run", "--no-plots"]).unwrap();
    assert_eq!(resumed.status.code(), Some(0), "{}", stderr_of(&resumed));
    assert!(
        stdout_of(&resumed).contains("Final (step 1800)"),
        "{}",
        stdout_of(&resumed)
    );
    assert_eq!(state_of(&home.path().join("run")).step(), 1800);
}

/// `eval` and `predict` read the parameters of an `--dtype f64` run (they used to refuse `<f8`).
#[test]
fn eval_and_predict_read_f64_parameters() {
    let Some(_) = mnist_dir_for_tests() else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let train = [
        "train",
        "--dtype",
        "f64",
        "--iterations",
        "60",
        "--eval-every",
        "60",
        "--no-plots",
        "--out",
        "run",
    ];
    let trained = mnist_with_data(home.path(), &train).unwrap();
    assert_eq!(trained.status.code(), Some(0), "{}", stderr_of(&trained));
    let final_acc = stdout_of(&trained);
    let eval = mnist_with_data(home.path(), &["eval", "--params", "run/params.npz"]).unwrap();
    assert_eq!(eval.status.code(), Some(0), "{}", stderr_of(&eval));
    // The same accuracies as the run's own last evaluation.
    let test_acc = final_acc
        .split("test acc ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap();
    assert!(
        stdout_of(&eval).contains(&format!("Test acc: {test_acc}")),
        "{} vs {final_acc}",
        stdout_of(&eval)
    );
    let predict = mnist_with_data(
        home.path(),
        &["predict", "--params", "run/params.npz", "--index", "0"],
    )
    .unwrap();
    assert_eq!(predict.status.code(), Some(0), "{}", stderr_of(&predict));
    assert!(
        stdout_of(&predict).ends_with("label: 7\n"),
        "{}",
        stdout_of(&predict)
    );
}

/// Without fonts the plots cannot be drawn: the finished run warns, naming `--no-plots`, and exits 0 with
/// its parameters saved (it used to exit 1).
#[test]
fn missing_fonts_are_a_warning_not_a_failure() {
    let Some(data) = mnist_dir_for_tests() else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let conf = home.path().join("no-fonts.conf");
    std::fs::write(
        &conf,
        "<?xml version=\"1.0\"?>\n<fontconfig></fontconfig>\n",
    )
    .unwrap();
    let output = command(
        home.path(),
        &[
            "train",
            "--iterations",
            "20",
            "--eval-every",
            "10",
            "--out",
            "run",
        ],
    )
    .env("MNIST_DIR", data)
    .env("FONTCONFIG_FILE", &conf)
    .output()
    .unwrap();
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("warning: no plots:") && stderr.contains("--no-plots"),
        "{stderr}"
    );
    assert!(!stderr.lines().any(|l| l.starts_with("error")), "{stderr}");
    assert!(home.path().join("run/params.npz").exists());
}

/// A full disk (here: a file size limit) fails at the start, in one line naming the file, leaving nothing
/// behind (it used to print a zip writer's Debug dump).
#[test]
fn a_full_disk_is_one_line_naming_the_file() {
    let Some(data) = mnist_dir_for_tests() else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let mut command = command(
        home.path(),
        &["train", "--iterations", "20", "--out", "run"],
    );
    command.env("MNIST_DIR", data);
    file_size_limit::limit_file_size(&mut command, 64 << 10);
    let output = command.output().unwrap();
    assert_fails(
        &output,
        1,
        &["run/checkpoint/params-000000.npz: File too large"],
    );
    let left: Vec<PathBuf> = snapshot(home.path())
        .into_keys()
        .filter(|p| p.starts_with("run"))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// Two runs into one directory: the second is refused while the first runs; after the first is killed
/// (its lock file stays behind), the stale lock is taken over and the run resumed, and when it ends its
/// lock file is gone and all its files have the same permissions.
#[test]
fn a_second_run_is_refused_while_the_first_runs_and_a_stale_lock_is_taken_over() {
    let Some(data) = mnist_dir_for_tests() else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let args = [
        "train",
        "--iterations",
        "3000",
        "--eval-every",
        "500",
        "--out",
        "run",
    ];
    let mut first = command(home.path(), &args)
        .env("MNIST_DIR", &data)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let run = home.path().join("run");
    let started = Instant::now();
    while checkpoint::read_state(&run).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the first run wrote no checkpoint"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let second = mnist_with_data(home.path(), &args).unwrap();
    assert_fails(
        &second,
        1,
        &[&format!(
            "--out run: in use by another mnist train (pid {})",
            first.id()
        )],
    );
    first.kill().unwrap();
    first.wait().unwrap();
    assert!(
        run.join(".lock").exists(),
        "a killed run leaves its lock file"
    );
    let resumed = mnist_with_data(home.path(), &["train", "--resume", "run"]).unwrap();
    assert_eq!(resumed.status.code(), Some(0), "{}", stderr_of(&resumed));
    assert!(!run.join(".lock").exists());
    use std::os::unix::fs::PermissionsExt;
    let modes: BTreeMap<u32, Vec<PathBuf>> = snapshot(&run)
        .into_keys()
        .map(|p| run.join(p))
        .filter(|p| p.is_file())
        .fold(BTreeMap::new(), |mut modes, p| {
            let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            modes.entry(mode).or_default().push(p);
            modes
        });
    assert_eq!(modes.len(), 1, "file modes differ: {modes:?}");
    let new_file = home.path().join("probe");
    std::fs::write(&new_file, b"").unwrap();
    let usual = std::fs::metadata(&new_file).unwrap().permissions().mode() & 0o777;
    assert_eq!(
        modes.keys().next(),
        Some(&usual),
        "not a new file's usual mode"
    );
}
