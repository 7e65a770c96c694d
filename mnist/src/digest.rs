//! Checksums as lowercase hex: SHA-256 and MD5 of files and streams.

use std::io::{self, Read, Write};

use sha2::{Digest, Sha256};

/// The digest of everything `input` yields.
pub(crate) fn digest<D: Digest + Write>(input: &mut impl Read) -> io::Result<Vec<u8>> {
    let mut hasher = D::new();
    io::copy(input, &mut hasher)?;
    Ok(hasher.finalize().to_vec())
}

/// The SHA-256 of `bytes`, as lowercase hex.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
