//! The `mnist` binary as a user meets it when something is wrong: a bad flag, a missing, corrupt or hostile
//! file, a busy or foreign output directory, a full disk, no fonts, a diverging run.
//!
//! Each failing case must end with exactly one `error:` line, as the last line, naming the flag or the file
//! and what is wrong, a non-zero exit code, no panic or backtrace, and every file the user had byte-identical
//! afterwards. These cases need no MNIST data and cannot reach the network (the data lookup is pointed at empty
//! directories, downloads at a closed local port); the cases that train on real MNIST are in `cli_training.rs`.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::binary::{assert_fails, command, fails_touching_nothing, mnist};
use common::snapshot;
use mnist::checkpoint;
use mnist::config::RunConfig;
use mnist::history::History;

#[test]
fn a_bad_flag_value_is_a_usage_error() {
    let line = fails_touching_nothing(&["train", "--lr", "abc"], 2, &["--lr", "abc"], |_| {});
    assert!(line.starts_with("error: invalid value 'abc'"), "{line}");
}

/// Values out of range are refused before anything is read or written (the output directory is not even
/// created), naming the flag and the value.
#[test]
fn out_of_range_flags_are_refused_naming_the_flag() {
    let cases: [(&[&str], &[&str]); 12] = [
        (
            &["--weight-decay", "-0.1"],
            &["--weight-decay -0.1 is not 0 or a positive number"],
        ),
        (
            &["--weight-decay", "20"],
            &["--weight-decay 20 is more than the 10 allowed"],
        ),
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
