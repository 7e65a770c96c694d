//! Helpers shared by the integration tests of this crate; each test binary declares `mod common;` and uses
//! what it needs.

#![allow(dead_code)] // each test binary uses part of it

pub mod alloc;
pub mod binary;
pub mod fuzzer;
mod rng;

pub use rng::Rng;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Everything under `dir`, by path relative to it: a file's bytes, a directory as `<dir>`, a symbolic link
/// as its target.
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let name = path.strip_prefix(dir).unwrap().to_owned();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_symlink() {
                let target = std::fs::read_link(&path).unwrap();
                files.insert(name, target.to_string_lossy().as_bytes().to_vec());
            } else if meta.is_dir() {
                files.insert(name, b"<dir>".to_vec());
                todo.push(path);
            } else {
                files.insert(name, std::fs::read(&path).unwrap());
            }
        }
    }
    files
}

/// The SHA-256 of `bytes` as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A `state.json` holding `state` (its text as given), sealed with the right checksum: what a tool (or a
/// bug) that knows the format could write.
pub fn sealed_state(state: &str) -> Vec<u8> {
    let sha = sha256_hex(state.as_bytes());
    format!(
        r#"{{"format":"backprop-rs mnist checkpoint","version":2,"sha256":"{sha}","state":{state}}}"#
    )
    .into_bytes()
}
