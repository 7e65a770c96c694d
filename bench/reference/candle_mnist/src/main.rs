//! Reference: the lecture's two-layer net on MNIST written with candle (CPU, f32), for
//! `bench/compare_mnist.py`.
//!
//! The run is the same as `mnist train`: 784-50-10 (Linear -> ReLU -> Linear, with the softmax and the
//! cross-entropy error as `candle_nn::loss::cross_entropy`), weights 0.01 * N(0, 1), biases 0, mini-batches of
//! 100 drawn at random with replacement, SGD (`candle_nn::SGD`) with lr 0.1, 10,000 iterations, accuracy on all
//! 60,000 training and 10,000 test images after every 600th iteration, in chunks of 2,000 rows. Images stay
//! `u8` tensors and are converted (`to_dtype(F32)`, then `/ 255`) per mini-batch and per chunk, as the Rust
//! trainer does. candle runs its matrix products on the `gemm` crate over rayon's threads
//! (`RAYON_NUM_THREADS`, set by the harness from `--threads`).
//!
//! Usage: `candle_mnist [MNIST_DIR]` (or set `$MNIST_DIR`). Prints one line per evaluation, then a JSON line
//! with the timings and the final accuracies.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use candle_core::{DType, Device, Module, Tensor, Var, D};
use candle_nn::{Optimizer, SGD};
use rand::{rngs::StdRng, Rng, SeedableRng};
use rand_distr::{Distribution, Normal};

const INPUT: usize = 784;
const HIDDEN: usize = 50;
const OUTPUT: usize = 10;
const WEIGHT_INIT_STD: f32 = 0.01;
const BATCH_SIZE: usize = 100;
const LEARNING_RATE: f64 = 0.1;
const ITERATIONS: usize = 10_000;
const EVAL_EVERY: usize = 600;
const EVAL_CHUNK: usize = 2_000;
const SEED: u64 = 0;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// One gzip IDX file of unsigned bytes: its dimensions and its data.
fn read_idx(path: &Path) -> Result<(Vec<usize>, Vec<u8>)> {
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path)?).read_to_end(&mut raw)?;
    if raw.len() < 4 || raw[..3] != [0, 0, 0x08] {
        return Err(format!("{}: not an unsigned-byte IDX file", path.display()).into());
    }
    let ndim = usize::from(raw[3]);
    let header = 4 + 4 * ndim;
    let dims: Vec<usize> = raw[4..header]
        .chunks(4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .collect();
    Ok((dims, raw.split_off(header)))
}

/// Images (`n x 784`, u8) and labels (`n`, u32) of one split, as tensors.
fn load_split(dir: &Path, images: &str, labels: &str, device: &Device) -> Result<(Tensor, Tensor)> {
    let (dims, pixels) = read_idx(&dir.join(images))?;
    let (_, digits) = read_idx(&dir.join(labels))?;
    let images = Tensor::from_vec(pixels, (dims[0], INPUT), device)?;
    let labels: Vec<u32> = digits.into_iter().map(u32::from).collect();
    let n = labels.len();
    Ok((images, Tensor::from_vec(labels, n, device)?))
}

/// Affine -> ReLU -> Affine, with the lecture's initialisation.
struct TwoLayerNet {
    w1: Var,
    b1: Var,
    w2: Var,
    b2: Var,
}

impl TwoLayerNet {
    fn new(rng: &mut StdRng, device: &Device) -> Result<Self> {
        let normal = Normal::new(0.0f32, WEIGHT_INIT_STD)?;
        let mut weights = |rows: usize, cols: usize| -> Result<Var> {
            let values: Vec<f32> = (0..rows * cols).map(|_| normal.sample(rng)).collect();
            Ok(Var::from_tensor(&Tensor::from_vec(
                values,
                (rows, cols),
                device,
            )?)?)
        };
        Ok(TwoLayerNet {
            w1: weights(INPUT, HIDDEN)?,
            w2: weights(HIDDEN, OUTPUT)?,
            b1: Var::zeros(HIDDEN, DType::F32, device)?,
            b2: Var::zeros(OUTPUT, DType::F32, device)?,
        })
    }

    fn vars(&self) -> Vec<Var> {
        vec![
            self.w1.clone(),
            self.b1.clone(),
            self.w2.clone(),
            self.b2.clone(),
        ]
    }

    /// The parameters as tensors that record no graph, for evaluation (PyTorch's `no_grad`).
    fn detached(&self) -> [Tensor; 4] {
        [&self.w1, &self.b1, &self.w2, &self.b2].map(|v| v.as_detached_tensor())
    }
}

/// The scores of the batch `x` with parameters `[w1, b1, w2, b2]`.
fn scores(x: &Tensor, [w1, b1, w2, b2]: [&Tensor; 4]) -> candle_core::Result<Tensor> {
    let h = x.matmul(w1)?.broadcast_add(b1)?.relu()?;
    h.matmul(w2)?.broadcast_add(b2)
}

impl Module for TwoLayerNet {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        scores(
            x,
            [&self.w1, &self.b1, &self.w2, &self.b2].map(|v| v.as_tensor()),
        )
    }
}

/// Pixels to floats in [0, 1].
fn to_float(images: &Tensor) -> candle_core::Result<Tensor> {
    images.to_dtype(DType::F32)? / 255.0
}

/// The fraction of `images` whose highest score is at the label, in chunks, with detached parameters so that
/// no graph is recorded.
fn accuracy(net: &TwoLayerNet, images: &Tensor, labels: &Tensor) -> Result<f64> {
    let params = net.detached();
    let params = [&params[0], &params[1], &params[2], &params[3]];
    let n = images.dim(0)?;
    let mut correct = 0u32;
    for start in (0..n).step_by(EVAL_CHUNK) {
        let len = EVAL_CHUNK.min(n - start);
        let x = to_float(&images.narrow(0, start, len)?)?;
        let predicted = scores(&x, params)?.argmax(D::Minus1)?;
        let hits = predicted.eq(&labels.narrow(0, start, len)?)?;
        correct += hits.to_dtype(DType::U32)?.sum_all()?.to_scalar::<u32>()?;
    }
    Ok(f64::from(correct) / n as f64)
}

fn main() -> Result<()> {
    let start = Instant::now();
    let dir: PathBuf = std::env::args_os()
        .nth(1)
        .or_else(|| std::env::var_os("MNIST_DIR"))
        .ok_or("usage: candle_mnist [MNIST_DIR]  (or set $MNIST_DIR)")?
        .into();
    let device = Device::Cpu;
    let (train_images, train_labels) = load_split(
        &dir,
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        &device,
    )?;
    let (test_images, test_labels) = load_split(
        &dir,
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
        &device,
    )?;

    let mut rng = StdRng::seed_from_u64(SEED);
    let net = TwoLayerNet::new(&mut rng, &device)?;
    let mut optimizer = SGD::new(net.vars(), LEARNING_RATE)?;
    let train_n = train_images.dim(0)?;

    let (mut train_time, mut eval_time) = (Duration::ZERO, Duration::ZERO);
    let (mut train_acc, mut test_acc) = (f64::NAN, f64::NAN);
    for i in 1..=ITERATIONS {
        let started = Instant::now();
        let batch: Vec<u32> = (0..BATCH_SIZE)
            .map(|_| rng.random_range(0..train_n as u32))
            .collect();
        let batch = Tensor::from_vec(batch, BATCH_SIZE, &device)?;
        let x = to_float(&train_images.index_select(&batch, 0)?)?;
        let t = train_labels.index_select(&batch, 0)?;
        let loss = candle_nn::loss::cross_entropy(&net.forward(&x)?, &t)?;
        optimizer.backward_step(&loss)?;
        train_time += started.elapsed();

        if i % EVAL_EVERY == 0 {
            let started = Instant::now();
            train_acc = accuracy(&net, &train_images, &train_labels)?;
            test_acc = accuracy(&net, &test_images, &test_labels)?;
            eval_time += started.elapsed();
            println!("Step: {i}\tTrain acc: {train_acc:.5}\tTest acc: {test_acc:.5}");
        }
    }
    println!(
        "{{\"impl\": \"candle\", \"wall_s\": {:.3}, \"train_s\": {:.3}, \"eval_s\": {:.3}, \
         \"final_train_acc\": {train_acc}, \"final_test_acc\": {test_acc}, \"threads\": {}}}",
        start.elapsed().as_secs_f64(),
        train_time.as_secs_f64(),
        eval_time.as_secs_f64(),
        candle_core::utils::get_num_threads(),
    );
    Ok(())
}
