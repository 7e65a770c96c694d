"""The lecture's run as the Python references both do it: its settings, the evaluation after every epoch,
and what they print (a line per evaluation, then the JSON line that compare_mnist.py reads)."""

import json
import time

INPUT, HIDDEN, OUTPUT = 784, 50, 10
WEIGHT_INIT_STD = 0.01
BATCH_SIZE = 100
LEARNING_RATE = 0.1
ITERATIONS = 10_000
EVAL_EVERY = 600  # one epoch: 60,000 / 100
EVAL_CHUNK = 2_000  # rows converted to float at a time during evaluation (as the Rust trainer does)
SEED = 0


def evaluate(step, accuracy, train, test):
    """The accuracy on all training and all test images, `accuracy(images, labels)` on each (images, labels)
    pair; prints the evaluation line and returns (train accuracy, test accuracy, seconds taken)."""
    started = time.perf_counter()
    train_acc, test_acc = accuracy(*train), accuracy(*test)
    seconds = time.perf_counter() - started
    print(f"Step: {step}\tTrain acc: {train_acc:.5f}\tTest acc: {test_acc:.5f}", flush=True)
    return train_acc, test_acc, seconds


def print_result(impl, start, train_s, eval_s, train_acc, test_acc, **versions):
    """The closing JSON line: wall time since `start` (a perf_counter reading), the training and evaluation
    times, the final accuracies and the library versions."""
    result = {
        "impl": impl,
        "wall_s": round(time.perf_counter() - start, 3),
        "train_s": round(train_s, 3),
        "eval_s": round(eval_s, 3),
        "final_train_acc": train_acc,
        "final_test_acc": test_acc,
        **versions,
    }
    print(json.dumps(result))
