#!/usr/bin/env bash
# Dynamic-graph overhead, this engine against a pure-Python micrograd-style engine, in one session.
# Prints ns per node (build + backward of a 200,000-node scalar graph) for both, and the ratio.
#
# Usage: bash bench/compare_graph.sh
set -euo pipefail
cd "$(dirname "$0")/.."

rust_line=$(cargo bench -q -p autograd --bench graph -- --noplot "scalar graph" 2>/dev/null | grep -A2 "scalar graph" | grep "thrpt" | head -1)
# criterion prints "thrpt:  [low mid high]" in Melem/s; one element is one node.
melem=$(echo "$rust_line" | sed -E 's/.*\[[^ ]+ [^ ]+ ([0-9.]+) [^ ]+ [^ ]+ [^ ]+\].*/\1/')
rust_ns=$(python3 -c "print(f'{1000 / float(\"$melem\"):.1f}')")

python_ns=$(python3 bench/reference/scalar_graph.py | sed -E 's/.*ns_per_node=([0-9.]+)/\1/')

echo "scalar graph, build + backward, ns per node (same session):"
echo "  autograd (Rust):          $rust_ns"
echo "  micrograd-style (Python): $python_ns"
python3 -c "print(f'  ratio: autograd is {float(\"$python_ns\") / float(\"$rust_ns\"):.1f}x faster')"
