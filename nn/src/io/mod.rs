//! Saving and loading [`Params`] as NumPy `.npz` files: a zip archive with one `.npy` array per parameter
//! (`W1.npy`, `b1.npy`, …), which `numpy.load` reads as it is:
//!
//! ```python
//! params = numpy.load("params.npz")
//! params["W1"].shape   # (784, 50)
//! ```
//!
//! Arrays are written as `.npy` version 1.0 with exactly NumPy's header (`<f4` for `f32`, `<f8` for `f64`,
//! C order), in stored (uncompressed) entries like `numpy.savez`; deflated archives from
//! `numpy.savez_compressed`, Fortran-order arrays and `.npy` versions 2.0 and 3.0 load too. A save writes a
//! temporary file in the target's directory and renames it over the target, so the target is always either
//! the old file or the complete new one.
//!
//! ```
//! use nn::TwoLayerNet;
//!
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("params.npz");
//! let net = TwoLayerNet::<f32>::new_seeded(4, 3, 2, 0.01, 1);
//! net.params.save_npz(&path).unwrap();
//!
//! let mut other = TwoLayerNet::<f32>::new_seeded(4, 3, 2, 0.01, 2);
//! other.params.load_npz_into(&path).unwrap(); // names and shapes must match
//! assert_eq!(other.params, net.params);
//! ```

mod npy;

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::Path;

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

use crate::{NpzError, Params};
use npy::{encode_npy, read_npy, Problem};

pub use npy::NpyFloat;

impl<T: NpyFloat> Params<T> {
    /// Writes the arrays to `path` as a `.npz` archive, atomically: into a temporary file next to it, then
    /// renamed over it. On error the target is untouched and the temporary file removed.
    pub fn save_npz(&self, path: impl AsRef<Path>) -> Result<(), NpzError> {
        let path = path.as_ref();
        let io_error = |source| NpzError::Io {
            path: path.to_owned(),
            source,
        };
        let write_error = |source| NpzError::Write {
            path: path.to_owned(),
            source,
        };
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        let mut builder = tempfile::Builder::new();
        builder.prefix(".params-").suffix(".npz.tmp");
        // A temporary file is private (0600); the saved file gets a new file's usual permissions instead.
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
        let temp = builder.tempfile_in(dir).map_err(io_error)?;
        let mut zip = ZipWriter::new(BufWriter::new(temp));
        for (name, array) in self {
            let npy = encode_npy(array);
            let options = SimpleFileOptions::default()
                .compression_method(CompressionMethod::Stored)
                .large_file(npy.len() as u64 >= u64::from(u32::MAX));
            zip.start_file(format!("{name}.npy"), options)
                .map_err(write_error)?;
            zip.write_all(&npy).map_err(io_error)?;
        }
        let temp = zip
            .finish()
            .map_err(write_error)?
            .into_inner()
            .map_err(|e| io_error(e.into_error()))?;
        temp.as_file().sync_all().map_err(io_error)?;
        temp.persist(path).map_err(|e| io_error(e.error))?;
        Ok(())
    }

    /// Reads every array of the `.npz` archive at `path`, in the archive's order. Each must have this
    /// element type's dtype.
    pub fn load_npz(path: impl AsRef<Path>) -> Result<Self, NpzError> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|source| NpzError::Io {
            path: path.to_owned(),
            source,
        })?;
        let mut archive =
            ZipArchive::new(BufReader::new(file)).map_err(|source| NpzError::NotZip {
                path: path.to_owned(),
                source,
            })?;
        let mut params = Params::new();
        for k in 0..archive.len() {
            let mut entry = archive.by_index(k).map_err(|source| NpzError::Entry {
                path: path.to_owned(),
                entry: format!("#{k}"),
                source: source.into(),
            })?;
            let entry_name = entry
                .name()
                .map_or_else(|_| format!("#{k}"), |n| n.into_owned());
            let Some(name) = entry_name.strip_suffix(".npy").map(str::to_owned) else {
                return Err(NpzError::NotNpy {
                    path: path.to_owned(),
                    entry: entry_name,
                });
            };
            let array = read_npy(&mut entry).map_err(|problem| match problem {
                Problem::Read(source) => NpzError::Entry {
                    path: path.to_owned(),
                    entry: entry_name.clone(),
                    source,
                },
                Problem::Header(reason) => NpzError::Header {
                    path: path.to_owned(),
                    name: name.clone(),
                    reason,
                },
                Problem::Dtype(found) => NpzError::Dtype {
                    path: path.to_owned(),
                    name: name.clone(),
                    found,
                    expected: T::DESCR,
                },
                Problem::Data { found, expected } => NpzError::Data {
                    path: path.to_owned(),
                    name: name.clone(),
                    found,
                    expected,
                },
            })?;
            params.insert(name, array);
        }
        Ok(params)
    }

    /// Replaces these arrays with the same-named ones from the `.npz` archive at `path`. The file must have
    /// exactly these names, with the same shapes and this element type's dtype; on any error nothing is
    /// changed.
    pub fn load_npz_into(&mut self, path: impl AsRef<Path>) -> Result<(), NpzError> {
        let path = path.as_ref();
        let loaded = Self::load_npz(path)?;
        for (name, array) in self.iter() {
            let found = loaded.get(name).ok_or_else(|| NpzError::Missing {
                path: path.to_owned(),
                name: name.to_owned(),
                found: loaded.names().map(str::to_owned).collect(),
            })?;
            if found.shape() != array.shape() {
                return Err(NpzError::Shape {
                    path: path.to_owned(),
                    name: name.to_owned(),
                    found: found.shape().to_vec(),
                    expected: array.shape().to_vec(),
                });
            }
        }
        if let Some(extra) = loaded.names().find(|name| self.get(name).is_none()) {
            return Err(NpzError::Unexpected {
                path: path.to_owned(),
                name: extra.to_owned(),
            });
        }
        for (name, array) in loaded {
            self[name.as_str()] = array;
        }
        Ok(())
    }
}
