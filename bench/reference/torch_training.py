"""What the two PyTorch references share: the training loop (mini-batches of 100 drawn with replacement,
cross-entropy, one optimizer step each, an evaluation every epoch) and the accuracy under torch.no_grad()."""

import time

import torch
import torch.nn.functional as F

import mnist_idx
from lecture_run import BATCH_SIZE, EVAL_CHUNK, EVAL_EVERY, SEED, evaluate, print_result


@torch.no_grad()
def accuracy(net, as_input, images, labels):
    """The share of `images` (uint8 rows) that `net` classifies as `labels`, `as_input` making the rows its
    input, in chunks of EVAL_CHUNK rows."""
    correct = 0
    for start in range(0, len(images), EVAL_CHUNK):
        x = as_input(images[start : start + EVAL_CHUNK])
        correct += (net(x).argmax(dim=1) == labels[start : start + EVAL_CHUNK]).sum().item()
    return correct / len(images)


def train(start, threads, make_net, make_optimizer, as_input, iterations):
    """Trains `make_net()` with `make_optimizer(parameters)` for `iterations` on MNIST (the directory from the
    command line or $MNIST_DIR), `as_input` turning uint8 rows into the net's input, and prints the
    evaluations and the closing JSON line (wall time since `start`, a perf_counter reading)."""
    torch.set_num_threads(threads)
    torch.manual_seed(SEED)

    data = mnist_idx.load(mnist_idx.data_dir_from_args())
    # Still uint8 (torch.from_numpy shares the buffer; copied once to own a writable tensor).
    train_images, train_labels = (torch.from_numpy(a.copy()) for a in data["train"])
    test_images, test_labels = (torch.from_numpy(a.copy()) for a in data["test"])

    net = make_net()
    optimizer = make_optimizer(net.parameters())

    train_s = eval_s = 0.0
    train_acc = test_acc = None
    for i in range(1, iterations + 1):
        started = time.perf_counter()
        batch = torch.randint(0, len(train_images), (BATCH_SIZE,))  # with replacement
        loss = F.cross_entropy(net(as_input(train_images[batch])), train_labels[batch])  # softmax with loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        train_s += time.perf_counter() - started

        if i % EVAL_EVERY == 0:
            train_acc, test_acc, seconds = evaluate(
                i, lambda images, labels: accuracy(net, as_input, images, labels),
                (train_images, train_labels), (test_images, test_labels),
            )
            eval_s += seconds

    print_result("pytorch", start, train_s, eval_s, train_acc, test_acc,
                 torch=torch.__version__, threads=torch.get_num_threads())
