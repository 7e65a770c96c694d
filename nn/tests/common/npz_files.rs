//! Building and inspecting `.npz` archives byte by byte, for the tests of saved parameters.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use nn::{NpzError, Params};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

pub fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary directory")
}

/// An archive at `dir/name` with these raw entries.
pub fn write_zip(
    dir: &Path,
    name: &str,
    entries: &[(&str, Vec<u8>)],
    method: CompressionMethod,
) -> PathBuf {
    let path = dir.join(name);
    let mut zip = ZipWriter::new(fs::File::create(&path).unwrap());
    for (entry, bytes) in entries {
        zip.start_file(
            *entry,
            SimpleFileOptions::default().compression_method(method),
        )
        .unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap();
    path
}

/// A `.npy` file with header dictionary `dict` (padded as NumPy does) and `data`.
pub fn npy(dict: &str, data: &[u8]) -> Vec<u8> {
    let padding = (64 - (10 + dict.len() + 1) % 64) % 64;
    let header = format!("{dict}{}\n", " ".repeat(padding));
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

pub fn f64_bytes(values: &[f64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

pub fn entry_bytes(path: &Path, entry: &str) -> Vec<u8> {
    let mut archive = ZipArchive::new(fs::File::open(path).unwrap()).unwrap();
    let mut file = archive.by_name(entry).unwrap();
    assert_eq!(
        file.compression(),
        CompressionMethod::Stored,
        "numpy.savez stores entries"
    );
    let mut bytes = vec![];
    std::io::Read::read_to_end(&mut file, &mut bytes).unwrap();
    bytes
}

pub fn load_err(path: &Path) -> NpzError {
    Params::<f64>::load_npz(path).expect_err("loading should fail")
}
