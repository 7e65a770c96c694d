//! Reading one 28x28 digit image from a PNG or PGM file, for `mnist predict`.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use ndarray::Array2;

/// An image file that cannot be used as an MNIST digit.
#[derive(Debug, thiserror::Error)]
#[error("{}: {reason}", path.display())]
pub struct ImageError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong.
    pub reason: String,
}

/// The largest image file read: a 28x28 PNG is a few hundred bytes, a 28x28 ASCII PGM a few KB; metadata
/// (colour profiles, comments) may add some.
pub const MAX_FILE_LEN: u64 = 4 << 20;

/// The digit's side in pixels.
const SIDE: u32 = 28;

/// Reads a 28x28 grayscale digit (PNG of any colour type, or binary/ASCII PGM) as bytes, 0 = background.
///
/// MNIST digits are white on black; pass `invert` for a dark digit on a light background.
///
/// # Errors
/// When the file is missing, larger than [`MAX_FILE_LEN`], not PNG/PGM, or not 28x28.
pub fn read_digit(path: &Path, invert: bool) -> Result<Array2<u8>, ImageError> {
    let failed = |reason: String| ImageError {
        path: path.to_path_buf(),
        reason,
    };
    let meta = fs::metadata(path).map_err(|e| failed(e.to_string()))?;
    if meta.is_dir() {
        return Err(failed("is a directory, not an image file".to_owned()));
    }
    if meta.len() > MAX_FILE_LEN {
        return Err(failed(format!(
            "{} bytes is too large for a 28x28 digit image (at most {MAX_FILE_LEN})",
            meta.len()
        )));
    }
    let mut bytes = Vec::new();
    fs::File::open(path)
        .and_then(|file| file.take(MAX_FILE_LEN + 1).read_to_end(&mut bytes))
        .map_err(|e| failed(e.to_string()))?;
    digit_from_bytes(&bytes, path, invert)
}

/// Decodes the bytes of a digit image, as [`read_digit`] does; `path` only names them in errors.
///
/// The dimensions are checked from the header before any pixel is decoded, so a huge image costs nothing.
///
/// # Errors
/// When the bytes are not a PNG or PGM image of 28x28 pixels.
pub fn digit_from_bytes(bytes: &[u8], path: &Path, invert: bool) -> Result<Array2<u8>, ImageError> {
    let failed = |reason: String| ImageError {
        path: path.to_path_buf(),
        reason,
    };
    let gray = if bytes.starts_with(b"\x89PNG") {
        decode_png(bytes).map_err(failed)?
    } else if bytes.starts_with(b"P5") || bytes.starts_with(b"P2") {
        decode_pgm(bytes).map_err(failed)?
    } else {
        return Err(failed("not a PNG or PGM image".to_owned()));
    };
    let pixels = if invert {
        gray.into_iter().map(|p| 255 - p).collect()
    } else {
        gray
    };
    Ok(Array2::from_shape_vec((28, 28), pixels).expect("28x28 pixels"))
}

/// Checks an image's dimensions, as its header states them.
fn check_size(width: u64, height: u64) -> Result<(), String> {
    if (width, height) == (u64::from(SIDE), u64::from(SIDE)) {
        Ok(())
    } else {
        Err(format!("image is {width}x{height}; MNIST digits are 28x28"))
    }
}

/// Decodes a PNG of any colour type to 784 gray bytes.
fn decode_png(bytes: &[u8]) -> Result<Vec<u8>, String> {
    // The decoder may hold at most this much (a 28x28 image of 16-bit RGBA needs 6 KB).
    let limits = png::Limits { bytes: 1 << 20 };
    let mut decoder = png::Decoder::new_with_limits(std::io::Cursor::new(bytes), limits);
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().map_err(|e| format!("bad PNG: {e}"))?;
    let (width, height) = (reader.info().width, reader.info().height);
    check_size(width.into(), height.into())?;
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| "bad PNG: image too large".to_owned())?;
    let mut buffer = vec![0; size];
    let info = reader
        .next_frame(&mut buffer)
        .map_err(|e| format!("bad PNG: {e}"))?;
    let channels = info.color_type.samples();
    let gray: Vec<u8> = buffer[..info.buffer_size()]
        .chunks(channels)
        .map(|px| match px.len() {
            1 | 2 => px[0],
            _ => {
                ((u16::from(px[0]) * 30 + u16::from(px[1]) * 59 + u16::from(px[2]) * 11) / 100)
                    as u8
            }
        })
        .collect();
    if gray.len() != (SIDE * SIDE) as usize {
        return Err(format!(
            "bad PNG: {} pixels decoded, a 28x28 image has 784",
            gray.len()
        ));
    }
    Ok(gray)
}

/// Parses a binary (P5) or ASCII (P2) PGM of 28x28 pixels with a maximum value of at most 255 to 784 gray
/// bytes. A pixel above the maximum value is an error.
fn decode_pgm(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let binary = bytes.starts_with(b"P5");
    // Header: magic, width, height, maxval, separated by whitespace and `#` comments.
    let mut fields = [0u64; 3];
    let mut pos = 2;
    for field in &mut fields {
        while pos < bytes.len() && (bytes[pos].is_ascii_whitespace() || bytes[pos] == b'#') {
            if bytes[pos] == b'#' {
                while pos < bytes.len() && bytes[pos] != b'\n' {
                    pos += 1;
                }
            } else {
                pos += 1;
            }
        }
        let start = pos;
        while pos < bytes.len() && bytes[pos].is_ascii_digit() {
            pos += 1;
        }
        let text = std::str::from_utf8(&bytes[start..pos]).unwrap_or("");
        *field = text.parse().map_err(|_| "bad PGM header".to_owned())?;
    }
    let [width, height, maxval] = fields;
    check_size(width, height)?;
    if maxval == 0 || maxval > 255 {
        return Err(format!(
            "PGM maximum value {maxval} is not supported (1..=255)"
        ));
    }
    let count = (SIDE * SIDE) as usize;
    let values: Vec<u64> = if binary {
        // One whitespace byte ends the header.
        let data = bytes.get(pos + 1..).unwrap_or(&[]);
        if data.len() < count {
            return Err(format!(
                "truncated PGM: expected {count} pixels, found {}",
                data.len()
            ));
        }
        data[..count].iter().map(|&v| u64::from(v)).collect()
    } else {
        let text = std::str::from_utf8(&bytes[pos..]).map_err(|_| "bad ASCII PGM".to_owned())?;
        let values: Result<Vec<u64>, _> = text
            .split_ascii_whitespace()
            .take(count)
            .map(str::parse)
            .collect();
        let values = values.map_err(|_| "bad ASCII PGM pixel value".to_owned())?;
        if values.len() < count {
            return Err(format!(
                "truncated PGM: expected {count} pixels, found {}",
                values.len()
            ));
        }
        values
    };
    if let Some((i, v)) = values.iter().enumerate().find(|(_, &v)| v > maxval) {
        return Err(format!(
            "PGM pixel {i} is {v}, above the maximum value {maxval}"
        ));
    }
    Ok(values
        .into_iter()
        .map(|v| (v * 255 / maxval) as u8)
        .collect())
}
