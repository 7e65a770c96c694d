//! Matrix-product backends on the MNIST workload's shapes: the engine's kernel (`autograd::matmul`, the
//! `gemm` crate) against ndarray's `dot`, in one process.
//!
//! ```sh
//! cargo bench -p autograd --bench matmul                                    # dot = matrixmultiply
//! cargo bench -p autograd --bench matmul --features matrixmultiply-threading # dot = matrixmultiply, threaded
//! cargo bench -p autograd --bench matmul --features openblas                # dot = system OpenBLAS
//! cargo bench -p autograd --bench matmul --features rayon                   # + the engine on 2 threads
//! ```
//!
//! Features combine (`--features openblas,rayon`). OpenBLAS runs on `OPENBLAS_NUM_THREADS` threads (all cores
//! by default) with the kernel it picks unless `OPENBLAS_CORETYPE` pins one; `bench/README.md` gives the
//! settings behind its table. The `openblas` feature makes `dot` call OpenBLAS for the whole build, tests
//! included, and needs `libopenblas-dev`. gemm splits a product over threads only when it is large enough, so
//! the smallest product here stays on one thread even with `rayon`.
//!
//! Throughput is in floating-point operations (2·m·k·n per product), so criterion's "elem/s" reads as FLOP/s.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ndarray::{Array2, ArrayView2};
use rand::{rngs::StdRng, Rng, SeedableRng};

/// What ndarray's `dot` runs on in this build.
const DOT: &str = if cfg!(feature = "openblas") {
    "ndarray dot (OpenBLAS)"
} else if cfg!(feature = "matrixmultiply-threading") {
    "ndarray dot (matrixmultiply, threaded)"
} else {
    "ndarray dot (matrixmultiply)"
};

/// One product of the workload: its name, `a` (or `aᵀ`'s source) and `b`.
struct Case {
    name: &'static str,
    a: Array2<f32>,
    transpose_a: bool,
    b: Array2<f32>,
}

impl Case {
    fn a(&self) -> ArrayView2<'_, f32> {
        if self.transpose_a {
            self.a.t()
        } else {
            self.a.view()
        }
    }

    fn flops(&self) -> u64 {
        let a = self.a();
        2 * (a.nrows() * a.ncols() * self.b.ncols()) as u64
    }
}

fn random(rng: &mut StdRng, rows: usize, cols: usize) -> Array2<f32> {
    Array2::from_shape_fn((rows, cols), |_| rng.random_range(-1.0..1.0))
}

/// The four products of the lecture's run: the two layers' forward passes in training, the first layer's
/// weight gradient (the batch transposed, as a view), and an evaluation chunk's first layer.
fn cases() -> Vec<Case> {
    let mut rng = StdRng::seed_from_u64(7);
    let mut case = |name, (m, k), transpose_a, n| {
        let a = if transpose_a {
            random(&mut rng, k, m)
        } else {
            random(&mut rng, m, k)
        };
        let b = random(&mut rng, k, n);
        Case {
            name,
            a,
            transpose_a,
            b,
        }
    };
    vec![
        case("x·W1 [100,784]·[784,50]", (100, 784), false, 50),
        case("xᵀ·g [100,784]ᵀ·[100,50]", (784, 100), true, 50),
        case("h·W2 [100,50]·[50,10]", (100, 50), false, 10),
        case("eval x·W1 [2000,784]·[784,50]", (2000, 784), false, 50),
    ]
}

fn backends(c: &mut Criterion) {
    for case in cases() {
        let mut group = c.benchmark_group(case.name);
        group.throughput(Throughput::Elements(case.flops()));
        let (a, b) = (case.a(), case.b.view());
        // The backends must agree before their speed means anything.
        let reference = a.dot(&b);
        let engine = autograd::matmul(&a, &b);
        let worst = (&engine - &reference).fold(0f32, |m, d| m.max(d.abs()));
        assert!(
            worst < 1e-3,
            "{}: engine and dot differ by {worst}",
            case.name
        );
        #[cfg(feature = "rayon")]
        assert_eq!(
            autograd::matmul_parallel(&a, &b, 2),
            engine,
            "{}: the engine on 2 threads differs from 1 thread",
            case.name
        );

        group.bench_function(BenchmarkId::from_parameter("engine (gemm)"), |bench| {
            bench.iter(|| autograd::matmul(&a, &b))
        });
        #[cfg(feature = "rayon")]
        group.bench_function(
            BenchmarkId::from_parameter("engine (gemm), 2 threads"),
            |bench| bench.iter(|| autograd::matmul_parallel(&a, &b, 2)),
        );
        group.bench_function(BenchmarkId::from_parameter(DOT), |bench| {
            bench.iter(|| a.dot(&b))
        });
        group.finish();
    }
}

criterion_group!(benches, backends);
criterion_main!(benches);
