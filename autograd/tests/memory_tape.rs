//! Memory: a dropped tape frees everything, training loops stay flat, and the cost of a recorded node.
//!
//! This binary installs a counting global allocator. Counts are kept per thread, so the test harness's own
//! threads do not disturb them; each test measures only what its own thread allocates. `realloc` is counted
//! as a fresh allocation followed by a free, so the peaks are upper bounds (a growing `Vec` briefly holds
//! its old and new buffers).
//!
//! `cargo test -p autograd --test memory_tape -- --nocapture` prints the figures.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use autograd::{Tape, Var};
use ndarray::{Array2, ArrayD};

struct Counting;

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

fn grew(bytes: usize) {
    let _ = LIVE.try_with(|live| {
        let now = live.get() + bytes;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

fn shrank(bytes: usize) {
    // Saturating: a block freed on another thread than the one that allocated it.
    let _ = LIVE.try_with(|live| live.set(live.get().saturating_sub(bytes)));
}

// SAFETY: every call is forwarded to the system allocator unchanged; the counters only observe sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        shrank(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            grew(new_size);
            shrank(layout.size());
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Bytes allocated by this thread and not yet freed.
fn live() -> usize {
    LIVE.with(Cell::get)
}

/// Resets this thread's peak to the live bytes and returns them.
fn reset_peak() -> usize {
    let now = live();
    PEAK.with(|p| p.set(now));
    now
}

fn peak() -> usize {
    PEAK.with(Cell::get)
}

/// A small MLP (4 → 16 → 3, tanh) whose parameters live outside the tape, trained on a fixed batch.
struct Mlp {
    params: Vec<ArrayD<f32>>,
    x: ArrayD<f32>,
    y: ArrayD<f32>,
}

impl Mlp {
    fn new() -> Self {
        let wave = |rows: usize, cols: usize, phase: f32| {
            let a = Array2::from_shape_fn((rows, cols), |(i, j)| {
                ((i * cols + j) as f32 * 0.37 + phase).sin() * 0.5
            });
            a.into_dyn()
        };
        Mlp {
            params: vec![
                wave(4, 16, 0.1),
                wave(1, 16, 0.2),
                wave(16, 3, 0.3),
                wave(1, 3, 0.4),
            ],
            x: wave(8, 4, 1.0),
            y: wave(8, 3, 2.0),
        }
    }

    /// The loss on a fresh tape's nodes: mean squared error of the network's output.
    fn loss<'t>(&self, tape: &'t Tape<f32>, w: &[Var<'t, f32>]) -> Var<'t, f32> {
        let x = tape.constant(self.x.clone());
        let y = tape.constant(self.y.clone());
        let h = (x.matmul(w[0]) + w[1]).tanh();
        let err = h.matmul(w[2]) + w[3] - y;
        (err * err).mean()
    }

    /// One SGD step with one new tape; returns the loss. With `penalty`, the loss also gets the squared norm
    /// of its own gradient (computed with `backward_graph`, then differentiated again).
    fn step(&mut self, penalty: bool) -> f32 {
        let tape = Tape::<f32>::new();
        let w: Vec<Var<'_, f32>> = self.params.iter().map(|p| tape.var(p.clone())).collect();
        let mut loss = self.loss(&tape, &w);
        if penalty {
            let dw = loss.backward_graph();
            for &wi in &w {
                let g = dw[wi];
                loss += (g * g).sum() * 0.01;
            }
        }
        let mut grads = loss.backward();
        for (p, &wi) in self.params.iter_mut().zip(&w) {
            let g = grads.take(wi).expect("every parameter gets a gradient");
            p.scaled_add(-0.1, &g);
        }
        loss.scalar()
    }
}

/// Trains for 2,000 steps; live bytes after step 100 and after step 2,000 must match.
fn flat_over_training(penalty: bool) {
    let mut mlp = Mlp::new();
    let mut after_100 = 0;
    let first = mlp.step(penalty);
    let mut last = first;
    for step in 2..=2000 {
        last = mlp.step(penalty);
        if step == 100 {
            after_100 = live();
        }
    }
    let after_2000 = live();
    println!(
        "penalty {penalty}: live bytes after step 100: {after_100}, after step 2000: {after_2000}; \
         loss {first} -> {last}"
    );
    assert!(last < first, "training makes progress");
    assert!(
        after_2000.abs_diff(after_100) <= 64,
        "live bytes grew from {after_100} to {after_2000}"
    );
}

#[test]
fn memory_training_steps_stay_flat() {
    flat_over_training(false);
}

#[test]
fn memory_backward_graph_steps_stay_flat() {
    flat_over_training(true);
}

#[test]
fn memory_dropping_a_tape_frees_everything() {
    let before = live();
    {
        let tape = Tape::<f64>::with_anomaly_detection();
        let x = tape.var_named("x", Array2::<f64>::ones((10, 10)));
        tape.group("block", || {
            let mut y = x;
            for _ in 0..100 {
                y = (y * 0.5 + 1.0).tanh();
            }
            let s = y.sum();
            let dx = s.backward_graph()[x];
            let grads = dx.sum().backward();
            assert!(grads.get(x).is_some());
            let _ = autograd::dot::Dot::new(&tape).render();
        });
    }
    assert_eq!(live(), before, "everything recorded is freed with the tape");
}

/// Records 1,000,000 scalar nodes and reports the memory per node (printed; bounds catch regressions).
#[test]
fn memory_per_scalar_node() {
    const NODES: usize = 1_000_000;
    let base = reset_peak();
    let tape = Tape::<f32>::new();
    let a = tape.var(0.999f32);
    let b = tape.var(0.001f32);
    let mut y = tape.var(1.0f32);
    while tape.len() < NODES {
        y = y * a + b;
    }
    let recorded = live() - base;
    let recording_peak = peak() - base;
    reset_peak();
    let grads = y.backward();
    let backward_peak = peak() - base;
    assert!(grads.scalar(a).is_finite());
    drop(grads);
    drop(tape);
    assert_eq!(live(), base);

    let per = |bytes: usize| bytes as f64 / NODES as f64;
    println!(
        "{NODES} scalar f32 nodes: {:.1} B/node held by the tape, peak {:.1} B/node while recording, \
         peak {:.1} B/node during the backward pass (tape and gradients)",
        per(recorded),
        per(recording_peak),
        per(backward_peak)
    );
    assert!(per(recorded) < 100.0);
    assert!(per(backward_peak) < 250.0);
}

/// The same with anomaly detection on: one location per node more.
#[test]
fn memory_per_scalar_node_with_anomaly_detection() {
    const NODES: usize = 1_000_000;
    let base = reset_peak();
    let tape = Tape::<f32>::with_anomaly_detection();
    let a = tape.var(0.999f32);
    let mut y = tape.var(1.0f32);
    while tape.len() < NODES {
        y *= a;
    }
    let recorded = live() - base;
    let recording_peak = peak() - base;
    drop(tape);
    println!(
        "{NODES} scalar f32 nodes, anomaly detection on: {:.1} B/node held, peak {:.1} B/node while recording",
        recorded as f64 / NODES as f64,
        recording_peak as f64 / NODES as f64
    );
}
