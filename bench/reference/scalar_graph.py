"""Reference for the scalar-graph benchmark: a minimal pure-Python reverse-mode engine in the style of
micrograd (one object per node, a closure per backward rule), timed on the same graph as
`autograd/benches/graph.rs`: y <- y*a + b repeated, 200,000 nodes, build + backward.

Prints one line: `python-scalar-graph ns_per_node=<median of 5 runs>`.
"""

import statistics
import sys
import time

NODES = 200_000


class Value:
    __slots__ = ("data", "grad", "_parents", "_backward")

    def __init__(self, data, parents=()):
        self.data = data
        self.grad = 0.0
        self._parents = parents
        self._backward = None

    def __add__(self, other):
        out = Value(self.data + other.data, (self, other))

        def backward():
            self.grad += out.grad
            other.grad += out.grad

        out._backward = backward
        return out

    def __mul__(self, other):
        out = Value(self.data * other.data, (self, other))

        def backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = backward
        return out

    def backward(self):
        # Creation order is a topological order, as on a tape; walk it in reverse without recursion.
        order, seen, stack = [], set(), [(self, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
                continue
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.append((node, True))
            stack.extend((p, False) for p in node._parents)
        self.grad = 1.0
        for node in reversed(order):
            if node._backward is not None:
                node._backward()


def run():
    start = time.perf_counter()
    a, b, y = Value(0.999), Value(0.001), Value(1.0)
    for _ in range((NODES - 3) // 2):
        y = y * a + b
    y.backward()
    elapsed = time.perf_counter() - start
    assert a.grad != 0.0
    return elapsed / NODES * 1e9


if __name__ == "__main__":
    sys.setrecursionlimit(10_000)
    times = [run() for _ in range(5)]
    print(f"python-scalar-graph ns_per_node={statistics.median(times):.1f}")
