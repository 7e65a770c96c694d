//! Forward- against reverse-mode Jacobians where theory says each wins: a tall function `R¹ → R¹⁰⁰⁰` (forward
//! mode: one forward pass; reverse mode: a backward pass per output) and a wide one `R¹⁰⁰⁰ → R¹` (reverse
//! mode: one backward pass; forward mode: a forward pass per input).
//!
//! `cargo bench -p autograd --bench jacobian`

use autograd::{func, Var};
use criterion::{criterion_group, criterion_main, Criterion};
use ndarray::{Array1, ArrayD};

const N: usize = 1000;

/// `R¹ → R¹⁰⁰⁰`: `sin(x · c) · c` for a constant vector `c`.
fn tall<'t>(v: &[Var<'t, f64>]) -> Var<'t, f64> {
    let c = v[0].constant_like(Array1::linspace(0.1, 2.0, N));
    (v[0] * c).sin() * c
}

/// `R¹⁰⁰⁰ → R¹`: `Σ sin(x) · x`.
fn wide<'t>(v: &[Var<'t, f64>]) -> Var<'t, f64> {
    (v[0].sin() * v[0]).sum()
}

fn jacobians(c: &mut Criterion) {
    let x_tall = [ArrayD::from_elem(vec![1], 0.3)];
    let x_wide = [Array1::linspace(-1.0, 1.0, N).into_dyn()];
    assert_eq!(func::jacfwd(tall, &x_tall), func::jacrev(tall, &x_tall));
    let mut group = c.benchmark_group("jacobian");
    group.sample_size(10);
    group.bench_function("tall R^1 -> R^1000, forward mode", |b| {
        b.iter(|| func::jacfwd(tall, &x_tall))
    });
    group.bench_function("tall R^1 -> R^1000, reverse mode", |b| {
        b.iter(|| func::jacrev(tall, &x_tall))
    });
    group.bench_function("wide R^1000 -> R^1, forward mode", |b| {
        b.iter(|| func::jacfwd(wide, &x_wide))
    });
    group.bench_function("wide R^1000 -> R^1, reverse mode", |b| {
        b.iter(|| func::jacrev(wide, &x_wide))
    });
    group.finish();
}

criterion_group!(benches, jacobians);
criterion_main!(benches);
