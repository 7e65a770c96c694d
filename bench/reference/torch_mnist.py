"""Reference: the lecture's two-layer net on MNIST in PyTorch (eager mode, CPU, 2 threads).

The run is the same as `mnist train`: 784-50-10 (Linear -> ReLU -> Linear, with the softmax and the
cross-entropy error fused in F.cross_entropy), float32, weights 0.01 * N(0, 1), biases 0, mini-batches of
100 drawn at random with replacement, SGD with lr 0.1, 10,000 iterations, accuracy on all 60,000 training
and 10,000 test images after every 600th iteration, evaluated under torch.no_grad() in chunks.

Usage: python3 torch_mnist.py [MNIST_DIR]   (or set $MNIST_DIR)
Prints one line per evaluation, then a JSON line with the timings and the final accuracies.
"""

import time

START = time.perf_counter()  # before importing torch, so wall_s includes the import

import os  # noqa: E402

import torch  # noqa: E402
from torch import nn  # noqa: E402

from lecture_run import HIDDEN, INPUT, ITERATIONS, LEARNING_RATE, OUTPUT, WEIGHT_INIT_STD  # noqa: E402
from torch_training import train  # noqa: E402

THREADS = int(os.environ.get("BENCH_THREADS", "2"))  # the harness's --threads; 2 = this machine's cores


def two_layer_net():
    """Affine -> ReLU -> Affine, initialised as the lecture does (not PyTorch's default init)."""
    net = nn.Sequential(nn.Linear(INPUT, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, OUTPUT))
    with torch.no_grad():
        for layer in (net[0], net[2]):
            nn.init.normal_(layer.weight, std=WEIGHT_INIT_STD)
            nn.init.zeros_(layer.bias)
    return net


def main():
    train(START, THREADS, two_layer_net, lambda params: torch.optim.SGD(params, lr=LEARNING_RATE),
          lambda images: images.float() / 255, ITERATIONS)


if __name__ == "__main__":
    main()
