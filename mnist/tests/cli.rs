//! The `mnist` binary as a user meets it when something is wrong: a bad flag, a missing, corrupt or hostile
//! file, a busy or foreign output directory, a full disk, no fonts, a diverging run.
//!
//! Each failing case must end with exactly one `error:` line, as the last line, naming the flag or the file
//! and what is wrong, a non-zero exit code, no panic or backtrace, and every file the user had byte-identical
//! afterwards. The cases in the first part need no MNIST data and cannot reach the network (the data lookup
//! is pointed at empty directories, downloads at a closed local port); those at the end train on real MNIST
//! (`MNIST_DIR`) and are skipped without it outside CI.

mod common;

use std::collections::BTreeMap;

use common::snapshot;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use mnist::checkpoint;
use mnist::config::RunConfig;
use mnist::history::History;
use mnist::mnist_dir_for_tests;

/// The binary with `$MNIST_DIR` and the cache pointed into `home`, and downloads to a closed port.
fn command(home: &Path, args: &[&str]) -> Command {
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

fn mnist(home: &Path, args: &[&str]) -> Output {
    command(home, args).output().expect("the mnist binary runs")
}

/// The binary with real MNIST (`None` when the data is not there: the test is skipped).
fn mnist_with_data(home: &Path, args: &[&str]) -> Option<Output> {
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
fn assert_fails(output: &Output, code: i32, mentions: &[&str]) -> String {
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
fn fails_touching_nothing(
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

#[test]
fn a_bad_flag_value_is_a_usage_error() {
    let line = fails_touching_nothing(&["train", "--lr", "abc"], 2, &["--lr", "abc"], |_| {});
    assert!(line.starts_with("error: invalid value 'abc'"), "{line}");
}

/// Values out of range are refused before anything is read or written (the output directory is not even
/// created), naming the flag and the value.
#[test]
fn out_of_range_flags_are_refused_naming_the_flag() {
    let cases: [(&[&str], &[&str]); 10] = [
        (
            &["--hidden", "100000000"],
            &["--hidden 100000000 is more than the 10000 allowed"],
        ),
        (
            &["--epochs", "30744573456182587"],
            &["--epochs 30744573456182587 is too many"],
        ),
        (
            &["--weight-init-std", "NaN"],
            &["--weight-init-std NaN is not a positive number"],
        ),
        (
            &["--weight-init-std", "1e300"],
            &["--weight-init-std 1e300 is more than the 100 allowed"],
        ),
        (
            &["--weight-init-std", "-1"],
            &["--weight-init-std -1 is not a positive number"],
        ),
        (&["--eval-every", "0"], &["--eval-every 0 is not allowed"]),
        (&["--iterations", "0"], &["--iterations 0 is not allowed"]),
        (
            &["--iterations", "10000001"],
            &["--iterations 10000001 is more than"],
        ),
        (
            &["--lr", "1e300"],
            &["--lr 1e300 is out of the range of f32"],
        ),
        (&["--batch-size", "0"], &["--batch-size 0 is not allowed"]),
    ];
    for (flags, mentions) in cases {
        let args: Vec<&str> = ["train", "--out", "out"]
            .iter()
            .chain(flags)
            .copied()
            .collect();
        fails_touching_nothing(&args, 1, mentions, |_| {});
    }
}

/// Flags that cannot go together are refused by the parser, naming both.
#[test]
fn flags_that_cannot_be_honoured_together_are_refused() {
    let cases: [(&[&str], &[&str]); 4] = [
        (
            &["predict", "--params", "p.npz", "--index", "0", "--invert"],
            &["--invert", "--index"],
        ),
        (
            &["train", "--resume", "run", "--lr", "0.5"],
            &["--resume", "--lr"],
        ),
        (
            &["train", "--resume", "run", "--hidden", "20"],
            &["--resume", "--hidden"],
        ),
        (
            &["train", "--resume", "run", "--out", "other"],
            &["--resume", "--out"],
        ),
    ];
    for (args, mentions) in cases {
        fails_touching_nothing(args, 2, mentions, |_| {});
    }
    fails_touching_nothing(
        &["train", "--resume", "run", "--force"],
        2,
        &["--force"],
        |_| {},
    );
}

#[test]
fn resuming_a_directory_without_a_checkpoint_says_so() {
    fails_touching_nothing(
        &["train", "--resume", "run"],
        1,
        &["run/checkpoint/state.json", "no checkpoint"],
        |home| {
            std::fs::create_dir(home.join("run")).unwrap();
            std::fs::write(home.join("run/notes.txt"), b"mine").unwrap();
        },
    );
}

/// `--out` is checked when the run starts (it used to fail at the first checkpoint, an epoch later): a file,
/// a directory holding other files, or another run is refused, and nothing in it is touched.
#[test]
fn an_unusable_output_directory_is_refused_at_once() {
    fails_touching_nothing(
        &["train", "--out", "out"],
        1,
        &["--out out", "not a directory"],
        |home| {
            std::fs::write(home.join("out"), b"a file").unwrap();
        },
    );
    let line = fails_touching_nothing(
        &["train", "--out", "out"],
        1,
        &["--out out", "is not empty"],
        |home| {
            std::fs::create_dir(home.join("out")).unwrap();
            std::fs::write(home.join("out/notes.txt"), b"mine").unwrap();
        },
    );
    assert!(
        line.contains("notes.txt") && line.contains("--force"),
        "{line}"
    );
    fails_touching_nothing(
        &["train", "--out", "out"],
        1,
        &["--out out", "holds another run", "--resume out", "--force"],
        |home| {
            checkpoint::save(
                &home.join("out"),
                &RunConfig::default(),
                &History::default(),
                |p| std::fs::write(p, b"params").map_err(|e| e.to_string()),
            )
            .unwrap();
        },
    );
}

/// A directory another `mnist train` is writing is refused with that process's id (two terminals, one
/// `runs/latest`).
#[test]
fn a_directory_in_use_is_refused_with_the_holders_pid() {
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let lock = std::fs::File::create(out.join(".lock")).unwrap();
    lock.try_lock().unwrap();
    std::fs::write(out.join(".lock"), "4242\n").unwrap();
    let before = snapshot(home.path());
    assert_fails(
        &mnist(home.path(), &["train", "--out", "out"]),
        1,
        &["--out out", "in use by another mnist train (pid 4242)"],
    );
    assert_fails(
        &mnist(home.path(), &["train", "--resume", "out"]),
        1,
        &["--resume out", "in use by another mnist train (pid 4242)"],
    );
    assert_eq!(snapshot(home.path()), before);
}

#[test]
fn parameter_files_that_are_not_usable_are_named() {
    let line = fails_touching_nothing(
        &["eval", "--params", "dir"],
        1,
        &["dir: is a directory, not a .npz file"],
        |home| std::fs::create_dir(home.join("dir")).unwrap(),
    );
    assert!(!line.contains("MNIST"), "looked for data first: {line}");
    fails_touching_nothing(
        &["predict", "--params", "bad.npz", "--index", "0"],
        1,
        &["bad.npz", "npz"],
        |home| {
            std::fs::write(home.join("bad.npz"), b"not a zip archive").unwrap();
        },
    );
    fails_touching_nothing(
        &["eval", "--params", "missing.npz"],
        1,
        &["missing.npz"],
        |_| {},
    );
    fails_touching_nothing(
        &["eval", "--params", "wrong.npz"],
        1,
        &["wrong.npz: array 'W2' has shape [50, 3], expected [50, 10]"],
        |home| {
            let net = nn::TwoLayerNet::<f32>::new_seeded(784, 50, 3, 0.01, 0);
            net.params.save_npz(home.join("wrong.npz")).unwrap();
        },
    );
}

/// A data directory that is a file or absent, a data file that is a directory, a symbolic link loop: each
/// said for what it is, not "missing".
#[test]
fn data_paths_are_described_for_what_they_are() {
    let data = ["train", "--out", "out", "--data-dir", "data"];
    fails_touching_nothing(
        &data,
        1,
        &["data (from --data-dir): not a directory"],
        |home| {
            std::fs::write(home.join("data"), b"x").unwrap();
        },
    );
    fails_touching_nothing(
        &data,
        1,
        &["data (from --data-dir): no such directory"],
        |_| {},
    );
    fails_touching_nothing(
        &data,
        1,
        &["data/train-images-idx3-ubyte.gz: a directory, not an MNIST data file"],
        |home| std::fs::create_dir_all(home.join("data/train-images-idx3-ubyte.gz")).unwrap(),
    );
    fails_touching_nothing(
        &data,
        1,
        &["data/train-images-idx3-ubyte.gz", "symbolic links"],
        |home| {
            std::fs::create_dir(home.join("data")).unwrap();
            let link = home.join("data/train-images-idx3-ubyte.gz");
            std::os::unix::fs::symlink(&link, &link).unwrap();
        },
    );
}

#[test]
fn a_corrupt_gzip_file_is_named() {
    let names = [
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    ];
    fails_touching_nothing(
        &["train", "--data-dir", "corrupt", "--out", "out"],
        1,
        &["corrupt/", "-ubyte.gz"],
        |home| {
            std::fs::create_dir(home.join("corrupt")).unwrap();
            for name in names {
                // The gzip magic, then nothing a decoder accepts.
                std::fs::write(
                    home.join("corrupt").join(name),
                    [0x1f, 0x8b, 0x08, 0x00, 1, 2, 3],
                )
                .unwrap();
            }
        },
    );
}

/// No data anywhere and no mirror answering: one line that lists the mirrors' failures and says how to use
/// files already on the machine.
#[test]
fn a_failed_download_says_how_to_use_local_files() {
    let home = tempfile::tempdir().unwrap();
    let output = command(home.path(), &["train", "--out", "out", "--iterations", "1"])
        .env_remove("MNIST_DIR")
        .output()
        .unwrap();
    assert_fails(
        &output,
        1,
        &[
            "could not download",
            "127.0.0.1:9",
            "--data-dir",
            "MNIST_DIR",
        ],
    );
}

fn write_sealed_state(out: &Path, state: &serde_json::Value) {
    let path = checkpoint::checkpoint_dir(out).join("state.json");
    std::fs::write(path, common::sealed_state(&state.to_string())).unwrap();
}

/// A hostile or damaged checkpoint is refused before the data is even looked for, and nothing is deleted:
/// a `params_file` naming a file outside (it used to be deleted by the next checkpoint), a batch size of 0
/// (it used to panic), a flipped bit (it used to be read silently).
#[test]
fn a_hostile_or_damaged_checkpoint_is_refused_and_nothing_is_deleted() {
    let prepare = |edit: fn(&mut serde_json::Value, &Path)| {
        move |home: &Path| {
            std::fs::write(home.join("victim.txt"), b"keep me").unwrap();
            let out = home.join("run");
            let config = RunConfig {
                iterations: 600,
                ..RunConfig::default()
            };
            checkpoint::save(&out, &config, &History::default(), |p| {
                std::fs::write(p, b"params").map_err(|e| e.to_string())
            })
            .unwrap();
            let path = checkpoint::checkpoint_dir(&out).join("state.json");
            let mut file: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            edit(&mut file["state"], &out);
        }
    };
    fails_touching_nothing(
        &["train", "--resume", "run"],
        1,
        &[
            "run/checkpoint/state.json",
            "params_file \"../../victim.txt\"",
        ],
        prepare(|state, out| {
            state["params_file"] = "../../victim.txt".into();
            write_sealed_state(out, state);
        }),
    );
    fails_touching_nothing(
        &["train", "--resume", "run"],
        1,
        &[
            "run/checkpoint/state.json",
            "config.batch_size 0 is not allowed",
        ],
        prepare(|state, out| {
            state["config"]["batch_size"] = 0.into();
            write_sealed_state(out, state);
        }),
    );
    fails_touching_nothing(
        &["train", "--resume", "run"],
        1,
        &["run/checkpoint/state.json", "checksum mismatch"],
        prepare(|_, out| {
            let path = checkpoint::checkpoint_dir(out).join("state.json");
            let text = std::fs::read_to_string(&path)
                .unwrap()
                .replace("\"batch_size\":100", "\"batch_size\":300");
            std::fs::write(path, text).unwrap();
        }),
    );
}

/// One PNG chunk with its CRC.
fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
    chunk.extend(kind);
    chunk.extend(data);
    chunk.extend(crc.sum().to_be_bytes());
    chunk
}

/// A PNG whose header says 30000x30000 is refused from its header at once (it used to be decoded, 1.76 GB,
/// before the size check); so is an image file too large for a digit.
#[test]
fn a_huge_image_is_refused_from_its_header() {
    let started = Instant::now();
    fails_touching_nothing(
        &["predict", "--params", "p.npz", "--image", "huge.png"],
        1,
        &["huge.png: image is 30000x30000; MNIST digits are 28x28"],
        |home| {
            nn::TwoLayerNet::<f32>::new_seeded(784, 5, 10, 0.01, 0)
                .params
                .save_npz(home.join("p.npz"))
                .unwrap();
            let mut ihdr = 30000u32.to_be_bytes().to_vec();
            ihdr.extend(30000u32.to_be_bytes());
            ihdr.extend([8, 0, 0, 0, 0]);
            let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
            png.extend(png_chunk(b"IHDR", &ihdr));
            png.extend(png_chunk(b"IDAT", &[0x78, 0x9c]));
            png.extend(png_chunk(b"IEND", &[]));
            std::fs::write(home.join("huge.png"), png).unwrap();
        },
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    fails_touching_nothing(
        &["predict", "--params", "p.npz", "--image", "big.pgm"],
        1,
        &["big.pgm", "too large for a 28x28 digit image"],
        |home| {
            nn::TwoLayerNet::<f32>::new_seeded(784, 5, 10, 0.01, 0)
                .params
                .save_npz(home.join("p.npz"))
                .unwrap();
            let file = std::fs::File::create(home.join("big.pgm")).unwrap();
            file.set_len(5 << 20).unwrap();
        },
    );
}

// ---------------------------------------------------------------------------------------------------------
// On real MNIST.

/// Reads a run's checkpoint state.
fn state_of(out: &Path) -> checkpoint::RunState {
    checkpoint::read_state(out).unwrap_or_else(|e| panic!("{e}"))
}

fn stderr_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Waits for `child` at most `limit`, killing it if it is still running; its output.
fn wait_at_most(mut child: Child, limit: Duration) -> Output {
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

/// Runs `train` until its checkpoint reaches `step`, then interrupts it with SIGINT (as Ctrl-C does); it
/// must stop with a checkpoint.
fn interrupt_after(home: &Path, data: &Path, args: &[&str], step: usize) {
    let child = command(home, args)
        .env("MNIST_DIR", data)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = home.join("run");
    let started = Instant::now();
    while checkpoint::read_state(&out).map_or(true, |s| s.step() < step) {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no checkpoint at step {step}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    // SAFETY: a plain kill(2) of our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let output = wait_at_most(child, Duration::from_secs(60));
    assert_eq!(output.status.code(), Some(130), "{}", stderr_of(&output));
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
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut command, || {
            let limit = libc::rlimit {
                rlim_cur: 64 << 10,
                rlim_max: 64 << 10,
            };
            libc::setrlimit(libc::RLIMIT_FSIZE, &limit);
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
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
