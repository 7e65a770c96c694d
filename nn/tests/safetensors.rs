//! Parameters saved as `.safetensors` come back bit for bit, in the format's exact layout, written atomically;
//! files laid out as other writers lay them out load; Python's `safetensors` reads the saved files and writes
//! files that load (the bad files are in `safetensors_errors.rs`).

#[path = "../../tests/support/file_size_limit.rs"]
mod file_size_limit;

mod common;

use common::npz_files::temp_dir;
use common::python::{array_hex, python_with, run};
use common::safetensors_files::file;

use std::fs;
use std::path::Path;

use ndarray::{arr1, Array2, ArrayD, IxDyn};
use nn::io::AnyParams;
use nn::{NpzError, Params, TwoLayerNet};

/// Every element's bits, so that NaN payloads and -0.0 count.
fn bits<T: Copy + Into<f64>>(params: &Params<T>) -> Vec<(String, Vec<usize>, Vec<u64>)> {
    params
        .iter()
        .map(|(k, a)| {
            let bits = a.iter().map(|&v| Into::<f64>::into(v).to_bits()).collect();
            (k.to_owned(), a.shape().to_vec(), bits)
        })
        .collect()
}

fn f64_params() -> Params<f64> {
    [
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
        // Two arrays without data share their offsets; the order between them is the header's.
        ("empty_z", ArrayD::zeros(IxDyn(&[0, 3]))),
        ("empty_a", ArrayD::zeros(IxDyn(&[4, 0]))),
        (
            "special",
            arr1(&[
                f64::INFINITY,
                -0.0,
                f64::MIN_POSITIVE / 8.0,
                f64::MAX,
                f64::from_bits(0x7ff8_0000_dead_beef),
            ])
            .into_dyn(),
        ),
    ]
    .into_iter()
    .collect()
}

#[test]
fn f32_and_f64_parameters_round_trip_bit_for_bit_in_order() {
    let dir = temp_dir();
    let net = TwoLayerNet::<f32>::new_seeded(7, 5, 3, 0.1, 1);
    let path = dir.path().join("net32.safetensors");
    net.params.save_safetensors(&path).unwrap();
    let loaded = Params::<f32>::load_safetensors(&path).unwrap();
    assert_eq!(loaded, net.params);
    assert_eq!(loaded.names().collect::<Vec<_>>(), ["W1", "b1", "W2", "b2"]);
    assert_eq!(
        AnyParams::load_safetensors(&path).unwrap(),
        AnyParams::F32(net.params)
    );

    let params = f64_params();
    let path = dir.path().join("net64.safetensors");
    params.save_safetensors(&path).unwrap();
    let loaded = Params::<f64>::load_safetensors(&path).unwrap();
    assert_eq!(bits(&loaded), bits(&params));
    let bytes = fs::read(&path).unwrap();
    match AnyParams::from_safetensors_bytes(&bytes, &path).unwrap() {
        AnyParams::F64(any) => assert_eq!(bits(&any), bits(&params)),
        other => panic!("{other:?}"),
    }

    let empty = dir.path().join("empty.safetensors");
    Params::<f32>::new().save_safetensors(&empty).unwrap();
    assert_eq!(fs::read(&empty).unwrap(), b"\x08\0\0\0\0\0\0\0{}      ");
    assert!(Params::<f64>::load_safetensors(&empty).unwrap().is_empty());
}

/// The exact bytes: the header length, the header (in the parameters' order, padded with spaces to a multiple
/// of 8 as the reference writer pads it), then each array in logical C order, little-endian.
#[test]
fn the_file_is_laid_out_as_the_format_says() {
    let dir = temp_dir();
    let transposed = Array2::from_shape_vec((2, 3), vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0])
        .unwrap()
        .reversed_axes();
    let params: Params<f32> = [
        ("t", transposed.clone().into_dyn()),
        ("a", arr1(&[-1.5f32]).into_dyn()),
    ]
    .into_iter()
    .collect();
    let path = dir.path().join("t.safetensors");
    params.save_safetensors(&path).unwrap();
    let header = r#"{"t":{"dtype":"F32","shape":[3,2],"data_offsets":[0,24]},"a":{"dtype":"F32","shape":[1],"data_offsets":[24,28]}}"#;
    let padded = format!(
        "{header}{}",
        " ".repeat(header.len().next_multiple_of(8) - header.len())
    );
    let data: Vec<u8> = [1.0f32, 4.0, 2.0, 5.0, 3.0, 6.0, -1.5]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    assert_eq!(fs::read(&path).unwrap(), file(&padded, &data));
    let loaded = Params::<f32>::load_safetensors(&path).unwrap();
    assert_eq!(loaded["t"], transposed.into_dyn());
    assert_eq!(loaded.names().collect::<Vec<_>>(), ["t", "a"]);
}

/// Files from other writers: any header order (arrays are read in the order of their data), an unpadded
/// header, and `__metadata__`, which is ignored.
#[test]
fn files_laid_out_as_other_writers_do_load() {
    let data: Vec<u8> = [1.0f64, 2.0, 3.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let header = r#"{"late":{"dtype":"F64","shape":[1],"data_offsets":[16,24]},"__metadata__":{"format":"pt"},"early":{"dtype":"F64","shape":[2],"data_offsets":[0,16]}}"#;
    let loaded = Params::<f64>::from_safetensors_bytes(&file(header, &data), "x").unwrap();
    assert_eq!(loaded.names().collect::<Vec<_>>(), ["early", "late"]);
    assert_eq!(loaded["early"], arr1(&[1.0, 2.0]).into_dyn());
    assert_eq!(loaded["late"], arr1(&[3.0]).into_dyn());
}

#[test]
fn saving_replaces_an_existing_file_and_leaves_no_temporary_files() {
    let dir = temp_dir();
    let path = dir.path().join("params.safetensors");
    fs::write(&path, b"an older file").unwrap();
    let params = f64_params();
    params.save_safetensors(&path).unwrap();
    assert_eq!(
        bits(&Params::<f64>::load_safetensors(&path).unwrap()),
        bits(&params)
    );
    assert_eq!(names_in(dir.path()), ["params.safetensors"]);
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_failed_save_leaves_the_old_file_and_the_directory_as_they_were() {
    let dir = temp_dir();
    // The target is a non-empty directory, so the final rename fails after everything was written.
    let target = dir.path().join("taken");
    fs::create_dir(&target).unwrap();
    fs::write(target.join("keep"), b"x").unwrap();
    let params = TwoLayerNet::<f64>::new_seeded(3, 2, 2, 0.1, 1).params;
    let err = params.save_safetensors(&target).unwrap_err();
    assert!(matches!(err, NpzError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("taken"), "{err}");
    assert_eq!(
        names_in(dir.path()),
        ["taken"],
        "no temporary file is left behind"
    );
    assert_eq!(fs::read(target.join("keep")).unwrap(), b"x");

    // A name the format reserves is refused before anything is written.
    let old = dir.path().join("old.safetensors");
    fs::write(&old, b"old").unwrap();
    let mut reserved = params.clone();
    reserved.insert("__metadata__", ArrayD::zeros(IxDyn(&[1])));
    assert_eq!(
        reserved.save_safetensors(&old).unwrap_err().to_string(),
        format!(
            "{}: array '__metadata__' cannot be saved in a .safetensors file: the format reserves that name \
             for its metadata",
            old.display()
        )
    );
    assert_eq!(fs::read(&old).unwrap(), b"old");
    assert_eq!(names_in(dir.path()), ["old.safetensors", "taken"]);

    let missing_dir = dir.path().join("no/such/dir/params.safetensors");
    assert!(matches!(
        params.save_safetensors(&missing_dir),
        Err(NpzError::Io { .. })
    ));
}

/// Where the child process of the next test saves.
const CHILD_TARGET: &str = "NN_SAFETENSORS_CHILD_TARGET";

/// The child of `a_write_that_fails_midway_leaves_the_old_file`: a no-op unless that test runs it.
#[test]
fn child_saves_under_a_file_size_limit() {
    let Some(target) = std::env::var_os(CHILD_TARGET) else {
        return;
    };
    let big = TwoLayerNet::<f64>::new_seeded(300, 100, 10, 0.1, 1).params; // about 250 KB
    let err = big.save_safetensors(&target).unwrap_err();
    assert!(
        matches!(&err, NpzError::Io { source, .. } if source.raw_os_error() == Some(libc::EFBIG)),
        "{err:?}"
    );
}

/// A disk that fills up while the file is written (here: a 64 KiB file size limit on a child process) fails
/// the save with the old file still there, whole, and no temporary file left.
#[cfg(unix)]
#[test]
fn a_write_that_fails_midway_leaves_the_old_file() {
    let dir = temp_dir();
    let target = dir.path().join("params.safetensors");
    let old = TwoLayerNet::<f64>::new_seeded(3, 2, 2, 0.1, 1).params;
    old.save_safetensors(&target).unwrap();
    let before = fs::read(&target).unwrap();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap());
    child
        .args([
            "--exact",
            "child_saves_under_a_file_size_limit",
            "--test-threads=1",
        ])
        .env(CHILD_TARGET, &target);
    file_size_limit::limit_file_size(&mut child, 64 << 10);
    let out = child.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{stdout}"
    );
    assert_eq!(fs::read(&target).unwrap(), before);
    assert_eq!(names_in(dir.path()), ["params.safetensors"]);
}

#[test]
fn save_and_load_into_pick_the_format_by_extension() {
    let dir = temp_dir();
    let params = TwoLayerNet::<f32>::new_seeded(3, 2, 2, 0.1, 1).params;
    for name in ["p.npz", "p.safetensors", "P.SafeTensors"] {
        let path = dir.path().join(name);
        params.save(&path).unwrap();
        let mut fresh = TwoLayerNet::<f32>::new_seeded(3, 2, 2, 0.1, 2).params;
        fresh.load_into(&path).unwrap();
        assert_eq!(fresh, params, "{name}");
    }
    assert!(Params::<f32>::load_npz(dir.path().join("p.npz")).is_ok());
    assert!(Params::<f32>::load_safetensors(dir.path().join("p.safetensors")).is_ok());
    for name in ["p.bin", "p", "p.npz.tmp"] {
        let path = dir.path().join(name);
        let expected = format!(
            "{}: unknown parameters file format: the name must end in .npz or .safetensors",
            path.display()
        );
        assert_eq!(params.save(&path).unwrap_err().to_string(), expected);
        let mut fresh = params.clone();
        let err = fresh.load_into(&path).unwrap_err();
        assert!(
            matches!(&err, NpzError::UnknownFormat { path: p } if p == &path),
            "{err:?}"
        );
    }
    assert_eq!(
        names_in(dir.path()),
        ["P.SafeTensors", "p.npz", "p.safetensors"]
    );
}

/// Python's `safetensors.numpy.load_file` reads the saved files with the same names, dtypes, shapes and
/// bytes. Without the modules it skips, but fails under `CI` (see `common::python`).
#[test]
fn python_safetensors_reads_the_saved_file_exactly() {
    let Some(python) = python_with(&["numpy", "safetensors.numpy"]) else {
        return;
    };
    let dir = temp_dir();
    let f32s = TwoLayerNet::<f32>::new_seeded(6, 4, 3, 0.1, 5).params;
    let f64s = f64_params();
    let (p32, p64) = (
        dir.path().join("f32.safetensors"),
        dir.path().join("f64.safetensors"),
    );
    f32s.save_safetensors(&p32).unwrap();
    f64s.save_safetensors(&p64).unwrap();
    let script = "import sys\nfrom safetensors.numpy import load_file\n\
                  for f in sys.argv[1:]:\n    for k, a in sorted(load_file(f).items()):\n        \
                  print(k, a.dtype.str, list(a.shape), a.astype(a.dtype.newbyteorder('<')).tobytes('C').hex())";
    let got = run(&python, script, &[p32.as_os_str(), p64.as_os_str()]);
    let mut expected: Vec<String> = Vec::new();
    let mut lines = |dtype: &str, mut lines: Vec<(String, String)>| {
        lines.sort();
        expected.extend(
            lines
                .into_iter()
                .map(|(k, rest)| format!("{k} {dtype} {rest}")),
        );
    };
    lines(
        "<f4",
        f32s.iter()
            .map(|(k, a)| {
                (
                    k.to_owned(),
                    format!(
                        "{:?} {}",
                        a.shape(),
                        array_hex(a, |v| v.to_le_bytes().to_vec())
                    ),
                )
            })
            .collect(),
    );
    lines(
        "<f8",
        f64s.iter()
            .map(|(k, a)| {
                (
                    k.to_owned(),
                    format!(
                        "{:?} {}",
                        a.shape(),
                        array_hex(a, |v| v.to_le_bytes().to_vec())
                    ),
                )
            })
            .collect(),
    );
    assert_eq!(got.lines().collect::<Vec<_>>(), expected);
}

/// A file written by Python's `safetensors.numpy.save_file` (with metadata, a dotted name, a 0-d and an empty
/// array, NaN and -0.0) loads with exact values. Without the modules it skips, but fails under `CI`.
#[test]
fn a_file_python_safetensors_writes_loads_exactly() {
    let Some(python) = python_with(&["numpy", "safetensors.numpy"]) else {
        return;
    };
    let dir = temp_dir();
    let (p32, p64) = (
        dir.path().join("py32.safetensors"),
        dir.path().join("py64.safetensors"),
    );
    let script = "import sys, numpy\nfrom safetensors.numpy import save_file\n\
                  rng = numpy.random.default_rng(3)\n\
                  for f, t in zip(sys.argv[1:], ['<f4', '<f8']):\n    \
                      a = {'layer.0.weight': rng.standard_normal((4, 3)).astype(t), 'bias': rng.standard_normal(3).astype(t),\n         \
                           's': numpy.array(numpy.pi, dtype=t), 'e': numpy.zeros((0, 2), dtype=t),\n         \
                           'x': numpy.array([numpy.nan, -0.0, numpy.inf, 1e-40], dtype=t)}\n    \
                      save_file(a, f, metadata={'format': 'np'})\n    \
                      for k, v in sorted(a.items()):\n        print(k, list(v.shape), v.tobytes('C').hex())";
    let printed = run(&python, script, &[p32.as_os_str(), p64.as_os_str()]);
    let printed: Vec<&str> = printed.lines().collect();
    let describe = |k: &str, shape: &[usize], hex: String| format!("{k} {shape:?} {hex}");
    let mut got: Vec<String> = Vec::new();
    let f32s = Params::<f32>::load_safetensors(&p32).unwrap();
    let mut sorted32: Vec<_> = f32s
        .iter()
        .map(|(k, a)| describe(k, a.shape(), array_hex(a, |v| v.to_le_bytes().to_vec())))
        .collect();
    sorted32.sort();
    got.extend(sorted32);
    let AnyParams::F64(f64s) = AnyParams::load_safetensors(&p64).unwrap() else {
        panic!("an F64 file reads as f64");
    };
    let mut sorted64: Vec<_> = f64s
        .iter()
        .map(|(k, a)| describe(k, a.shape(), array_hex(a, |v| v.to_le_bytes().to_vec())))
        .collect();
    sorted64.sort();
    got.extend(sorted64);
    assert_eq!(got, printed);
    assert_eq!(f32s.len(), 5);
}
