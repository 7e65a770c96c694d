//! [`NpzError`]: everything that can go wrong saving or loading parameters (`.npz` or `.safetensors`), naming
//! the file and the array.

use std::io;
use std::path::PathBuf;

/// A failure to save or load a parameter file, `.npz` or `.safetensors` (the name is older than the second
/// format). Every variant names the file; those about one array name the array too. The variants about names,
/// shapes and dtypes serve both formats; the others say which format they are about.
#[derive(Debug, thiserror::Error)]
pub enum NpzError {
    /// The file could not be opened, created, written or renamed (including: it does not exist).
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// The file is not a zip archive (or is truncated: the archive's directory at its end is missing).
    #[error("{}: not a .npz (zip) archive: {source}", path.display())]
    NotZip {
        /// The file.
        path: PathBuf,
        /// What the zip reader found.
        source: zip::result::ZipError,
    },
    /// An entry of the archive could not be read: a damaged entry, or a checksum that does not match.
    #[error("{}: entry '{entry}' is unreadable: {source}", path.display())]
    Entry {
        /// The file.
        path: PathBuf,
        /// The entry's name in the archive.
        entry: String,
        /// The error from the zip reader.
        source: io::Error,
    },
    /// An entry of the archive is not an array (its name does not end in `.npy`).
    #[error("{}: entry '{entry}' is not a .npy array", path.display())]
    NotNpy {
        /// The file.
        path: PathBuf,
        /// The entry's name in the archive.
        entry: String,
    },
    /// An array the parameters need is not in the file.
    #[error("{}: array '{name}' is missing (the file has {found:?})", path.display())]
    Missing {
        /// The file.
        path: PathBuf,
        /// The array's name.
        name: String,
        /// The arrays the file has.
        found: Vec<String>,
    },
    /// The file has an array the parameters do not.
    #[error("{}: unexpected array '{name}'", path.display())]
    Unexpected {
        /// The file.
        path: PathBuf,
        /// The array's name.
        name: String,
    },
    /// An array has another element type (e.g. `<f8` where `<f4` was expected in a `.npz` file, `F64` where
    /// `F32` was expected in a `.safetensors` file).
    #[error("{}: array '{name}' has dtype '{found}', expected '{expected}'", path.display())]
    Dtype {
        /// The file.
        path: PathBuf,
        /// The array's name.
        name: String,
        /// The dtype in the file.
        found: String,
        /// The dtype of the parameters.
        expected: &'static str,
    },
    /// An array has another shape than the parameter of that name.
    #[error("{}: array '{name}' has shape {found:?}, expected {expected:?}", path.display())]
    Shape {
        /// The file.
        path: PathBuf,
        /// The array's name.
        name: String,
        /// The shape in the file.
        found: Vec<usize>,
        /// The shape of the parameter.
        expected: Vec<usize>,
    },
    /// An array's `.npy` header is malformed.
    #[error("{}: array '{name}' has a corrupt .npy header: {reason}", path.display())]
    Header {
        /// The file.
        path: PathBuf,
        /// The array's name.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An array's data does not have the length its header announces.
    #[error("{}: array '{name}' has {found} bytes of data, its header needs {expected}", path.display())]
    Data {
        /// The file.
        path: PathBuf,
        /// The array's name.
        name: String,
        /// The bytes present (at most `expected + 1` are read).
        found: u64,
        /// The bytes the header's shape and dtype need.
        expected: u64,
    },
    /// A `.safetensors` file is malformed as a whole: too short for its header's length, a header length past
    /// its end, a header that is not UTF-8 JSON of the format's form, or data that its arrays do not cover
    /// exactly.
    #[error("{}: not a valid .safetensors file: {reason}", path.display())]
    NotSafetensors {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// One array's entry in a `.safetensors` header is malformed: data offsets that overlap another array's,
    /// leave a gap, run backwards or past the end of the file, or that do not hold the bytes its dtype and
    /// shape need; a shape too large for memory; a name listed twice.
    #[error("{}: array '{name}' has a corrupt .safetensors header entry: {reason}", path.display())]
    SafetensorsEntry {
        /// The file.
        path: PathBuf,
        /// The array's name.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An array is named `__metadata__`, the key a `.safetensors` header reserves for its metadata, so it
    /// cannot be saved in that format.
    #[error("{}: array '{name}' cannot be saved in a .safetensors file: the format reserves that name for its metadata", path.display())]
    ReservedName {
        /// The file.
        path: PathBuf,
        /// The array's name.
        name: String,
    },
    /// [`Params::save`](crate::Params::save) or [`Params::load_into`](crate::Params::load_into) was given a
    /// path whose extension names neither format.
    #[error("{}: unknown parameters file format: the name must end in .npz or .safetensors", path.display())]
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },
}
