//! A second thread for one thread's large matrix products: [`with_product_helper`].
//!
//! A training step of the lecture's net is a chain of small operations around two products of a few MFLOP
//! each; split over a thread pool, each product paid more in waking the pool's threads than it saved (see
//! `bench/README.md`). The helper here is one thread that, after each product, keeps spinning for a while
//! (with `spin_loop` hints and yields, so that other threads on its core still run) before it sleeps, so the
//! next product finds it awake. A product is split into two blocks (of rows, or of columns); the caller and
//! the helper each claim blocks until none are left, so a helper that the operating system has descheduled
//! costs nothing but the caller doing both blocks itself. The blocks are cut where gemm keeps the whole
//! product's summation order (see `matmul.rs`), so every output element is the same as without the helper
//! (`tests/product_helper.rs` checks it bit for bit).

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// How long the helper keeps spinning after its last block before it sleeps: long enough to span the gaps
/// between the products of a training step, short enough that an idle helper does not hold its core.
const SPIN: Duration = Duration::from_micros(500);

/// A split product: `run(block)` computes block `block` (of `blocks`) of the output.
struct Job<'a> {
    run: &'a (dyn Fn(usize) + Sync),
    blocks: usize,
    next: AtomicUsize,
    done: AtomicUsize,
}

impl Job<'_> {
    /// Claims and runs blocks until none are left.
    fn work(&self) {
        loop {
            let block = self.next.fetch_add(1, Ordering::Relaxed);
            if block >= self.blocks {
                return;
            }
            (self.run)(block);
            self.done.fetch_add(1, Ordering::Release);
        }
    }
}

/// What the calling thread and its helper share.
struct Shared {
    /// The published job (a `Job` on the caller's stack), or null.
    job: AtomicPtr<Job<'static>>,
    /// True while the helper works on the published job: the caller does not return (and free the job)
    /// while it is.
    inside: AtomicBool,
    stop: AtomicBool,
    /// The helper sleeps here when it has spun for [`SPIN`] without work.
    asleep: Mutex<bool>,
    wake: Condvar,
}

thread_local! {
    /// The helper of this thread, inside [`with_product_helper`].
    static HELPER: Cell<Option<&'static Shared>> = const { Cell::new(None) };
}

/// Runs `f` on the calling thread with a helper thread that computes half of each large matrix product
/// `f` makes on this thread (the `matmul` op, its backward and [`matmul`](crate::matmul)): for a loop of
/// small steps, such as training the lecture's net, whose products are too small for a thread pool. The
/// results are the same, bit for bit, as without the helper; products of other threads are not split. With
/// a single core available there is no helper (it could only take turns with the calling thread).
///
/// ```
/// use ndarray::Array2;
/// let a = Array2::from_shape_fn((200, 784), |(i, j)| ((i * 7 + j) % 13) as f32 / 13.0);
/// let b = Array2::from_shape_fn((784, 50), |(i, j)| ((i + 3 * j) % 11) as f32 / 11.0);
/// let alone = autograd::matmul(&a.view(), &b.view());
/// let helped = autograd::with_product_helper(|| autograd::matmul(&a.view(), &b.view()));
/// assert_eq!(alone, helped);
/// ```
pub fn with_product_helper<R>(f: impl FnOnce() -> R) -> R {
    if std::thread::available_parallelism().map_or(1, |cores| cores.get()) < 2 {
        return f();
    }
    let shared = Shared {
        job: AtomicPtr::new(std::ptr::null_mut()),
        inside: AtomicBool::new(false),
        stop: AtomicBool::new(false),
        asleep: Mutex::new(false),
        wake: Condvar::new(),
    };
    std::thread::scope(|scope| {
        scope.spawn(|| help(&shared));
        /// Stops the helper and forgets it, also when `f` panics.
        struct Stop<'a>(&'a Shared, Option<&'static Shared>);
        impl Drop for Stop<'_> {
            fn drop(&mut self) {
                HELPER.with(|h| h.set(self.1));
                // Under the lock, so that the helper cannot miss it between checking `stop` and sleeping.
                let _asleep = self
                    .0
                    .asleep
                    .lock()
                    .expect("the helper's lock is never poisoned");
                self.0.stop.store(true, Ordering::SeqCst);
                self.0.wake.notify_one();
            }
        }
        // SAFETY: the reference is only read through HELPER on this thread, and `Stop` takes it out of HELPER
        // before `shared` goes out of scope (the scope joins the helper, then `shared` is dropped).
        let forever: &'static Shared = unsafe { &*std::ptr::from_ref(&shared) };
        let _stop = Stop(&shared, HELPER.with(|h| h.replace(Some(forever))));
        f()
    })
}

/// The helper thread's loop: spin for jobs, sleep after [`SPIN`] without one, stop when told.
fn help(shared: &Shared) {
    let mut idle_since = Instant::now();
    let mut spins = 0u32;
    while !shared.stop.load(Ordering::Relaxed) {
        let job = shared.job.load(Ordering::Acquire);
        if !job.is_null() {
            shared.inside.store(true, Ordering::SeqCst);
            // Checked again after announcing: the caller either sees `inside` or has already withdrawn the job.
            if shared.job.load(Ordering::SeqCst) == job {
                // SAFETY: the caller keeps the job alive until it has withdrawn it and seen `inside` false.
                unsafe { &*job }.work();
            }
            shared.inside.store(false, Ordering::SeqCst);
            // A job already done stays published until the caller withdraws it; entering it again claims
            // nothing. (A new job can reuse its address: it is then entered and helped.)
            idle_since = Instant::now();
            continue;
        }
        spins = spins.wrapping_add(1);
        if spins.is_multiple_of(64) {
            if idle_since.elapsed() > SPIN {
                let mut asleep = shared
                    .asleep
                    .lock()
                    .expect("the helper's lock is never poisoned");
                *asleep = true;
                while *asleep
                    && shared.job.load(Ordering::SeqCst).is_null()
                    && !shared.stop.load(Ordering::SeqCst)
                {
                    asleep = shared
                        .wake
                        .wait(asleep)
                        .expect("the helper's lock is never poisoned");
                }
                *asleep = false;
                idle_since = Instant::now();
            } else {
                std::thread::yield_now();
            }
        }
        std::hint::spin_loop();
    }
}

/// Runs `run(0)` and `run(1)`, the two halves of a product, on this thread and its helper, and returns true
/// when both have run; returns false at once, running nothing, when this thread has no helper.
pub(crate) fn run_halves(run: &(dyn Fn(usize) + Sync)) -> bool {
    let Some(shared) = HELPER.with(Cell::get) else {
        return false;
    };
    let job = Job {
        run,
        blocks: 2,
        next: AtomicUsize::new(0),
        done: AtomicUsize::new(0),
    };
    /// Withdraws the job and waits until the helper has left it, also when a block panics on this thread.
    struct Withdraw<'a>(&'a Shared);
    impl Drop for Withdraw<'_> {
        fn drop(&mut self) {
            self.0.job.store(std::ptr::null_mut(), Ordering::SeqCst);
            while self.0.inside.load(Ordering::SeqCst) {
                std::hint::spin_loop();
            }
        }
    }
    let published = std::ptr::from_ref(&job).cast_mut().cast::<Job<'static>>();
    shared.job.store(published, Ordering::SeqCst);
    let _withdraw = Withdraw(shared);
    {
        let mut asleep = shared
            .asleep
            .lock()
            .expect("the helper's lock is never poisoned");
        if *asleep {
            *asleep = false;
            shared.wake.notify_one();
        }
    }
    job.work();
    while job.done.load(Ordering::Acquire) < job.blocks {
        std::hint::spin_loop();
    }
    true
}
