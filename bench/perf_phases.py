"""Splits a perf profile of `mnist train` by phase (training step, batch gather, evaluation, loading) and by
kind of work (GEMM, u8 -> f32 conversion, copies, ...), as in bench/README.md.

Usage:
    perf record -F 499 --call-graph dwarf,32768 -o /tmp/perf.dwarf \\
        target/release/mnist train --no-plots --out /tmp/x
    perf script -i /tmp/perf.dwarf -F comm,tid,ip,sym > /tmp/perf.script
    python3 bench/perf_phases.py /tmp/perf.script

Each sample goes to the first phase whose pattern appears anywhere in its stack, and to the kind of work of
the innermost frame that some kind's pattern matches, so the shares add up to 100%. The patterns are names in this project and its dependencies; rename a function and
the split needs the same change here.
"""

import collections
import sys

PHASES = [
    ("evaluation (train::accuracy)", ["train::accuracy"]),
    ("mini-batch gather, u8 -> f32 (rows_to_float on random rows)", ["Batch<T>::draw", "rows_to_float<f32, core::iter::adapters::copied"]),
    ("training step (forward, backward, SGD)", ["TwoLayerNet<T>::gradient", "Learner<T>>::step"]),
    ("loading the data", ["Mnist::load", "Split::load"]),
]
KINDS = [
    ("GEMM (kernel + packing)", ["matrixmultiply", "gemm_f32::", "gemm_f64::", "gemm_common::"]),
    ("u8 -> f32 conversion (rows_to_float)", ["rows_to_float", "pixels::scale_rows"]),
    ("inflate (zlib-rs)", ["zlib_rs", "flate2"]),
    ("array copies (to_owned, clone, memcpy)", ["to_owned", "to_vec", "memcpy", "memmove", "::clone"]),
    ("element-wise (ndarray Zip, mapv, folds)", ["ndarray::zip", "Zip<", "mapv", "map_inplace", "zip_mut_with",
                                                 "for_each", "fold"]),
    ("allocator", ["malloc", "free", "realloc", "alloc::alloc"]),
    ("kernel memory (page faults, unmapping)", ["page_fault", "unmap_page", "folio", "mmap"]),
]


def stacks(path):
    """Yields each sample's stack as a list of symbol names, innermost first."""
    stack = None
    with open(path) as f:
        for line in f:
            if not line.strip():
                if stack:
                    yield stack
                stack = None
            elif not line[0].isspace():
                stack = []  # the sample's header line: comm and tid
            elif stack is not None:
                stack.append(line.split(None, 1)[-1].strip())  # "address symbol"
    if stack:
        yield stack


def first_match(stack, table):
    """The first entry of `table` with a pattern in any frame: for phases, which sit far out in the stack."""
    for name, patterns in table:
        if any(p in frame for frame in stack for p in patterns):
            return name
    return "other"


def innermost_match(stack, table):
    """The entry matching the innermost frame that any entry matches: for kinds of work, so that a `fold` or
    `clone` far out in the stack does not claim the GEMM kernel running at its top."""
    for frame in stack:
        for name, patterns in table:
            if any(p in frame for p in patterns):
                return name
    return "other"


def main():
    counts = collections.defaultdict(collections.Counter)
    total = 0
    for stack in stacks(sys.argv[1]):
        total += 1
        phase, kind = first_match(stack, PHASES), innermost_match(stack, KINDS)
        counts[phase][kind] += 1
        counts["all phases"][kind] += 1
    print(f"{total} samples")
    order = sorted(counts, key=lambda p: (p != "all phases", -sum(counts[p].values())))
    for phase in order:
        print(f"{phase}: {100 * sum(counts[phase].values()) / total:.1f}%")
        for kind, n in counts[phase].most_common():
            print(f"    {100 * n / total:5.1f}%  {kind}")


if __name__ == "__main__":
    main()
