//! Every kind of bad `.npz` parameters file is an error that names the file and what is wrong, and loading
//! changes nothing when it fails.

mod common;

use common::npz_files::{f64_bytes, load_err, npy, temp_dir, write_zip};

use std::fs;

use ndarray::{arr1, ArrayD, IxDyn};
use nn::{NpzError, Params, TwoLayerNet};
use zip::CompressionMethod;

#[test]
fn a_missing_file_is_an_io_error_naming_it() {
    let dir = temp_dir();
    let path = dir.path().join("absent.npz");
    match load_err(&path) {
        NpzError::Io { path: p, source } => {
            assert_eq!(p, path);
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("{other:?}"),
    }
    assert!(load_err(&path).to_string().contains("absent.npz"));
}

#[test]
fn a_file_that_is_not_a_zip_archive_is_rejected() {
    let dir = temp_dir();
    let path = dir.path().join("text.npz");
    fs::write(&path, "W1,b1\n1,2\n").unwrap();
    let err = load_err(&path);
    assert!(matches!(err, NpzError::NotZip { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with(&format!("{}: not a .npz (zip) archive", path.display())),
        "{err}"
    );
}

#[test]
fn a_truncated_archive_is_rejected() {
    let dir = temp_dir();
    let path = dir.path().join("cut.npz");
    TwoLayerNet::<f64>::new_seeded(20, 10, 3, 0.1, 1)
        .params
        .save_npz(&path)
        .unwrap();
    let bytes = fs::read(&path).unwrap();
    for keep in [bytes.len() / 2, bytes.len() - 10, 30] {
        fs::write(&path, &bytes[..keep]).unwrap();
        let err = load_err(&path);
        assert!(
            matches!(err, NpzError::NotZip { .. }),
            "{keep} bytes: {err:?}"
        );
    }
}

#[test]
fn a_damaged_array_fails_its_checksum() {
    let dir = temp_dir();
    let path = dir.path().join("damaged.npz");
    let params: Params<f64> = [("w", arr1(&[1.0, 2.0, 3.0]).into_dyn())]
        .into_iter()
        .collect();
    params.save_npz(&path).unwrap();
    let mut bytes = fs::read(&path).unwrap();
    let data = bytes
        .windows(8)
        .position(|w| w == 2.0f64.to_le_bytes())
        .unwrap();
    bytes[data + 7] ^= 0x40;
    fs::write(&path, &bytes).unwrap();
    let err = load_err(&path);
    assert!(
        matches!(&err, NpzError::Entry { entry, .. } if entry == "w.npy"),
        "{err:?}"
    );
}

#[test]
fn corrupt_npy_headers_are_rejected_with_the_reason() {
    let dir = temp_dir();
    let data = f64_bytes(&[1.0, 2.0]);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "magic",
            [b"\x93NUMPZ\x01\x00".as_slice(), &[0, 0]].concat(),
            "no \\x93NUMPY magic",
        ),
        (
            "version",
            [b"\x93NUMPY\x04\x00".as_slice(), &[0, 0]].concat(),
            "unsupported format version 4.0",
        ),
        (
            "short",
            b"\x93NUMPY\x01\x00\x50\x00{'descr'".to_vec(),
            "truncated",
        ),
        (
            "not_a_dict",
            npy("['<f8', False, (2,)]", &data),
            "expected '{'",
        ),
        (
            "missing_key",
            npy("{'descr': '<f8', 'shape': (2,), }", &data),
            "it needs 'descr', 'fortran_order' and 'shape'",
        ),
        (
            "unknown_key",
            npy(
                "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), 'x': True}",
                &data,
            ),
            "unknown key 'x'",
        ),
        (
            "twice",
            npy(
                "{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (2,), }",
                &data,
            ),
            "'descr' appears twice",
        ),
        (
            "bad_shape",
            npy(
                "{'descr': '<f8', 'fortran_order': False, 'shape': (2, -1), }",
                &data,
            ),
            "expected a dimension",
        ),
        (
            "wrong_kind",
            npy(
                "{'descr': '<f8', 'fortran_order': 'no', 'shape': (2,), }",
                &data,
            ),
            "'fortran_order' has a value of the wrong kind",
        ),
        (
            "huge",
            npy(
                "{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999, 99999999999), }",
                &data,
            ),
            "is too large",
        ),
        (
            // No elements, but the other size overflows: refused, not a panic.
            "empty_but_huge",
            npy(
                "{'descr': '<f8', 'fortran_order': False, 'shape': (0, 18446744073709551615), }",
                &[],
            ),
            "is too large",
        ),
        (
            "trailing",
            npy(
                "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), } junk",
                &data,
            ),
            "unexpected text after the dictionary",
        ),
    ];
    for (name, bytes, reason) in cases {
        let path = write_zip(
            dir.path(),
            &format!("{name}.npz"),
            &[(&format!("{name}.npy"), bytes)],
            CompressionMethod::Stored,
        );
        let err = load_err(&path);
        assert!(
            matches!(&err, NpzError::Header { name: n, .. } if n == name),
            "{name}: {err:?}"
        );
        let message = err.to_string();
        assert!(
            message.contains(&format!("array '{name}' has a corrupt .npy header"))
                && message.contains(reason),
            "{name}: {message}"
        );
    }
}

#[test]
fn data_shorter_or_longer_than_the_header_announces_is_rejected() {
    let dir = temp_dir();
    let dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }";
    for (name, values, found) in [
        ("short", &[1.0, 2.0][..], 16),
        ("long", &[1.0, 2.0, 3.0, 4.0][..], 25),
    ] {
        let path = write_zip(
            dir.path(),
            &format!("{name}.npz"),
            &[("a.npy", npy(dict, &f64_bytes(values)))],
            CompressionMethod::Stored,
        );
        match load_err(&path) {
            NpzError::Data {
                name,
                found: f,
                expected,
                ..
            } => assert_eq!((name.as_str(), f, expected), ("a", found, 24)),
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn an_entry_that_is_not_an_npy_array_is_rejected() {
    let dir = temp_dir();
    let path = write_zip(
        dir.path(),
        "readme.npz",
        &[("README.txt", b"hello".to_vec())],
        CompressionMethod::Stored,
    );
    let err = load_err(&path);
    assert!(
        matches!(&err, NpzError::NotNpy { entry, .. } if entry == "README.txt"),
        "{err:?}"
    );
}

#[test]
fn another_dtype_is_rejected_naming_both() {
    let dir = temp_dir();
    let path = dir.path().join("f64.npz");
    TwoLayerNet::<f64>::new_seeded(3, 2, 2, 0.1, 1)
        .params
        .save_npz(&path)
        .unwrap();
    let err = Params::<f32>::load_npz(&path).unwrap_err();
    assert!(
        matches!(&err, NpzError::Dtype { name, found, expected: "<f4", .. } if name == "W1" && found == "<f8"),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .ends_with("array 'W1' has dtype '<f8', expected '<f4'"),
        "{err}"
    );

    let ints = write_zip(
        dir.path(),
        "ints.npz",
        &[(
            "i.npy",
            npy(
                "{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }",
                &[0; 8],
            ),
        )],
        CompressionMethod::Stored,
    );
    assert!(matches!(load_err(&ints), NpzError::Dtype { found, .. } if found == "<i8"));
}

#[test]
fn loading_into_parameters_checks_names_and_shapes_and_changes_nothing_on_error() {
    let dir = temp_dir();
    let small = TwoLayerNet::<f64>::new_seeded(3, 2, 2, 0.1, 1).params;
    let mut target = TwoLayerNet::<f64>::new_seeded(3, 4, 2, 0.1, 2).params;
    let before = target.clone();

    let path = dir.path().join("small.npz");
    small.save_npz(&path).unwrap();
    let err = target.load_npz_into(&path).unwrap_err();
    assert!(
        matches!(&err, NpzError::Shape { name, found, expected, .. } if name == "W1" && found == &[3, 2] && expected == &[3, 4]),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .ends_with("array 'W1' has shape [3, 2], expected [3, 4]"),
        "{err}"
    );

    let mut partial = small.clone();
    let _ = partial.insert("b2", ArrayD::zeros(IxDyn(&[2])));
    let partial: Params<f64> = partial.into_iter().filter(|(n, _)| n != "W2").collect();
    let path = dir.path().join("partial.npz");
    partial.save_npz(&path).unwrap();
    let mut same_layout = small.clone();
    let err = same_layout.load_npz_into(&path).unwrap_err();
    assert!(
        matches!(&err, NpzError::Missing { name, .. } if name == "W2"),
        "{err:?}"
    );

    let mut extra = small.clone();
    extra.insert("W3", ArrayD::zeros(IxDyn(&[1])));
    let path = dir.path().join("extra.npz");
    extra.save_npz(&path).unwrap();
    let err = same_layout.load_npz_into(&path).unwrap_err();
    assert!(
        matches!(&err, NpzError::Unexpected { name, .. } if name == "W3"),
        "{err:?}"
    );

    assert_eq!(target, before);
    assert_eq!(same_layout, small);
}

/// `AnyParams` reads a file in the dtype it has, f32 or f64, exactly; a file mixing them is refused naming the
/// array that differs.
#[test]
fn either_dtype_is_read_in_its_own_type() {
    use nn::io::AnyParams;
    let dir = temp_dir();
    let path = dir.path().join("p.npz");
    let f64s = TwoLayerNet::<f64>::new_seeded(3, 2, 2, 0.1, 1).params;
    f64s.save_npz(&path).unwrap();
    assert_eq!(AnyParams::load_npz(&path).unwrap(), AnyParams::F64(f64s));
    let f32s = TwoLayerNet::<f32>::new_seeded(3, 2, 2, 0.1, 1).params;
    f32s.save_npz(&path).unwrap();
    let bytes = fs::read(&path).unwrap();
    assert_eq!(
        AnyParams::from_npz_bytes(&bytes, &path).unwrap(),
        AnyParams::F32(f32s)
    );
    let mixed = write_zip(
        dir.path(),
        "mixed.npz",
        &[
            (
                "a.npy",
                npy(
                    "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }",
                    &[0; 4],
                ),
            ),
            (
                "b.npy",
                npy(
                    "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }",
                    &[0; 8],
                ),
            ),
        ],
        CompressionMethod::Stored,
    );
    let err = AnyParams::load_npz(&mixed).unwrap_err();
    assert!(
        err.to_string()
            .ends_with("array 'b' has dtype '<f8', expected '<f4'"),
        "{err}"
    );
}

/// A header length field claiming 4 GB is refused before anything that size is allocated (it used to be
/// allocated).
#[test]
fn a_huge_header_length_is_refused() {
    let dir = temp_dir();
    let mut npy2 = b"\x93NUMPY\x02\x00".to_vec();
    npy2.extend_from_slice(&u32::MAX.to_le_bytes());
    npy2.extend_from_slice(b"{'descr': '<f8'");
    let path = write_zip(
        dir.path(),
        "huge.npz",
        &[("a.npy", npy2)],
        CompressionMethod::Stored,
    );
    let err = load_err(&path);
    assert!(
        err.to_string()
            .ends_with("array 'a' has a corrupt .npy header: a header of 4294967295 bytes is longer than the 1048576 this reader accepts"),
        "{err}"
    );
}

/// A directory given as a parameters file is said to be one (it used to be "Invalid argument (os error 22)").
#[test]
fn a_directory_is_not_a_parameters_file() {
    let dir = temp_dir();
    let err = load_err(dir.path());
    assert_eq!(
        err.to_string(),
        format!("{}: is a directory, not a .npz file", dir.path().display())
    );
}
