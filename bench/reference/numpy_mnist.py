"""Reference: the lecture's two-layer net on MNIST in NumPy, written with the lecture's layer classes.

Affine -> Relu -> Affine -> SoftmaxWithLoss, each a class with forward() and backward(), float32
throughout. The run is the same as `mnist train`: 784-50-10, weights 0.01 * N(0, 1), biases 0,
mini-batches of 100 drawn at random with replacement, SGD with lr 0.1, 10,000 iterations, accuracy on all
60,000 training and 10,000 test images after every 600th iteration.

Usage: python3 numpy_mnist.py [MNIST_DIR]   (or set $MNIST_DIR)
Prints one line per evaluation, then a JSON line with the timings and the final accuracies.
"""

import time

START = time.perf_counter()  # before the imports, so wall_s includes them

import numpy as np  # noqa: E402

import mnist_idx  # noqa: E402
from lecture_run import (  # noqa: E402
    BATCH_SIZE, EVAL_CHUNK, EVAL_EVERY, HIDDEN, INPUT, ITERATIONS, LEARNING_RATE, OUTPUT, SEED,
    WEIGHT_INIT_STD, evaluate, print_result,
)


class Affine:
    """out = x·W + b; backward: dx = dout·Wᵀ, dW = xᵀ·dout, db = Σ_rows dout."""

    def __init__(self, W, b):
        self.W, self.b = W, b
        self.x = None
        self.dW = self.db = None

    def forward(self, x):
        self.x = x
        return x @ self.W + self.b

    def backward(self, dout):
        self.dW = self.x.T @ dout
        self.db = dout.sum(axis=0)
        return dout @ self.W.T


class Relu:
    """out = max(x, 0); backward lets the gradient through where x > 0 and stops it elsewhere."""

    def __init__(self):
        self.mask = None

    def forward(self, x):
        self.mask = x <= 0
        out = x.copy()
        out[self.mask] = 0
        return out

    def backward(self, dout):
        dout[self.mask] = 0
        return dout


class SoftmaxWithLoss:
    """Softmax then the cross-entropy error against label indices t; backward is (y - t_onehot) / N."""

    def __init__(self):
        self.y = self.t = None

    def forward(self, x, t):
        x = x - x.max(axis=1, keepdims=True)  # for exp's sake; softmax does not change
        e = np.exp(x)
        self.y = e / e.sum(axis=1, keepdims=True)
        self.t = t
        n = len(t)
        return -np.log(self.y[np.arange(n), t] + 1e-7).mean()

    def backward(self, dout=1.0):
        n = len(self.t)
        dx = self.y.copy()
        dx[np.arange(n), self.t] -= 1
        return dx * (dout / n)


class TwoLayerNet:
    def __init__(self, rng):
        f32 = np.float32
        self.params = {
            "W1": WEIGHT_INIT_STD * rng.standard_normal((INPUT, HIDDEN), dtype=f32),
            "b1": np.zeros(HIDDEN, dtype=f32),
            "W2": WEIGHT_INIT_STD * rng.standard_normal((HIDDEN, OUTPUT), dtype=f32),
            "b2": np.zeros(OUTPUT, dtype=f32),
        }
        p = self.params
        self.affine1, self.relu, self.affine2 = Affine(p["W1"], p["b1"]), Relu(), Affine(p["W2"], p["b2"])
        self.layers = [self.affine1, self.relu, self.affine2]
        self.last_layer = SoftmaxWithLoss()

    def predict(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def gradient(self, x, t):
        """Forward to the loss, then backward through the layers in reverse order."""
        self.last_layer.forward(self.predict(x), t)
        dout = self.last_layer.backward(1.0)
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        return {
            "W1": self.affine1.dW, "b1": self.affine1.db,
            "W2": self.affine2.dW, "b2": self.affine2.db,
        }

    def accuracy(self, images, labels):
        correct = 0
        for start in range(0, len(images), EVAL_CHUNK):
            x = images[start : start + EVAL_CHUNK].astype(np.float32) / 255
            correct += int((self.predict(x).argmax(axis=1) == labels[start : start + EVAL_CHUNK]).sum())
        return correct / len(images)


def main():
    data = mnist_idx.load(mnist_idx.data_dir_from_args())
    train_images, train_labels = data["train"]

    rng = np.random.default_rng(SEED)
    net = TwoLayerNet(rng)

    train_s = eval_s = 0.0
    train_acc = test_acc = None
    for i in range(1, ITERATIONS + 1):
        started = time.perf_counter()
        batch = rng.integers(0, len(train_images), size=BATCH_SIZE)  # with replacement
        x = train_images[batch].astype(np.float32) / 255
        t = train_labels[batch]
        grads = net.gradient(x, t)
        for key, param in net.params.items():
            param -= LEARNING_RATE * grads[key]  # in place: the layers hold the same arrays
        train_s += time.perf_counter() - started

        if i % EVAL_EVERY == 0:
            train_acc, test_acc, seconds = evaluate(i, net.accuracy, data["train"], data["test"])
            eval_s += seconds

    print_result("numpy", START, train_s, eval_s, train_acc, test_acc, numpy=np.__version__)


if __name__ == "__main__":
    main()
