//! The one error type of this crate: every variant says which file (or URL) and what is wrong.

use std::io;
use std::path::PathBuf;

use crate::locate::Origin;

/// The result type of this crate.
pub type Result<T> = std::result::Result<T, DataError>;

/// Everything that can go wrong while finding, downloading or reading MNIST.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A file that should exist does not (for a standard file, neither `name.gz` nor `name`).
    #[error("{}: no such file", path.display())]
    Missing {
        /// The path that was looked for.
        path: PathBuf,
    },

    /// A directory that was explicitly chosen lacks one of the MNIST files.
    #[error("{} (from {origin}) does not hold MNIST: {} is missing (nor its uncompressed form)", dir.display(), path.display())]
    IncompleteDir {
        /// The chosen directory.
        dir: PathBuf,
        /// How it was chosen.
        origin: Origin,
        /// The first missing file.
        path: PathBuf,
    },

    /// A path that must be a directory is not one, or cannot be looked at.
    #[error("{} (from {origin}): {reason}", dir.display())]
    BadDir {
        /// The directory.
        dir: PathBuf,
        /// How it was chosen.
        origin: Origin,
        /// What is wrong: `no such directory`, `not a directory`, or the system's error.
        reason: String,
    },

    /// A data file's name is taken by something that is not a file (a directory, a socket, …).
    #[error("{}: {what}, not an MNIST data file", path.display())]
    NotAFile {
        /// The path.
        path: PathBuf,
        /// What it is: `a directory`, `a symbolic link to nothing`, ….
        what: &'static str,
    },

    /// A split of the data set has no examples.
    #[error("{}: holds no images: MNIST needs at least one in each split", path.display())]
    Empty {
        /// The images file.
        path: PathBuf,
    },

    /// The file does not start with the IDX magic number of its kind.
    #[error("{}: wrong magic number: expected {expected:#010x}, found {found:#010x}", path.display())]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// The magic number its kind must have.
        expected: u32,
        /// The magic number it has.
        found: u32,
    },

    /// The file is named `.gz` but is not gzip data.
    #[error("{}: not a gzip file (it does not start with 1f 8b)", path.display())]
    NotGzip {
        /// The file.
        path: PathBuf,
    },

    /// The gzip stream is corrupt or cut short.
    #[error("{}: gzip decompression failed: {source}", path.display())]
    Decompress {
        /// The file.
        path: PathBuf,
        /// What the decompressor said.
        source: io::Error,
    },

    /// The file ends before its header or its data does.
    #[error("{}: truncated {part}: expected {expected} bytes, found {found}", path.display())]
    Truncated {
        /// The file.
        path: PathBuf,
        /// `"header"` or `"data"`.
        part: &'static str,
        /// The bytes the header (or the format) calls for.
        expected: u64,
        /// The bytes there are.
        found: u64,
    },

    /// The file goes on after the data its header announces (for a gzip file: after its compressed stream).
    #[error("{}: trailing data: the header announces {expected} data bytes but the file holds more", path.display())]
    TrailingData {
        /// The file.
        path: PathBuf,
        /// The data bytes the header announces.
        expected: u64,
    },

    /// The images and labels files of one split disagree on the number of examples.
    #[error("{} holds {images} images but {} holds {labels} labels", images_path.display(), labels_path.display())]
    CountMismatch {
        /// The images file.
        images_path: PathBuf,
        /// The number of images.
        images: u64,
        /// The labels file.
        labels_path: PathBuf,
        /// The number of labels.
        labels: u64,
    },

    /// The images are not 28x28.
    #[error("{}: bad image dimensions {rows}x{cols}: MNIST images must be 28x28", path.display())]
    BadDimensions {
        /// The file.
        path: PathBuf,
        /// Rows per image in the header.
        rows: u32,
        /// Columns per image in the header.
        cols: u32,
    },

    /// A label is not a digit.
    #[error("{}: label {label} at index {index} is not a digit 0-9", path.display())]
    BadLabel {
        /// The file.
        path: PathBuf,
        /// The example's index.
        index: usize,
        /// The label found there.
        label: u8,
    },

    /// A file's checksum is not the known one.
    #[error("{}: checksum mismatch: expected {expected}, found {found}", path.display())]
    Checksum {
        /// The file (for a download, its destination in the cache).
        path: PathBuf,
        /// The accepted checksums.
        expected: String,
        /// What the file has.
        found: String,
    },

    /// One mirror could not deliver a file.
    #[error("download of {url} failed: {reason}")]
    Download {
        /// The URL fetched.
        url: String,
        /// What went wrong.
        reason: String,
    },

    /// No mirror delivered a verified file.
    #[error("{}: could not download it from any mirror ({}); to use MNIST files already on this machine, pass --data-dir DIR or set MNIST_DIR", path.display(), list_failures(failures))]
    AllMirrorsFailed {
        /// Where the file was to go.
        path: PathBuf,
        /// Each mirror's URL with its failure, in the order tried.
        failures: Vec<(String, DataError)>,
    },

    /// A gzip file goes on after its compressed stream ends.
    #[error("{}: trailing data after the gzip stream (the file is damaged or not one gzip file)", path.display())]
    TrailingGzipData {
        /// The file.
        path: PathBuf,
    },

    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },

    /// Nothing holds MNIST and there is no cache directory to download it into.
    #[error("MNIST not found: no --data-dir given, MNIST_DIR unset, and no cache directory to download it into (neither XDG_CACHE_HOME nor HOME is set)")]
    NoCacheDir,
}

/// Formats the per-mirror failures of [`DataError::AllMirrorsFailed`] on one line: `url: reason; …`.
fn list_failures(failures: &[(String, DataError)]) -> String {
    if failures.is_empty() {
        return "no mirror is configured".to_owned();
    }
    let parts: Vec<String> = failures
        .iter()
        .map(|(url, error)| match error {
            // The reason of a download error already goes with its URL.
            DataError::Download { reason, .. } => format!("{url}: {reason}"),
            other => format!("{url}: {other}"),
        })
        .collect();
    parts.join("; ")
}
