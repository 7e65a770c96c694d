//! Reading one 28x28 digit image from a PNG or PGM file, for `mnist predict`.

use std::fs;
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

/// Reads a 28x28 grayscale digit (PNG of any colour type, or binary/ASCII PGM) as bytes, 0 = background.
///
/// MNIST digits are white on black; pass `invert` for a dark digit on a light background.
///
/// # Errors
/// When the file is missing, not PNG/PGM, or not 28x28.
pub fn read_digit(path: &Path, invert: bool) -> Result<Array2<u8>, ImageError> {
    let failed = |reason: String| ImageError {
        path: path.to_path_buf(),
        reason,
    };
    let bytes = fs::read(path).map_err(|e| failed(e.to_string()))?;
    let (width, height, gray) = if bytes.starts_with(b"\x89PNG") {
        decode_png(&bytes).map_err(failed)?
    } else if bytes.starts_with(b"P5") || bytes.starts_with(b"P2") {
        decode_pgm(&bytes).map_err(failed)?
    } else {
        return Err(failed("not a PNG or PGM image".to_owned()));
    };
    if (width, height) != (28, 28) {
        return Err(failed(format!(
            "image is {width}x{height}; MNIST digits are 28x28"
        )));
    }
    let pixels = if invert {
        gray.into_iter().map(|p| 255 - p).collect()
    } else {
        gray
    };
    Ok(Array2::from_shape_vec((28, 28), pixels).expect("28x28 pixels"))
}

fn decode_png(bytes: &[u8]) -> Result<(usize, usize, Vec<u8>), String> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().map_err(|e| format!("bad PNG: {e}"))?;
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| "bad PNG: image too large".to_owned())?;
    let mut buffer = vec![0; size];
    let info = reader
        .next_frame(&mut buffer)
        .map_err(|e| format!("bad PNG: {e}"))?;
    let channels = info.color_type.samples();
    let gray = buffer[..info.buffer_size()]
        .chunks(channels)
        .map(|px| match px.len() {
            1 | 2 => px[0],
            _ => {
                ((u16::from(px[0]) * 30 + u16::from(px[1]) * 59 + u16::from(px[2]) * 11) / 100)
                    as u8
            }
        })
        .collect();
    Ok((info.width as usize, info.height as usize, gray))
}

/// Parses a binary (P5) or ASCII (P2) PGM with a maximum value of at most 255.
fn decode_pgm(bytes: &[u8]) -> Result<(usize, usize, Vec<u8>), String> {
    let binary = bytes.starts_with(b"P5");
    // Header: magic, width, height, maxval, separated by whitespace and `#` comments.
    let mut fields = Vec::new();
    let mut pos = 2;
    while fields.len() < 3 {
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
        fields.push(
            text.parse::<usize>()
                .map_err(|_| "bad PGM header".to_owned())?,
        );
    }
    let (width, height, maxval) = (fields[0], fields[1], fields[2]);
    if maxval == 0 || maxval > 255 {
        return Err(format!(
            "PGM maximum value {maxval} is not supported (1..=255)"
        ));
    }
    let count = width.checked_mul(height).ok_or("bad PGM header")?;
    let scale = |v: usize| (v.min(maxval) * 255 / maxval) as u8;
    let pixels: Vec<u8> = if binary {
        let data = bytes.get(pos + 1..).unwrap_or(&[]);
        if data.len() < count {
            return Err(format!(
                "truncated PGM: expected {count} pixels, found {}",
                data.len()
            ));
        }
        data[..count]
            .iter()
            .map(|&v| scale(usize::from(v)))
            .collect()
    } else {
        let text = std::str::from_utf8(&bytes[pos..]).map_err(|_| "bad ASCII PGM".to_owned())?;
        let values: Result<Vec<usize>, _> = text
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
        values.into_iter().map(scale).collect()
    };
    Ok((width, height, pixels))
}
