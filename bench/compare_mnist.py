"""The lecture's MNIST run four ways, in one session: this project's Rust trainer, PyTorch, NumPy and candle.

Builds `mnist` and the candle reference (bench/reference/candle_mnist, its own Cargo project) in release, then
runs N rounds, each round running every implementation once in turn (Rust, PyTorch, NumPy, candle, then again), so that a change in the machine's load hits all of them alike. For each
process it measures the wall time (from spawn to exit, so interpreter start-up, imports and data loading are
included) and the peak resident memory (ru_maxrss from wait4), and reads the training and evaluation times
and the final accuracies that the process prints. Prints a markdown table of the medians and the ratios.

Usage: python3 bench/compare_mnist.py [--model mlp|cnn] [--epochs N] [--rounds N] [--threads N] [--data-dir DIR]
                                     [--python PATH] [--with-avx2] [--no-build]
--model cnn compares the book's SimpleConvNet instead (`mnist train --model cnn --epochs N` against
reference/torch_cnn.py and `candle_mnist --cnn`, N epochs, default 1; there is no NumPy reference for it).
--with-avx2 also runs the trainer built without its AVX-512 code paths (`--no-default-features`, built in
target/avx2 and copied to target/release/mnist-avx2), as "rust-avx2" in every round: on an AVX-512 processor, the figure of the paths
that AVX2-only processors take.
The Python references run with bench/.venv/bin/python (made by bench/reference/setup.sh) when it exists; a
reference whose library is missing, or that does not build, is skipped with the reason printed.
Needs only Python's standard library itself.

--threads sets the references' thread count (PyTorch's set_num_threads, OMP/OpenBLAS/MKL for NumPy's BLAS,
RAYON_NUM_THREADS for candle); the Rust trainer always trains on one thread and evaluates on all cores. Two-thread BLAS and OpenMP
code slows down many times over when other processes compete for the two cores, so every run also measures
how many cores other processes kept busy meanwhile (from /proc/stat, less the run's own CPU time). Before each
run the harness waits (up to --wait seconds) for the machine to be quiet, and a run during which others kept
more than --max-busy cores busy is thrown away and run again (up to --retries times); a run kept in spite of
that is marked in the output.
"""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REFERENCE = os.path.join(ROOT, "bench", "reference")
VENV_PYTHON = os.path.join(ROOT, "bench", ".venv", "bin", "python")
DEFAULT_DATA = "/work/shared/data/mnist"

RUST_TIMES = re.compile(r"Wall time: ([0-9.]+) s \(training ([0-9.]+) s.*evaluation ([0-9.]+) s\)")
RUST_FINAL = re.compile(r"Final \(step \d+\): train acc ([0-9.]+), test acc ([0-9.]+)")


def busy_cpu_seconds():
    """CPU seconds the whole machine has spent busy since boot (all cores, from /proc/stat)."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except OSError:
        return None
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def others_busy(seconds):
    """Cores busy over the next `seconds` (no child of ours runs meanwhile, so all of it is others')."""
    before = busy_cpu_seconds()
    time.sleep(seconds)
    after = busy_cpu_seconds()
    return 0.0 if before is None or after is None else (after - before) / seconds


def wait_for_quiet(max_busy, max_wait):
    """Waits until other processes keep at most max_busy cores busy over 3 s, or max_wait seconds pass."""
    deadline = time.monotonic() + max_wait
    while others_busy(3) > max_busy and time.monotonic() < deadline:
        pass


def run(cmd, env):
    """Runs cmd to completion: a dict of wall seconds, peak RSS in MiB, the cores that other processes kept
    busy meanwhile, exit status, stdout and stderr."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        busy_before = busy_cpu_seconds()
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)  # wait4 gives this child's own peak RSS and CPU time
        wall = time.perf_counter() - started
        busy_after = busy_cpu_seconds()
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        others = None
        if busy_before is not None and busy_after is not None:
            own = usage.ru_utime + usage.ru_stime
            others = max(0.0, (busy_after - busy_before - own) / wall)
        out.seek(0)
        err.seek(0)
        return {
            "wall_s": wall, "rss_mib": usage.ru_maxrss / 1024, "others_cores": others,
            "code": proc.returncode, "stdout": out.read().decode(), "stderr": err.read().decode(),
        }


def parse_rust(stdout):
    times, final = RUST_TIMES.search(stdout), RUST_FINAL.search(stdout)
    if not (times and final):
        raise ValueError("no 'Wall time' / 'Final' line in the Rust trainer's output")
    return {
        "train_s": float(times[2]),
        "eval_s": float(times[3]),
        "final_train_acc": float(final[1]),
        "final_test_acc": float(final[2]),
    }


def parse_json_line(stdout):
    return json.loads(stdout.strip().splitlines()[-1])


def machine():
    model, cpus = platform.processor() or "?", os.cpu_count()
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except FileNotFoundError:
        pass
    return f"{model}, {cpus} cores"


# Prints the module's version, then the BLAS it multiplies with: for torch its own build's BLAS (statically
# linked, so invisible to threadpoolctl) and the CPU capability it dispatches to; for others, through
# threadpoolctl (when installed), the BLAS/OpenMP libraries that came with the module itself (not those of
# modules it imports, as torch imports numpy) and the kernel each chose.
PROBE = """
import os, re
import {module}
print({module}.__version__)
if "{module}" == "torch":
    blas = re.search(r"BLAS_INFO=(\\w+)", torch.__config__.show())
    print(f"BLAS {{blas.group(1) if blas else '?'}}, CPU capability {{torch.backends.cpu.get_cpu_capability()}}")
else:
    try:
        import threadpoolctl
        home = os.path.realpath(os.path.dirname({module}.__file__))
        own = [i for i in threadpoolctl.threadpool_info()
               if os.path.realpath(i["filepath"]).startswith((home + os.sep, home + ".libs"))]
        print(", ".join(f"{{i['internal_api']}} {{i.get('architecture') or ''}}".strip() for i in own) or "no BLAS seen")
    except ImportError:
        print("threadpoolctl not installed")
"""


def check_python(python, module, env):
    """(None, version) when `python -c 'import module'` works, else (the reason it does not, None)."""
    done = subprocess.run([python, "-c", PROBE.format(module=module)], capture_output=True, text=True, env=env)
    if done.returncode == 0:
        version, libraries = (done.stdout.strip().splitlines() + ["", ""])[:2]
        return None, f"{version} ({libraries})"
    last = (done.stderr.strip().splitlines() or ["failed"])[-1]
    return f"`import {module}` failed with {python}: {last}", None


CANDLE_DIR = os.path.join(REFERENCE, "candle_mnist")
# Builds go to each project's own target/, where the harness looks for the binaries.
BUILD_ENV = {k: v for k, v in os.environ.items() if k != "CARGO_TARGET_DIR"}


def build_candle(build):
    """(None, binary, version) when the candle reference is built (or, without `build`, already there), else
    (the reason it is not, None, None). It is a separate Cargo project with its own lock file and target/."""
    binary = os.path.join(CANDLE_DIR, "target", "release", "candle_mnist")
    if build:
        print("Building: the candle reference (first time: a few minutes)", file=sys.stderr, flush=True)
        done = subprocess.run(["cargo", "build", "--release", "--locked"], cwd=CANDLE_DIR,
                              capture_output=True, text=True, env=BUILD_ENV)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["failed"])[-1]
            return f"`cargo build` of bench/reference/candle_mnist failed: {last}", None, None
    if not os.path.exists(binary):
        return "bench/reference/candle_mnist is not built (run without --no-build)", None, None
    with open(os.path.join(CANDLE_DIR, "Cargo.lock")) as lock:
        version = re.search(r'name = "candle-core"\nversion = "([^"]+)"', lock.read())
    return None, binary, version.group(1) if version else "?"


def fmt_ratio(value, base):
    return f"{value / base:.2f}" if base else "–"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("mlp", "cnn"), default="mlp",
                        help="the lecture's 784-50-10 run (default) or the book's SimpleConvNet")
    parser.add_argument("--epochs", type=int,
                        help="epochs of the SimpleConvNet run (--model cnn only; default 1)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of all implementations (default 3)")
    parser.add_argument("--data-dir", default=os.environ.get("MNIST_DIR", DEFAULT_DATA),
                        help=f"the four MNIST .gz files (default $MNIST_DIR, else {DEFAULT_DATA})")
    parser.add_argument("--python", default=VENV_PYTHON if os.path.exists(VENV_PYTHON) else sys.executable,
                        help="interpreter for the references (default bench/.venv/bin/python if present)")
    parser.add_argument("--threads", type=int, default=2, help="threads of the references (default 2)")
    parser.add_argument("--max-busy", type=float, default=0.25,
                        help="cores other processes may keep busy during a run before it is run again (default 0.25)")
    parser.add_argument("--retries", type=int, default=4, help="re-runs of a disturbed run (default 4)")
    parser.add_argument("--wait", type=float, default=120,
                        help="seconds to wait for a quiet machine before each run (default 120)")
    parser.add_argument("--with-avx2", action="store_true",
                        help="also run the trainer built without its AVX-512 paths, as rust-avx2")
    parser.add_argument("--no-build", action="store_true",
                        help="use target/release/mnist(-avx2) and the candle reference as they are")
    args = parser.parse_args()
    cnn = args.model == "cnn"
    if args.epochs is not None and not cnn:
        parser.error("--epochs is for --model cnn (the lecture's run is 10,000 iterations)")
    args.epochs = 1 if args.epochs is None else args.epochs
    if args.epochs < 1:
        parser.error(f"--epochs must be at least 1, got {args.epochs}")

    threads = str(args.threads)
    env = dict(os.environ, MNIST_DIR=args.data_dir, BENCH_THREADS=threads, BENCH_EPOCHS=str(args.epochs),
               OMP_NUM_THREADS=threads, OPENBLAS_NUM_THREADS=threads, MKL_NUM_THREADS=threads,
               RAYON_NUM_THREADS=threads)
    # Some machines set these to pin OpenBLAS to an older kernel (Haswell, AVX2) for the sake of old builds;
    # the pinned NumPy's OpenBLAS runs correctly with the kernel it picks itself (SkylakeX, AVX-512, here),
    # and pinning would slow the NumPy reference down.
    unpinned = [f"{pin}={env.pop(pin)}" for pin in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if pin in env]
    run_name = f"SimpleConvNet, {args.epochs} epoch(s)" if cnn else "the lecture's 784-50-10 run"
    print(f"# MNIST comparison ({run_name}), {datetime.date.today().isoformat()}")
    print(f"\nMachine: {machine()}; load average at the start {os.getloadavg()[0]:.2f}")
    if unpinned:
        print(f"Unset for the references (OpenBLAS picks its own kernel): {', '.join(unpinned)}")

    rust_bin = os.path.join(ROOT, "target", "release", "mnist")
    avx2_bin = rust_bin + "-avx2"
    if not args.no_build:
        if args.with_avx2:
            # Its own target directory, so that the two builds do not undo each other's compiled crates.
            build = ["cargo", "build", "--release", "-p", "mnist", "--no-default-features",
                     "--target-dir", os.path.join(ROOT, "target", "avx2")]
            print(f"Building: {' '.join(build)}", file=sys.stderr, flush=True)
            subprocess.run(build, cwd=ROOT, check=True, env=BUILD_ENV)
            os.makedirs(os.path.dirname(avx2_bin), exist_ok=True)
            shutil.copy2(os.path.join(ROOT, "target", "avx2", "release", "mnist"), avx2_bin)
        print("Building: cargo build --release -p mnist", file=sys.stderr, flush=True)
        subprocess.run(["cargo", "build", "--release", "-p", "mnist"], cwd=ROOT, check=True, env=BUILD_ENV)
    for binary in [rust_bin] + ([avx2_bin] if args.with_avx2 else []):
        if not os.path.exists(binary):
            sys.exit(f"{os.path.relpath(binary, ROOT)} is not built (run without --no-build)")
    rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()

    out_dir = tempfile.mkdtemp(prefix="compare_mnist_")
    model = ["--model", "cnn", "--epochs", str(args.epochs)] if cnn else []
    impls = {"rust": ([rust_bin, "train", "--no-plots", "--force", "--out", out_dir, *model], parse_rust)}
    command = " ".join(["mnist train --no-plots", *model])
    versions = [f"Rust trainer: {rustc}, `{command}` (f32; trains on 1 thread, evaluates on {os.cpu_count()})"]
    if not cnn:
        # The two-layer net takes its images sparse by default; the references' dense layers multiply every pixel.
        impls["rust-dense"] = ([rust_bin, "train", "--no-plots", "--force", "--out", out_dir, "--dense-images"],
                               parse_rust)
        versions.append("rust-dense: the same trainer with `--dense-images` (the first layer multiplies every pixel, "
                        "as the references do; the default skips the zero pixels)")
    if args.with_avx2:
        impls["rust-avx2"] = ([avx2_bin, "train", "--no-plots", "--force", "--out", out_dir, *model], parse_rust)
        versions.append("rust-avx2: the same trainer built with `--no-default-features` (no AVX-512 code paths)")
    skipped = []
    references = [("pytorch", "torch", "torch_cnn.py")] if cnn else [
        ("pytorch", "torch", "torch_mnist.py"), ("numpy", "numpy", "numpy_mnist.py")]
    for name, module, script in references:
        reason, version = check_python(args.python, module, env)
        if reason:
            skipped.append(f"{name} skipped: {reason} (run `bash bench/reference/setup.sh`)")
        else:
            impls[name] = ([args.python, os.path.join(REFERENCE, script)], parse_json_line)
            versions.append(f"{name}: {module} {version}, Python {platform.python_version()}, {threads} thread(s)")
    reason, candle_bin, version = build_candle(not args.no_build)
    if reason:
        skipped.append(f"candle skipped: {reason}")
    else:
        impls["candle"] = ([candle_bin] + (["--cnn"] if cnn else []), parse_json_line)
        versions.append(f"candle: candle-core {version}, {rustc.split(' (')[0]}, {threads} thread(s) (rayon)")
    print("\n" + "\n".join(f"- {line}" for line in versions + skipped))

    results = {name: [] for name in impls}
    others, discarded = [], 0
    print(f"\nRuns ({args.rounds} rounds, alternating; 'others' = cores other processes kept busy meanwhile):\n")
    for round_no in range(1, args.rounds + 1):
        for name, (cmd, parse) in impls.items():
            for attempt in range(args.retries + 1):
                wait_for_quiet(args.max_busy, args.wait)
                done = run(cmd, env)
                if done["code"] != 0:
                    sys.exit(f"{name} failed (exit {done['code']}):\n{done['stdout']}\n{done['stderr']}")
                row = dict(parse(done["stdout"]), wall_s=done["wall_s"], rss_mib=done["rss_mib"])
                busy = done["others_cores"] or 0.0
                disturbed = busy > args.max_busy
                line = (f"round {round_no} {name:8} wall {row['wall_s']:7.2f} s  train {row['train_s']:7.2f} s  "
                        f"eval {row['eval_s']:6.2f} s  peak RSS {row['rss_mib']:6.0f} MiB  "
                        f"test acc {row['final_test_acc']:.4f}  others {busy:.2f}")
                if disturbed and attempt < args.retries:
                    discarded += 1
                    print(f"- ~~{line}~~ (disturbed: run again)", flush=True)
                    continue
                print(f"- {line}{'  DISTURBED, kept' if disturbed else ''}", flush=True)
                results[name].append(row)
                others.append(busy)
                break
    shutil.rmtree(out_dir, ignore_errors=True)

    columns = ("wall_s", "train_s", "eval_s", "rss_mib")
    med = {name: {c: statistics.median(r[c] for r in rows) for c in columns} for name, rows in results.items()}
    print(f"\nMedians of {args.rounds} rounds (wall = whole process, including start-up and data loading):\n")
    print("| implementation | wall s | train s | eval s | peak RSS MiB | final train acc | final test acc |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, m in med.items():
        last = results[name][-1]
        print(f"| {name} | {m['wall_s']:.2f} | {m['train_s']:.2f} | {m['eval_s']:.2f} | {m['rss_mib']:.0f} "
              f"| {last['final_train_acc']:.4f} | {last['final_test_acc']:.4f} |")

    for base in ("pytorch", "numpy", "candle"):
        if base not in med:
            continue
        print(f"\nRatios to {base} (this implementation's median / {base}'s; below 1 is faster or smaller):\n")
        print("| implementation | wall | train | eval | peak RSS |")
        print("| --- | ---: | ---: | ---: | ---: |")
        for name, m in med.items():
            if name != base:
                cells = " | ".join(fmt_ratio(m[c], med[base][c]) for c in columns)
                print(f"| {name} | {cells} |")
    if skipped:
        print("\n" + "\n".join(skipped))
    print(f"\nCores kept busy by other processes during the kept runs: {min(others):.2f} to {max(others):.2f}; "
          f"{discarded} disturbed run(s) thrown away and run again.")
    kept_disturbed = sum(b > args.max_busy for b in others)
    if kept_disturbed:
        print(f"WARNING: {kept_disturbed} kept run(s) had other processes using over {args.max_busy} cores; "
              "multi-threaded code suffers most. Re-run on an idle machine for fair figures.")


if __name__ == "__main__":
    main()
