//! Reference: the lecture's two-layer net and the book's SimpleConvNet on MNIST written with candle (CPU, f32),
//! for `bench/compare_mnist.py`.
//!
//! The run is the same as `mnist train`: 784-50-10 (Linear -> ReLU -> Linear, with the softmax and the
//! cross-entropy error as `candle_nn::loss::cross_entropy`), weights 0.01 * N(0, 1), biases 0, mini-batches of
//! 100 drawn at random with replacement, SGD (`candle_nn::SGD`) with lr 0.1, 10,000 iterations, accuracy on all
//! 60,000 training and 10,000 test images after every 600th iteration, in chunks of 2,000 rows. Images stay
//! `u8` tensors and are converted (`to_dtype(F32)`, then `/ 255`) per mini-batch and per chunk, as the Rust
//! trainer does. candle runs its matrix products on the `gemm` crate over rayon's threads
//! (`RAYON_NUM_THREADS`, set by the harness from `--threads`).
//!
//! With `--cnn`, the run is `mnist train --model cnn`'s: conv 30 filters 5x5 (stride 1, no padding) -> ReLU ->
//! max-pool 2x2 -> Linear 4320-100 -> ReLU -> Linear 100-10, the same initialisation and draws, Adam
//! (`candle_nn::AdamW` with weight decay 0, which is Adam) with lr 0.001, `BENCH_EPOCHS` epochs of 600
//! iterations (default 1), evaluated after every epoch.
//!
//! Usage: `candle_mnist [--cnn] [MNIST_DIR]` (or set `$MNIST_DIR`). Prints one line per evaluation, then a JSON
//! line with the timings and the final accuracies.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use candle_core::{DType, Device, Module, Tensor, Var, D};
use candle_nn::{AdamW, Optimizer, ParamsAdamW, SGD};
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
const FILTERS: usize = 30;
const KERNEL: usize = 5;
const POOL: usize = 2;
const SIDE: usize = 28;
const CNN_HIDDEN: usize = 100;
const CNN_LEARNING_RATE: f64 = 0.001;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;
/// One optimizer step from a loss (SGD's or Adam's).
type Step = dyn FnMut(&Tensor) -> candle_core::Result<()>;

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

/// The two networks: their parameters in order, weights `0.01 * N(0, 1)`, biases 0.
struct Net {
    cnn: bool,
    params: Vec<Var>,
}

impl Net {
    fn new(cnn: bool, rng: &mut StdRng, device: &Device) -> Result<Self> {
        let normal = Normal::new(0.0f32, WEIGHT_INIT_STD)?;
        let mut weights = |shape: &[usize]| -> Result<Var> {
            let values: Vec<f32> = (0..shape.iter().product())
                .map(|_| normal.sample(rng))
                .collect();
            Ok(Var::from_tensor(&Tensor::from_vec(values, shape, device)?)?)
        };
        let zeros = |n: usize| Var::zeros(n, DType::F32, device);
        let params = if cnn {
            let side = (SIDE - KERNEL + 1) / POOL;
            vec![
                weights(&[FILTERS, 1, KERNEL, KERNEL])?,
                zeros(FILTERS)?,
                weights(&[FILTERS * side * side, CNN_HIDDEN])?,
                zeros(CNN_HIDDEN)?,
                weights(&[CNN_HIDDEN, OUTPUT])?,
                zeros(OUTPUT)?,
            ]
        } else {
            vec![
                weights(&[INPUT, HIDDEN])?,
                zeros(HIDDEN)?,
                weights(&[HIDDEN, OUTPUT])?,
                zeros(OUTPUT)?,
            ]
        };
        Ok(Net { cnn, params })
    }

    /// The parameters as tensors that record no graph, for evaluation (PyTorch's `no_grad`).
    fn detached(&self) -> Vec<Tensor> {
        self.params.iter().map(|v| v.as_detached_tensor()).collect()
    }
}

/// The scores of the batch `x` (`n x 784`) with parameters `params` of the CNN or the two-layer net.
fn scores(cnn: bool, x: &Tensor, params: &[&Tensor]) -> candle_core::Result<Tensor> {
    let (hidden, rest) = if cnn {
        let (n, _) = x.dims2()?;
        let [w, b, rest @ ..] = params else {
            unreachable!("six parameters")
        };
        let filters = b.reshape((1, FILTERS, 1, 1))?;
        let h = x.reshape((n, 1, SIDE, SIDE))?.conv2d(w, 0, 1, 1, 1)?;
        let h = h.broadcast_add(&filters)?.relu()?.max_pool2d(POOL)?;
        (h.flatten_from(1)?, rest)
    } else {
        (x.clone(), params)
    };
    let [w1, b1, w2, b2] = rest else {
        unreachable!("two affine layers")
    };
    let h = hidden.matmul(w1)?.broadcast_add(b1)?.relu()?;
    h.matmul(w2)?.broadcast_add(b2)
}

impl Module for Net {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let params: Vec<&Tensor> = self.params.iter().map(|v| v.as_tensor()).collect();
        scores(self.cnn, x, &params)
    }
}

/// Pixels to floats in [0, 1].
fn to_float(images: &Tensor) -> candle_core::Result<Tensor> {
    images.to_dtype(DType::F32)? / 255.0
}

/// The fraction of `images` whose highest score is at the label, in chunks, with detached parameters so that
/// no graph is recorded.
fn accuracy(net: &Net, images: &Tensor, labels: &Tensor) -> Result<f64> {
    let params = net.detached();
    let params: Vec<&Tensor> = params.iter().collect();
    let n = images.dim(0)?;
    let mut correct = 0u32;
    for start in (0..n).step_by(EVAL_CHUNK) {
        let len = EVAL_CHUNK.min(n - start);
        let x = to_float(&images.narrow(0, start, len)?)?;
        let predicted = scores(net.cnn, &x, &params)?.argmax(D::Minus1)?;
        let hits = predicted.eq(&labels.narrow(0, start, len)?)?;
        correct += hits.to_dtype(DType::U32)?.sum_all()?.to_scalar::<u32>()?;
    }
    Ok(f64::from(correct) / n as f64)
}

fn main() -> Result<()> {
    let start = Instant::now();
    let mut args: Vec<_> = std::env::args_os().skip(1).collect();
    let cnn = args.first().is_some_and(|a| a == "--cnn");
    if cnn {
        args.remove(0);
    }
    let dir: PathBuf = args
        .pop()
        .or_else(|| std::env::var_os("MNIST_DIR"))
        .ok_or("usage: candle_mnist [--cnn] [MNIST_DIR]  (or set $MNIST_DIR)")?
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
    let net = Net::new(cnn, &mut rng, &device)?;
    let mut optimizer: Box<Step> = if cnn {
        let params = ParamsAdamW {
            lr: CNN_LEARNING_RATE,
            weight_decay: 0.0,
            ..ParamsAdamW::default()
        };
        let mut adam = AdamW::new(net.params.clone(), params)?;
        Box::new(move |loss| adam.backward_step(loss))
    } else {
        let mut sgd = SGD::new(net.params.clone(), LEARNING_RATE)?;
        Box::new(move |loss| sgd.backward_step(loss))
    };
    let iterations = if cnn {
        let epochs: usize = std::env::var("BENCH_EPOCHS").map_or(Ok(1), |e| e.parse())?;
        epochs * EVAL_EVERY
    } else {
        ITERATIONS
    };
    let train_n = train_images.dim(0)?;

    let (mut train_time, mut eval_time) = (Duration::ZERO, Duration::ZERO);
    let (mut train_acc, mut test_acc) = (f64::NAN, f64::NAN);
    for i in 1..=iterations {
        let started = Instant::now();
        let batch: Vec<u32> = (0..BATCH_SIZE)
            .map(|_| rng.random_range(0..train_n as u32))
            .collect();
        let batch = Tensor::from_vec(batch, BATCH_SIZE, &device)?;
        let x = to_float(&train_images.index_select(&batch, 0)?)?;
        let t = train_labels.index_select(&batch, 0)?;
        let loss = candle_nn::loss::cross_entropy(&net.forward(&x)?, &t)?;
        optimizer(&loss)?;
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
