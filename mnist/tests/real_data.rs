//! Tests on the real MNIST files in `MNIST_DIR` (see `mnist::mnist_dir_for_tests` for the skip
//! policy). The expected sums and counts were computed once with Python's gzip and struct modules,
//! independently of this crate.

use std::io::Write;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Instant;

use flate2::{read::GzDecoder, write::GzEncoder, Compression};
use mnist::download::{verify_file, Verified};
use mnist::{mnist_dir_for_tests, Mnist, MnistFile, Split};

/// The real data, loaded once for all tests of this binary; `None` when skipping.
fn real() -> Option<&'static (PathBuf, Mnist)> {
    static DATA: OnceLock<Option<(PathBuf, Mnist)>> = OnceLock::new();
    DATA.get_or_init(|| {
        let dir = mnist_dir_for_tests()?;
        let start = Instant::now();
        let data = Mnist::load(&dir).expect("MNIST_DIR holds loadable MNIST");
        eprintln!("loaded MNIST in {:?}", start.elapsed());
        Some((dir, data))
    })
    .as_ref()
}

fn histogram(labels: &[u8]) -> [usize; 10] {
    let mut counts = [0; 10];
    labels.iter().for_each(|&l| counts[usize::from(l)] += 1);
    counts
}

fn total(split: &Split) -> u64 {
    split.images_u8().iter().map(|&p| u64::from(p)).sum()
}

#[test]
fn counts_and_labels() {
    let Some((_, data)) = real() else { return };
    assert_eq!((data.train.len(), data.test.len()), (60_000, 10_000));
    assert_eq!(data.train.images_u8().dim(), (60_000, 784));
    assert_eq!(data.test.images_u8().dim(), (10_000, 784));
    assert_eq!(data.train.labels()[..5], [5, 0, 4, 1, 9]);
    assert_eq!(data.test.labels()[..5], [7, 2, 1, 0, 4]);
    assert_eq!(data.train.labels()[59_995..], [8, 3, 5, 6, 8]);
    assert_eq!(data.test.labels()[9_995..], [2, 3, 4, 5, 6]);
    assert_eq!(
        histogram(data.train.labels()),
        [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    );
    assert_eq!(
        histogram(data.test.labels()),
        [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    );
}

#[test]
fn pixel_sums_and_range() {
    let Some((_, data)) = real() else { return };
    assert_eq!(total(&data.train), 1_567_298_545);
    assert_eq!(total(&data.test), 264_923_200);
    let nonzero = data.train.images_u8().iter().filter(|&&p| p > 0).count();
    assert_eq!(nonzero, 8_994_156);
    for split in [&data.train, &data.test] {
        let images = split.images_u8();
        assert_eq!(images.iter().min(), Some(&0));
        assert_eq!(images.iter().max(), Some(&255));
    }
    let first_sum = |s: &Split| {
        s.images_u8()
            .row(0)
            .iter()
            .map(|&p| u32::from(p))
            .sum::<u32>()
    };
    assert_eq!(first_sum(&data.train), 27_525);
    assert_eq!(first_sum(&data.test), 18_454);
}

#[test]
fn image_28x28_rows() {
    let Some((_, data)) = real() else { return };
    let five = data.train.image_28x28(0);
    assert_eq!(five.dim(), (28, 28));
    assert_eq!(five.row(14).to_vec()[13..19], [81, 240, 253, 253, 119, 25]);
    let seven = data.test.image_28x28(0);
    assert_eq!(seven.row(14).to_vec()[16..20], [59, 249, 254, 62]);
    assert_eq!(
        five.row(14),
        data.train
            .images_u8()
            .row(0)
            .slice(ndarray::s![14 * 28..15 * 28])
    );
}

#[test]
fn float_batches_and_one_hot() {
    let Some((_, data)) = real() else { return };
    let train = &data.train;
    let x = train.batch::<f32>(&[2, 0]);
    assert_eq!(x.dim(), (2, 784));
    assert!(x.iter().all(|&v| (0.0..=1.0).contains(&v)));
    assert!((x.row(1).sum() * 255.0 - 27_525.0).abs() < 0.05);
    assert_eq!(x.row(1)[14 * 28 + 14], 240.0 / 255.0);
    let x64 = train.batch::<f64>(&[0]);
    assert_eq!(x64[[0, 14 * 28 + 13]], 81.0 / 255.0);
    assert_eq!(x64.row(0), train.images_float::<f64>(0..1).row(0));
    let chunk = data.test.images_float::<f32>(9_998..10_000);
    assert_eq!(chunk, data.test.batch::<f32>(&[9_998, 9_999]));
    assert!((chunk.row(1).sum() * 255.0 - 41_833.0).abs() < 0.05);

    let y = train.one_hot::<f32>(&[0, 1, 2, 3, 4]);
    assert_eq!(y.dim(), (5, 10));
    for (row, digit) in y.rows().into_iter().zip([5, 0, 4, 1, 9]) {
        assert_eq!(row.sum(), 1.0);
        assert_eq!(row[digit], 1.0);
    }
}

#[test]
fn real_files_pass_verification() {
    let Some((dir, _)) = real() else { return };
    for file in MnistFile::ALL {
        let path = dir.join(file.gz_name());
        assert_eq!(
            verify_file(file, &path).unwrap(),
            Verified::GzSha256,
            "{file:?}"
        );
    }
    // The hardcoded SHA-256s are the ones the data set ships in SHA256SUMS.
    let sums = std::fs::read_to_string(dir.join("SHA256SUMS")).expect("SHA256SUMS beside the data");
    for file in MnistFile::ALL {
        assert!(
            sums.contains(&format!("{}  {}", file.gz_sha256(), file.gz_name())),
            "{file:?}"
        );
    }
}

/// A re-compressed copy (as some mirrors serve) is recognised by its content's MD5; a copy whose
/// content differs by one byte is not.
#[test]
fn recompressed_copy_passes_by_content_md5() {
    let Some((dir, _)) = real() else { return };
    let file = MnistFile::TestLabels;
    let raw = decompress(&std::fs::read(dir.join(file.gz_name())).unwrap());
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join(file.gz_name());

    std::fs::write(&path, compress(&raw, Compression::fast())).unwrap();
    assert_eq!(verify_file(file, &path).unwrap(), Verified::ContentMd5);

    let mut changed = raw;
    changed[100] ^= 1;
    std::fs::write(&path, compress(&changed, Compression::fast())).unwrap();
    let err = verify_file(file, &path).unwrap_err();
    assert!(matches!(err, mnist::DataError::Checksum { .. }), "{err}");
    assert!(err.to_string().contains(file.raw_md5()), "{err}");
}

/// Uncompressed files load the same as the gzip ones.
#[test]
fn uncompressed_files_load_the_same() {
    let Some((dir, data)) = real() else { return };
    let tmp = tempfile::tempdir().unwrap();
    for file in [MnistFile::TestImages, MnistFile::TestLabels] {
        let raw = decompress(&std::fs::read(dir.join(file.gz_name())).unwrap());
        std::fs::write(tmp.path().join(file.name()), raw).unwrap();
    }
    for file in [MnistFile::TrainImages, MnistFile::TrainLabels] {
        std::os::unix::fs::symlink(dir.join(file.gz_name()), tmp.path().join(file.gz_name()))
            .unwrap();
    }
    let again = Mnist::load(tmp.path()).unwrap();
    assert_eq!(again.test, data.test);
    assert_eq!(again.train.labels(), data.train.labels());
}

fn decompress(gz: &[u8]) -> Vec<u8> {
    let mut raw = Vec::new();
    std::io::Read::read_to_end(&mut GzDecoder::new(gz), &mut raw).unwrap();
    raw
}

fn compress(raw: &[u8], level: Compression) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), level);
    encoder.write_all(raw).unwrap();
    encoder.finish().unwrap()
}
