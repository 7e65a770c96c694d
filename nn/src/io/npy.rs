//! The `.npy` format, version 1.0 (and reading 2.0 and 3.0): a magic string, a header that is a Python
//! dictionary literal (`descr`, `fortran_order`, `shape`), then the raw elements.

use std::io::{self, Read};

use autograd::Float;
use ndarray::{ArrayD, IxDyn, ShapeBuilder};

/// Element types with a NumPy dtype: `f32` (`<f4`) and `f64` (`<f8`), little-endian.
pub trait NpyFloat: Float {
    /// The dtype as NumPy spells it in a `.npy` header.
    const DESCR: &'static str;
    /// Appends the value's little-endian bytes.
    fn extend_le(self, out: &mut Vec<u8>);
    /// The value from its little-endian bytes (exactly `size_of::<Self>()` of them).
    fn from_le(bytes: &[u8]) -> Self;
}

impl NpyFloat for f32 {
    const DESCR: &'static str = "<f4";
    fn extend_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    fn from_le(bytes: &[u8]) -> Self {
        f32::from_le_bytes(bytes.try_into().expect("4 bytes"))
    }
}

impl NpyFloat for f64 {
    const DESCR: &'static str = "<f8";
    fn extend_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    fn from_le(bytes: &[u8]) -> Self {
        f64::from_le_bytes(bytes.try_into().expect("8 bytes"))
    }
}

const MAGIC: &[u8] = b"\x93NUMPY";
/// NumPy pads headers so that the data starts at a multiple of this.
const ALIGN: usize = 64;
/// NumPy leaves room in the header for the first axis to grow to this many digits.
const GROWTH_AXIS_MAX_DIGITS: usize = 21;

/// `array` as a `.npy` file: NumPy's version 1.0 header (version 2.0 if the header outgrows 64 KiB), then the
/// elements in C order, little-endian.
pub(super) fn encode_npy<T: NpyFloat>(array: &ArrayD<T>) -> Vec<u8> {
    let shape = match array.shape() {
        [] => "()".to_owned(),
        [n] => format!("({n},)"),
        dims => {
            let dims: Vec<String> = dims.iter().map(usize::to_string).collect();
            format!("({})", dims.join(", "))
        }
    };
    let mut dict = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': {shape}, }}",
        T::DESCR
    );
    if let Some(first) = array.shape().first() {
        let digits = first.to_string().len();
        dict.push_str(&" ".repeat(GROWTH_AXIS_MAX_DIGITS.saturating_sub(digits)));
    }
    let wrap = |len_bytes: usize| {
        let unpadded = MAGIC.len() + 2 + len_bytes + dict.len() + 1;
        let padding = ALIGN - unpadded % ALIGN;
        dict.len() + padding + 1
    };
    let (version, header_len) = match wrap(2) {
        len if len <= usize::from(u16::MAX) => (1, len),
        _ => (2, wrap(4)),
    };
    let mut out = Vec::with_capacity(MAGIC.len() + 6 + header_len + array.len() * size_of::<T>());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[version, 0]);
    if version == 1 {
        out.extend_from_slice(&(header_len as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(header_len as u32).to_le_bytes());
    }
    out.extend_from_slice(dict.as_bytes());
    out.resize(out.len() + header_len - dict.len() - 1, b' ');
    out.push(b'\n');
    for &x in array.iter() {
        x.extend_le(&mut out);
    }
    out
}

/// Why a `.npy` entry could not be decoded.
pub(super) enum Problem {
    /// The bytes could not be read (e.g. the zip entry's checksum failed).
    Read(io::Error),
    /// The header is malformed; why.
    Header(String),
    /// The element type is not the one asked for; the dtype found.
    Dtype(String),
    /// The data's length differs from what the header announces.
    Data { found: u64, expected: u64 },
}

/// The longest header this reader accepts (NumPy's own limit is 10,000 bytes; version 2.0 headers are for
/// more than 65,535). Bounds what an entry's length field can make the reader allocate.
const MAX_HEADER_LEN: usize = 1 << 20;

/// Reads exactly `n` bytes, calling a short read a truncated header. The buffer grows only as bytes arrive.
fn read_header_bytes(r: &mut impl Read, n: usize) -> Result<Vec<u8>, Problem> {
    let mut bytes = Vec::new();
    r.take(n as u64)
        .read_to_end(&mut bytes)
        .map_err(Problem::Read)?;
    if bytes.len() < n {
        return Err(Problem::Header("truncated".to_owned()));
    }
    Ok(bytes)
}

/// Reads a `.npy` file's magic string, version and header dictionary from `r`.
pub(super) fn read_header(r: &mut impl Read) -> Result<Header, Problem> {
    let prefix = read_header_bytes(r, MAGIC.len() + 2)?;
    if &prefix[..MAGIC.len()] != MAGIC {
        return Err(Problem::Header("no \\x93NUMPY magic string".to_owned()));
    }
    let len_bytes = match (prefix[6], prefix[7]) {
        (1, 0) => 2,
        (2 | 3, 0) => 4,
        (major, minor) => {
            return Err(Problem::Header(format!(
                "unsupported format version {major}.{minor}"
            )))
        }
    };
    let len = read_header_bytes(r, len_bytes)?;
    let len = len
        .iter()
        .rev()
        .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
    if len > MAX_HEADER_LEN {
        return Err(Problem::Header(format!(
            "a header of {len} bytes is longer than the {MAX_HEADER_LEN} this reader accepts"
        )));
    }
    let text = read_header_bytes(r, len)?;
    let text = String::from_utf8(text)
        .map_err(|_| Problem::Header("the header is not text".to_owned()))?;
    parse_header(&text).map_err(Problem::Header)
}

/// Reads the elements that `header` announces from `r`, to the end of `r` (so that the zip reader checks its
/// checksum). The header's dtype must be `T`'s.
///
/// Memory grows only with the bytes that really arrive: a header announcing a huge shape over a few bytes of
/// data fails after reading them, having allocated no more than they need.
pub(super) fn read_data<T: NpyFloat>(
    r: &mut impl Read,
    header: &Header,
) -> Result<ArrayD<T>, Problem> {
    if header.descr != T::DESCR {
        return Err(Problem::Dtype(header.descr.clone()));
    }
    let count = header
        .shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .and_then(|n| n.checked_mul(size_of::<T>()))
        .ok_or_else(|| Problem::Header(format!("shape {:?} is too large", header.shape)))?;
    let expected = count as u64;
    let mut data = Vec::new();
    r.take(expected + 1)
        .read_to_end(&mut data)
        .map_err(Problem::Read)?;
    if data.len() != count {
        return Err(Problem::Data {
            found: data.len() as u64,
            expected,
        });
    }
    let elements: Vec<T> = data.chunks_exact(size_of::<T>()).map(T::from_le).collect();
    let shape = IxDyn(&header.shape);
    let array = if header.fortran_order {
        ArrayD::from_shape_vec(shape.f(), elements)
    } else {
        ArrayD::from_shape_vec(shape, elements)
    };
    // The count matches, so only a shape whose non-zero sizes overflow (such as `(0, 2⁶⁴ − 1)`) is refused here.
    let array =
        array.map_err(|_| Problem::Header(format!("shape {:?} is too large", header.shape)))?;
    Ok(if header.fortran_order {
        array.as_standard_layout().into_owned()
    } else {
        array
    })
}

/// The three fields of a `.npy` header.
#[derive(Debug)]
pub(super) struct Header {
    /// The dtype, e.g. `<f4`.
    pub(super) descr: String,
    fortran_order: bool,
    shape: Vec<usize>,
}

/// A Python literal in a `.npy` header.
enum Literal {
    Str(String),
    Bool(bool),
    Tuple(Vec<usize>),
}

/// Parses the header dictionary, e.g. `{'descr': '<f4', 'fortran_order': False, 'shape': (784, 50), }`.
fn parse_header(text: &str) -> Result<Header, String> {
    let mut p = Parser { rest: text };
    p.expect('{')?;
    let (mut descr, mut fortran_order, mut shape) = (None, None, None);
    while !p.eat('}') {
        let key = match p.literal()? {
            Literal::Str(key) => key,
            _ => return Err("a key is not a string".to_owned()),
        };
        p.expect(':')?;
        let value = p.literal()?;
        let duplicate = match (key.as_str(), value) {
            ("descr", Literal::Str(v)) => descr.replace(v).is_some(),
            ("fortran_order", Literal::Bool(v)) => fortran_order.replace(v).is_some(),
            ("shape", Literal::Tuple(v)) => shape.replace(v).is_some(),
            ("descr" | "fortran_order" | "shape", _) => {
                return Err(format!("'{key}' has a value of the wrong kind"))
            }
            _ => return Err(format!("unknown key '{key}'")),
        };
        if duplicate {
            return Err(format!("'{key}' appears twice"));
        }
        if !p.eat(',') {
            p.expect('}')?;
            break;
        }
    }
    if !p.rest.trim().is_empty() {
        return Err(format!(
            "unexpected text after the dictionary: {:?}",
            p.rest.trim()
        ));
    }
    match (descr, fortran_order, shape) {
        (Some(descr), Some(fortran_order), Some(shape)) => Ok(Header {
            descr,
            fortran_order,
            shape,
        }),
        _ => Err("it needs 'descr', 'fortran_order' and 'shape'".to_owned()),
    }
}

/// A cursor over header text; every method skips leading whitespace.
struct Parser<'a> {
    rest: &'a str,
}

impl Parser<'_> {
    /// Consumes `c` if it comes next.
    fn eat(&mut self, c: char) -> bool {
        self.rest = self.rest.trim_start();
        match self.rest.strip_prefix(c) {
            Some(rest) => {
                self.rest = rest;
                true
            }
            None => false,
        }
    }

    fn expect(&mut self, c: char) -> Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(format!("expected '{c}' at {:?}", self.rest))
        }
    }

    /// A quoted string, `True`/`False`, or a tuple of non-negative integers.
    fn literal(&mut self) -> Result<Literal, String> {
        self.rest = self.rest.trim_start();
        for (word, value) in [("True", true), ("False", false)] {
            if let Some(rest) = self.rest.strip_prefix(word) {
                self.rest = rest;
                return Ok(Literal::Bool(value));
            }
        }
        if self.eat('(') {
            let mut dims = Vec::new();
            while !self.eat(')') {
                let digits = self
                    .rest
                    .find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(self.rest.len());
                let dim = self.rest[..digits]
                    .parse()
                    .map_err(|_| format!("expected a dimension at {:?}", self.rest))?;
                dims.push(dim);
                self.rest = &self.rest[digits..];
                if !self.eat(',') {
                    self.expect(')')?;
                    break;
                }
            }
            return Ok(Literal::Tuple(dims));
        }
        let quote = self
            .rest
            .chars()
            .next()
            .filter(|&c| c == '\'' || c == '"')
            .ok_or_else(|| format!("expected a value at {:?}", self.rest))?;
        let body = &self.rest[1..];
        let end = body
            .find(quote)
            .ok_or_else(|| "an unterminated string".to_owned())?;
        self.rest = &body[end + 1..];
        Ok(Literal::Str(body[..end].to_owned()))
    }
}
