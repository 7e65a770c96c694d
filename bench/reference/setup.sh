#!/usr/bin/env bash
# The Python side of bench/compare_mnist.py: a virtualenv bench/.venv with pinned NumPy and PyTorch.
#
# Usage: bash bench/reference/setup.sh
#
# PyTorch's Linux wheels on PyPI pull in the CUDA libraries as dependencies: about 3 GB to download and
# 5.4 GB on disk, although the benchmark only uses the CPU. (The CPU-only wheels live on PyTorch's own
# index, which this project's machines cannot reach.) If that install fails, NumPy is kept and the
# comparison runs without PyTorch and says so.
set -euo pipefail
cd "$(dirname "$0")/.."

NUMPY=numpy==2.4.6
THREADPOOLCTL=threadpoolctl==3.6.0  # only to report which BLAS kernel the references run
TORCH=torch==2.15.0

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet "$NUMPY" "$THREADPOOLCTL"
echo "installed $NUMPY into bench/.venv"
if .venv/bin/python -m pip install --quiet "$TORCH"; then
    echo "installed $TORCH into bench/.venv"
else
    echo "WARNING: could not install $TORCH; compare_mnist.py will skip PyTorch" >&2
fi
