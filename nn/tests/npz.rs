//! Parameters saved as `.npz` come back exactly, in NumPy's own format, written atomically (the bad files
//! are in `npz_errors.rs`).

mod common;

use common::npz_files::{entry_bytes, f64_bytes, npy, temp_dir, write_zip};
use common::python::{array_hex, python_with, run};

use std::fs;

use ndarray::{arr1, Array2, ArrayD, IxDyn, ShapeBuilder};
use nn::{NpzError, Params, TwoLayerNet};
use zip::CompressionMethod;

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

/// NumPy reads the saved file with the same names, dtypes, shapes and exact values. Without NumPy it skips,
/// but fails under `CI` (see `common::python`).
#[test]
fn numpy_reads_the_saved_file_exactly() {
    let Some(python) = python_with(&["numpy"]) else {
        return;
    };
    let dir = temp_dir();
    let net = TwoLayerNet::<f32>::new_seeded(6, 4, 3, 0.1, 5);
    let path = dir.path().join("for_numpy.npz");
    net.params.save_npz(&path).unwrap();
    let f64s: Params<f64> = [
        (
            "scalar",
            ArrayD::from_elem(IxDyn(&[]), -std::f64::consts::E),
        ),
        ("empty", ArrayD::zeros(IxDyn(&[0, 3]))),
        (
            "special",
            arr1(&[f64::INFINITY, -0.0, f64::MIN_POSITIVE, f64::NAN]).into_dyn(),
        ),
    ]
    .into_iter()
    .collect();
    let path64 = dir.path().join("for_numpy64.npz");
    f64s.save_npz(&path64).unwrap();
    let script = "import sys, numpy\n\
                  for f in sys.argv[1:]:\n    p = numpy.load(f)\n    for k in p.files:\n        a = p[k]\n        \
                  print(k, a.dtype.str, list(a.shape), a.astype(a.dtype.newbyteorder('<')).tobytes('C').hex())";
    let got = run(&python, script, &[path.as_os_str(), path64.as_os_str()]);
    let mut expected: Vec<String> = net
        .params
        .iter()
        .map(|(k, a)| {
            format!(
                "{k} <f4 {:?} {}",
                a.shape(),
                array_hex(a, |v| v.to_le_bytes().to_vec())
            )
        })
        .collect();
    expected.extend(f64s.iter().map(|(k, a)| {
        format!(
            "{k} <f8 {:?} {}",
            a.shape(),
            array_hex(a, |v| v.to_le_bytes().to_vec())
        )
    }));
    assert_eq!(got.lines().collect::<Vec<_>>(), expected);
}

/// A file NumPy writes (`numpy.savez` and `numpy.savez_compressed`, C and Fortran order) loads with exact
/// values. Without NumPy it skips, but fails under `CI`.
#[test]
fn a_file_numpy_writes_loads_exactly() {
    let Some(python) = python_with(&["numpy"]) else {
        return;
    };
    let dir = temp_dir();
    let (stored, compressed) = (
        dir.path().join("savez.npz"),
        dir.path().join("compressed.npz"),
    );
    let script = "import sys, numpy\n\
                  rng = numpy.random.default_rng(7)\n\
                  a = {'W1': rng.standard_normal((5, 3)), 'b1': rng.standard_normal(3), \
                       'F': numpy.asfortranarray(rng.standard_normal((2, 4))), 's': numpy.array(numpy.pi)}\n\
                  numpy.savez(sys.argv[1], **a)\n\
                  numpy.savez_compressed(sys.argv[2], **a)\n\
                  for k, v in a.items():\n    print(k, list(v.shape), v.astype('<f8').tobytes('C').hex())";
    let printed = run(
        &python,
        script,
        &[stored.as_os_str(), compressed.as_os_str()],
    );
    for path in [&stored, &compressed] {
        let loaded = Params::<f64>::load_npz(path).unwrap();
        let got: Vec<String> = loaded
            .iter()
            .map(|(k, a)| {
                format!(
                    "{k} {:?} {}",
                    a.shape(),
                    array_hex(a, |v| v.to_le_bytes().to_vec())
                )
            })
            .collect();
        assert_eq!(
            got,
            printed.lines().collect::<Vec<_>>(),
            "{}",
            path.display()
        );
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
