//! Every kind of bad `.safetensors` parameters file is an error that names the file and, when one array is at
//! fault, the array; loading changes nothing when it fails; and no corruption of a file makes loading panic.

mod common;

use common::npz_files::temp_dir;
use common::safetensors_files::{file, refusal};

use std::fs;
use std::path::Path;
use std::sync::LazyLock;

use ndarray::{ArrayD, IxDyn};
use nn::io::AnyParams;
use nn::{NpzError, Params, TwoLayerNet};
use proptest::prelude::*;

#[test]
fn loading_into_parameters_checks_names_shapes_and_dtype_and_changes_nothing_on_error() {
    let dir = temp_dir();
    let small = TwoLayerNet::<f64>::new_seeded(3, 2, 2, 0.1, 1).params;
    let mut target = TwoLayerNet::<f64>::new_seeded(3, 4, 2, 0.1, 2).params;
    let before = target.clone();
    let path = dir.path().join("small.safetensors");
    small.save_safetensors(&path).unwrap();
    let message = target.load_safetensors_into(&path).unwrap_err().to_string();
    assert_eq!(
        message,
        format!(
            "{}: array 'W1' has shape [3, 2], expected [3, 4]",
            path.display()
        )
    );

    let partial: Params<f64> = small
        .clone()
        .into_iter()
        .filter(|(n, _)| n != "W2")
        .collect();
    let path = dir.path().join("partial.safetensors");
    partial.save_safetensors(&path).unwrap();
    let mut same_layout = small.clone();
    let message = same_layout
        .load_safetensors_into(&path)
        .unwrap_err()
        .to_string();
    assert_eq!(
        message,
        format!(
            r#"{}: array 'W2' is missing (the file has ["W1", "b1", "b2"])"#,
            path.display()
        )
    );

    let mut extra = small.clone();
    extra.insert("W3", ArrayD::zeros(IxDyn(&[1])));
    let path = dir.path().join("extra.safetensors");
    extra.save_safetensors(&path).unwrap();
    let message = same_layout
        .load_safetensors_into(&path)
        .unwrap_err()
        .to_string();
    assert_eq!(
        message,
        format!("{}: unexpected array 'W3'", path.display())
    );

    let path = dir.path().join("f32.safetensors");
    TwoLayerNet::<f32>::new_seeded(3, 2, 2, 0.1, 1)
        .params
        .save_safetensors(&path)
        .unwrap();
    let message = same_layout
        .load_safetensors_into(&path)
        .unwrap_err()
        .to_string();
    assert_eq!(
        message,
        format!(
            "{}: array 'W1' has dtype 'F32', expected 'F64'",
            path.display()
        )
    );

    assert_eq!(target, before);
    assert_eq!(same_layout, small);
}

#[test]
fn other_dtypes_are_refused_by_name() {
    let i64s = file(
        r#"{"steps":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}"#,
        &[0; 8],
    );
    assert_eq!(
        refusal(&i64s),
        "bad.safetensors: array 'steps' has dtype 'I64', expected 'F64'"
    );
    let bf16 = file(
        r#"{"w":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}"#,
        &[0; 4],
    );
    let err = AnyParams::from_safetensors_bytes(&bf16, "bf16.safetensors").unwrap_err();
    assert_eq!(
        err.to_string(),
        "bf16.safetensors: array 'w' has dtype 'BF16', expected 'F32 or F64'"
    );
    assert!(matches!(err, NpzError::Dtype { .. }), "{err:?}");
    let mixed = file(
        r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F64","shape":[1],"data_offsets":[4,12]}}"#,
        &[0; 12],
    );
    let err = AnyParams::from_safetensors_bytes(&mixed, "mixed").unwrap_err();
    assert_eq!(
        err.to_string(),
        "mixed: array 'b' has dtype 'F64', expected 'F32'"
    );
}

#[test]
fn truncated_files_are_refused_saying_so() {
    let params = TwoLayerNet::<f64>::new_seeded(4, 3, 2, 0.1, 1).params;
    let dir = temp_dir();
    let path = dir.path().join("whole.safetensors");
    params.save_safetensors(&path).unwrap();
    let bytes = fs::read(&path).unwrap();
    let header_len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let data_len = bytes.len() - 8 - header_len;
    assert_eq!(
        refusal(&bytes[..5]),
        "bad.safetensors: not a valid .safetensors file: it has 5 bytes, too few for the 8-byte header \
         length it must start with"
    );
    assert_eq!(
        refusal(&bytes[..40]),
        format!(
            "bad.safetensors: not a valid .safetensors file: its header length {header_len} runs past the \
             end of the file (40 bytes): the file is truncated or not a .safetensors file"
        )
    );
    // Cut inside the last array, b2 (2 values).
    let cut = bytes.len() - 3;
    assert_eq!(
        refusal(&bytes[..cut]),
        format!(
            "bad.safetensors: array 'b2' has a corrupt .safetensors header entry: its data offsets [{}, {}] \
             run past the end of the {} bytes of data after the header (the file is truncated, or the offsets \
             are wrong)",
            data_len - 16,
            data_len,
            data_len - 3
        )
    );
    let mut longer = bytes.clone();
    longer.push(0);
    assert_eq!(
        refusal(&longer),
        format!(
            "bad.safetensors: not a valid .safetensors file: its arrays' data ends at byte {data_len} after \
             the header, but the file has {} bytes there: bytes that no array owns",
            data_len + 1
        )
    );
}

#[test]
fn malformed_headers_are_refused_with_the_reason() {
    let not_valid = "bad.safetensors: not a valid .safetensors file: ";
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (file("W1,b1\n1,2", &[]), "the header is not valid: expected value at line 1 column 1"),
        (file("[1, 2]", &[]), "the header is not valid: invalid type: sequence, expected"),
        (
            [&2u64.to_le_bytes()[..], b"\xff\xfe"].concat(),
            "the header is not UTF-8 text",
        ),
        (
            file(r#"{"w":{"dtype":"F64","shape":[1]}}"#, &[0; 8]),
            "missing field `data_offsets`",
        ),
        (
            file(r#"{"w":{"dtype":"Q8","shape":[1],"data_offsets":[0,1]}}"#, &[0]),
            "unknown variant `Q8`",
        ),
        (
            file(r#"{"w":{"dtype":"F64","shape":[-1],"data_offsets":[0,8]}}"#, &[0; 8]),
            "the header is not valid: invalid value: integer `-1`",
        ),
        (
            file(r#"{"__metadata__":{"n":1}}"#, &[]),
            "the header is not valid: invalid type: integer `1`, expected a string",
        ),
        (
            [&u64::MAX.to_le_bytes()[..], b"{}"].concat(),
            "its header length 18446744073709551615 is more than the 100000000 bytes a reader accepts",
        ),
        (
            [&100_000_000u64.to_le_bytes()[..], b"{}"].concat(),
            "its header length 100000000 runs past the end of the file (10 bytes)",
        ),
    ];
    for (bytes, reason) in cases {
        let message = refusal(&bytes);
        assert!(
            message.starts_with(not_valid) && message.contains(reason),
            "{reason}: {message}"
        );
    }
}

#[test]
fn bad_offsets_and_shapes_are_refused_naming_the_array() {
    let entry = |name: &str| {
        format!("bad.safetensors: array '{name}' has a corrupt .safetensors header entry: ")
    };
    let two =
        |a: &str, b: &str| format!(r#"{{"a":{{"dtype":"F64",{a}}},"b":{{"dtype":"F64",{b}}}}}"#);
    let cases: Vec<(Vec<u8>, &str, &str)> = vec![
        (
            file(&two(r#""shape":[2],"data_offsets":[0,16]"#, r#""shape":[1],"data_offsets":[8,16]"#), &[0; 16]),
            "b",
            "its data offsets [8, 16] overlap the previous array's, which ends at 16",
        ),
        (
            file(&two(r#""shape":[1],"data_offsets":[0,8]"#, r#""shape":[1],"data_offsets":[16,24]"#), &[0; 24]),
            "b",
            "its data offsets [16, 24] leave bytes 8..16 to no array (the previous one ends at 8)",
        ),
        (
            file(&two(r#""shape":[1],"data_offsets":[8,0]"#, r#""shape":[1],"data_offsets":[0,8]"#), &[0; 8]),
            "a",
            "its data offsets [8, 0] run backwards",
        ),
        (
            file(&two(r#""shape":[1],"data_offsets":[0,8]"#, r#""shape":[2],"data_offsets":[8,24]"#), &[0; 16]),
            "b",
            "its data offsets [8, 24] run past the end of the 16 bytes of data after the header (the file is \
             truncated, or the offsets are wrong)",
        ),
        (
            file(r#"{"a":{"dtype":"F64","shape":[2,2],"data_offsets":[0,24]}}"#, &[0; 24]),
            "a",
            "its data offsets [0, 24] hold 24 bytes, but F64 values of shape [2, 2] need 32",
        ),
        (
            file(r#"{"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]},"a":{"dtype":"F64","shape":[1],"data_offsets":[8,16]}}"#, &[0; 16]),
            "a",
            "it is listed twice in the header",
        ),
        (
            file(r#"{"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}}"#, &[0; 8]),
            "a",
            "its shape [4294967296, 4294967296] is too large",
        ),
        (
            file(r#"{"a":{"dtype":"F64","shape":[0,18446744073709551615],"data_offsets":[0,0]}}"#, &[]),
            "a",
            "its shape [0, 18446744073709551615] is too large for an array",
        ),
    ];
    for (bytes, name, reason) in cases {
        assert_eq!(refusal(&bytes), format!("{}{reason}", entry(name)));
        let err = Params::<f64>::from_safetensors_bytes(&bytes, "x").unwrap_err();
        assert!(
            matches!(&err, NpzError::SafetensorsEntry { name: n, .. } if n == name),
            "{err:?}"
        );
    }
}

#[test]
fn a_missing_file_or_a_directory_is_an_io_error_naming_it() {
    let dir = temp_dir();
    let path = dir.path().join("absent.safetensors");
    match Params::<f32>::load_safetensors(&path).unwrap_err() {
        NpzError::Io { path: p, source } => {
            assert_eq!(p, path);
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        AnyParams::load_safetensors(dir.path())
            .unwrap_err()
            .to_string(),
        format!(
            "{}: is a directory, not a .safetensors file",
            dir.path().display()
        )
    );
}

/// The seed of the corruptions: small parameters and their file.
static VALID: LazyLock<(Params<f32>, Vec<u8>)> = LazyLock::new(|| {
    let params = TwoLayerNet::<f32>::new_seeded(3, 2, 2, 0.1, 1).params;
    let dir = temp_dir();
    let path = dir.path().join("p.safetensors");
    params.save_safetensors(&path).unwrap();
    let bytes = fs::read(&path).unwrap();
    (params, bytes)
});

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Random changes — mostly a digit of the header replaced (which keeps it JSON but moves offsets and
    /// shapes), else any byte replaced or the header length changed — then maybe a truncation or an extension, never make loading
    /// panic; what loads is consistent with itself.
    #[test]
    fn corrupted_files_never_panic(
        changes in prop::collection::vec((0u8..8, any::<usize>(), any::<u8>()), 1..5),
        cut in prop::option::weighted(0.2, any::<usize>()),
        extra in prop::collection::vec(any::<u8>(), 0..3),
    ) {
        let (params, valid) = &*VALID;
        let mut bytes = valid.clone();
        let header_end = 8 + u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        let digits: Vec<usize> = (8..header_end).filter(|&k| bytes[k].is_ascii_digit()).collect();
        for (kind, at, byte) in changes {
            match kind {
                0..=4 => bytes[digits[at % digits.len()]] = b'0' + byte % 10,
                5 | 6 => {
                    let k = at % bytes.len();
                    bytes[k] = byte;
                }
                _ => bytes[at % 8] = byte,
            }
        }
        if let Some(cut) = cut {
            bytes.truncate(cut % (bytes.len() + 1));
        }
        bytes.extend(extra);
        let loaded = Params::<f32>::from_safetensors_bytes(&bytes, "fuzz");
        if let Ok(loaded) = &loaded {
            let data: usize = loaded.iter().map(|(_, a)| a.len() * 4).sum();
            prop_assert!(data <= bytes.len());
        }
        let _ = AnyParams::from_safetensors_bytes(&bytes, "fuzz");
        let mut target = params.clone();
        let _ = target.replace_from(loaded.unwrap_or_default(), Path::new("fuzz"));
    }

    /// Headers made of random entries — any dtype, shapes with huge or zero axes, offsets anywhere — never
    /// make loading panic.
    #[test]
    fn random_headers_never_panic(
        entries in prop::collection::vec((
            prop::sample::select(vec!["F32", "F64", "I64", "BF16", "F4", "BOOL", "U8"]),
            prop::collection::vec(prop_oneof![0usize..4, Just(usize::MAX), Just(1usize << 32)], 0..4),
            0usize..40,
            0usize..40,
        ), 0..4),
        data_len in 0usize..48,
    ) {
        let body: Vec<String> = entries
            .iter()
            .enumerate()
            .map(|(k, (dtype, shape, s, e))| {
                format!(r#""t{}":{{"dtype":"{dtype}","shape":{shape:?},"data_offsets":[{s},{e}]}}"#, k % 3)
            })
            .collect();
        let bytes = file(&format!("{{{}}}", body.join(",")), &vec![0x3f; data_len]);
        let _ = Params::<f32>::from_safetensors_bytes(&bytes, "fuzz");
        let _ = Params::<f64>::from_safetensors_bytes(&bytes, "fuzz");
        let _ = AnyParams::from_safetensors_bytes(&bytes, "fuzz");
    }
}
