//! Saving and loading [`Params`] as `.safetensors` files, the format of Hugging Face's libraries and of candle:
//! an 8-byte little-endian header length, a JSON header giving each array's `dtype`, `shape` and
//! `data_offsets` (its byte range, counted from the end of the header), then the arrays' bytes. Python reads
//! the file as it is:
//!
//! ```python
//! from safetensors.numpy import load_file
//! params = load_file("params.safetensors")
//! params["W1"].shape   # (784, 50)
//! ```
//!
//! Arrays are written with dtype `F32` for `f32` and `F64` for `f64`, in C order, little-endian, one after the
//! other in the parameters' order — which loading restores, as it reads arrays in the order of their data —
//! with the header padded by spaces to a multiple of 8 bytes as the reference writer pads it, and no
//! `__metadata__`. A save is atomic ([`write_atomically`]), like a `.npz` save.
//!
//! Loading checks the file with the format's reference reader (the `safetensors` crate) and trusts no size in
//! it: the header length and every array's offsets must lie inside the file, the offsets must tile the data
//! exactly (no overlap, no gap, no stray byte), and each array must hold exactly the bytes its dtype and shape
//! need, so memory is only allocated for bytes the file really has. Errors name the file and, when one array
//! is at fault, the array. A `__metadata__` entry is allowed and ignored; dtypes other than `F32` and `F64` are
//! refused by name. The `from_safetensors_bytes` functions read a file held in memory.
//!
//! ```
//! use nn::TwoLayerNet;
//!
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("params.safetensors");
//! let net = TwoLayerNet::<f32>::new_seeded(4, 3, 2, 0.01, 1);
//! net.params.save_safetensors(&path).unwrap();
//!
//! let mut other = TwoLayerNet::<f32>::new_seeded(4, 3, 2, 0.01, 2);
//! other.params.load_safetensors_into(&path).unwrap(); // names and shapes must match
//! assert_eq!(other.params, net.params);
//! ```

use std::collections::HashSet;
use std::fmt;
use std::io::{Read, Write};
use std::path::Path;

use ndarray::{ArrayD, IxDyn};
use safetensors::tensor::{Metadata, TensorInfo};
use safetensors::{Dtype, SafeTensorError, SafeTensors};
use serde::de::{Deserializer as _, IgnoredAny, MapAccess, Visitor};

use super::{write_atomically, AnyParams, NpyFloat};
use crate::{NpzError, Params};

/// The header key of the file's own metadata (strings to strings), which is not an array.
const METADATA_KEY: &str = "__metadata__";
/// The length of the header length field, a little-endian `u64`, which starts the file.
const LEN_BYTES: usize = 8;
/// The longest header the reference reader accepts.
const MAX_HEADER_LEN: u64 = 100_000_000;
/// The dtypes [`AnyParams`] reads.
const EITHER: &str = "F32 or F64";

/// `T`'s safetensors dtype and its name in errors.
fn dtype<T: NpyFloat>() -> (Dtype, &'static str) {
    match T::DESCR {
        "<f4" => (Dtype::F32, "F32"),
        "<f8" => (Dtype::F64, "F64"),
        other => unreachable!("autograd::Float is sealed to f32 and f64, not {other}"),
    }
}

impl<T: NpyFloat> Params<T> {
    /// Writes the arrays to `path` as a `.safetensors` file (dtype `F32` or `F64`, in this order), atomically
    /// (see [`write_atomically`]): into a temporary file next to it, then renamed over it. On error the target
    /// is untouched and the temporary file removed. An array named `__metadata__` cannot be saved (the format
    /// reserves the name).
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("p.safetensors");
    /// let params: nn::Params<f64> = [("w", ndarray::arr1(&[1.5, -2.0]).into_dyn())].into_iter().collect();
    /// params.save_safetensors(&path).unwrap();
    /// assert_eq!(nn::Params::<f64>::load_safetensors(&path).unwrap(), params);
    /// ```
    pub fn save_safetensors(&self, path: impl AsRef<Path>) -> Result<(), NpzError> {
        let path = path.as_ref();
        // Built in memory first, as a `.npz` is: a write error is then a plain I/O error.
        let bytes = encode(self, path)?;
        write_atomically(path, |out| out.write_all(&bytes)).map_err(|source| NpzError::Io {
            path: path.to_owned(),
            source,
        })
    }

    /// Reads every array of the `.safetensors` file at `path`, in the order of their data (the order they were
    /// saved in). Each must have this element type's dtype.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("p.safetensors");
    /// let params = nn::TwoLayerNet::<f32>::new_seeded(3, 2, 2, 0.1, 1).params;
    /// params.save_safetensors(&path).unwrap();
    /// let loaded = nn::Params::<f32>::load_safetensors(&path).unwrap();
    /// assert_eq!(loaded.names().collect::<Vec<_>>(), ["W1", "b1", "W2", "b2"]);
    /// assert!(nn::Params::<f64>::load_safetensors(&path).is_err()); // the file holds F32
    /// ```
    pub fn load_safetensors(path: impl AsRef<Path>) -> Result<Self, NpzError> {
        let path = path.as_ref();
        Self::from_safetensors_bytes(&read_file(path)?, path)
    }

    /// Reads the arrays of a `.safetensors` file held in memory, as
    /// [`load_safetensors`](Params::load_safetensors) reads a file; `path` only names it in errors.
    ///
    /// ```
    /// let empty = b"\x02\0\0\0\0\0\0\0{}";
    /// assert!(nn::Params::<f32>::from_safetensors_bytes(empty, "mem").unwrap().is_empty());
    /// let err = nn::Params::<f32>::from_safetensors_bytes(&empty[..9], "mem").unwrap_err();
    /// assert!(err.to_string().starts_with("mem: not a valid .safetensors file: its header length 2 runs past"));
    /// ```
    pub fn from_safetensors_bytes(bytes: &[u8], path: impl AsRef<Path>) -> Result<Self, NpzError> {
        let path = path.as_ref();
        read_arrays(&arrays(bytes, path)?, path)
    }

    /// Replaces these arrays with the same-named ones from the `.safetensors` file at `path`. The file must
    /// have exactly these names, with the same shapes and this element type's dtype; on any error nothing is
    /// changed.
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("p.safetensors");
    /// let trained = nn::TwoLayerNet::<f32>::new_seeded(3, 2, 2, 0.1, 1).params;
    /// trained.save_safetensors(&path).unwrap();
    /// let mut params = nn::TwoLayerNet::<f32>::new_seeded(3, 2, 2, 0.1, 2).params;
    /// params.load_safetensors_into(&path).unwrap();
    /// assert_eq!(params, trained);
    /// let mut wider = nn::TwoLayerNet::<f32>::new_seeded(3, 5, 2, 0.1, 2).params;
    /// assert!(wider.load_safetensors_into(&path).is_err()); // W1 is 3×2 in the file
    /// ```
    pub fn load_safetensors_into(&mut self, path: impl AsRef<Path>) -> Result<(), NpzError> {
        let path = path.as_ref();
        self.replace_from(Self::load_safetensors(path)?, path)
    }
}

impl AnyParams {
    /// Reads every array of the `.safetensors` file at `path` in the dtype of its first array (by position of
    /// the data), which all must share (a file without arrays reads as empty `F32`).
    ///
    /// ```
    /// use nn::io::AnyParams;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("p.safetensors");
    /// let params = nn::TwoLayerNet::<f64>::new_seeded(3, 2, 2, 0.1, 1).params;
    /// params.save_safetensors(&path).unwrap();
    /// assert_eq!(AnyParams::load_safetensors(&path).unwrap(), AnyParams::F64(params));
    /// ```
    pub fn load_safetensors(path: impl AsRef<Path>) -> Result<Self, NpzError> {
        let path = path.as_ref();
        Self::from_safetensors_bytes(&read_file(path)?, path)
    }

    /// Reads a `.safetensors` file held in memory, as [`AnyParams::load_safetensors`] reads a file; `path`
    /// only names it in errors.
    ///
    /// ```
    /// use nn::io::AnyParams;
    /// let empty = b"\x08\0\0\0\0\0\0\0{}      ";
    /// assert_eq!(AnyParams::from_safetensors_bytes(empty, "mem").unwrap(), AnyParams::F32(nn::Params::new()));
    /// ```
    pub fn from_safetensors_bytes(bytes: &[u8], path: impl AsRef<Path>) -> Result<Self, NpzError> {
        let path = path.as_ref();
        let arrays = arrays(bytes, path)?;
        let Some(first) = arrays.first() else {
            return Ok(AnyParams::F32(Params::new()));
        };
        match first.dtype {
            Dtype::F32 => read_arrays(&arrays, path).map(AnyParams::F32),
            Dtype::F64 => read_arrays(&arrays, path).map(AnyParams::F64),
            other => Err(NpzError::Dtype {
                path: path.to_owned(),
                name: first.name.clone(),
                found: other.to_string(),
                expected: EITHER,
            }),
        }
    }
}

/// `params` as the bytes of a `.safetensors` file (`path` names it in errors).
fn encode<T: NpyFloat>(params: &Params<T>, path: &Path) -> Result<Vec<u8>, NpzError> {
    let mut entries = Vec::with_capacity(params.len());
    let mut end = 0;
    for (name, array) in params {
        if name == METADATA_KEY {
            return Err(NpzError::ReservedName {
                path: path.to_owned(),
                name: name.to_owned(),
            });
        }
        let start = end;
        end += array.len() * size_of::<T>();
        let info = TensorInfo {
            dtype: dtype::<T>().0,
            shape: array.shape().to_vec(),
            data_offsets: (start, end),
        };
        entries.push((name.to_owned(), info));
    }
    // The reference crate's header type keeps the entries in this order, and checks them as a reader will.
    let metadata =
        Metadata::new(None, entries).expect("consecutive offsets of whole arrays are valid");
    let mut header =
        serde_json::to_string(&metadata).expect("a header of names and numbers is JSON");
    let padded = header.len().next_multiple_of(LEN_BYTES);
    header.extend(std::iter::repeat_n(' ', padded - header.len()));
    let mut out = Vec::with_capacity(LEN_BYTES + header.len() + end);
    out.extend_from_slice(&(header.len() as u64).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for (_, array) in params {
        for &x in array.iter() {
            x.extend_le(&mut out);
        }
    }
    Ok(out)
}

/// The bytes of the file at `path`, which must be a file.
fn read_file(path: &Path) -> Result<Vec<u8>, NpzError> {
    let mut bytes = Vec::new();
    super::open_file(path, ".safetensors")?
        .read_to_end(&mut bytes)
        .map_err(|source| NpzError::Io {
            path: path.to_owned(),
            source,
        })?;
    Ok(bytes)
}

/// One array of a checked file: its name, dtype, shape and bytes.
struct Raw<'b> {
    name: String,
    dtype: Dtype,
    shape: Vec<usize>,
    data: &'b [u8],
}

/// The arrays of the `.safetensors` file `bytes` (read from `path`) in the order of their data, once the
/// reference reader has checked the whole file.
fn arrays<'b>(bytes: &'b [u8], path: &Path) -> Result<Vec<Raw<'b>>, NpzError> {
    let checked = SafeTensors::read_metadata(bytes);
    let entries = header_text(bytes).map(entries);
    if let Some(Ok(entries)) = &entries {
        if let Some(name) = duplicate(entries) {
            return Err(entry_error(path, name, "it is listed twice in the header"));
        }
    }
    let header_len = match checked {
        Ok((n, _)) => n,
        Err(e) => return Err(describe(e, bytes, entries.and_then(Result::ok), path)),
    };
    let whole = |reason: String| NpzError::NotSafetensors {
        path: path.to_owned(),
        reason,
    };
    let mut entries = match entries {
        Some(Ok(entries)) => entries,
        Some(Err(e)) => return Err(whole(format!("the header is not valid: {e}"))),
        None => return Err(whole("the header is unreadable".to_owned())),
    };
    // Stable: arrays without data, which share their offsets, keep the header's order.
    entries.sort_by_key(|(_, info)| info.data_offsets);
    let data = bytes.get(LEN_BYTES + header_len..).unwrap_or_default();
    entries
        .into_iter()
        .map(|(name, info)| {
            let (start, end) = info.data_offsets;
            let Some(data) = data.get(start..end) else {
                return Err(entry_error(path, &name, "its data is outside the file"));
            };
            Ok(Raw {
                name,
                dtype: info.dtype,
                shape: info.shape,
                data,
            })
        })
        .collect()
}

/// Every array of `arrays` (read from `path`) as `T`, in order.
fn read_arrays<T: NpyFloat>(arrays: &[Raw<'_>], path: &Path) -> Result<Params<T>, NpzError> {
    let (dtype, expected) = dtype::<T>();
    let mut params = Params::new();
    for raw in arrays {
        if raw.dtype != dtype {
            return Err(NpzError::Dtype {
                path: path.to_owned(),
                name: raw.name.clone(),
                found: raw.dtype.to_string(),
                expected,
            });
        }
        let elements: Vec<T> = raw
            .data
            .chunks_exact(size_of::<T>())
            .map(T::from_le)
            .collect();
        // The reader checked that the data holds the shape's elements, but a shape with a zero axis may
        // still be beyond what an array can have (e.g. [0, 2^64 - 1]).
        let array = ArrayD::from_shape_vec(IxDyn(&raw.shape), elements).map_err(|_| {
            let reason = format!("its shape {:?} is too large for an array", raw.shape);
            entry_error(path, &raw.name, &reason)
        })?;
        params.insert(raw.name.clone(), array);
    }
    Ok(params)
}

fn entry_error(path: &Path, name: &str, reason: &str) -> NpzError {
    NpzError::SafetensorsEntry {
        path: path.to_owned(),
        name: name.to_owned(),
        reason: reason.to_owned(),
    }
}

/// The header length the file declares, if it has the 8 bytes for it.
fn declared_len(bytes: &[u8]) -> Option<u64> {
    let field = bytes.get(..LEN_BYTES)?;
    Some(u64::from_le_bytes(field.try_into().ok()?))
}

/// The header as text, if its declared length is one the reference reader accepts, lies inside the file, and
/// the header is UTF-8.
fn header_text(bytes: &[u8]) -> Option<&str> {
    let len = declared_len(bytes).filter(|&n| n <= MAX_HEADER_LEN)?;
    let header = bytes.get(LEN_BYTES..LEN_BYTES.checked_add(usize::try_from(len).ok()?)?)?;
    std::str::from_utf8(header).ok()
}

/// The header's array entries in the order the file lists them (`__metadata__` left out). The reference
/// reader keeps them in a hash map, which loses that order (it matters only among arrays without data, which
/// share their offsets) and keeps one entry of a name listed twice.
fn entries(header: &str) -> Result<Vec<(String, TensorInfo)>, serde_json::Error> {
    struct Entries;
    impl<'de> Visitor<'de> for Entries {
        type Value = Vec<(String, TensorInfo)>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object of arrays")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut entries = Vec::new();
            while let Some(name) = map.next_key::<String>()? {
                if name == METADATA_KEY {
                    map.next_value::<IgnoredAny>()?;
                } else {
                    entries.push((name, map.next_value()?));
                }
            }
            Ok(entries)
        }
    }
    let mut de = serde_json::Deserializer::from_str(header);
    let entries = (&mut de).deserialize_map(Entries)?;
    de.end()?;
    Ok(entries)
}

/// The first name listed twice.
fn duplicate(entries: &[(String, TensorInfo)]) -> Option<&str> {
    let mut seen = HashSet::new();
    entries
        .iter()
        .map(|(name, _)| name.as_str())
        .find(|name| !seen.insert(*name))
}

/// The error for the reference reader's refusal `e` of the file `bytes` (read from `path`), said in terms of
/// the file: which array is at fault and what its offsets are, when `entries` (the header, if it parsed) tell.
fn describe(
    e: SafeTensorError,
    bytes: &[u8],
    entries: Option<Vec<(String, TensorInfo)>>,
    path: &Path,
) -> NpzError {
    let whole = |reason: String| NpzError::NotSafetensors {
        path: path.to_owned(),
        reason,
    };
    let declared = declared_len(bytes).unwrap_or_default();
    match e {
        SafeTensorError::HeaderTooSmall => whole(format!(
            "it has {} bytes, too few for the 8-byte header length it must start with",
            bytes.len()
        )),
        SafeTensorError::HeaderTooLarge => whole(format!(
            "its header length {declared} is more than the {MAX_HEADER_LEN} bytes a reader accepts"
        )),
        SafeTensorError::InvalidHeaderLength => whole(format!(
            "its header length {declared} runs past the end of the file ({} bytes): the file is truncated or \
             not a .safetensors file",
            bytes.len()
        )),
        SafeTensorError::InvalidHeader(e) => whole(format!("the header is not UTF-8 text: {e}")),
        SafeTensorError::InvalidHeaderDeserialization(e) | SafeTensorError::JsonError(e) => {
            whole(format!("the header is not valid: {e}"))
        }
        other => {
            let data_len = usize::try_from(declared)
                .ok()
                .and_then(|n| bytes.len().checked_sub(LEN_BYTES)?.checked_sub(n));
            match entries.zip(data_len).and_then(|(e, len)| first_bad_entry(e, len)) {
                Some((Some(name), reason)) => entry_error(path, &name, &reason),
                Some((None, reason)) => whole(reason),
                None => whole(other.to_string()),
            }
        }
    }
}

/// What is wrong with a header's entries, found as the reference reader checks them — in the order of their
/// offsets, each array's data must start where the previous one's ends and hold exactly the bytes its dtype
/// and shape need, and the last must end at the end of the file's `data_len` bytes of data — so as to name
/// the array at fault (`None` when the fault is the file's).
fn first_bad_entry(
    mut entries: Vec<(String, TensorInfo)>,
    data_len: usize,
) -> Option<(Option<String>, String)> {
    entries.sort_by_key(|(_, info)| info.data_offsets);
    let mut end = 0;
    for (name, info) in entries {
        let (s, e) = info.data_offsets;
        let offsets = format!("its data offsets [{s}, {e}]");
        let reason = if e < s {
            Some(format!("{offsets} run backwards"))
        } else if s < end {
            Some(format!(
                "{offsets} overlap the previous array's, which ends at {end}"
            ))
        } else if s > end {
            Some(format!(
                "{offsets} leave bytes {end}..{s} to no array (the previous one ends at {end})"
            ))
        } else {
            let (dtype, shape) = (info.dtype, &info.shape);
            let bits = shape
                .iter()
                .try_fold(1usize, |n, &d| n.checked_mul(d))
                .and_then(|n| n.checked_mul(dtype.bitsize()));
            match bits {
                None => Some(format!("its shape {shape:?} is too large")),
                Some(bits) if bits % 8 != 0 => Some(format!(
                    "{dtype} values of shape {shape:?} do not fill whole bytes"
                )),
                Some(bits) if e - s != bits / 8 => Some(format!(
                    "{offsets} hold {} bytes, but {dtype} values of shape {shape:?} need {}",
                    e - s,
                    bits / 8
                )),
                Some(_) if e > data_len => Some(format!(
                    "{offsets} run past the end of the {data_len} bytes of data after the header (the file \
                     is truncated, or the offsets are wrong)"
                )),
                Some(_) => None,
            }
        };
        if let Some(reason) = reason {
            return Some((Some(name), reason));
        }
        end = e;
    }
    (end != data_len).then(|| {
        let reason = format!(
            "its arrays' data ends at byte {end} after the header, but the file has {data_len} bytes there: \
             bytes that no array owns"
        );
        (None, reason)
    })
}
