//! Bad input for the IDX reader and the loader: each case must fail with the right error kind,
//! name the file in its message, and never allocate more than the input justifies. A counting
//! allocator measures the peak memory of each parse. (`tests/fuzz.rs` feeds the reader mutated
//! files by the hundred thousand.)

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use flate2::{write::GzEncoder, Compression};
use mnist::idx::{images_from_bytes, labels_from_bytes, read_images, read_labels};
use mnist::{DataError, Mnist, Split};

mod common;

use common::alloc::peak_during;

#[global_allocator]
static ALLOCATOR: common::alloc::Counting = common::alloc::Counting;

/// An IDX images file: header (with the given count and dims) then `body`.
fn images_idx(count: u32, rows: u32, cols: u32, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for field in [0x803, count, rows, cols] {
        out.extend(field.to_be_bytes());
    }
    out.extend(body);
    out
}

/// An IDX labels file: header (with the given count) then `body`.
fn labels_idx(count: u32, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for field in [0x801, count] {
        out.extend(field.to_be_bytes());
    }
    out.extend(body);
    out
}

/// Pixels of `n` synthetic images.
fn pixels(n: usize) -> Vec<u8> {
    (0..n * 784).map(|i| (i * 7 % 256) as u8).collect()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// Writes `bytes` as `name` in `dir` and returns the path.
fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Asserts that the error message names `path`.
fn assert_names(err: &DataError, path: &Path) {
    let message = err.to_string();
    assert!(
        message.contains(&path.display().to_string()),
        "{message:?} does not name {}",
        path.display()
    );
}

#[test]
fn valid_files_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let body = pixels(3);
    let images = read_images(&write(
        dir.path(),
        "i.gz",
        &gzip(&images_idx(3, 28, 28, &body)),
    ));
    assert_eq!(images.unwrap().into_raw_vec_and_offset().0, body);
    let images = read_images(&write(dir.path(), "i", &images_idx(3, 28, 28, &body))).unwrap();
    assert_eq!(images.dim(), (3, 784));
    let labels = read_labels(&write(
        dir.path(),
        "l.gz",
        &gzip(&labels_idx(3, &[0, 9, 4])),
    ));
    assert_eq!(labels.unwrap(), [0, 9, 4]);
}

#[test]
fn missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("train-images-idx3-ubyte.gz");
    let err = read_images(&path).unwrap_err();
    assert!(
        matches!(&err, DataError::Missing { path: p } if *p == path),
        "{err:?}"
    );
    assert_names(&err, &path);

    let err = Mnist::load(dir.path()).unwrap_err();
    assert!(matches!(err, DataError::Missing { .. }), "{err:?}");
    assert_names(&err, &dir.path().join("t10k-images-idx3-ubyte.gz"));
}

#[test]
fn wrong_magic() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "labels.gz", &gzip(&labels_idx(2, &[1, 2])));
    let err = read_images(&path).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::BadMagic {
                expected: 0x803,
                found: 0x801,
                ..
            }
        ),
        "{err:?}"
    );
    assert_names(&err, &path);
    assert!(
        err.to_string()
            .contains("expected 0x00000803, found 0x00000801"),
        "{err}"
    );
}

#[test]
fn truncated_body() {
    let dir = tempfile::tempdir().unwrap();
    let short = images_idx(3, 28, 28, &pixels(2));
    for (name, bytes) in [("short", short.clone()), ("short.gz", gzip(&short))] {
        let path = write(dir.path(), name, &bytes);
        let err = read_images(&path).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::Truncated {
                    part: "data",
                    expected: 2352,
                    found: 1568,
                    ..
                }
            ),
            "{name}: {err:?}"
        );
        assert_names(&err, &path);
        assert!(
            err.to_string().contains("expected 2352 bytes, found 1568"),
            "{err}"
        );
    }
}

#[test]
fn truncated_header() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "header", &images_idx(3, 28, 28, &[])[..10]);
    let err = read_images(&path).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::Truncated {
                part: "header",
                expected: 16,
                found: 10,
                ..
            }
        ),
        "{err:?}"
    );
    assert_names(&err, &path);
}

#[test]
fn trailing_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "long.gz", &gzip(&labels_idx(2, &[1, 2, 3])));
    let err = read_labels(&path).unwrap_err();
    assert!(
        matches!(err, DataError::TrailingData { expected: 2, .. }),
        "{err:?}"
    );
    assert_names(&err, &path);
}

/// A header claiming four billion images over a tiny body fails at once, allocating next to
/// nothing (the claim is 3 TB).
#[test]
fn huge_count_in_header_does_not_allocate() {
    let dir = tempfile::tempdir().unwrap();
    let lie = images_idx(4_000_000_000, 28, 28, &pixels(1)[..100]);
    for (name, bytes) in [("lie", lie.clone()), ("lie.gz", gzip(&lie))] {
        let path = write(dir.path(), name, &bytes);
        let start = Instant::now();
        let (result, peak) = peak_during(|| read_images(&path));
        let err = result.unwrap_err();
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "{name} took {:?}",
            start.elapsed()
        );
        assert!(peak < 1 << 20, "{name}: {peak} bytes allocated");
        assert!(
            matches!(
                err,
                DataError::Truncated {
                    part: "data",
                    expected: 3_136_000_000_000,
                    found: 100,
                    ..
                }
            ),
            "{name}: {err:?}"
        );
        assert_names(&err, &path);
    }
    let (result, peak) =
        peak_during(|| labels_from_bytes(&labels_idx(u32::MAX, &[1; 10]), Path::new("l")));
    assert!(
        matches!(result, Err(DataError::Truncated { found: 10, .. })),
        "{result:?}"
    );
    assert!(peak < 1 << 16, "{peak} bytes allocated");
}

#[test]
fn count_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let images = write(
        dir.path(),
        "images.gz",
        &gzip(&images_idx(3, 28, 28, &pixels(3))),
    );
    let labels = write(dir.path(), "labels.gz", &gzip(&labels_idx(2, &[1, 2])));
    let err = Split::load(&images, &labels).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::CountMismatch {
                images: 3,
                labels: 2,
                ..
            }
        ),
        "{err:?}"
    );
    assert_names(&err, &images);
    assert_names(&err, &labels);
}

#[test]
fn not_gzip_garbage() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = b"<html>404 Not Found</html> and some more garbage".to_vec();
    let path = write(dir.path(), "train-labels-idx1-ubyte.gz", &garbage);
    let err = read_labels(&path).unwrap_err();
    assert!(matches!(err, DataError::NotGzip { .. }), "{err:?}");
    assert_names(&err, &path);
    // Without the .gz name the same bytes are read as raw IDX, and the magic is wrong.
    let path = write(dir.path(), "train-labels-idx1-ubyte", &garbage);
    let err = read_labels(&path).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::BadMagic {
                expected: 0x801,
                found: 0x3c68_746d,
                ..
            }
        ),
        "{err:?}"
    );
    assert_names(&err, &path);
}

#[test]
fn corrupt_gzip_stream() {
    let dir = tempfile::tempdir().unwrap();
    let good = gzip(&images_idx(2, 28, 28, &pixels(2)));
    // The deflate data is intact, but the CRC and length trailer is gone.
    let path = write(dir.path(), "cut.gz", &good[..good.len() - 8]);
    let err = read_images(&path).unwrap_err();
    assert!(matches!(err, DataError::Decompress { .. }), "{err:?}");
    assert_names(&err, &path);
    // A wrong CRC.
    let mut bad_crc = good;
    let n = bad_crc.len();
    bad_crc[n - 8] ^= 0xff;
    let path = write(dir.path(), "crc.gz", &bad_crc);
    let err = read_images(&path).unwrap_err();
    assert!(matches!(err, DataError::Decompress { .. }), "{err:?}");
    assert_names(&err, &path);
}

#[test]
fn bad_dimensions() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "big.gz",
        &gzip(&images_idx(1, 32, 32, &[0; 1024])),
    );
    let err = read_images(&path).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::BadDimensions {
                rows: 32,
                cols: 32,
                ..
            }
        ),
        "{err:?}"
    );
    assert_names(&err, &path);
    assert!(err.to_string().contains("32x32"), "{err}");
}

#[test]
fn label_over_nine() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "labels.gz",
        &gzip(&labels_idx(4, &[3, 9, 10, 2])),
    );
    let err = read_labels(&path).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::BadLabel {
                index: 2,
                label: 10,
                ..
            }
        ),
        "{err:?}"
    );
    assert_names(&err, &path);
}

/// Bytes that do not compress: `n` of a xorshift stream.
fn noise(n: usize) -> Vec<u8> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 56) as u8
        })
        .collect()
}

/// A gzip file goes on after its stream: refused (trailing garbage, or a second gzip member), as a raw
/// file that goes on past its data is.
#[test]
fn gzip_with_trailing_data_after_the_stream() {
    let dir = tempfile::tempdir().unwrap();
    let member = gzip(&labels_idx(2, &[1, 2]));
    for tail in [b"garbage".to_vec(), vec![0; 4], member.clone()] {
        let mut bytes = member.clone();
        bytes.extend_from_slice(&tail);
        let path = write(dir.path(), "tail.gz", &bytes);
        let err = read_labels(&path).unwrap_err();
        assert!(matches!(err, DataError::TrailingGzipData { .. }), "{err:?}");
        assert!(err
            .to_string()
            .contains("trailing data after the gzip stream"));
        assert_names(&err, &path);
    }
    let path = write(dir.path(), "ok.gz", &member);
    assert_eq!(read_labels(&path).unwrap(), [1, 2]);
}

/// The first 64 KiB of a download of the training images (the header claims 60,000 images, 47 MB): the
/// reader reserves at most 16 times what the file holds, not what the header claims, and says it is cut
/// short.
#[test]
fn a_cut_off_gzip_download_reserves_what_the_file_can_hold() {
    let full = gzip(&images_idx(60_000, 28, 28, &noise(100 * 784)));
    let cut = &full[..64 << 10];
    let (result, peak) = peak_during(|| images_from_bytes(cut, Path::new("train.gz")));
    assert!(
        matches!(
            result,
            Err(DataError::Decompress { .. } | DataError::Truncated { .. })
        ),
        "{result:?}"
    );
    assert!(
        peak <= 16 * cut.len() + (256 << 10),
        "{peak} bytes for a {} byte file",
        cut.len()
    );
}

/// A split without examples is no data set: refused, naming the file, not evaluated as accuracy 0.
#[test]
fn an_empty_split_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "train-images-idx3-ubyte",
        &images_idx(1, 28, 28, &pixels(1)),
    );
    write(dir.path(), "train-labels-idx1-ubyte", &labels_idx(1, &[3]));
    let test = write(
        dir.path(),
        "t10k-images-idx3-ubyte",
        &images_idx(0, 28, 28, &[]),
    );
    write(dir.path(), "t10k-labels-idx1-ubyte", &labels_idx(0, &[]));
    let err = Mnist::load(dir.path()).unwrap_err();
    assert!(matches!(err, DataError::Empty { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "{}: holds no images: MNIST needs at least one in each split",
            test.display()
        )
    );
}
