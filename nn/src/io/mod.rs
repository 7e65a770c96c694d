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
//! temporary file in the target's directory and renames it over the target ([`write_atomically`]), so the
//! target is always either the old file or the complete new one.
//!
//! Loading trusts no size in the file: a `.npy` header may be at most 1 MiB, and an array's data is read into
//! memory that grows only as its bytes arrive, so a header claiming a huge shape over a few bytes fails after
//! reading them. [`AnyParams`] reads a file in the dtype it has (`f32` or `f64`); the `from_npz_bytes`
//! functions read an archive held in memory.
//!
//! Parameters save as `.safetensors` too ([`Params::save_safetensors`]), the format of Hugging Face's
//! libraries and of candle, which Python reads with `safetensors.numpy.load_file("params.safetensors")`: dtype
//! `F32` or `F64`, C order, little-endian, the arrays in the parameters' order (which loading restores). Loading
//! checks the file with the format's reference reader (the `safetensors` crate) and trusts no size in it: the
//! offsets must tile the data exactly and each array must hold exactly the bytes its dtype and shape need, so
//! memory is only allocated for bytes the file has. [`Params::save`] and [`Params::load_into`] pick the format
//! by the file's extension.
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

mod atomic;
mod npy;
mod safetensors;

use std::fs::{self, File};
use std::io::{self, BufReader, Read, Seek, Write};
use std::path::Path;

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

use crate::{NpzError, Params};
use npy::{encode_npy, read_data, read_header, Header, Problem};

pub use atomic::{write_atomically, TEMP_PREFIX};
pub use npy::NpyFloat;

/// The formats of a parameters file, by extension.
enum Format {
    Npz,
    Safetensors,
}

impl Format {
    /// The format that `path`'s extension names (`.npz` or `.safetensors`, in any case).
    fn of(path: &Path) -> Result<Format, NpzError> {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("npz") => Ok(Format::Npz),
            Some(e) if e.eq_ignore_ascii_case("safetensors") => Ok(Format::Safetensors),
            _ => Err(NpzError::UnknownFormat {
                path: path.to_owned(),
            }),
        }
    }
}

impl<T: NpyFloat> Params<T> {
    /// Writes the arrays to `path` in the format its extension names: [`save_npz`](Params::save_npz) for
    /// `.npz`, [`save_safetensors`](Params::save_safetensors) for `.safetensors`. Any other extension is an
    /// error naming the path, and nothing is written.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let params = nn::TwoLayerNet::<f32>::new_seeded(3, 2, 2, 0.1, 1).params;
    /// params.save(dir.path().join("p.safetensors")).unwrap();
    /// params.save(dir.path().join("p.npz")).unwrap();
    /// let err = params.save(dir.path().join("p.csv")).unwrap_err();
    /// assert!(err.to_string().ends_with("p.csv: unknown parameters file format: the name must end in .npz or .safetensors"));
    /// ```
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), NpzError> {
        let path = path.as_ref();
        match Format::of(path)? {
            Format::Npz => self.save_npz(path),
            Format::Safetensors => self.save_safetensors(path),
        }
    }

    /// Replaces these arrays with the same-named ones from the file at `path`, in the format its extension
    /// names: [`load_npz_into`](Params::load_npz_into) for `.npz`,
    /// [`load_safetensors_into`](Params::load_safetensors_into) for `.safetensors`. Any other extension is an
    /// error naming the path; on any error nothing is changed.
    ///
    /// ```
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("trained.safetensors");
    /// let trained = nn::TwoLayerNet::<f64>::new_seeded(3, 2, 2, 0.1, 1).params;
    /// trained.save(&path).unwrap();
    /// let mut params = nn::TwoLayerNet::<f64>::new_seeded(3, 2, 2, 0.1, 2).params;
    /// params.load_into(&path).unwrap();
    /// assert_eq!(params, trained);
    /// assert!(params.load_into(dir.path().join("trained.bin")).is_err());
    /// ```
    pub fn load_into(&mut self, path: impl AsRef<Path>) -> Result<(), NpzError> {
        let path = path.as_ref();
        match Format::of(path)? {
            Format::Npz => self.load_npz_into(path),
            Format::Safetensors => self.load_safetensors_into(path),
        }
    }

    /// Writes the arrays to `path` as a `.npz` archive, atomically (see [`write_atomically`]): into a
    /// temporary file next to it, then renamed over it. On error the target is untouched and the temporary
    /// file removed.
    pub fn save_npz(&self, path: impl AsRef<Path>) -> Result<(), NpzError> {
        let path = path.as_ref();
        // The archive is built in memory, where it cannot fail, then written in one go: a write error (a full
        // disk) is then a plain I/O error, and no half-finished zip writer is left to complain when dropped.
        let mut zip = ZipWriter::new(io::Cursor::new(Vec::new()));
        for (name, array) in self {
            let npy = encode_npy(array);
            let options = SimpleFileOptions::default()
                .compression_method(CompressionMethod::Stored)
                .large_file(npy.len() as u64 >= u64::from(u32::MAX));
            zip.start_file(format!("{name}.npy"), options)
                .and_then(|()| Ok(zip.write_all(&npy)?))
                .expect("writing a zip archive to memory cannot fail");
        }
        let archive = zip
            .finish()
            .expect("writing a zip archive to memory cannot fail")
            .into_inner();
        write_atomically(path, |out| out.write_all(&archive)).map_err(|source| NpzError::Io {
            path: path.to_owned(),
            source,
        })
    }

    /// Reads every array of the `.npz` archive at `path`, in the archive's order. Each must have this
    /// element type's dtype.
    pub fn load_npz(path: impl AsRef<Path>) -> Result<Self, NpzError> {
        let path = path.as_ref();
        read_arrays(&mut open_archive(path)?, path)
    }

    /// Reads the arrays of a `.npz` archive held in memory, as [`load_npz`](Params::load_npz) reads a file;
    /// `path` only names it in errors.
    pub fn from_npz_bytes(bytes: &[u8], path: impl AsRef<Path>) -> Result<Self, NpzError> {
        let path = path.as_ref();
        read_arrays(&mut archive(io::Cursor::new(bytes), path)?, path)
    }

    /// Replaces these arrays with the same-named ones from the `.npz` archive at `path`. The file must have
    /// exactly these names, with the same shapes and this element type's dtype; on any error nothing is
    /// changed.
    pub fn load_npz_into(&mut self, path: impl AsRef<Path>) -> Result<(), NpzError> {
        let path = path.as_ref();
        self.replace_from(Self::load_npz(path)?, path)
    }

    /// Replaces these arrays with the same-named ones of `loaded` (read from `path`, which names it in
    /// errors), matching them by name whatever their order; the order stays this one's. `loaded` must have
    /// exactly these names with the same shapes; on any error nothing is changed.
    pub fn replace_from(&mut self, mut loaded: Params<T>, path: &Path) -> Result<(), NpzError> {
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
        for (name, array) in self.iter_mut() {
            *array = loaded.remove(name).expect("every name was checked above");
        }
        Ok(())
    }
}

/// The parameters of a `.npz` or `.safetensors` file in the element type the file has: `<f4` (`F32`) arrays as
/// `f32`, `<f8` (`F64`) as `f64`.
#[derive(Clone, Debug, PartialEq)]
pub enum AnyParams {
    /// Every array is `<f4`.
    F32(Params<f32>),
    /// Every array is `<f8`.
    F64(Params<f64>),
}

impl AnyParams {
    /// Reads the file at `path` in the format its extension names ([`load_npz`](AnyParams::load_npz) or
    /// [`load_safetensors`](AnyParams::load_safetensors)); any other extension is an error naming the path.
    ///
    /// ```
    /// use nn::io::AnyParams;
    /// let dir = tempfile::tempdir().unwrap();
    /// let params = nn::TwoLayerNet::<f64>::new_seeded(3, 2, 2, 0.1, 1).params;
    /// params.save(dir.path().join("p.safetensors")).unwrap();
    /// assert_eq!(AnyParams::load(dir.path().join("p.safetensors")).unwrap(), AnyParams::F64(params));
    /// ```
    pub fn load(path: impl AsRef<Path>) -> Result<Self, NpzError> {
        let path = path.as_ref();
        match Format::of(path)? {
            Format::Npz => Self::load_npz(path),
            Format::Safetensors => Self::load_safetensors(path),
        }
    }

    /// Reads every array of the `.npz` archive at `path` in the dtype of its first array, which all must
    /// share (an archive without arrays reads as empty `F32`).
    pub fn load_npz(path: impl AsRef<Path>) -> Result<Self, NpzError> {
        let path = path.as_ref();
        Self::read(&mut open_archive(path)?, path)
    }

    /// Reads a `.npz` archive held in memory, as [`AnyParams::load_npz`] reads a file; `path` only names it in
    /// errors.
    pub fn from_npz_bytes(bytes: &[u8], path: impl AsRef<Path>) -> Result<Self, NpzError> {
        let path = path.as_ref();
        Self::read(&mut archive(io::Cursor::new(bytes), path)?, path)
    }

    fn read<R: Read + Seek>(archive: &mut ZipArchive<R>, path: &Path) -> Result<Self, NpzError> {
        if archive.is_empty() {
            return Ok(AnyParams::F32(Params::new()));
        }
        let (name, header) = {
            let mut entry = entry(archive, 0, path)?;
            let header = read_header(&mut entry.reader).map_err(|p| entry.error(p, EITHER))?;
            (entry.name, header)
        };
        match header.descr.as_str() {
            d if d == f32::DESCR => read_arrays(archive, path).map(AnyParams::F32),
            d if d == f64::DESCR => read_arrays(archive, path).map(AnyParams::F64),
            _ => Err(NpzError::Dtype {
                path: path.to_owned(),
                name,
                found: header.descr,
                expected: EITHER,
            }),
        }
    }
}

/// The dtypes [`AnyParams`] reads.
const EITHER: &str = "<f4 or <f8";

/// Opens the archive at `path`, which must be a file.
fn open_archive(path: &Path) -> Result<ZipArchive<BufReader<File>>, NpzError> {
    archive(BufReader::new(open_file(path, ".npz")?), path)
}

/// Opens `path` for reading; a directory is refused as not a `kind` file (`.npz`, `.safetensors`).
fn open_file(path: &Path, kind: &str) -> Result<File, NpzError> {
    let io_error = |source| NpzError::Io {
        path: path.to_owned(),
        source,
    };
    if fs::metadata(path).map_err(io_error)?.is_dir() {
        return Err(io_error(io::Error::new(
            io::ErrorKind::IsADirectory,
            format!("is a directory, not a {kind} file"),
        )));
    }
    File::open(path).map_err(io_error)
}

fn archive<R: Read + Seek>(reader: R, path: &Path) -> Result<ZipArchive<R>, NpzError> {
    ZipArchive::new(reader).map_err(|source| NpzError::NotZip {
        path: path.to_owned(),
        source,
    })
}

/// One entry of an archive, with its array name (the entry's name less `.npy`).
struct Entry<'p, R> {
    reader: R,
    name: String,
    entry_name: String,
    path: &'p Path,
}

fn entry<'a, 'p, R: Read + Seek>(
    archive: &'a mut ZipArchive<R>,
    k: usize,
    path: &'p Path,
) -> Result<Entry<'p, zip::read::ZipFile<'a, R>>, NpzError> {
    let reader = archive.by_index(k).map_err(|source| NpzError::Entry {
        path: path.to_owned(),
        entry: format!("#{k}"),
        source: source.into(),
    })?;
    let entry_name = reader
        .name()
        .map_or_else(|_| format!("#{k}"), |n| n.into_owned());
    let Some(name) = entry_name.strip_suffix(".npy").map(str::to_owned) else {
        return Err(NpzError::NotNpy {
            path: path.to_owned(),
            entry: entry_name,
        });
    };
    Ok(Entry {
        reader,
        name,
        entry_name,
        path,
    })
}

impl<R> Entry<'_, R> {
    /// The error for a decoding problem of this entry; `expected` is the dtype that was asked for.
    fn error(&self, problem: Problem, expected: &'static str) -> NpzError {
        let (path, name) = (self.path.to_owned(), self.name.clone());
        match problem {
            Problem::Read(source) => NpzError::Entry {
                path,
                entry: self.entry_name.clone(),
                source,
            },
            Problem::Header(reason) => NpzError::Header { path, name, reason },
            Problem::Dtype(found) => NpzError::Dtype {
                path,
                name,
                found,
                expected,
            },
            Problem::Data { found, expected } => NpzError::Data {
                path,
                name,
                found,
                expected,
            },
        }
    }
}

/// Every array of `archive` (read from `path`) as `T`, in the archive's order.
fn read_arrays<T: NpyFloat, R: Read + Seek>(
    archive: &mut ZipArchive<R>,
    path: &Path,
) -> Result<Params<T>, NpzError> {
    let mut params = Params::new();
    for k in 0..archive.len() {
        let mut entry = entry(archive, k, path)?;
        let array = read_header(&mut entry.reader)
            .and_then(|header: Header| read_data(&mut entry.reader, &header))
            .map_err(|problem| entry.error(problem, T::DESCR))?;
        params.insert(entry.name, array);
    }
    Ok(params)
}
