//! The lecture's training loop: random mini-batches, one gradient step each, and an evaluation on the full
//! training and test sets every `eval_every` iterations.
//!
//! The loop is independent of the network: anything implementing [`Learner`] trains. Mini-batches are drawn
//! with replacement (like `np.random.choice`) from a random stream that is a pure function of the seed and the
//! step, so a run is reproducible and a resumed run draws exactly the batches the uninterrupted run would have.
//! A second thread draws and converts the next mini-batches while the current one trains (so the two cores
//! share the work); evaluations split the data across all cores.

use std::time::{Duration, Instant};

use autograd::{Float, SparseMatrix};
use ndarray::Array2;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::dataset::{Mnist, Split};
use crate::history::{Evaluation, History};

/// A model the loop can train and evaluate.
pub trait Learner<T: Float>: Sync {
    /// One iteration on a mini-batch (`x`: rows of 784 pixels in [0, 1], handed over so that it can go onto
    /// the tape without a copy; `labels`: digits): compute the gradient, update the parameters, and return the
    /// mini-batch loss.
    fn step(&mut self, x: Images<T>, labels: &[usize]) -> T;

    /// The predicted digit of each row of `x`.
    fn predict_classes(&self, x: &Images<T>) -> Vec<usize>;

    /// Whether this learner takes its images sparse ([`Images::Sparse`]) rather than dense (the default).
    fn takes_sparse_images(&self) -> bool {
        false
    }
}

/// Images for a [`Learner`], rows of 784 pixels in `[0, 1]`: dense floats, or a sparse matrix of the non-zero
/// pixels (drawn from [`Split::sparse`] without converting a pixel).
#[derive(Clone, Debug)]
pub enum Images<T> {
    /// Every pixel as a float.
    Dense(Array2<T>),
    /// The non-zero pixels.
    Sparse(SparseMatrix<T>),
}

impl<T> Images<T> {
    /// The number of images.
    ///
    /// ```
    /// let x = mnist::train::Images::Dense(ndarray::Array2::<f32>::zeros((3, 784)));
    /// assert_eq!(x.len(), 3);
    /// ```
    pub fn len(&self) -> usize {
        match self {
            Images::Dense(x) => x.nrows(),
            Images::Sparse(x) => x.shape().0,
        }
    }

    /// Whether there are no images.
    ///
    /// ```
    /// assert!(mnist::train::Images::Dense(ndarray::Array2::<f32>::zeros((0, 784))).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T> From<Array2<T>> for Images<T> {
    fn from(x: Array2<T>) -> Self {
        Images::Dense(x)
    }
}

impl<T> From<SparseMatrix<T>> for Images<T> {
    fn from(x: SparseMatrix<T>) -> Self {
        Images::Sparse(x)
    }
}

/// A split's images in the form a learner takes them: converted to floats as they are drawn, or made sparse
/// once for the whole run.
enum Source<'d, T> {
    Dense(&'d Split),
    Sparse(SparseMatrix<T>),
}

impl<'d, T: Float + From<u8>> Source<'d, T> {
    fn new(learner: &impl Learner<T>, split: &'d Split) -> Self {
        if learner.takes_sparse_images() {
            Source::Sparse(split.sparse())
        } else {
            Source::Dense(split)
        }
    }

    /// The images at `rows`, in order.
    fn rows(&self, rows: &[usize]) -> Images<T> {
        match self {
            Source::Dense(split) => Images::Dense(split.batch(rows)),
            // With the transpose: the weight gradient then runs as fast as the forward product, and making it
            // here puts its cost on the batch thread.
            Source::Sparse(all) => {
                Images::Sparse(all.select_rows(rows.iter().copied()).with_transpose())
            }
        }
    }

    /// The images in `range`.
    fn range(&self, range: std::ops::Range<usize>) -> Images<T> {
        match self {
            Source::Dense(split) => Images::Dense(split.images_float(range)),
            Source::Sparse(all) => Images::Sparse(all.select_rows(range)),
        }
    }
}

/// How long and how a run trains.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Schedule {
    /// Iterations in all (the lecture: 10,000).
    pub iterations: usize,
    /// Examples per mini-batch (the lecture: 100).
    pub batch_size: usize,
    /// Evaluate after every this many iterations (the lecture: one epoch, 60,000 / 100 = 600).
    pub eval_every: usize,
    /// The seed of the mini-batch stream.
    pub seed: u64,
}

/// Events of a run, for progress display and checkpoints.
pub trait Observer<L> {
    /// After iteration `step` (1-based) with its mini-batch loss.
    fn on_step(&mut self, step: usize, loss: f64);
    /// After an evaluation, with the history so far and the learner (to checkpoint it).
    ///
    /// # Errors
    /// A failure that must stop the run (such as a checkpoint that cannot be written).
    fn on_evaluation(
        &mut self,
        evaluation: &Evaluation,
        history: &History,
        learner: &L,
    ) -> Result<(), String>;
    /// Polled before each iteration; `true` stops the run (e.g. after Ctrl-C).
    fn should_stop(&self) -> bool;
}

/// An observer that shows nothing, saves nothing and never stops the run (for tests and scripts).
#[derive(Clone, Copy, Debug, Default)]
pub struct Silent;

impl<L> Observer<L> for Silent {
    fn on_step(&mut self, _step: usize, _loss: f64) {}
    fn on_evaluation(&mut self, _: &Evaluation, _: &History, _: &L) -> Result<(), String> {
        Ok(())
    }
    fn should_stop(&self) -> bool {
        false
    }
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// All iterations ran.
    Finished,
    /// Stopped by the observer after this many iterations.
    Stopped(usize),
}

/// Where the time went.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Timing {
    /// Time in training iterations.
    pub training: Duration,
    /// Time in evaluations.
    pub evaluation: Duration,
}

/// The indices of mini-batch `step`: `batch_size` draws with replacement from `0..n`, a pure function of
/// `(seed, step)`.
pub fn batch_indices(seed: u64, step: usize, n: usize, batch_size: usize) -> Vec<usize> {
    let stream = seed ^ (step as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let mut rng = StdRng::seed_from_u64(stream);
    (0..batch_size).map(|_| rng.random_range(0..n)).collect()
}

/// Trains from the end of `history` (0 for a new run) to `schedule.iterations`, appending to `history`.
///
/// # Errors
/// What the observer's `on_evaluation` returned.
pub fn train<T, L>(
    learner: &mut L,
    data: &Mnist,
    schedule: &Schedule,
    history: &mut History,
    observer: &mut impl Observer<L>,
) -> Result<(Outcome, Timing), String>
where
    T: Float + From<u8>,
    L: Learner<T>,
{
    let mut timing = Timing::default();
    let first = history.losses.len() + 1;
    // The images as the learner takes them: a sparse learner's are made sparse here, once for the run.
    let (train_images, test_images) = (
        Source::new(&*learner, &data.train),
        Source::new(&*learner, &data.test),
    );
    std::thread::scope(|scope| {
        // Mini-batches are drawn and converted to floats on a second thread, a group or two ahead, while this
        // one computes; dropping the receiver (on return) ends the producer.
        let (groups, next_group) = std::sync::mpsc::sync_channel::<Vec<Batch<T>>>(1);
        let batch_images = &train_images;
        scope.spawn(move || {
            for start in (first..=schedule.iterations).step_by(BATCHES_PER_HAND_OVER) {
                let end = (start + BATCHES_PER_HAND_OVER - 1).min(schedule.iterations);
                let group = (start..=end)
                    .map(|step| Batch::draw(&data.train, batch_images, schedule, step))
                    .collect();
                if groups.send(group).is_err() {
                    break;
                }
            }
        });
        // The training thread's larger matrix products are split with a helper thread on the other core,
        // which the batch thread leaves mostly idle.
        autograd::with_product_helper(|| {
            let mut batches = Vec::new().into_iter();
            for step in first..=schedule.iterations {
                if observer.should_stop() {
                    return Ok((Outcome::Stopped(step - 1), timing));
                }
                let started = Instant::now();
                let batch = batches.next().unwrap_or_else(|| {
                    batches = next_group
                        .recv()
                        .expect("the batch thread runs until the last step")
                        .into_iter();
                    batches.next().expect("a group holds at least one batch")
                });
                debug_assert_eq!(batch.step, step);
                let loss = learner.step(batch.x, &batch.labels).to_f64();
                timing.training += started.elapsed();
                history.losses.push(loss);
                observer.on_step(step, loss);

                if step.is_multiple_of(schedule.eval_every) {
                    let started = Instant::now();
                    let evaluation = Evaluation {
                        step,
                        epoch: step / schedule.eval_every,
                        train_acc: accuracy_of(&*learner, &data.train, &train_images),
                        test_acc: accuracy_of(&*learner, &data.test, &test_images),
                    };
                    timing.evaluation += started.elapsed();
                    history.evaluations.push(evaluation);
                    observer.on_evaluation(&evaluation, history, learner)?;
                }
            }
            Ok((Outcome::Finished, timing))
        })
    })
}

/// Mini-batches handed from the batch thread to the training thread at a time. Handing them over one by one
/// made the training thread wake the (waiting) batch thread at every step, a system call that took about 15%
/// of the trainer's samples on a 2-core virtual machine; in groups it happens once per group.
const BATCHES_PER_HAND_OVER: usize = 8;

/// Mini-batch `step`: its images as floats and its labels.
struct Batch<T> {
    step: usize,
    x: Images<T>,
    labels: Vec<usize>,
}

impl<T: Float + From<u8>> Batch<T> {
    fn draw(split: &Split, images: &Source<'_, T>, schedule: &Schedule, step: usize) -> Self {
        let rows = batch_indices(schedule.seed, step, split.len(), schedule.batch_size);
        let labels = rows
            .iter()
            .map(|&i| usize::from(split.labels()[i]))
            .collect();
        Batch {
            step,
            x: images.rows(&rows),
            labels,
        }
    }
}

/// Rows converted to floats at a time during evaluation (bounds the memory an evaluation needs). 500 rows of
/// f32 (1.5 MiB) stay in a core's L2 cache between the conversion that writes them and the product that reads
/// them, where 2,000 rows (6 MiB) went out to memory and back: evaluation 0.84–0.90 s → 0.79–0.81 s a run.
const EVAL_CHUNK: usize = 500;

/// The fraction of `split` that `learner` classifies correctly, evaluated in chunks on all cores.
///
/// # Panics
/// If `split` is empty: it has no accuracy ([`Mnist::load`] refuses empty splits).
pub fn accuracy<T: Float + From<u8>>(learner: &impl Learner<T>, split: &Split) -> f64 {
    accuracy_of(learner, split, &Source::new(learner, split))
}

/// [`accuracy`] with the split's images in `images` (made once for a run).
fn accuracy_of<T: Float + From<u8>>(
    learner: &impl Learner<T>,
    split: &Split,
    images: &Source<'_, T>,
) -> f64 {
    assert!(!split.is_empty(), "the accuracy of an empty split");
    let chunks: Vec<std::ops::Range<usize>> = (0..split.len())
        .step_by(EVAL_CHUNK)
        .map(|start| start..(start + EVAL_CHUNK).min(split.len()))
        .collect();
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(chunks.len().max(1));
    let correct_in = |ranges: &[std::ops::Range<usize>]| -> usize {
        ranges
            .iter()
            .map(|range| {
                let predicted = learner.predict_classes(&images.range(range.clone()));
                predicted
                    .iter()
                    .zip(&split.labels()[range.clone()])
                    .filter(|(p, &t)| **p == usize::from(t))
                    .count()
            })
            .sum()
    };
    let per_worker = chunks.len().div_ceil(workers.max(1)).max(1);
    let correct: usize = std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .chunks(per_worker)
            .map(|part| scope.spawn(move || correct_in(part)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("evaluation thread panicked"))
            .sum()
    });
    correct as f64 / split.len() as f64
}
