//! Where MNIST comes from: a given directory, `MNIST_DIR`, the cache, or a download into it.
//!
//! [`Locator`] holds the candidates as plain fields, so tests can set them; [`Locator::from_env`]
//! fills them from the process environment. The order is:
//!
//! 1. the given directory (e.g. a `--data-dir` flag),
//! 2. the `MNIST_DIR` environment variable,
//! 3. the cache directory (`$XDG_CACHE_HOME/backprop-rs/mnist`, else
//!    `$HOME/.cache/backprop-rs/mnist`),
//! 4. a download from the mirrors into the cache directory.
//!
//! A given directory or `MNIST_DIR` that lacks a file is an error: choosing a directory means
//! that data, so there is no silent fall-through to a download.

use std::ffi::OsString;
use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::dataset::Mnist;
use crate::download;
use crate::error::{DataError, Result};
use crate::files::MnistFile;

/// The environment variable naming a directory that holds MNIST.
pub const MNIST_DIR_VAR: &str = "MNIST_DIR";

/// How the directory holding MNIST was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Given by the caller (e.g. a `--data-dir` flag).
    Given,
    /// The `MNIST_DIR` environment variable.
    EnvVar,
    /// The cache directory, which already held the files.
    Cache,
    /// The cache directory, after downloading the missing files.
    Downloaded,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Origin::Given => "--data-dir",
            Origin::EnvVar => MNIST_DIR_VAR,
            Origin::Cache => "cache",
            Origin::Downloaded => "downloaded into the cache",
        })
    }
}

/// The directory that holds MNIST, and how it was chosen. Displays as `/path (MNIST_DIR)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The directory holding the four files.
    pub dir: PathBuf,
    /// How it was chosen.
    pub origin: Origin,
}

impl fmt::Display for Located {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.dir.display(), self.origin)
    }
}

/// The places to look for MNIST, in order, and the mirrors to download it from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locator {
    /// A directory given by the caller; if set, it must hold the files.
    pub data_dir: Option<PathBuf>,
    /// The value of `MNIST_DIR`; if set (and no `data_dir`), it must hold the files.
    pub env_dir: Option<PathBuf>,
    /// The cache directory, where downloads go; `None` if there is no home to put it in.
    pub cache_dir: Option<PathBuf>,
    /// Mirror base URLs, tried in order.
    pub mirrors: Vec<String>,
}

impl Locator {
    /// The locator for this process: `data_dir` as given, `MNIST_DIR`, the cache directory from
    /// `XDG_CACHE_HOME` or `HOME`, and the mirrors from `MNIST_MIRROR` (else the defaults).
    /// Empty variables count as unset.
    pub fn from_env(data_dir: Option<&Path>) -> Locator {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        let mirrors = var(download::MIRROR_VAR)
            .map(|spec| download::parse_mirrors(&spec.to_string_lossy()))
            .filter(|mirrors| !mirrors.is_empty())
            .unwrap_or_else(download::default_mirrors);
        Locator {
            data_dir: data_dir.map(Path::to_owned),
            env_dir: var(MNIST_DIR_VAR).map(PathBuf::from),
            cache_dir: cache_dir_from(var("XDG_CACHE_HOME"), var("HOME")),
            mirrors,
        }
    }

    /// Finds the directory holding MNIST, downloading into the cache if nothing holds it.
    pub fn locate(&self) -> Result<Located> {
        if let Some(dir) = &self.data_dir {
            return complete(dir, Origin::Given);
        }
        if let Some(dir) = &self.env_dir {
            return complete(dir, Origin::EnvVar);
        }
        let dir = self.cache_dir.as_ref().ok_or(DataError::NoCacheDir)?;
        let mut missing = Vec::new();
        for file in MnistFile::ALL {
            if file.find_in(dir)?.is_none() {
                missing.push(file);
            }
        }
        if missing.is_empty() {
            return Ok(Located {
                dir: dir.clone(),
                origin: Origin::Cache,
            });
        }
        std::fs::create_dir_all(dir).map_err(|source| DataError::Io {
            path: dir.clone(),
            source,
        })?;
        for file in missing {
            download::download(file, dir, &self.mirrors)?;
        }
        Ok(Located {
            dir: dir.clone(),
            origin: Origin::Downloaded,
        })
    }

    /// Finds MNIST as [`Locator::locate`] does and loads it.
    pub fn load(&self) -> Result<(Mnist, Located)> {
        let located = self.locate()?;
        Ok((Mnist::load(&located.dir)?, located))
    }
}

/// The project's cache directory for MNIST: `$XDG_CACHE_HOME/backprop-rs/mnist` if
/// `XDG_CACHE_HOME` is an absolute path, else `$HOME/.cache/backprop-rs/mnist`, else `None`.
pub fn cache_dir_from(xdg_cache_home: Option<OsString>, home: Option<OsString>) -> Option<PathBuf> {
    let xdg = xdg_cache_home
        .map(PathBuf::from)
        .filter(|p| p.is_absolute());
    let base = xdg.or_else(|| home.map(|home| PathBuf::from(home).join(".cache")))?;
    Some(base.join("backprop-rs").join("mnist"))
}

/// `dir` as the location if it is a directory holding all four files, else an error naming the directory or
/// the first file that is missing or not a file.
fn complete(dir: &Path, origin: Origin) -> Result<Located> {
    let bad_dir = |reason: String| DataError::BadDir {
        dir: dir.to_owned(),
        origin,
        reason,
    };
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => return Err(bad_dir("not a directory".to_owned())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(bad_dir("no such directory".to_owned()))
        }
        Err(e) => return Err(bad_dir(e.to_string())),
    }
    for file in MnistFile::ALL {
        if file.find_in(dir)?.is_none() {
            return Err(DataError::IncompleteDir {
                dir: dir.to_owned(),
                origin,
                path: dir.join(file.gz_name()),
            });
        }
    }
    Ok(Located {
        dir: dir.to_owned(),
        origin,
    })
}

/// The real-data policy for tests, in one place: the MNIST directory from `MNIST_DIR`, or, when
/// it is unset, `None` after a `skipped: no MNIST data (set MNIST_DIR)` line written straight to
/// stderr (so it shows even when the harness captures output), and the test returns early.
///
/// # Panics
/// When `MNIST_DIR` is unset and `CI` is set: in CI the real-data tests must run, not skip.
pub fn mnist_dir_for_tests() -> Option<PathBuf> {
    match std::env::var_os(MNIST_DIR_VAR).filter(|v| !v.is_empty()) {
        Some(dir) => Some(PathBuf::from(dir)),
        None if std::env::var_os("CI").is_some() => {
            panic!("{MNIST_DIR_VAR} is not set, but CI is: real-data tests must not be skipped in CI; point {MNIST_DIR_VAR} at the MNIST files")
        }
        None => {
            // Straight to stderr, past the test harness's capture, so that a skip is seen.
            let test = std::thread::current().name().unwrap_or("a test").to_owned();
            let _ = writeln!(
                std::io::stderr(),
                "{test}: skipped: no MNIST data (set {MNIST_DIR_VAR})"
            );
            None
        }
    }
}
