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
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

import mnist_idx  # noqa: E402
from lecture_run import (  # noqa: E402
    BATCH_SIZE, EVAL_CHUNK, EVAL_EVERY, HIDDEN, INPUT, ITERATIONS, LEARNING_RATE, OUTPUT, SEED,
    WEIGHT_INIT_STD, evaluate, print_result,
)

THREADS = int(os.environ.get("BENCH_THREADS", "2"))  # the harness's --threads; 2 = this machine's cores


def two_layer_net():
    """Affine -> ReLU -> Affine, initialised as the lecture does (not PyTorch's default init)."""
    net = nn.Sequential(nn.Linear(INPUT, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, OUTPUT))
    with torch.no_grad():
        for layer in (net[0], net[2]):
            nn.init.normal_(layer.weight, std=WEIGHT_INIT_STD)
            nn.init.zeros_(layer.bias)
    return net


@torch.no_grad()
def accuracy(net, images, labels):
    correct = 0
    for start in range(0, len(images), EVAL_CHUNK):
        x = images[start : start + EVAL_CHUNK].float() / 255
        correct += (net(x).argmax(dim=1) == labels[start : start + EVAL_CHUNK]).sum().item()
    return correct / len(images)


def main():
    torch.set_num_threads(THREADS)
    torch.manual_seed(SEED)

    data = mnist_idx.load(mnist_idx.data_dir_from_args())
    # Still uint8 (torch.from_numpy shares the buffer; copied once to own a writable tensor).
    train_images, train_labels = (torch.from_numpy(a.copy()) for a in data["train"])
    test_images, test_labels = (torch.from_numpy(a.copy()) for a in data["test"])

    net = two_layer_net()
    optimizer = torch.optim.SGD(net.parameters(), lr=LEARNING_RATE)

    train_s = eval_s = 0.0
    train_acc = test_acc = None
    for i in range(1, ITERATIONS + 1):
        started = time.perf_counter()
        batch = torch.randint(0, len(train_images), (BATCH_SIZE,))  # with replacement
        x = train_images[batch].float() / 255
        t = train_labels[batch]
        loss = F.cross_entropy(net(x), t)  # softmax with loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        train_s += time.perf_counter() - started

        if i % EVAL_EVERY == 0:
            train_acc, test_acc, seconds = evaluate(
                i, lambda images, labels: accuracy(net, images, labels),
                (train_images, train_labels), (test_images, test_labels),
            )
            eval_s += seconds

    print_result("pytorch", START, train_s, eval_s, train_acc, test_acc,
                 torch=torch.__version__, threads=torch.get_num_threads())


if __name__ == "__main__":
    main()
