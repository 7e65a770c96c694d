//! The book's picture of what a convolutional layer learns: the 30 filters (5×5) of SimpleConvNet's first layer
//! before and after training on MNIST. The net is the trainer's (`mnist::model::simple_conv_net`: conv 30×5×5 →
//! ReLU → max-pool 2×2 → Linear 100 → ReLU → Linear 10, weights normal with std 0.01), trained as the book's
//! `train_convnet.py` trains it — Adam with learning rate 0.001, mini-batches of 100 — here for one epoch (600
//! iterations) by default.
//!
//! ```sh
//! cargo run --release --example conv_filters [-- --iterations N --out DIR]
//! cargo run --release --example conv_filters -- --params runs/…/params.npz   # a model `mnist train --model cnn` saved
//! ```
//!
//! Draws `filters.png` and `filters.svg` into `target/examples/conv_filters/` or `--out DIR`: two rows of 30
//! tiles, before and after, each filter scaled from its smallest weight (black) to its largest (white) and
//! magnified. Before training the filters are noise; after, most are smooth blobs and edges. The summary
//! measures that with each filter's *roughness*, the mean squared difference of neighbouring weights over twice
//! the filter's variance: about 1 for independent noise, lower the smoother the pattern.
//!
//! With `--params FILE` (a `.npz` or `.safetensors` file holding `0.weight`, as the trainer's `params.npz` for
//! `--model cnn` does) nothing is trained and MNIST is not needed: the "after" row shows the file's filters and
//! the "before" row a fresh initialisation of the same scale (not that model's own start, which the file does
//! not hold); `--iterations` is then ignored.

mod common;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use common::flags::Spec;
use common::plot::{self, DrawResult, Figure};
use common::training::{self, Training};
use mnist::Mnist;
use ndarray::{s, Array3, ArrayView2, Axis, Ix4};
use nn::io::AnyParams;
use nn::module::ModuleExt;
use nn::optim::Adam;
use nn::Params;
use plotters::coord::Shift;
use plotters::prelude::*;

const SPEC: Spec = Spec {
    example: "conv_filters",
    length: "iterations",
    default_length: 600,
    params: true,
};
/// SimpleConvNet's filters, side, hidden width and initial standard deviation (the book's).
const FILTERS: usize = 30;
const KERNEL: usize = 5;
const HIDDEN: usize = 100;
const INIT_STD: f64 = 0.01;
const BATCH: usize = 100;
const LEARNING_RATE: f32 = 0.001;
/// The seed of the initial weights and of the batches.
const SEED: u64 = 1;

/// A fresh SimpleConvNet.
fn fresh_net() -> nn::module::Sequential<f32> {
    mnist::model::simple_conv_net(FILTERS, KERNEL, HIDDEN, INIT_STD, SEED)
}

/// The first layer's filters (`0.weight`, `[filters, 1, k, k]`) of a model's arrays, as `[filters, k, k]`.
fn first_filters(state: &Params<f32>) -> Result<Array3<f32>, String> {
    let weight = state
        .get("0.weight")
        .ok_or_else(|| format!("no array 0.weight (the arrays are [{}])", state.layout()))?;
    let weight = weight
        .view()
        .into_dimensionality::<Ix4>()
        .ok()
        .filter(|w| w.shape()[1] == 1 && w.shape()[2] == w.shape()[3])
        .ok_or_else(|| {
            format!(
                "0.weight has shape {:?}, not [filters, 1, k, k] of a convolution over gray images",
                weight.shape()
            )
        })?;
    Ok(weight.index_axis(Axis(1), 0).to_owned())
}

/// The first layer's filters in the parameters file at `path` (f32 or f64).
fn filters_from_file(path: &Path) -> Result<Array3<f32>, String> {
    let params = match AnyParams::load(path).map_err(|e| e.to_string())? {
        AnyParams::F32(params) => params,
        AnyParams::F64(params) => {
            let mut single = Params::new();
            for (name, array) in &params {
                single.insert(name, array.mapv(|x| x as f32));
            }
            single
        }
    };
    first_filters(&params).map_err(|e| format!("{}: {e}", path.display()))
}

/// The filters before and after training for `iterations` batches, and the accuracy then on the first
/// `test_count` test images.
fn train(data: &Mnist, iterations: usize, test_count: usize) -> (Array3<f32>, Array3<f32>, f64) {
    let net = fresh_net();
    let before = first_filters(&net.state_dict()).expect("SimpleConvNet's first layer");
    let mut run = Training::new(net, Box::new(Adam::new(LEARNING_RATE)), SEED).on_images();
    for i in 1..=iterations {
        let loss = run.step(&data.train, data.train.len(), BATCH);
        if i % 100 == 0 {
            eprintln!("iteration {i}: loss {loss:.4}");
        }
    }
    let after = first_filters(&run.model.state_dict()).expect("SimpleConvNet's first layer");
    (before, after, run.accuracy(&data.test, test_count))
}

/// The roughness of a square filter: the mean squared difference of horizontally and vertically neighbouring
/// weights over twice the filter's variance (about 1 for independent noise, near 0 for a slowly varying pattern).
fn roughness(filter: ArrayView2<'_, f32>) -> f64 {
    let w = filter.mapv(f64::from);
    let mean = w.mean().unwrap_or(0.0);
    let variance = w.mapv(|v| (v - mean).powi(2)).mean().unwrap_or(0.0);
    let across = &w.slice(s![.., 1..]) - &w.slice(s![.., ..-1]);
    let down = &w.slice(s![1.., ..]) - &w.slice(s![..-1, ..]);
    let squares: f64 = across.iter().chain(down.iter()).map(|d| d * d).sum();
    let pairs = (across.len() + down.len()).max(1) as f64;
    match variance > 0.0 {
        true => squares / pairs / (2.0 * variance),
        false => 0.0,
    }
}

/// Each filter's roughness.
fn roughnesses(filters: &Array3<f32>) -> Vec<f64> {
    filters.outer_iter().map(roughness).collect()
}

/// The median of `values` (not empty).
fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

/// What training did to the filters: the mean |w| and the median roughness of each set, and how many filters
/// are smoother after than before (when the sets have the same number).
struct Summary {
    mean_abs: [f64; 2],
    median_roughness: [f64; 2],
    smoother: Option<usize>,
}

impl Summary {
    fn new(before: &Array3<f32>, after: &Array3<f32>) -> Self {
        let mean_abs = |f: &Array3<f32>| f.mapv(|w| f64::from(w.abs())).mean().unwrap_or(0.0);
        let (rough_before, rough_after) = (roughnesses(before), roughnesses(after));
        let smoother = (rough_before.len() == rough_after.len()).then(|| {
            rough_before
                .iter()
                .zip(&rough_after)
                .filter(|(b, a)| a < b)
                .count()
        });
        Summary {
            mean_abs: [mean_abs(before), mean_abs(after)],
            median_roughness: [median(&rough_before), median(&rough_after)],
            smoother,
        }
    }

    fn print(&self, labels: [&str; 2], filters: usize) {
        println!("{:<8}{:>10}{:>18}", "", "mean |w|", "median roughness");
        for (i, label) in labels.iter().enumerate() {
            println!(
                "{label:<8}{:>10.4}{:>18.3}",
                self.mean_abs[i], self.median_roughness[i]
            );
        }
        if let Some(smoother) = self.smoother {
            println!(
                "{smoother} of {filters} filters are smoother in the \"{}\" row than in the \"{}\" row",
                labels[1], labels[0]
            );
        }
    }
}

/// Pixels per weight in a tile, and the space between tiles.
const MAGNIFY: u32 = 8;
const GAP: u32 = 6;
/// The width of the row labels and the height of the caption.
const LABEL_WIDTH: u32 = 80;
const CAPTION_HEIGHT: u32 = 36;

/// Rows of filters as gray tiles, each row labelled.
struct FilterPicture {
    rows: Vec<(String, Array3<f32>)>,
}

impl FilterPicture {
    /// The number of filters in the widest row and the side of the largest filter.
    fn extent(&self) -> (u32, u32) {
        let count = self
            .rows
            .iter()
            .map(|(_, f)| f.len_of(Axis(0)))
            .max()
            .unwrap_or(0);
        let side = self
            .rows
            .iter()
            .map(|(_, f)| f.len_of(Axis(1)))
            .max()
            .unwrap_or(0);
        (count as u32, side as u32)
    }
}

impl Figure for FilterPicture {
    fn size(&self) -> (u32, u32) {
        let (count, side) = self.extent();
        let tile = side * MAGNIFY + GAP;
        (
            LABEL_WIDTH + count * tile + GAP,
            CAPTION_HEIGHT + self.rows.len() as u32 * tile + GAP,
        )
    }

    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> DrawResult
    where
        DB::ErrorType: 'static,
    {
        area.fill(&WHITE)?;
        let font = ("sans-serif", 18).into_font();
        area.draw(&Text::new(
            "SimpleConvNet's first-layer filters (each scaled from its min, black, to its max, white)",
            (GAP as i32, 8),
            font.clone(),
        ))?;
        let (_, side) = self.extent();
        let tile = (side * MAGNIFY + GAP) as i32;
        for (r, (label, filters)) in self.rows.iter().enumerate() {
            let top = CAPTION_HEIGHT as i32 + r as i32 * tile;
            area.draw(&Text::new(
                label.as_str(),
                (GAP as i32, top + tile / 2 - 12),
                font.clone(),
            ))?;
            for (i, filter) in filters.outer_iter().enumerate() {
                let left = LABEL_WIDTH as i32 + i as i32 * tile;
                let (lo, hi) = filter
                    .iter()
                    .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &w| {
                        (lo.min(w), hi.max(w))
                    });
                let range = if hi > lo { hi - lo } else { 1.0 };
                for ((y, x), &w) in filter.indexed_iter() {
                    let gray = (((w - lo) / range) * 255.0).round().clamp(0.0, 255.0) as u8;
                    let (x0, y0) = (
                        left + (x as u32 * MAGNIFY) as i32,
                        top + (y as u32 * MAGNIFY) as i32,
                    );
                    area.draw(&Rectangle::new(
                        [(x0, y0), (x0 + MAGNIFY as i32, y0 + MAGNIFY as i32)],
                        RGBColor(gray, gray, gray).filled(),
                    ))?;
                }
            }
        }
        Ok(())
    }
}

/// Draws the two rows into `dir/filters.{svg,png}`.
fn picture(
    before: Array3<f32>,
    before_label: &str,
    after: Array3<f32>,
    dir: &Path,
) -> Result<Vec<PathBuf>, String> {
    let figure = FilterPicture {
        rows: vec![
            (before_label.to_owned(), before),
            ("after".to_owned(), after),
        ],
    };
    plot::write_figure(&figure, dir, "filters").map(Vec::from)
}

fn main() -> ExitCode {
    let flags = match SPEC.parse_env() {
        Ok(flags) => flags,
        Err(code) => return code,
    };
    let (before, before_label, after) = match &flags.params {
        Some(path) => match filters_from_file(path) {
            Ok(after) => {
                let fresh =
                    first_filters(&fresh_net().state_dict()).expect("SimpleConvNet's first layer");
                (fresh, "initial", after)
            }
            Err(message) => {
                eprintln!("error: {message}");
                return ExitCode::FAILURE;
            }
        },
        None => {
            let data = match training::load_mnist() {
                Ok(data) => data,
                Err(code) => return code,
            };
            let (before, after, accuracy) = train(&data, flags.length, data.test.len());
            println!(
                "test accuracy after {} iterations: {accuracy:.4}",
                flags.length
            );
            (before, "before", after)
        }
    };
    Summary::new(&before, &after).print([before_label, "after"], after.len_of(Axis(0)));
    plot::report_written(picture(before, before_label, after, &flags.out))
}

/// The width and height of the PNG image in `bytes`, after checking its structure: the signature, every
/// chunk's CRC, an `IHDR` first, image data, and an `IEND` last.
#[cfg(test)]
fn png_size(bytes: &[u8]) -> Result<(u32, u32), String> {
    fn crc32(data: &[u8]) -> u32 {
        !data.iter().fold(!0u32, |crc, &byte| {
            (0..8).fold(crc ^ u32::from(byte), |c, _| match c & 1 {
                1 => (c >> 1) ^ 0xEDB8_8320,
                _ => c >> 1,
            })
        })
    }
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    let rest = bytes
        .strip_prefix(b"\x89PNG\r\n\x1a\n")
        .ok_or("no PNG signature")?;
    let (mut at, mut kinds, mut size) = (0, Vec::new(), None);
    while at + 12 <= rest.len() {
        let len = be(&rest[at..]) as usize;
        let end = at + 12 + len;
        let chunk = rest
            .get(at + 4..end - 4)
            .ok_or("a chunk runs past the end")?;
        if crc32(chunk) != be(&rest[end - 4..]) {
            return Err(format!(
                "bad CRC in chunk {}",
                String::from_utf8_lossy(&chunk[..4])
            ));
        }
        if &chunk[..4] == b"IHDR" {
            size = Some((be(&chunk[4..]), be(&chunk[8..])));
        }
        kinds.push(chunk[..4].to_vec());
        at = end;
    }
    let ordered = kinds.first().map(Vec::as_slice) == Some(b"IHDR")
        && kinds.last().map(Vec::as_slice) == Some(b"IEND")
        && kinds.iter().any(|k| k == b"IDAT")
        && at == rest.len();
    match (ordered, size) {
        (true, Some(size)) => Ok(size),
        _ => Err("chunks missing or out of order".to_owned()),
    }
}

/// `cargo test` trains 80 iterations on real MNIST (skipped without `MNIST_DIR` outside CI): the net must be far
/// better than chance, the filters must have grown and become smoother (with seeds 1–3 the median roughness
/// falls from 1.0–1.05 to 0.42–0.57, and 29–30 of 30 filters are smoother), the filters of a saved model must read
/// back as `--params` reads them, and the picture must be a PNG of the expected size.
#[test]
fn its_checks_hold() {
    let Some(dir) = mnist::mnist_dir_for_tests() else {
        return;
    };
    let data = Mnist::load(&dir).unwrap_or_else(|e| panic!("{e}"));
    let (before, after, accuracy) = train(&data, 80, 500);
    println!("test accuracy {accuracy:.4}");
    let summary = Summary::new(&before, &after);
    summary.print(["before", "after"], FILTERS);
    assert_eq!(after.shape(), [FILTERS, KERNEL, KERNEL]);
    assert!(accuracy > 0.8, "test accuracy {accuracy}");
    let [rough_before, rough_after] = summary.median_roughness;
    assert!(
        (0.8..1.2).contains(&rough_before),
        "fresh filters are noise: {rough_before}"
    );
    assert!(
        rough_after < 0.75 * rough_before,
        "roughness {rough_before} → {rough_after}"
    );
    assert!(
        summary.smoother >= Some(25),
        "smoother filters: {:?}",
        summary.smoother
    );
    assert!(
        summary.mean_abs[1] > 3.0 * summary.mean_abs[0],
        "the filters grew"
    );

    // What `--params` reads: the filters of a saved model.
    let out = tempfile::tempdir().expect("a temporary directory");
    let saved = out.path().join("params.npz");
    let mut state = Params::new();
    state.insert("0.weight", after.clone().insert_axis(Axis(1)).into_dyn());
    state.save_npz(&saved).expect("saved");
    assert_eq!(filters_from_file(&saved), Ok(after.clone()));
    assert!(filters_from_file(&out.path().join("missing.npz")).is_err());

    let written = picture(before, "before", after, out.path()).unwrap_or_else(|e| panic!("{e}"));
    let png = written
        .iter()
        .find(|p| p.extension() == Some("png".as_ref()))
        .expect("a PNG");
    let bytes = std::fs::read(png).expect("the PNG was written");
    // 30 tiles of 5×5 weights magnified 8 times, 6 pixels apart, after an 80-pixel label; two rows below the
    // caption.
    let expected = (80 + 30 * (5 * 8 + 6) + 6, 36 + 2 * (5 * 8 + 6) + 6);
    assert_eq!(png_size(&bytes), Ok(expected));
    let svg = std::fs::read_to_string(
        written
            .iter()
            .find(|p| p.extension() == Some("svg".as_ref()))
            .unwrap(),
    )
    .expect("the SVG was written");
    assert!(svg.matches("<rect").count() >= 2 * FILTERS * KERNEL * KERNEL);
}
