//! Dynamic-graph overhead: build + backward of long graphs of tiny values, per recorded node.
//!
//! `cargo bench -p autograd --bench graph` — criterion prints the time per iteration; divide by the node
//! count printed in the benchmark's name (throughput is reported in nodes/s).

use autograd::Tape;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ndarray::Array2;

const NODES: usize = 200_000;

/// A chain of scalar multiply/add nodes with two shared leaves: `y ← y·a + b`, repeated.
fn scalar_graph(c: &mut Criterion) {
    let mut group = c.benchmark_group("scalar graph");
    group.throughput(Throughput::Elements(NODES as u64));
    group.sample_size(20);
    group.bench_function(format!("build+backward {NODES} nodes"), |bench| {
        bench.iter(|| {
            let tape = Tape::<f32>::new();
            let a = tape.var(0.999f32);
            let b = tape.var(0.001f32);
            let mut y = tape.var(1.0f32);
            for _ in 0..(NODES - 3) / 2 {
                y = y * a + b;
            }
            let grads = y.backward();
            grads.scalar(a)
        })
    });
    group.finish();
}

/// The same chain on 1x16 tensors.
fn small_tensor_graph(c: &mut Criterion) {
    let mut group = c.benchmark_group("1x16 tensor graph");
    group.throughput(Throughput::Elements(NODES as u64));
    group.sample_size(10);
    group.bench_function(format!("build+backward {NODES} nodes"), |bench| {
        bench.iter(|| {
            let tape = Tape::<f32>::new();
            let a = tape.var(Array2::from_elem((1, 16), 0.999f32));
            let b = tape.var(Array2::from_elem((1, 16), 0.001f32));
            let mut y = tape.var(Array2::from_elem((1, 16), 1.0f32));
            for _ in 0..(NODES - 3) / 2 {
                y = y * a + b;
            }
            let grads = y.sum().backward();
            grads.get(a).map(|g| g.sum())
        })
    });
    group.finish();
}

criterion_group!(benches, scalar_graph, small_tensor_graph);
criterion_main!(benches);
