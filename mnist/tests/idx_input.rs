//! Bad input for the IDX reader and the loader: each case must fail with the right error kind,
//! name the file in its message, and never allocate more than the input justifies. A counting
//! allocator measures the peak memory of each parse.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use flate2::{write::GzEncoder, Compression};
use mnist::idx::{images_from_bytes, labels_from_bytes, read_images, read_labels};
use mnist::{DataError, Mnist, Split};
use proptest::prelude::*;

/// Counts the bytes each thread has live, and the peak since the last [`peak_during`].
struct Counting;

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

fn track(grow: usize, shrink: usize) {
    let _ = LIVE.try_with(|live| {
        let now = (live.get() + grow).saturating_sub(shrink);
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

// SAFETY: every call is forwarded to the system allocator unchanged; only counters are updated.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            track(layout.size(), 0);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        track(0, layout.size());
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            track(new_size, layout.size());
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f` and returns its result with the most memory this thread had allocated at once
/// during the call, above what it had before.
fn peak_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let before = LIVE.with(Cell::get);
    PEAK.with(|peak| peak.set(before));
    let out = f();
    (out, PEAK.with(Cell::get) - before)
}

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

/// The most memory a parse of `input` may take: what the input can hold (a gzip stream expands
/// at most 1032-fold), twice over for buffer growth, plus the decompressor's fixed state.
fn justified(input: &[u8]) -> usize {
    let expansion = if input.starts_with(&[0x1f, 0x8b]) {
        1032
    } else {
        1
    };
    2 * input.len() * expansion + (256 << 10)
}

/// Parses `input` both ways, as raw and as `.gz` names; checks the memory cap and that a success
/// holds exactly what the header announced.
fn parse_all(input: &[u8]) -> Result<(), TestCaseError> {
    for name in ["mutant", "mutant.gz"] {
        let (images, peak) = peak_during(|| images_from_bytes(input, Path::new(name)));
        prop_assert!(
            peak <= justified(input),
            "images: {} bytes for {} input",
            peak,
            input.len()
        );
        if let Ok(images) = images {
            prop_assert_eq!(images.ncols(), 784);
        }
        let (labels, peak) = peak_during(|| labels_from_bytes(input, Path::new(name)));
        prop_assert!(
            peak <= justified(input),
            "labels: {} bytes for {} input",
            peak,
            input.len()
        );
        if let Ok(labels) = labels {
            prop_assert!(labels.iter().all(|&l| l <= 9));
        }
    }
    Ok(())
}

/// A small valid images file, a labels file, or either with a count from anywhere in `u32`.
fn valid_idx() -> impl Strategy<Value = Vec<u8>> {
    (0u32..4, any::<u32>(), any::<bool>(), any::<bool>()).prop_map(|(n, huge, lie, images)| {
        let count = if lie { huge } else { n };
        if images {
            images_idx(count, 28, 28, &pixels(n as usize))
        } else {
            labels_idx(count, &(0..n as u8).collect::<Vec<_>>())
        }
    })
}

/// Overwrites, then optionally truncates.
fn mutate(mut bytes: Vec<u8>, edits: &[(usize, u8)], cut: Option<usize>) -> Vec<u8> {
    if !bytes.is_empty() {
        for &(at, value) in edits {
            let len = bytes.len();
            bytes[at % len] = value;
        }
    }
    if let Some(cut) = cut {
        bytes.truncate(cut % (bytes.len() + 1));
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(input in proptest::collection::vec(any::<u8>(), 0..3000)) {
        parse_all(&input)?;
    }

    #[test]
    fn mutated_raw_idx_never_panics(
        base in valid_idx(),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..6),
        cut in proptest::option::of(any::<usize>()),
    ) {
        parse_all(&mutate(base, &edits, cut))?;
    }

    /// Mutations before compression (valid gzip of a bad header) and after (a damaged stream).
    #[test]
    fn mutated_gzip_idx_never_panics(
        base in valid_idx(),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4),
        after in any::<bool>(),
        cut in proptest::option::of(any::<usize>()),
    ) {
        let input = if after {
            mutate(gzip(&base), &edits, cut)
        } else {
            gzip(&mutate(base, &edits, cut))
        };
        parse_all(&input)?;
    }
}
