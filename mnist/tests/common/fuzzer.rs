//! The fuzzing engine of `fuzz.rs`: a deterministic mutator of seed files and the loop that feeds its
//! mutants to a reader, catching panics and measuring each input's largest allocation.

use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

use super::Rng;

/// A single allocation may be at most this many times the input's length…
pub const BOUND_FACTOR: usize = 64;
/// …plus this (decompressors' windows, parsers' fixed buffers).
pub const BOUND_FIXED: usize = 1 << 20;

/// How many inputs each reader gets.
pub fn iterations() -> usize {
    std::env::var("FUZZ_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000)
}

/// The mutator's seed.
pub fn fuzz_seed() -> u64 {
    std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(16)
}

/// A header field of a seed: where it is, how wide, and whether big-endian.
#[derive(Clone, Copy)]
pub struct Field {
    pub at: usize,
    pub width: usize,
    pub big_endian: bool,
}

/// A valid input and the fields worth overwriting in it.
pub struct Seed {
    pub bytes: Vec<u8>,
    pub fields: Vec<Field>,
}

/// Values that break sizes and counts.
pub fn extreme(rng: &mut Rng, width: usize) -> u64 {
    let max = if width >= 8 {
        u64::MAX
    } else {
        (1u64 << (8 * width)) - 1
    };
    match rng.below(7) {
        0 => 0,
        1 => 1,
        2 => max,
        3 => max - 1,
        4 => max / 2 + 1,
        5 => rng.next() & max,
        _ => rng.below(1024) as u64,
    }
}

/// Numbers for text headers (JSON, `.npy`, PGM).
pub const TEXT_NUMBERS: [&str; 10] = [
    "0",
    "1",
    "-1",
    "65536",
    "4294967296",
    "18446744073709551615",
    "99999999999999999999999",
    "1e308",
    "NaN",
    "0.5",
];

/// One mutant of `seed`: one to four edits, with `other` as the source of splices.
pub fn mutate(rng: &mut Rng, seed: &Seed, other: &[u8]) -> Vec<u8> {
    let mut bytes = seed.bytes.clone();
    for _ in 0..1 + rng.below(4) {
        let len = bytes.len();
        match rng.below(9) {
            0 | 1 if len > 0 => {
                let at = rng.below(len);
                bytes[at] ^= 1 << rng.below(8);
            }
            2 if len > 0 => {
                let at = rng.below(len);
                bytes[at] = [0, 0xff, 0x7f, 0x80, rng.next() as u8][rng.below(5)];
            }
            3 => bytes.truncate(rng.below(len + 1)),
            4 if len > 0 => {
                let at = rng.below(len);
                let n = rng.below((len - at).min(64) + 1);
                bytes.drain(at..at + n);
            }
            5 => {
                let at = rng.below(len + 1);
                let n = 1 + rng.below(32);
                let insert: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                bytes.splice(at..at, insert);
            }
            6 if !other.is_empty() => {
                let at = rng.below(len + 1);
                let end = (at + rng.below(64)).min(len);
                let from = rng.below(other.len());
                let to = (from + rng.below(256)).min(other.len());
                bytes.splice(at..end, other[from..to].iter().copied());
            }
            7 if !seed.fields.is_empty() => {
                let field = seed.fields[rng.below(seed.fields.len())];
                let value = extreme(rng, field.width);
                if field.at + field.width <= bytes.len() {
                    let le = value.to_le_bytes();
                    for k in 0..field.width {
                        let byte = if field.big_endian {
                            le[field.width - 1 - k]
                        } else {
                            le[k]
                        };
                        bytes[field.at + k] = byte;
                    }
                }
            }
            _ => replace_number(rng, &mut bytes),
        }
    }
    bytes
}

/// Replaces a run of ASCII digits (picked at random) with an extreme number.
pub fn replace_number(rng: &mut Rng, bytes: &mut Vec<u8>) {
    let starts: Vec<usize> = (0..bytes.len())
        .filter(|&i| bytes[i].is_ascii_digit() && (i == 0 || !bytes[i - 1].is_ascii_digit()))
        .collect();
    if starts.is_empty() {
        return;
    }
    let start = starts[rng.below(starts.len())];
    let end = (start..bytes.len())
        .find(|&i| !bytes[i].is_ascii_digit())
        .unwrap_or(bytes.len());
    let number = TEXT_NUMBERS[rng.below(TEXT_NUMBERS.len())];
    bytes.splice(start..end, number.bytes());
}

thread_local! {
    static FUZZING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Keeps panics inside a fuzzed reader quiet (they are counted); any other panic prints as usual.
pub fn quiet_panics_while_fuzzing() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !FUZZING.with(std::cell::Cell::get) {
                previous(info);
            }
        }));
    });
}

/// Feeds `iterations()` mutants of `seeds` to `read` (which returns whether it accepted the input) and
/// asserts the module's rules; `prepare` may turn a mutant into the reader's input (e.g. compress it).
pub fn fuzz(
    name: &str,
    seeds: &[Seed],
    prepare: impl Fn(&mut Rng, Vec<u8>) -> Vec<u8>,
    read: impl Fn(&[u8]) -> bool,
) {
    quiet_panics_while_fuzzing();
    let mut rng = Rng(fuzz_seed()
        ^ name
            .bytes()
            .fold(0u64, |h, b| h.wrapping_mul(31) ^ u64::from(b)));
    let n = iterations();
    let (mut accepted, mut panics, mut worst) = (0usize, Vec::new(), (0usize, 0usize));
    for case in 0..n {
        let seed = &seeds[case % seeds.len()];
        let other = &seeds[rng.below(seeds.len())].bytes;
        let input = if case < seeds.len() {
            prepare(&mut rng, seed.bytes.clone())
        } else {
            let mutant = mutate(&mut rng, seed, other);
            prepare(&mut rng, mutant)
        };
        FUZZING.with(|f| f.set(true));
        let (outcome, largest) =
            super::alloc::largest_during(|| panic::catch_unwind(AssertUnwindSafe(|| read(&input))));
        FUZZING.with(|f| f.set(false));
        match outcome {
            Ok(true) => accepted += 1,
            Ok(false) => {}
            Err(_) => panics.push(case),
        }
        let bound = BOUND_FACTOR * input.len() + BOUND_FIXED;
        assert!(
            largest <= bound,
            "{name}, case {case}: an allocation of {largest} bytes for a {}-byte input (bound {bound})",
            input.len()
        );
        if largest > worst.0 {
            worst = (largest, input.len());
        }
    }
    eprintln!(
        "fuzz {name}: {n} inputs, {accepted} accepted, {} panics, largest allocation {} bytes (for a {}-byte input; bound {BOUND_FACTOR} x input + {BOUND_FIXED})",
        panics.len(),
        worst.0,
        worst.1
    );
    assert!(panics.is_empty(), "{name}: panics on cases {panics:?}");
    // The seeds themselves must be accepted, and the mutants must not all be.
    assert!(
        accepted >= seeds.len().min(n),
        "{name}: only {accepted} accepted"
    );
    assert!(accepted < n, "{name}: every mutant was accepted");
}
