//! A steady-state optimizer update allocates nothing: the state is allocated on the first update and reused.
//!
//! A counting global allocator counts the allocations made by the current thread while counting is on. This
//! is its own test binary so the allocator sees only these tests.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use ndarray::{Array1, Array2};
use nn::optim::{AdaGrad, Adam, Momentum, Optimizer, Sgd};
use nn::Params;

struct Counting;

thread_local! {
    /// `Some(n)`: counting is on for this thread, with `n` allocations so far.
    static ALLOCATIONS: Cell<Option<usize>> = const { Cell::new(None) };
}

fn note_allocation() {
    // `try_with`: the thread-local may already be gone while a thread shuts down.
    let _ = ALLOCATIONS.try_with(|count| {
        if let Some(n) = count.get() {
            count.set(Some(n + 1));
        }
    });
}

// SAFETY: every call is forwarded unchanged to the system allocator; counting touches only a `Cell` in a
// const-initialised thread-local, which itself never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_allocation();
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The number of allocations `f` makes on this thread.
fn allocations_in(f: impl FnOnce()) -> usize {
    ALLOCATIONS.with(|c| c.set(Some(0)));
    f();
    ALLOCATIONS
        .with(|c| c.replace(None))
        .expect("counting was on")
}

/// The two-layer net's parameter layout, at a small size.
fn net_like(fill: f32) -> Params<f32> {
    [
        ("W1", Array2::from_elem((20, 8), fill).into_dyn()),
        ("b1", Array1::from_elem(8, fill).into_dyn()),
        ("W2", Array2::from_elem((8, 3), fill).into_dyn()),
        ("b2", Array1::from_elem(3, fill).into_dyn()),
    ]
    .into_iter()
    .collect()
}

#[test]
fn the_counter_sees_allocations() {
    assert!(allocations_in(|| drop(std::hint::black_box(vec![1u8; 10]))) >= 1);
}

#[test]
fn steady_state_updates_allocate_nothing_for_any_optimizer() {
    let optimizers: Vec<(&str, Box<dyn Optimizer<f32>>)> = vec![
        ("SGD", Box::new(Sgd::new(0.01))),
        ("Momentum", Box::new(Momentum::new(0.01, 0.9))),
        ("AdaGrad", Box::new(AdaGrad::new(0.01))),
        ("Adam", Box::new(Adam::new(0.001))),
    ];
    let grads = net_like(0.5);
    for (name, mut optimizer) in optimizers {
        let mut params = net_like(1.0);
        let first = allocations_in(|| optimizer.update(&mut params, &grads));
        let steady = allocations_in(|| {
            for _ in 0..10 {
                optimizer.update(&mut params, &grads);
            }
        });
        assert_eq!(
            steady, 0,
            "{name}: 10 steady-state updates allocated {steady} times"
        );
        if name != "SGD" {
            assert!(
                first > 0,
                "{name}: the first update should allocate the state"
            );
        }
    }
}
