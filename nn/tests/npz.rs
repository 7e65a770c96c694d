//! Parameters saved as `.npz` come back exactly, in NumPy's own format, written atomically; every kind of bad
//! file is an error that names the file and what is wrong.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use ndarray::{arr1, Array2, ArrayD, IxDyn, ShapeBuilder};
use nn::{NpzError, Params, TwoLayerNet};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary directory")
}

/// An archive at `dir/name` with these raw entries.
fn write_zip(
    dir: &Path,
    name: &str,
    entries: &[(&str, Vec<u8>)],
    method: CompressionMethod,
) -> PathBuf {
    let path = dir.join(name);
    let mut zip = ZipWriter::new(fs::File::create(&path).unwrap());
    for (entry, bytes) in entries {
        zip.start_file(
            *entry,
            SimpleFileOptions::default().compression_method(method),
        )
        .unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap();
    path
}

/// A `.npy` file with header dictionary `dict` (padded as NumPy does) and `data`.
fn npy(dict: &str, data: &[u8]) -> Vec<u8> {
    let padding = (64 - (10 + dict.len() + 1) % 64) % 64;
    let header = format!("{dict}{}\n", " ".repeat(padding));
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

fn f64_bytes(values: &[f64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn entry_bytes(path: &Path, entry: &str) -> Vec<u8> {
    let mut archive = ZipArchive::new(fs::File::open(path).unwrap()).unwrap();
    let mut file = archive.by_name(entry).unwrap();
    assert_eq!(
        file.compression(),
        CompressionMethod::Stored,
        "numpy.savez stores entries"
    );
    let mut bytes = vec![];
    std::io::Read::read_to_end(&mut file, &mut bytes).unwrap();
    bytes
}

fn load_err(path: &Path) -> NpzError {
    Params::<f64>::load_npz(path).expect_err("loading should fail")
}

#[test]
fn f32_and_f64_parameters_round_trip_exactly_in_order() {
    let dir = temp_dir();
    let net = TwoLayerNet::<f32>::new_seeded(7, 5, 3, 0.1, 1);
    let path = dir.path().join("net32.npz");
    net.params.save_npz(&path).unwrap();
    let loaded = Params::<f32>::load_npz(&path).unwrap();
    assert_eq!(loaded, net.params);
    assert_eq!(loaded.names().collect::<Vec<_>>(), ["W1", "b1", "W2", "b2"]);

    let mut params64: Params<f64> = [
        (
            "scalar",
            ArrayD::from_elem(IxDyn(&[]), std::f64::consts::PI),
        ),
        (
            "cube",
            ArrayD::from_shape_fn(IxDyn(&[2, 3, 4]), |i| {
                (i[0] * 100 + i[1] * 10 + i[2]) as f64 / 7.0
            }),
        ),
        ("empty", ArrayD::zeros(IxDyn(&[0, 3]))),
    ]
    .into_iter()
    .collect();
    params64.insert(
        "special",
        arr1(&[f64::INFINITY, -0.0, f64::MIN_POSITIVE, f64::MAX]).into_dyn(),
    );
    let path = dir.path().join("net64.npz");
    params64.save_npz(&path).unwrap();
    assert_eq!(Params::<f64>::load_npz(&path).unwrap(), params64);
}

#[test]
fn non_standard_layout_arrays_are_saved_in_logical_c_order() {
    let dir = temp_dir();
    let transposed = Array2::from_shape_vec((2, 3), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
        .unwrap()
        .reversed_axes();
    let params: Params<f64> = [("t", transposed.clone().into_dyn())].into_iter().collect();
    let path = dir.path().join("t.npz");
    params.save_npz(&path).unwrap();
    let bytes = entry_bytes(&path, "t.npy");
    assert_eq!(&bytes[128..], f64_bytes(&[1.0, 4.0, 2.0, 5.0, 3.0, 6.0]));
    assert_eq!(
        Params::<f64>::load_npz(&path).unwrap()["t"],
        transposed.into_dyn()
    );
}

#[test]
fn headers_are_byte_for_byte_what_numpy_save_writes() {
    // Captured from numpy 2.4: `np.save(f, np.zeros(shape, dtype))`, the first 128 bytes.
    let numpy = |dict: &str| {
        let mut expected = b"\x93NUMPY\x01\x00v\x00".to_vec();
        expected.extend_from_slice(dict.as_bytes());
        expected.resize(127, b' ');
        expected.push(b'\n');
        expected
    };
    let dir = temp_dir();
    let params: Params<f64> = [
        ("m", ArrayD::zeros(IxDyn(&[2, 3]))),
        ("s", ArrayD::zeros(IxDyn(&[]))),
    ]
    .into_iter()
    .collect();
    let path = dir.path().join("h64.npz");
    params.save_npz(&path).unwrap();
    let m = entry_bytes(&path, "m.npy");
    assert_eq!(
        m[..128],
        numpy("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }")
    );
    assert_eq!(m.len(), 128 + 6 * 8);
    assert_eq!(
        entry_bytes(&path, "s.npy")[..128],
        numpy("{'descr': '<f8', 'fortran_order': False, 'shape': (), }")
    );

    let net = TwoLayerNet::<f32>::new_seeded(784, 50, 10, 0.01, 0);
    let path = dir.path().join("h32.npz");
    net.params.save_npz(&path).unwrap();
    let w1 = entry_bytes(&path, "W1.npy");
    assert_eq!(
        w1[..128],
        numpy("{'descr': '<f4', 'fortran_order': False, 'shape': (784, 50), }")
    );
    assert_eq!(
        entry_bytes(&path, "b1.npy")[..128],
        numpy("{'descr': '<f4', 'fortran_order': False, 'shape': (50,), }")
    );
    let first = f32::from_le_bytes(w1[128..132].try_into().unwrap());
    assert_eq!(first, net.params["W1"][[0, 0]]);
}

#[test]
fn numpy_reads_the_saved_file_when_it_is_installed() {
    let has_numpy = Command::new("python3")
        .args(["-c", "import numpy"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_numpy {
        eprintln!("skipped: python3 with numpy is not available");
        return;
    }
    let dir = temp_dir();
    let net = TwoLayerNet::<f32>::new_seeded(6, 4, 3, 0.1, 5);
    let path = dir.path().join("for_numpy.npz");
    net.params.save_npz(&path).unwrap();
    let script = "import sys, numpy\n\
                  p = numpy.load(sys.argv[1])\n\
                  for k in p.files:\n    a = p[k]\n    print(k, a.dtype.str, list(a.shape), repr(float(a.astype('f8').sum())))";
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected: Vec<String> = net
        .params
        .iter()
        .map(|(k, a)| {
            format!(
                "{k} <f4 {:?} {:?}",
                a.shape(),
                a.iter().map(|&v| f64::from(v)).sum::<f64>()
            )
        })
        .collect();
    let got: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(got.len(), expected.len());
    for (g, e) in got.iter().zip(&expected) {
        let (g_head, g_sum) = g.rsplit_once(' ').unwrap();
        let (e_head, e_sum) = e.rsplit_once(' ').unwrap();
        assert_eq!(g_head, e_head);
        let (g_sum, e_sum): (f64, f64) = (g_sum.parse().unwrap(), e_sum.parse().unwrap());
        assert!((g_sum - e_sum).abs() < 1e-9, "{g} vs {e}");
    }
}

#[test]
fn files_written_the_ways_numpy_can_write_them_load() {
    let dir = temp_dir();
    let values = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    // Fortran order: the same 2×3 matrix [[1, 2, 3], [4, 5, 6]] stored column by column.
    let fortran = npy(
        "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }",
        &f64_bytes(&[1.0, 4.0, 2.0, 5.0, 3.0, 6.0]),
    );
    let c_order = npy(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }",
        &f64_bytes(&values),
    );
    // Version 2.0 (a 4-byte header length), double quotes, no trailing comma, and no space padding.
    let mut v2 = b"\x93NUMPY\x02\x00".to_vec();
    let dict = "{\"descr\":\"<f8\",\"fortran_order\":False,\"shape\":(6,)}\n";
    v2.extend_from_slice(&(dict.len() as u32).to_le_bytes());
    v2.extend_from_slice(dict.as_bytes());
    v2.extend_from_slice(&f64_bytes(&values));
    let path = write_zip(
        dir.path(),
        "numpy_ways.npz",
        &[("fortran.npy", fortran), ("c.npy", c_order), ("v2.npy", v2)],
        CompressionMethod::Deflated, // numpy.savez_compressed
    );
    let loaded = Params::<f64>::load_npz(&path).unwrap();
    let matrix = Array2::from_shape_vec((2, 3), values.to_vec())
        .unwrap()
        .into_dyn();
    assert_eq!(loaded["fortran"], matrix);
    assert!(loaded["fortran"].is_standard_layout());
    assert_eq!(loaded["c"], matrix);
    assert_eq!(loaded["v2"], arr1(&values).into_dyn());
    let column_major =
        Array2::from_shape_vec((2, 3).f(), vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]).unwrap();
    assert_eq!(column_major.into_dyn(), matrix);
}

#[test]
fn loading_into_a_net_replaces_its_parameters() {
    let dir = temp_dir();
    let path = dir.path().join("trained.npz");
    let trained = TwoLayerNet::<f32>::new_seeded(5, 4, 3, 0.1, 1);
    trained.params.save_npz(&path).unwrap();
    let mut fresh = TwoLayerNet::<f32>::new_seeded(5, 4, 3, 0.1, 2);
    assert_ne!(fresh.params, trained.params);
    fresh.params.load_npz_into(&path).unwrap();
    assert_eq!(fresh.params, trained.params);
}

#[test]
fn saving_replaces_an_existing_file_and_leaves_no_temporary_files() {
    let dir = temp_dir();
    let path = dir.path().join("params.npz");
    fs::write(&path, b"an older file").unwrap();
    let params = TwoLayerNet::<f64>::new_seeded(3, 2, 2, 0.1, 1).params;
    params.save_npz(&path).unwrap();
    assert_eq!(Params::<f64>::load_npz(&path).unwrap(), params);
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["params.npz"]);
}

#[test]
fn a_failed_save_leaves_the_target_and_the_directory_as_they_were() {
    let dir = temp_dir();
    // The target is a non-empty directory, so the final rename fails after everything was written.
    let target = dir.path().join("taken");
    fs::create_dir(&target).unwrap();
    fs::write(target.join("keep"), b"x").unwrap();
    let params = TwoLayerNet::<f64>::new_seeded(3, 2, 2, 0.1, 1).params;
    let err = params.save_npz(&target).unwrap_err();
    assert!(matches!(err, NpzError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("taken"), "{err}");
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["taken"], "no temporary file is left behind");
    assert_eq!(fs::read(target.join("keep")).unwrap(), b"x");

    let missing_dir = dir.path().join("no/such/dir/params.npz");
    assert!(matches!(
        params.save_npz(&missing_dir),
        Err(NpzError::Io { .. })
    ));
}

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
