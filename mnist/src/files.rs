//! The four standard MNIST files: their names, sizes and checksums, in one table.
//!
//! The checksums are those of the shared copy's `SHA256SUMS` (SHA-256 of each `.gz` file) and the
//! MD5s published for the original uncompressed files (see the data set's README). A file is
//! genuine if its `.gz` SHA-256 matches, or if it decompresses to content with the original MD5:
//! the second rule accepts a mirror that re-compressed the data.

use std::path::{Path, PathBuf};

use crate::DataError;

/// One of the four files of the MNIST distribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MnistFile {
    /// `train-images-idx3-ubyte`: 60,000 images of 28x28 bytes.
    TrainImages,
    /// `train-labels-idx1-ubyte`: 60,000 labels 0-9.
    TrainLabels,
    /// `t10k-images-idx3-ubyte`: 10,000 images of 28x28 bytes.
    TestImages,
    /// `t10k-labels-idx1-ubyte`: 10,000 labels 0-9.
    TestLabels,
}

/// The facts about one file.
struct Spec {
    name: &'static str,
    gz_name: &'static str,
    raw_len: u64,
    gz_sha256: &'static str,
    raw_md5: &'static str,
}

const TRAIN_IMAGES: Spec = Spec {
    name: "train-images-idx3-ubyte",
    gz_name: "train-images-idx3-ubyte.gz",
    raw_len: 16 + 60_000 * 784,
    gz_sha256: "db8f937d487057fb14a9f0fbe97f0bc8d311ab41b750d41e1ff37c43b9e55e19",
    raw_md5: "6bbc9ace898e44ae57da46a324031adb",
};
const TRAIN_LABELS: Spec = Spec {
    name: "train-labels-idx1-ubyte",
    gz_name: "train-labels-idx1-ubyte.gz",
    raw_len: 8 + 60_000,
    gz_sha256: "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    raw_md5: "a25bea736e30d166cdddb491f175f624",
};
const TEST_IMAGES: Spec = Spec {
    name: "t10k-images-idx3-ubyte",
    gz_name: "t10k-images-idx3-ubyte.gz",
    raw_len: 16 + 10_000 * 784,
    gz_sha256: "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    raw_md5: "2646ac647ad5339dbf082846283269ea",
};
const TEST_LABELS: Spec = Spec {
    name: "t10k-labels-idx1-ubyte",
    gz_name: "t10k-labels-idx1-ubyte.gz",
    raw_len: 8 + 10_000,
    gz_sha256: "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    raw_md5: "27ae3e4e09519cfbb04c329615203637",
};

impl MnistFile {
    /// All four files, training set first.
    pub const ALL: [MnistFile; 4] = [
        MnistFile::TrainImages,
        MnistFile::TrainLabels,
        MnistFile::TestImages,
        MnistFile::TestLabels,
    ];

    fn spec(self) -> &'static Spec {
        match self {
            MnistFile::TrainImages => &TRAIN_IMAGES,
            MnistFile::TrainLabels => &TRAIN_LABELS,
            MnistFile::TestImages => &TEST_IMAGES,
            MnistFile::TestLabels => &TEST_LABELS,
        }
    }

    /// The uncompressed file name, e.g. `train-images-idx3-ubyte`.
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// The compressed file name, e.g. `train-images-idx3-ubyte.gz`: the name on the mirrors.
    pub fn gz_name(self) -> &'static str {
        self.spec().gz_name
    }

    /// The length in bytes of the uncompressed file (header included).
    pub fn raw_len(self) -> u64 {
        self.spec().raw_len
    }

    /// SHA-256 (lowercase hex) of the known `.gz` file.
    pub fn gz_sha256(self) -> &'static str {
        self.spec().gz_sha256
    }

    /// MD5 (lowercase hex) of the original uncompressed file, as published with MNIST.
    pub fn raw_md5(self) -> &'static str {
        self.spec().raw_md5
    }

    /// The path of this file in `dir`: `name.gz` if present, else the uncompressed `name`, else `None`.
    ///
    /// # Errors
    /// When a name is taken by something that is not a file (a directory, a dangling symbolic link, …) or
    /// cannot be looked at (a symbolic link loop, no permission): that is not "missing".
    pub fn find_in(self, dir: &Path) -> crate::Result<Option<PathBuf>> {
        for name in [self.gz_name(), self.name()] {
            let path = dir.join(name);
            match std::fs::metadata(&path) {
                Ok(meta) if meta.is_file() => return Ok(Some(path)),
                Ok(meta) => {
                    let what = if meta.is_dir() {
                        "a directory"
                    } else {
                        "not a regular file"
                    };
                    return Err(DataError::NotAFile { path, what });
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    if std::fs::symlink_metadata(&path).is_ok() {
                        return Err(DataError::NotAFile {
                            path,
                            what: "a symbolic link to nothing",
                        });
                    }
                }
                Err(source) => return Err(DataError::Io { path, source }),
            }
        }
        Ok(None)
    }
}
