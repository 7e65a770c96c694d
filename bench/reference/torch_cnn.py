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
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

import mnist_idx  # noqa: E402
from lecture_run import BATCH_SIZE, EVAL_CHUNK, EVAL_EVERY, SEED, WEIGHT_INIT_STD, evaluate, print_result  # noqa: E402

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


def images_as_float(images):
    """uint8 [N, 784] to float32 [N, 1, 28, 28] in [0, 1]."""
    return (images.float() / 255).reshape(-1, 1, SIDE, SIDE)


@torch.no_grad()
def accuracy(net, images, labels):
    correct = 0
    for start in range(0, len(images), EVAL_CHUNK):
        x = images_as_float(images[start : start + EVAL_CHUNK])
        correct += (net(x).argmax(dim=1) == labels[start : start + EVAL_CHUNK]).sum().item()
    return correct / len(images)


def main():
    torch.set_num_threads(THREADS)
    torch.manual_seed(SEED)

    data = mnist_idx.load(mnist_idx.data_dir_from_args())
    train_images, train_labels = (torch.from_numpy(a.copy()) for a in data["train"])
    test_images, test_labels = (torch.from_numpy(a.copy()) for a in data["test"])

    net = simple_conv_net()
    optimizer = torch.optim.Adam(net.parameters(), lr=LEARNING_RATE)

    train_s = eval_s = 0.0
    train_acc = test_acc = None
    for i in range(1, EPOCHS * EVAL_EVERY + 1):
        started = time.perf_counter()
        batch = torch.randint(0, len(train_images), (BATCH_SIZE,))  # with replacement
        loss = F.cross_entropy(net(images_as_float(train_images[batch])), train_labels[batch])
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
