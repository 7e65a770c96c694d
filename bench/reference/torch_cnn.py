"""Reference: the book's SimpleConvNet on MNIST in PyTorch (eager mode, CPU, 2 threads).

The run is the same as `mnist train --model cnn`: conv 30 filters 5x5 (stride 1, no padding) -> ReLU ->
max-pool 2x2 -> Linear 4320-100 -> ReLU -> Linear 100-10, softmax and cross-entropy fused in F.cross_entropy,
float32, weights 0.01 * N(0, 1), biases 0, mini-batches of 100 drawn at random with replacement, Adam with
lr 0.001, and the accuracy on all 60,000 training and 10,000 test images after every epoch (600 iterations),
evaluated under torch.no_grad() in chunks.

Usage: python3 torch_cnn.py [MNIST_DIR]   (or set $MNIST_DIR); BENCH_EPOCHS sets the epochs (default 1).
Prints one line per evaluation, then a JSON line with the timings and the final accuracies.
"""

import time

START = time.perf_counter()  # before importing torch, so wall_s includes the import

import os  # noqa: E402

import torch  # noqa: E402
from torch import nn  # noqa: E402

from lecture_run import EVAL_EVERY, WEIGHT_INIT_STD  # noqa: E402
from torch_training import train  # noqa: E402

THREADS = int(os.environ.get("BENCH_THREADS", "2"))  # the harness's --threads; 2 = this machine's cores
EPOCHS = int(os.environ.get("BENCH_EPOCHS", "1"))
FILTERS, KERNEL, POOL, HIDDEN, CLASSES, SIDE = 30, 5, 2, 100, 10, 28
LEARNING_RATE = 0.001


def simple_conv_net():
    """The book's SimpleConvNet, initialised as the book does (not PyTorch's default init)."""
    side = (SIDE - KERNEL + 1) // POOL
    net = nn.Sequential(
        nn.Conv2d(1, FILTERS, KERNEL), nn.ReLU(), nn.MaxPool2d(POOL), nn.Flatten(),
        nn.Linear(FILTERS * side * side, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, CLASSES),
    )
    with torch.no_grad():
        for layer in (net[0], net[4], net[6]):
            nn.init.normal_(layer.weight, std=WEIGHT_INIT_STD)
            nn.init.zeros_(layer.bias)
    return net


def main():
    train(START, THREADS, simple_conv_net, lambda params: torch.optim.Adam(params, lr=LEARNING_RATE),
          lambda images: (images.float() / 255).reshape(-1, 1, SIDE, SIDE), EPOCHS * EVAL_EVERY)


if __name__ == "__main__":
    main()
