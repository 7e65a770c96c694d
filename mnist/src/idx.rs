//! The IDX reader: MNIST images and labels from gzip-compressed or raw IDX files.
//!
//! An IDX file is a big-endian header (magic number, item count, and for images rows and columns)
//! followed by one unsigned byte per pixel or label. The reader checks the magic number, the 28x28
//! dimensions and the data length against the header, and that labels are digits.
//!
//! It never trusts the header with memory: the body is read through a reader capped at the length
//! the header announces, into a buffer reserved only up to what the input itself holds (a raw
//! file's length; for a gzip file, [`GZIP_RESERVE_RATIO`] times its length) and grown beyond that
//! only as decompressed bytes really arrive. A header that claims four billion images in a
//! 100-byte file fails after reading those 100 bytes, having allocated no more than they need.
//! Nothing may follow the data: neither more bytes than the header announces, nor anything after
//! the end of a gzip stream.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use flate2::bufread::GzDecoder;
use ndarray::Array2;

use crate::error::{DataError, Result};

/// The magic number of an IDX file of unsigned-byte images (3 dimensions).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// The magic number of an IDX file of unsigned-byte labels (1 dimension).
pub const LABELS_MAGIC: u32 = 0x0000_0801;
/// Rows of an MNIST image.
pub const ROWS: usize = 28;
/// Columns of an MNIST image.
pub const COLS: usize = 28;
/// Pixels of an MNIST image: one row of the images matrix.
pub const PIXELS: usize = ROWS * COLS;

/// The first two bytes of every gzip file.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// A gzip file of `n` bytes gets a buffer of at most `n` times this reserved before its data
/// arrives (MNIST's files compress 2 to 5 times, so theirs is reserved exactly); a file that
/// decompresses further grows its buffer as the bytes arrive.
pub const GZIP_RESERVE_RATIO: u64 = 16;

/// Reads an images file (`*-images-idx3-ubyte`, gzip or raw) into an `n x 784` matrix, one image
/// per row, row-major pixels.
pub fn read_images(path: &Path) -> Result<Array2<u8>> {
    let (input, len) = open(path)?;
    parse(input, len, path, Kind::Images).map(into_images)
}

/// Reads a labels file (`*-labels-idx1-ubyte`, gzip or raw).
pub fn read_labels(path: &Path) -> Result<Vec<u8>> {
    let (input, len) = open(path)?;
    parse(input, len, path, Kind::Labels).map(|idx| idx.body)
}

/// Parses the bytes of an images file, as [`read_images`] does; `path` only names them in errors
/// (and a `.gz` name demands gzip data).
pub fn images_from_bytes(bytes: &[u8], path: &Path) -> Result<Array2<u8>> {
    parse(bytes, bytes.len() as u64, path, Kind::Images).map(into_images)
}

/// Parses the bytes of a labels file, as [`read_labels`] does; `path` only names them in errors
/// (and a `.gz` name demands gzip data).
pub fn labels_from_bytes(bytes: &[u8], path: &Path) -> Result<Vec<u8>> {
    parse(bytes, bytes.len() as u64, path, Kind::Labels).map(|idx| idx.body)
}

/// What an IDX file holds.
#[derive(Clone, Copy)]
enum Kind {
    Images,
    Labels,
}

impl Kind {
    fn magic(self) -> u32 {
        match self {
            Kind::Images => IMAGES_MAGIC,
            Kind::Labels => LABELS_MAGIC,
        }
    }

    /// Header length: magic and count, plus rows and columns for images.
    fn header_len(self) -> usize {
        match self {
            Kind::Images => 16,
            Kind::Labels => 8,
        }
    }

    /// Body bytes per item.
    fn item_len(self) -> u64 {
        match self {
            Kind::Images => PIXELS as u64,
            Kind::Labels => 1,
        }
    }
}

/// A checked IDX body: `count` items of `Kind::item_len` bytes.
struct Idx {
    count: usize,
    body: Vec<u8>,
}

fn into_images(idx: Idx) -> Array2<u8> {
    Array2::from_shape_vec((idx.count, PIXELS), idx.body)
        .expect("parse checked that the body holds count * 784 bytes")
}

/// Opens a file for reading, with its length.
fn open(path: &Path) -> Result<(BufReader<File>, u64)> {
    let io_error = |source: io::Error| match source.kind() {
        io::ErrorKind::NotFound => DataError::Missing {
            path: path.to_owned(),
        },
        _ => DataError::Io {
            path: path.to_owned(),
            source,
        },
    };
    let file = File::open(path).map_err(io_error)?;
    let len = file.metadata().map_err(io_error)?.len();
    Ok((BufReader::new(file), len))
}

/// Parses an IDX file of `kind` from `input` (`input_len` bytes long), decompressing it if it
/// starts with the gzip magic.
fn parse(mut input: impl BufRead, input_len: u64, path: &Path, kind: Kind) -> Result<Idx> {
    let is_gzip = input
        .fill_buf()
        .map_err(|source| DataError::Io {
            path: path.to_owned(),
            source,
        })?
        .starts_with(&GZIP_MAGIC);
    if is_gzip {
        let most = input_len.saturating_mul(GZIP_RESERVE_RATIO);
        let mut decoder = GzDecoder::new(input);
        let idx = IdxReader::new(&mut decoder, path, true).parse(kind, most)?;
        // The stream has ended (the reader saw its end after the data); nothing may follow it.
        let mut rest = decoder.into_inner();
        let more = rest.fill_buf().map_err(|source| DataError::Io {
            path: path.to_owned(),
            source,
        })?;
        if !more.is_empty() {
            return Err(DataError::TrailingGzipData {
                path: path.to_owned(),
            });
        }
        Ok(idx)
    } else if path.extension().is_some_and(|ext| ext == "gz") {
        Err(DataError::NotGzip {
            path: path.to_owned(),
        })
    } else {
        let most = input_len.saturating_sub(kind.header_len() as u64);
        IdxReader::new(input, path, false).parse(kind, most)
    }
}

/// The decoded byte stream of one IDX file, and how to report its errors.
struct IdxReader<'p, R> {
    inner: R,
    path: &'p Path,
    gzip: bool,
}

impl<'p, R: Read> IdxReader<'p, R> {
    fn new(inner: R, path: &'p Path, gzip: bool) -> Self {
        IdxReader { inner, path, gzip }
    }

    /// Names the file in a read error: a decompression error for gzip, else an I/O error.
    fn read_error(&self, source: io::Error) -> DataError {
        let path = self.path.to_owned();
        if self.gzip {
            DataError::Decompress { path, source }
        } else {
            DataError::Io { path, source }
        }
    }

    fn truncated(&self, part: &'static str, expected: u64, found: u64) -> DataError {
        DataError::Truncated {
            path: self.path.to_owned(),
            part,
            expected,
            found,
        }
    }

    /// Fills `buf` as far as the stream goes; returns the bytes read.
    fn read_up_to(&mut self, buf: &mut [u8]) -> Result<usize> {
        let mut filled = 0;
        while filled < buf.len() {
            match self.inner.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.read_error(e)),
            }
        }
        Ok(filled)
    }

    /// Reads and checks the header, then the body. No more than `most` body bytes (nor than the
    /// header announces) are reserved up front.
    fn parse(mut self, kind: Kind, most: u64) -> Result<Idx> {
        let mut header = [0u8; 16];
        let header = &mut header[..kind.header_len()];
        let found = self.read_up_to(header)?;
        let field = |i: usize| u32::from_be_bytes(header[4 * i..4 * i + 4].try_into().unwrap());
        if found < 4 {
            return Err(self.truncated("header", header.len() as u64, found as u64));
        }
        if field(0) != kind.magic() {
            return Err(DataError::BadMagic {
                path: self.path.to_owned(),
                expected: kind.magic(),
                found: field(0),
            });
        }
        if found < header.len() {
            return Err(self.truncated("header", header.len() as u64, found as u64));
        }
        if let Kind::Images = kind {
            let (rows, cols) = (field(2), field(3));
            if (rows as usize, cols as usize) != (ROWS, COLS) {
                return Err(DataError::BadDimensions {
                    path: self.path.to_owned(),
                    rows,
                    cols,
                });
            }
        }
        let count = field(1);
        let expected = u64::from(count) * kind.item_len();
        let body = self.read_body(expected, most)?;
        if let Kind::Labels = kind {
            if let Some((index, &label)) = body.iter().enumerate().find(|(_, &l)| l > 9) {
                return Err(DataError::BadLabel {
                    path: self.path.to_owned(),
                    index,
                    label,
                });
            }
        }
        Ok(Idx {
            count: count as usize,
            body,
        })
    }

    /// Reads exactly `expected` bytes and checks that nothing follows them.
    fn read_body(&mut self, expected: u64, most: u64) -> Result<Vec<u8>> {
        let reserve = usize::try_from(expected.min(most)).unwrap_or(0);
        let mut body = Vec::with_capacity(reserve);
        crate::allocator::advise_huge_pages(&mut body);
        // The cap makes `read_to_end` stop at the announced length; it only grows the buffer
        // past `reserve` as real bytes arrive.
        let read = (&mut self.inner).take(expected).read_to_end(&mut body);
        read.map_err(|e| self.read_error(e))?;
        if (body.len() as u64) < expected {
            return Err(self.truncated("data", expected, body.len() as u64));
        }
        if self.read_up_to(&mut [0u8; 1])? > 0 {
            return Err(DataError::TrailingData {
                path: self.path.to_owned(),
                expected,
            });
        }
        Ok(body)
    }
}
