//! Bounded fuzzing of the formula reader of `backprop draw`, with the mnist crate's fuzzing engine: mutants
//! of valid formulas are parsed and, when they parse, recorded on a tape with inputs and differentiated.
//! Each of `FUZZ_ITERATIONS` inputs (default 100,000; the long run is `FUZZ_ITERATIONS=1000000`) must give a
//! value or an error — no panic, no stack overflow (formulas are limited in length and nesting) — and no single
//! allocation above 64 times the input's length plus 1 MiB.

#[path = "../mnist/tests/common/alloc.rs"]
#[allow(dead_code)] // the fuzzer uses part of it
mod alloc;
#[path = "../mnist/tests/common/fuzzer.rs"]
#[allow(dead_code)]
mod fuzzer;
#[path = "../mnist/tests/common/rng.rs"]
mod rng;

use autograd::Tape;
use backprop::expr::{build, parse};
use fuzzer::{fuzz, Seed};
use rng::Rng;

#[global_allocator]
static ALLOCATOR: alloc::Counting = alloc::Counting;

const FORMULAS: [&str; 8] = [
    "1/(1+exp(-x))",
    "(x + y)^2",
    "price = (apple*apple_num + orange*orange_num)*tax",
    "tanh(x) * sin(y) - cos(x)^-2",
    "-x^2 + 3*x - sqrt(abs(y))",
    "max(relu(x), min(y, 2.5e-1)) / log(e + x*x)",
    "sigmoid(x*y) + pi",
    "((x))^((y))^2",
];

/// Parses `input` and, if it parses, records it with every name it may use as an input and differentiates it;
/// whether it gave a value.
fn read_formula(input: &[u8]) -> bool {
    let source = String::from_utf8_lossy(input);
    let Ok(formula) = parse(&source) else {
        return false;
    };
    let inputs: Vec<(String, f64)> = [
        "x",
        "y",
        "apple",
        "apple_num",
        "orange",
        "orange_num",
        "tax",
    ]
    .iter()
    .enumerate()
    .map(|(k, name)| (name.to_string(), 0.5 + k as f64))
    .collect();
    let tape = Tape::<f64>::new();
    match build(&tape, &formula, &inputs) {
        Ok(built) => {
            let _ = built.output.backward();
            true
        }
        Err(_) => false,
    }
}

#[test]
fn fuzz_formulas() {
    let seeds: Vec<Seed> = FORMULAS
        .iter()
        .map(|f| Seed {
            bytes: f.as_bytes().to_vec(),
            fields: Vec::new(),
        })
        .collect();
    fuzz("formulas", &seeds, |_: &mut Rng, bytes| bytes, read_formula);
}
