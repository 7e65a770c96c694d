//! Bounded fuzzing of every reader of untrusted input: IDX files raw and gzip, `.npz` parameter files (as
//! `eval`, `predict` and `--resume` read them), checkpoint state files, and PNG and PGM digit images.
//!
//! Each reader gets `FUZZ_ITERATIONS` inputs (default 100,000; the long run is `FUZZ_ITERATIONS=1000000`),
//! made from valid seed files by a deterministic seeded mutator (`FUZZ_SEED` changes the seed): bit flips,
//! byte overwrites, truncations, deletions, insertions, splices from another seed, header fields overwritten
//! with extreme values, and numbers in text headers replaced by extreme ones. For formats with checksums
//! (checkpoint state, PNG chunks) half the mutants are re-sealed with a correct checksum, so that the checks
//! behind the checksum are reached too. For every input:
//!
//! - the reader must not panic (`catch_unwind`; a panic fails the test, naming the case);
//! - no single allocation may exceed `common::fuzzer::BOUND_FACTOR` times the input's length plus `BOUND_FIXED`
//!   (measured by a counting global allocator);
//! - and the mutants must not all be refused, nor all accepted (a fuzzer that reaches nothing proves
//!   nothing).

mod common;

use std::io::Write;
use std::path::Path;

use flate2::{write::GzEncoder, Compression};
use mnist::checkpoint;
use mnist::config::{OptimizerChoice, RunConfig};
use mnist::history::{Evaluation, History};
use mnist::idx::{images_from_bytes, labels_from_bytes};
use mnist::image::digit_from_bytes;
use mnist::model::Model;
use mnist::train::Learner;
use ndarray::Array2;
use nn::io::AnyParams;
use nn::Params;

use common::fuzzer::{fuzz, Field, Seed};

#[global_allocator]
static ALLOCATOR: common::alloc::Counting = common::alloc::Counting;

/// An IDX file of `magic` with `count` and the other header fields, then `body`; every header field is a
/// field to overwrite.
fn idx_seed(header: &[u32], body: impl Iterator<Item = u8>) -> Seed {
    let mut bytes: Vec<u8> = header.iter().flat_map(|v| v.to_be_bytes()).collect();
    bytes.extend(body);
    let fields = (0..header.len())
        .map(|k| Field {
            at: 4 * k,
            width: 4,
            big_endian: true,
        })
        .collect();
    Seed { bytes, fields }
}

/// IDX seeds: images files of 0-3 images and labels files of 0-5 labels.
fn idx_seeds() -> Vec<Seed> {
    let images = [0u32, 1, 3].map(|n| {
        idx_seed(
            &[0x803, n, 28, 28],
            (0..n as usize * 784).map(|i| (i * 7 % 256) as u8),
        )
    });
    let labels = [0u32, 2, 5].map(|n| idx_seed(&[0x801, n], (0..n as u8).map(|l| l % 10)));
    images.into_iter().chain(labels).collect()
}

/// Reads `input` as an images file and as a labels file named `name`; whether either accepted it.
fn read_idx(input: &[u8], name: &str) -> bool {
    let path = Path::new(name);
    let images = images_from_bytes(input, path).map(|images| assert_eq!(images.ncols(), 784));
    let labels =
        labels_from_bytes(input, path).map(|labels| assert!(labels.iter().all(|&l| l <= 9)));
    images.is_ok() || labels.is_ok()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

#[test]
fn fuzz_idx_raw() {
    fuzz(
        "idx raw",
        &idx_seeds(),
        |_, bytes| bytes,
        |input| read_idx(input, "mutant"),
    );
}

/// Half the mutants are edits of the raw file, compressed (a valid stream of a bad file); half are edits of
/// the compressed file (a damaged stream), with the gzip header's flags, time and trailer as fields.
#[test]
fn fuzz_idx_gzip() {
    let raw = idx_seeds();
    let mut seeds: Vec<Seed> = raw
        .iter()
        .map(|s| {
            let bytes = gzip(&s.bytes);
            let len = bytes.len();
            let fields = vec![
                Field {
                    at: 3,
                    width: 1,
                    big_endian: false,
                },
                Field {
                    at: 4,
                    width: 4,
                    big_endian: false,
                },
                Field {
                    at: len - 8,
                    width: 4,
                    big_endian: false,
                },
                Field {
                    at: len - 4,
                    width: 4,
                    big_endian: false,
                },
            ];
            Seed { bytes, fields }
        })
        .collect();
    let compressed = seeds.len();
    seeds.extend(raw);
    fuzz(
        "idx gzip",
        &seeds,
        |rng, bytes| {
            if bytes.starts_with(&[0x1f, 0x8b]) || rng.below(compressed * 2) == 0 {
                bytes
            } else {
                gzip(&bytes)
            }
        },
        |input| read_idx(input, "mutant.gz"),
    );
}

/// The fields of a zip archive: sizes, name lengths and offsets in its local and central headers and its
/// end record, and each `.npy` header's length.
fn zip_fields(bytes: &[u8]) -> Vec<Field> {
    let le = |at, width| Field {
        at,
        width,
        big_endian: false,
    };
    let mut fields = Vec::new();
    for i in 0..bytes.len().saturating_sub(4) {
        match &bytes[i..i + 4] {
            b"PK\x03\x04" => {
                fields.extend([le(i + 18, 4), le(i + 22, 4), le(i + 26, 2), le(i + 28, 2)])
            }
            b"PK\x01\x02" => fields.extend([
                le(i + 20, 4),
                le(i + 24, 4),
                le(i + 28, 2),
                le(i + 30, 2),
                le(i + 42, 4),
            ]),
            b"PK\x05\x06" => {
                fields.extend([le(i + 8, 2), le(i + 10, 2), le(i + 12, 4), le(i + 16, 4)])
            }
            b"\x93NUM" => fields.push(le(i + 8, 2)),
            _ => {}
        }
    }
    fields
}

/// A 784-2-10 net as a checkpoint would save it, with `optimizer`'s state after two steps.
fn checkpoint_params<T: mnist::model::Element>(optimizer: OptimizerChoice, dir: &Path) -> Vec<u8> {
    let config = fuzz_config(optimizer);
    let mut model = Model::<T>::new(&config);
    let x = Array2::from_shape_fn((2, 784), |(i, j)| T::lit(((i + j) % 5) as f64 / 5.0));
    for _ in 0..2 {
        model.step(x.clone().into(), &[3, 7]);
    }
    let path = dir.join("seed.npz");
    model.save_checkpoint(&path).unwrap();
    std::fs::read(path).unwrap()
}

fn fuzz_config(optimizer: OptimizerChoice) -> RunConfig {
    RunConfig {
        hidden_size: 2,
        optimizer,
        iterations: 100,
        eval_every: 10,
        ..RunConfig::default()
    }
}

/// Parameters files read three ways: as `eval`/`predict` read them (either dtype), and as `--resume` reads
/// a checkpoint's (an Adam and an SGD run).
#[test]
fn fuzz_npz() {
    let dir = tempfile::tempdir().unwrap();
    let files = [
        checkpoint_params::<f32>(OptimizerChoice::Adam, dir.path()),
        checkpoint_params::<f64>(OptimizerChoice::Sgd, dir.path()),
        {
            let params: Params<f32> = [("a", ndarray::arr1(&[1.0f32, 2.0]).into_dyn())]
                .into_iter()
                .collect();
            params.save_npz(dir.path().join("small.npz")).unwrap();
            std::fs::read(dir.path().join("small.npz")).unwrap()
        },
    ];
    let seeds: Vec<Seed> = files
        .into_iter()
        .map(|bytes| Seed {
            fields: zip_fields(&bytes),
            bytes,
        })
        .collect();
    let path = Path::new("mutant.npz");
    let adam = fuzz_config(OptimizerChoice::Adam);
    let sgd = fuzz_config(OptimizerChoice::Sgd);
    fuzz(
        "npz",
        &seeds,
        |_, bytes| bytes,
        |input| {
            let any = AnyParams::from_npz_bytes(input, path).is_ok_and(|params| match params {
                AnyParams::F32(p) => Model::for_inference(p, path).is_ok(),
                AnyParams::F64(p) => Model::for_inference(p, path).is_ok(),
            });
            let resumed_f32 = Params::<f32>::from_npz_bytes(input, path)
                .is_ok_and(|p| Model::<f32>::resume(&adam, p, path).is_ok());
            let resumed_f64 = Params::<f64>::from_npz_bytes(input, path)
                .is_ok_and(|p| Model::<f64>::resume(&sgd, p, path).is_ok());
            any || resumed_f32 || resumed_f64
        },
    );
}

/// `state.json` files of short runs (one with a diverged loss). Half the mutants are of the state inside the
/// file, re-sealed with its correct checksum, to reach the checks of every field.
#[test]
fn fuzz_checkpoint_state() {
    let dir = tempfile::tempdir().unwrap();
    let mut seeds = Vec::new();
    for (steps, diverged) in [(0usize, false), (25, false), (30, true)] {
        let config = fuzz_config(OptimizerChoice::Momentum);
        let mut losses: Vec<f64> = (0..steps).map(|k| 2.3 / (k + 1) as f64).collect();
        if diverged {
            losses[12..].iter_mut().for_each(|l| *l = f64::INFINITY);
            losses[20] = f64::NAN;
        }
        let evaluations = (1..=steps / 10)
            .map(|e| Evaluation {
                step: 10 * e,
                epoch: e,
                train_acc: 0.5,
                test_acc: 0.25,
            })
            .collect();
        let history = History {
            losses,
            evaluations,
        };
        let out = dir.path().join(format!("run{steps}"));
        checkpoint::save(&out, &config, &history, |p| {
            std::fs::write(p, b"params").map_err(|e| e.to_string())
        })
        .unwrap();
        let bytes = std::fs::read(checkpoint::checkpoint_dir(&out).join("state.json")).unwrap();
        seeds.push(Seed {
            bytes,
            fields: Vec::new(),
        });
    }
    let path = Path::new("state.json");
    fuzz(
        "checkpoint state",
        &seeds,
        |rng, bytes| {
            if rng.below(2) == 0 {
                reseal_state(&bytes).unwrap_or(bytes)
            } else {
                bytes
            }
        },
        |input| checkpoint::state_from_bytes(input, path).is_ok(),
    );
}

/// The file re-sealed with the right checksum for its `state` text (`None` if the file no longer has the
/// shape `…,"state":<state>}` followed by a newline).
fn reseal_state(bytes: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(bytes).ok()?;
    let key = "\"state\":";
    let state = text
        .get(text.find(key)? + key.len()..)?
        .strip_suffix("}\n")?;
    Some(common::sealed_state(state))
}

/// PNG seeds of every colour type and depth the reader normalises, and one 28x29 image, with their chunks'
/// lengths and IHDR's fields.
fn png_seeds() -> Vec<Seed> {
    use png::{BitDepth, ColorType};
    let kinds = [
        (ColorType::Grayscale, BitDepth::Eight, 28),
        (ColorType::Grayscale, BitDepth::Sixteen, 28),
        (ColorType::Grayscale, BitDepth::Four, 28),
        (ColorType::Rgb, BitDepth::Eight, 28),
        (ColorType::Rgba, BitDepth::Sixteen, 28),
        (ColorType::GrayscaleAlpha, BitDepth::Eight, 29),
    ];
    kinds
        .into_iter()
        .map(|(color, depth, height)| {
            let mut bytes = Vec::new();
            let mut encoder = png::Encoder::new(&mut bytes, 28, height);
            encoder.set_color(color);
            encoder.set_depth(depth);
            let bits = color.samples() * depth as usize;
            let row = (28 * bits).div_ceil(8);
            let data: Vec<u8> = (0..row * height as usize)
                .map(|i| (i * 13 % 256) as u8)
                .collect();
            let mut writer = encoder.write_header().unwrap();
            writer.write_image_data(&data).unwrap();
            writer.finish().unwrap();
            let fields = png_fields(&bytes);
            Seed { bytes, fields }
        })
        .collect()
}

fn png_fields(bytes: &[u8]) -> Vec<Field> {
    let be = |at, width| Field {
        at,
        width,
        big_endian: true,
    };
    let mut fields = vec![be(16, 4), be(20, 4), be(24, 1), be(25, 1), be(28, 1)];
    let mut at = 8;
    while at + 8 <= bytes.len() {
        fields.push(be(at, 4));
        let len = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        at += 12 + len;
    }
    fields
}

/// The PNG with every chunk's CRC recomputed (as far as its chunk structure still holds).
fn reseal_png(mut bytes: Vec<u8>) -> Vec<u8> {
    let mut at = 8;
    while at + 12 <= bytes.len() {
        let len = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        let Some(end) = (at + 8).checked_add(len).filter(|&e| e + 4 <= bytes.len()) else {
            break;
        };
        let mut crc = flate2::Crc::new();
        crc.update(&bytes[at + 4..end]);
        bytes[end..end + 4].copy_from_slice(&crc.sum().to_be_bytes());
        at = end + 4;
    }
    bytes
}

#[test]
fn fuzz_png() {
    let path = Path::new("mutant.png");
    fuzz(
        "png",
        &png_seeds(),
        |rng, bytes| {
            if rng.below(2) == 0 {
                reseal_png(bytes)
            } else {
                bytes
            }
        },
        |input| digit_from_bytes(input, path, false).is_ok(),
    );
}

#[test]
fn fuzz_pgm() {
    let pixels: Vec<u8> = (0..784).map(|i| (i * 11 % 256) as u8).collect();
    let mut binary = b"P5\n# a digit\n28 28\n255\n".to_vec();
    binary.extend(&pixels);
    let mut scaled = b"P5 28 28 15\n".to_vec();
    scaled.extend(pixels.iter().map(|p| p % 16));
    let ascii = format!(
        "P2\n28 28\n255\n{}\n",
        pixels
            .iter()
            .map(u8::to_string)
            .collect::<Vec<_>>()
            .join(" ")
    )
    .into_bytes();
    let seeds: Vec<Seed> = [binary, scaled, ascii]
        .into_iter()
        .map(|bytes| Seed {
            bytes,
            fields: Vec::new(),
        })
        .collect();
    let path = Path::new("mutant.pgm");
    fuzz(
        "pgm",
        &seeds,
        |_, bytes| bytes,
        |input| digit_from_bytes(input, path, true).is_ok(),
    );
}
