//! Where the data comes from: the order of the candidates, the errors for chosen directories that
//! lack files, the cache directory and the mirror list. These need no real data: presence of the
//! files is all that locating checks.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use mnist::download::{default_mirrors, parse_mirrors, DEFAULT_MIRRORS};
use mnist::locate::cache_dir_from;
use mnist::{DataError, Located, Locator, MnistFile, Origin};

/// A directory with four empty files of the standard names (compressed or not).
fn dir_with_files(compressed: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for file in MnistFile::ALL {
        let name = if compressed {
            file.gz_name()
        } else {
            file.name()
        };
        std::fs::write(dir.path().join(name), b"").unwrap();
    }
    dir
}

/// A locator whose mirror cannot be reached, so any download attempt would fail loudly.
fn locator(data_dir: Option<&Path>, env_dir: Option<&Path>, cache_dir: Option<&Path>) -> Locator {
    Locator {
        data_dir: data_dir.map(Path::to_owned),
        env_dir: env_dir.map(Path::to_owned),
        cache_dir: cache_dir.map(Path::to_owned),
        mirrors: vec!["http://127.0.0.1:9/unreachable/".to_owned()],
    }
}

#[test]
fn given_dir_comes_first() {
    let (given, env, cache) = (
        dir_with_files(true),
        dir_with_files(true),
        dir_with_files(true),
    );
    let located = locator(Some(given.path()), Some(env.path()), Some(cache.path())).locate();
    assert_eq!(
        located.unwrap(),
        Located {
            dir: given.path().to_owned(),
            origin: Origin::Given
        }
    );
}

#[test]
fn env_dir_comes_before_the_cache() {
    let (env, cache) = (dir_with_files(false), dir_with_files(true));
    let located = locator(None, Some(env.path()), Some(cache.path()))
        .locate()
        .unwrap();
    assert_eq!(
        (located.dir.as_path(), located.origin),
        (env.path(), Origin::EnvVar)
    );
    assert_eq!(
        located.to_string(),
        format!("{} (MNIST_DIR)", env.path().display())
    );
}

#[test]
fn complete_cache_is_used_without_download() {
    let cache = dir_with_files(true);
    let located = locator(None, None, Some(cache.path())).locate().unwrap();
    assert_eq!(
        (located.dir.as_path(), located.origin),
        (cache.path(), Origin::Cache)
    );
}

#[test]
fn given_dir_lacking_a_file_is_an_error_not_a_download() {
    let given = dir_with_files(true);
    let gone = given.path().join(MnistFile::TestLabels.gz_name());
    std::fs::remove_file(&gone).unwrap();
    let cache = dir_with_files(true);
    let err = locator(Some(given.path()), None, Some(cache.path()))
        .locate()
        .unwrap_err();
    assert!(
        matches!(&err, DataError::IncompleteDir { dir, origin: Origin::Given, path } if dir == given.path() && *path == gone),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains(&gone.display().to_string()), "{message}");
    assert!(message.contains("(from --data-dir)"), "{message}");
}

#[test]
fn env_dir_lacking_files_is_an_error_not_a_download() {
    let env = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let err = locator(None, Some(env.path()), Some(cache.path()))
        .locate()
        .unwrap_err();
    assert!(
        matches!(
            err,
            DataError::IncompleteDir {
                origin: Origin::EnvVar,
                ..
            }
        ),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains(&env.path().display().to_string()),
        "{message}"
    );
    assert!(message.contains("MNIST_DIR"), "{message}");
    assert!(
        message.contains(MnistFile::TrainImages.gz_name()),
        "{message}"
    );
    assert_eq!(
        std::fs::read_dir(cache.path()).unwrap().count(),
        0,
        "nothing downloaded"
    );
}

#[test]
fn incomplete_cache_downloads_only_what_is_missing() {
    let cache = dir_with_files(true);
    std::fs::remove_file(cache.path().join(MnistFile::TrainImages.gz_name())).unwrap();
    let err = locator(None, None, Some(cache.path()))
        .locate()
        .unwrap_err();
    let DataError::AllMirrorsFailed { path, failures } = &err else {
        panic!("expected a failed download, got {err:?}");
    };
    assert_eq!(*path, cache.path().join(MnistFile::TrainImages.gz_name()));
    assert_eq!(
        failures[0].0,
        "http://127.0.0.1:9/unreachable/train-images-idx3-ubyte.gz"
    );
    assert!(
        matches!(failures[0].1, DataError::Download { .. }),
        "{:?}",
        failures[0].1
    );
}

#[test]
fn no_cache_dir_is_an_error() {
    let err = locator(None, None, None).locate().unwrap_err();
    assert!(matches!(err, DataError::NoCacheDir), "{err:?}");
}

#[test]
fn cache_dir_follows_xdg_then_home() {
    let os = |s: &str| Some(OsString::from(s));
    let expect = |s: &str| Some(PathBuf::from(s));
    assert_eq!(
        cache_dir_from(os("/xdg"), os("/home/u")),
        expect("/xdg/backprop-rs/mnist")
    );
    assert_eq!(
        cache_dir_from(os("relative"), os("/home/u")),
        expect("/home/u/.cache/backprop-rs/mnist")
    );
    assert_eq!(
        cache_dir_from(None, os("/home/u")),
        expect("/home/u/.cache/backprop-rs/mnist")
    );
    assert_eq!(cache_dir_from(None, None), None);
}

#[test]
fn mirror_lists_split_at_commas_and_whitespace() {
    assert_eq!(
        parse_mirrors(" http://a/x/, http://b/\n\thttp://c ,,"),
        ["http://a/x/", "http://b/", "http://c"]
    );
    assert!(parse_mirrors(" , ").is_empty());
    assert_eq!(default_mirrors(), DEFAULT_MIRRORS);
    assert!(DEFAULT_MIRRORS.iter().all(|m| m.starts_with("https://")));
}

#[test]
fn files_are_found_compressed_first() {
    let dir = dir_with_files(false);
    let file = MnistFile::TrainLabels;
    assert_eq!(
        file.find_in(dir.path()).unwrap(),
        Some(dir.path().join("train-labels-idx1-ubyte"))
    );
    std::fs::write(dir.path().join(file.gz_name()), b"").unwrap();
    assert_eq!(
        file.find_in(dir.path()).unwrap(),
        Some(dir.path().join("train-labels-idx1-ubyte.gz"))
    );
    assert_eq!(file.find_in(&dir.path().join("nowhere")).unwrap(), None);
}

/// A data file's name taken by a directory, a dangling link or a link loop is said to be that, not
/// "missing"; a data directory that is a file or absent is said to be that.
#[test]
fn what_is_not_a_data_file_or_directory_is_named_for_what_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let file = MnistFile::TrainImages;
    let path = dir.path().join(file.gz_name());
    std::fs::create_dir(&path).unwrap();
    let err = file.find_in(dir.path()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{}: a directory, not an MNIST data file", path.display())
    );
    std::fs::remove_dir(&path).unwrap();
    std::os::unix::fs::symlink(dir.path().join("gone"), &path).unwrap();
    let err = file.find_in(dir.path()).unwrap_err().to_string();
    assert!(
        err.ends_with("a symbolic link to nothing, not an MNIST data file"),
        "{err}"
    );
    std::fs::remove_file(&path).unwrap();
    std::os::unix::fs::symlink(&path, &path).unwrap();
    let err = file.find_in(dir.path()).unwrap_err().to_string();
    assert!(
        err.starts_with(&path.display().to_string()) && err.contains("symbolic links"),
        "{err}"
    );

    let not_a_dir = dir.path().join("file");
    std::fs::write(&not_a_dir, b"x").unwrap();
    for (given, reason) in [
        (not_a_dir, "not a directory"),
        (dir.path().join("absent"), "no such directory"),
    ] {
        let err = locator(Some(&given), None, None).locate().unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("{} (from --data-dir): {reason}", given.display())
        );
    }
}

/// Run only as a child of the test below: what a real-data test does without data.
#[test]
fn probe_real_data_policy() {
    if std::env::var_os("MNIST_POLICY_PROBE").is_some() {
        assert!(mnist::mnist_dir_for_tests().is_none());
    }
}

/// Without `MNIST_DIR`, a real-data test prints a visible `skipped` line (even under the harness's output
/// capture) and passes; with `CI` set, it fails loudly instead.
#[test]
fn real_data_tests_say_skipped_and_fail_in_ci() {
    let run = |ci: bool| {
        let mut command = std::process::Command::new(std::env::current_exe().unwrap());
        command
            .args(["--exact", "probe_real_data_policy", "--test-threads", "1"])
            .env("MNIST_POLICY_PROBE", "1")
            .env_remove("MNIST_DIR")
            .env_remove("CI");
        if ci {
            command.env("CI", "true");
        }
        command.output().unwrap()
    };
    let local = run(false);
    let stderr = String::from_utf8_lossy(&local.stderr);
    assert!(local.status.success(), "{stderr}");
    assert!(
        stderr.contains("probe_real_data_policy: skipped: no MNIST data (set MNIST_DIR)"),
        "{stderr}"
    );
    let ci = run(true);
    let stdout = String::from_utf8_lossy(&ci.stdout);
    assert!(!ci.status.success(), "{stdout}");
    assert!(
        stdout.contains("MNIST_DIR is not set, but CI is"),
        "{stdout}"
    );
}
